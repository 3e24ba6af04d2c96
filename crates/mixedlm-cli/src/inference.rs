//! The inference options of `mixedlm fit` (`--ddf`, `--ranef`, `--ci`) and their JSON and
//! text output; shared by `profile` and `bootstrap`.

use crate::error::CliError;
use clap::{Args, ValueEnum};
use mixedlm::{
    CiMethod, ConditionalMode, ConfIntOptions, ConfidenceInterval, Ddf, Error, FixedEffectTest,
    MixedLMResults,
};
use serde::Serialize;
use std::fmt::Write;
use std::io::IsTerminal;

/// `--ddf` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DdfArg {
    /// Wald z tests (statsmodels), no degrees of freedom.
    Z,
    /// t tests with Satterthwaite's degrees of freedom (lmerTest; default for REML fits).
    Satterthwaite,
    /// t tests with Kenward-Roger's degrees of freedom and adjusted SEs (REML fits only).
    KenwardRoger,
}

/// `--ci` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiArg {
    /// β̂ ± 1.96·SE for the fixed effects.
    Wald,
    /// Profile likelihood (lme4's confint default): SDs, correlations, σ, fixed effects.
    Profile,
    /// Parametric bootstrap, percentile intervals (--nsim, --seed).
    Bootstrap,
}

/// The inference options of `mixedlm fit`.
#[derive(Debug, Args)]
pub struct InferenceArgs {
    /// Tests of the fixed effects: z, satterthwaite or kenward-roger [default: satterthwaite
    /// for REML fits (as lmerTest), z for ML fits]. Satterthwaite and Kenward-Roger need at
    /// most 1000 random effects; larger models fall back to z, with a note.
    #[arg(long, value_enum, value_name = "METHOD")]
    pub ddf: Option<DdfArg>,
    /// Add the conditional modes (BLUPs) with their conditional SDs.
    #[arg(long)]
    pub ranef: bool,
    /// Add standard errors of the variance parameters (at most 1000 random effects): as
    /// statsmodels' bse_re (√scale times the SE of Ψ/σ², what statsmodels prints next to
    /// each variance; JSON `bse_re`) and on the variance scale with σ² (the SE of each
    /// variance and covariance; JSON `variance_component_se`).
    #[arg(long)]
    pub bse_re: bool,
    /// Add confidence intervals: wald, profile or bootstrap.
    #[arg(long, value_enum, value_name = "METHOD")]
    pub ci: Option<CiArg>,
    /// Confidence level of --ci.
    #[arg(long, default_value_t = 0.95, value_name = "LEVEL")]
    pub level: f64,
    /// Bootstrap replicates (--ci bootstrap).
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub nsim: usize,
    /// Bootstrap seed (--ci bootstrap); the same seed gives the same intervals.
    #[arg(long, default_value_t = 42, value_name = "S")]
    pub seed: u64,
}

/// What inference adds to the JSON of `mixedlm fit`.
#[derive(Debug, Default, Serialize)]
pub struct InferenceJson {
    /// The tests' reference distribution: `z`, `satterthwaite` or `kenward-roger`.
    pub ddf: &'static str,
    /// With --ranef: one entry per group, level and term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditional_modes: Option<Vec<ConditionalModeJson>>,
    /// With --ci: one entry per parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence_intervals: Option<Vec<IntervalJson>>,
    /// With --bse-re: variances, covariances and σ² with the standard errors of the
    /// variances themselves (observed information on the variance scale).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance_component_se: Option<Vec<VarianceSeJson>>,
    /// With --bse-re: statsmodels' `bse_re` (`Subject Var`, `Subject x Days Cov`, ...,
    /// then `NAME Var` per variance component), as statsmodels computes and prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bse_re: Option<Vec<VarianceSeJson>>,
    /// Notes on the inference (e.g. a fallback from Satterthwaite to z).
    pub inference_notes: Vec<String>,
    /// Seconds spent on the tests, intervals and the rest of the inference.
    pub inference_seconds: f64,
}

/// One variance component with its standard error.
#[derive(Debug, Serialize)]
pub struct VarianceSeJson {
    /// `var_(Intercept)|Subject`, `cov_Days.(Intercept)|Subject`, `var_Residual`.
    pub parameter: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error (null on the boundary).
    pub std_error: Option<f64>,
}

