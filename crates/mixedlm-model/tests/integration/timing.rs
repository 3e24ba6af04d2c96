//! Timing breakdown of whole fits (run in release: `cargo test --release -p mixedlm-model
//! --test integration timing:: -- --ignored --nocapture`). Prints model setup
//! (cross-products), one evaluation, the optimizer and the estimates for sleepstudy,
//! MathAchieve and InstEval, and checks the objective against lme4 (1e-7 relative) so the
//! numbers are for correct fits.

use crate::common::{model_design, numbers, result};
use mixedlm_model::{FitOptions, LinearMixedModel, ModelOptions};
use std::time::Instant;

fn time_model(nn: &str, reps: usize) {
    let design = model_design(nn);
    let want = result(nn, true)["objective"].as_f64().unwrap();
    let mut best = [f64::INFINITY; 4];
    let mut evals = 0;
    let mut objective = 0.0;
    for _ in 0..reps {
        let t0 = Instant::now();
        let mut model = LinearMixedModel::new(&design, ModelOptions { reml: true }).unwrap();
        let t1 = Instant::now();
        let fit = model.fit(&FitOptions::default()).unwrap();
        let t2 = Instant::now();
        let setup = (t1 - t0).as_secs_f64();
        let total = (t2 - t0).as_secs_f64();
        let optim = fit.optim.seconds;
        let estimates = (t2 - t1).as_secs_f64() - optim;
        for (b, v) in best.iter_mut().zip([setup, optim, estimates, total]) {
            *b = b.min(v);
        }
        evals = fit.optim.evaluations;
        objective = fit.objective;
    }
    let per_eval = best[1] / evals as f64;
    eprintln!(
        "{nn}: setup {:.3} ms, optimizer {:.3} ms ({evals} evals, {:.4} ms/eval), estimates {:.3} ms, total {:.3} ms; objective {objective:.10} lme4 {want:.10}",
        best[0] * 1e3,
        best[1] * 1e3,
        per_eval * 1e3,
        best[2] * 1e3,
        best[3] * 1e3
    );
    assert!(objective <= want + 1e-7 * want.abs());
}

#[test]
#[ignore = "timing: run in release with --ignored --nocapture"]
fn timing_small_models() {
    time_model("sleepstudy", 200);
    time_model("mathachieve", 30);
}

#[test]
#[ignore = "timing of InstEval (73k rows): run in release with --ignored --nocapture"]
fn timing_insteval() {
    time_model("insteval", 2);
}

/// Per-evaluation time of InstEval's objective by the sparse and the dense path, measured
/// alternately in the same process (the same machine load for both).
#[test]
#[ignore = "timing of InstEval (73k rows): run in release with --ignored --nocapture"]
fn timing_insteval_sparse_vs_dense() {
    let design = model_design("insteval");
    let theta = numbers(&result("insteval", true)["theta"]);
    let mut models: Vec<LinearMixedModel> = [true, false]
        .into_iter()
        .map(|sparse| {
            let mut m = LinearMixedModel::new(&design, ModelOptions { reml: true }).unwrap();
            assert_eq!(m.set_sparse(sparse), sparse);
            m
        })
        .collect();
    let mut best = [f64::INFINITY; 2];
    let mut values = [0.0; 2];
    for _ in 0..5 {
        for (i, m) in models.iter_mut().enumerate() {
            let t0 = Instant::now();
            for _ in 0..4 {
                values[i] = m.objective(&theta);
            }
            best[i] = best[i].min(t0.elapsed().as_secs_f64() / 4.0);
        }
    }
    eprintln!(
        "InstEval objective at lme4's θ: sparse {:.3} ms, dense {:.3} ms per evaluation ({:.1}x); values {} {}",
        best[0] * 1e3,
        best[1] * 1e3,
        best[1] / best[0],
        values[0],
        values[1]
    );
    assert!((values[0] - values[1]).abs() < 1e-9 * values[1].abs());
}
