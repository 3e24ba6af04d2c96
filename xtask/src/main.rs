//! `cargo xtask`: the project's chores, with few dependencies so it builds fast.
//!
//! - `tidy`: checks the crate dependency graph against docs/ARCHITECTURE.md's
//!   invariants and that every crate opens with a `//!` paragraph.
//! - `simulate [--out DIR]`: writes the benchmark data sets (a)–(e).
//! - `bench [--quick] [--peers]`: times mixedlm against lme4, statsmodels and
//!   (with `--peers`) the Rust crates glmm and lme-rs on the same files.
//! - `proptest --cases N`: runs the property tests with N cases each.
//! - `fuzz [--seconds N] [--seed S]`: mutated data files and formulas for N seconds (600 by
//!   default), in release, from a fresh seed; no input may panic.
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
  bench [--quick] [--peers [--no-lme-rs]] [--only NAMES] [--tools NAMES] [--timeout SECS]
        [--baseline REV]
                           time mixedlm against lme4 / statsmodels / glmm / lme-rs
  bench --spark [--rows N] [--groups N] [--partitions N]
                           Spark (local[2]) against the streamed fit of one Parquet file
  proptest [--cases N]     run the property tests with N cases (default 256)
  fuzz [--seconds N] [--seed S]
                           mutated Parquet/Arrow/CSV files and formulas for N seconds
                           (default 600, release build, fresh seed unless --seed)
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

/// Checks that `args` holds only the `switches` (no value) and the `valued` flags (each
/// followed by its value), so that a mistyped flag is an error, not a silently ignored
/// word that starts a long run with the defaults.
pub fn check_flags(args: &[String], switches: &[&str], valued: &[&str]) -> Result<(), String> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if valued.contains(&a) {
            if i + 1 >= args.len() {
                return Err(format!("{a} expects a value\n{USAGE}"));
            }
            i += 2;
        } else if switches.contains(&a) {
            i += 1;
        } else {
            return Err(format!("unknown argument '{a}'\n{USAGE}"));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "help") || args.iter().any(|a| a == "--help" || a == "-h")
    {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let rest = args.get(1..).unwrap_or(&[]).to_vec();
    let result = match args.first().map(String::as_str) {
        Some("tidy") => check_flags(&rest, &[], &[]).and_then(|()| tidy::run()),
        Some("simulate") => check_flags(&rest, &[], &["--out", "--only", "--seed", "--rows"])
            .and_then(|()| simulate(&rest)),
        Some("bench") => check_flags(
            &rest,
            &["--quick", "--peers", "--no-lme-rs", "--glmm", "--spark"],
            &[
                "--only",
                "--timeout",
                "--tools",
                "--baseline",
                "--rows",
                "--groups",
                "--partitions",
            ],
        )
        .and_then(|()| bench::run(&rest)),
        Some("proptest") => check_flags(&rest, &[], &["--cases"]).and_then(|()| proptest(&rest)),
        Some("fuzz") => {
            check_flags(&rest, &[], &["--seconds", "--seed"]).and_then(|()| fuzz(&rest))
        }
        Some("reference") => {
            check_flags(&rest, &[], &["--out"]).and_then(|()| reference::run(&rest))
        }
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

/// Runs the fuzz test of `mixedlm-tests` (release build) for `--seconds` (default 600)
/// from `--seed` (default: the clock), so that each run explores new inputs.
fn fuzz(args: &[String]) -> Result<(), String> {
    let seconds = flag_value(args, "--seconds").unwrap_or_else(|| "600".into());
    seconds
        .parse::<u64>()
        .map_err(|_| format!("--seconds expects a number, got {seconds}"))?;
    let seed = match flag_value(args, "--seed") {
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| format!("--seed expects a number, got {s}"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(28, |d| d.as_nanos() as u64),
    };
    let mut c = cmd::cargo(&[
        "test",
        "--release",
        "-p",
        "mixedlm-tests",
        "--test",
        "integration",
        "fuzz_",
        "--",
        "--nocapture",
    ]);
    c.env("MIXEDLM_FUZZ_SECONDS", &seconds);
    c.env("MIXEDLM_FUZZ_SEED", seed.to_string());
    cmd::status(&mut c)
}

#[cfg(test)]
mod tests {
    use super::check_flags;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_are_checked() {
        let (sw, val) = (&["--quick", "--peers"][..], &["--only"][..]);
        assert!(check_flags(&v(&["--quick", "--only", "a,b"]), sw, val).is_ok());
        let typo = check_flags(&v(&["--quik"]), sw, val).unwrap_err();
        assert!(typo.contains("unknown argument '--quik'"), "{typo}");
        let missing = check_flags(&v(&["--only"]), sw, val).unwrap_err();
        assert!(missing.contains("--only expects a value"), "{missing}");
    }
}
