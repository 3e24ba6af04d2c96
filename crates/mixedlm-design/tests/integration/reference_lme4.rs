//! The 8 designs of `tests/data/reference/design_lme4.json` (lme4's `lFormula`), rebuilt.
//!
//! Column names must match exactly; X's first rows to 1e-12 (relative to max(1, |value|));
//! y's first rows likewise (the JSON holds 15 significant digits). Formulas are parsed from
//! the JSON's text by `mixedlm_formula::parse_formula`.

use crate::support::*;
use mixedlm_design::{Design, DesignBuilder};
use mixedlm_formula::parse_formula;
use serde_json::Value;

fn reference(formula: &str) -> Value {
    let all: Value = mixedlm_fixtures::json("design_lme4.json");
    all.as_array()
        .unwrap()
        .iter()
        .find(|e| e["formula"] == formula)
        .cloned()
        .unwrap()
}

/// A JSON string or array of strings (R's auto_unbox writes length-1 vectors as scalars).
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        _ => panic!("not strings: {v}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn check(dataset: &str, formula_text: &str) -> Design {
    let r = reference(formula_text);
    assert_eq!(r["dataset"], dataset);
    let f = parse_formula(formula_text).unwrap();
    let (d, _) = DesignBuilder::new(&f).build(&load(dataset)).unwrap();
    assert_eq!(d.x_names, strings(&r["x_columns"]), "x columns");
    for (i, row) in r["x_head"].as_array().unwrap().iter().enumerate() {
        for (j, v) in row.as_array().unwrap().iter().enumerate() {
            let (got, want) = (d.x.get(i, j), v.as_f64().unwrap());
            assert!(close(got, want), "X[{i},{j}] = {got}, lme4 {want}");
        }
    }
    for (i, v) in r["y_head"].as_array().unwrap().iter().enumerate() {
        assert!(close(d.y[i], v.as_f64().unwrap()), "y[{i}] = {}", d.y[i]);
    }
    let re_terms = r["re_terms"].as_object().unwrap();
    assert_eq!(d.random.len(), re_terms.len());
    for t in &d.random {
        assert_eq!(
            t.names,
            strings(&re_terms[&t.group]),
            "terms of {}",
            t.group
        );
        assert_eq!(
            t.levels.len() as u64,
            r["re_levels"][&t.group].as_u64().unwrap(),
            "levels of {}",
            t.group
        );
        assert_eq!(t.codes.len(), d.n_obs());
    }
    let dims: Vec<usize> = r["z_dims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(vec![d.n_obs(), d.z_columns()], dims);
    assert_eq!(d.theta_length() as u64, r["theta_length"].as_u64().unwrap());
    assert!(d.aliased.is_empty());
    assert_eq!(d.n_dropped, 0);
    d
}

#[test]
fn sleepstudy_random_slopes() {
    let d = check("sleepstudy", "Reaction ~ 1 + Days + (1 + Days | Subject)");
    let subj = &d.random[0];
    assert_eq!(subj.levels[0], "308");
    assert_eq!(subj.z.col(1)[..3], [0.0, 1.0, 2.0]);
    assert!(d.group_sizes()[0].iter().all(|&s| s == 10));
}

#[test]
fn pastes_nested() {
    let d = check("pastes", "strength ~ 1 + (1 | batch) + (1 | batch:cask)");
    let nested = &d.random[1];
    assert_eq!(nested.group, "batch:cask");
    assert_eq!(nested.levels[..4], ["A:a", "A:b", "A:c", "B:a"]);
    assert_eq!(nested.codes[..4], [0, 0, 1, 1]);
}

#[test]
fn penicillin_crossed() {
    check("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)");
}

#[test]
fn mathachieve_random_slopes() {
    check(
        "mathachieve",
        "MathAch ~ 1 + SES + MEANSES + Sex + Minority + (1 + SES | School)",
    );
}

#[test]
fn cake_factor_by_numeric() {
    let d = check("cake", "angle ~ 1 + recipe * temp + (1 | recipe:replicate)");
    assert_eq!(d.random[0].levels[..3], ["A:1", "A:10", "A:11"]);
}

#[test]
fn cake_no_intercept() {
    check("cake", "angle ~ 0 + recipe + recipe:temp + (1 | replicate)");
}

#[test]
fn mathachieve_interaction_without_main_effect() {
    check(
        "mathachieve",
        "MathAch ~ 1 + Sex * Minority + SES:Sex + (1 | School)",
    );
}

#[test]
fn sleepstudy_log_quadratic() {
    let d = check(
        "sleepstudy",
        "log(Reaction) ~ 1 + Days + I(Days^2) + (1 | Subject)",
    );
    assert_eq!(d.response, "log(Reaction)");
}

/// The same designs from hand-built formulas (the contract types, without the parser).
#[test]
fn hand_built_formula_gives_the_same_design() {
    let f = formula(
        col("MathAch"),
        terms(
            true,
            &[
                term(&[col("Sex")]),
                term(&[col("Minority")]),
                term(&[col("Sex"), col("Minority")]),
                term(&[col("Sex"), col("SES")]),
            ],
        ),
        vec![re(terms(true, &[]), &["School"], true)],
    );
    let (hand, _) = DesignBuilder::new(&f).build(&load("mathachieve")).unwrap();
    let parsed = parse_formula("MathAch ~ 1 + Sex * Minority + SES:Sex + (1 | School)").unwrap();
    let (d, _) = DesignBuilder::new(&parsed)
        .build(&load("mathachieve"))
        .unwrap();
    assert_eq!(hand, d);
}
