//! `mixedlm fit --family binomial|poisson [--link L] [--nagq N]`: generalized linear mixed
//! models. The JSON keeps every LMM key that makes sense for a GLMM (there is no residual
//! variance) and adds `family`, `link`, `nagq`, `deviance`, `optimizer_stage1`.

use crate::args::{FitArgs, OutputFormat};
use crate::commands::{read, to_json, write_output};
use crate::error::CliError;
use crate::inference::CiArg;
use crate::json::{CorrelationJson, OptimizerJson, RandomEffectJson, TimingJson};
use clap::Args;
use mixedlm::optim::OptimRecord;
use mixedlm::{Glmm, GlmmResults, ModelSpec};
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

/// The GLMM options of `mixedlm fit`.
#[derive(Debug, Args)]
pub struct GlmmArgs {
    /// Fit a generalized linear mixed model with this response family: binomial (a 0/1
    /// response, cbind(successes, failures), or a proportion with --weights = trials) or
    /// poisson (counts).
    #[arg(long, value_name = "FAMILY")]
    pub family: Option<String>,
    /// The link: logit (binomial default), probit, cloglog; log (poisson).
    #[arg(long, value_name = "LINK", requires = "family")]
    pub link: Option<String>,
    /// Quadrature points: 0 (fast), 1 (Laplace, the default), 2-25 (adaptive Gauss-Hermite,
    /// one scalar random-effects term only).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "family")]
    pub nagq: usize,
    /// Prior weights from COLUMN (for a binomial proportion: the numbers of trials).
    #[arg(long, value_name = "COLUMN", requires = "family")]
    pub weights: Option<String>,
}

/// `mixedlm fit --family ... --format json`.
#[derive(Debug, Serialize)]
pub struct GlmmFitJson {
    /// The formula as given.
    pub formula: String,
    /// The same model written as one lme4 formula.
    pub lme4_formula: String,
    /// The response family.
    pub family: String,
    /// The link.
    pub link: String,
    /// Quadrature points (0, 1 = Laplace, 2..=25).
    pub nagq: usize,
    /// `ML` (GLMMs are fitted by maximum likelihood).
    pub criterion: &'static str,
    /// Rows used.
    pub n_obs: usize,
    /// Rows dropped for missing values.
    pub n_dropped: usize,
    /// Levels per grouping factor.
    pub groups: BTreeMap<String, usize>,
    /// Fixed effects with Wald z tests.
    pub fixed_effects: Vec<GlmmFixedEffectJson>,
    /// Variances and SDs of the random effects.
    pub random_effects: Vec<RandomEffectJson>,
    /// Correlations between random effects of one term.
    pub correlations: Vec<CorrelationJson>,
    /// θ (lme4's order).
    pub theta: Vec<f64>,
    /// The log-likelihood as lme4 reports it.
    pub log_likelihood: f64,
    /// −2 log-likelihood (the criterion).
    pub objective: f64,
    /// The conditional deviance Σ w d(y, μ̂) (lme4's `deviance()`).
    pub deviance: f64,
    /// Akaike's information criterion.
    pub aic: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Number of parameters (fixed effects + θ).
    pub npar: usize,
    /// Whether both optimization stages converged.
    pub converged: bool,
    /// Whether the fit is on the boundary.
    pub singular: bool,
    /// Where the standard errors came from: `hessian` (lme4's default) or `rx`.
    pub vcov_source: String,
    /// Stage 2's record ((θ, β) by the Laplace or quadrature criterion); stage 1's for
    /// nAGQ = 0.
    pub optimizer: OptimizerJson,
    /// Stage 1's record (θ by the fast criterion).
    pub optimizer_stage1: OptimizerJson,
    /// Wall-clock times.
    pub timing: TimingJson,
    /// Convergence (lme4's checkConv), singularity, overdispersion, with messages (null
    /// with --no-diagnostics).
    pub diagnostics: Option<mixedlm::glmm::GlmmChecks>,
    /// With --ranef: one entry per group, level and term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditional_modes: Option<Vec<crate::inference::ConditionalModeJson>>,
    /// With --ci wald: one entry per fixed effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence_intervals: Option<Vec<crate::inference::IntervalJson>>,
}

