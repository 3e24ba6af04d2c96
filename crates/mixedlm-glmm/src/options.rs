//! The settings of a GLMM fit and what its two stages leave for the results.

use super::derivs::Derivatives;
use mixedlm_optim::OptimRecord;

/// Settings of [`GlmmModel::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct GlmmOptions {
    /// Quadrature points: 0 (fast: β from PIRLS), 1 (Laplace, the default) or 2..=25
    /// (adaptive Gauss-Hermite, one scalar random-effects term only).
    pub nagq: usize,
    /// Objective evaluations allowed per stage.
    pub max_evaluations: usize,
    /// BOBYQA's final trust-region radius in stage 2 (θ, and β in standard errors).
    pub final_step: f64,
    /// Compute the finite-difference Hessian (Var(β̂) as lme4, convergence checks).
    pub derivatives: bool,
    /// Compute the conditional SDs of the random effects.
    pub cond_var: bool,
}

impl Default for GlmmOptions {
    fn default() -> Self {
        GlmmOptions {
            nagq: 1,
            max_evaluations: 10_000,
            final_step: 1e-6,
            derivatives: true,
            cond_var: true,
        }
    }
}

/// What the two stages left: records and the optimum.
pub(crate) struct Stages {
    pub stage1: OptimRecord,
    pub stage2: Option<OptimRecord>,
    pub theta: Vec<f64>,
    pub beta: Vec<f64>,
    pub objective: f64,
    pub derivs: Option<Derivatives>,
    /// Var(β̂) from the RX factor at the optimum (always) ...
    pub vcov_rx: Vec<f64>,
}
