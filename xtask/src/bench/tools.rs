//! Running one model with one tool and reading what it reports.

use super::cases::Case;
use crate::cmd::{self, Outcome};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One tool's result on one model, as JSON: `status` is `ok`, `missing`,
/// `failed`, `timeout` or `not run`; `seconds` is the fit time the tool itself
/// measured (not process start-up or file reading).
pub type ToolResult = Value;

fn skipped(status: &str, reason: &str) -> ToolResult {
    json!({"status": status, "reason": reason})
}

fn from_outcome(o: &Outcome, parse: impl Fn(&Value) -> ToolResult) -> ToolResult {
    if o.timed_out {
        return json!({"status": "timeout", "reason": format!("killed after {:.0} s", o.wall), "peak_mb": o.peak_mb});
    }
    // The whole output as one JSON object (mixedlm pretty-prints), else the last line
    // that is a JSON object (the peer scripts print one after their own chatter).
    let parsed = serde_json::from_str::<Value>(o.stdout.trim())
        .ok()
        .filter(Value::is_object)
        .or_else(|| {
            o.stdout.lines().rev().find_map(|l| {
                serde_json::from_str::<Value>(l.trim())
                    .ok()
                    .filter(Value::is_object)
            })
        });
    match (o.ok, parsed) {
        (true, Some(v)) => {
            let mut r = parse(&v);
            r["status"] = json!("ok");
            r["peak_mb"] = json!(o.peak_mb);
            r["wall_seconds"] = json!(o.wall);
            r
        }
        _ => {
            let tail: String = o
                .stderr
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join(" | ");
            json!({"status": "failed", "reason": tail, "peak_mb": o.peak_mb})
        }
    }
}

/// Data sets with fewer rows are fitted [`reps`] times in one process; larger ones once per
/// process, in several processes (see the bench's `processes`).
pub const IN_PROCESS_BELOW: usize = 20_000;

/// How many times each tool fits a data set in one process (the median is kept): enough
/// that a sub-millisecond fit is not decided by the machine's noise or a tool's first,
/// cold call, for every tool alike.
fn reps(n_rows: usize) -> usize {
    if n_rows < IN_PROCESS_BELOW {
        21
    } else {
        1
    }
}