/// One fixed effect with its Wald z test.
#[derive(Debug, Serialize)]
pub struct GlmmFixedEffectJson {
    /// lme4's name.
    pub term: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// estimate / std_error (the z value; the LMM's key name).
    pub t_value: f64,
    /// The z statistic (same as `t_value`).
    pub statistic: f64,
    /// Degrees of freedom: null (a z test).
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
}

fn optimizer_json(o: &OptimRecord) -> OptimizerJson {
    OptimizerJson {
        name: o.optimizer.as_str().to_string(),
        evaluations: o.evaluations,
        gradient_evaluations: o.gradient_evaluations,
        seconds: o.seconds,
        termination: o.termination.clone(),
    }
}

impl GlmmFitJson {
    /// Describe a fit.
    pub fn new(r: &GlmmResults, read_seconds: f64, fit_seconds: f64) -> Self {
        let (z, p) = (r.zvalues(), r.pvalues());
        let fixed_effects = r
            .fe_names()
            .iter()
            .enumerate()
            .map(|(i, n)| GlmmFixedEffectJson {
                term: n.clone(),
                estimate: r.fixef()[i],
                std_error: r.bse_fe()[i],
                t_value: z[i],
                statistic: z[i],
                df: None,
                p_value: p[i],
            })
            .collect();
        let vc = r.varcorr();
        let fit = r.fit();
        let stage2 = fit.optim.as_ref().unwrap_or(&fit.optim_stage1);
        Self {
            formula: r.formula().to_string(),
            lme4_formula: r.spec().lme4_formula(),
            family: r.family().to_string(),
            link: r.link().to_string(),
            nagq: r.nagq(),
            criterion: "ML",
            n_obs: r.nobs(),
            n_dropped: r.n_dropped(),
            groups: r.n_groups().into_iter().collect(),
            fixed_effects,
            random_effects: vc
                .variances
                .iter()
                .map(|v| RandomEffectJson {
                    group: v.group.clone(),
                    term: v.term.clone(),
                    variance: v.variance,
                    std_dev: v.std_dev,
                })
                .collect(),
            correlations: vc
                .correlations
                .iter()
                .map(|c| CorrelationJson {
                    group: c.group.clone(),
                    term1: c.term1.clone(),
                    term2: c.term2.clone(),
                    correlation: c.correlation,
                })
                .collect(),
            theta: r.theta().to_vec(),
            log_likelihood: r.llf(),
            objective: r.objective(),
            deviance: r.deviance(),
            aic: r.aic(),
            bic: r.bic(),
            npar: r.npar(),
            converged: r.converged(),
            singular: r.singular(),
            vcov_source: format!("{:?}", fit.vcov_source).to_lowercase(),
            optimizer: optimizer_json(stage2),
            optimizer_stage1: optimizer_json(&fit.optim_stage1),
            timing: TimingJson {
                read_seconds,
                fit_seconds,
                fit_seconds_runs: None,
            },
            diagnostics: None,
            conditional_modes: None,
            confidence_intervals: None,
        }
    }
}

/// The model of the command line's GLMM options.
fn model(a: &FitArgs, spec: ModelSpec) -> Result<Glmm, CliError> {
    let g = &a.glmm;
    let family = g.family.as_deref().unwrap_or("binomial");
    let mut m = Glmm::from_spec(spec, family).nagq(g.nagq);
    if let Some(l) = &g.link {
        m = m.link(l);
    }
    if let Some(w) = &g.weights {
        m = m.weights(w);
    }
    Ok(m)
}

