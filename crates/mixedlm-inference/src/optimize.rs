//! Small wrappers around `mixedlm-optim` for the refits inference needs (ML refits,
//! profile points).

use crate::dense::{pieces_from_crossprod, DenseLmm};
use crate::error::InferenceError;
use crate::varpar::profiled_deviance;
use faer::Mat;
use mixedlm_optim::{minimize, Objective, OptimOptions};

/// A closure as an [`Objective`].
struct FnObjective<F> {
    dim: usize,
    f: F,
}

impl<F: FnMut(&[f64]) -> f64> Objective for FnObjective<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        (self.f)(x)
    }
}

/// Minimize `f` over the box [lower, upper] from `x0` with BOBYQA (coordinates with
/// lower == upper are held fixed). Returns the optimum and its value.
pub(super) fn minimize_box<F: FnMut(&[f64]) -> f64>(
    f: F,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
) -> Result<(Vec<f64>, f64), InferenceError> {
    let opts = OptimOptions {
        lower: lower.to_vec(),
        upper: upper.to_vec(),
        final_step: 1e-8,
        ..OptimOptions::default()
    };
    let mut obj = FnObjective { dim: x0.len(), f };
    let rec = minimize(&mut obj, x0, &opts)
        .map_err(|e| InferenceError::Numerical(format!("optimizer: {e}")))?;
    Ok((rec.theta, rec.objective))
}

/// The profiled criterion at θ for a cross-product (non-finite where Cholesky fails).
pub(super) fn criterion(
    model: &DenseLmm,
    a: &Mat<f64>,
    p: usize,
    theta: &[f64],
    reml: bool,
) -> f64 {
    let Ok(lambda) = model.lambda_op(theta) else {
        return f64::INFINITY;
    };
    match pieces_from_crossprod(a, model.n_random(), p, &lambda) {
        Ok(pc) => profiled_deviance(&pc, model.n_obs(), p, reml),
        Err(_) => f64::INFINITY,
    }
}

/// Fit θ for a cross-product with `p` fixed effects (the model's own, or one with a fixed
/// effect held at a value), from `start`. Returns θ̂ and the criterion there.
pub(super) fn fit_theta(
    model: &DenseLmm,
    a: &Mat<f64>,
    p: usize,
    start: &[f64],
    reml: bool,
) -> Result<(Vec<f64>, f64), InferenceError> {
    let lower = model.lower_bounds();
    let upper = vec![f64::INFINITY; lower.len()];
    let x0: Vec<f64> = start.iter().zip(&lower).map(|(s, l)| s.max(*l)).collect();
    minimize_box(|th| criterion(model, a, p, th, reml), &x0, &lower, &upper)
}

impl DenseLmm {
    /// Fit θ by minimizing the model's criterion (REML or ML) from `start` with BOBYQA.
    /// Meant for inference refits on small models; fitting proper is the engine's job.
    pub fn fit_theta(&self, start: &[f64]) -> Result<(Vec<f64>, f64), InferenceError> {
        fit_theta(self, self.crossprod(), self.n_fixed(), start, self.reml())
    }
}
