//! Prediction, simulation, bootstrap and variance-component SEs.

use crate::common::{reference_design, rel, result, theta};
use mixedlm_design::DenseMatrix;
use mixedlm_inference::{
    bootstrap, predict, satterthwaite, simulate_responses, variance_component_se, BootstrapOptions,
    DenseLmm, DenseRefit, NewLevelPolicy, NewRows, NewTermRows, PredictionInput,
};
use std::sync::atomic::{AtomicUsize, Ordering};

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The first `n` rows of a design as new data (codes as seen).
fn head_as_new(id: &str, n: usize) -> NewRows {
    let d = reference_design(id);
    let sub = |m: &DenseMatrix| DenseMatrix {
        nrows: n,
        ncols: m.ncols,
        data: (0..m.ncols).flat_map(|j| m.col(j)[..n].to_vec()).collect(),
    };
    NewRows {
        x: sub(&d.x),
        terms: d
            .random
            .iter()
            .map(|r| NewTermRows {
                z: sub(&r.z),
                codes: r.codes[..n].iter().map(|&c| Some(c)).collect(),
                labels: r.codes[..n]
                    .iter()
                    .map(|&c| r.levels[c as usize].clone())
                    .collect(),
            })
            .collect(),
    }
}

#[test]
fn conditional_predictions_reproduce_lme4_fitted_values() {
    for id in [
        "sleepstudy",
        "sleepstudy_uncorrelated",
        "penicillin",
        "pastes",
        "cake",
    ] {
        let r = result(id, true);
        let model = DenseLmm::new(&reference_design(id), true).unwrap();
        let input = PredictionInput::from_dense(&model, &theta(&r)).unwrap();
        let want = f64s(&r["fitted_head"]);
        let pred = predict(&input, &head_as_new(id, want.len()), NewLevelPolicy::Error).unwrap();
        for (g, w) in pred.conditional.iter().zip(&want) {
            assert!(rel(*g, *w) < 1e-6, "model {id}: fitted {g} vs {w}");
        }
    }
}

#[test]
fn population_se_uses_vcov_of_beta() {
    let r = result("sleepstudy", true);
    let model = DenseLmm::new(&reference_design("sleepstudy"), true).unwrap();
    let input = PredictionInput::from_dense(&model, &theta(&r)).unwrap();
    let new = head_as_new("sleepstudy", 10);
    let pred = predict(&input, &new, NewLevelPolicy::Population).unwrap();
    let v: Vec<Vec<f64>> = r["vcov_fixef"]
        .as_array()
        .unwrap()
        .iter()
        .map(f64s)
        .collect();
    for i in 0..10 {
        let days = new.x.get(i, 1);
        let want = (v[0][0] + 2.0 * days * v[0][1] + days * days * v[1][1]).sqrt();
        assert!(rel(pred.se_population[i], want) < 1e-5, "row {i}");
        let fe = f64s(&serde_json::json!([
            r["fixef"]["(Intercept)"],
            r["fixef"]["Days"]
        ]));
        assert!(rel(pred.population[i], fe[0] + fe[1] * days) < 1e-6);
    }
}

#[test]
fn unseen_levels_follow_the_policy() {
    let model = DenseLmm::new(&reference_design("sleepstudy"), true).unwrap();
    let input = PredictionInput::from_dense(&model, &theta(&result("sleepstudy", true))).unwrap();
    let mut new = head_as_new("sleepstudy", 3);
    new.terms[0].codes[1] = None;
    new.terms[0].labels[1] = "999".into();
    let pred = predict(&input, &new, NewLevelPolicy::Population).unwrap();
    assert_eq!(pred.conditional[1], pred.population[1]);
    assert_ne!(pred.conditional[0], pred.population[0]);
    let err = predict(&input, &new, NewLevelPolicy::Error).unwrap_err();
    assert!(err.to_string().contains("999"));
}

