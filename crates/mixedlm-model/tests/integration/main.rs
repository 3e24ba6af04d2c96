//! The integration tests of `mixedlm-model`, in one test binary: each module was a separate
//! `tests/*.rs` file, a binary of its own that linked the whole dependency tree.
//! Run one module with a filter:
//! `cargo test -p mixedlm-model --test integration deviance::`.
//! `no_alloc` stays a binary of its own (its counting global allocator must not see other
//! tests' allocations) and shares `../common` with this one.
//!
//! The lme4 reference tests, with the InstEval ones (ignored by default), in release:
//! `cargo test --release -p mixedlm-model --test integration -- --include-ignored
//! deviance:: fit:: sparse::` (formerly `--test deviance --test fit --test sparse`).

#[path = "../common/mod.rs"]
mod common;

mod deviance;
mod fit;
mod nested;
mod pwls;
mod results;
mod rows;
mod sparse;
mod sparse_paths;
mod start;
mod timing;
mod weights_offset;
