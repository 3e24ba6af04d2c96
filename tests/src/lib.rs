//! Test support for the mixedlm workspace: a seeded simulator of hierarchical
//! data from known parameters, and proptest strategies on top of it.
//!
//! The simulator draws random intercepts and slopes with a chosen covariance,
//! nested and crossed grouping factors, unbalanced (incl. power-law) group
//! sizes, numeric and categorical covariates; it writes Arrow record batches,
//! CSV and Parquet. Same seed, same data (for a given `rand` version).
//! This package depends on the `mixedlm` facade only; the integration tests
//! in `tests/tests/` use it together with this support code.
#![warn(missing_docs)]

pub mod big;
pub mod layout;
pub mod output;
pub mod scenarios;
pub mod sim;
pub mod strategies;
pub mod transform;

pub use layout::{CrossedFactor, GroupSizes, Layout};
pub use output::OutputError;
pub use sim::{
    Column, Covariate, FixedTerm, RandomColumn, RandomSpec, SimData, SimSpec, Truth, Values,
};
pub use transform::{all_close, close};
