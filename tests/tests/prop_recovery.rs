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
            groups: 30,
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
