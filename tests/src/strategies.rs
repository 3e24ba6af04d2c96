//! proptest strategies over simulated data sets, kept small so failures shrink.

use crate::layout::{GroupSizes, Layout};
use crate::sim::{Covariate, FixedTerm, RandomColumn, RandomSpec, SimSpec};
use proptest::prelude::*;

/// A positive-definite 2×2 covariance (row-major) from SDs and a correlation.
pub fn cov2(sd0: f64, sd1: f64, rho: f64) -> Vec<f64> {
    let c = rho * sd0 * sd1;
    vec![sd0 * sd0, c, c, sd1 * sd1]
}

/// The model `y ~ 1 + x + (1 + x | g)` with `groups` groups of `min..=2 min`
/// rows, x ~ N(0, 1), β = (b0, b1), random-effects covariance `cov` (2×2,
/// row-major) and residual SD `sigma`.
pub fn slope_model(
    seed: u64,
    groups: usize,
    min: usize,
    beta: [f64; 2],
    cov: Vec<f64>,
    sigma: f64,
) -> SimSpec {
    SimSpec {
        seed,
        layout: Layout::Single {
            factor: "g".into(),
            groups,
            sizes: GroupSizes::Uniform { min, max: 2 * min },
            total: None,
        },
        covariates: vec![Covariate::Normal {
            name: "x".into(),
            mean: 0.0,
            sd: 1.0,
        }],
        fixed: vec![
            (FixedTerm::Intercept, beta[0]),
            (FixedTerm::Numeric("x".into()), beta[1]),
        ],
        random: vec![RandomSpec {
            factors: vec!["g".into()],
            columns: vec![RandomColumn::Intercept, RandomColumn::Numeric("x".into())],
            cov,
            uncorrelated: false,
        }],
        sigma,
        response: "y".into(),
        shuffle: true,
    }
}

/// Random-intercept-and-slope designs: `y ~ 1 + x + (1 + x | g)` with
/// `groups` levels of unbalanced size.
pub fn slope_spec(
    groups: std::ops::Range<usize>,
    size: std::ops::Range<usize>,
) -> impl Strategy<Value = SimSpec> {
    (
        any::<u64>(),
        groups,
        size,
        -5.0..5.0f64,
        -2.0..2.0f64,
        0.2..3.0f64,
        0.1..2.0f64,
        -0.7..0.7f64,
        0.3..3.0f64,
    )
        .prop_map(|(seed, g, s, b0, b1, sd0, sd1, rho, sigma)| {
            slope_model(seed, g, s.max(2), [b0, b1], cov2(sd0, sd1, rho), sigma)
        })
}

/// Random-intercept designs `y ~ 1 + x + (1 | g)`, cheap enough for many cases.
pub fn intercept_spec(
    groups: std::ops::Range<usize>,
    size: std::ops::Range<usize>,
) -> impl Strategy<Value = SimSpec> {
    (
        any::<u64>(),
        groups,
        size,
        -5.0..5.0f64,
        -2.0..2.0f64,
        0.3..3.0f64,
        0.3..3.0f64,
    )
        .prop_map(|(seed, g, s, b0, b1, sd, sigma)| SimSpec {
            seed,
            layout: Layout::Single {
                factor: "g".into(),
                groups: g,
                sizes: GroupSizes::Uniform {
                    min: s.max(2),
                    max: 2 * s.max(2),
                },
                total: None,
            },
            covariates: vec![Covariate::Normal {
                name: "x".into(),
                mean: 1.0,
                sd: 1.0,
            }],
            fixed: vec![
                (FixedTerm::Intercept, b0),
                (FixedTerm::Numeric("x".into()), b1),
            ],
            random: vec![RandomSpec {
                factors: vec!["g".into()],
                columns: vec![RandomColumn::Intercept],
                cov: vec![sd * sd],
                uncorrelated: false,
            }],
            sigma,
            response: "y".into(),
            shuffle: true,
        })
}

/// Nested designs `y ~ 1 + (1 | a) + (1 | a:b)` with local inner labels.
pub fn nested_spec() -> impl Strategy<Value = SimSpec> {
    (
        any::<u64>(),
        3..7usize,
        2..4usize,
        2..5usize,
        0.3..2.0f64,
        0.3..2.0f64,
    )
        .prop_map(|(seed, na, nb, s, sa, sb)| {
            let int = |f: Vec<&str>, sd: f64| RandomSpec {
                factors: f.into_iter().map(String::from).collect(),
                columns: vec![RandomColumn::Intercept],
                cov: vec![sd * sd],
                uncorrelated: false,
            };
            SimSpec {
                seed,
                layout: Layout::Nested {
                    factors: vec![("a".into(), na), ("b".into(), nb)],
                    sizes: GroupSizes::Balanced(s),
                },
                covariates: vec![],
                fixed: vec![(FixedTerm::Intercept, 1.0)],
                random: vec![int(vec!["a"], sa), int(vec!["a", "b"], sb)],
                sigma: 1.0,
                response: "y".into(),
                shuffle: true,
            }
        })
}

/// proptest settings for the workspace's property tests: `default_cases`
/// cases unless `PROPTEST_CASES` says otherwise (`cargo xtask proptest
/// --cases N`), a fixed RNG seed so CI is deterministic (set
/// `PROPTEST_RANDOM=1` to explore new cases), and no failure files written
/// into the tree (failures print their minimal case; pin it as a regression
/// test named after the bug).
pub fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    let rng_seed = if std::env::var_os("PROPTEST_RANDOM").is_some() {
        proptest::test_runner::RngSeed::Random
    } else {
        proptest::test_runner::RngSeed::Fixed(0x006d_6978_6564_6c6d)
    };
    ProptestConfig {
        cases,
        rng_seed,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
