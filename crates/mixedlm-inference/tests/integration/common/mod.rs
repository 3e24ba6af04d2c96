//! Test support: the reference models of the shared table (`mixedlm-fixtures`), by name,
//! and small readers of their results.
#![allow(dead_code)]

use mixedlm_design::Design;
pub use mixedlm_fixtures::{design, json};
use serde_json::Value;

/// The design of reference model `name`, built from its formula.
pub fn reference_design(name: &str) -> Design {
    mixedlm_fixtures::reference(name).design()
}

/// lme4's result of reference model `name` (REML or ML).
pub fn result(name: &str, reml: bool) -> Value {
    mixedlm_fixtures::reference(name).result(reml)
}

/// The lme4, lmerTest and pbkrtest inference results.
pub fn inference_reference() -> Value {
    json("inference_lme4.json")
}

/// θ of a reference fit.
pub fn theta(v: &Value) -> Vec<f64> {
    mixedlm_fixtures::numbers(&v["theta"])
}

/// A per-fixed-effect field (`satterthwaite_df`, …) in X's column order.
pub fn by_name(v: &Value, field: &str, names: &[String]) -> Vec<f64> {
    names
        .iter()
        .map(|n| v[field][n].as_f64().unwrap())
        .collect()
}

pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}