#[test]
fn simulation_is_reproducible_and_centred() {
    let design = reference_design("sleepstudy");
    let r = result("sleepstudy", true);
    let beta = [
        r["fixef"]["(Intercept)"].as_f64().unwrap(),
        r["fixef"]["Days"].as_f64().unwrap(),
    ];
    let sigma = r["sigma"].as_f64().unwrap();
    let a = simulate_responses(&design, &beta, &theta(&r), sigma, 200, 7).unwrap();
    let b = simulate_responses(&design, &beta, &theta(&r), sigma, 200, 7).unwrap();
    let c = simulate_responses(&design, &beta, &theta(&r), sigma, 1, 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a[0], c[0]);
    // Mean over replicates of row 0 (Days = 0) ≈ β0; SD of the mean ≈ sqrt(37² + 25.6²)/sqrt(200) ≈ 3.2.
    let mean: f64 = a.iter().map(|y| y[0]).sum::<f64>() / 200.0;
    assert!((mean - beta[0]).abs() < 13.0, "mean {mean}");
    assert!(simulate_responses(&design, &beta[..1], &theta(&r), sigma, 1, 1).is_err());
}

#[test]
fn bootstrap_is_deterministic_by_seed() {
    let design = reference_design("dyestuff");
    let r = result("dyestuff", false);
    let model = DenseLmm::new(&design, false).unwrap();
    let th = theta(&r);
    let refit = DenseRefit::new(model, th.clone());
    let params = (
        vec![r["fixef"]["(Intercept)"].as_f64().unwrap()],
        th,
        r["sigma"].as_f64().unwrap(),
    );
    let opts = BootstrapOptions {
        nsim: 24,
        seed: 11,
        level: 0.9,
    };
    let calls = AtomicUsize::new(0);
    let progress = |_d: usize, t: usize| {
        assert_eq!(t, 24);
        calls.fetch_add(1, Ordering::Relaxed);
    };
    let a = bootstrap(
        &refit,
        &design,
        (&params.0, &params.1, params.2),
        &opts,
        &progress,
    )
    .unwrap();
    let b = bootstrap(
        &refit,
        &design,
        (&params.0, &params.1, params.2),
        &opts,
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 24);
    assert_eq!(a, b);
    assert_eq!(a.n_failed, 0);
    assert_eq!(a.names, ["sd_(Intercept)|Batch", "sigma", "(Intercept)"]);
    for (ci, est) in a.intervals.iter().zip([37.26, 49.51, 1527.5]) {
        assert!(ci.lower < ci.upper, "{ci:?}");
        assert!(
            ci.lower < est * 1.5 && ci.upper > est * 0.5,
            "{ci:?} vs {est}"
        );
    }
    let c = bootstrap(
        &refit,
        &design,
        (&params.0, &params.1, params.2),
        &BootstrapOptions { seed: 12, ..opts },
        &|_, _| {},
    )
    .unwrap();
    assert_ne!(a.estimates, c.estimates);
}

#[test]
fn variance_component_se_agrees_with_the_delta_method() {
    let r = result("sleepstudy", true);
    let model = DenseLmm::new(&reference_design("sleepstudy"), true).unwrap();
    let th = theta(&r);
    let vc = variance_component_se(&model, &th).unwrap();
    let names: Vec<&str> = vc.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "var_(Intercept)|Subject",
            "cov_Days.(Intercept)|Subject",
            "var_Days|Subject",
            "var_Residual"
        ]
    );
    let sigma = r["sigma"].as_f64().unwrap();
    assert!(rel(vc[3].estimate, sigma * sigma) < 1e-6);
    // Var(σ̂²) = (2σ)² Var(σ̂) at the optimum: compare with Satterthwaite's A.
    let s = satterthwaite(&model, &th, true).unwrap();
    let want = 2.0 * sigma * s.varpar_cov[(3, 3)].sqrt();
    eprintln!("se(var_Residual) {} vs delta {}", vc[3].se, want);
    assert!(rel(vc[3].se, want) < 1e-3);
    assert!(vc.iter().all(|v| v.se.is_finite() && v.se > 0.0));
}