/// One conditional mode.
#[derive(Debug, Serialize)]
pub struct ConditionalModeJson {
    /// The grouping factor.
    pub group: String,
    /// The level, as the string of its value.
    pub level: String,
    /// The effect's name.
    pub term: String,
    /// The conditional mode.
    pub value: f64,
    /// Its conditional SD.
    pub cond_sd: Option<f64>,
}

/// One confidence interval.
#[derive(Debug, Serialize)]
pub struct IntervalJson {
    /// lme4's `confint(oldNames = FALSE)` name.
    pub parameter: String,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
    /// `wald`, `profile` or `bootstrap`.
    pub method: &'static str,
}

impl From<ConditionalMode> for ConditionalModeJson {
    fn from(m: ConditionalMode) -> Self {
        Self {
            group: m.group,
            level: m.level,
            term: m.term,
            value: m.value,
            cond_sd: m.cond_sd,
        }
    }
}

/// `z`, `satterthwaite`, `kenward-roger`.
pub fn ddf_name(ddf: Ddf) -> &'static str {
    match ddf {
        Ddf::Z => "z",
        Ddf::Satterthwaite => "satterthwaite",
        Ddf::KenwardRoger => "kenward-roger",
    }
}

/// The fixed-effects tests asked for (or the default), falling back to z with a note
/// when the model is too large for Satterthwaite / Kenward-Roger.
pub fn tests(
    r: &MixedLMResults,
    arg: Option<DdfArg>,
) -> Result<(Ddf, Vec<FixedEffectTest>, Option<String>), CliError> {
    let ddf = match arg {
        None => r.default_ddf(),
        Some(DdfArg::Z) => Ddf::Z,
        Some(DdfArg::Satterthwaite) => Ddf::Satterthwaite,
        Some(DdfArg::KenwardRoger) => Ddf::KenwardRoger,
    };
    match r.fixed_effect_tests(ddf) {
        Ok(t) => Ok((ddf, t, None)),
        // Too large: fall back whether asked for or not. Any other failure of the default
        // (not asked for) falls back too; an explicit --ddf that fails is an error.
        Err(e) if matches!(e, Error::TooLarge { .. }) || arg.is_none() => {
            let note = format!("{e}: the fixed effects are tested with Wald z instead");
            Ok((Ddf::Z, r.fixed_effect_tests(Ddf::Z)?, Some(note)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The intervals asked for; the bootstrap shows a progress bar on a terminal.
pub fn intervals(
    r: &MixedLMResults,
    method: CiArg,
    a: &InferenceArgs,
) -> Result<Vec<IntervalJson>, CliError> {
    let method = match method {
        CiArg::Wald => CiMethod::Wald,
        CiArg::Profile => CiMethod::Profile,
        CiArg::Bootstrap => CiMethod::Bootstrap,
    };
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(CliError::usage(
            format!("--level {} must lie strictly between 0 and 1", a.level),
            Some("e.g. --level 0.95".into()),
        ));
    }
    if method == CiMethod::Bootstrap && a.nsim < 2 {
        return Err(CliError::usage(
            "--nsim must be at least 2",
            Some("lme4 uses 500 replicates; e.g. --nsim 500".into()),
        ));
    }
    let opts = ConfIntOptions::new(method)
        .level(a.level)
        .nsim(a.nsim)
        .seed(a.seed);
    let bar = (method == CiMethod::Bootstrap && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(a.nsim as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("bootstrap {bar:40} {pos}/{len} ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |_: usize, _: usize| {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let ci = r.confint_with_progress(&opts, &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(ci?
        .into_iter()
        .map(|c: ConfidenceInterval| IntervalJson {
            parameter: c.name,
            lower: c.lower,
            upper: c.upper,
            method: method.as_str(),
        })
        .collect())
}

/// Everything `--ddf`, `--ranef` and `--ci` ask for.
pub struct Inference {
    /// The tests' reference distribution.
    pub ddf: Ddf,
    /// The fixed-effects tests.
    pub tests: Vec<FixedEffectTest>,
    /// The JSON part.
    pub json: InferenceJson,
}

/// Run the inference a `fit` command asks for.
pub fn run(r: &MixedLMResults, a: &InferenceArgs) -> Result<Inference, CliError> {
    let start = std::time::Instant::now();
    let (ddf, tests, note) = tests(r, a.ddf)?;
    let confidence_intervals = a.ci.map(|m| intervals(r, m, a)).transpose()?;
    let conditional_modes = a
        .ranef
        .then(|| r.conditional_modes().into_iter().map(Into::into).collect());
    let as_json = |se: Vec<mixedlm::VarianceComponentSe>| -> Vec<VarianceSeJson> {
        se.into_iter()
            .map(|v| VarianceSeJson {
                parameter: v.name,
                estimate: v.estimate,
                std_error: v.se.is_finite().then_some(v.se),
            })
            .collect()
    };
    let (variance_component_se, bse_re) = if a.bse_re {
        (
            Some(as_json(r.variance_component_se()?)),
            Some(as_json(r.bse_re()?)),
        )
    } else {
        (None, None)
    };
    Ok(Inference {
        ddf,
        tests,
        json: InferenceJson {
            ddf: ddf_name(ddf),
            conditional_modes,
            confidence_intervals,
            variance_component_se,
            bse_re,
            inference_notes: note.into_iter().collect(),
            inference_seconds: start.elapsed().as_secs_f64(),
        },
    })
}

/// The text printed after the summary for --ci and --ranef.
pub fn text(inf: &Inference, level: f64) -> String {
    let mut s = String::new();
    if let Some(ci) = &inf.json.confidence_intervals {
        s.push_str(&interval_table(ci, level));
    }
    if let Some(vc) = &inf.json.bse_re {
        let _ = writeln!(s, "\nVariance parameters, statsmodels' bse_re:");
        se_table(&mut s, vc);
    }
    if let Some(vc) = &inf.json.variance_component_se {
        let _ = writeln!(
            s,
            "\nVariance components (observed information, variance scale):"
        );
        se_table(&mut s, vc);
    }
    if let Some(modes) = &inf.json.conditional_modes {
        let _ = writeln!(s, "\nConditional modes (BLUPs):");
        let gw = modes
            .iter()
            .map(|m| m.group.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let lw = modes
            .iter()
            .map(|m| m.level.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let tw = modes.iter().map(|m| m.term.len()).max().unwrap_or(4).max(4);
        let _ = writeln!(
            s,
            " {:<gw$} {:<lw$} {:<tw$} {:>12} {:>12}",
            "Group", "Level", "Term", "Mode", "Cond.SD"
        );
        for m in modes {
            let sd = m.cond_sd.map_or("".into(), |v| format!("{v:.4}"));
            let _ = writeln!(
                s,
                " {:<gw$} {:<lw$} {:<tw$} {:>12.4} {:>12}",
                m.group, m.level, m.term, m.value, sd
            );
        }
    }
    s
}

/// A table of intervals as lme4's `confint` prints it.
pub fn interval_table(ci: &[IntervalJson], level: f64) -> String {
    let mut s = String::new();
    let method = ci.first().map_or("", |c| c.method);
    let lo = format!("{:.1} %", 50.0 * (1.0 - level));
    let hi = format!("{:.1} %", 100.0 - 50.0 * (1.0 - level));
    let _ = writeln!(s, "\nConfidence intervals ({method}, level {level}):");
    let w = ci
        .iter()
        .map(|c| c.parameter.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(s, " {:<w$} {:>12} {:>12}", "Parameter", lo, hi);
    for c in ci {
        let _ = writeln!(
            s,
            " {:<w$} {:>12.4} {:>12.4}",
            c.parameter, c.lower, c.upper
        );
    }
    s
}

impl crate::json::FitJson {
    /// Replace the z tests by the inference's tests and add its keys.
    pub fn set_inference(&mut self, inf: Inference) {
        for (fe, t) in self.fixed_effects.iter_mut().zip(&inf.tests) {
            if inf.ddf == Ddf::KenwardRoger {
                fe.std_error_adjusted = Some(t.se);
            }
            fe.statistic = t.statistic;
            fe.df = t.df;
            fe.p_value = t.p_value;
        }
        self.inference = inf.json;
    }
}

/// A table of parameters, estimates and standard errors.
fn se_table(s: &mut String, vc: &[VarianceSeJson]) {
    let w = vc
        .iter()
        .map(|c| c.parameter.chars().count())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        s,
        " {:<w$} {:>12} {:>12}",
        "Parameter", "Estimate", "Std.Err."
    );
    for c in vc {
        let se = c.std_error.map_or("NaN".into(), |v| format!("{v:.4}"));
        let _ = writeln!(s, " {:<w$} {:>12.4} {:>12}", c.parameter, c.estimate, se);
    }
}
