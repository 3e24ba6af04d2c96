//! GLMM estimates recover the truth: on data simulated from a known binomial or Poisson
//! GLMM, the Wald intervals β̂ ± 1.96 SE cover the true fixed effects at about the nominal
//! 95% rate, and the random-intercept SD is recovered on average. Seeds are fixed, so the
//! test is deterministic; its bounds are about three binomial SDs below the nominal rate.

use mixedlm::arrow_array::{Float64Array, StringArray};
use mixedlm::{Glmm, RecordBatch};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Bernoulli, Distribution, Normal, Poisson};
use std::sync::Arc;

/// True fixed effects (intercept, slope of x) and random-intercept SD.
const BETA: [f64; 2] = [-0.3, 0.7];
const SD: f64 = 0.8;
const GROUPS: usize = 60;
const PER_GROUP: usize = 15;

/// One data set of `GROUPS × PER_GROUP` rows from `y ~ 1 + x + (1 | g)`.
fn simulate(seed: u64, poisson: bool) -> RecordBatch {
    let mut rng = StdRng::seed_from_u64(seed);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let (mut g, mut x, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for group in 0..GROUPS {
        let b = SD * normal.sample(&mut rng);
        for _ in 0..PER_GROUP {
            let xi: f64 = normal.sample(&mut rng);
            let eta = BETA[0] + BETA[1] * xi + b;
            let yi = if poisson {
                Poisson::new(eta.exp()).unwrap().sample(&mut rng)
            } else {
                let p = 1.0 / (1.0 + (-eta).exp());
                f64::from(u8::from(Bernoulli::new(p).unwrap().sample(&mut rng)))
            };
            g.push(format!("g{group}"));
            x.push(xi);
            y.push(yi);
        }
    }
    RecordBatch::try_from_iter([
        ("g", Arc::new(StringArray::from(g)) as _),
        ("x", Arc::new(Float64Array::from(x)) as _),
        ("y", Arc::new(Float64Array::from(y)) as _),
    ])
    .unwrap()
}

/// Fits `REPLICATES` data sets; returns (intervals covering the truth, intervals, mean SD).
fn coverage(poisson: bool) -> (usize, usize, f64) {
    const REPLICATES: u64 = 40;
    let family = if poisson { "poisson" } else { "binomial" };
    let (mut covered, mut total, mut sd_sum) = (0, 0, 0.0);
    for seed in 0..REPLICATES {
        let data = simulate(1000 + seed, poisson);
        let fit = Glmm::new("y ~ x + (1 | g)", family)
            .fit_batch(&data)
            .unwrap();
        assert!(fit.converged(), "{family} seed {seed}");
        for ((b, se), truth) in fit.fixef().iter().zip(fit.bse_fe()).zip(BETA) {
            total += 1;
            covered += usize::from((b - truth).abs() <= 1.96 * se);
        }
        sd_sum += fit.theta()[0];
    }
    (covered, total, sd_sum / REPLICATES as f64)
}

#[test]
fn binomial_intervals_cover_the_truth_at_the_nominal_rate() {
    let (covered, total, sd) = coverage(false);
    // nominal 76 of 80; a binomial SD is about 2
    assert!(
        covered >= 70,
        "{covered} of {total} intervals cover the truth"
    );
    assert!((sd - SD).abs() < 0.1 * SD, "mean SD {sd} (truth {SD})");
}

#[test]
fn poisson_intervals_cover_the_truth_at_the_nominal_rate() {
    let (covered, total, sd) = coverage(true);
    assert!(
        covered >= 70,
        "{covered} of {total} intervals cover the truth"
    );
    assert!((sd - SD).abs() < 0.1 * SD, "mean SD {sd} (truth {SD})");
}
