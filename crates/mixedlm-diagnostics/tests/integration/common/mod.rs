//! Test support: the shared fixtures (`mixedlm-fixtures`) and readers of lme4's results.
#![allow(dead_code)]

use std::path::PathBuf;

pub use mixedlm_fixtures::{data, factor, numbers, numeric};

/// lme4's result of reference model `name` (REML or ML).
pub fn result(name: &str, reml: bool) -> serde_json::Value {
    mixedlm_fixtures::reference(name).result(reml)
}

/// Strings of a JSON array.
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_string())
        .collect()
}

/// Where tests leave plots for a human to look at.
pub fn plot_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("diagnostics-plots")
        .join(name)
}

/// lme4's conditional modes of one (factor, term) in the reference's level order:
/// (levels, condval, condsd).
pub fn ranef(
    reference: &serde_json::Value,
    group: &str,
    term: &str,
) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let r = &reference["ranef"];
    let (g, t, lv) = (
        strings(&r["grpvar"]),
        strings(&r["term"]),
        strings(&r["grp"]),
    );
    let (cv, cs) = (numbers(&r["condval"]), numbers(&r["condsd"]));
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..g.len() {
        if g[i] == group && t[i] == term {
            out.0.push(lv[i].clone());
            out.1.push(cv[i]);
            out.2.push(cs[i]);
        }
    }
    out
}
