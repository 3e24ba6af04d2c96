//! The fixed-effects table (estimates, SEs, statistics, df, p-values) and Wald intervals.

use crate::common::{by_name, reference_design, rel, result, theta};
use mixedlm_inference::{fixed_effect_tests, two_sided_p, wald_intervals, Ddf, DenseLmm};

#[test]
fn satterthwaite_table_matches_lmertest() {
    for id in [
        "sleepstudy",
        "sleepstudy_intercept",
        "sleepstudy_uncorrelated",
        "dyestuff",
        "penicillin",
        "pastes",
        "cake",
    ] {
        let r = result(id, true);
        let model = DenseLmm::new(&reference_design(id), true).unwrap();
        let rows = fixed_effect_tests(&model, &theta(&r), true, Ddf::Satterthwaite).unwrap();
        let names = model.x_names().to_vec();
        let (fe, se, t, p) = (
            by_name(&r, "fixef", &names),
            by_name(&r, "se", &names),
            by_name(&r, "t", &names),
            by_name(&r, "satterthwaite_p", &names),
        );
        for (j, row) in rows.iter().enumerate() {
            eprintln!("model {id} {}: p {} vs {}", row.name, row.p_value, p[j]);
            assert!(rel(row.estimate, fe[j]) < 1e-6);
            assert!(rel(row.se, se[j]) < 1e-5);
            assert!(rel(row.statistic, t[j]) < 1e-5);
            assert!(rel(row.p_value, p[j]) < 1e-3 || (row.p_value - p[j]).abs() < 1e-12);
        }
    }
}

#[test]
fn z_and_kenward_roger_tables() {
    let r = result("sleepstudy", true);
    let model = DenseLmm::new(&reference_design("sleepstudy"), true).unwrap();
    let z = fixed_effect_tests(&model, &theta(&r), true, Ddf::Z).unwrap();
    assert!(z.iter().all(|row| row.df.is_none()));
    assert!(rel(z[1].p_value, two_sided_p(z[1].statistic, None)) < 1e-12);
    let kr = fixed_effect_tests(&model, &theta(&r), true, Ddf::KenwardRoger).unwrap();
    let se = by_name(&r, "kenward_roger_se", model.x_names());
    assert!(rel(kr[0].se, se[0]) < 1e-4);
    assert!(kr[0].p_value > z[0].p_value);
    let ml = fixed_effect_tests(&model, &theta(&r), false, Ddf::KenwardRoger);
    assert!(ml.is_err());
}

#[test]
fn wald_intervals_are_estimate_plus_minus_z_se() {
    let ci = wald_intervals(&["a".into()], &[1.0], &[2.0], 0.95).unwrap();
    assert!((ci[0].lower - (1.0 - 1.959963984540054 * 2.0)).abs() < 1e-9);
    assert!((ci[0].upper - (1.0 + 1.959963984540054 * 2.0)).abs() < 1e-9);
    assert!(wald_intervals(&["a".into()], &[1.0], &[2.0], 1.5).is_err());
}
