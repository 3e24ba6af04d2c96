//! Equivariance of a fit under affine maps of the response and a covariate (issue 28):
//! y -> a y + c and x -> b x + d, with |c|, |d| up to 1e8 and |a|, |b| from about 1e-6 to
//! 1e6, move the estimates as the algebra says, on every factorization path (dense, nested,
//! sparse, streamed), with every optimizer, by ML and by REML.
//!
//! The algebra, for `y ~ 1 + x` plus random intercepts: the transformed model is the same
//! model reparametrized, so at the same θ (= random-effect SD / σ, unchanged) its estimates
//! are β₁' = (a/b) β₁, β₀' = a β₀ + c − (a/b) d β₁, σ' = |a| σ and random-effect SDs |a|
//! times as large. The criterion moves by the log-Jacobian of the map: the density of y' is
//! that of y divided by |a|ⁿ, so the ML deviance gains 2 n log|a|; the REML likelihood
//! also integrates β' = A β + const out, and |det A| = a²/|b| (A maps (β₀, β₁) to (β₀', β₁'))
//! turns that into 2 (n − p) log|a| + 2 log|b| (through log |R_X|², which this checks).
//!
//! Exact data: a, b are ±m·2^e (m ∈ {1, 3, 5, 7}) and the original values lie on a grid of
//! 2^-q, with q chosen per case so that a·y₀ + c and b·x₀ + d are exactly representable in
//! float64 (c and d are rounded to the grid of a·2^-q and b·2^-q). The transformed data set
//! is then exactly the affine image of the original one, and every disagreement is the
//! engine's, not the representation's: with c = 1e8 and a = 1e-6 a continuous y₀ would lose
//! about 2% of its signal to float64 rounding, and no tolerance could tell that loss from
//! an engine error. The grid is coarse only for such extreme cases (2^-5 for y₀ of unit
//! spread when c/a is 1e14), which leaves ordinary data to fit.
//!
//! Two levels of checks and their tolerances (the measured worst cases over the committed
//! cases are in the commit message; each tolerance leaves one to two orders of room):
//! - At the original fit's θ̂ (engine paths), the transformed model's β, σ and criterion
//!   are closed-form functions of the same data, so they agree to rounding:
//!   [`FIXED_THETA_RTOL`] (criterion relative to its magnitude plus |Jacobian|, β in units
//!   of its standard error, plus float64 rounding of the predicted intercept).
//! - The two fits are separate optimizations, each stopping within its own tolerance: the
//!   fixed effects agree to [`FIT_SE_TOL`] standard errors, θ and σ to [`FIT_THETA_TOL`]
//!   and [`FIT_SIGMA_RTOL`], and the criteria (after the Jacobian) to [`FIT_RTOL`].
//!
//! Which path ran is asserted: dense and sparse are the same crossed model with the sparse
//! path switched off or on, nested is `(1 | g/h)` (the engine picks the nested path), the
//! streamed fit reads a Parquet file in batches of 97 rows through the facade (and takes
//! the dense path at this size). Derivative-free optimizers finish with BFGS where the model
//! has a gradient, as the facade fits them.

use mixedlm::design::DesignSpec;
use mixedlm::model::{FitOptions, LinearMixedModel, ModelOptions};
use mixedlm::{MixedLM, MixedLMResults, ModelSpec, OptimizerName, StreamOptions};
use mixedlm_tests::strategies::config;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::sync::Arc;

