//! The printed summary: statsmodels' header and coefficient table, then lme4's
//! random-effects table and information criteria, then plain notes.

use crate::MixedLMResults;
use mixedlm_inference::{Ddf, FixedEffectTest};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use std::fmt::{self, Write};

/// Width of the summary's rule lines and header block.
const WIDTH: usize = 78;

/// The summary of a fit; `Display` prints it. Made by [`MixedLMResults::summary`] (Wald z
/// tests, as statsmodels) or [`MixedLMResults::summary_with`] (t tests with
/// Satterthwaite or Kenward-Roger degrees of freedom).
#[derive(Debug, Clone)]
pub struct Summary<'a> {
    pub(crate) results: &'a MixedLMResults,
    pub(crate) tests: Option<Vec<FixedEffectTest>>,
    pub(crate) notes: Vec<String>,
}

impl Summary<'_> {
    /// Print this fixed-effects table (from
    /// [`MixedLMResults::fixed_effect_tests`]) instead of the Wald z table: with degrees of
    /// freedom the columns are `t`, `df`, `P>|t|` and the interval uses t quantiles.
    pub fn with_tests(mut self, tests: Vec<FixedEffectTest>) -> Self {
        self.tests = Some(tests);
        self
    }
    /// Add a note printed at the end (e.g. why a method fell back to another).
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.results;
        let mut s = String::new();
        let z_tests;
        let tests = match &self.tests {
            Some(t) => t.as_slice(),
            None => {
                z_tests = r.fixed_effect_tests(Ddf::Z).unwrap_or_default();
                &z_tests
            }
        };
        let width = table_width(tests).max(WIDTH);
        header(&mut s, r, width)?;
        coefficients(&mut s, tests, width)?;
        random_effects(&mut s, r)?;
        criteria(&mut s, r)?;
        notes(&mut s, r, &self.notes)?;
        f.write_str(s.trim_end())
    }
}

fn header(s: &mut String, r: &MixedLMResults, width: usize) -> fmt::Result {
    let sizes = r.group_sizes();
    let (min, max) = (
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
    );
    let mean = if sizes.is_empty() {
        0.0
    } else {
        sizes.iter().sum::<usize>() as f64 / sizes.len() as f64
    };
    let left = [
        ("Model:", "MixedLM".to_string()),
        ("No. Observations:", r.nobs().to_string()),
        ("No. Groups:", sizes.len().to_string()),
        ("Min. group size:", min.to_string()),
        ("Max. group size:", max.to_string()),
        ("Mean group size:", format!("{mean:.1}")),
    ];
    let right = [
        ("Dependent Variable:", r.endog_name().to_string()),
        ("Method:", if r.reml() { "REML" } else { "ML" }.to_string()),
        ("Scale:", format!("{:.4}", r.scale())),
        ("Log-Likelihood:", format!("{:.4}", r.llf())),
        (
            "Converged:",
            if r.converged() { "Yes" } else { "No" }.to_string(),
        ),
        ("", String::new()),
    ];
    let title = "Mixed Linear Model Regression Results";
    writeln!(s, "{}", format!("{title:^width$}").trim_end())?;
    writeln!(s, "{}", "=".repeat(width))?;
    // Two halves of (key, value), each value right-aligned in its half.
    let half = width / 2;
    let (lw, rw) = (half - 3 - 20, width - half - 20);
    for ((lk, lv), (rk, rv)) in left.iter().zip(&right) {
        let line = format!("{lk:<20}{lv:>lw$}   {rk:<20}{rv:>rw$}");
        writeln!(s, "{}", line.trim_end())?;
    }
    writeln!(s, "{}", "-".repeat(width))
}

/// Widths of the numeric columns of the coefficient table (without, with df).
const COLS: [usize; 2] = [61, 70];

/// The coefficient table's width for these names.
fn table_width(tests: &[FixedEffectTest]) -> usize {
    let has_df = tests.iter().any(|t| t.df.is_some());
    let names = tests.iter().map(|t| t.name.len()).max().unwrap_or(0).max(8);
    names + COLS[usize::from(has_df)]
}

fn coefficients(s: &mut String, tests: &[FixedEffectTest], width: usize) -> fmt::Result {
    let has_df = tests.iter().any(|t| t.df.is_some());
    let w = width - COLS[usize::from(has_df)];
    let (stat, p) = if has_df {
        ("t", "P>|t|")
    } else {
        ("z", "P>|z|")
    };
    let mut head = format!("{:<w$} {:>10} {:>10} {:>8}", "", "Coef.", "Std.Err.", stat);
    if has_df {
        write!(head, " {:>8}", "df")?;
    }
    write!(head, " {:>7} {:>10} {:>10}", p, "[0.025", "0.975]")?;
    writeln!(s, "{head}")?;
    writeln!(s, "{}", "-".repeat(width))?;
    for t in tests {
        let q = quantile(t.df);
        let mut line = format!(
            "{:<w$} {:>10} {:>10} {:>8.3}",
            t.name,
            coef(t.estimate),
            coef(t.se),
            t.statistic
        );
        if has_df {
            write!(line, " {:>8.2}", t.df.unwrap_or(f64::NAN))?;
        }
        write!(
            line,
            " {:>7.3} {:>10} {:>10}",
            t.p_value,
            coef(t.estimate - q * t.se),
            coef(t.estimate + q * t.se)
        )?;
        writeln!(s, "{line}")?;
    }
    writeln!(s, "{}", "=".repeat(width))?;
    writeln!(s)
}

