//! Prior weights, offsets, duplicated data and input validation.

use crate::common::{assert_rel, model_design};
use mixedlm_design::Design;
use mixedlm_model::{FitOptions, LinearMixedModel, ModelError, ModelOptions};

const SLEEP_THETA: [f64; 3] = [0.9667, 0.0152, 0.2309];

fn model(design: &Design, reml: bool) -> LinearMixedModel {
    LinearMixedModel::new(design, ModelOptions { reml }).unwrap()
}

#[test]
fn sleepstudy_unit_weights_equal_unweighted() {
    let plain = model_design("sleepstudy");
    let mut weighted = plain.clone();
    weighted.weights = Some(vec![1.0; plain.n_obs()]);
    for reml in [true, false] {
        let (a, b) = (
            model(&plain, reml).objective(&SLEEP_THETA),
            model(&weighted, reml).objective(&SLEEP_THETA),
        );
        assert_rel("objective with unit weights", b, a, 1e-12);
    }
}

/// All weights c: the same distribution of y with θ_w = θ / √c and σ_w = √c σ, so with
/// lme4's −Σ log w term the objective is unchanged, for REML and ML.
#[test]
fn sleepstudy_constant_weights_rescale_theta_and_sigma() {
    let plain = model_design("sleepstudy");
    let c: f64 = 3.0;
    let mut weighted = plain.clone();
    weighted.weights = Some(vec![c; plain.n_obs()]);
    for reml in [true, false] {
        let scaled: Vec<f64> = SLEEP_THETA.iter().map(|t| t / c.sqrt()).collect();
        let a = model(&plain, reml).objective(&SLEEP_THETA);
        let b = model(&weighted, reml).objective(&scaled);
        assert_rel("objective with constant weights", b, a, 1e-10);
        let fa = model(&plain, reml).fit(&FitOptions::default()).unwrap();
        let fb = model(&weighted, reml).fit(&FitOptions::default()).unwrap();
        assert_rel("sigma", fb.sigma, fa.sigma * c.sqrt(), 1e-4);
        for (x, y) in fb.fixef.iter().zip(&fa.fixef) {
            assert_rel("fixef", *x, *y, 1e-5);
        }
        assert_rel(
            "Subject intercept SD",
            fb.random[0].covariance.std_devs[0],
            fa.random[0].covariance.std_devs[0],
            1e-3,
        );
    }
}

/// Weight 2 on a row is, at a given θ, the same penalized least-squares system as the row
/// entered twice: β(θ), r²(θ) and log|Lzz|² agree; only N and Σ log w differ.
#[test]
fn sleepstudy_weight_two_equals_duplicated_rows_at_fixed_theta() {
    let plain = model_design("sleepstudy");
    let n = plain.n_obs();
    let twice: Vec<usize> = (0..n).filter(|i| i % 3 == 0).collect();
    let mut weighted = plain.clone();
    weighted.weights = Some((0..n).map(|i| if i % 3 == 0 { 2.0 } else { 1.0 }).collect());
    let dup = append_rows(&plain, &twice);
    let (mut a, mut b) = (model(&weighted, false), model(&dup, false));
    assert!(a.evaluate(&SLEEP_THETA) && b.evaluate(&SLEEP_THETA));
    for (x, y) in a.beta().iter().zip(b.beta()) {
        assert_rel("beta", *x, y, 1e-10);
    }
    assert_rel("pwrss", a.pwrss(), b.pwrss(), 1e-10);
    assert_rel("logdet", a.logdet_z(), b.logdet_z(), 1e-10);
}

/// Data duplicated 10×: the cross-products are 10 A, so at θ the factor equals the
/// unduplicated one at √10 θ (r² scaled by 10), and the objective follows with N → 10 N.
#[test]
fn sleepstudy_duplicated_tenfold_objective_as_expected() {
    let plain = model_design("sleepstudy");
    let all: Vec<usize> = (0..plain.n_obs()).collect();
    let mut dup = plain.clone();
    for _ in 0..9 {
        dup = append_rows(&dup, &all);
    }
    let k = 10.0_f64;
    let scaled: Vec<f64> = SLEEP_THETA.iter().map(|t| t * k.sqrt()).collect();
    let (mut a, mut b) = (model(&plain, false), model(&dup, false));
    assert!(a.evaluate(&scaled) && b.evaluate(&SLEEP_THETA));
    assert_rel("logdet", b.logdet_z(), a.logdet_z(), 1e-10);
    assert_rel("pwrss", b.pwrss(), k * a.pwrss(), 1e-10);
    let n = k * plain.n_obs() as f64;
    let expected = a.logdet_z() + n * (1.0 + (2.0 * std::f64::consts::PI * k * a.pwrss() / n).ln());
    assert_rel(
        "objective of 10× data",
        b.objective(&SLEEP_THETA),
        expected,
        1e-10,
    );
}

