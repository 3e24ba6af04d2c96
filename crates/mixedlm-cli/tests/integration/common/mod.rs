//! Helpers shared by the CLI integration tests: the shared fixtures (`mixedlm-fixtures`)
//! and running the `mixedlm` binary.
// Each test module uses a different subset of these helpers.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

pub use mixedlm_fixtures::json;
use std::path::Path;

/// The workspace root.
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Path of a bundled file in `tests/data` (`sleepstudy.csv`).
pub fn data(file: &str) -> String {
    mixedlm_fixtures::data_dir()
        .join(file)
        .display()
        .to_string()
}

/// lme4's result of reference model `name` (REML or ML).
pub fn result(name: &str, reml: bool) -> Value {
    mixedlm_fixtures::reference(name).result(reml)
}

/// Run `mixedlm` with an empty standard input.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixedlm"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Run `mixedlm` with `input` on standard input.
pub fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixedlm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Run `mixedlm`, assert exit code 0 and parse standard output as JSON.
pub fn ok_json(args: &[&str]) -> Value {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Relative difference of `a` from `b`.
pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}
