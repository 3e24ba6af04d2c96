//! mixedlm-model: the linear mixed-model engine.
//!
//! A [`LinearMixedModel`] is built once from a [`mixedlm_design::Design`]: the data enter
//! through cross-products formed in one pass over the rows (`mixedlm-crossprod`), and every evaluation of the
//! profiled REML criterion or ML deviance at θ ([`LinearMixedModel::objective`]) is a
//! blocked Cholesky factorization whose cost does not depend on the number of
//! observations and which allocates nothing (see `docs/MATH.md`).
//!
//! [`LinearMixedModel::fit`] minimizes the objective over θ with a solver of
//! `mixedlm-optim` and returns an [`LmmFit`] (plain data, serializable).
//!
//! θ order: the random-effects terms are ordered as lme4 orders them (by decreasing
//! number of levels, see [`terms`]), so θ is exactly lme4's `getME(fit, "theta")`.
#![warn(missing_docs)]

mod active_wait;
mod best_factor;
mod estimates;
mod factor;
mod fit;
mod from_sums;
mod gradient;
mod kernels;
mod model;
mod pwls;
mod results;
mod start;

// The data side (terms, rows, cross-products, streamed sums) is the layer below, read
// under these paths inside the engine.
pub use mixedlm_crossprod::terms;
use mixedlm_crossprod::{crossprod, rows, shift};

/// Kernels on the small k×k blocks of a grouping factor's levels (column-major, k the
/// number of random effects per level), for layers that factor such blocks themselves:
/// the GLMM's PIRLS for one grouping factor.
pub mod level_blocks {
    pub use crate::kernels::{chol, congruence, lower_inverse, lower_times, solve_lower_t};
}

pub use fit::{FitOptions, ProfiledObjective};
pub use mixedlm_crossprod::ModelError;
pub use mixedlm_crossprod::{CrossProductSums, SumsRecordError, SUMS_FORMAT_VERSION};
pub use mixedlm_optim::{OptimRecord, OptimizerName};
pub use model::{LinearMixedModel, ModelOptions};
pub use results::{Criterion, GroupCount, LmmFit, PerLevel, TermFit, SINGULAR_TOL};
