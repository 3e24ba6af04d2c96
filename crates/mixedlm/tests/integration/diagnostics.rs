//! `MixedLMResults::diagnostics` and `write_plots` on small data: a singular fit, a badly
//! scaled predictor, more random effects than the data support, influence and its cap,
//! and the plot files.

use mixedlm::diagnostics::{DiagnosticsOptions, MessageKind, PlotFormat, Severity};
use mixedlm::{read_csv_str, read_table, MixedLM, MixedLMResults, RecordBatch};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    mixedlm_fixtures::data_dir().join(name)
}

/// sleepstudy with `Days` multiplied by `scale` and only the rows `keep` accepts
/// (`keep(subject_index, days)`, subjects numbered in order of appearance).
fn sleepstudy(scale: f64, keep: impl Fn(usize, u32) -> bool) -> RecordBatch {
    let text = std::fs::read_to_string(data("sleepstudy.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    let mut subjects: Vec<String> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if !subjects.iter().any(|s| s == f[2]) {
            subjects.push(f[2].to_string());
        }
        let s = subjects.iter().position(|s| s == f[2]).unwrap();
        let days: f64 = f[1].parse().unwrap();
        if keep(s, days as u32) {
            out.push_str(&format!("{},{},{}\n", f[0], days * scale, f[2]));
        }
    }
    read_csv_str(&out).unwrap()
}

fn fit(formula: &str, batch: &RecordBatch, reml: bool) -> MixedLMResults {
    MixedLM::from_formula(formula)
        .reml(reml)
        .fit_batch(batch)
        .unwrap()
}

fn codes(r: &mixedlm::diagnostics::Diagnostics) -> Vec<&'static str> {
    r.messages.iter().map(|m| m.code).collect()
}

#[test]
fn dyestuff2_is_reported_singular_with_advice() {
    let batch = read_table(&data("dyestuff2.csv"), None).unwrap();
    let mut r = fit("Yield ~ 1 + (1 | Batch)", &batch, true);
    assert!(r.singular());
    let report = r.diagnostics(&DiagnosticsOptions::default()).unwrap();
    let m = report
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::Singular)
        .unwrap_or_else(|| panic!("no singular message: {:?}", report.messages));
    assert_eq!((m.severity, m.code), (Severity::Warning, "singular"));
    assert!(m.text.contains("Batch"), "{}", m.text);
    assert!(
        m.advice.contains("simplify the random-effects structure"),
        "{}",
        m.advice
    );
    // The checks leave the model where it was: same objective as before.
    assert!((r.objective() - 161.8283).abs() < 1e-3, "{}", r.objective());
}

#[test]
fn clean_sleepstudy_fit_has_no_warnings() {
    let mut r = fit(
        "Reaction ~ Days + (Days | Subject)",
        &sleepstudy(1.0, |_, _| true),
        true,
    );
    let report = r.diagnostics(&DiagnosticsOptions::default()).unwrap();
    let warnings: Vec<_> = report
        .messages
        .iter()
        .filter(|m| m.severity == Severity::Warning)
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(report.gradient_max_abs.unwrap() < 2e-3);
    assert!(report.hessian_min_eigenvalue.unwrap() > 0.0);
    // lme4: REMLcrit 1743.628; the model is evaluated at θ̂ again after the checks.
    assert!((r.objective() - 1743.628).abs() < 1e-2);
    assert!(report.influence.is_none(), "influence only on request");
}

