//! The JSON documents of `mixedlm design` and `mixedlm fit`. Their keys are a public
//! contract: add keys freely, never rename or remove one.

use mixedlm::{Design, MixedLMResults};
use serde::Serialize;
use std::collections::BTreeMap;

/// `mixedlm design --format json`.
#[derive(Debug, Serialize)]
pub struct DesignJson {
    /// The formula as given.
    pub formula: String,
    /// The response label.
    pub response: String,
    /// Names of X's columns (lme4's names).
    pub x_columns: Vec<String>,
    /// Columns dropped as linear combinations of earlier ones.
    pub aliased: Vec<String>,
    /// Rows used.
    pub n_obs: usize,
    /// Rows dropped for missing values.
    pub n_dropped: usize,
    /// One entry per random-effects term.
    pub random_terms: Vec<RandomTermJson>,
    /// Seconds spent reading the data.
    pub read_seconds: f64,
}

/// One random-effects term of `design`.
#[derive(Debug, Serialize)]
pub struct RandomTermJson {
    /// The grouping factor as in the expanded formula (`batch:cask`).
    pub group: String,
    /// Number of levels.
    pub levels: usize,
    /// The term's column names (`(Intercept)`, `Days`).
    pub terms: Vec<String>,
    /// `unstructured`, `diagonal` or `scalar`.
    pub covariance: &'static str,
}

impl DesignJson {
    /// Describe a design.
    pub fn new(formula: &str, d: &Design, read_seconds: f64) -> Self {
        let random_terms = d
            .random
            .iter()
            .map(|t| RandomTermJson {
                group: t.group.clone(),
                levels: t.levels.len(),
                terms: t.names.clone(),
                covariance: t.covariance.as_str(),
            })
            .collect();
        Self {
            formula: formula.to_string(),
            response: d.response.clone(),
            x_columns: d.x_names.clone(),
            aliased: d.aliased.clone(),
            n_obs: d.n_obs(),
            n_dropped: d.n_dropped,
            random_terms,
            read_seconds,
        }
    }
}

/// `mixedlm fit --format json`.
#[derive(Debug, Serialize)]
pub struct FitJson {
    /// The formula (the lme4 formula the model was built from).
    pub formula: String,
    /// The same model written as one lme4 formula.
    pub lme4_formula: String,
    /// `REML` or `ML`.
    pub criterion: &'static str,
    /// Rows used.
    pub n_obs: usize,
    /// Rows dropped for missing values.
    pub n_dropped: usize,
    /// Levels per grouping factor.
    pub groups: BTreeMap<String, usize>,
    /// Fixed effects.
    pub fixed_effects: Vec<FixedEffectJson>,
    /// Fixed-effects columns dropped as linear combinations of earlier ones (no estimate).
    pub aliased: Vec<String>,
    /// Variances and SDs of the random effects.
    pub random_effects: Vec<RandomEffectJson>,
    /// Correlations between random effects of one term.
    pub correlations: Vec<CorrelationJson>,
    /// σ².
    pub residual_variance: f64,
    /// σ.
    pub residual_std_dev: f64,
    /// The relative covariance parameters θ (lme4's order).
    pub theta: Vec<f64>,
    /// The log-likelihood (REML log-likelihood under REML).
    pub log_likelihood: f64,
    /// The REML criterion (REML) or the deviance (ML).
    pub objective: f64,
    /// Akaike's information criterion.
    pub aic: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Number of parameters (fixed effects + θ + σ).
    pub npar: usize,
    /// Warnings about the model that are not errors (also printed on standard error).
    pub warnings: Vec<String>,
    /// Whether the fit converged: the optimizer's test and the post-fit check (scaled
    /// gradient, Hessian) both passed.
    pub converged: bool,
    /// Why not, when `converged` is false (null otherwise).
    pub convergence_failure: Option<String>,
    /// Whether the fit is on the boundary (a variance 0 or a correlation ±1).
    pub singular: bool,
    /// The optimizer's record.
    pub optimizer: OptimizerJson,
    /// Wall-clock times.
    pub timing: TimingJson,
    /// Diagnostics (null with `--no-diagnostics` and no `--plots`).
    pub diagnostics: Option<crate::diagnostics::DiagnosticsJson>,
    /// With --stream: batches, rows per batch, passes over the data, seconds per pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streaming: Option<mixedlm::StreamInfo>,
    /// Inference: `ddf`, and with --ranef / --ci `conditional_modes` / `confidence_intervals`.
    #[serde(flatten)]
    pub inference: crate::inference::InferenceJson,
}

