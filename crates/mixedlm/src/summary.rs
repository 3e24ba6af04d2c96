//! The printed summary: statsmodels' header and coefficient table, then lme4's
//! random-effects table and information criteria, then plain notes.

use crate::MixedLMResults;
use std::fmt::{self, Write};

/// The summary of a fit; `Display` prints it. Made by [`MixedLMResults::summary`].
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    pub(crate) results: &'a MixedLMResults,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.results;
        let mut s = String::new();
        header(&mut s, r)?;
        coefficients(&mut s, r)?;
        random_effects(&mut s, r)?;
        criteria(&mut s, r)?;
        notes(&mut s, r)?;
        f.write_str(s.trim_end())
    }
}

fn header(s: &mut String, r: &MixedLMResults) -> fmt::Result {
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
    let width = 76;
    writeln!(s, "{title:^width$}")?;
    writeln!(s, "{}", "=".repeat(width))?;
    for ((lk, lv), (rk, rv)) in left.iter().zip(&right) {
        let line = format!("{lk:<18}{lv:<20}{rk:<20}{rv}");
        writeln!(s, "{}", line.trim_end())?;
    }
    writeln!(s, "{}", "-".repeat(width))
}

fn coefficients(s: &mut String, r: &MixedLMResults) -> fmt::Result {
    let names = r.fe_names();
    let w = names.iter().map(|n| n.len()).max().unwrap_or(0).max(12);
    let ci = r.conf_int(0.05);
    writeln!(
        s,
        "{:<w$} {:>10} {:>10} {:>8} {:>7} {:>10} {:>10}",
        "", "Coef.", "Std.Err.", "z", "P>|z|", "[0.025", "0.975]"
    )?;
    writeln!(s, "{}", "-".repeat(w + 62))?;
    let (b, se, z, p) = (r.fe_params(), r.bse_fe(), r.tvalues(), r.pvalues());
    for (i, n) in names.iter().enumerate() {
        writeln!(
            s,
            "{n:<w$} {:>10} {:>10} {:>8.3} {:>7.3} {:>10} {:>10}",
            num(b[i]),
            num(se[i]),
            z[i],
            p[i],
            num(ci[i].0),
            num(ci[i].1)
        )?;
    }
    writeln!(s, "{}", "=".repeat(w + 62))?;
    writeln!(s)
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
        " {:<gw$} {:<nw$} {:>10} {:>9}  Corr",
        "Groups", "Name", "Variance", "Std.Dev."
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

fn notes(s: &mut String, r: &MixedLMResults) -> fmt::Result {
    let mut notes = Vec::new();
    if let Some(m) = r.rank_message() {
        notes.push(m);
    }
    if !r.converged() {
        notes.push("the optimizer did not converge: the estimates may be wrong; try another optimizer or simplify the random effects".to_string());
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
