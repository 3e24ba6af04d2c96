//! Typed errors of GLMM fitting. Every message says what to do.

use mixedlm_model::ModelError;
use thiserror::Error;

/// Why a generalized linear mixed model could not be built or fitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GlmmError {
    /// The model structure is invalid (no random term, one-level factor, NaN ...).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A response value the family cannot take.
    #[error("the {family} response at row {row} is {value}: {advice}")]
    BadResponse {
        /// The family.
        family: &'static str,
        /// The (used) row.
        row: usize,
        /// The offending value.
        value: f64,
        /// What the family needs and what to do.
        advice: String,
    },
    /// A prior weight that is negative or not finite.
    #[error("the prior weight at row {row} is {value}; weights must be finite and >= 0 (for a binomial proportion they are the numbers of trials)")]
    BadWeight {
        /// The (used) row.
        row: usize,
        /// The offending weight.
        value: f64,
    },
    /// Every observation has weight zero.
    #[error("every observation has prior weight 0 (no trials); there is nothing to fit")]
    NoInformation,
    /// The family and link do not go together, or are unknown.
    #[error("{0}")]
    Family(String),
    /// Adaptive quadrature asked for a model it does not apply to.
    #[error("adaptive Gauss-Hermite quadrature (nAGQ = {nagq}) needs a single random-effects term with one effect per level, e.g. (1 | group); {why}. Use nAGQ = 1 (the Laplace approximation) for this model")]
    QuadratureNeedsScalarTerm {
        /// The requested number of points.
        nagq: usize,
        /// What the model has instead.
        why: String,
    },
    /// nAGQ outside 0..=25.
    #[error("nAGQ = {0} is not supported: use 0 (fast, fixed effects from PIRLS), 1 (Laplace, the default) or 2..=25 quadrature points")]
    BadQuadrature(usize),
    /// The penalized iteratively reweighted least squares did not converge at the start.
    #[error("the penalized iteratively reweighted least squares (PIRLS) did not converge at the starting values ({0}); check the response for extreme values, rescale the predictors, or simplify the model")]
    PirlsFailed(String),
    /// The optimizer could not run.
    #[error("the optimizer failed: {0}")]
    Optimizer(String),
}
