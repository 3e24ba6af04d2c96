//! The statsmodels idiom gives lme4's designs; the spec rebuilds X and Z on new data.

use crate::support::*;
use mixedlm_design::{
    build_statsmodels, CovarianceKind, Design, DesignBuilder, DesignError, Learned,
};
use mixedlm_formula::{CategoricalStyle, Contrast, Func, ModelFormula, Variable};

fn rhs(intercept: bool, names: &[&str]) -> ModelFormula {
    ModelFormula {
        response: None,
        fixed: terms(intercept, &mains(names)),
        random: vec![],
        offsets: vec![],
    }
}

fn same_numbers(a: &Design, b: &Design) {
    assert_eq!(a.y, b.y);
    assert_eq!(a.x, b.x);
    assert_eq!(a.x_names, b.x_names);
    assert_eq!(a.random.len(), b.random.len());
    for (s, l) in a.random.iter().zip(&b.random) {
        assert_eq!(
            (&s.group, &s.levels, &s.codes, &s.names, &s.z),
            (&l.group, &l.levels, &l.codes, &l.names, &l.z)
        );
    }
}

#[test]
fn sleepstudy_re_formula_is_a_correlated_slope() {
    let fixed = formula(col("Reaction"), terms(true, &mains(&["Days"])), vec![]);
    let sm = build_statsmodels(&fixed, "Subject", Some(&rhs(true, &["Days"])), &[])
        .build(&load("sleepstudy"))
        .unwrap()
        .0;
    let lme4 = formula(
        col("Reaction"),
        terms(true, &mains(&["Days"])),
        vec![re(terms(true, &mains(&["Days"])), &["Subject"], true)],
    );
    let l = DesignBuilder::new(&lme4)
        .build(&load("sleepstudy"))
        .unwrap()
        .0;
    same_numbers(&sm, &l);
    assert_eq!(sm.random[0].covariance, CovarianceKind::Unstructured);
    // default re_formula: a random intercept
    let d = build_statsmodels(&fixed, "Subject", None, &[])
        .build(&load("sleepstudy"))
        .unwrap()
        .0;
    assert_eq!(d.random[0].names, ["(Intercept)"]);
}

#[test]
fn pastes_variance_component_is_the_nested_term() {
    let fixed = formula(col("strength"), terms(true, &[]), vec![]);
    let class = Variable::Categorical {
        arg: Box::new(col("cask")),
        contrast: Contrast::Treatment,
        style: CategoricalStyle::C,
    };
    let vc = vec![(
        "cask".to_string(),
        ModelFormula {
            response: None,
            fixed: terms(false, &[term(&[class])]),
            random: vec![],
            offsets: vec![],
        },
    )];
    // re_formula "1" keeps the group intercept: lme4's nesting.
    let sm = build_statsmodels(&fixed, "batch", Some(&rhs(true, &[])), &vc)
        .build(&load("pastes"))
        .unwrap()
        .0;
    let lme4 = formula(
        col("strength"),
        terms(true, &[]),
        vec![
            re(terms(true, &[]), &["batch"], true),
            re(terms(true, &[]), &["batch", "cask"], true),
        ],
    );
    let l = DesignBuilder::new(&lme4).build(&load("pastes")).unwrap().0;
    same_numbers(&sm, &l);
    assert_eq!(sm.random[1].group, "batch:cask");
    assert_eq!(sm.random[1].covariance, CovarianceKind::Scalar);
    assert_eq!(sm.theta_length(), l.theta_length());
    // Without re_formula, or with "0", only the variance component (statsmodels' model).
    for re_formula in [None, Some(rhs(false, &[]))] {
        let only = build_statsmodels(&fixed, "batch", re_formula.as_ref(), &vc)
            .build(&load("pastes"))
            .unwrap()
            .0;
        assert_eq!(only.random.len(), 1);
        assert_eq!(only.random[0].group, "batch:cask");
    }
}

