//! proptest strategies over simulated data sets, kept small so failures shrink.

use crate::layout::{GroupSizes, Layout};
use crate::sim::{Covariate, FixedTerm, RandomColumn, RandomSpec, SimSpec};
use proptest::prelude::*;

/// A positive-definite 2×2 covariance (row-major) from SDs and a correlation.
pub fn cov2(sd0: f64, sd1: f64, rho: f64) -> Vec<f64> {
    let c = rho * sd0 * sd1;
    vec![sd0 * sd0, c, c, sd1 * sd1]
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
        .prop_map(|(seed, g, s, b0, b1, sd0, sd1, rho, sigma)| SimSpec {
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
                mean: 0.0,
                sd: 1.0,
            }],
            fixed: vec![
                (FixedTerm::Intercept, b0),
                (FixedTerm::Numeric("x".into()), b1),
            ],
            random: vec![RandomSpec {
                factors: vec!["g".into()],
                columns: vec![RandomColumn::Intercept, RandomColumn::Numeric("x".into())],
                cov: cov2(sd0, sd1, rho),
                uncorrelated: false,
            }],
            sigma,
            response: "y".into(),
            shuffle: true,
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