#[test]
fn sleepstudy_offset_shifts_slope() {
    let plain = model_design("sleepstudy");
    let c = 2.5;
    let mut shifted = plain.clone();
    shifted.offset = Some(plain.x.col(1).iter().map(|d| c * d).collect());
    for reml in [true, false] {
        let fa = model(&plain, reml).fit(&FitOptions::default()).unwrap();
        let fb = model(&shifted, reml).fit(&FitOptions::default()).unwrap();
        assert_rel("objective", fb.objective, fa.objective, 1e-8);
        assert_rel("intercept", fb.fixef[0], fa.fixef[0], 1e-5);
        assert_rel("Days", fb.fixef[1] + c, fa.fixef[1], 1e-5);
        for (x, y) in fb.fitted.iter().zip(&fa.fitted) {
            assert!((x - y).abs() < 1e-4, "fitted with offset {x} vs {y}");
        }
    }
}

#[test]
fn sleepstudy_set_response_matches_new_model() {
    let plain = model_design("sleepstudy");
    let mut other = plain.clone();
    other
        .y
        .iter_mut()
        .enumerate()
        .for_each(|(i, y)| *y += (i % 7) as f64 * 3.0);
    let mut a = model(&plain, true);
    a.set_response(&other.y).unwrap();
    let b = model(&other, true).objective(&SLEEP_THETA);
    assert_rel(
        "objective after set_response",
        a.objective(&SLEEP_THETA),
        b,
        1e-12,
    );
    assert!(matches!(
        a.set_response(&[1.0]),
        Err(ModelError::DimensionMismatch { .. })
    ));
}

#[test]
fn invalid_designs_are_typed_errors() {
    let plain = model_design("dyestuff");
    let opts = ModelOptions::default();
    let mut none = plain.clone();
    none.random.clear();
    assert!(matches!(
        LinearMixedModel::new(&none, opts),
        Err(ModelError::NoRandomTerms)
    ));
    let mut one = plain.clone();
    one.random[0].levels = one.random[0].levels[..1].into();
    one.random[0].codes.fill(0);
    assert!(matches!(
        LinearMixedModel::new(&one, opts),
        Err(ModelError::TooFewLevels { levels: 1, .. })
    ));
    let mut nan = plain.clone();
    nan.y[3] = f64::NAN;
    assert!(matches!(
        LinearMixedModel::new(&nan, opts),
        Err(ModelError::NonFinite { row: 3, .. })
    ));
    let mut w = plain.clone();
    w.weights = Some(vec![0.0; plain.n_obs()]);
    assert!(matches!(
        LinearMixedModel::new(&w, opts),
        Err(ModelError::NonPositiveWeight { .. })
    ));
    let mut m = model(&plain, true);
    assert!(m.objective(&[1.0, 2.0]).is_nan());
    assert!(m.objective(&[f64::NAN]).is_nan());
    let start = FitOptions {
        start: Some(vec![1.0, 1.0]),
        ..FitOptions::default()
    };
    assert!(matches!(m.fit(&start), Err(ModelError::ThetaLength { .. })));
}

/// The design with the given rows appended once more (same groups).
fn append_rows(d: &Design, rows: &[usize]) -> Design {
    let mut out = d.clone();
    let n = d.n_obs();
    let extend_cols = |m: &mixedlm_design::DenseMatrix| {
        let mut data = Vec::new();
        for c in 0..m.ncols {
            data.extend_from_slice(m.col(c));
            data.extend(rows.iter().map(|&i| m.get(i, c)));
        }
        mixedlm_design::DenseMatrix {
            nrows: n + rows.len(),
            ncols: m.ncols,
            data,
        }
    };
    out.y.extend(rows.iter().map(|&i| d.y[i]));
    out.x = extend_cols(&d.x);
    for (t, src) in out.random.iter_mut().zip(&d.random) {
        t.codes.extend(rows.iter().map(|&i| src.codes[i]));
        t.z = extend_cols(&src.z);
    }
    out.row_index = (0..out.y.len()).collect();
    out
}
