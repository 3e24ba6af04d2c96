//! mixedlm-design: from an Arrow `RecordBatch` and a parsed formula to y, X and the
//! random-effects terms, plus readers for CSV, Parquet and Arrow IPC.
//!
//! Depends on `mixedlm-formula` and Arrow; knows nothing of faer or of fitting.
//!
//! Building a design: [`DesignBuilder::new`] (lme4 formula) or [`build_statsmodels`]
//! (statsmodels' `groups=` / `re_formula=` / `vc_formula=` idiom), then
//! [`DesignBuilder::build`] gives the [`Design`] (what the engine consumes) and the
//! [`DesignSpec`] (the learned coding: factor levels, contrasts, `poly` coefficients,
//! `scale` moments, grouping levels) whose [`DesignSpec::apply`] rebuilds X and Z on new data.
//!
//! Coding follows R's `model.matrix` as lme4 uses it: column names (`(Intercept)`, `SexMale`,
//! `recipeB:temp`, `I(Days^2)`, `poly(x, 2)1`), treatment contrasts with the first sorted
//! level as reference, full indicator coding where R uses it (no intercept, interaction
//! without its main effect), interaction columns with the first factor varying fastest.
#![warn(missing_docs)]

mod alias;
mod batches;
mod builder;
mod coding;
mod data;
mod design;
mod error;
mod eval;
mod far;
mod grouping;
mod label;
mod limits;
mod matrix;
mod poly;
mod rows;
mod spec;
mod statsmodels;
mod stream;

pub use alias::{aliased_columns, dot, drop_columns, RANK_TOL};
pub use batches::{open_batches, BatchReader, CSV_SAMPLE_BYTES, DEFAULT_BATCH_ROWS};
pub use builder::{AliasPolicy, DesignBuilder, RandomPlan};
pub use design::*;
pub use error::DesignError;
pub use eval::{Learned, Params};
pub use far::{far_mean, SHIFT_FROM_SD};
pub use label::label as variable_label;
pub use limits::{available_memory, memory_budget};
pub use poly::{poly_eval, poly_fit, PolyCoefs};
pub use rows::MissingPolicy;
pub use spec::{DesignSpec, NewData, NewRandomTerm, RandomSpec};
pub use statsmodels::build_statsmodels;
pub use stream::{BatchDesigner, LevelScan};
mod io;
pub use io::*;
