//! Typed errors of the engine. Every message says what to do about it.

use thiserror::Error;

/// Why a model could not be built, evaluated or fitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// The design has no random-effects term.
    #[error("the formula has no random-effects term; add one such as `(1 | group)`, or fit a plain linear model instead")]
    NoRandomTerms,
    /// A grouping factor has fewer than two levels.
    #[error("grouping factor `{group}` has {levels} level(s); a random effect needs at least 2 levels: remove the term or use a factor with more levels")]
    TooFewLevels {
        /// The grouping factor.
        group: String,
        /// Its number of levels.
        levels: usize,
    },
    /// A grouping factor has as many levels as there are observations (or more).
    #[error("grouping factor `{group}` has {levels} levels for {n} observations; the random effect would be confounded with the residual: remove the term or use a coarser grouping")]
    TooManyLevels {
        /// The grouping factor.
        group: String,
        /// Its number of levels.
        levels: usize,
        /// The number of observations.
        n: usize,
    },
    /// More random effects than observations in one term.
    #[error("term `(... | {group})` has {q} random effects for {n} observations; simplify the random-effects term (fewer columns or a coarser grouping)")]
    TooManyRandomEffects {
        /// The grouping factor.
        group: String,
        /// levels × columns of the term.
        q: usize,
        /// The number of observations.
        n: usize,
    },
    /// Not more observations than fixed-effects columns.
    #[error("{n} observations for {p} fixed-effects columns; need more observations than fixed effects: simplify the fixed-effects part of the formula")]
    TooFewObservations {
        /// Number of observations.
        n: usize,
        /// Number of fixed-effects columns.
        p: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what} has a non-finite value (NaN or infinite) at row {row}; remove or impute missing values before fitting")]
    NonFinite {
        /// Which input (`response`, `X column 2`, `weights` ...).
        what: String,
        /// The (used) row index.
        row: usize,
    },
    /// A prior weight is zero or negative.
    #[error("prior weight at row {row} is {value}; weights must be positive: drop rows with zero weight before fitting")]
    NonPositiveWeight {
        /// The (used) row index.
        row: usize,
        /// The offending weight.
        value: f64,
    },
    /// Inconsistent lengths inside the design.
    #[error("inconsistent design: {what} has length {found}, expected {expected}; rebuild the design from one data frame")]
    DimensionMismatch {
        /// What is inconsistent.
        what: String,
        /// Expected length.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A level code points outside the level list.
    #[error("grouping factor `{group}`: row {row} has level code {code} but only {levels} levels exist; rebuild the design")]
    BadLevelCode {
        /// The grouping factor.
        group: String,
        /// The row.
        row: usize,
        /// The code found.
        code: u32,
        /// Number of levels.
        levels: usize,
    },
    /// The dense part of the system (all terms but the largest, plus X and y) would be too large.
    #[error("the random-effects terms after the largest one have {columns} columns in total, more than the supported {limit}; put the factor with most levels first is automatic, so reduce the number of levels of the other crossed factors")]
    TooLarge {
        /// Columns of the dense part.
        columns: usize,
        /// The supported maximum.
        limit: usize,
    },
    /// A θ vector of the wrong length.
    #[error("θ has length {found}, the model has {expected} covariance parameters; pass one value per parameter (see `n_theta`)")]
    ThetaLength {
        /// Expected length.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// The system is not positive definite at θ (e.g. X is rank deficient).
    #[error("the penalized system is not positive definite at θ = {theta:?}; check X for collinear columns or rescale the covariates")]
    NotPositiveDefinite {
        /// The θ at which it failed.
        theta: Vec<f64>,
    },
    /// The optimizer failed.
    #[error("the optimizer failed: {0}; try another optimizer (`optimizer = \"nelder-mead\"` / `\"bobyqa\"`) or rescale the covariates")]
    Optimizer(String),
    /// The model was built from sufficient statistics (a streamed fit) and the operation
    /// needs the rows.
    #[error("{what} needs the data rows, but this model was fitted from accumulated cross-products (a streamed fit); fit in memory (without --stream) for it")]
    RowsUnavailable {
        /// The operation.
        what: String,
    },
    /// Two sets of sufficient statistics of different models (or codings) were merged or
    /// a batch design does not match the statistics.
    #[error("cannot combine these cross-products: {what} differ; accumulate batches built with the same formula and the same frozen levels (one BatchDesigner)")]
    StatsMismatch {
        /// What differs.
        what: String,
    },
}
