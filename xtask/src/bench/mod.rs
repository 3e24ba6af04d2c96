//! `cargo xtask bench`: mixedlm side by side with lme4, statsmodels and the
//! Rust crates glmm and lme-rs, on the same CSV files.
//!
//! Each tool reports the time of the fit call alone (mixedlm: the CLI's
//! `timing.fit_seconds`; lme4: `lmer()`; statsmodels: `MixedLM.fit`), its
//! objective (-2 log-likelihood or REML criterion, lme4's scale) and its
//! number of objective evaluations; peak memory is the whole process's.
//! A missing peer is reported in the table, never an error.

mod cases;
mod table;
mod tools;

use crate::{cmd, flag_value, target_dir};
use cases::Case;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Opts {
    quick: bool,
    peers: bool,
    lme_rs: bool,
    only: Option<Vec<String>>,
    timeout: Duration,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let quick = args.iter().any(|a| a == "--quick");
    let secs = match flag_value(args, "--timeout") {
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| format!("--timeout expects seconds, got {s}"))?,
        None if quick => 150,
        None => 900,
    };
    Ok(Opts {
        quick,
        peers: args.iter().any(|a| a == "--peers"),
        lme_rs: !args.iter().any(|a| a == "--no-lme-rs"),
        only: flag_value(args, "--only").map(|s| s.split(',').map(String::from).collect()),
        timeout: Duration::from_secs(secs),
    })
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let selected: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| match &o.only {
            Some(names) => names.iter().any(|n| n == c.name),
            None => c.quick || !o.quick,
        })
        .collect();
    let bin = build_mixedlm()?;
    prepare_sim_data(&selected)?;
    let peers_bin = if o.peers {
        Some(build_peers(o.lme_rs))
    } else {
        None
    };
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut rows = Vec::new();
    for case in &selected {
        let r = run_case(case, &bin, peers_bin.as_ref(), &o);
        let path = out_dir.join(format!("{}.json", case.name));
        let text = serde_json::to_string_pretty(&r).unwrap_or_default();
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("{}", table::row_line(&r));
        rows.push(r);
    }
    let summary = json!({"quick": o.quick, "results": rows});
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    std::fs::write(out_dir.join("summary.json"), text)
        .map_err(|e| format!("cannot write summary: {e}"))?;
    println!("{}", table::render(&rows));
    println!("results: {}", out_dir.display());
    Ok(())
}

fn data_path(case: &Case) -> PathBuf {
    match case.data.strip_prefix("sim:") {
        Some(f) => target_dir().join("sim").join(f),
        None => crate::root().join(case.data),
    }
}

fn count_rows(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1))
        .unwrap_or(0)
}

fn run_case(case: &Case, bin: &Path, peers: Option<&Result<PathBuf, String>>, o: &Opts) -> Value {
    let data = data_path(case);
    let n = count_rows(&data);
    eprintln!("== {} ({} rows): {}", case.name, n, case.formula);
    let mut tools = serde_json::Map::new();
    tools.insert(
        "mixedlm".into(),
        tools::mixedlm(bin, case, &data, n, o.timeout),
    );
    tools.insert("lme4".into(), tools::lme4(case, &data, n, o.timeout));
    tools.insert(
        "statsmodels".into(),
        tools::statsmodels(case, &data, n, o.timeout),
    );
    if let Some(p) = peers {
        for engine in ["glmm", "lme-rs"] {
            let r = match p {
                Ok(b) => tools::peer(b, engine, case, &data, n, o.timeout),
                Err(e) => json!({"status": "failed", "reason": e}),
            };
            tools.insert(engine.into(), r);
        }
    }
    json!({"case": case.name, "data": case.data, "formula": case.formula, "n_obs": n, "reml": true, "tools": tools})
}

fn build_mixedlm() -> Result<PathBuf, String> {
    eprintln!("building mixedlm (release)...");
    cmd::status(&mut cmd::cargo(&[
        "build",
        "--release",
        "-q",
        "-p",
        "mixedlm-cli",
    ]))?;
    Ok(target_dir().join("release").join("mixedlm"))
}

fn prepare_sim_data(cases: &[Case]) -> Result<(), String> {
    let missing: Vec<&str> = cases
        .iter()
        .filter(|c| c.data.starts_with("sim:") && !data_path(c).is_file())
        .map(|c| c.name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("simulating {}...", missing.join(", "));
    crate::simulate(&["--only".into(), missing.join(",")])
}

/// Builds `xtask/peers` (outside the workspace, own target dir) with lme-rs
/// (which brings polars) unless `lme_rs` is false or that build fails, then
/// glmm alone; an error message instead of a path when nothing builds.
fn build_peers(lme_rs: bool) -> Result<PathBuf, String> {
    let dir = crate::root().join("xtask/peers");
    let target = target_dir().join("peers");
    eprintln!("building the Rust peers in {}...", target.display());
    let build = |features: &[&str]| {
        let mut c =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.args(["build", "--release", "-q", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .args(features)
            .env("CARGO_TARGET_DIR", &target);
        cmd::status(&mut c)
    };
    let with_lme = lme_rs && build(&["--features", "lme-rs"]).is_ok();
    if !with_lme {
        build(&[]).map_err(|e| format!("peers did not build: {e}"))?;
        eprintln!("lme-rs not built (--no-lme-rs, or its build failed): its cells will say so");
    }
    Ok(target.join("release").join("peers"))
}
