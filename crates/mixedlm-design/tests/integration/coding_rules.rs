//! R's coding rules on small hand-made data: contrasts, full coding, poly, scale, factor slopes.

use std::sync::Arc;

use crate::support::*;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use mixedlm_design::{CovarianceKind, Design, DesignBuilder};
use mixedlm_formula::{Contrast, Func, ModelFormula, TermList};

/// y, x (numeric 1..12), f (a, b, c), g (4 groups), h (bool), k (integers), w (weights).
fn toy() -> RecordBatch {
    let n = 12;
    let y: Vec<f64> = (0..n)
        .map(|i| (i * i % 7) as f64 + 0.5 * i as f64)
        .collect();
    let x: Vec<f64> = (1..=n).map(|i| i as f64).collect();
    let f: Vec<&str> = (0..n).map(|i| ["b", "a", "c"][i % 3]).collect();
    let g: Vec<&str> = (0..n).map(|i| ["G1", "G2", "G3", "G4"][i / 3]).collect();
    let h: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
    let k: Vec<i64> = (0..n).map(|i| [10, 9, 100][i % 3]).collect();
    let fields = ["y", "x", "f", "g", "h", "k"]
        .iter()
        .zip([
            DataType::Float64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Boolean,
            DataType::Int64,
        ])
        .map(|(n, t)| Field::new(*n, t, true))
        .collect::<Vec<_>>();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(y)),
        Arc::new(Float64Array::from(x)),
        Arc::new(StringArray::from(f)),
        Arc::new(StringArray::from(g)),
        Arc::new(BooleanArray::from(h)),
        Arc::new(Int64Array::from(k)),
    ];
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

fn ri() -> Vec<mixedlm_formula::RandomTerm> {
    vec![re(terms(true, &[]), &["g"], true)]
}

fn build(fixed: TermList) -> Design {
    DesignBuilder::new(&formula(col("y"), fixed, ri()))
        .build(&toy())
        .unwrap()
        .0
}

fn column(d: &Design, name: &str) -> Vec<f64> {
    let j = d
        .x_names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", d.x_names));
    d.x.col(j).to_vec()
}

#[test]
fn treatment_contrasts_use_first_sorted_level() {
    let d = build(terms(true, &mains(&["f"])));
    assert_eq!(d.x_names, ["(Intercept)", "fb", "fc"]);
    assert_eq!(column(&d, "fb")[..3], [1.0, 0.0, 0.0]);
    assert_eq!(column(&d, "fc")[..3], [0.0, 0.0, 1.0]);
}

#[test]
fn treatment_contrast_with_reference_level() {
    let d = build(terms(
        true,
        &[term(&[cat("f", Contrast::TreatmentRef("b".into()))])],
    ));
    assert_eq!(d.x_names, ["(Intercept)", "fa", "fc"]);
    assert_eq!(column(&d, "fa")[..3], [0.0, 1.0, 0.0]);
}

#[test]
fn unknown_reference_level_lists_levels() {
    let f = formula(
        col("y"),
        terms(
            true,
            &[term(&[cat("f", Contrast::TreatmentRef("z".into()))])],
        ),
        ri(),
    );
    let e = DesignBuilder::new(&f).build(&toy()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "reference level 'z' is not a level of 'f' (levels: a, b, c)"
    );
}

#[test]
fn sum_contrasts_as_r_contr_sum() {
    let d = build(terms(true, &[term(&[cat("f", Contrast::Sum)])]));
    assert_eq!(d.x_names, ["(Intercept)", "f1", "f2"]);
    // rows: b, a, c -> contr.sum(3) rows 2, 1, 3
    assert_eq!(column(&d, "f1")[..3], [0.0, 1.0, -1.0]);
    assert_eq!(column(&d, "f2")[..3], [1.0, 0.0, -1.0]);
}

#[test]
fn factor_of_integers_sorted_numerically() {
    let d = build(terms(true, &[term(&[factor("k")])]));
    assert_eq!(d.x_names, ["(Intercept)", "factor(k)10", "factor(k)100"]);
    let c = build(terms(true, &mains(&["k"])));
    assert_eq!(c.x_names, ["(Intercept)", "k"]);
}

#[test]
fn booleans_are_categorical() {
    let d = build(terms(true, &mains(&["h"])));
    assert_eq!(d.x_names, ["(Intercept)", "hTRUE"]);
    assert_eq!(column(&d, "hTRUE")[..2], [1.0, 0.0]);
}

