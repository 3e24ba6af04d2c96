//! Missing data, infinities, rank deficiency and the error messages.

use std::sync::Arc;

use crate::support::*;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use mixedlm_design::{AliasPolicy, DesignBuilder, DesignError, MissingPolicy};
use mixedlm_formula::{Func, ModelFormula};

fn batch(y: Vec<Option<f64>>, x: Vec<Option<f64>>, g: Vec<Option<&str>>) -> RecordBatch {
    let x2: Vec<Option<f64>> = x.iter().map(|v| v.map(|v| 2.0 * v)).collect();
    let fields = vec![
        Field::new("y", DataType::Float64, true),
        Field::new("x", DataType::Float64, true),
        Field::new("x2", DataType::Float64, true),
        Field::new("g", DataType::Utf8, true),
    ];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(y)),
        Arc::new(Float64Array::from(x)),
        Arc::new(Float64Array::from(x2)),
        Arc::new(StringArray::from(g)),
    ];
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

fn clean(n: usize) -> RecordBatch {
    let y = (0..n)
        .map(|i| Some((i % 5) as f64 + 0.1 * i as f64))
        .collect();
    let x = (0..n).map(|i| Some(i as f64 + 1.0)).collect();
    let g = (0..n).map(|i| Some(["a", "b", "c"][i % 3])).collect();
    batch(y, x, g)
}

fn model(xs: &[&str]) -> ModelFormula {
    formula(
        col("y"),
        terms(true, &mains(xs)),
        vec![re(terms(true, &[]), &["g"], true)],
    )
}

#[test]
fn missing_rows_are_dropped_and_counted() {
    let y = vec![
        Some(1.0),
        None,
        Some(3.0),
        Some(f64::NAN),
        Some(5.0),
        Some(6.0),
        Some(7.0),
    ];
    let x = vec![
        Some(1.0),
        Some(2.0),
        Some(3.0),
        Some(4.0),
        None,
        Some(6.0),
        Some(7.0),
    ];
    let g = vec![
        Some("a"),
        Some("b"),
        Some("a"),
        Some("b"),
        Some("a"),
        None,
        Some("b"),
    ];
    let b = batch(y, x, g);
    let (d, _) = DesignBuilder::new(&model(&["x"])).build(&b).unwrap();
    assert_eq!(d.n_dropped, 4);
    assert_eq!(d.row_index, vec![0, 2, 6]);
    assert_eq!(d.y, vec![1.0, 3.0, 7.0]);
    assert_eq!(d.x.col(1), &[1.0, 3.0, 7.0]);
    assert_eq!(d.random[0].codes, vec![0, 0, 1]);
    let e = DesignBuilder::new(&model(&["x"]))
        .missing(MissingPolicy::Error)
        .build(&b)
        .unwrap_err();
    assert_eq!(
        e,
        DesignError::Missing {
            column: "y".into(),
            count: 2
        }
    );
    assert!(e.to_string().contains("column 'y' has 2 missing value(s)"));
}

#[test]
fn scale_is_learned_after_dropping_missing_rows() {
    let y = vec![Some(1.0), Some(2.0), None, Some(4.0), Some(3.0)];
    let x = vec![Some(1.0), Some(2.0), Some(100.0), Some(3.0), Some(5.0)];
    let g = vec![Some("a"), Some("b"), Some("a"), Some("a"), Some("b")];
    let f = formula(
        col("y"),
        terms(true, &[term(&[func(Func::Scale, col("x"))])]),
        vec![re(terms(true, &[]), &["g"], true)],
    );
    let (d, _) = DesignBuilder::new(&f).build(&batch(y, x, g)).unwrap();
    // used x = 1, 2, 3, 5: mean 2.75, sd sqrt(8.75 / 3)
    let sd = (8.75f64 / 3.0).sqrt();
    assert!((d.x.get(0, 1) - (1.0 - 2.75) / sd).abs() < 1e-14);
}

