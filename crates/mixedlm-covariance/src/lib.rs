//! mixedlm-covariance: covariance structures of the random effects.
//!
//! A random-effects term with k effects per level has covariance σ² T T', with T a k×k
//! lower-triangular *relative covariance factor*. A [`CovarianceStructure`] maps the
//! term's parameters θ to T, gives bounds and starting values, and converts to variances,
//! standard deviations and correlations. Depends on faer only.

use faer::MatMut;
use std::fmt::Debug;

/// A covariance structure for one random-effects term: θ ↔ T.
///
/// Implement this trait to add a structure (compound symmetry, AR(1), ...) without the
/// engine changing: the engine only calls these methods.
pub trait CovarianceStructure: Debug + Send + Sync {
    /// A short name (`unstructured`, `diagonal`, `scalar`).
    fn name(&self) -> &'static str;
    /// k: the number of random effects per level.
    fn dim(&self) -> usize;
    /// The number of parameters θ of this structure.
    fn n_theta(&self) -> usize;
    /// Lower bounds of θ (0 for diagonal entries of T, -inf otherwise).
    fn lower_bounds(&self) -> Vec<f64>;
    /// Starting values of θ (T = I, as lme4).
    fn initial_theta(&self) -> Vec<f64>;
    /// Write T (k×k, lower triangular, upper triangle set to zero) for the given θ.
    fn fill_factor(&self, theta: &[f64], t: MatMut<'_, f64>);
    /// Write ∂T/∂θ_i (k×k) for parameter `i`. T is linear in θ for the built-in structures.
    fn fill_factor_derivative(&self, i: usize, theta: &[f64], dt: MatMut<'_, f64>);
}