/// Criterion, β and σ at a fixed θ: sums over n ≈ 300 rows (n ε ≈ 7e-14 relative) and a
/// small factorization on exactly transformed data; 1e-11 leaves a factor 100 for the
/// factorization's growth, far below what cancellation in unshifted sums costs (whole
/// digits: with the shift of y and X disabled this check fails).
const FIXED_THETA_RTOL: f64 = 1e-11;
/// The slope model's Z holds the unshifted x' = b x + d, whose products lose the digits
/// of (|x'|max / spread of x')² to cancellation; the fixed-θ tolerance grows by this many
/// ulps of that ratio (a sum over a few hundred rows).
const Z_CANCELLATION_ULPS: f64 = 256.0;
/// θ of two separate fits (θ is a ratio of SDs, of order one here): the optimizers finish
/// on BFGS with the analytic gradient, whose stopping rule leaves θ within about 1e-5.
const FIT_THETA_TOL: f64 = 1e-4;
/// σ of two separate fits, relative: σ̂(θ) moves with θ by far less than θ's own error.
const FIT_SIGMA_RTOL: f64 = 1e-5;
/// Fixed effects of two separate fits, in standard errors: β̂(θ) moves with θ by a small
/// fraction of its SE per unit of θ.
const FIT_SE_TOL: f64 = 1e-4;
/// Criteria of two separate fits, relative to |criterion| + |Jacobian| (the magnitude each
/// optimizer's relative stopping rule sees): at the optimum a θ error δ costs about
/// n δ², with n ≈ 300 and δ ≤ [`FIT_THETA_TOL`] some 3e-6 against criteria of 1e3-1e4.
const FIT_RTOL: f64 = 1e-9;

/// The random-effects structure, which decides the factorization path.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Path {
    /// Crossed intercepts with the sparse path switched off.
    Dense,
    /// Intercepts of `h` within `g`: the nested path.
    Nested,
    /// Crossed intercepts on the sparse path.
    Sparse,
    /// Crossed intercepts fitted by the facade's streamed route from a Parquet file.
    Streamed,
    /// A correlated random intercept and slope on x, `(1 + x | g)`: one term, the dense
    /// path, and a Z that the map of x changes too.
    Slope,
}

impl Path {
    fn formula(self) -> &'static str {
        match self {
            Path::Nested => "y ~ 1 + x + (1 | g/h)",
            Path::Slope => "y ~ 1 + x + (1 + x | g)",
            _ => "y ~ 1 + x + (1 | g) + (1 | h)",
        }
    }
}

/// One case: a simulated data set and the affine maps of y and x.
#[derive(Clone, Debug)]
struct Case {
    g: Vec<String>,
    h: Vec<String>,
    x: Vec<f64>,
    y: Vec<f64>,
    /// y -> a y + c.
    a: f64,
    c: f64,
    /// x -> b x + d.
    b: f64,
    d: f64,
}

/// ±m·2^e, |value| from 2^-20 (9.5e-7) to 7·2^20 (7.3e6).
fn scale() -> impl Strategy<Value = f64> {
    scale_within(20)
}

/// ±m·2^e with |e| ≤ `max_exponent` and m ∈ {1, 3, 5, 7}.
fn scale_within(max_exponent: i32) -> impl Strategy<Value = f64> {
    (
        prop_oneof![Just(1.0), Just(3.0), Just(5.0), Just(7.0)],
        -max_exponent..=max_exponent,
        any::<bool>(),
    )
        .prop_map(|(m, e, neg)| if neg { -m } else { m } * 2f64.powi(e))
}

/// A shift: zero, moderate, or up to 1e8 (log-uniform), either sign.
fn shift() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        -1e3..1e3f64,
        (0.0..8.0f64, any::<bool>())
            .prop_map(|(l, neg)| if neg { -1.0 } else { 1.0 } * 10f64.powf(l)),
    ]
}

/// The finest grid 2^-q (q ≤ 30) on which v·scale + shift is exact for |v| ≤ `max_abs`,
/// and the shift rounded to the grid of the image.
fn exact_grid(scale: f64, shift: f64, max_abs: f64) -> (f64, f64) {
    // scale = ±m·2^e with m ≤ 7, so unit = 2^(floor(log2|scale|) − 2) divides it and
    // |scale| < 32 unit: every scale·v (v on the grid) and the rounded shift are multiples
    // of unit·2^-q, and their sum is exact while it stays below 2^52 of those steps.
    let unit = 2f64.powf(scale.abs().log2().floor() - 2.0);
    let q = (52.0 - (32.0 * max_abs + shift.abs() / unit).log2().ceil()).min(30.0);
    let step = 2f64.powf(-q);
    let image = unit * step;
    (step, (shift / image).round() * image)
}