#[test]
fn everything_missing_is_an_error() {
    let b = batch(
        vec![None, None],
        vec![Some(1.0), Some(2.0)],
        vec![Some("a"), Some("b")],
    );
    let e = DesignBuilder::new(&model(&["x"])).build(&b).unwrap_err();
    assert_eq!(
        e,
        DesignError::NoRows {
            dropped: 2,
            total: 2
        }
    );
}

#[test]
fn infinity_is_an_error_naming_the_column() {
    let mut x: Vec<Option<f64>> = (0..6).map(|i| Some(i as f64)).collect();
    x[4] = Some(f64::INFINITY);
    let b = batch(
        (0..6).map(|i| Some(i as f64)).collect(),
        x,
        (0..6).map(|i| Some(["a", "b"][i % 2])).collect(),
    );
    let e = DesignBuilder::new(&model(&["x"])).build(&b).unwrap_err();
    assert_eq!(
        e,
        DesignError::Infinite {
            column: "x".into(),
            count: 1,
            row: 4
        }
    );
}

#[test]
fn aliased_column_is_dropped_keeping_the_earliest() {
    let (d, spec) = DesignBuilder::new(&model(&["x", "x2"]))
        .build(&clean(9))
        .unwrap();
    assert_eq!(d.x_names, ["(Intercept)", "x"]);
    assert_eq!(d.aliased, ["x2"]);
    assert_eq!(d.x.ncols, 2);
    assert_eq!(spec.x_columns_full, ["(Intercept)", "x", "x2"]);
    assert_eq!(
        d.rank_message().unwrap(),
        "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient: x2"
    );
    let e = DesignBuilder::new(&model(&["x", "x2"]))
        .aliased(AliasPolicy::Error)
        .build(&clean(9))
        .unwrap_err();
    assert_eq!(
        e,
        DesignError::RankDeficient {
            columns: vec!["x2".into()]
        }
    );
}

#[test]
fn unknown_column_suggests_the_near_match() {
    let f = formula(
        col("yy"),
        terms(true, &mains(&["x"])),
        vec![re(terms(true, &[]), &["g"], true)],
    );
    let e = DesignBuilder::new(&f).build(&clean(6)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no column 'yy' in the data; did you mean 'y'? (columns: y, x, x2, g)"
    );
    let e = DesignBuilder::new(&model(&["xx2"]))
        .build(&clean(6))
        .unwrap_err();
    assert!(e.to_string().contains("did you mean 'x2'?"), "{e}");
}

