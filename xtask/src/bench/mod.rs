//! `cargo xtask bench`: mixedlm side by side with lme4, statsmodels and the
//! Rust crates glmm and lme-rs, on the same CSV files.
//!
//! Each tool reports the time of the fit call alone (mixedlm: the CLI's
//! `timing.fit_seconds`; lme4: `lmer()`; statsmodels: `MixedLM.fit`), its
//! objective (-2 log-likelihood or REML criterion, lme4's scale) and its
//! number of objective evaluations; peak memory is the whole process's.
//! Small data sets are fitted 21 times in one process and the median kept;
//! large ones once per process, in five processes per tool (fewer for a tool whose
//! first fit was slow, see [`runs_again`]; alternating rounds), and the median process
//! kept.
//! A missing peer is reported in the table, never an error.
//! `--baseline REV` also builds the CLI of git revision REV and times it as the tool
//! `baseline`, in the same alternating rounds: a change's before and after in one run.

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
    tools: Option<Vec<String>>,
    timeout: Duration,
    baseline: Option<String>,
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
        tools: flag_value(args, "--tools").map(|s| s.split(',').map(String::from).collect()),
        timeout: Duration::from_secs(secs),
        baseline: flag_value(args, "--baseline"),
    })
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--glmm") {
        return run_glmm(args.iter().any(|a| a == "--quick"));
    }
    if args.iter().any(|a| a == "--spark") {
        return run_spark(args);
    }
    let o = parse(args)?;
    let selected: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| match &o.only {
            Some(names) => names.iter().any(|n| n == c.name),
            None => c.quick || !o.quick,
        })
        .collect();
    let bin = build_mixedlm()?;
    let baseline = o.baseline.as_deref().map(build_baseline).transpose()?;
    let python = if wants(&o, "pymixedlm") {
        build_pymixedlm()
    } else {
        Err("not selected".into())
    };
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
        let bins = Binaries {
            mixedlm: &bin,
            baseline: baseline.as_deref(),
            python: &python,
            peers: peers_bin.as_ref(),
        };
        let r = run_case(case, &bins, &o);
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

/// The GLMM section (`--glmm`): `xtask/scripts/glmm_bench.sh`, with the 1M-row simulated
/// set unless `--quick`.
fn run_glmm(quick: bool) -> Result<(), String> {
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("xtask/scripts/glmm_bench.sh");
    if !quick {
        cmd.arg("--sim");
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run glmm_bench.sh: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("glmm_bench.sh failed ({status})"))
}

/// The Spark section (`--spark`): `benches/spark_bench.py` (Spark on `local[2]` against
/// the streamed CLI fit of the same Parquet file) with the release CLI and pymixedlm built
/// as for the pymixedlm column; `--rows N` and `--groups N` pass through (default 20M rows,
/// 200,000 groups).
fn run_spark(args: &[String]) -> Result<(), String> {
    let bin = build_mixedlm()?;
    let python = build_pymixedlm()?;
    let mut c = std::process::Command::new(python);
    c.arg(crate::root().join("benches").join("spark_bench.py"))
        .arg("--cli")
        .arg(&bin)
        .arg("--out")
        .arg(target_dir().join("spark-bench"));
    for flag in ["--rows", "--groups", "--partitions"] {
        if let Some(v) = flag_value(args, flag) {
            c.args([flag, v.as_str()]);
        }
    }
    cmd::status(&mut c)
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

/// Processes per tool for data of `n_rows` rows: a large data set is fitted once per
/// process (the cold fit, as a user's one command), so one process is one sample of the
/// machine's noise; five, in alternating rounds, give a median that one or two disturbed
/// processes do not move (benches/README.md).
fn processes(n_rows: usize) -> usize {
    if n_rows < tools::IN_PROCESS_BELOW {
        1
    } else {
        5
    }
}

/// A tool whose first run took longer than this is not run again (lme4 on the largest
/// sets takes minutes).
const REPEAT_UNDER_SECONDS: f64 = 30.0;

/// A tool whose first run took longer than this runs three processes, not five.
const FIVE_UNDER_SECONDS: f64 = 5.0;

/// Whether a tool runs in `round` (0-based), given its first run.
fn runs_again(round: usize, first: &Value) -> bool {
    let ok = first.get("status").and_then(Value::as_str) == Some("ok");
    let limit = if round < 3 {
        REPEAT_UNDER_SECONDS
    } else {
        FIVE_UNDER_SECONDS
    };
    ok && seconds(first).is_some_and(|s| s < limit)
}

/// Whether `tool` is among the tools asked for (`--tools`; all by default).
fn wants(o: &Opts, tool: &str) -> bool {
    o.tools.as_ref().is_none_or(|t| t.iter().any(|x| x == tool))
}

/// What the tools run: the CLI, the baseline's CLI, pymixedlm's Python, the Rust peers.
struct Binaries<'a> {
    mixedlm: &'a Path,
    baseline: Option<&'a Path>,
    python: &'a Result<PathBuf, String>,
    peers: Option<&'a Result<PathBuf, String>>,
}