#[test]
fn days_times_a_million_is_fitted_or_diagnosed_with_rescale_advice() {
    // ML deviance is invariant to rescaling a predictor (REML's is not: log|X'V⁻¹X| moves).
    let plain = fit(
        "Reaction ~ Days + (Days | Subject)",
        &sleepstudy(1.0, |_, _| true),
        false,
    );
    let mut scaled = fit(
        "Reaction ~ Days + (Days | Subject)",
        &sleepstudy(1e6, |_, _| true),
        false,
    );
    assert!((plain.objective() - 1751.939).abs() < 1e-2); // lme4 ML deviance
    let report = scaled.diagnostics(&DiagnosticsOptions::default()).unwrap();
    let fitted_correctly = (scaled.objective() - plain.objective()).abs() < 1e-3;
    let rescale = report
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::Scale && m.advice.contains("divide `Days` by 1e6"));
    assert!(
        fitted_correctly || rescale.is_some(),
        "objective {} vs {}: {:?}",
        scaled.objective(),
        plain.objective(),
        report.messages
    );
    if !fitted_correctly {
        // A wrong optimum must not pass as converged without a warning on the optimum.
        let c = codes(&report);
        assert!(
            c.contains(&"gradient") || c.contains(&"hessian"),
            "{:?}",
            report.messages
        );
    }
}

#[test]
fn more_random_effects_than_observations_are_diagnosed() {
    // 4 subjects × days 0 and 1: 8 observations, 8 random effects in (Days | Subject).
    let tiny = sleepstudy(1.0, |s, d| s < 4 && d < 2);
    let mut r = fit("Reaction ~ Days + (Days | Subject)", &tiny, true);
    let report = r.diagnostics(&DiagnosticsOptions::default()).unwrap();
    let over: Vec<_> = report
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::Overparameterized)
        .collect();
    assert!(
        over.iter()
            .any(|m| m.text.contains("8 random effects for 8 observations")),
        "{:?}",
        report.messages
    );
    assert!(over.iter().all(|m| m.severity == Severity::Warning));
    assert!(codes(&report).contains(&"few_levels"));
}

#[test]
fn random_slope_on_three_levels_is_diagnosed() {
    let three = sleepstudy(1.0, |s, _| s < 3);
    let mut r = fit("Reaction ~ Days + (Days | Subject)", &three, true);
    let report = r.diagnostics(&DiagnosticsOptions::default()).unwrap();
    let few = report
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::FewLevels)
        .unwrap_or_else(|| panic!("{:?}", report.messages));
    assert!(few.text.contains("only 3 levels"), "{}", few.text);
    assert!(!few.advice.is_empty());
}

#[test]
fn influence_runs_on_request_and_respects_the_level_cap() {
    let batch = sleepstudy(1.0, |_, _| true);
    let mut r = fit("Reaction ~ Days + (Days | Subject)", &batch, true);
    let report = r
        .diagnostics(&DiagnosticsOptions::default().influence(true))
        .unwrap();
    let summary = report.influence.as_ref().unwrap();
    assert_eq!((summary.group.as_str(), summary.levels), ("Subject", 18));
    assert_eq!(summary.failed, 0);
    assert!((summary.cutoff - 4.0 / 18.0).abs() < 1e-12);
    let d = summary.max_cooks_distance.unwrap();
    assert!(d > 0.0 && d.is_finite());
    assert!(report
        .influential_groups
        .iter()
        .all(|g| g.cooks_distance > summary.cutoff && g.group == "Subject"));

    let capped = r
        .diagnostics(
            &DiagnosticsOptions::default()
                .influence(true)
                .max_influence_levels(10),
        )
        .unwrap();
    assert!(capped.influence.is_none());
    assert!(capped.messages.iter().any(
        |m| m.kind == MessageKind::Influence && m.advice.contains("--influence-max-levels 18")
    ));

    let e = r
        .diagnostics(&DiagnosticsOptions::default().influence_group("Nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`Nope`") && e.contains("Subject"), "{e}");
}

#[test]
fn write_plots_names_files_by_kind_and_factor() {
    let batch = read_table(&data("pastes.csv"), None).unwrap();
    let r = fit("strength ~ 1 + (1 | batch/cask)", &batch, true);
    let dir = std::env::temp_dir().join(format!("mixedlm-facade-plots-{}", std::process::id()));
    let files = r.write_plots(&dir, PlotFormat::Svg).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "resid_qq.svg",
        "resid_vs_fitted.svg",
        "scale_location.svg",
        "caterpillar_batch_cask.svg",
        "caterpillar_batch.svg",
        "qq_ranef_batch_Intercept.svg",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