/// mixedlm: `mixedlm fit --format json [--repeat N]`: median in-process fit time.
pub fn mixedlm(
    bin: &Path,
    case: &Case,
    data: &Path,
    n_rows: usize,
    timeout: Duration,
) -> ToolResult {
    let mut args: Vec<String> = vec![
        "fit".into(),
        data.display().to_string(),
        "--formula".into(),
        case.formula.into(),
        "--format".into(),
        "json".into(),
    ];
    // Small data: repeat the fit inside one process (`--repeat`), as the peers' scripts
    // repeat their fit call, and keep the median; the first, cold fit is recorded apart.
    let repeat = reps(n_rows);
    if repeat > 1 {
        args.extend(["--repeat".into(), repeat.to_string()]);
    }
    let o = cmd::timed(&bin.display().to_string(), &args, timeout);
    from_outcome(&o, |v| {
        let all: Vec<f64> = v
            .pointer("/timing/fit_seconds_runs")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let first = v.pointer("/timing/fit_seconds").cloned();
        let seconds = if all.is_empty() {
            first.clone()
        } else {
            Some(json!(median(&all)))
        };
        json!({
            "seconds": seconds,
            "first_fit_seconds": first,
            "seconds_all": all,
            "read_seconds": v.pointer("/timing/read_seconds"),
            "objective": v.get("objective"),
            "evaluations": v.pointer("/optimizer/evaluations"),
            "converged": v.pointer("/converged"),
        })
    })
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// lme4 through `xtask/scripts/lme4_bench.R`.
pub fn lme4(case: &Case, data: &Path, n_rows: usize, timeout: Duration) -> ToolResult {
    if !cmd::on_path("Rscript") {
        return skipped(
            "missing",
            "Rscript not on PATH (apt-get install r-base-core r-cran-lme4 r-cran-jsonlite)",
        );
    }
    let script = crate::root().join("xtask/scripts/lme4_bench.R");
    let args = vec![
        script.display().to_string(),
        data.display().to_string(),
        case.formula.to_string(),
        "1".into(),
        factor_list(case),
        reps(n_rows).to_string(),
    ];
    let o = cmd::timed("Rscript", &args, timeout);
    from_outcome(&o, pass_through)
}

/// statsmodels through `xtask/scripts/statsmodels_bench.py`.
pub fn statsmodels(case: &Case, data: &Path, n_rows: usize, timeout: Duration) -> ToolResult {
    let sm = match &case.statsmodels {
        Ok(sm) => sm,
        Err(why) => return skipped("not run", why),
    };
    if !cmd::on_path("python3") {
        return skipped("missing", "python3 not on PATH");
    }
    let probe = cmd::timed(
        "python3",
        &["-c".into(), "import statsmodels".into()],
        Duration::from_secs(60),
    );
    if !probe.ok {
        return skipped(
            "missing",
            "python3 has no statsmodels (pip install statsmodels)",
        );
    }
    let script = crate::root().join("xtask/scripts/statsmodels_bench.py");
    let args = vec![
        script.display().to_string(),
        data.display().to_string(),
        sm.formula.into(),
        sm.groups.into(),
        sm.re_formula.unwrap_or("-").into(),
        sm.vc_formula.unwrap_or("-").into(),
        "1".into(),
        factor_list(case),
        reps(n_rows).to_string(),
    ];
    let o = cmd::timed("python3", &args, timeout);
    from_outcome(&o, pass_through)
}

/// Fits per process for pymixedlm even on large data: what it adds to the engine is judged
/// per fit, paired with the engine's own time in the same call, and the process's first
/// fit also pays one-time costs (pyarrow's first conversions at that size, first touch of
/// fresh memory) that a session of fits does not; the script reports that fit apart.
const PYMIXEDLM_MIN_REPS: usize = 5;

/// pymixedlm through `xtask/scripts/pymixedlm_bench.py`, run by `python` (the bench's
/// virtual environment, where the extension was built with the release profile): the
/// fit from a pandas DataFrame and the engine's time for it, in one process.
pub fn pymixedlm(
    python: &Result<PathBuf, String>,
    case: &Case,
    data: &Path,
    n_rows: usize,
    timeout: Duration,
) -> ToolResult {
    let python = match python {
        Ok(p) => p,
        Err(why) => return skipped("missing", why),
    };
    let script = crate::root().join("xtask/scripts/pymixedlm_bench.py");
    let args = vec![
        script.display().to_string(),
        data.display().to_string(),
        case.formula.to_string(),
        factor_list(case),
        reps(n_rows).max(PYMIXEDLM_MIN_REPS).to_string(),
    ];
    let o = cmd::timed(&python.display().to_string(), &args, timeout);
    from_outcome(&o, pass_through)
}

/// A Rust peer crate (glmm, lme-rs) through the `xtask/peers` binary.
pub fn peer(
    bin: &Path,
    engine: &str,
    case: &Case,
    data: &Path,
    n_rows: usize,
    timeout: Duration,
) -> ToolResult {
    let args = vec![
        "--engine".into(),
        engine.into(),
        "--data".into(),
        data.display().to_string(),
        "--formula".into(),
        case.formula.into(),
        "--factors".into(),
        factor_list(case),
        "--reps".into(),
        reps(n_rows).to_string(),
    ];
    let o = cmd::timed(&bin.display().to_string(), &args, timeout);
    from_outcome(&o, pass_through)
}

fn pass_through(v: &Value) -> ToolResult {
    v.clone()
}

fn factor_list(case: &Case) -> String {
    if case.factors.is_empty() {
        "-".into()
    } else {
        case.factors.join(",")
    }
}
