//! The named benchmark data sets (a)–(e) that `cargo xtask simulate` writes.

use crate::layout::{CrossedFactor, GroupSizes, Layout};
use crate::sim::{Covariate, FixedTerm, RandomColumn, RandomSpec, SimSpec};

/// Names of the scenarios, in order.
pub const SCENARIOS: [&str; 5] = [
    "sim_a_100k",
    "sim_b_1m",
    "sim_c_crossed",
    "sim_d_nested",
    "sim_e_movielens",
];

/// The spec of a named scenario (see [`SCENARIOS`]), or `None` for an unknown name.
pub fn scenario(name: &str, seed: u64) -> Option<SimSpec> {
    Some(match name {
        "sim_a_100k" => slopes(seed, 100_000, 1_000),
        "sim_b_1m" => slopes(seed, 1_000_000, 10_000),
        "sim_c_crossed" => crossed(seed),
        "sim_d_nested" => nested(seed),
        "sim_e_movielens" => movielens(seed),
        _ => return None,
    })
}

fn normal(name: &str, mean: f64, sd: f64) -> Covariate {
    Covariate::Normal {
        name: name.into(),
        mean,
        sd,
    }
}

fn num(name: &str) -> FixedTerm {
    FixedTerm::Numeric(name.into())
}

fn intercept(factors: &[&str], var: f64) -> RandomSpec {
    RandomSpec {
        factors: factors.iter().map(|s| s.to_string()).collect(),
        columns: vec![RandomColumn::Intercept],
        cov: vec![var],
        uncorrelated: false,
    }
}

fn with_slope(factor: &str, slope: &str, cov: [f64; 4]) -> RandomSpec {
    RandomSpec {
        factors: vec![factor.into()],
        columns: vec![RandomColumn::Intercept, RandomColumn::Numeric(slope.into())],
        cov: cov.to_vec(),
        uncorrelated: false,
    }
}

/// `y ~ 1 + x1 + x2 + (1 + x1 | g)`, unbalanced (uniform 50–150% of the mean size).
pub fn slopes(seed: u64, rows: usize, groups: usize) -> SimSpec {
    let mean = rows / groups.max(1);
    SimSpec {
        seed,
        layout: Layout::Single {
            factor: "g".into(),
            groups,
            sizes: GroupSizes::Uniform {
                min: mean / 2,
                max: mean * 3 / 2,
            },
            total: Some(rows),
        },
        covariates: vec![normal("x1", 0.0, 1.0), normal("x2", 5.0, 2.0)],
        fixed: vec![
            (FixedTerm::Intercept, 10.0),
            (num("x1"), 2.0),
            (num("x2"), -0.5),
        ],
        random: vec![with_slope("g", "x1", [4.0, 0.6, 0.6, 1.0])],
        sigma: 3.0,
        response: "y".into(),
        shuffle: true,
    }
}

fn crossed(seed: u64) -> SimSpec {
    SimSpec {
        seed,
        layout: Layout::Crossed {
            n_rows: 500_000,
            primary: ("a".into(), 5_000, GroupSizes::Uniform { min: 50, max: 150 }),
            others: vec![CrossedFactor {
                name: "b".into(),
                levels: 2_000,
                zipf: 0.0,
            }],
        },
        covariates: vec![normal("x", 0.0, 1.0)],
        fixed: vec![(FixedTerm::Intercept, 3.0), (num("x"), 1.0)],
        random: vec![intercept(&["a"], 1.0), intercept(&["b"], 0.5)],
        sigma: 1.0,
        response: "y".into(),
        shuffle: true,
    }
}

fn nested(seed: u64) -> SimSpec {
    SimSpec {
        seed,
        layout: Layout::Nested {
            factors: vec![("school".into(), 200), ("class".into(), 10)],
            sizes: GroupSizes::Balanced(25),
        },
        covariates: vec![
            normal("study_hours", 10.0, 3.0),
            normal("prior_gpa", 3.0, 0.4),
        ],
        fixed: vec![
            (FixedTerm::Intercept, 40.0),
            (num("study_hours"), 1.5),
            (num("prior_gpa"), 8.0),
        ],
        random: vec![
            with_slope("school", "study_hours", [25.0, -0.5, -0.5, 0.25]),
            intercept(&["school", "class"], 9.0),
        ],
        sigma: 6.0,
        response: "test_score".into(),
        shuffle: false,
    }
}

fn movielens(seed: u64) -> SimSpec {
    SimSpec {
        seed,
        layout: Layout::Crossed {
            n_rows: 1_000_209,
            primary: (
                "user".into(),
                6_040,
                GroupSizes::PowerLaw {
                    alpha: 1.14,
                    min: 20,
                    max: 2_314,
                },
            ),
            others: vec![CrossedFactor {
                name: "item".into(),
                levels: 3_706,
                zipf: 1.0,
            }],
        },
        covariates: vec![normal("age", 30.0, 10.0)],
        fixed: vec![(FixedTerm::Intercept, 3.6), (num("age"), 0.005)],
        random: vec![intercept(&["user"], 0.2), intercept(&["item"], 0.25)],
        sigma: 0.9,
        response: "rating".into(),
        shuffle: true,
    }
}
