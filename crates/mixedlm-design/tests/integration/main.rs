//! The integration tests of `mixedlm-design`, in one test binary: each module was a separate
//! `tests/*.rs` file, a binary of its own that linked the whole dependency tree.
//! Run one module with a filter:
//! `cargo test -p mixedlm-design --test integration coding_rules::`.

mod support;

mod coding_rules;
mod errors_and_missing;
mod glmm_response;
mod io_read;
mod reference_lme4;
mod statsmodels_and_spec;
mod timing;
mod trust;
