//! Typed errors of the covariance layer.

use thiserror::Error;

/// What can go wrong converting between θ, T and covariance matrices.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CovarianceError {
    /// θ has the wrong number of entries.
    #[error("the {structure} structure needs {expected} theta values but got {got}; pass one value per parameter (see n_theta)")]
    ThetaLength {
        /// The structure's name.
        structure: &'static str,
        /// Its number of parameters.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// θ contains NaN or an infinity.
    #[error("theta[{index}] is not finite; pass finite parameter values")]
    NonFiniteTheta {
        /// The offending position.
        index: usize,
    },
    /// A matrix is not k×k.
    #[error("expected a {expected}x{expected} matrix but got {rows}x{cols}; pass one row and column per random effect")]
    Shape {
        /// k.
        expected: usize,
        /// Rows given.
        rows: usize,
        /// Columns given.
        cols: usize,
    },
    /// The wrong number of effect names.
    #[error("expected {expected} effect names but got {got}; pass one name per random effect")]
    NamesLength {
        /// k.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// σ is not a positive finite number.
    #[error(
        "sigma = {sigma} is not a positive finite number; pass the residual standard deviation"
    )]
    InvalidSigma {
        /// The value given.
        sigma: f64,
    },
    /// The covariance matrix is not symmetric positive semi-definite.
    #[error("the covariance matrix is not symmetric positive semi-definite ({reason}); pass a valid covariance matrix")]
    NotPositiveSemidefinite {
        /// What failed.
        reason: String,
    },
    /// The factor has entries the structure cannot produce.
    #[error("the {structure} structure cannot represent this matrix (entry ({row}, {col}) differs by {diff:e}); use the unstructured structure or a matrix of this shape")]
    NotRepresentable {
        /// The structure's name.
        structure: &'static str,
        /// Row of the worst entry.
        row: usize,
        /// Column of the worst entry.
        col: usize,
        /// Its absolute difference.
        diff: f64,
    },
    /// An unknown covariance kind name.
    #[error("unknown covariance structure '{0}'; valid names are unstructured, diagonal, scalar")]
    UnknownKind(String),
}
