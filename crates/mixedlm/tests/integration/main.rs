//! The integration tests of `mixedlm`, in one test binary: each module was a separate
//! `tests/*.rs` file, a binary of its own that linked the whole dependency tree.
//! Run one module with a filter:
//! `cargo test -p mixedlm --test integration diagnostics::`.

mod diagnostics;
mod distributed;
mod facade;
mod glmm_separation;
mod inference;
mod streaming;
mod summary;
mod trust;