/// The cases of `path`, over the full ranges of a, b, c, d. The slope model's x also enters
/// Z: its cases limit b and d unless `full_slope` (see [`SLOPE_SCALE_EXPONENT`]).
fn case(path: Path, full_slope: bool) -> impl Strategy<Value = Case> {
    let far_x = path != Path::Slope || full_slope;
    let b_exponent = if far_x { 20 } else { SLOPE_SCALE_EXPONENT };
    (
        any::<u64>(),
        10usize..16,
        240usize..320,
        scale(),
        shift(),
        scale_within(b_exponent),
        shift(),
        -SLOPE_SHIFT_SDS..SLOPE_SHIFT_SDS,
    )
        .prop_map(move |(seed, groups, n, a, c, b, d, t)| {
            let d = if far_x { d } else { t * b };
            simulate(path, seed, groups, n, (a, c, b, d))
        })
}

/// How far (in units of b, x having unit spread) the slope model's covariate is shifted.
const SLOPE_SHIFT_SDS: f64 = 3.0;
/// The slope model's b is ±m·2^e with |e| at most this (|b| from 1/16 to 112), and d at
/// most [`SLOPE_SHIFT_SDS`] |b|. Beyond that the slope model is not equivariant, for two
/// causes that [`prop_equivariance_slope_far_covariate`] (ignored) shows:
/// - Z's x column is not shifted (only y and X are, `mixedlm-model`'s `shift.rs`), so with
///   x' far from zero the intercept and slope effects on the transformed scale correlate
///   near ±1 (an intercept SD of order |d/b| times the slope's): at |d| ≈ 50-100 |b| the
///   optimizers stop away from the optimum, and say so (`converged` false, scaled gradient
///   above tolerance).
/// - θ is in the units of x': its slope entries scale by 1/b, while the start (T = I) and
///   the optimizers' θ tolerances are absolute. Scaling alone breaks it: the minimal
///   failing case, b = 7·2^20 and d = 0, exhausts BFGS's evaluation budget (reported as not
///   converged); BOBYQA cannot resolve a θ entry below its final radius.
///
/// Both would need Z's columns centred and scaled inside the engine, with θ mapped back
/// (the linear map of `Case::mapped_theta`): not done here.
const SLOPE_SCALE_EXPONENT: i32 = 4;

/// `n` rows: x ~ N(μx, 1), y = β₀ + β₁ x + u_g + u_h + ε with crossed g and h (or h within
/// g for the nested path), then x and y rounded to the exact grids of their maps.
fn simulate(path: Path, seed: u64, groups: usize, n: usize, map: (f64, f64, f64, f64)) -> Case {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let normal = |r: &mut rand::rngs::StdRng| -> f64 { StandardNormal.sample(r) };
    let (b0, b1) = (rng.random_range(-5.0..5.0), rng.random_range(-2.0..2.0));
    let (sd_g, sd_h, sigma) = (
        rng.random_range(0.3..2.0),
        rng.random_range(0.3..2.0),
        rng.random_range(0.5..2.0),
    );
    let mu_x = rng.random_range(-3.0..3.0);
    let h_levels = if path == Path::Nested { 4 } else { 9 };
    let h_count = if path == Path::Nested {
        groups * h_levels
    } else {
        h_levels
    };
    let ug: Vec<f64> = (0..groups).map(|_| sd_g * normal(&mut rng)).collect();
    let uh: Vec<f64> = (0..h_count).map(|_| sd_h * normal(&mut rng)).collect();
    // the slope model's slopes, correlated 0.5 with the intercepts
    let slopes: Vec<f64> = (0..groups)
        .map(|j| 0.5 * sd_h / sd_g * ug[j] + 0.75f64.sqrt() * sd_h * normal(&mut rng))
        .collect();
    let (a, c, b, d) = map;
    let (mut g, mut h, mut x, mut y) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let gi = i % groups;
        // the first rows visit every level, the rest at random
        let hi = if i < h_count {
            i % h_levels
        } else {
            rng.random_range(0..h_levels)
        };
        let xi = mu_x + normal(&mut rng);
        let uh_i = match path {
            Path::Nested => uh[gi * h_levels + hi],
            Path::Slope => slopes[gi] * xi,
            _ => uh[hi],
        };
        g.push(format!("g{gi:02}"));
        h.push(format!("h{hi:02}"));
        x.push(xi);
        y.push(b0 + b1 * xi + ug[gi] + uh_i + sigma * normal(&mut rng));
    }
    let max_abs = |v: &[f64]| v.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (step_x, d) = exact_grid(b, d, max_abs(&x) + 1.0);
    let (step_y, c) = exact_grid(a, c, max_abs(&y) + 1.0);
    x.iter_mut()
        .for_each(|v| *v = (*v / step_x).round() * step_x);
    y.iter_mut()
        .for_each(|v| *v = (*v / step_y).round() * step_y);
    Case {
        g,
        h,
        x,
        y,
        a,
        c,
        b,
        d,
    }
}