#[test]
fn sleepstudy_typo_in_response() {
    let f = formula(
        col("Reacton"),
        terms(true, &mains(&["Days"])),
        vec![re(terms(true, &[]), &["Subject"], true)],
    );
    let e = DesignBuilder::new(&f)
        .build(&load("sleepstudy"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no column 'Reacton' in the data; did you mean 'Reaction'? (columns: Reaction, Days, Subject)"
    );
}

#[test]
fn sleepstudy_text_response() {
    let f = formula(
        col("Subject"),
        terms(true, &mains(&["Days"])),
        vec![re(terms(true, &[]), &["Subject"], true)],
    );
    let e = DesignBuilder::new(&f)
        .build(&load("sleepstudy"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "response 'Subject' is text; a linear mixed model needs a numeric response"
    );
}

#[test]
fn text_inside_a_function_is_an_error() {
    let f = formula(
        col("y"),
        terms(true, &[term(&[func(Func::Log, col("g"))])]),
        vec![re(terms(true, &[]), &["g"], true)],
    );
    let e = DesignBuilder::new(&f).build(&clean(6)).unwrap_err();
    assert!(
        matches!(e, DesignError::NonNumericColumn { ref name, .. } if name == "g"),
        "{e}"
    );
    let f = formula(
        col("y"),
        terms(true, &[term(&[pow("g", 2.0)])]),
        vec![re(terms(true, &[]), &["g"], true)],
    );
    let e = DesignBuilder::new(&f).build(&clean(6)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("column 'g' is text but I(g^2) needs numbers"),
        "{e}"
    );
}

#[test]
fn log_of_non_positive_suggests_a_shift() {
    let f = formula(
        col("y"),
        terms(true, &[term(&[func(Func::Log, col("y"))])]),
        vec![re(terms(true, &[]), &["g"], true)],
    );
    let e = DesignBuilder::new(&f).build(&clean(6)).unwrap_err();
    assert!(
        matches!(e, DesignError::LogNonPositive { ref column, count: 1, .. } if column == "y"),
        "{e}"
    );
    assert!(e.to_string().contains("shift"));
}

#[test]
fn one_level_grouping_factor() {
    let b = batch(
        (0..4).map(|i| Some(i as f64)).collect(),
        (0..4).map(|i| Some(i as f64)).collect(),
        vec![Some("a"); 4],
    );
    let e = DesignBuilder::new(&model(&["x"])).build(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "grouping factor 'g' has only 1 level; a random effect needs at least 2 levels — remove the term or fit an ordinary linear model"
    );
}

#[test]
fn grouping_factor_with_one_row_per_level() {
    let f = formula(
        col("y"),
        terms(true, &[]),
        vec![re(terms(true, &[]), &["x"], true)],
    );
    let e = DesignBuilder::new(&f).build(&clean(6)).unwrap_err();
    assert_eq!(
        e,
        DesignError::LevelsEqualObs {
            group: "x".into(),
            levels: 6,
            n: 6
        }
    );
    assert!(e.to_string().contains("confounded with the residual"));
}

#[test]
fn no_random_effects_is_not_a_mixed_model() {
    let f = formula(col("y"), terms(true, &mains(&["x"])), vec![]);
    let e = DesignBuilder::new(&f).build(&clean(6)).unwrap_err();
    assert_eq!(e, DesignError::NoRandomEffects);
    assert!(e.to_string().contains("ordinary least squares"));
    let (d, _) = DesignBuilder::new(&f)
        .require_random(false)
        .build(&clean(6))
        .unwrap();
    assert!(d.random.is_empty());
}

#[test]
fn weights_and_offset_columns() {
    let (d, spec) = DesignBuilder::new(&model(&["x"]))
        .weights("x")
        .offset("x2")
        .build(&clean(6))
        .unwrap();
    assert_eq!(d.weights.as_deref().unwrap()[..2], [1.0, 2.0]);
    assert_eq!(d.offset.as_deref().unwrap()[..2], [2.0, 4.0]);
    assert_eq!(spec.weights.as_deref(), Some("x"));
    let e = DesignBuilder::new(&model(&["x"]))
        .weights("g")
        .build(&clean(6))
        .unwrap_err();
    assert!(matches!(e, DesignError::NonNumericColumn { .. }), "{e}");
}

/// A design past the size from which the Gram test sums its blocks on rayon (65,536
/// rows): the columns and codes as written, and the first unknown column named.
#[test]
fn large_designs_keep_their_columns_and_codes() {
    let n = 70_000;
    let big = clean(n);
    let (d, _) = DesignBuilder::new(&model(&["x"])).build(&big).unwrap();
    assert_eq!(d.n_obs(), n);
    assert_eq!(*d.random[0].levels, ["a", "b", "c"]);
    let codes: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
    assert_eq!(d.random[0].codes, codes);
    let x: Vec<f64> = (0..n).map(|i| i as f64 + 1.0).collect();
    assert_eq!(d.x.col(1), x.as_slice());
    assert_eq!(d.random[0].z.col(0), vec![1.0; n].as_slice());
    let both = formula(
        col("y"),
        terms(true, &mains(&["zzz"])),
        vec![re(terms(true, &[]), &["nope"], true)],
    );
    let err = DesignBuilder::new(&both).build(&big).unwrap_err();
    assert!(
        matches!(err, DesignError::UnknownColumn { ref name, .. } if name == "zzz"),
        "{err:?}"
    );
}
