//! The sparse path of the objective (later terms' block factored by a supernodal sparse
//! Cholesky in a fill-reducing order) equals the dense path to 1e-11 relative, at lme4's
//! θ and at points around it, on every reference model with crossed or nested terms.

use crate::common::{model_design, numbers, result};
use mixedlm_model::{FitOptions, LinearMixedModel, ModelOptions};

fn thetas(nn: &str) -> Vec<Vec<f64>> {
    let opt = numbers(&result(nn, true)["theta"]);
    let mut out = vec![opt.clone(), vec![1.0; opt.len()]];
    for (i, f) in [0.5, 1.7, 3.0].into_iter().enumerate() {
        out.push(
            opt.iter()
                .enumerate()
                .map(|(j, v)| v * f + 0.05 * ((i + j) % 3) as f64)
                .collect(),
        );
    }
    out
}

fn check(nn: &str) {
    let design = model_design(nn);
    let mut dense = LinearMixedModel::new(&design, ModelOptions { reml: true }).unwrap();
    dense.set_sparse(false);
    let mut sparse = LinearMixedModel::new(&design, ModelOptions { reml: true }).unwrap();
    assert!(
        sparse.set_sparse(true),
        "{nn} qualifies for the sparse path"
    );
    for theta in thetas(nn) {
        let (a, b) = (dense.objective(&theta), sparse.objective(&theta));
        let rel = (a - b).abs() / a.abs();
        assert!(rel < 1e-11, "{nn} θ {theta:?}: dense {a} sparse {b}");
    }
    // the same fit either way
    let fd = dense.fit(&FitOptions::default()).unwrap();
    let fs = sparse.fit(&FitOptions::default()).unwrap();
    let rel = (fd.objective - fs.objective).abs() / fd.objective.abs();
    assert!(
        rel < 1e-9,
        "{nn} fit: dense {} sparse {}",
        fd.objective,
        fs.objective
    );
    assert!((fd.fixef[0] - fs.fixef[0]).abs() <= 1e-6 * fd.fixef[0].abs());
}

#[test]
fn sleepstudy_uncorrelated_sparse_equals_dense() {
    check("sleepstudy_uncorrelated");
}

#[test]
fn penicillin_sparse_equals_dense() {
    check("penicillin");
}

#[test]
fn pastes_sparse_equals_dense() {
    check("pastes");
}

#[test]
fn singular_slope_model_has_no_sparse_path() {
    // one random-effects term only: nothing after term 1 to factor sparsely
    let mut m =
        LinearMixedModel::new(&model_design("sleepstudy"), ModelOptions { reml: true }).unwrap();
    assert!(!m.set_sparse(true));
}

#[test]
#[ignore = "InstEval (73k rows): run with --release --ignored"]
fn insteval_sparse_equals_dense() {
    let m = LinearMixedModel::new(&model_design("insteval"), ModelOptions { reml: true }).unwrap();
    assert!(m.uses_sparse(), "InstEval picks the sparse path by default");
    check("insteval");
}