#[test]
fn numeric_variance_component_shares_one_variance() {
    let fixed = formula(col("Reaction"), terms(true, &mains(&["Days"])), vec![]);
    let vc = vec![("days".to_string(), rhs(false, &["Days"]))];
    let d = build_statsmodels(&fixed, "Subject", Some(&rhs(true, &[])), &vc)
        .build(&load("sleepstudy"))
        .unwrap()
        .0;
    assert_eq!(d.random[1].group, "Subject");
    assert_eq!(d.random[1].names, ["Days"]);
    assert_eq!(d.random[1].covariance, CovarianceKind::Scalar);
    assert_eq!(d.theta_length(), 2);
}

#[test]
fn spec_rebuilds_the_same_design_on_the_fitting_data() {
    let poly = Variable::Poly {
        arg: Box::new(col("Days")),
        degree: 2,
    };
    let f = formula(
        col("Reaction"),
        terms(
            true,
            &[term(&[poly]), term(&[func(Func::Scale, col("Days"))])],
        ),
        vec![re(terms(true, &mains(&["Days"])), &["Subject"], true)],
    );
    let data = load("sleepstudy");
    let (d, spec) = DesignBuilder::new(&f).build(&data).unwrap();
    assert_eq!(
        d.x_names,
        ["(Intercept)", "poly(Days, 2)1", "poly(Days, 2)2"]
    );
    assert_eq!(d.aliased, ["scale(Days)"]);
    assert!(matches!(
        spec.params.get("poly(Days, 2)"),
        Some(Learned::Poly(_))
    ));
    let nd = spec.apply(&data).unwrap();
    assert_eq!(nd.x_names, d.x_names);
    for (a, b) in nd.x.data.iter().zip(&d.x.data) {
        assert!((a - b).abs() < 1e-12);
    }
    assert_eq!(nd.random[0].z, d.random[0].z);
    assert!(nd.random[0]
        .codes
        .iter()
        .zip(&d.random[0].codes)
        .all(|(a, b)| *a == Some(*b)));
    assert!(nd.random[0].unseen.is_empty());
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.contains("\"norm2\""));
}

#[test]
fn spec_on_new_data_keeps_coding_and_reports_unseen_levels() {
    let f = formula(
        col("MathAch"),
        terms(true, &mains(&["SES", "Sex"])),
        vec![re(terms(true, &[]), &["School"], true)],
    );
    let (_, spec) = DesignBuilder::new(&f).build(&load("mathachieve")).unwrap();
    let new = parse_csv("\"School\",\"Sex\",\"SES\"\n\"1224\",\"Male\",0.5\n\"9999\",\"Male\",1\n\"1224\",\"Female\",NA\n");
    let nd = spec.apply(&new).unwrap();
    assert_eq!(nd.x_names, ["(Intercept)", "SES", "SexMale"]);
    assert_eq!(nd.x.col(2), &[1.0, 1.0]);
    assert_eq!(nd.n_dropped, 1);
    assert_eq!(nd.random[0].codes, vec![Some(0), None]);
    assert_eq!(nd.random[0].unseen, ["9999"]);
    let fixed_only = spec
        .apply_fixed(&parse_csv("\"Sex\",\"SES\"\n\"Female\",1\n"))
        .unwrap();
    assert_eq!(fixed_only.x.col(2), &[0.0]);
    let bad = parse_csv("\"School\",\"Sex\",\"SES\"\n\"1224\",\"Other\",0.5\n");
    let e = spec.apply(&bad).unwrap_err();
    assert!(
        matches!(e, DesignError::UnseenLevel { ref level, .. } if level == "Other"),
        "{e}"
    );
}

#[test]
fn describe_lists_what_the_design_command_prints() {
    let f = formula(
        col("angle"),
        terms(true, &mains(&["temp"])),
        vec![re(terms(true, &[]), &["recipe", "replicate"], true)],
    );
    let (d, _) = DesignBuilder::new(&f).build(&load("cake")).unwrap();
    let s = serde_json::to_value(d.describe()).unwrap();
    assert_eq!(s["x_columns"], serde_json::json!(["(Intercept)", "temp"]));
    assert_eq!(s["n_obs"], 270);
    assert_eq!(s["n_dropped"], 0);
    assert_eq!(s["random_terms"][0]["group"], "recipe:replicate");
    assert_eq!(s["random_terms"][0]["levels"], 45);
    assert_eq!(
        s["random_terms"][0]["terms"],
        serde_json::json!(["(Intercept)"])
    );
}
