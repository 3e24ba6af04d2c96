//! Streamed fits (batch designs with frozen levels, accumulated cross-products) against
//! fits in memory: same objective (1e-8 relative) and estimates (1e-6), with 7-row batches
//! so that there are many batches and levels first seen in late batches.

use mixedlm::design::{BatchDesigner, Design, DesignBuilder, DesignError, LevelScan};
use mixedlm::model::{CrossProductSums, FitOptions, LinearMixedModel, LmmFit, ModelOptions};
use mixedlm::{parse_formula, read_table, ModelError, RecordBatch, StreamOptions};
use std::path::PathBuf;

fn data_path(name: &str) -> PathBuf {
    mixedlm_fixtures::data_dir().join(name)
}

fn data(name: &str) -> RecordBatch {
    read_table(&data_path(name), None).unwrap()
}

fn builder(formula: &str) -> DesignBuilder {
    DesignBuilder::new(&parse_formula(formula).unwrap())
}

fn chunks(batch: &RecordBatch, rows: usize) -> Vec<RecordBatch> {
    (0..batch.num_rows())
        .step_by(rows)
        .map(|s| batch.slice(s, rows.min(batch.num_rows() - s)))
        .collect()
}

fn designer(formula: &str, batches: &[RecordBatch]) -> BatchDesigner {
    let mut scan = LevelScan::new(&builder(formula)).unwrap();
    for b in batches {
        scan.observe(b).unwrap();
    }
    scan.finish().unwrap()
}

fn stats_of(designer: &BatchDesigner, batches: &[RecordBatch]) -> CrossProductSums {
    let mut stats = CrossProductSums::new(designer.template()).unwrap();
    for b in batches {
        stats.accumulate(&designer.design(b).unwrap()).unwrap();
    }
    stats
}

fn fit_stats(stats: &CrossProductSums, reml: bool) -> LmmFit {
    let mut m = LinearMixedModel::from_sums(stats, ModelOptions { reml }).unwrap();
    m.fit(&FitOptions::default()).unwrap()
}

fn fit_memory(formula: &str, batch: &RecordBatch, reml: bool) -> (Design, LmmFit) {
    let (design, _) = builder(formula).build(batch).unwrap();
    let mut m = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
    let fit = m.fit(&FitOptions::default()).unwrap();
    (design, fit)
}

fn close(a: f64, b: f64, rel: f64, what: &str) {
    let tol = rel * a.abs().max(b.abs()).max(1.0);
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

/// The same fit from the streamed and the in-memory cross-products. Their sums differ by
/// rounding (other order), and the optimizer's stopping point moves with that by more than
/// the rounding (BFGS stops on a gradient norm: on Pastes θ differs by 2e-6 relative), so
/// the estimates are compared at 1e-5 and the objective at 1e-8; [`check`] compares the
/// objectives at one θ much more tightly.
fn assert_same_fit(s: &LmmFit, m: &LmmFit) {
    close(s.objective, m.objective, 1e-8, "objective");
    assert_eq!(s.fixef_names, m.fixef_names);
    assert_eq!(s.n_obs, m.n_obs);
    assert_eq!(s.npar, m.npar);
    for (what, a, b) in [
        ("fixef", &s.fixef, &m.fixef),
        ("se", &s.se, &m.se),
        ("theta", &s.theta, &m.theta),
    ] {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            close(*x, *y, 1e-5, what);
        }
    }
    close(s.sigma, m.sigma, 1e-5, "sigma");
    close(s.aic, m.aic, 1e-8, "aic");
    close(s.bic, m.bic, 1e-8, "bic");
    for (ts, tm) in s.random.iter().zip(&m.random) {
        assert_eq!(ts.group, tm.group);
        assert_eq!(ts.levels, tm.levels);
        for (a, b) in ts.condval.iter().flatten().zip(tm.condval.iter().flatten()) {
            close(*a, *b, 1e-5, "conditional mode");
        }
        for (a, b) in ts.condsd.iter().flatten().zip(tm.condsd.iter().flatten()) {
            close(*a, *b, 1e-5, "conditional SD");
        }
    }
    assert!(s.fitted.is_empty() && s.residuals.is_empty());
}

fn check(file: &str, formula: &str) {
    let all = data(file);
    let batches = chunks(&all, 7);
    let d = designer(formula, &batches);
    let stats = stats_of(&d, &batches);
    for reml in [true, false] {
        let (design, memory) = fit_memory(formula, &all, reml);
        assert_same_fit(&fit_stats(&stats, reml), &memory);
        // the same objective function: equal at the optimum and away from it
        let mut from_memory = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
        let mut from_sums = LinearMixedModel::from_sums(&stats, ModelOptions { reml }).unwrap();
        let away: Vec<f64> = memory.theta.iter().map(|t| 0.5 * t + 0.3).collect();
        for theta in [&memory.theta, &away] {
            let (a, b) = (from_sums.objective(theta), from_memory.objective(theta));
            close(a, b, 1e-11, "objective at one θ");
        }
    }
}

