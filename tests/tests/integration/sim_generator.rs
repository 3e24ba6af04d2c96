//! The simulator itself: determinism, the shapes of the five benchmark data
//! sets, the outputs, and that random effects have the covariance asked for.

use mixedlm_tests::scenarios::scenario;
use mixedlm_tests::sim::cholesky_psd;
use mixedlm_tests::strategies::{cov2, slope_model, slope_spec};
use mixedlm_tests::{GroupSizes, Layout, SimData, SimSpec, Values};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

fn codes<'a>(d: &'a SimData, name: &str) -> (&'a [u32], &'a [String]) {
    match &d.column(name).expect("column").values {
        Values::Text { codes, labels } => (codes, labels),
        Values::Numeric(_) => panic!("{name} is numeric"),
    }
}

fn counts(codes: &[u32]) -> Vec<usize> {
    let mut c = HashMap::new();
    for &k in codes {
        *c.entry(k).or_insert(0usize) += 1;
    }
    let mut v: Vec<usize> = c.into_values().collect();
    v.sort_unstable();
    v
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let spec = scenario("sim_d_nested", 7).unwrap();
    let a = spec.generate();
    assert_eq!(a, spec.generate());
    let b = scenario("sim_d_nested", 8).unwrap().generate();
    assert_ne!(a.numeric("test_score"), b.numeric("test_score"));
}

#[test]
fn nested_scenario_has_200_schools_of_10_classes_of_25() {
    let d = scenario("sim_d_nested", 1).unwrap().generate();
    assert_eq!(d.n_rows(), 50_000);
    let (school, _) = codes(&d, "school");
    let (class, class_labels) = codes(&d, "class");
    assert_eq!(class_labels.len(), 10, "class labels are local to a school");
    let pairs: HashSet<(u32, u32)> = school.iter().zip(class).map(|(&s, &c)| (s, c)).collect();
    assert_eq!(pairs.len(), 2_000);
    assert_eq!(counts(school), vec![250; 200]);
    assert_eq!(d.truth.random[1].group, "school:class");
    assert_eq!(d.truth.random[1].n_groups, 2_000);
    assert_eq!(
        d.formula,
        "test_score ~ 1 + study_hours + prior_gpa + (1 + study_hours | school) + (1 | school:class)"
    );
}

#[test]
fn slopes_scenario_has_exact_total_and_unbalanced_groups() {
    let d = scenario("sim_a_100k", 1).unwrap().generate();
    assert_eq!(d.n_rows(), 100_000);
    let c = counts(codes(&d, "g").0);
    assert_eq!(c.len(), 1_000);
    assert!(
        c[0] >= 45 && c[999] <= 155 && c[999] - c[0] > 50,
        "sizes {} .. {}",
        c[0],
        c[999]
    );
    assert_eq!(d.formula, "y ~ 1 + x1 + x2 + (1 + x1 | g)");
}

#[test]
fn movielens_scenario_has_power_law_counts() {
    let d = scenario("sim_e_movielens", 1).unwrap().generate();
    assert_eq!(d.n_rows(), 1_000_209);
    let users = counts(codes(&d, "user").0);
    let items = counts(codes(&d, "item").0);
    assert_eq!(users.len(), 6_040);
    assert!(items.len() > 3_600, "{} items used", items.len());
    let heavy = |v: &[usize]| v[v.len() - 1] as f64 / v[v.len() / 2] as f64;
    assert!(heavy(&users) > 8.0, "user max/median {}", heavy(&users));
    assert!(heavy(&items) > 50.0, "item max/median {}", heavy(&items));
}

#[test]
fn crossed_scenario_has_both_factors_fully_used() {
    let d = scenario("sim_c_crossed", 1).unwrap().generate();
    assert_eq!(d.n_rows(), 500_000);
    assert_eq!(counts(codes(&d, "a").0).len(), 5_000);
    assert_eq!(counts(codes(&d, "b").0).len(), 2_000);
}

#[test]
fn csv_quotes_text_and_writes_na() {
    let mut d = scenario("sim_d_nested", 1).unwrap().generate();
    if let Values::Numeric(v) = &mut d.columns.last_mut().unwrap().values {
        v[0] = f64::NAN;
    }
    let mut buf = Vec::new();
    d.write_csv(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("school,class,study_hours,prior_gpa,test_score")
    );
    let first = lines.next().unwrap();
    assert!(first.starts_with("\"s001\",\"c01\","), "{first}");
    assert!(first.ends_with(",NA"), "{first}");
    assert_eq!(text.lines().count(), 50_001);
}

