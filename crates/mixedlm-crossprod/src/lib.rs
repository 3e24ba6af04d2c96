//! mixedlm-crossprod: the data side of the linear mixed-model engine.
//!
//! Everything the engine reads from the rows, it reads once, here: the random-effects
//! [`terms`] in lme4's order, the rows as the cross-products see them ([`Rows`]: weighted,
//! offset, shifted by [`Shift`] so that far-from-zero columns do not cancel), and the
//! cross-products themselves ([`CrossProducts`]: D = Z₁'Z₁ block diagonal, B = R'Z₁, C =
//! R'R), formed in one pass over the rows or accumulated batch by batch and merged by
//! addition ([`CrossProductSums`], with a versioned byte record for other processes and
//! machines). None of it depends on θ: `mixedlm-model` factors these cross-products at
//! each θ and never reads a row during an evaluation (see `docs/MATH.md`).
#![warn(missing_docs)]

pub mod crossprod;
mod error;
pub mod rows;
pub mod shift;
pub mod sums;
pub mod terms;

pub use crossprod::{CrossProducts, PARALLEL_ROWS};
pub use error::ModelError;
pub use rows::{check_finite, Rows};
pub use shift::Shift;
pub use sums::record::SUMS_FORMAT_VERSION;
pub use sums::{CrossProductSums, SumsModelParts, SumsRecordError};
pub use terms::{build_terms, build_terms_with, lme4_order, Term};

/// The widest dense block C = R'R the engine forms: the columns of the random-effects
/// terms after the first, plus X and y.
pub const MAX_DENSE_COLUMNS: usize = 20_000;
