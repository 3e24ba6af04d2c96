//! Test support: the reference models of the shared table (`mixedlm-fixtures`), by name.
#![allow(dead_code)]

use mixedlm_design::Design;
#[allow(unused_imports)]
pub use mixedlm_fixtures::{assert_close, assert_rel, numbers, reference};
use serde_json::Value;

/// The design of reference model `name`, built from its formula.
pub fn model_design(name: &str) -> Design {
    reference(name).design()
}

/// lme4's result of reference model `name` (REML or ML).
pub fn result(name: &str, reml: bool) -> Value {
    reference(name).result(reml)
}
