//! Every user error exits with code 2, prints `error: ...` and a `hint: ...` line, names
//! what to do, and never panics.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Assert exit code 2, an `error:` line and a `hint:` line, no panic, and each needle.
fn expect_usage_error(out: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert!(err.contains("\nhint: "), "no hint line in: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "stdout should be empty on error");
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in: {err}");
    }
    err
}

fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn fit_file(path: &Path, formula: &str) -> Output {
    run(&["fit", &path.display().to_string(), "--formula", formula])
}

#[test]
fn unknown_column_names_the_nearest() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        "Reacton ~ Days + (Days | Subject)",
    ]);
    expect_usage_error(&out, &["Reacton", "did you mean 'Reaction'"]);
}

#[test]
fn malformed_formula_has_a_caret() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days + (Days | )",
    ]);
    let err = expect_usage_error(&out, &["malformed formula", "Reaction ~ Days + (Days | )"]);
    let lines: Vec<&str> = err.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("Reaction ~ Days + (Days | )"))
        .unwrap();
    let caret = lines[i + 1];
    assert!(caret.trim() == "^", "caret line: {caret:?}");
    // The caret points into the formula, at or after the bar.
    let bar = lines[i].find('|').unwrap();
    assert!(caret.find('^').unwrap() > bar, "{err}");
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "empty.csv", b"");
    expect_usage_error(&fit_file(&p, "y ~ x + (1 | g)"), &["empty"]);
}

#[test]
fn missing_file() {
    let out = run(&[
        "fit",
        "/no/such/dir/data.csv",
        "--formula",
        "y ~ x + (1 | g)",
    ]);
    expect_usage_error(&out, &["/no/such/dir/data.csv", "check the path"]);
}

#[test]
fn unreadable_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "binary.csv", b"y,x,g\n1,2,a\n\xff\xfe\x00\x01,3,b\n");
    expect_usage_error(&fit_file(&p, "y ~ x + (1 | g)"), &["not UTF-8", "line 3"]);
    let p = temp_file(&dir, "fake.parquet", b"y,x,g\n1,2,a\n");
    expect_usage_error(
        &fit_file(&p, "y ~ x + (1 | g)"),
        &["not a readable parquet file"],
    );
}

#[test]
fn non_numeric_response() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        "Subject ~ Days + (1 | Subject)",
    ]);
    expect_usage_error(&out, &["Subject", "numeric response"]);
}

#[test]
fn no_random_effects_term_suggests_ols() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days",
    ]);
    expect_usage_error(&out, &["not a mixed model", "least squares"]);
}

#[test]
fn grouping_factor_with_one_level() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(
        &dir,
        "one.csv",
        b"y,x,g\n1,1,\"a\"\n2,2,\"a\"\n3,3,\"a\"\n5,4,\"a\"\n",
    );
    expect_usage_error(&fit_file(&p, "y ~ x + (1 | g)"), &["'g'", "1 level"]);
}

#[test]
fn grouping_factor_with_a_level_per_observation() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(
        &dir,
        "many.csv",
        b"y,x,g\n1,1,\"a\"\n2,2,\"b\"\n3,3,\"c\"\n5,4,\"d\"\n",
    );
    expect_usage_error(
        &fit_file(&p, "y ~ x + (1 | g)"),
        &["'g'", "4 levels", "4 observations"],
    );
}

#[test]
fn inf_in_a_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(
        &dir,
        "inf.csv",
        b"y,x,g\n1,1,\"a\"\n2,Inf,\"a\"\n3,3,\"b\"\n5,4,\"b\"\n",
    );
    expect_usage_error(&fit_file(&p, "y ~ x + (1 | g)"), &["'x'", "infinite"]);
}

#[test]
fn unsupported_extension() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "data.xlsx", b"whatever");
    expect_usage_error(
        &fit_file(&p, "y ~ x + (1 | g)"),
        &[".csv", ".parquet", "--input-format"],
    );
}

#[test]
fn unknown_optimizer_lists_the_valid_names() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days + (Days | Subject)",
        "--optimizer",
        "adam",
    ]);
    expect_usage_error(&out, &["adam", "bobyqa", "bfgs", "nelder-mead", "powell"]);
}

#[test]
fn ragged_rows_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "ragged.csv", b"y,x,g\n1,1,a\n2,2\n");
    expect_usage_error(&fit_file(&p, "y ~ x + (1 | g)"), &["line 3"]);
}

#[test]
fn stdin_errors_too() {
    let out = run_stdin(&["design", "-", "--formula", "y ~ x + (1 | g)"], b"");
    expect_usage_error(&out, &["empty"]);
}

#[test]
fn vc_without_equals_sign() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days",
        "--groups",
        "Subject",
        "--vc",
        "nonsense",
    ]);
    expect_usage_error(&out, &["NAME=FORMULA"]);
}

#[test]
fn bad_usage_is_exit_code_2() {
    let out = run(&["fit"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
