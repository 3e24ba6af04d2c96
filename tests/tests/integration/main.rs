//! The integration tests of `mixedlm-tests`, in one test binary: each module was a separate
//! `tests/*.rs` file, a binary of its own that linked the whole dependency tree.
//! Run one module with a filter:
//! `cargo test -p mixedlm-tests --test integration idioms_reference::`.

mod fuzz;
mod glmm_coverage;
mod glmm_properties;
mod glmm_reference;
mod idioms_reference;
mod optimizers_reference;
mod prop_equivalence;
mod prop_equivariance;
mod prop_invariance;
mod prop_optimality;
mod prop_recovery;
mod prop_robustness;
mod sim_generator;