#[test]
fn record_batch_and_parquet_have_all_rows() {
    let d = scenario("sim_d_nested", 3).unwrap().generate();
    let batch = d.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), 50_000);
    assert_eq!(
        batch.schema().field(0).data_type(),
        &arrow_schema::DataType::Utf8
    );
    assert_eq!(
        batch.schema().field(4).data_type(),
        &arrow_schema::DataType::Float64
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.parquet");
    d.write_parquet_file(&path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 10_000);
}

/// Per-group least-squares (intercept, slope) of y on x.
fn group_fits(d: &SimData) -> Vec<(f64, f64)> {
    let (g, labels) = codes(d, "g");
    let (x, y) = (d.numeric("x").unwrap(), d.numeric("y").unwrap());
    let mut acc = vec![[0.0f64; 5]; labels.len()];
    for ((&gi, &xi), &yi) in g.iter().zip(x).zip(y) {
        let a = &mut acc[gi as usize];
        a[0] += 1.0;
        a[1] += xi;
        a[2] += yi;
        a[3] += xi * xi;
        a[4] += xi * yi;
    }
    acc.iter()
        .filter(|a| a[0] > 2.0)
        .map(|a| {
            let slope = (a[0] * a[4] - a[1] * a[2]) / (a[0] * a[3] - a[1] * a[1]);
            ((a[2] - slope * a[1]) / a[0], slope)
        })
        .collect()
}

/// With large groups and small noise, per-group estimates scatter with the
/// random-effects covariance asked for (within 5 standard errors).
#[test]
fn random_effects_have_the_requested_covariance() {
    let spec = slope_model(42, 800, 60, [1.0, 2.0], cov2(2.0, 1.0, 0.5), 0.05);
    let spec = SimSpec {
        layout: Layout::Single {
            factor: "g".into(),
            groups: 800,
            sizes: GroupSizes::Balanced(60),
            total: None,
        },
        ..spec
    };
    let fits = group_fits(&spec.generate());
    let m = fits.len() as f64;
    let mean = |f: &dyn Fn(&(f64, f64)) -> f64| fits.iter().map(f).sum::<f64>() / m;
    let (m0, m1) = (mean(&|p| p.0), mean(&|p| p.1));
    let v00 = mean(&|p| (p.0 - m0).powi(2));
    let v11 = mean(&|p| (p.1 - m1).powi(2));
    let v01 = mean(&|p| (p.0 - m0) * (p.1 - m1));
    let se = |v: f64| 5.0 * v * (2.0 / m).sqrt();
    assert!((v00 - 4.0).abs() < se(4.0), "var(b0) {v00}");
    assert!((v11 - 1.0).abs() < se(1.0), "var(b1) {v11}");
    assert!((v01 - 1.0).abs() < 5.0 * (5.0 / m).sqrt(), "cov {v01}");
}

#[test]
fn truth_theta_is_lme4_relative_cholesky() {
    let mut spec = scenario("sim_a_100k", 1).unwrap();
    spec.sigma = 2.0;
    spec.random[0].cov = vec![4.0, 2.0, 2.0, 5.0];
    let l = cholesky_psd(&spec.random[0].cov, 2);
    let d = SimSpec {
        layout: Layout::Single {
            factor: "g".into(),
            groups: 3,
            sizes: GroupSizes::Balanced(2),
            total: None,
        },
        ..spec
    }
    .generate();
    assert_eq!(d.truth.theta, vec![l[0] / 2.0, l[2] / 2.0, l[3] / 2.0]);
    assert_eq!(d.truth.theta, vec![1.0, 0.5, 1.0]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any small spec gives finite data with one level code per row and every column the same length.
    #[test]
    fn prop_sim_small_specs_are_well_formed(spec in slope_spec(2..6, 2..5)) {
        let d = spec.generate();
        let n = d.n_rows();
        prop_assert!(n >= 4);
        for c in &d.columns {
            match &c.values {
                Values::Numeric(v) => { prop_assert_eq!(v.len(), n); prop_assert!(v.iter().all(|x| x.is_finite())); }
                Values::Text { codes, labels } => {
                    prop_assert_eq!(codes.len(), n);
                    prop_assert!(codes.iter().all(|&k| (k as usize) < labels.len()));
                }
            }
        }
    }
}
