//! The starting values of θ.
use mixedlm_fixtures::synthetic::{design_with_x, random_term, uniform};
use mixedlm_model::{FitOptions, LinearMixedModel, ModelOptions};

/// `y ~ 1 + x + (1 + x | g)`: 40 levels of 12 rows, intercept SD 2, slope SD 0.5,
/// residual SD 1 (relative: θ ≈ (2, 0, 0.5)).
fn slopes_model() -> LinearMixedModel {
    let (levels, per) = (40, 12);
    let n = levels * per;
    let codes: Vec<u32> = (0..n).map(|i| (i / per) as u32).collect();
    let x: Vec<f64> = (0..n).map(|i| 4.0 * uniform(i, 1)).collect();
    // level effects: uniform has variance 1/12, so scale by √12 for unit variance
    let u = |g: usize, salt: u64| uniform(g, salt) * 12f64.sqrt();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            let g = i / per;
            1.0 + 0.3 * x[i] + 2.0 * u(g, 2) + 0.5 * u(g, 3) * x[i] + u(i, 4)
        })
        .collect();
    let mut z = vec![1.0; n];
    z.extend_from_slice(&x);
    let term = random_term("g", levels, codes, z, &["(Intercept)", "x"]);
    LinearMixedModel::new(
        &design_with_x(y, &x, vec![term], None),
        ModelOptions::default(),
    )
    .unwrap()
}

/// The per-level fits' start lands near the optimum, the default fit (BFGS, offered
/// that start) equals a fit from lme4's start, and a scalar term gets no such start.
#[test]
fn the_level_fits_start_is_near_the_optimum() {
    let mut model = slopes_model();
    let start = model.theta_start_level_fits().expect("a start");
    let fit = model.fit(&FitOptions::default()).unwrap();
    let from_lme4 = model
        .fit(&FitOptions {
            start: Some(vec![1.0, 0.0, 1.0]),
            ..Default::default()
        })
        .unwrap();
    assert!((fit.objective - from_lme4.objective).abs() <= 1e-8 * fit.objective.abs());
    for i in [0, 2] {
        let (s, o) = (start[i], fit.theta[i].abs());
        assert!(s > 0.67 * o && s < 1.5 * o, "θ[{i}]: start {s} optimum {o}");
    }
    assert_eq!(start[1], 0.0);
    assert!(fit.optim.evaluations < from_lme4.optim.evaluations);
    let n = 100;
    let codes: Vec<u32> = (0..n).map(|i| (i % 10) as u32).collect();
    let x: Vec<f64> = (0..n).map(|i| uniform(i, 8)).collect();
    let y: Vec<f64> = (0..n).map(|i| uniform(i, 9)).collect();
    let term = random_term("g", 10, codes, vec![1.0; n], &["(Intercept)"]);
    let scalar = LinearMixedModel::new(
        &design_with_x(y, &x, vec![term], None),
        ModelOptions::default(),
    )
    .unwrap();
    assert!(scalar.theta_start_level_fits().is_none());
}
