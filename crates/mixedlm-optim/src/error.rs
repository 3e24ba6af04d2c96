//! Typed errors of the optimizer layer: invalid input only; non-convergence is reported
//! in [`crate::OptimRecord`].

use thiserror::Error;

/// Invalid input to [`crate::minimize`] or [`crate::OptimOptionsBuilder::build`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OptimError {
    /// An unknown optimizer name.
    #[error("unknown optimizer '{0}'; valid names are bobyqa, bfgs, nelder-mead, powell")]
    UnknownOptimizer(String),
    /// A vector has the wrong length.
    #[error("{what} has {got} entries but the objective has {expected} parameters; pass one value per parameter")]
    Dimension {
        /// Which vector (`x0`, `lower`, `upper`).
        what: &'static str,
        /// The objective's dimension.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A bound pair is NaN or crossed.
    #[error("bounds of parameter {index} are invalid (lower {lower}, upper {upper}); use lower <= upper and no NaN (infinite bounds mean unbounded)")]
    InvalidBounds {
        /// The parameter.
        index: usize,
        /// Its lower bound.
        lower: f64,
        /// Its upper bound.
        upper: f64,
    },
    /// The starting point is outside the bounds or not finite.
    #[error("start value x0[{index}] = {value} is not finite or lies outside [{lower}, {upper}]; start inside the bounds")]
    StartOutsideBounds {
        /// The parameter.
        index: usize,
        /// The start value `x0[index]`.
        value: f64,
        /// Its lower bound.
        lower: f64,
        /// Its upper bound.
        upper: f64,
    },
    /// The objective is not finite at the start.
    #[error("the objective is {value} at the starting point; choose a start where it is finite")]
    NonFiniteStart {
        /// The value there.
        value: f64,
    },
    /// A tuning option is out of range.
    #[error("option {name} = {value} is invalid: {remedy}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// Its value, as text.
        value: String,
        /// What to do instead.
        remedy: &'static str,
    },
}