impl Case {
    fn batch(&self, transformed: bool) -> mixedlm::RecordBatch {
        use mixedlm::arrow_array::{Float64Array, StringArray};
        let (x, y): (Vec<f64>, Vec<f64>) = if transformed {
            (
                self.x.iter().map(|v| self.b * v + self.d).collect(),
                self.y.iter().map(|v| self.a * v + self.c).collect(),
            )
        } else {
            (self.x.clone(), self.y.clone())
        };
        mixedlm::RecordBatch::try_from_iter([
            ("g", Arc::new(StringArray::from(self.g.clone())) as _),
            ("h", Arc::new(StringArray::from(self.h.clone())) as _),
            ("x", Arc::new(Float64Array::from(x)) as _),
            ("y", Arc::new(Float64Array::from(y)) as _),
        ])
        .expect("equal-length columns")
    }

    /// The criterion's shift from the original data to the transformed ones (module docs).
    fn log_jacobian(&self, reml: bool) -> f64 {
        let n = self.y.len() as f64;
        if reml {
            2.0 * (n - 2.0) * self.a.abs().ln() + 2.0 * self.b.abs().ln()
        } else {
            2.0 * n * self.a.abs().ln()
        }
    }

    /// θ on the transformed scale: unchanged for random intercepts; for `(1 + x | g)` the
    /// random effects map as u' = a L u with L = [[1, −d/b], [0, 1/b]], so Λ' is the lower
    /// triangular factor of L Λ (its first row rotated onto the diagonal: a 2×2 LQ step,
    /// which avoids the cancellation of a Cholesky factor of L ΛΛ' L' when d/b is large).
    fn mapped_theta(&self, path: Path, theta: &[f64]) -> Vec<f64> {
        if path != Path::Slope {
            return theta.to_vec();
        }
        let r = self.d / self.b;
        let (l00, l10, l11) = (theta[0], theta[1], theta[2]);
        let (m00, m01, m10, m11) = (l00 - r * l10, -r * l11, l10 / self.b, l11 / self.b);
        let norm = m00.hypot(m01);
        vec![
            norm,
            (m10 * m00 + m11 * m01) / norm,
            (l00 * l11 / self.b).abs() / norm,
        ]
    }

