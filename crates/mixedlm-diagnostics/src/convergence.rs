//! Convergence checks on the optimum of the profiled objective, like lme4's `checkConv`.
//!
//! Given the objective `f(θ)` (−2 log-likelihood or REML criterion) and the optimizer's θ̂:
//! - the gradient by central finite differences and the scaled gradient `H⁻¹g` (lme4 tests
//!   `max |min(|H⁻¹g|, |g|)|` against 0.002), both over the *interior* parameters only;
//! - the Hessian by central finite differences (step `1e-4·max(|θᵢ|, 1)`), its eigenvalues,
//!   whether it is positive definite and how well conditioned;
//! - parameters on their boundary (a variance estimated at 0: a singular fit);
//! - whether the optimizer used all its evaluations.
//!
//! Each problem becomes a [`Message`] whose advice says what to do.

use crate::convergence_messages as msgs;
use crate::{DiagError, Message};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use serde::Serialize;
use std::collections::HashMap;

/// What the optimizer reported, plus the parameters' bounds and names.
#[derive(Clone, Debug, Default)]
pub struct ConvergenceInput {
    /// θ̂, the optimizer's answer.
    pub theta: Vec<f64>,
    /// Lower bounds of θ (0 for the diagonal of each relative covariance factor).
    pub lower: Vec<f64>,
    /// Upper bounds of θ (empty for none).
    pub upper: Vec<f64>,
    /// A readable name per parameter, e.g. `Subject: (Intercept)` (empty to use θ[i]).
    pub names: Vec<String>,
    /// Objective evaluations used.
    pub evaluations: usize,
    /// The evaluation limit, if any.
    pub max_evaluations: Option<usize>,
    /// The optimizer's name.
    pub optimizer: String,
}

/// Tolerances of the checks (lme4's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvergenceSettings {
    /// Tolerance on the (scaled) gradient: 0.002.
    pub gradient_tol: f64,
    /// A bounded parameter closer than this to its bound is on the boundary: 1e-4.
    pub boundary_tol: f64,
    /// Relative finite-difference step: 1e-4.
    pub step: f64,
    /// Largest acceptable ratio of the Hessian's extreme eigenvalues: 1e6.
    pub max_eigen_ratio: f64,
}

impl Default for ConvergenceSettings {
    fn default() -> Self {
        Self {
            gradient_tol: 2e-3,
            boundary_tol: 1e-4,
            step: 1e-4,
            max_eigen_ratio: 1e6,
        }
    }
}

/// The outcome of the convergence checks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvergenceCheck {
    /// Finite-difference gradient at θ̂ (one-sided for parameters on a bound).
    pub gradient: Vec<f64>,
    /// Indices of interior parameters (the ones the gradient and Hessian tests use).
    pub interior: Vec<usize>,
    /// `H⁻¹g` over the interior parameters, when the Hessian is positive definite.
    pub scaled_gradient: Option<Vec<f64>>,
    /// max |g| over the interior parameters (0 when there are none).
    pub gradient_max_abs: f64,
    /// lme4's criterion: max over interior i of min(|(H⁻¹g)ᵢ|, |gᵢ|).
    pub scaled_gradient_max_abs: f64,
    /// Finite-difference Hessian over the interior parameters (row-major, m × m).
    pub hessian: Vec<f64>,
    /// Eigenvalues of that Hessian, increasing.
    pub hessian_eigenvalues: Vec<f64>,
    /// The smallest eigenvalue (NaN when there are no interior parameters).
    pub hessian_min_eigenvalue: f64,
    /// Whether the interior Hessian is positive definite.
    pub positive_definite: bool,
    /// Indices of parameters on their lower bound (variance 0 or correlation ±1).
    pub boundary: Vec<usize>,
    /// Whether any bounded parameter sits on its bound (lme4's `isSingular`).
    pub singular: bool,
    /// The findings, each with advice.
    pub messages: Vec<Message>,
}

/// Run lme4-style convergence checks of `f` at `input.theta`.
///
/// `f` is evaluated at most `1 + 2n + 2m(m−1)` times for n parameters, m of them interior
/// (each distinct point once).
pub fn check_convergence<F: FnMut(&[f64]) -> f64>(
    mut raw: F,
    input: &ConvergenceInput,
    settings: &ConvergenceSettings,
) -> Result<ConvergenceCheck, DiagError> {
    validate(input)?;
    // The Hessian's diagonal needs f(θ ± hᵢeᵢ), which the gradient already computed: each
    // point is evaluated once (an evaluation costs a sparse Cholesky of the model).
    let mut cache: HashMap<Vec<u64>, f64> = HashMap::new();
    let mut f = |t: &[f64]| -> f64 {
        let key: Vec<u64> = t.iter().map(|v| v.to_bits()).collect();
        *cache.entry(key).or_insert_with(|| raw(t))
    };
    let theta = &input.theta;
    let f0 = f(theta);
    if !f0.is_finite() {
        return Err(DiagError::Invalid(format!(
            "the objective is not finite at the optimum ({f0}); the fit failed, so there is nothing to check"
        )));
    }
    let boundary = on_boundary(input, settings.boundary_tol);
    let steps: Vec<f64> = theta
        .iter()
        .map(|t| settings.step * t.abs().max(1.0))
        .collect();
    let interior: Vec<usize> = (0..theta.len())
        .filter(|&i| has_room(input, i, steps[i]) && !boundary.contains(&i))
        .collect();
    let gradient = fd_gradient(&mut f, input, f0, &steps);
    let hessian = fd_hessian(&mut f, theta, f0, &steps, &interior);
    let m = interior.len();
    let h = Mat::from_fn(m, m, |r, c| hessian[r * m + c]);
    let g_int: Vec<f64> = interior.iter().map(|&i| gradient[i]).collect();
    let eigen = h
        .self_adjoint_eigenvalues(Side::Lower)
        .unwrap_or_else(|_| vec![f64::NAN; m]);
    let positive_definite = eigen.iter().all(|&e| e > 0.0);
    let scaled_gradient = scaled(&h, &g_int, positive_definite);
    let gradient_max_abs = g_int.iter().fold(0.0f64, |a, g| a.max(g.abs()));
    let scaled_gradient_max_abs = match &scaled_gradient {
        Some(s) => s
            .iter()
            .zip(&g_int)
            .fold(0.0f64, |a, (s, g)| a.max(s.abs().min(g.abs()))),
        None => gradient_max_abs,
    };
    let mut check = ConvergenceCheck {
        gradient,
        interior,
        scaled_gradient,
        gradient_max_abs,
        scaled_gradient_max_abs,
        hessian,
        hessian_min_eigenvalue: eigen.first().copied().unwrap_or(f64::NAN),
        hessian_eigenvalues: eigen,
        positive_definite,
        singular: !boundary.is_empty(),
        boundary,
        messages: Vec::new(),
    };
    check.messages = msgs::convergence_messages(&check, input, settings);
    Ok(check)
}

