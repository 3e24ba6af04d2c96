//! The integration tests of `mixedlm-formula`, in one test binary: each module was a separate
//! `tests/*.rs` file, a binary of its own that linked the whole dependency tree.
//! Run one module with a filter:
//! `cargo test -p mixedlm-formula --test integration errors::`.

mod errors;
mod expand;
mod glmm_syntax;
mod prop;
