//! The integration tests of `mixedlm-optim`, in one test binary: each module was a separate
//! `tests/*.rs` file, a binary of its own that linked the whole dependency tree.
//! Run one module with a filter:
//! `cargo test -p mixedlm-optim --test integration sleepstudy_lmm::`.

mod polish;
mod sleepstudy_lmm;
mod solvers;
