//! The profiled objective at lme4's θ equals lme4's objective (REML criterion or ML
//! deviance) to 1e-8 relative: validates the deviance evaluation without any optimizer.

use crate::common::{assert_rel, model_design, numbers, result};
use mixedlm_model::{LinearMixedModel, ModelOptions};

fn check(name: &str, reml: bool) {
    let reference = result(name, reml);
    let theta = numbers(&reference["theta"]);
    let want = reference["objective"].as_f64().unwrap();
    let mut model = LinearMixedModel::new(&model_design(name), ModelOptions { reml }).unwrap();
    let got = model.objective(&theta);
    assert_rel(
        &format!("{name} reml={reml} objective at lme4 θ"),
        got,
        want,
        1e-8,
    );
}

macro_rules! at_lme4_theta {
    ($($name:ident: $model:expr, $reml:expr;)*) => {$(
        #[test]
        fn $name() {
            check($model, $reml);
        }
    )*};
}

at_lme4_theta! {
    sleepstudy_slopes_reml: "sleepstudy", true;
    sleepstudy_slopes_ml: "sleepstudy", false;
    sleepstudy_intercept_reml: "sleepstudy_intercept", true;
    sleepstudy_intercept_ml: "sleepstudy_intercept", false;
    sleepstudy_uncorrelated_reml: "sleepstudy_uncorrelated", true;
    sleepstudy_uncorrelated_ml: "sleepstudy_uncorrelated", false;
    dyestuff_reml: "dyestuff", true;
    dyestuff_ml: "dyestuff", false;
    dyestuff2_reml: "dyestuff2", true;
    dyestuff2_ml: "dyestuff2", false;
    penicillin_reml: "penicillin", true;
    penicillin_ml: "penicillin", false;
    pastes_reml: "pastes", true;
    pastes_ml: "pastes", false;
    mathachieve_reml: "mathachieve", true;
    mathachieve_ml: "mathachieve", false;
    cake_reml: "cake", true;
    cake_ml: "cake", false;
}

#[test]
#[ignore = "InstEval has 73,421 rows: run with --release -- --ignored"]
fn insteval_reml() {
    check("insteval", true);
}

#[test]
#[ignore = "InstEval has 73,421 rows: run with --release -- --ignored"]
fn insteval_ml() {
    check("insteval", false);
}

// ---------------------------------------------------------------------------------------
// The analytic gradient against central finite differences of the objective.

use mixedlm_design::{CovarianceKind, Design, RandomTermDesign};