#[test]
fn streamed_sleepstudy_slopes_matches_memory() {
    check("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)");
}

#[test]
fn streamed_penicillin_crossed_matches_memory() {
    check(
        "penicillin.csv",
        "diameter ~ 1 + (1 | plate) + (1 | sample)",
    );
}

#[test]
fn streamed_pastes_nested_matches_memory() {
    check("pastes.csv", "strength ~ 1 + (1 | batch/cask)");
}

#[test]
fn streamed_fixed_factor_and_uncorrelated_terms_match_memory() {
    check("pastes.csv", "strength ~ cask + (1 | batch)");
    check("sleepstudy.csv", "Reaction ~ Days + (Days || Subject)");
}

#[test]
fn level_first_seen_in_last_batch_is_coded_as_in_memory() {
    // sleepstudy is sorted by Subject: with 10-row batches, subject 372 first appears in
    // the last batches, and the first batch sees one subject only.
    let all = data("sleepstudy.csv");
    let batches = chunks(&all, 10);
    let d = designer("Reaction ~ Days + (Days | Subject)", &batches);
    let first = d.design(&batches[0]).unwrap();
    assert_eq!(first.random[0].levels.len(), 18);
    assert!(first.random[0].codes.iter().all(|&c| c == 0));
    let last = d.design(batches.last().unwrap()).unwrap();
    assert!(last.random[0].codes.iter().all(|&c| c == 17));
    let (memory_design, memory) = fit_memory("Reaction ~ Days + (Days | Subject)", &all, true);
    assert_eq!(
        d.template().random[0].levels,
        memory_design.random[0].levels
    );
    assert_same_fit(&fit_stats(&stats_of(&d, &batches), true), &memory);
}

#[test]
fn merge_of_halves_equals_accumulating_everything() {
    let all = data("penicillin.csv");
    let batches = chunks(&all, 7);
    let formula = "diameter ~ 1 + (1 | plate) + (1 | sample)";
    let d = designer(formula, &batches);
    let whole = stats_of(&d, &batches);
    let (left, right) = batches.split_at(batches.len() / 3);
    let mut merged = stats_of(&d, right);
    merged.merge(&stats_of(&d, left)).unwrap();
    assert_eq!(merged.n_obs(), whole.n_obs());
    let mut a = LinearMixedModel::from_sums(&whole, ModelOptions::default()).unwrap();
    let mut b = LinearMixedModel::from_sums(&merged, ModelOptions::default()).unwrap();
    for theta in [[1.0, 1.0], [0.5, 2.0], [1.5, 0.1]] {
        let (fa, fb) = (a.objective(&theta), b.objective(&theta));
        assert!((fa - fb).abs() <= 1e-12 * fa.abs(), "{fa} vs {fb}");
        assert!(a.evaluate(&theta) && b.evaluate(&theta));
        for (x, y) in a.beta().iter().zip(b.beta()) {
            assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0));
        }
    }
}

#[test]
fn different_codings_do_not_merge_or_accumulate() {
    let all = data("sleepstudy.csv");
    let batches = chunks(&all, 7);
    let slopes = designer("Reaction ~ Days + (Days | Subject)", &batches);
    let mut a = stats_of(&slopes, &batches);
    let intercept = designer("Reaction ~ 1 + (Days | Subject)", &batches);
    let b = stats_of(&intercept, &batches);
    assert!(matches!(a.merge(&b), Err(ModelError::StatsMismatch { .. })));
    // A designer that saw only part of the data codes Subject with fewer levels.
    let partial = designer("Reaction ~ Days + (Days | Subject)", &batches[..5]);
    let err = a.accumulate(&partial.design(&batches[0]).unwrap());
    let msg = err.unwrap_err().to_string();
    assert!(msg.contains("levels of `Subject`"), "{msg}");
    // ... and refuses a batch with a level it did not see.
    let late = partial.design(batches.last().unwrap()).unwrap_err();
    assert!(matches!(late, DesignError::LateLevel { .. }), "{late}");
}

#[test]
fn whole_data_transforms_are_refused_with_a_hint() {
    for f in [
        "Reaction ~ scale(Days) + (1 | Subject)",
        "Reaction ~ poly(Days, 2) + (1 | Subject)",
        "Reaction ~ I(center(Days)^2) + (1 | Subject)",
    ] {
        let err = LevelScan::new(&builder(f)).unwrap_err();
        assert!(matches!(err, DesignError::NeedsWholeData { .. }), "{f}");
        assert!(err.to_string().contains("precompute the column"));
    }
}

#[test]
fn aliased_column_is_dropped_as_in_memory() {
    let formula = "Reaction ~ Days + I(2 * Days) + (1 | Subject)";
    let all = data("sleepstudy.csv");
    let batches = chunks(&all, 7);
    let d = designer(formula, &batches);
    let stats = stats_of(&d, &batches);
    assert_eq!(stats.aliased_columns(), [2]);
    let (design, memory) = fit_memory(formula, &all, true);
    assert_eq!(design.aliased, ["I(2 * Days)"]);
    assert_same_fit(&fit_stats(&stats, true), &memory);
}

