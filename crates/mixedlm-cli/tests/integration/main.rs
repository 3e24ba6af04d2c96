//! The integration tests of `mixedlm-cli`, in one test binary: each module was a separate
//! `tests/*.rs` file, a binary of its own that linked the whole dependency tree.
//! Run one module with a filter:
//! `cargo test -p mixedlm-cli --test integration cli_design::`.

mod common;

mod cli_design;
mod cli_diagnostics;
mod cli_fit;
mod cli_glmm;
mod cli_inference;
mod cli_stream;
mod errors;
mod trust;