/// Central differences, step 1e-5 · max(1, |θ_i|): truncation ~1e-10 relative, rounding
/// ~1e-8 absolute on objectives of 10^2-10^4.
fn fd_gradient(model: &mut LinearMixedModel, theta: &[f64]) -> Vec<f64> {
    (0..theta.len())
        .map(|i| {
            let h = 1e-5 * theta[i].abs().max(1.0);
            let mut tp = theta.to_vec();
            tp[i] += h;
            let fp = model.objective(&tp);
            tp[i] -= 2.0 * h;
            let fm = model.objective(&tp);
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

/// The gradient agrees with finite differences to 1e-5 · max(1, |g|) at θ.
fn check_gradient(what: &str, model: &mut LinearMixedModel, theta: &[f64]) {
    assert!(model.has_gradient(), "{what}: gradient not offered");
    let fd = fd_gradient(model, theta);
    let mut g = vec![f64::NAN; theta.len()];
    assert!(model.gradient(theta, &mut g), "{what}: gradient failed");
    for (i, (a, b)) in g.iter().zip(&fd).enumerate() {
        let tol = 1e-5 * b.abs().max(1.0);
        assert!(
            (a - b).abs() <= tol,
            "{what}: ∂/∂θ{i} analytic {a} vs finite differences {b} (θ = {theta:?})"
        );
    }
}

/// Points away from the optimum: lme4's θ shrunk and shifted, and with every entry's
/// sign flipped (the unbounded solvers cross zero; the objective depends on T T' only).
fn trial_points(theta: &[f64]) -> Vec<Vec<f64>> {
    let moved: Vec<f64> = theta
        .iter()
        .enumerate()
        .map(|(i, t)| 0.7 * t + 0.1 + 0.05 * i as f64)
        .collect();
    let flipped: Vec<f64> = moved.iter().map(|t| -t).collect();
    vec![moved, flipped]
}

#[test]
fn gradient_matches_finite_differences_on_reference_models() {
    for m in mixedlm_fixtures::MODELS
        .iter()
        .filter(|m| m.name != "insteval")
    {
        let nn = m.name;
        for reml in [true, false] {
            let theta = numbers(&m.result(reml)["theta"]);
            let mut model = LinearMixedModel::new(&m.design(), ModelOptions { reml }).unwrap();
            // the dense path for every model (Pastes would otherwise take the nested one)
            model.set_sparse(false);
            for point in trial_points(&theta) {
                check_gradient(&format!("{nn} reml={reml}"), &mut model, &point);
            }
        }
    }
}

/// A copy of sleepstudy's Subject term (`(1 + Days | Subject)`, or its first `k` columns)
/// with other levels: `codes` per row, named `name`, of structure `kind`.
fn with_factor(
    subject: &RandomTermDesign,
    k: usize,
    name: &str,
    codes: Vec<u32>,
    kind: CovarianceKind,
) -> RandomTermDesign {
    let mut t = subject.clone();
    let n_levels = codes.iter().max().map_or(0, |m| *m as usize + 1);
    t.group = name.to_string();
    t.levels = (0..n_levels).map(|l| format!("{name}{l}")).collect();
    t.codes = codes;
    t.covariance = kind;
    t.z.ncols = k;
    t.z.data.truncate(k * t.z.nrows);
    t.names.truncate(k);
    t
}

/// sleepstudy with extra crossed terms: vector terms in the dense block, a diagonal
/// structure, a scalar-identity structure, and prior weights.
fn sleep_variants() -> Vec<(&'static str, Design)> {
    use CovarianceKind::{Diagonal, Scalar, Unstructured};
    let base = model_design("sleepstudy");
    let n = base.n_obs();
    let subject = base.random[0].clone();
    let days = base.x.col(1).to_vec();
    let by_day: Vec<u32> = days.iter().map(|d| *d as u32 % 4).collect();
    let by_row: Vec<u32> = (0..n as u32).map(|i| (i * 7) % 11).collect();
    let mut two_vector = base.clone();
    two_vector.random = vec![
        subject.clone(),
        with_factor(&subject, 2, "d4", by_day, Unstructured),
        with_factor(&subject, 1, "r11", by_row.clone(), Unstructured),
    ];
    let mut structures = base.clone();
    let mut diagonal = subject.clone();
    diagonal.covariance = Diagonal;
    structures.random = vec![diagonal, with_factor(&subject, 2, "r11", by_row, Scalar)];
    let mut weighted = base;
    weighted.weights = Some((0..n).map(|i| 0.5 + (i % 5) as f64 * 0.3).collect());
    vec![
        ("two vector terms", two_vector),
        ("diagonal and scalar-identity", structures),
        ("weights", weighted),
    ]
}

#[test]
fn gradient_matches_finite_differences_with_vector_terms_structures_and_weights() {
    for (what, d) in sleep_variants() {
        for reml in [true, false] {
            let mut model = LinearMixedModel::new(&d, ModelOptions { reml }).unwrap();
            model.set_sparse(false);
            let n = model.n_theta();
            let theta: Vec<f64> = (0..n)
                .map(|i| 0.3 + 0.17 * i as f64 - 0.05 * (i % 3) as f64)
                .collect();
            for point in trial_points(&theta) {
                check_gradient(&format!("{what} reml={reml}"), &mut model, &point);
            }
        }
    }
}
