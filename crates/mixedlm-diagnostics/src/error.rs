//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong while computing diagnostics. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    /// Two inputs that must have the same length do not.
    #[error("{what}: expected {expected} values but got {got}; pass one value per observation")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// The expected length.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// Too few values for the requested statistic.
    #[error("{what} needs at least {min} finite values but got {got}")]
    TooFewValues {
        /// Which statistic.
        what: &'static str,
        /// The minimum.
        min: usize,
        /// The number received.
        got: usize,
    },
    /// A value that must be finite is not.
    #[error("{what} contains a non-finite value (NaN or infinite) at position {index}; remove or impute it first")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// The first offending position.
        index: usize,
    },
    /// All values are identical, so the statistic is undefined.
    #[error("{what}: all values are identical, so the statistic is undefined")]
    Constant {
        /// Which statistic.
        what: &'static str,
    },
    /// An input is invalid for another reason.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The covariance matrix of the fixed effects is not positive definite.
    #[error("the covariance matrix of the fixed effects is not positive definite; check the fit for rank deficiency")]
    NotPositiveDefinite,
    /// Writing a plot failed.
    #[error("could not write plot {}: {message}; check that the directory exists and is writable", path.display())]
    Plot {
        /// The file being written.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
    /// Creating the output directory failed.
    #[error("could not create directory {}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bundled font could not be loaded (should never happen).
    #[error("the bundled DejaVu Sans font could not be registered with plotters")]
    Font,
}

/// Check that `values` has `expected` entries.
pub(crate) fn check_len(
    what: &'static str,
    values: usize,
    expected: usize,
) -> Result<(), DiagError> {
    if values == expected {
        Ok(())
    } else {
        Err(DiagError::LengthMismatch {
            what,
            expected,
            got: values,
        })
    }
}

/// Check that every value is finite.
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<(), DiagError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(DiagError::NonFinite { what, index }),
        None => Ok(()),
    }
}
