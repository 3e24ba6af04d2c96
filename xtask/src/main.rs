//! `cargo xtask`: the project's chores, with few dependencies so it builds fast.
//!
//! - `tidy`: checks the crate dependency graph against docs/ARCHITECTURE.md's
//!   invariants and that every crate opens with a `//!` paragraph.
//! - `simulate [--out DIR]`: writes the benchmark data sets (a)–(e).
//! - `bench [--quick] [--peers]`: times mixedlm against lme4, statsmodels and
//!   (with `--peers`) the Rust crates glmm and lme-rs on the same files.
//! - `proptest --cases N`: runs the property tests with N cases each.
//! - `reference`: regenerates the reference JSON with R, if installed.
//!
//! xtask is a workspace member but not a default one: run its unit tests with
//! `cargo test -p xtask`.

mod bench;
mod cmd;
mod reference;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>
  tidy                     check crate dependency edges and crate docs
  simulate [--out DIR]     write the simulated benchmark data (default target/sim);
                           --rows N writes only set (b) with N rows, streamed to disk
  bench [--quick] [--peers [--no-lme-rs]] [--only NAMES] [--timeout SECS]
                           time mixedlm against lme4 / statsmodels / glmm / lme-rs
  proptest [--cases N]     run the property tests with N cases (default 256)
  reference [--out DIR]    regenerate reference JSON with R (lme4)";

/// The workspace root (the parent of this crate's directory).
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The cargo target directory in use.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The value following `flag` in `args`, if any.
pub fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]).to_vec();
    let result = match args.first().map(String::as_str) {
        Some("tidy") => tidy::run(),
        Some("simulate") => simulate(&rest),
        Some("bench") => bench::run(&rest),
        Some("proptest") => proptest(&rest),
        Some("reference") => reference::run(&rest),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the simulator binary of `mixedlm-tests` (release build).
pub fn simulate(args: &[String]) -> Result<(), String> {
    let out =
        flag_value(args, "--out").unwrap_or_else(|| target_dir().join("sim").display().to_string());
    let mut c = cmd::cargo(&[
        "run",
        "--release",
        "-q",
        "-p",
        "mixedlm-tests",
        "--bin",
        "simulate",
        "--",
        "--out",
        &out,
    ]);
    if let Some(only) = flag_value(args, "--only") {
        c.args(["--only", &only]);
    }
    if let Some(seed) = flag_value(args, "--seed") {
        c.args(["--seed", &seed]);
    }
    if let Some(rows) = flag_value(args, "--rows") {
        c.args(["--rows", &rows]);
    }
    cmd::status(&mut c)
}

fn proptest(args: &[String]) -> Result<(), String> {
    let cases = flag_value(args, "--cases").unwrap_or_else(|| "256".into());
    cases
        .parse::<u32>()
        .map_err(|_| format!("--cases expects a number, got {cases}"))?;
    let mut c = cmd::cargo(&["test", "-p", "mixedlm-tests", "::prop_"]);
    c.env("PROPTEST_CASES", &cases);
    cmd::status(&mut c)
}
