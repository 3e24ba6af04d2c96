//! Standard errors of the variance components from the observed information.
//!
//! The components γ are the entries of each term's covariance matrix (variances and
//! covariances, column-major lower triangle) and the residual variance σ². With D(γ) the
//! deviance (REML criterion for REML fits, β at β̂), Cov(γ̂) ≈ 2 H⁻¹, H = ∂²D/∂γ²
//! by finite differences. Estimates on the boundary (a zero variance) give NaN.

use crate::dense::{DenseLmm, TermLayout};
use crate::error::InferenceError;
use crate::numdiff::{hessian, pinv_symmetric};
use crate::varpar::{lme4_group_labels, sigma_hat, varpar_deviance};
use faer::Mat;
use serde::Serialize;

/// One variance component with its standard error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VarianceComponentSe {
    /// `var_(Intercept)|Subject`, `cov_Days.(Intercept)|Subject`, `var_Residual`.
    pub name: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
}

/// (r, s) positions in Σ of a term's components.
fn positions(t: &TermLayout) -> Vec<(usize, usize)> {
    t.structure()
        .components()
        .into_iter()
        .map(|c| c.position())
        .collect()
}

fn names(terms: &[TermLayout]) -> Vec<String> {
    let labels = lme4_group_labels(terms);
    let mut out = Vec::new();
    for (t, g) in terms.iter().zip(&labels) {
        for (r, s) in positions(t) {
            out.push(if r == s {
                format!("var_{}|{}", t.names[r], g[r])
            } else {
                format!("cov_{}.{}|{}", t.names[r], t.names[s], g[r])
            });
        }
    }
    out.push("var_Residual".into());
    out
}

fn gamma_from_theta(terms: &[TermLayout], theta: &[f64], sigma: f64) -> Vec<f64> {
    let s2 = sigma * sigma;
    let mut out = Vec::new();
    for t in terms {
        let f = t.factor(theta);
        let cov = &f * f.transpose();
        out.extend(positions(t).into_iter().map(|(r, s)| s2 * cov[(r, s)]));
    }
    out.push(s2);
    out
}

/// γ → (θ, σ); None where γ is not a valid covariance.
fn theta_from_gamma(terms: &[TermLayout], gamma: &[f64]) -> Option<(Vec<f64>, f64)> {
    let s2 = *gamma.last()?;
    if s2 <= 0.0 {
        return None;
    }
    let mut theta = Vec::new();
    let mut pos = 0;
    for t in terms {
        let ps = positions(t);
        let mut rel = Mat::<f64>::zeros(t.k, t.k);
        for (idx, &(r, s)) in ps.iter().enumerate() {
            rel[(r, s)] = gamma[pos + idx] / s2;
        }
        pos += ps.len();
        theta.extend(t.structure().theta_from_relative_covariance(rel.as_ref()));
    }
    Some((theta, s2.sqrt()))
}

/// Variance components and their standard errors at θ (the model's criterion).
pub fn variance_component_se(
    model: &DenseLmm,
    theta: &[f64],
) -> Result<Vec<VarianceComponentSe>, InferenceError> {
    let (n, p, reml) = (model.n_obs(), model.n_fixed(), model.reml());
    let pc = model.pieces(theta)?;
    let sigma = sigma_hat(&pc, n, p, reml);
    let terms = model.terms();
    let gamma = gamma_from_theta(terms, theta, sigma);
    let dev = |g: &[f64]| -> Result<f64, InferenceError> {
        let Some((th, s)) = theta_from_gamma(terms, g) else {
            return Ok(f64::NAN);
        };
        Ok(varpar_deviance(&model.pieces(&th)?, s, n, p, reml))
    };
    let h = hessian(dev, &gamma)?;
    let finite = (0..h.nrows()).all(|i| (0..h.ncols()).all(|j| h[(i, j)].is_finite()));
    let cov = if finite {
        Some(pinv_symmetric(&h, 1e-12)?)
    } else {
        None
    };
    Ok(names(terms)
        .into_iter()
        .zip(&gamma)
        .enumerate()
        .map(|(i, (name, &estimate))| VarianceComponentSe {
            name,
            estimate,
            se: cov.as_ref().map_or(f64::NAN, |c| (2.0 * c[(i, i)]).sqrt()),
        })
        .collect())
}
