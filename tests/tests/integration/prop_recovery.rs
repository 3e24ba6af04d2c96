//! Recovery: over many data sets simulated from known parameters, the Wald
//! 95% intervals of β cover the truth about 95% of the time, and σ̂² is about
//! unbiased (REML).
//!
//! With K data sets the coverage count is Binomial(K, 0.95) if the intervals are
//! right; we accept 0.95 ± 3.5 binomial standard errors. The intervals use normal
//! quantiles, which with 30 groups undercover the intercept by about half a point:
//! well inside the tolerance.

use mixedlm::lmer;
use mixedlm_tests::{Covariate, RandomColumn, RandomSpec};
use mixedlm_tests::{FixedTerm, GroupSizes, Layout, SimSpec};

const K: u64 = 300;

fn spec(seed: u64, slope: bool) -> SimSpec {
    spec_with_groups(seed, slope, 30)
}

fn spec_with_groups(seed: u64, slope: bool, groups: usize) -> SimSpec {
    let (columns, cov) = if slope {
        (
            vec![RandomColumn::Intercept, RandomColumn::Numeric("x".into())],
            vec![1.0, 0.2, 0.2, 0.25],
        )
    } else {
        (vec![RandomColumn::Intercept], vec![1.0])
    };
    SimSpec {
        seed,
        layout: Layout::Single {
            factor: "g".into(),
            groups,
            sizes: GroupSizes::Uniform { min: 6, max: 12 },
            total: None,
        },
        covariates: vec![Covariate::Normal {
            name: "x".into(),
            mean: 1.0,
            sd: 1.0,
        }],
        fixed: vec![
            (FixedTerm::Intercept, 2.0),
            (FixedTerm::Numeric("x".into()), -1.0),
        ],
        random: vec![RandomSpec {
            factors: vec!["g".into()],
            columns,
            cov,
            uncorrelated: false,
        }],
        sigma: 1.0,
        response: "y".into(),
        shuffle: false,
    }
}

fn coverage(slope: bool) -> ([u64; 2], f64) {
    let formula = if slope {
        "y ~ 1 + x + (1 + x | g)"
    } else {
        "y ~ 1 + x + (1 | g)"
    };
    let mut covered = [0u64; 2];
    let mut sum_s2 = 0.0;
    for seed in 0..K {
        let s = spec(1_000 + seed, slope);
        let d = s.generate();
        let r = lmer(formula, &d.to_record_batch().unwrap())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        for (j, (lo, hi)) in r.conf_int(0.05).into_iter().enumerate() {
            let truth = s.fixed[j].1;
            covered[j] += u64::from(lo <= truth && truth <= hi);
        }
        sum_s2 += r.scale();
    }
    (covered, sum_s2 / K as f64)
}

fn assert_coverage(covered: [u64; 2]) {
    let se = (0.95 * 0.05 / K as f64).sqrt();
    for (j, c) in covered.iter().enumerate() {
        let rate = *c as f64 / K as f64;
        assert!(
            (rate - 0.95).abs() <= 3.5 * se,
            "coverage of beta[{j}] is {rate:.3} (expected 0.95 +- {:.3})",
            3.5 * se
        );
    }
}

#[test]
fn prop_recovery_wald_coverage_random_intercept() {
    let (covered, mean_s2) = coverage(false);
    assert_coverage(covered);
    // σ̂² over K sets: mean 1, SD of the mean about sqrt(2 / (K (n - p - 30))) ≈ 0.006.
    assert!((mean_s2 - 1.0).abs() < 0.03, "mean sigma^2 {mean_s2}");
}

#[test]
fn prop_recovery_wald_coverage_random_slope() {
    let (covered, mean_s2) = coverage(true);
    assert_coverage(covered);
    assert!((mean_s2 - 1.0).abs() < 0.03, "mean sigma^2 {mean_s2}");
}

/// Consistency of the variance estimates: the mean squared error of the estimated
/// intercept and slope variances (truth 1.0 and 0.25) over 40 data sets falls as the
/// number of groups grows from 15 to 60 to 240 (by about 4x per step in theory; we ask
/// for a factor 2 at each step), and at 240 groups the mean estimates are within 0.1 and
/// 0.03 of the truth (their SDs there are about 0.1 and 0.03, over 40 sets about 0.016
/// and 0.005).
#[test]
fn prop_recovery_variance_estimates_consistent_as_groups_grow() {
    const SETS: u64 = 40;
    let truth = [1.0, 0.25];
    let mut mse = Vec::new();
    let mut means = Vec::new();
    for groups in [15, 60, 240] {
        let (mut sq, mut sum) = ([0.0; 2], [0.0; 2]);
        for seed in 0..SETS {
            let d = spec_with_groups(50_000 + seed, true, groups).generate();
            let r = lmer("y ~ 1 + x + (1 + x | g)", &d.to_record_batch().unwrap())
                .unwrap_or_else(|e| panic!("groups {groups}, seed {seed}: {e}"));
            let c = r.cov_re();
            for j in 0..2 {
                sq[j] += (c[(j, j)] - truth[j]).powi(2) / SETS as f64;
                sum[j] += c[(j, j)] / SETS as f64;
            }
        }
        mse.push(sq);
        means.push(sum);
    }
    for j in 0..2 {
        assert!(
            mse[1][j] < 0.5 * mse[0][j] && mse[2][j] < 0.5 * mse[1][j],
            "variance {j}: mean squared errors {:?} do not fall with the number of groups",
            mse.iter().map(|m| m[j]).collect::<Vec<_>>()
        );
    }
    assert!(
        (means[2][0] - 1.0).abs() < 0.1,
        "intercept variance {}",
        means[2][0]
    );
    assert!(
        (means[2][1] - 0.25).abs() < 0.03,
        "slope variance {}",
        means[2][1]
    );
}
