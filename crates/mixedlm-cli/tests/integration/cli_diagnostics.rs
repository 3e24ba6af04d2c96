//! `mixedlm fit` diagnostics: `--plots DIR` (SVG and PNG files named by kind and factor),
//! the JSON `"diagnostics"` object, the text summary's messages, `--influence`, errors.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SLEEP: &str = "Reaction ~ Days + (Days | Subject)";

fn fit_json(file: &str, formula: &str, extra: &[&str]) -> Value {
    let path = data(file);
    let mut args = vec![
        "fit",
        path.as_str(),
        "--formula",
        formula,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    ok_json(&args)
}

fn plot_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_kinds_present(names: &[String], ext: &str) {
    for part in ["qq", "fitted", "scale", "caterpillar_Subject"] {
        assert!(
            names.iter().any(|n| n.contains(part) && n.ends_with(ext)),
            "no {part}*.{ext} in {names:?}"
        );
    }
    assert!(names
        .iter()
        .any(|n| n.contains("qq") && n.contains("Subject")));
}

#[test]
fn plots_are_svg_by_default_with_kind_and_factor_names() {
    let dir = tempfile::tempdir().unwrap();
    let plots: PathBuf = dir.path().join("plots"); // created by mixedlm
    let json = fit_json(
        "sleepstudy.csv",
        SLEEP,
        &["--plots", plots.to_str().unwrap()],
    );
    let names = plot_names(&plots);
    assert_kinds_present(&names, "svg");
    assert_eq!(names.len(), 6, "{names:?}"); // 3 residual plots, 2 ranef Q-Q, 1 caterpillar
    for n in &names {
        let text = std::fs::read_to_string(plots.join(n)).unwrap();
        assert!(text.len() > 2000, "{n} is nearly empty");
        assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
        assert!(
            text.contains("<text"),
            "{n} has no text (title, axis labels)"
        );
    }
    let listed = json["diagnostics"]["plots"].as_array().unwrap();
    assert_eq!(listed.len(), 6);
}

#[test]
fn plots_as_png_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        SLEEP,
        "--plots",
        d,
        "--plot-format",
        "png",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = plot_names(dir.path());
    assert_kinds_present(&names, "png");
    for n in &names {
        let bytes = std::fs::read(dir.path().join(n)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{n} is not a PNG");
        // An 800×600 plot with text and points is far larger than an empty image.
        assert!(bytes.len() > 10_000, "{n}: {} bytes", bytes.len());
        // IHDR: width and height at bytes 16..24.
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert!(w >= 720 && h >= 400, "{n}: {w}×{h}");
    }
}

#[test]
fn json_has_the_diagnostics_keys() {
    let json = fit_json("sleepstudy.csv", SLEEP, &[]);
    let d = &json["diagnostics"];
    for key in [
        "messages",
        "gradient_max_abs",
        "hessian_min_eigenvalue",
        "residual_normality",
        "influential_groups",
    ] {
        assert!(d.get(key).is_some(), "missing diagnostics.{key}: {d}");
    }
    assert!(d["gradient_max_abs"].as_f64().unwrap() < 2e-3);
    assert!(d["hessian_min_eigenvalue"].as_f64().unwrap() > 0.0);
    let n = &d["residual_normality"];
    assert_eq!(n["test"], "Shapiro-Wilk");
    let (w, p) = (
        n["statistic"].as_f64().unwrap(),
        n["p_value"].as_f64().unwrap(),
    );
    assert!(
        w > 0.8 && w < 1.0 && p > 0.0 && p < 1e-3,
        "W = {w}, p = {p}"
    );
    assert!(d["influential_groups"].as_array().unwrap().is_empty());
    assert!(d["influence"].is_null(), "influence only with --influence");
    let skipped = fit_json("sleepstudy.csv", SLEEP, &["--no-diagnostics"]);
    assert!(skipped["diagnostics"].is_null());
}

#[test]
fn dyestuff2_json_message_has_severity_code_and_advice() {
    let json = fit_json("dyestuff2.csv", "Yield ~ 1 + (1 | Batch)", &[]);
    let messages = json["diagnostics"]["messages"].as_array().unwrap();
    let m = messages
        .iter()
        .find(|m| m["code"] == "singular")
        .unwrap_or_else(|| panic!("{messages:?}"));
    assert_eq!(m["severity"], "warning");
    assert!(m["text"].as_str().unwrap().contains("Batch"));
    assert!(m["advice"]
        .as_str()
        .unwrap()
        .contains("simplify the random-effects structure"));
}

#[test]
fn text_summary_prints_the_messages_after_the_summary() {
    let out = run(&[
        "fit",
        &data("dyestuff2.csv"),
        "--formula",
        "Yield ~ 1 + (1 | Batch)",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let summary = text.find("Random effects:").unwrap();
    let diag = text.find("Diagnostics:").expect("no Diagnostics section");
    assert!(diag > summary);
    let rest = &text[diag..];
    assert!(rest.contains("warning [singular]"), "{rest}");
    assert!(rest.contains("advice: "), "{rest}");
}

#[test]
fn influence_lists_groups_and_reports_what_ran() {
    let json = fit_json("sleepstudy.csv", SLEEP, &["--influence"]);
    let d = &json["diagnostics"];
    assert_eq!(d["influence"]["group"], "Subject");
    assert_eq!(d["influence"]["levels"], 18);
    let cutoff = d["influence"]["cutoff"].as_f64().unwrap();
    for g in d["influential_groups"].as_array().unwrap() {
        assert_eq!(g["group"], "Subject");
        assert!(g["level"].is_string());
        assert!(g["cooks_distance"].as_f64().unwrap() > cutoff);
    }
    let capped = fit_json(
        "sleepstudy.csv",
        SLEEP,
        &["--influence=Subject", "--influence-max-levels", "5"],
    );
    assert!(capped["diagnostics"]["influence"].is_null());
    let codes: Vec<&str> = capped["diagnostics"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["code"].as_str())
        .collect();
    assert!(codes.contains(&"influence"), "{codes:?}");
}

#[test]
fn unknown_influence_factor_is_exit_2_with_the_factors() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        SLEEP,
        "--influence=Sbject",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`Sbject`") && err.contains("Subject"), "{err}");
}

#[test]
fn unwritable_plot_directory_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = run(&[
        "fit",
        &data("dyestuff2.csv"),
        "--formula",
        "Yield ~ 1 + (1 | Batch)",
        "--plots",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-a-dir") && err.contains("hint:"), "{err}");
}