#[test]
fn facade_fit_streaming_reads_csv_in_batches() {
    let model = mixedlm::MixedLM::from_formula("strength ~ 1 + (1 | batch/cask)").reml(false);
    let opts = StreamOptions {
        batch_rows: 7,
        ..Default::default()
    };
    let streamed = model.fit_streaming(data_path("pastes.csv"), &opts).unwrap();
    let memory = model.fit_path(data_path("pastes.csv")).unwrap();
    let info = streamed.streaming().unwrap();
    assert_eq!((info.batches, info.passes), (9, 2)); // 60 rows
    assert_same_fit(streamed.fit(), memory.fit());
    assert_eq!(streamed.group_sizes(), memory.group_sizes());
    assert_eq!(streamed.n_groups(), memory.n_groups());
    let text = streamed.summary().to_string();
    assert!(text.contains("Min. group size"));
}

#[test]
fn facade_fit_streaming_reads_parquet_in_batches() {
    let dir = std::env::temp_dir().join(format!("mixedlm-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("penicillin.parquet");
    mixedlm::write_table(&data("penicillin.csv"), &path).unwrap();
    let model = mixedlm::MixedLM::from_formula("diameter ~ 1 + (1 | plate) + (1 | sample)");
    let opts = StreamOptions {
        batch_rows: 11,
        ..Default::default()
    };
    let streamed = model.fit_streaming(&path, &opts);
    let memory = model.fit_path(data_path("penicillin.csv")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let streamed = streamed.unwrap();
    assert_eq!(streamed.streaming().unwrap().batches, 14); // 144 rows
    assert_same_fit(streamed.fit(), memory.fit());
}

#[test]
fn streamed_results_refuse_inference_that_needs_rows() {
    let model = mixedlm::MixedLM::from_formula("Reaction ~ Days + (Days | Subject)");
    let streamed = model
        .fit_streaming(data_path("sleepstudy.csv"), &StreamOptions::default())
        .unwrap();
    let err = streamed
        .fixed_effect_tests(mixedlm::Ddf::Satterthwaite)
        .unwrap_err();
    assert!(err.to_string().contains("needs the data rows"), "{err}");
    assert!(streamed.ml_loglik().is_err());
    let z = streamed.fixed_effect_tests(mixedlm::Ddf::Z).unwrap();
    assert_eq!(z.len(), 2);
    assert!(!streamed.conditional_modes().is_empty());
}

#[test]
fn streamed_results_refuse_diagnostics_and_plots_with_a_hint() {
    let model = mixedlm::MixedLM::from_formula("Reaction ~ Days + (Days | Subject)");
    let mut streamed = model
        .fit_streaming(data_path("sleepstudy.csv"), &StreamOptions::default())
        .unwrap();
    let err = streamed
        .diagnostics(&mixedlm::diagnostics::DiagnosticsOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("fit in memory"), "{err}");
    let err = streamed.plot_input().unwrap_err();
    assert!(err.to_string().contains("no residuals"), "{err}");
}

#[test]
fn weights_and_offset_match_memory() {
    use mixedlm::arrow_array::{ArrayRef, Float64Array};
    let base = data("sleepstudy.csv");
    let n = base.num_rows();
    let w: ArrayRef = std::sync::Arc::new(Float64Array::from_iter_values(
        (0..n).map(|i| 0.5 + (i % 5) as f64 / 4.0),
    ));
    let off: ArrayRef = std::sync::Arc::new(Float64Array::from_iter_values(
        (0..n).map(|i| (i % 3) as f64 * 10.0),
    ));
    let mut cols = base.columns().to_vec();
    cols.extend([w, off]);
    let mut fields: Vec<_> = base.schema().fields().iter().cloned().collect();
    for name in ["w", "off"] {
        let f = arrow_schema::Field::new(name, arrow_schema::DataType::Float64, true);
        fields.push(std::sync::Arc::new(f));
    }
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
    let all = RecordBatch::try_new(schema, cols).unwrap();
    let formula = "Reaction ~ Days + offset(off) + (Days | Subject)";
    let b = builder(formula).weights("w");
    let batches = chunks(&all, 7);
    let mut scan = LevelScan::new(&b).unwrap();
    for x in &batches {
        scan.observe(x).unwrap();
    }
    let d = scan.finish().unwrap();
    let stats = stats_of(&d, &batches);
    assert!(stats.sum_log_weights() != 0.0);
    let (design, _) = b.build(&all).unwrap();
    for reml in [true, false] {
        let mut m = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
        let memory = m.fit(&FitOptions::default()).unwrap();
        assert_same_fit(&fit_stats(&stats, reml), &memory);
    }
}