    /// The fixed-θ tolerance: [`FIXED_THETA_RTOL`], plus for the slope model the
    /// cancellation in Z's products of x' ([`Z_CANCELLATION_ULPS`]).
    fn fixed_theta_tol(&self, path: Path) -> f64 {
        if path != Path::Slope {
            return FIXED_THETA_RTOL;
        }
        let n = self.x.len() as f64;
        let mean = self.x.iter().sum::<f64>() / n;
        let sd = (self.x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let far = self
            .x
            .iter()
            .map(|v| (self.b * v + self.d).abs())
            .fold(0.0, f64::max);
        let ratio = far / (self.b.abs() * sd);
        FIXED_THETA_RTOL + Z_CANCELLATION_ULPS * f64::EPSILON * ratio * ratio
    }

    /// The fixed effects the algebra predicts from the original ones, and the float64
    /// rounding of that prediction (the intercept sums terms up to 1e8 and more).
    fn predicted_beta(&self, beta: &[f64]) -> ([f64; 2], f64) {
        let r = self.a / self.b;
        let b1 = r * beta[1];
        let b0 = self.a * beta[0] + self.c - r * self.d * beta[1];
        let rounding = 8.0
            * f64::EPSILON
            * (self.a * beta[0])
                .abs()
                .max(self.c.abs())
                .max((r * self.d * beta[1]).abs());
        ([b0, b1], rounding)
    }
}

/// ΛΛ' of a 2×2 term from θ = (λ₀₀, λ₁₀, λ₁₁) (lme4's order).
fn rel_cov(theta: &[f64]) -> [[f64; 2]; 2] {
    let (l00, l10, l11) = (theta[0], theta[1], theta[2]);
    [[l00 * l00, l00 * l10], [l00 * l10, l10 * l10 + l11 * l11]]
}

/// The engine's model for `batch` on `path` (not the streamed one), asserting the path.
fn model(
    path: Path,
    batch: &mixedlm::RecordBatch,
    reml: bool,
) -> (LinearMixedModel, ModelSpec, DesignSpec) {
    let spec = ModelSpec::new(path.formula());
    let (design, dspec) = spec.build(batch).expect("simulated data make a design");
    let mut model = LinearMixedModel::from_design(design, ModelOptions { reml })
        .expect("simulated data make a model");
    match path {
        Path::Dense | Path::Slope => assert!(!model.set_sparse(false) && !model.uses_nested()),
        Path::Sparse => assert!(
            model.set_sparse(true),
            "the crossed model takes the sparse path"
        ),
        Path::Nested => assert!(model.uses_nested(), "g/h takes the nested path"),
        Path::Streamed => unreachable!("the streamed route builds its own model"),
    }
    (model, spec, dspec)
}

/// A fit as the facade makes it (a derivative-free optimizer finishes with BFGS where the
/// model has a gradient), on `path`.
fn fit(
    path: Path,
    batch: &mixedlm::RecordBatch,
    reml: bool,
    optimizer: OptimizerName,
) -> MixedLMResults {
    if path == Path::Streamed {
        return streamed(batch, reml, optimizer);
    }
    let (mut m, spec, dspec) = model(path, batch, reml);
    let opts = FitOptions {
        optimizer,
        polish: optimizer.is_derivative_free(),
        ..FitOptions::default()
    };
    let fit = m.fit(&opts).expect("the fit runs");
    MixedLMResults::new(m, fit, dspec, spec)
}

/// The facade's streamed fit from a Parquet file read in batches of 97 rows (so the
/// cross-product sums merge several batches, each shifted as the first one fixed).
fn streamed(batch: &mixedlm::RecordBatch, reml: bool, optimizer: OptimizerName) -> MixedLMResults {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("data.parquet");
    mixedlm::write_table(batch, &file).expect("write parquet");
    let fit = MixedLM::from_formula(Path::Streamed.formula())
        .reml(reml)
        .method(optimizer.as_str())
        .fit_streaming(
            &file,
            &StreamOptions {
                batch_rows: 97,
                ..Default::default()
            },
        )
        .expect("the streamed fit runs");
    assert!(fit.streaming().is_some_and(|s| s.batches > 1));
    fit
}

/// β, σ and the criterion of the transformed data at the original fit's θ̂ against the
/// algebra, to rounding.
fn check_fixed_theta(
    path: Path,
    case: &Case,
    reml: bool,
    original: &MixedLMResults,
) -> Result<(), TestCaseError> {
    let (mut m, _, _) = model(path, &case.batch(true), reml);
    prop_assert_eq!(m.n_fixed(), 2, "the transformed x is kept (not aliased)");
    let value = m.objective(&case.mapped_theta(path, original.theta()));
    let tol = case.fixed_theta_tol(path);
    let want = original.objective() + case.log_jacobian(reml);
    let scale = original.objective().abs() + case.log_jacobian(reml).abs();
    prop_assert!(
        (value - want).abs() <= tol * scale,
        "criterion at θ̂ {value} vs {want} (diff {:e})",
        value - want
    );
    prop_assert!(
        (m.sigma() - case.a.abs() * original.sigma()).abs()
            <= tol * case.a.abs() * original.sigma(),
        "σ at θ̂ {} vs {}",
        m.sigma(),
        case.a.abs() * original.sigma()
    );
    let ([w0, w1], rounding) = case.predicted_beta(original.fe_params());
    let beta = m.beta();
    let se = original.bse_fe();
    let r = (case.a / case.b).abs();
    prop_assert!(
        (beta[1] - w1).abs() <= tol * r * se[1].max(original.fe_params()[1].abs()),
        "slope at θ̂ {} vs {w1}",
        beta[1]
    );
    let se0 = case.a.abs() * se[0] + r * case.d.abs() * se[1];
    prop_assert!(
        (beta[0] - w0).abs() <= tol * se0 + rounding,
        "intercept at θ̂ {} vs {w0}",
        beta[0]
    );
    Ok(())
}

/// The two fits against the algebra, to the optimizers' accuracy.
fn check_fits(
    path: Path,
    case: &Case,
    reml: bool,
    original: &MixedLMResults,
    transformed: &MixedLMResults,
) -> Result<(), TestCaseError> {
    let tag = format!(
        "reml {reml}, a {:e} c {:e} b {:e} d {:e}",
        case.a, case.c, case.b, case.d
    );
    prop_assert!(
        original.converged() && transformed.converged(),
        "{tag}: converged {:?} {:?}",
        original.convergence_failure(),
        transformed.convergence_failure()
    );
    let jac = case.log_jacobian(reml);
    let want = original.objective() + jac;
    let scale = original.objective().abs() + jac.abs();
    prop_assert!(
        (transformed.objective() - want).abs() <= FIT_RTOL * scale,
        "{tag}: criterion {} vs {want} (diff {:e})",
        transformed.objective(),
        transformed.objective() - want
    );
    let a = case.a.abs();
    prop_assert!(
        (transformed.sigma() - a * original.sigma()).abs() <= FIT_SIGMA_RTOL * a * original.sigma(),
        "{tag}: σ {} vs {}",
        transformed.sigma(),
        a * original.sigma()
    );
    if path == Path::Slope {
        // ΛΛ' entrywise, in units of the predicted SDs' product (θ's accuracy, twice).
        let (got, want) = (
            rel_cov(transformed.theta()),
            rel_cov(&case.mapped_theta(path, original.theta())),
        );
        for (i, j) in [(0, 0), (1, 0), (1, 1)] {
            let unit = (want[i][i] * want[j][j]).sqrt();
            prop_assert!(
                (got[i][j] - want[i][j]).abs() <= 2.0 * FIT_THETA_TOL * unit,
                "{tag}: ΛΛ' {got:?} vs {want:?}"
            );
        }
    } else {
        for (t, o) in transformed.theta().iter().zip(original.theta()) {
            prop_assert!(
                (t - o).abs() <= FIT_THETA_TOL,
                "{tag}: θ {:?} vs {:?}",
                transformed.theta(),
                original.theta()
            );
        }
    }
    let ([w0, w1], rounding) = case.predicted_beta(original.fe_params());
    let (beta, se) = (transformed.fe_params(), transformed.bse_fe());
    prop_assert!(
        (beta[1] - w1).abs() <= FIT_SE_TOL * se[1],
        "{tag}: slope {} vs {w1} (se {})",
        beta[1],
        se[1]
    );
    prop_assert!(
        (beta[0] - w0).abs() <= FIT_SE_TOL * se[0] + rounding,
        "{tag}: intercept {} vs {w0} (se {})",
        beta[0],
        se[0]
    );
    Ok(())
}

fn equivariance(path: Path, optimizer: OptimizerName, case: &Case) -> Result<(), TestCaseError> {
    for reml in [false, true] {
        let original = fit(path, &case.batch(false), reml, optimizer);
        // A singular slope fit lies on a boundary face where small data sets often have
        // several local optima (prop_invariance.rs); equivariance is asked of interior ones.
        prop_assume!(path != Path::Slope || !original.singular());
        let transformed = fit(path, &case.batch(true), reml, optimizer);
        if path != Path::Streamed {
            check_fixed_theta(path, case, reml, &original)?;
        }
        check_fits(path, case, reml, &original, &transformed)?;
    }
    Ok(())
}

macro_rules! equivariance_tests {
    ($($name:ident: $path:expr, $optimizer:expr;)*) => {
        proptest! {
            #![proptest_config(config(16))]
            $(
                #[test]
                fn $name(case in case($path, false)) {
                    equivariance($path, $optimizer, &case)?;
                }
            )*
        }
    };
}

equivariance_tests! {
    prop_equivariance_dense_bfgs: Path::Dense, OptimizerName::Bfgs;
    prop_equivariance_dense_bobyqa: Path::Dense, OptimizerName::Bobyqa;
    prop_equivariance_dense_nelder_mead: Path::Dense, OptimizerName::NelderMead;
    prop_equivariance_dense_powell: Path::Dense, OptimizerName::Powell;
    prop_equivariance_nested_bfgs: Path::Nested, OptimizerName::Bfgs;
    prop_equivariance_nested_bobyqa: Path::Nested, OptimizerName::Bobyqa;
    prop_equivariance_nested_nelder_mead: Path::Nested, OptimizerName::NelderMead;
    prop_equivariance_nested_powell: Path::Nested, OptimizerName::Powell;
    prop_equivariance_sparse_bfgs: Path::Sparse, OptimizerName::Bfgs;
    prop_equivariance_sparse_bobyqa: Path::Sparse, OptimizerName::Bobyqa;
    prop_equivariance_sparse_nelder_mead: Path::Sparse, OptimizerName::NelderMead;
    prop_equivariance_sparse_powell: Path::Sparse, OptimizerName::Powell;
    prop_equivariance_streamed_bfgs: Path::Streamed, OptimizerName::Bfgs;
    prop_equivariance_streamed_bobyqa: Path::Streamed, OptimizerName::Bobyqa;
    prop_equivariance_streamed_nelder_mead: Path::Streamed, OptimizerName::NelderMead;
    prop_equivariance_streamed_powell: Path::Streamed, OptimizerName::Powell;
    prop_equivariance_slope_bfgs: Path::Slope, OptimizerName::Bfgs;
    prop_equivariance_slope_bobyqa: Path::Slope, OptimizerName::Bobyqa;
    prop_equivariance_slope_nelder_mead: Path::Slope, OptimizerName::NelderMead;
    prop_equivariance_slope_powell: Path::Slope, OptimizerName::Powell;
}

proptest! {
    #![proptest_config(config(8))]

    /// The slope model over the full ranges of b and d: fails (see [`SLOPE_SCALE_EXPONENT`]
    /// for the two causes); run with `--ignored` to see a minimal failing case.
    #[test]
    #[ignore = "(1 + x | g) is not equivariant for x far from zero or badly scaled: Z is not shifted and theta is in x's units"]
    fn prop_equivariance_slope_far_covariate(case in case(Path::Slope, true)) {
        equivariance(Path::Slope, OptimizerName::Bfgs, &case)?;
    }
}

/// The corners of the ranges, which random cases need not draw: |a| and |b| at
/// about 1e-6 and 1e6 with |c| and |d| at 1e8, on every path with every optimizer.
#[test]
fn equivariance_at_the_corners_of_the_ranges() {
    let tiny = 2f64.powi(-20);
    let huge = 7.0 * 2f64.powi(17);
    let corners = [
        (tiny, 1e8, tiny, -1e8),
        (huge, -1e8, huge, 1e8),
        (-tiny, 1e8, huge, 1e8),
        (huge, 1e8, -tiny, -1e8),
    ];
    let paths = [Path::Dense, Path::Nested, Path::Sparse, Path::Streamed];
    let optimizers = [
        OptimizerName::Bfgs,
        OptimizerName::Bobyqa,
        OptimizerName::NelderMead,
        OptimizerName::Powell,
    ];
    for (k, &map) in corners.iter().enumerate() {
        for path in paths {
            let case = simulate(path, 0x28 + k as u64, 12, 280, map);
            for optimizer in optimizers {
                if let Err(e) = equivariance(path, optimizer, &case) {
                    panic!(
                        "{path:?}, {optimizer}, a {:e} c {:e} b {:e} d {:e}: {e}",
                        case.a, case.c, case.b, case.d
                    );
                }
            }
        }
    }
}
