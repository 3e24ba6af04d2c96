//! PIRLS's limits and the ways it can fail, shared by the global iteration
//! (`super::pirls`) and the level-by-level one (`super::onefactor`).

/// Largest number of PIRLS iterations.
pub const MAX_ITERATIONS: usize = 100;

/// Step halvings tried before a step is declared failed (lme4: 10).
pub const MAX_HALVINGS: usize = 10;

/// PIRLS stops when no coordinate of (u, β) moves more than this (u is on the N(0, 1)
/// scale; β's scale is the data's).
pub const STEP_TOL: f64 = 1e-10;

/// Why PIRLS stopped without converging.
#[derive(Debug, Clone, PartialEq)]
pub enum PirlsFailure {
    /// The PWLS system was not positive definite (the fixed effects' weighted cross-products
    /// singular: fitted means at their limits).
    NotPositiveDefinite,
    /// Ten step halvings did not reduce the penalized deviance.
    StepHalving {
        /// The penalized deviance before the step.
        before: f64,
    },
    /// The iteration limit was reached.
    NotConverged {
        /// The last change of the penalized deviance.
        change: f64,
    },
}

impl std::fmt::Display for PirlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PirlsFailure::NotPositiveDefinite => {
                f.write_str("the weighted least-squares system was not positive definite")
            }
            PirlsFailure::StepHalving { before } => write!(
                f,
                "{MAX_HALVINGS} step halvings failed to reduce the penalized deviance {before}"
            ),
            PirlsFailure::NotConverged { change } => write!(
                f,
                "no convergence in {MAX_ITERATIONS} iterations (last change {change:.3e})"
            ),
        }
    }
}
