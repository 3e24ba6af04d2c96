//! `mixedlm fit --stream`: same keys and estimates as a fit in memory, plus `"streaming"`;
//! options that need the rows are refused with a message.

use crate::common::*;
use serde_json::Value;

fn fit_json(extra: &[&str]) -> Value {
    let path = data("sleepstudy.csv");
    let mut args = vec![
        "fit",
        path.as_str(),
        "--formula",
        "Reaction ~ Days + (Days | Subject)",
        "--format",
        "json",
        "--ddf",
        "z",
        "--ranef",
    ];
    args.extend_from_slice(extra);
    ok_json(&args)
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn stream_json_has_the_keys_and_estimates_of_a_fit_in_memory() {
    let memory = fit_json(&[]);
    let stream = fit_json(&["--stream", "--batch-rows", "7"]);
    let s = &stream["streaming"];
    assert_eq!(s["batches"], 26); // 180 rows in batches of 7
    assert_eq!(s["batch_rows"], 7);
    assert_eq!(s["passes"], 2);
    assert!(memory.get("streaming").is_none());
    let (Value::Object(m), Value::Object(st)) = (&memory, &stream) else {
        panic!("objects expected");
    };
    for key in m.keys() {
        assert!(st.contains_key(key), "missing key {key}");
    }
    for key in [
        "objective",
        "log_likelihood",
        "aic",
        "bic",
        "residual_variance",
    ] {
        let (a, b) = (num(&memory[key]), num(&stream[key]));
        assert!((a - b).abs() <= 1e-8 * a.abs(), "{key}: {a} vs {b}");
    }
    for (a, b) in [
        (&memory["fixed_effects"], &stream["fixed_effects"]),
        (&memory["random_effects"], &stream["random_effects"]),
    ] {
        for (x, y) in a.as_array().unwrap().iter().zip(y_arr(b)) {
            for f in ["estimate", "std_error", "variance"] {
                if let (Some(p), Some(q)) = (x.get(f), y.get(f)) {
                    let (p, q) = (num(p), num(q));
                    assert!((p - q).abs() <= 1e-6 * p.abs().max(1.0), "{f}: {p} vs {q}");
                }
            }
        }
    }
    let (cm, cs) = (&memory["conditional_modes"], &stream["conditional_modes"]);
    assert_eq!(cm.as_array().unwrap().len(), 36);
    for (x, y) in cm.as_array().unwrap().iter().zip(y_arr(cs)) {
        assert_eq!(x["level"], y["level"]);
        assert!((num(&x["value"]) - num(&y["value"])).abs() < 1e-6);
    }
    assert!(stream["diagnostics"].is_null());
}

fn y_arr(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap()
}

#[test]
fn stream_refuses_options_that_need_the_rows() {
    let path = data("sleepstudy.csv");
    let out = run(&[
        "fit",
        &path,
        "--formula",
        "Reaction ~ Days + (Days | Subject)",
        "--stream",
        "--ci",
        "profile",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--ci profile/bootstrap needs the data rows"),
        "{err}"
    );
    let out = run(&[
        "fit",
        &path,
        "--formula",
        "Reaction ~ scale(Days) + (1 | Subject)",
        "--stream",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("precompute the column"), "{err}");
}

#[test]
fn stream_text_summary_notes_the_batches() {
    let path = data("penicillin.csv");
    let out = run(&[
        "fit",
        &path,
        "--formula",
        "diameter ~ 1 + (1 | plate) + (1 | sample)",
        "--stream",
        "--batch-rows",
        "10",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("streamed fit: 15 batches"), "{text}");
    assert!(text.contains("Log-Likelihood"));
}
