//! The benchmark table: one row per model, tools side by side.

use serde_json::Value;

const TOOLS: [&str; 7] = [
    "mixedlm",
    "baseline",
    "pymixedlm",
    "lme4",
    "statsmodels",
    "glmm",
    "lme-rs",
];

fn present(rows: &[Value]) -> Vec<&'static str> {
    TOOLS
        .iter()
        .copied()
        .filter(|t| rows.iter().any(|r| !r["tools"][*t].is_null()))
        .collect()
}

fn secs(tool: &Value) -> Option<f64> {
    (tool["status"] == "ok")
        .then(|| tool["seconds"].as_f64())
        .flatten()
}

/// A tool's time cell: seconds and how many times mixedlm's time it is, or its status.
fn time_cell(tool: &Value, base: Option<f64>) -> String {
    match (secs(tool), base) {
        (Some(s), Some(b)) if b > 0.0 => format!("{} (x{:.1})", fmt_secs(s), s / b),
        (Some(s), _) => fmt_secs(s),
        _ => tool["status"].as_str().unwrap_or("-").to_string(),
    }
}

/// Seconds with at least two significant digits: µs below a millisecond (a
/// sub-millisecond fit printed as zero milliseconds before), ms below a tenth of a second,
/// else seconds.
fn fmt_secs(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.0}µs", s * 1e6)
    } else if s < 0.01 {
        format!("{:.2}ms", s * 1e3)
    } else if s < 0.1 {
        format!("{:.1}ms", s * 1e3)
    } else {
        format!("{s:.2}s")
    }
}

fn objective_diff(tool: &Value, reference: &Value) -> String {
    match (tool["objective"].as_f64(), reference["objective"].as_f64()) {
        (Some(a), Some(b)) if tool["status"] == "ok" && reference["status"] == "ok" => {
            format!("{:+.2e}", a - b)
        }
        _ => "-".into(),
    }
}

fn evals(tool: &Value) -> String {
    tool["evaluations"]
        .as_u64()
        .map_or("-".into(), |e| e.to_string())
}

fn peak(tool: &Value) -> String {
    tool["peak_mb"]
        .as_f64()
        .filter(|m| *m > 0.0)
        .map_or("-".into(), |m| format!("{m:.0}"))
}

/// The whole table as Markdown: times (with ratio to mixedlm), objective
/// differences to lme4, evaluations and peak memory (MiB).
pub fn render(rows: &[Value]) -> String {
    let tools = present(rows);
    let mut head = vec!["model".to_string(), "n".into()];
    head.extend(tools.iter().map(|t| format!("{t} time")));
    head.extend(
        tools
            .iter()
            .filter(|t| **t != "lme4")
            .map(|t| format!("{t} obj - lme4")),
    );
    head.extend(tools.iter().map(|t| format!("{t} evals")));
    head.extend(tools.iter().map(|t| format!("{t} MiB")));
    let mut lines = vec![
        format!("| {} |", head.join(" | ")),
        format!("|{}", " --- |".repeat(head.len())),
    ];
    for r in rows {
        let t = &r["tools"];
        let base = secs(&t["mixedlm"]);
        let mut cells = vec![
            r["case"].as_str().unwrap_or("?").to_string(),
            r["n_obs"].to_string(),
        ];
        cells.extend(
            tools
                .iter()
                .map(|k| time_cell(&t[*k], if *k == "mixedlm" { None } else { base })),
        );
        cells.extend(
            tools
                .iter()
                .filter(|k| **k != "lme4")
                .map(|k| objective_diff(&t[*k], &t["lme4"])),
        );
        cells.extend(tools.iter().map(|k| evals(&t[*k])));
        cells.extend(tools.iter().map(|k| peak(&t[*k])));
        lines.push(format!("| {} |", cells.join(" | ")));
    }
    lines.push(String::new());
    lines.push("time = the fit call alone (x = that tool's time / mixedlm's); obj - lme4 = objective minus lme4's".into());
    lines.push(
        "(negative = lower, i.e. better); MiB = peak resident memory of the whole process.".into(),
    );
    lines.extend(python_overhead(rows));
    lines.extend(notes(rows));
    lines.join("\n")
}

/// pymixedlm's time against the engine's own time for the same fit in the same process
/// (issue 24's target: at most 1.1 times the engine's plus one millisecond).
fn python_overhead(rows: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        let t = &r["tools"]["pymixedlm"];
        let (Some(py), Some(rust)) = (secs(t), t["rust_seconds"].as_f64()) else {
            continue;
        };
        if out.is_empty() {
            out.push(
                "pymixedlm from a pandas DataFrame vs the engine's fit in the same process:".into(),
            );
        }
        // the per-fit (paired) medians when the script gave them: robust to load
        let excess_ms = t["excess_ms_paired"]
            .as_f64()
            .unwrap_or((py - 1.1 * rust) * 1e3);
        let added_ms = t["overhead_ms_paired"]
            .as_f64()
            .unwrap_or((py - rust) * 1e3);
        out.push(format!(
            "- {}: {} vs {} = x{:.3} (+{:.2} ms per fit, paired median){}",
            r["case"].as_str().unwrap_or("?"),
            fmt_secs(py),
            fmt_secs(rust),
            py / rust,
            added_ms,
            if excess_ms <= 1.0 {
                ""
            } else {
                " (above 1.1x + 1 ms)"
            }
        ));
    }
    out
}

/// Why a tool did not give a time, per model.
fn notes(rows: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        let Some(tools) = r["tools"].as_object() else {
            continue;
        };
        for (name, t) in tools {
            if t["status"] != "ok" {
                let reason = t["reason"].as_str().unwrap_or("");
                out.push(format!(
                    "- {} / {name}: {} {reason}",
                    r["case"].as_str().unwrap_or("?"),
                    t["status"].as_str().unwrap_or("")
                ));
            }
        }
    }
    out
}

/// One progress line for a finished model.
pub fn row_line(r: &Value) -> String {
    let t = &r["tools"];
    let base = secs(&t["mixedlm"]);
    let parts: Vec<String> = TOOLS
        .iter()
        .filter(|k| !t[**k].is_null())
        .map(|k| {
            format!(
                "{k} {}",
                time_cell(&t[*k], if *k == "mixedlm" { None } else { base })
            )
        })
        .collect();
    format!("   {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_shows_ratio_and_missing_peer() {
        let rows = vec![json!({"case": "sleepstudy", "n_obs": 180, "tools": {
            "mixedlm": {"status": "ok", "seconds": 0.002, "objective": 1743.6, "evaluations": 40, "peak_mb": 5.0},
            "lme4": {"status": "ok", "seconds": 0.04, "objective": 1743.7, "evaluations": 60},
            "statsmodels": {"status": "missing", "reason": "no python3"}}})];
        let t = render(&rows);
        assert!(t.contains("40.0ms (x20.0)"), "{t}");
        assert!(t.contains("| missing |"), "{t}");
        assert!(t.contains("-1.00e-1"), "{t}");
        assert!(
            t.contains("sleepstudy / statsmodels: missing no python3"),
            "{t}"
        );
    }
}