/// Options of `fit` that a GLMM does not take: an error naming them.
fn refuse_lmm_only(a: &FitArgs) -> Result<(), CliError> {
    let inf = &a.inference;
    let mut bad = Vec::new();
    if a.ml {
        bad.push("--ml (GLMMs are always fitted by maximum likelihood)");
    }
    if a.stream {
        bad.push("--stream");
    }
    if matches!(inf.ddf, Some(d) if d != crate::inference::DdfArg::Z) {
        bad.push("--ddf satterthwaite|kenward-roger (GLMM tests are Wald z)");
    }
    if inf.bse_re {
        bad.push("--bse-re");
    }
    if matches!(inf.ci, Some(CiArg::Bootstrap | CiArg::Profile)) {
        bad.push("--ci profile|bootstrap (GLMM intervals are Wald: --ci wald)");
    }
    if a.diagnostics.plots.is_some() || a.diagnostics.influence.is_some() {
        bad.push("--plots / --influence");
    }
    if bad.is_empty() {
        return Ok(());
    }
    Err(CliError::usage(
        format!(
            "with --family these options do not apply: {}",
            bad.join(", ")
        ),
        Some("remove them; GLMM fits give Wald z tests, --ci wald and --ranef".into()),
    ))
}

/// `mixedlm fit ... --family F`.
pub fn fit(a: &FitArgs, spec: ModelSpec) -> Result<ExitCode, CliError> {
    refuse_lmm_only(a)?;
    let model = model(a, spec)?;
    model.validate()?;
    let (batch, read_seconds) = read(&a.data)?;
    let mut runs = Vec::with_capacity(a.repeat.max(1));
    let results = loop {
        let start = Instant::now();
        let results = model.fit_batch(&batch);
        runs.push(start.elapsed().as_secs_f64());
        if runs.len() >= a.repeat || results.is_err() {
            break results;
        }
    };
    let results = results?;
    let level = a.inference.level;
    let checks = (!a.diagnostics.no_diagnostics).then(|| results.checks());
    let text = match a.format {
        OutputFormat::Json => {
            let mut json = GlmmFitJson::new(&results, read_seconds, runs[0]);
            if runs.len() > 1 {
                json.timing.fit_seconds_runs = Some(runs);
            }
            if a.inference.ranef {
                json.conditional_modes = Some(conditional_modes(&results));
            }
            json.diagnostics = checks;
            if a.inference.ci.is_some() {
                json.confidence_intervals = Some(wald_intervals(&results, level));
            }
            to_json(&json)?
        }
        OutputFormat::Text => {
            let mut s = results.summary().to_string();
            if let Some(c) = &checks {
                for m in &c.messages {
                    s.push_str(&format!("\n\nwarning: {m}"));
                }
            }
            if a.inference.ci.is_some() {
                s.push_str(&format!(
                    "\n\nWald confidence intervals ({:.0}%):\n",
                    100.0 * level
                ));
                for iv in wald_intervals(&results, level) {
                    s.push_str(&format!(
                        "  {:<20} {:>12.5} {:>12.5}\n",
                        iv.parameter, iv.lower, iv.upper
                    ));
                }
            }
            s
        }
    };
    write_output(a.output.as_deref(), &text)?;
    if a.strict && !results.converged() {
        eprintln!("error: the optimizer did not converge (--strict)");
        eprintln!("hint: rescale the predictors or simplify the random effects");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn conditional_modes(r: &GlmmResults) -> Vec<crate::inference::ConditionalModeJson> {
    let mut out = Vec::new();
    for (e, s) in r.ranef().iter().zip(r.ranef_sd()) {
        for (l, level) in e.levels.iter().enumerate() {
            for (c, term) in e.names.iter().enumerate() {
                out.push(crate::inference::ConditionalModeJson {
                    group: e.group.clone(),
                    level: level.clone(),
                    term: term.clone(),
                    value: e.values[(l, c)],
                    cond_sd: Some(s.values[(l, c)]),
                });
            }
        }
    }
    out
}

fn wald_intervals(r: &GlmmResults, level: f64) -> Vec<crate::inference::IntervalJson> {
    r.fe_names()
        .iter()
        .zip(r.conf_int(1.0 - level))
        .map(|(n, (lo, hi))| crate::inference::IntervalJson {
            parameter: n.clone(),
            lower: lo,
            upper: hi,
            method: "wald",
        })
        .collect()
}
