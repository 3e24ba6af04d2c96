//! The profiled objective at lme4's θ equals lme4's objective (REML criterion or ML
//! deviance) to 1e-8 relative: validates the deviance evaluation without any optimizer.

use crate::common::{assert_rel, model_design, numbers, reference};
use mixedlm_model::{LinearMixedModel, ModelOptions};

fn check(nn: u32, reml: bool) {
    let reference = reference(nn, reml);
    let theta = numbers(&reference["theta"]);
    let want = reference["objective"].as_f64().unwrap();
    let mut model = LinearMixedModel::new(&model_design(nn), ModelOptions { reml }).unwrap();
    let got = model.objective(&theta);
    assert_rel(
        &format!("model {nn:02} reml={reml} objective at lme4 θ"),
        got,
        want,
        1e-8,
    );
}

macro_rules! at_lme4_theta {
    ($($name:ident: $nn:expr, $reml:expr;)*) => {$(
        #[test]
        fn $name() {
            check($nn, $reml);
        }
    )*};
}

at_lme4_theta! {
    sleepstudy_slopes_reml: 1, true;
    sleepstudy_slopes_ml: 1, false;
    sleepstudy_intercept_reml: 2, true;
    sleepstudy_intercept_ml: 2, false;
    sleepstudy_uncorrelated_reml: 3, true;
    sleepstudy_uncorrelated_ml: 3, false;
    dyestuff_reml: 4, true;
    dyestuff_ml: 4, false;
    dyestuff2_reml: 5, true;
    dyestuff2_ml: 5, false;
    penicillin_reml: 6, true;
    penicillin_ml: 6, false;
    pastes_reml: 7, true;
    pastes_ml: 7, false;
    mathachieve_reml: 9, true;
    mathachieve_ml: 9, false;
    cake_reml: 10, true;
    cake_ml: 10, false;
}

#[test]
#[ignore = "InstEval has 73,421 rows: run with --release -- --ignored"]
fn insteval_reml() {
    check(8, true);
}

#[test]
#[ignore = "InstEval has 73,421 rows: run with --release -- --ignored"]
fn insteval_ml() {
    check(8, false);
}

// ---------------------------------------------------------------------------------------
// The analytic gradient against central finite differences of the objective.

use crate::common::{design, term, Csv};
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
    for nn in [1, 2, 3, 4, 5, 6, 7, 9, 10] {
        for reml in [true, false] {
            let theta = numbers(&reference(nn, reml)["theta"]);
            let mut model =
                LinearMixedModel::new(&model_design(nn), ModelOptions { reml }).unwrap();
            // the dense path for every model (Pastes would otherwise take the nested one)
            model.set_sparse(false);
            for point in trial_points(&theta) {
                check_gradient(&format!("model {nn:02} reml={reml}"), &mut model, &point);
            }
        }
    }
}

fn with_factor(
    csv: &Csv,
    z: &[&str],
    name: &str,
    codes: Vec<u32>,
    kind: CovarianceKind,
) -> RandomTermDesign {
    let mut t = term(csv, z, &["Subject"], kind);
    let n_levels = codes.iter().max().map_or(0, |m| *m as usize + 1);
    t.group = name.to_string();
    t.levels = (0..n_levels).map(|l| format!("{name}{l}")).collect();
    t.codes = codes;
    t
}

/// sleepstudy with extra crossed terms: vector terms in the dense block, a diagonal
/// structure, a scalar-identity structure, and prior weights.
fn sleep_variants() -> Vec<(&'static str, Design)> {
    use CovarianceKind::{Diagonal, Scalar, Unstructured};
    let c = Csv::read("sleepstudy.csv");
    let days = c.num("Days");
    let fixed = || {
        vec![
            ("(Intercept)".to_string(), vec![1.0; c.n()]),
            ("Days".to_string(), days.clone()),
        ]
    };
    let by_day: Vec<u32> = days.iter().map(|d| *d as u32 % 4).collect();
    let by_row: Vec<u32> = (0..c.n() as u32).map(|i| (i * 7) % 11).collect();
    let two_vector = vec![
        term(&c, &["1", "Days"], &["Subject"], Unstructured),
        with_factor(&c, &["1", "Days"], "d4", by_day.clone(), Unstructured),
        with_factor(&c, &["1"], "r11", by_row.clone(), Unstructured),
    ];
    let structures = vec![
        term(&c, &["1", "Days"], &["Subject"], Diagonal),
        with_factor(&c, &["1", "Days"], "r11", by_row.clone(), Scalar),
    ];
    let mut weighted = design(
        &c,
        "Reaction",
        fixed(),
        vec![term(&c, &["1", "Days"], &["Subject"], Unstructured)],
    );
    weighted.weights = Some((0..c.n()).map(|i| 0.5 + (i % 5) as f64 * 0.3).collect());
    vec![
        (
            "two vector terms",
            design(&c, "Reaction", fixed(), two_vector),
        ),
        (
            "diagonal and scalar-identity",
            design(&c, "Reaction", fixed(), structures),
        ),
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