/// One fixed effect.
#[derive(Debug, Serialize)]
pub struct FixedEffectJson {
    /// lme4's name.
    pub term: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// estimate / std_error.
    pub t_value: f64,
    /// The test statistic (z or t; uses the Kenward-Roger SE under --ddf kenward-roger).
    pub statistic: f64,
    /// Degrees of freedom of the t test (null for z).
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Kenward-Roger's adjusted standard error (under --ddf kenward-roger only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std_error_adjusted: Option<f64>,
}

/// One random-effect variance.
#[derive(Debug, Serialize)]
pub struct RandomEffectJson {
    /// Grouping factor.
    pub group: String,
    /// Term name.
    pub term: String,
    /// Variance.
    pub variance: f64,
    /// Standard deviation.
    pub std_dev: f64,
}

/// One correlation.
#[derive(Debug, Serialize)]
pub struct CorrelationJson {
    /// Grouping factor.
    pub group: String,
    /// First term.
    pub term1: String,
    /// Second term.
    pub term2: String,
    /// The correlation.
    pub correlation: f64,
}

/// The optimizer's record.
#[derive(Debug, Serialize)]
pub struct OptimizerJson {
    /// Solver name.
    pub name: String,
    /// Objective evaluations.
    pub evaluations: usize,
    /// Gradient evaluations (analytic for `bfgs` on the dense path, else by finite
    /// differences, whose objective evaluations are counted in `evaluations`).
    pub gradient_evaluations: usize,
    /// Seconds inside the optimizer.
    pub seconds: f64,
    /// Why it stopped.
    pub termination: String,
}

/// Wall-clock times.
#[derive(Debug, Serialize)]
pub struct TimingJson {
    /// Reading the data file.
    pub read_seconds: f64,
    /// From data in memory to finished results (design, fit, estimates).
    pub fit_seconds: f64,
    /// With `--repeat N`: every fit's time, the first (= `fit_seconds`) included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit_seconds_runs: Option<Vec<f64>>,
}

impl FitJson {
    /// Describe a fit.
    pub fn new(r: &MixedLMResults, read_seconds: f64, fit_seconds: f64) -> Self {
        let names = r.fe_names();
        let fixed_effects = names
            .iter()
            .zip(r.fe_params().iter().zip(r.bse_fe()))
            .zip(r.pvalues())
            .map(|((n, (&e, &s)), p)| FixedEffectJson {
                term: n.clone(),
                estimate: e,
                std_error: s,
                t_value: e / s,
                statistic: e / s,
                df: None,
                p_value: p,
                std_error_adjusted: None,
            })
            .collect();
        let vc = r.varcorr();
        let random_effects = vc
            .variances
            .iter()
            .map(|v| RandomEffectJson {
                group: v.group.clone(),
                term: v.term.clone(),
                variance: v.variance,
                std_dev: v.std_dev,
            })
            .collect();
        let correlations = vc
            .correlations
            .iter()
            .map(|c| CorrelationJson {
                group: c.group.clone(),
                term1: c.term1.clone(),
                term2: c.term2.clone(),
                correlation: c.correlation,
            })
            .collect();
        let optim = r.optim();
        Self {
            formula: r.formula().to_string(),
            criterion: if r.reml() { "REML" } else { "ML" },
            n_obs: r.nobs(),
            n_dropped: r.n_dropped(),
            lme4_formula: r.spec().lme4_formula(),
            groups: r.n_groups().into_iter().collect(),
            fixed_effects,
            aliased: r.aliased().to_vec(),
            random_effects,
            correlations,
            residual_variance: r.scale(),
            residual_std_dev: r.sigma(),
            theta: r.theta().to_vec(),
            log_likelihood: r.llf(),
            objective: r.objective(),
            aic: r.aic(),
            bic: r.bic(),
            npar: r.npar(),
            warnings: r.warnings(),
            converged: r.converged(),
            convergence_failure: r.convergence_failure().map(str::to_string),
            singular: r.singular(),
            optimizer: OptimizerJson {
                name: optim.optimizer.as_str().to_string(),
                evaluations: optim.evaluations,
                gradient_evaluations: optim.gradient_evaluations,
                seconds: optim.seconds,
                termination: optim.termination.clone(),
            },
            timing: TimingJson {
                read_seconds,
                fit_seconds,
                fit_seconds_runs: None,
            },
            diagnostics: None,
            streaming: None,
            inference: crate::inference::InferenceJson {
                ddf: "z",
                ..Default::default()
            },
        }
    }
}