/// The 0.975 quantile of N(0,1) (df None) or t(df).
fn quantile(df: Option<f64>) -> f64 {
    match df.and_then(|d| StudentsT::new(0.0, 1.0, d).ok()) {
        Some(t) => t.inverse_cdf(0.975),
        None => Normal::standard().inverse_cdf(0.975),
    }
}

/// Three decimals as statsmodels, scientific notation for very small or large values.
fn coef(x: f64) -> String {
    let a = x.abs();
    if x.is_finite() && a != 0.0 && !(1e-3..1e9).contains(&a) {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}

/// Four significant digits, plain notation where sensible.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e7).contains(&a) {
        return format!("{x:.3e}");
    }
    let digits = if a == 0.0 {
        3
    } else {
        (3 - a.log10().floor() as i32).clamp(0, 7) as usize
    };
    format!("{x:.digits$}")
}

fn random_effects(s: &mut String, r: &MixedLMResults) -> fmt::Result {
    let vc = r.varcorr();
    writeln!(s, "Random effects:")?;
    let gw = vc
        .variances
        .iter()
        .map(|v| v.group.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let nw = vc
        .variances
        .iter()
        .map(|v| v.term.len())
        .max()
        .unwrap_or(0)
        .max(11);
    writeln!(
        s,
        " {:<gw$} {:<nw$} {:>10} {:>9}  {:>5}",
        "Groups", "Name", "Variance", "Std.Dev.", "Corr"
    )?;
    let mut last_group = "";
    let mut in_group: Vec<&str> = Vec::new();
    for v in &vc.variances {
        let group = if v.group == last_group {
            ""
        } else {
            v.group.as_str()
        };
        if v.group != last_group {
            in_group.clear();
        }
        let corrs: Vec<String> = in_group
            .iter()
            .map(|t1| {
                vc.correlations
                    .iter()
                    .find(|c| c.group == v.group && c.term1 == *t1 && c.term2 == v.term)
                    .map_or_else(|| "".to_string(), |c| format!("{:>5.2}", c.correlation))
            })
            .collect();
        let line = format!(
            " {group:<gw$} {:<nw$} {:>10} {:>9}  {}",
            v.term,
            num(v.variance),
            num(v.std_dev),
            corrs.join(" ")
        );
        writeln!(s, "{}", line.trim_end())?;
        in_group.push(&v.term);
        last_group = &v.group;
    }
    writeln!(
        s,
        " {:<gw$} {:<nw$} {:>10} {:>9}",
        "Residual",
        "",
        num(vc.residual_variance),
        num(vc.residual_std_dev)
    )?;
    let groups: Vec<String> = r
        .n_groups()
        .iter()
        .map(|(g, n)| format!("{g}, {n}"))
        .collect();
    writeln!(
        s,
        "Number of obs: {}, groups: {}",
        r.nobs(),
        groups.join("; ")
    )?;
    writeln!(s)
}

fn criteria(s: &mut String, r: &MixedLMResults) -> fmt::Result {
    let last = if r.reml() {
        "REML criterion"
    } else {
        "deviance"
    };
    writeln!(
        s,
        "{:>12} {:>12} {:>12} {:>15}",
        "AIC", "BIC", "logLik", last
    )?;
    writeln!(
        s,
        "{:>12.4} {:>12.4} {:>12.4} {:>15.4}",
        r.aic(),
        r.bic(),
        r.llf(),
        r.objective()
    )?;
    if r.reml() {
        writeln!(
            s,
            "(AIC/BIC from the REML log-likelihood; compare fixed effects with ML fits)"
        )?;
    }
    Ok(())
}

fn notes(s: &mut String, r: &MixedLMResults, extra: &[String]) -> fmt::Result {
    let mut notes: Vec<String> = extra.to_vec();
    if let Some(m) = r.rank_message() {
        notes.push(m);
    }
    if let Some(why) = r.convergence_failure() {
        notes.push(format!(
            "not converged: {why}; the estimates may be wrong (see the diagnostics for advice)"
        ));
    }
    if r.singular() {
        notes.push("boundary (singular) fit: a variance is (near) zero or a correlation (near) ±1; consider simplifying the random effects".to_string());
    }
    if !notes.is_empty() {
        writeln!(s)?;
        for n in notes {
            writeln!(s, "Note: {n}")?;
        }
    }
    Ok(())
}
