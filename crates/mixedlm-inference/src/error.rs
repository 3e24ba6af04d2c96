//! Errors of the inference module.

use thiserror::Error;

/// What can go wrong in inference, each with what to do about it.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InferenceError {
    /// θ has the wrong length.
    #[error("θ has {got} values but the model has {expected}: pass the fitted θ of this model")]
    ThetaLength {
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// A matrix that must be positive definite is not.
    #[error("{what} is not positive definite: the model is rank deficient or the parameters are degenerate; check for aliased fixed effects")]
    NotPositiveDefinite {
        /// Which matrix.
        what: &'static str,
    },
    /// The design has no random effects, or too few observations.
    #[error("invalid model for inference: {0}")]
    InvalidModel(String),
    /// Inputs of mismatched sizes.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    Dimension {
        /// What was being checked.
        what: &'static str,
        /// Expected size.
        expected: usize,
        /// Given size.
        got: usize,
    },
    /// A new-data row refers to a grouping level the model has not seen and the caller asked
    /// for an error.
    #[error("row {row}: level `{level}` of `{group}` was not in the fitted data; use NewLevelPolicy::Population to predict at the population level")]
    UnseenLevel {
        /// Row of the new data.
        row: usize,
        /// Grouping factor.
        group: String,
        /// The unseen level.
        level: String,
    },
    /// A parameter name is not known.
    #[error("unknown parameter `{0}`: use the names of confint(oldNames = FALSE), e.g. `sd_(Intercept)|Subject`, `sigma`, `(Intercept)`")]
    UnknownParameter(String),
    /// A numerical procedure failed.
    #[error("{0}")]
    Numerical(String),
    /// A bootstrap refit failed.
    #[error("bootstrap refit failed: {0}")]
    Refit(String),
    /// The models of a likelihood-ratio test are not comparable.
    #[error("likelihood-ratio test: {0}")]
    Lrt(String),
}
