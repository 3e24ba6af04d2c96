//! What GLMMs ask of the design: `cbind(successes, failures)` as a proportion with the
//! numbers of trials as prior weights, `I(x > c)` as R's logical column
//! (`I(x > c)TRUE`), and observation-level grouping factors on request.

use crate::support::{load, parse_csv};
use mixedlm_design::{DesignBuilder, DesignError};
use mixedlm_formula::parse_formula;

fn build(formula: &str, text: &str) -> Result<mixedlm_design::Design, DesignError> {
    let f = parse_formula(formula).unwrap();
    DesignBuilder::new(&f).build(&parse_csv(text)).map(|d| d.0)
}

#[test]
fn cbind_gives_proportions_weighted_by_trials() {
    let text = "s,f,x,g\n2,8,1,\"a\"\n0,5,2,\"a\"\n3,0,3,\"b\"\n0,0,4,\"b\"\n1,1,5,\"c\"\n";
    let d = build("cbind(s, f) ~ x + (1 | g)", text).unwrap();
    assert_eq!(d.response, "cbind(s, f)");
    assert_eq!(d.y, [0.2, 0.0, 1.0, 0.0, 0.5]);
    assert_eq!(d.weights.as_deref(), Some(&[10.0, 5.0, 3.0, 0.0, 2.0][..]));
    // arithmetic in the failures, as cbind(incidence, size - incidence)
    let d = build("cbind(s, s + f - s) ~ x + (1 | g)", text).unwrap();
    assert_eq!(d.y[0], 0.2);
}

#[test]
fn bad_counts_and_weights_with_cbind_are_errors_that_say_what_to_do() {
    let text = "s,f,x,g,w\n2,8,1,\"a\",1\n0,-5,2,\"a\",1\n3,0,3,\"b\",1\n1,1,5,\"b\",1\n";
    let e = build("cbind(s, f) ~ x + (1 | g)", text)
        .unwrap_err()
        .to_string();
    assert!(e.contains("number of failures at row 1 is -5"), "{e}");
    let f = parse_formula("cbind(s, s) ~ x + (1 | g)").unwrap();
    let e = DesignBuilder::new(&f)
        .weights("w")
        .build(&parse_csv(text))
        .unwrap_err()
        .to_string();
    assert!(e.contains("numbers of trials as weights"), "{e}");
    let text = "s,f,x,g\n\"a\",8,1,\"a\"\n\"b\",5,2,\"b\"\n";
    assert!(matches!(
        build("cbind(s, f) ~ x + (1 | g)", text),
        Err(DesignError::NonNumericResponse { .. })
    ));
}

#[test]
fn a_comparison_is_a_logical_factor_named_as_r_names_it() {
    let bacteria = load("glmm/bacteria");
    let f = parse_formula("y ~ trt + I(week > 2) + (1 | ID)").unwrap();
    let (d, spec) = DesignBuilder::new(&f).build(&bacteria).unwrap();
    assert_eq!(
        d.x_names,
        ["(Intercept)", "trtdrug+", "trtplacebo", "I(week > 2)TRUE"]
    );
    let week = bacteria
        .column_by_name("week")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .unwrap();
    let n = d.n_obs();
    for i in 0..n {
        let expect = if week.value(i) > 2.0 { 1.0 } else { 0.0 };
        assert_eq!(d.x.get(i, 3), expect, "row {i}");
    }
    // new data reuse the levels FALSE/TRUE even when only one occurs
    let new = parse_csv("trt,week,ID\n\"drug\",0,\"X01\"\n\"placebo\",1,\"X01\"\n");
    let applied = spec.apply(&new).unwrap();
    assert_eq!(applied.x.ncols, 4);
    assert_eq!(applied.x.get(0, 3), 0.0);
    // inside arithmetic a comparison is 0/1
    let d = build(
        "y ~ I((x > 2) * x) + (1 | g)",
        "y,x,g\n1,1,\"a\"\n2,3,\"a\"\n3,4,\"b\"\n4,0,\"b\"\n",
    )
    .unwrap();
    assert_eq!(d.x.col(1), [0.0, 3.0, 4.0, 0.0]);
}

#[test]
fn observation_level_factors_are_refused_unless_asked_for() {
    let text = "y,x,g\n1,1,\"a\"\n2,3,\"b\"\n3,4,\"c\"\n";
    let f = parse_formula("y ~ x + (1 | g)").unwrap();
    assert!(matches!(
        DesignBuilder::new(&f).build(&parse_csv(text)),
        Err(DesignError::LevelsEqualObs { .. })
    ));
    let d = DesignBuilder::new(&f)
        .observation_level(true)
        .build(&parse_csv(text))
        .unwrap()
        .0;
    assert_eq!(d.random[0].levels.len(), 3);
}
