//! Checks of a GLMM fit, each with advice: convergence as lme4's `checkConv` judges it
//! from the gradient and Hessian at the optimum, a singular fit, and overdispersion
//! (Pearson's χ² over the residual degrees of freedom, for Poisson and binomial with
//! trials). Complete separation is `separation.rs`.

use super::model::GlmmModel;
use super::results::GlmmFit;
use faer::{Mat, Side};
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// lme4's gradient tolerance (`check.conv.grad`).
pub const GRADIENT_TOL: f64 = 2e-3;
/// lme4's Hessian tolerance (`check.conv.hess`).
pub const HESSIAN_TOL: f64 = 1e-6;
/// A θ entry with lower bound 0 below this is on the boundary (lme4's `boundary.tol`).
const BOUNDARY_TOL: f64 = 1e-5;

/// Pearson's χ² against its residual degrees of freedom.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overdispersion {
    /// Σ (y − μ̂)² w / V(μ̂).
    pub pearson_chisq: f64,
    /// Residual degrees of freedom n − npar.
    pub df: f64,
    /// χ² / df: about 1 without overdispersion.
    pub ratio: f64,
    /// P(χ²_df ≥ observed).
    pub p_value: f64,
}

/// The findings on a fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlmmChecks {
    /// lme4's criterion max_i min(|(R⁻ᵀ g)_i|, |g_i|) over the parameters off their
    /// boundary, R'R = H (NaN without derivatives).
    pub scaled_gradient_max: f64,
    /// Eigenvalues of the Hessian over those parameters, increasing.
    pub hessian_eigenvalues: Vec<f64>,
    /// Whether a variance is estimated as 0 (or a correlation as ±1).
    pub singular: bool,
    /// Overdispersion, where it applies (not for a 0/1 response).
    pub overdispersion: Option<Overdispersion>,
    /// The problems found, each with what to do.
    pub messages: Vec<String>,
}

/// Check a fit of `model` (left at the optimum).
pub fn check(model: &GlmmModel, fit: &GlmmFit) -> GlmmChecks {
    let mut messages = Vec::new();
    let nt = fit.theta.len();
    let lower = model.random_effects().theta_lower();
    let free: Vec<usize> = (0..fit.gradient.len())
        .filter(|&i| i >= nt || !(lower[i] == 0.0 && fit.theta[i].abs() < BOUNDARY_TOL))
        .collect();
    let (scaled_gradient_max, hessian_eigenvalues) = if fit.gradient.is_empty() {
        (f64::NAN, Vec::new())
    } else {
        gradient_and_hessian(fit, &free, &mut messages)
    };
    if fit.singular {
        messages.push(
            "boundary (singular) fit: a random-effect variance is estimated as 0 or a \
             correlation as ±1; the data do not support this random-effects structure: drop \
             the term with zero variance or its random slope, or use uncorrelated slopes (x || g)"
                .into(),
        );
    }
    let overdispersion = overdispersion(model, fit);
    if let Some(o) = &overdispersion {
        if o.ratio > 1.5 && o.p_value < 0.01 {
            messages.push(format!(
                "overdispersion: Pearson χ²/df = {:.2} (p = {:.2e}); the standard errors are too \
                 small: add an observation-level random effect (1 | obs), or model the extra \
                 variation (a negative binomial family when it is available)",
                o.ratio, o.p_value
            ));
        }
    }
    if fit.pirls_failures > 0 {
        messages.push(format!(
            "PIRLS failed at {} point(s) the optimizer tried (treated as +∞ there); if the \
             fit is near them, rescale the predictors",
            fit.pirls_failures
        ));
    }
    GlmmChecks {
        scaled_gradient_max,
        hessian_eigenvalues,
        singular: fit.singular,
        overdispersion,
        messages,
    }
}

fn gradient_and_hessian(
    fit: &GlmmFit,
    free: &[usize],
    messages: &mut Vec<String>,
) -> (f64, Vec<f64>) {
    let m = free.len();
    let h = Mat::from_fn(m, m, |a, b| fit.hessian[free[a]][free[b]]);
    let g: Vec<f64> = free.iter().map(|&i| fit.gradient[i]).collect();
    let eig = h.self_adjoint_eigenvalues(Side::Lower).unwrap_or_default();
    let scaled = match h.llt(Side::Lower) {
        Ok(llt) => {
            // lme4: solve(chol(H), g) with chol upper: R⁻ᵀ... R g' = g, R = L'
            let l = llt.L();
            let mut x = g.clone();
            for i in (0..m).rev() {
                let mut s = x[i];
                for (k, xk) in x.iter().enumerate().skip(i + 1) {
                    s -= l[(k, i)] * xk;
                }
                x[i] = s / l[(i, i)];
            }
            Some(x)
        }
        Err(_) => None,
    };
    let max = match &scaled {
        Some(s) => s
            .iter()
            .zip(&g)
            .map(|(a, b)| a.abs().min(b.abs()))
            .fold(0.0, f64::max),
        None => g.iter().map(|v| v.abs()).fold(0.0, f64::max),
    };
    if scaled.is_none() {
        messages.push(
            "the Hessian at the optimum is not positive definite, so the scaled gradient \
             cannot be checked; the optimum may be a saddle: simplify the model or rescale \
             the predictors"
                .into(),
        );
    }
    if max > GRADIENT_TOL {
        let names: Vec<String> = fit
            .theta_names
            .iter()
            .chain(&fit.fixef_names)
            .cloned()
            .collect();
        let worst = (0..m)
            .max_by(|&a, &b| {
                let v = |i: usize| match &scaled {
                    Some(s) => s[i].abs().min(g[i].abs()),
                    None => g[i].abs(),
                };
                v(a).total_cmp(&v(b))
            })
            .map_or_else(String::new, |i| {
                names.get(free[i]).cloned().unwrap_or_default()
            });
        messages.push(format!(
            "the model may not have converged: max|scaled gradient| = {max:.3e} (tol = \
             {GRADIENT_TOL}, largest for {worst}); rescale the predictors (center and scale \
             continuous covariates) and refit"
        ));
    }
    if let (Some(&lo), Some(&hi)) = (eig.first(), eig.last()) {
        let negative = eig.iter().filter(|&&e| e < -HESSIAN_TOL).count();
        if negative > 0 {
            messages.push(format!(
                "degenerate Hessian with {negative} negative eigenvalue(s): the optimum is a \
                 saddle or the model is not identifiable; simplify the model"
            ));
        } else if lo > 0.0 && hi / lo > 1.0 / HESSIAN_TOL {
            messages.push(format!(
                "nearly unidentifiable: the Hessian's eigenvalues range over a factor {:.1e}; \
                 rescale the predictors (a covariate on a large scale, e.g. age²)",
                hi / lo
            ));
        }
    }
    (max, eig)
}

fn overdispersion(model: &GlmmModel, fit: &GlmmFit) -> Option<Overdispersion> {
    let resp = model.response();
    if !resp.family.overdispersion_applies(&resp.weights) {
        return None;
    }
    let chisq: f64 = resp.pearson_residuals().iter().map(|r| r * r).sum();
    let df = fit.n_obs as f64 - fit.npar as f64;
    if df <= 0.0 {
        return None;
    }
    let p_value = ChiSquared::new(df).map_or(f64::NAN, |d| 1.0 - d.cdf(chisq));
    Some(Overdispersion {
        pearson_chisq: chisq,
        df,
        ratio: chisq / df,
        p_value,
    })
}
