//! `mixedlm design`: JSON keys and values against lme4's design reference, text output,
//! standard input and missing-value counts.

use crate::common::*;
use serde_json::Value;

fn design_json(file: &str, formula: &str) -> Value {
    ok_json(&[
        "design",
        &data(file),
        "--formula",
        formula,
        "--format",
        "json",
    ])
}

/// lme4 writes a one-element vector as a scalar; read both as a list of strings.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        Value::String(s) => vec![s.clone()],
        other => panic!("not strings: {other}"),
    }
}

#[test]
fn design_json_matches_lme4_for_each_reference_formula() {
    let cases: Vec<Value> = serde_json::from_value(json("design_lme4.json")).unwrap();
    assert!(cases.len() >= 4);
    for case in &cases {
        let dataset = case["dataset"].as_str().unwrap();
        let formula = case["formula"].as_str().unwrap();
        let got = design_json(&format!("{dataset}.csv"), formula);
        assert_eq!(
            strings(&got["x_columns"]),
            strings(&case["x_columns"]),
            "{formula}"
        );
        assert_eq!(
            got["n_obs"].as_u64().unwrap(),
            case["z_dims"][0].as_u64().unwrap(),
            "{formula}"
        );
        assert_eq!(got["n_dropped"].as_u64(), Some(0));
        let terms = got["random_terms"].as_array().unwrap();
        let re_terms = case["re_terms"].as_object().unwrap();
        assert_eq!(terms.len(), re_terms.len(), "{formula}");
        for t in terms {
            let group = t["group"].as_str().unwrap();
            assert_eq!(
                strings(&t["terms"]),
                strings(&re_terms[group]),
                "{formula}: {group}"
            );
            assert_eq!(t["levels"], case["re_levels"][group], "{formula}: {group}");
        }
    }
}

#[test]
fn design_text_lists_columns_and_groups() {
    let out = run(&[
        "design",
        &data("pastes.csv"),
        "--formula",
        "strength ~ 1 + (1 | batch/cask)",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(Intercept)"));
    assert!(text.contains("batch:cask") && text.contains("30"), "{text}");
    assert!(text.contains("60 used, 0 dropped"), "{text}");
}

#[test]
fn design_reads_stdin_and_counts_dropped_rows() {
    let csv = b"y,x,g\n1,1,\"a\"\nNA,2,\"a\"\n3,3,\"b\"\n4,,\"b\"\n5,5,\"c\"\n6,6,\"c\"\n";
    let out = run_stdin(
        &[
            "design",
            "-",
            "--formula",
            "y ~ x + (1 | g)",
            "--format",
            "json",
        ],
        csv,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n_obs"], 4);
    assert_eq!(v["n_dropped"], 2);
    assert_eq!(v["random_terms"][0]["levels"], 3);
}

#[test]
fn design_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("d.json");
    let out = run(&[
        "design",
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days + (Days | Subject)",
        "--format",
        "json",
        "--output",
        &out_path.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(out_path).unwrap()).unwrap();
    assert_eq!(v["x_columns"], serde_json::json!(["(Intercept)", "Days"]));
}

#[test]
fn help_texts_include_examples() {
    for cmd in ["design", "fit"] {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Example"), "{cmd}: {text}");
        assert!(text.contains("mixedlm "), "{cmd}: {text}");
    }
}