fn validate(input: &ConvergenceInput) -> Result<(), DiagError> {
    let n = input.theta.len();
    crate::error::check_len("lower bounds of θ", input.lower.len(), n)?;
    if !input.upper.is_empty() {
        crate::error::check_len("upper bounds of θ", input.upper.len(), n)?;
    }
    if !input.names.is_empty() {
        crate::error::check_len("names of θ", input.names.len(), n)?;
    }
    crate::error::check_finite("θ", &input.theta)
}

fn upper(input: &ConvergenceInput, i: usize) -> f64 {
    input.upper.get(i).copied().unwrap_or(f64::INFINITY)
}

/// Parameters within `tol` of a finite bound.
fn on_boundary(input: &ConvergenceInput, tol: f64) -> Vec<usize> {
    (0..input.theta.len())
        .filter(|&i| {
            let t = input.theta[i];
            (input.lower[i].is_finite() && t - input.lower[i] < tol)
                || (upper(input, i).is_finite() && upper(input, i) - t < tol)
        })
        .collect()
}

/// Whether a central difference with step `h` stays inside the bounds.
fn has_room(input: &ConvergenceInput, i: usize, h: f64) -> bool {
    let t = input.theta[i];
    t - h >= input.lower[i] && t + h <= upper(input, i)
}

fn shifted(theta: &[f64], moves: &[(usize, f64)]) -> Vec<f64> {
    let mut t = theta.to_vec();
    for &(i, d) in moves {
        t[i] += d;
    }
    t
}

/// Central differences where there is room, one-sided (into the feasible side) elsewhere.
fn fd_gradient<F: FnMut(&[f64]) -> f64>(
    f: &mut F,
    input: &ConvergenceInput,
    f0: f64,
    steps: &[f64],
) -> Vec<f64> {
    let theta = &input.theta;
    (0..theta.len())
        .map(|i| {
            let h = steps[i];
            if has_room(input, i, h) {
                (f(&shifted(theta, &[(i, h)])) - f(&shifted(theta, &[(i, -h)]))) / (2.0 * h)
            } else if theta[i] + h <= upper(input, i) {
                (f(&shifted(theta, &[(i, h)])) - f0) / h
            } else {
                (f0 - f(&shifted(theta, &[(i, -h)]))) / h
            }
        })
        .collect()
}

/// Central-difference Hessian over `idx` (row-major, symmetric).
fn fd_hessian<F: FnMut(&[f64]) -> f64>(
    f: &mut F,
    theta: &[f64],
    f0: f64,
    steps: &[f64],
    idx: &[usize],
) -> Vec<f64> {
    let m = idx.len();
    let mut h = vec![0.0; m * m];
    for (a, &i) in idx.iter().enumerate() {
        let hi = steps[i];
        let (fp, fm) = (
            f(&shifted(theta, &[(i, hi)])),
            f(&shifted(theta, &[(i, -hi)])),
        );
        h[a * m + a] = (fp - 2.0 * f0 + fm) / (hi * hi);
        for (b, &j) in idx.iter().enumerate().take(a) {
            let hj = steps[j];
            let pp = f(&shifted(theta, &[(i, hi), (j, hj)]));
            let pm = f(&shifted(theta, &[(i, hi), (j, -hj)]));
            let mp = f(&shifted(theta, &[(i, -hi), (j, hj)]));
            let mm = f(&shifted(theta, &[(i, -hi), (j, -hj)]));
            let v = (pp - pm - mp + mm) / (4.0 * hi * hj);
            h[a * m + b] = v;
            h[b * m + a] = v;
        }
    }
    h
}

/// `H⁻¹g` by Cholesky, when H is positive definite.
fn scaled(h: &Mat<f64>, g: &[f64], positive_definite: bool) -> Option<Vec<f64>> {
    if !positive_definite || g.is_empty() {
        return None;
    }
    let llt = h.llt(Side::Lower).ok()?;
    let rhs = Mat::from_fn(g.len(), 1, |i, _| g[i]);
    let x = llt.solve(&rhs);
    Some((0..g.len()).map(|i| x[(i, 0)]).collect())
}

#[cfg(test)]
mod tests;