#[test]
fn no_intercept_gives_first_factor_all_levels() {
    let d = build(terms(false, &mains(&["f", "h"])));
    assert_eq!(d.x_names, ["fa", "fb", "fc", "hTRUE"]);
    let d = build(terms(
        false,
        &[term(&[col("f")]), term(&[col("f"), col("x")])],
    ));
    assert_eq!(d.x_names, ["fa", "fb", "fc", "fa:x", "fb:x", "fc:x"]);
    assert_eq!(column(&d, "fc:x")[..3], [0.0, 0.0, 3.0]);
}

#[test]
fn interaction_first_factor_varies_fastest() {
    let d = build(terms(
        true,
        &[
            term(&[col("f")]),
            term(&[col("h")]),
            term(&[col("f"), col("h")]),
        ],
    ));
    assert_eq!(
        d.x_names,
        ["(Intercept)", "fb", "fc", "hTRUE", "fb:hTRUE", "fc:hTRUE"]
    );
}

#[test]
fn interaction_without_main_effect_gets_indicators() {
    let d = build(terms(true, &[term(&[col("x"), col("f")])]));
    assert_eq!(d.x_names, ["(Intercept)", "x:fa", "x:fb", "x:fc"]);
    assert_eq!(column(&d, "x:fb")[..3], [1.0, 0.0, 0.0]);
}

#[test]
fn poly_matches_r_on_1_to_12() {
    let d = build(terms(
        true,
        &[term(&[mixedlm_formula::Variable::Poly {
            arg: Box::new(col("x")),
            degree: 2,
        }])],
    ));
    assert_eq!(d.x_names, ["(Intercept)", "poly(x, 2)1", "poly(x, 2)2"]);
    // R: poly(1:12, 2)[, 1] = (x - 6.5) / sqrt(143); [1, 2] = (5.5^2 - 143/12) / sqrt(norm2)
    let p1 = column(&d, "poly(x, 2)1");
    for (i, v) in p1.iter().enumerate() {
        assert!((v - (i as f64 + 1.0 - 6.5) / 143f64.sqrt()).abs() < 1e-14);
    }
    let p2 = column(&d, "poly(x, 2)2");
    let raw: Vec<f64> = (1..=12)
        .map(|i| (i as f64 - 6.5).powi(2) - 143.0 / 12.0)
        .collect();
    let norm = raw.iter().map(|v| v * v).sum::<f64>().sqrt();
    for (v, r) in p2.iter().zip(&raw) {
        assert!((v - r / norm).abs() < 1e-14);
    }
}

#[test]
fn scale_and_center_use_sample_sd() {
    let d = build(terms(true, &[term(&[func(Func::Scale, col("x"))])]));
    assert_eq!(d.x_names, ["(Intercept)", "scale(x)"]);
    let sd = (143.0f64 / 11.0).sqrt();
    assert!((column(&d, "scale(x)")[0] - (1.0 - 6.5) / sd).abs() < 1e-14);
    let d = build(terms(false, &[term(&[func(Func::Center, col("x"))])]));
    assert_eq!(d.x_names, ["center(x)"]);
    assert!((column(&d, "center(x)")[11] - 5.5).abs() < 1e-14);
}

#[test]
fn factor_slopes_and_diagonal_terms() {
    let all = re(terms(false, &mains(&["h"])), &["g"], true);
    let contr = re(terms(true, &mains(&["h"])), &["g"], false);
    let f = formula(col("y"), terms(true, &[]), vec![all, contr]);
    let (d, _) = DesignBuilder::new(&f).build(&toy()).unwrap();
    assert_eq!(d.random[0].names, ["hFALSE", "hTRUE"]);
    assert_eq!(d.random[0].covariance, CovarianceKind::Unstructured);
    assert_eq!(d.random[1].names, ["(Intercept)", "hTRUE"]);
    assert_eq!(d.random[1].covariance, CovarianceKind::Diagonal);
    assert_eq!(d.theta_length(), 3 + 2);
}

#[test]
fn integer_grouping_is_categorical_sorted_numerically() {
    let f: ModelFormula = formula(
        col("y"),
        terms(true, &[]),
        vec![re(terms(true, &[]), &["k"], true)],
    );
    let (d, _) = DesignBuilder::new(&f).build(&toy()).unwrap();
    assert_eq!(*d.random[0].levels, ["9", "10", "100"]);
    assert_eq!(d.random[0].codes[..3], [1, 0, 2]);
    assert_eq!(d.group_sizes(), vec![vec![4, 4, 4]]);
}
