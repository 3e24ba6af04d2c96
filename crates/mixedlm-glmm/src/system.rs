//! The penalized weighted least-squares (PWLS) system of one PIRLS step, the only thing
//! GLMM estimation asks of a linear-algebra engine:
//!
//! minimize |W^½ (r − X β − Z Λ(θ) u)|² + |u|² over u (β fixed, its part removed from r)
//! or over (u, β) jointly,
//!
//! for working weights W and a working response r that change at every step while the
//! structure (terms, levels, X) does not. An implementation forms the weighted
//! cross-products ([`PwlsSystem::assemble`]), factors L L' = Λ'Z'WZΛ + I (with the X
//! block when β is estimated) at θ ([`PwlsSystem::factor`]), and reads the solution, the
//! log-determinant log|L|² and the penalized weighted residual sum of squares.
//!
//! Implementations: [`super::dense::DenseSystem`] (any model, dense q × q: the oracle),
//! [`super::grouped::GroupedSystem`] (one grouping factor: independent k × k blocks per
//! level) and [`super::engine::EngineSystem`] (the LMM engine's blocked factorization).

use faer::Mat;
use std::fmt::Debug;

/// What a PWLS solve estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknowns {
    /// The spherical random effects u; β is fixed and its part X β is already removed
    /// from the response.
    Modes,
    /// u and β jointly.
    ModesAndFixed,
}

/// A PWLS system: cross-products re-formed per step, factored per θ.
pub trait PwlsSystem: Debug + Send {
    /// Form the weighted cross-products of [Z X r] (X only for
    /// [`Unknowns::ModesAndFixed`]) for working weights `weights` (≥ 0) and working
    /// response `response`, one entry per observation.
    fn assemble(&mut self, weights: &[f64], response: &[f64], unknowns: Unknowns);
    /// Factor at θ; false when the system is not numerically positive definite.
    fn factor(&mut self, theta: &[f64]) -> bool;
    /// The minimizer: u (length q) and, when β is estimated, β (length p; left alone
    /// otherwise).
    fn solve(&mut self, u: &mut [f64], beta: &mut [f64]);
    /// log |L|², L L' = Λ'Z'WZΛ + I (lme4's `ldL2`).
    fn logdet(&self) -> f64;
    /// The penalized weighted residual sum of squares at the minimizer.
    fn pwrss(&self) -> f64;
    /// (R_X' R_X)⁻¹, the unscaled covariance of β̂ given θ, when β is estimated.
    fn unscaled_vcov_beta(&self) -> Option<Mat<f64>>;
    /// The conditional covariances Var(b_g | y) = T V_g T' (σ = 1), V_g the diagonal
    /// blocks of (L L')⁻¹ at the last factor's θ, β fixed as in lme4's `condVar`: per
    /// term (lme4's order), per level, k × k column-major.
    fn conditional_covariances(&self) -> Vec<Vec<f64>>;
}
