//! The integration tests of `mixedlm-diagnostics`, in one test binary: each module was a separate
//! `tests/*.rs` file, a binary of its own that linked the whole dependency tree.
//! Run one module with a filter:
//! `cargo test -p mixedlm-diagnostics --test integration checks::`.

mod common;

mod checks;
mod engine;
mod plots;