fn run_case(case: &Case, bins: &Binaries<'_>, o: &Opts) -> Value {
    let data = data_path(case);
    let n = count_rows(&data);
    eprintln!("== {} ({} rows): {}", case.name, n, case.formula);
    let mut names = vec!["mixedlm", "pymixedlm", "lme4", "statsmodels"];
    if bins.peers.is_some() {
        names.extend(["glmm", "lme-rs"]);
    }
    names.retain(|t| *t == "mixedlm" || wants(o, t));
    if bins.baseline.is_some() {
        names.insert(1, "baseline");
    }
    let peers = bins.peers;
    let run = |name: &str| match name {
        "mixedlm" => tools::mixedlm(bins.mixedlm, case, &data, n, o.timeout),
        "baseline" => match bins.baseline {
            Some(b) => tools::mixedlm(b, case, &data, n, o.timeout),
            None => json!({"status": "missing"}),
        },
        "pymixedlm" => tools::pymixedlm(bins.python, case, &data, n, o.timeout),
        "lme4" => tools::lme4(case, &data, n, o.timeout),
        "statsmodels" => tools::statsmodels(case, &data, n, o.timeout),
        engine => match peers {
            Some(Ok(b)) => tools::peer(b, engine, case, &data, n, o.timeout),
            Some(Err(e)) => json!({"status": "failed", "reason": e}),
            None => json!({"status": "missing"}),
        },
    };
    // rounds alternate the tools, so that a slow phase of the machine falls on all alike
    let mut runs: Vec<Vec<Value>> = vec![Vec::new(); names.len()];
    for round in 0..processes(n) {
        for (name, done) in names.iter().zip(runs.iter_mut()) {
            let again = done.first().is_none_or(|first| runs_again(round, first));
            if round == 0 || again {
                done.push(run(name));
            }
        }
    }
    let tools: serde_json::Map<String, Value> = names
        .iter()
        .zip(runs)
        .map(|(name, r)| (name.to_string(), median_run(r)))
        .collect();
    json!({"case": case.name, "data": case.data, "formula": case.formula, "n_obs": n, "reml": true, "tools": tools})
}

fn seconds(r: &Value) -> Option<f64> {
    r.get("seconds").and_then(Value::as_f64)
}

/// The run of median time among a tool's processes, with every process's time in
/// `seconds_processes` (the first run alone when it did not succeed).
fn median_run(mut runs: Vec<Value>) -> Value {
    if runs.len() < 2 {
        return runs.pop().unwrap_or(Value::Null);
    }
    let times: Vec<f64> = runs.iter().filter_map(seconds).collect();
    if times.len() != runs.len() {
        return runs.swap_remove(0);
    }
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
    let mut r = runs.swap_remove(order[order.len() / 2]);
    if let Some(m) = r.as_object_mut() {
        m.insert("seconds_processes".into(), json!(times));
    }
    r
}

/// The CLI of git revision `rev`, built from an exported copy of that revision under
/// `target/baseline/` with its own target directory (so the workspace's build is kept).
fn build_baseline(rev: &str) -> Result<PathBuf, String> {
    let root = target_dir().join("baseline");
    let src = root.join("src");
    eprintln!(
        "building the baseline {rev} (release) in {}...",
        root.display()
    );
    export_revision(rev, &src)?;
    seed_baseline_target(&root.join("target"))?;
    let mut build = cmd::cargo(&["build", "--release", "-q", "-p", "mixedlm-cli"]);
    build
        .current_dir(&src)
        .env("CARGO_TARGET_DIR", root.join("target"));
    cmd::status(&mut build)?;
    Ok(root.join("target").join("release").join("mixedlm"))
}

/// The files of revision `rev` in `src`, exported unless `src` already holds them (its
/// `.revision` file names the commit): a repeated bench then rebuilds nothing.
fn export_revision(rev: &str, src: &Path) -> Result<(), String> {
    let resolve = std::process::Command::new("git")
        .arg("-C")
        .arg(crate::root())
        .args(["rev-parse", rev])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !resolve.status.success() {
        return Err(format!("no git revision '{rev}'"));
    }
    let commit = String::from_utf8_lossy(&resolve.stdout).trim().to_string();
    let marker = src.join(".revision");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == commit) {
        return Ok(());
    }
    if src.exists() {
        std::fs::remove_dir_all(src).map_err(|e| format!("cannot clear {}: {e}", src.display()))?;
    }
    std::fs::create_dir_all(src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    let export = format!(
        "git -C '{}' archive '{commit}' | tar -x -C '{}'",
        crate::root().display(),
        src.display()
    );
    cmd::status(std::process::Command::new("sh").args(["-c", &export]))
        .map_err(|e| format!("cannot export revision {rev}: {e}"))?;
    std::fs::write(&marker, &commit).map_err(|e| format!("cannot write {}: {e}", marker.display()))
}

/// A first baseline build starts from a copy of the workspace's release artifacts: the
/// third-party crates are then already built and only the workspace's crates compile.
fn seed_baseline_target(target: &Path) -> Result<(), String> {
    let release = target_dir().join("release");
    if target.exists() || !release.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let copy = format!("cp -a '{}' '{}'", release.display(), target.display());
    cmd::status(std::process::Command::new("sh").args(["-c", &copy]))
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

/// Builds pymixedlm with the release profile into a virtual environment under the target
/// directory (`bench-pyvenv`, with the system's site packages for pandas) and returns its
/// Python, or why it could not.
fn build_pymixedlm() -> Result<PathBuf, String> {
    let venv = target_dir().join("bench-pyvenv");
    let python = venv.join("bin").join("python");
    eprintln!("building pymixedlm (release) into {}...", venv.display());
    if !python.is_file() {
        let mut c = std::process::Command::new("python3");
        c.args(["-m", "venv", "--system-site-packages"]).arg(&venv);
        cmd::status(&mut c).map_err(|e| format!("no virtual environment: {e}"))?;
    }
    let mut c = std::process::Command::new(&python);
    c.args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .args(["--no-build-isolation", "--force-reinstall", "--no-deps"])
        .arg(crate::root().join("crates/mixedlm-python"));
    cmd::status(&mut c).map_err(|e| {
        format!("pymixedlm did not build ({e}); it needs maturin and pandas in python3")
    })?;
    Ok(python)
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
