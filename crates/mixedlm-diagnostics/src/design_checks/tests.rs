use super::*;
use mixedlm_design::{CovarianceKind, DenseMatrix};

/// A design with `groups` levels of `per` observations, intercept + `x` in X and a random
/// term with the given column names (each Z column = 1 or x).
fn design(groups: usize, per: usize, x_scale: f64, names: &[&str]) -> Design {
    let n = groups * per;
    let x: Vec<f64> = (0..n).map(|i| (i % per) as f64 * x_scale).collect();
    let codes: Vec<u32> = (0..n).map(|i| (i / per) as u32).collect();
    let mut xd = vec![1.0; n];
    xd.extend(&x);
    let mut zd = Vec::new();
    for name in names {
        if *name == "(Intercept)" {
            zd.extend(std::iter::repeat_n(1.0, n));
        } else {
            zd.extend(&x);
        }
    }
    Design {
        response: "y".into(),
        y: (0..n).map(|i| i as f64).collect(),
        x: DenseMatrix {
            nrows: n,
            ncols: 2,
            data: xd,
        },
        x_names: vec!["(Intercept)".into(), "x".into()],
        aliased: vec![],
        random: vec![RandomTermDesign {
            group: "g".into(),
            levels: (0..groups).map(|l| format!("L{l}")).collect(),
            codes,
            names: names.iter().map(|s| s.to_string()).collect(),
            z: DenseMatrix {
                nrows: n,
                ncols: names.len(),
                data: zd,
            },
            covariance: CovarianceKind::Unstructured,
        }],
        weights: None,
        offset: None,
        n_dropped: 0,
        row_index: (0..n).collect(),
    }
}

fn kinds(r: &DesignReport) -> Vec<MessageKind> {
    r.messages.iter().map(|m| m.kind).collect()
}

#[test]
fn thirty_groups_of_ten_are_clean() {
    let r = check_design(&design(30, 10, 1.0, &["(Intercept)", "x"]));
    assert!(r.messages.is_empty(), "{:?}", r.messages);
    let g = &r.groups[0];
    assert_eq!(
        (g.n_levels, g.min, g.median, g.max, g.singletons),
        (30, 10, 10.0, 10, 0)
    );
}

#[test]
fn trust_few_groups_for_a_variance_get_a_note_with_the_count() {
    // sleepstudy's shape (18 subjects) and the tutorial's 8 schools: below the usual ~20.
    for groups in [18, 8] {
        let r = check_design(&design(groups, 10, 1.0, &["(Intercept)", "x"]));
        assert_eq!(kinds(&r), vec![MessageKind::FewLevels], "{groups}");
        let text = &r.messages[0].text;
        assert!(text.contains(&format!("has {groups} levels")), "{text}");
        assert!(text.contains("about 20"), "{text}");
        assert_eq!(r.messages[0].severity, crate::Severity::Note);
    }
    assert!(check_design(&design(20, 10, 1.0, &["(Intercept)"]))
        .messages
        .is_empty());
}

#[test]
fn trust_random_slope_with_few_observations_per_group_gets_a_note() {
    // The tutorial's 3 students per school with a random slope (k = 2 < 3 < 5).
    let r = check_design(&design(40, 3, 1.0, &["(Intercept)", "x"]));
    assert_eq!(
        kinds(&r),
        vec![MessageKind::SmallGroups],
        "{:?}",
        r.messages
    );
    let text = &r.messages[0].text;
    assert!(text.contains("median of 3 observations"), "{text}");
    assert!(text.contains("about 5"), "{text}");
    // Intercept only: nothing to say; 5 per group with a slope: nothing either.
    assert!(check_design(&design(40, 3, 1.0, &["(Intercept)"]))
        .messages
        .is_empty());
    assert!(check_design(&design(40, 5, 1.0, &["(Intercept)", "x"]))
        .messages
        .is_empty());
}

#[test]
fn trust_each_aliased_column_gets_a_message() {
    let mut d = design(30, 10, 1.0, &["(Intercept)"]);
    d.aliased = vec!["x2".into(), "SexMale:x".into()];
    let r = check_design(&d);
    assert_eq!(kinds(&r), vec![MessageKind::Aliased, MessageKind::Aliased]);
    assert!(r.messages[0].text.contains("`x2`"));
    assert!(r.messages[1].text.contains("`SexMale:x`"));
    assert_eq!(r.messages[0].code, "aliased");
}

#[test]
fn few_levels_advises_fixed_effect() {
    let r = check_design(&design(3, 10, 1.0, &["(Intercept)"]));
    assert_eq!(kinds(&r), vec![MessageKind::FewLevels]);
    assert!(r.messages[0]
        .text
        .contains("unreliable with fewer than 5 levels"));
    assert!(r.messages[0].advice.contains("fixed effect"));
}

#[test]
fn overparameterized_slopes_are_reported() {
    // Two observations per level, intercept and slope per level: k = 2 ≥ median size 2,
    // and q = 2·50 = 100 = n.
    let r = check_design(&design(50, 2, 1.0, &["(Intercept)", "x"]));
    assert_eq!(
        kinds(&r),
        vec![
            MessageKind::Overparameterized,
            MessageKind::Overparameterized
        ]
    );
    assert!(r.messages[1]
        .text
        .contains("100 random effects for 100 observations"));
    assert!(r.messages[0].advice.contains("(x || g)"));
}

#[test]
fn singleton_groups_under_a_slope() {
    let mut d = design(20, 3, 1.0, &["(Intercept)", "x"]);
    // Move 8 levels to one observation each by recoding their other rows to level 0.
    for l in 1..=8u32 {
        let rows: Vec<usize> = (0..d.y.len())
            .filter(|&i| d.random[0].codes[i] == l)
            .collect();
        for &i in &rows[1..] {
            d.random[0].codes[i] = 0;
        }
    }
    let r = check_design(&d);
    assert_eq!(r.groups[0].singletons, 8);
    assert!(
        kinds(&r).contains(&MessageKind::SmallGroups),
        "{:?}",
        r.messages
    );
}

#[test]
fn predictor_times_a_million_needs_rescaling() {
    let r = check_design(&design(30, 10, 1e6, &["(Intercept)"]));
    assert_eq!(kinds(&r), vec![MessageKind::Scale]);
    assert!(
        r.messages[0].advice.contains("divide `x` by 1e6"),
        "{}",
        r.messages[0].advice
    );
}

#[test]
fn column_scale_rules() {
    assert_eq!(column_scale(&[1.0, 1.0, 1.0]), Some(1.0));
    assert_eq!(column_scale(&[0.0, 0.0]), None);
    assert!((column_scale(&[1.0, 2.0, 3.0]).unwrap() - 1.0).abs() < 1e-12);
}
