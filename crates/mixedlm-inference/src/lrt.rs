//! Likelihood-ratio tests between nested models, as lme4's `anova()`.

use crate::dense::DenseLmm;
use crate::error::InferenceError;
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// One model of a likelihood-ratio test: an ML fit (refit REML fits with ML first).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LrtModel {
    /// A label (the formula).
    pub name: String,
    /// Number of parameters: fixed effects + θ + 1 (σ).
    pub npar: usize,
    /// Maximized ML log-likelihood.
    pub loglik: f64,
    /// Number of observations.
    pub n_obs: usize,
}

/// One row of the test table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LrtRow {
    /// The model's label.
    pub name: String,
    /// Number of parameters.
    pub npar: usize,
    /// Log-likelihood.
    pub loglik: f64,
    /// Deviance −2 logLik.
    pub deviance: f64,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// χ² against the previous row (None for the first).
    pub chisq: Option<f64>,
    /// Degrees of freedom of the test (npar difference).
    pub df: Option<usize>,
    /// Upper-tail χ² p-value.
    pub p_value: Option<f64>,
}

/// Refit a model with ML from `theta` (its REML or ML estimate) and summarize it for
/// [`likelihood_ratio_tests`].
pub fn lrt_model_ml(
    model: &DenseLmm,
    theta: &[f64],
    name: &str,
) -> Result<LrtModel, InferenceError> {
    let ml = model.with_reml(false);
    let (theta_ml, dev) = ml.fit_theta(theta)?;
    Ok(LrtModel {
        name: name.to_string(),
        npar: model.n_fixed() + theta_ml.len() + 1,
        loglik: -0.5 * dev + 0.5 * model.sum_log_weights(),
        n_obs: model.n_obs(),
    })
}

/// The anova table: models sorted by number of parameters (stable), each compared with
/// the one before: χ² = 2·max(0, ΔlogLik), df = Δnpar, p = P(χ²_df > χ²).
pub fn likelihood_ratio_tests(models: &[LrtModel]) -> Result<Vec<LrtRow>, InferenceError> {
    if models.len() < 2 {
        return Err(InferenceError::Lrt(
            "give at least two models to compare".into(),
        ));
    }
    if models.iter().any(|m| m.n_obs != models[0].n_obs) {
        return Err(InferenceError::Lrt(
            "the models were fitted to different numbers of observations: fit them to the same rows".into(),
        ));
    }
    let mut sorted: Vec<&LrtModel> = models.iter().collect();
    sorted.sort_by_key(|m| m.npar);
    let mut rows: Vec<LrtRow> = Vec::with_capacity(sorted.len());
    for (i, m) in sorted.iter().enumerate() {
        let deviance = -2.0 * m.loglik;
        let (chisq, df, p_value) = if i == 0 {
            (None, None, None)
        } else {
            let prev = sorted[i - 1];
            let chisq = (2.0 * (m.loglik - prev.loglik)).max(0.0);
            let df = m.npar - prev.npar;
            let p = if df == 0 {
                None
            } else {
                ChiSquared::new(df as f64).ok().map(|d| d.sf(chisq))
            };
            (Some(chisq), Some(df), p)
        };
        rows.push(LrtRow {
            name: m.name.clone(),
            npar: m.npar,
            loglik: m.loglik,
            deviance,
            aic: deviance + 2.0 * m.npar as f64,
            bic: deviance + m.npar as f64 * (m.n_obs as f64).ln(),
            chisq,
            df,
            p_value,
        });
    }
    Ok(rows)
}
