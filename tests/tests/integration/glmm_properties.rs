//! Properties of GLMM fits that hold whatever the data: a binomial model of 0/1 rows
//! equals the same data aggregated to `cbind(successes, failures)` (same estimates; the
//! log-likelihoods differ by the constant Σ log C(trials, successes)), a proportion with
//! the trials as weights equals `cbind`, and the structured PWLS systems agree with the
//! dense one.

use mixedlm::arrow_array::{Array, Float64Array, StringArray};
use mixedlm::{read_table, Glmm, RecordBatch};
use std::path::PathBuf;
use std::sync::Arc;

fn cbpp() -> RecordBatch {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/glmm/cbpp.csv");
    read_table(&p, None).unwrap()
}

fn strings(b: &RecordBatch, name: &str) -> Vec<String> {
    let a = b.column_by_name(name).unwrap();
    let s = a.as_any().downcast_ref::<StringArray>().unwrap();
    (0..s.len()).map(|i| s.value(i).to_string()).collect()
}

fn numbers(b: &RecordBatch, name: &str) -> Vec<f64> {
    let a = b.column_by_name(name).unwrap();
    let s = a.as_any().downcast_ref::<Float64Array>().unwrap();
    s.values().to_vec()
}

/// ln C(n, k) by a product (small n).
fn ln_choose(n: f64, k: f64) -> f64 {
    (0..k as usize)
        .map(|i| ((n - i as f64) / (i as f64 + 1.0)).ln())
        .sum()
}

#[test]
fn binary_rows_equal_the_aggregated_cbind_fit() {
    let data = cbpp();
    let (herd, period) = (strings(&data, "herd"), strings(&data, "period"));
    let (inc, size) = (numbers(&data, "incidence"), numbers(&data, "size"));
    let (mut h, mut p, mut y) = (Vec::new(), Vec::new(), Vec::new());
    let mut constant = 0.0;
    for i in 0..herd.len() {
        for j in 0..size[i] as usize {
            h.push(herd[i].clone());
            p.push(period[i].clone());
            y.push(if (j as f64) < inc[i] { 1.0 } else { 0.0 });
        }
        constant += ln_choose(size[i], inc[i]);
    }
    let binary = RecordBatch::try_from_iter([
        ("herd", Arc::new(StringArray::from(h)) as _),
        ("period", Arc::new(StringArray::from(p)) as _),
        ("y", Arc::new(Float64Array::from(y)) as _),
    ])
    .unwrap();
    for nagq in [1, 0] {
        let a = Glmm::new("y ~ period + (1 | herd)", "binomial")
            .nagq(nagq)
            .fit_batch(&binary)
            .unwrap();
        let b = Glmm::new(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            "binomial",
        )
        .nagq(nagq)
        .fit_batch(&data)
        .unwrap();
        for (x, z) in a.fixef().iter().zip(b.fixef()) {
            assert!((x - z).abs() < 2e-5, "nAGQ {nagq}: {x} vs {z}");
        }
        for (x, z) in a.bse_fe().iter().zip(b.bse_fe()) {
            assert!((x - z).abs() < 1e-4 * z, "nAGQ {nagq} SE: {x} vs {z}");
        }
        assert!((a.theta()[0] - b.theta()[0]).abs() < 2e-5);
        let diff = a.llf() - (b.llf() - constant);
        assert!(diff.abs() < 1e-6, "nAGQ {nagq}: logLik difference {diff}");
    }
}

#[test]
fn a_proportion_with_trials_as_weights_equals_cbind() {
    let data = cbpp();
    let a = Glmm::new("I(incidence / size) ~ period + (1 | herd)", "binomial")
        .weights("size")
        .fit_batch(&data)
        .unwrap();
    let b = Glmm::new(
        "cbind(incidence, size - incidence) ~ period + (1 | herd)",
        "binomial",
    )
    .fit_batch(&data)
    .unwrap();
    assert!((a.objective() - b.objective()).abs() < 1e-9);
    for (x, z) in a.fixef().iter().zip(b.fixef()) {
        assert!((x - z).abs() < 1e-9);
    }
}
