//! Robustness: arbitrary formulas and awkward data (NaN, infinities, groups
//! emptied by missing values, constant columns, single-level factors, huge
//! and tiny scales, no rows) never panic: each call fits or returns a typed
//! error with a message.

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use mixedlm::{lmer, MixedLM};
use mixedlm_tests::strategies::config;
use proptest::prelude::*;
use std::sync::Arc;

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -10.0..10.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(0.0),
        1 => prop_oneof![Just(1e300), Just(-1e300), Just(1e-300), Just(1e150)],
        1 => -1e12..1e12f64,
    ]
}

fn column(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        3 => proptest::collection::vec(number(), n),
        1 => number().prop_map(move |v| vec![v; n]),
        1 => (1e-8..1e8f64).prop_flat_map(move |s| proptest::collection::vec(-1.0..1.0f64, n).prop_map(move |v| v.into_iter().map(|x| x * s).collect())),
    ]
}

fn labels(n: usize) -> impl Strategy<Value = Vec<String>> {
    (1..5usize)
        .prop_flat_map(move |k| proptest::collection::vec(0..k, n))
        .prop_map(|v| v.into_iter().map(|i| format!("L{i}")).collect())
}

/// A batch with numeric y, x, z and text g, h of `n` rows (0 to 24).
fn batch() -> impl Strategy<Value = RecordBatch> {
    (0..25usize)
        .prop_flat_map(|n| (column(n), column(n), column(n), labels(n), labels(n)))
        .prop_map(|(y, x, z, g, h)| {
            let num = |v: Vec<f64>| Arc::new(Float64Array::from(v)) as ArrayRef;
            let txt = |v: Vec<String>| Arc::new(StringArray::from(v)) as ArrayRef;
            let schema = Schema::new(vec![
                Field::new("y", DataType::Float64, true),
                Field::new("x", DataType::Float64, true),
                Field::new("z", DataType::Float64, true),
                Field::new("g", DataType::Utf8, true),
                Field::new("h", DataType::Utf8, true),
            ]);
            RecordBatch::try_new(
                Arc::new(schema),
                vec![num(y), num(x), num(z), txt(g), txt(h)],
            )
            .expect("batch")
        })
}

fn atom() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "x",
        "z",
        "g",
        "h",
        "1",
        "0",
        "w",
        "log(x)",
        "x:g",
        "x*z",
        "I(x^2)",
        "poly(x, 2)",
        "y",
    ])
    .prop_map(String::from)
}

fn rhs() -> impl Strategy<Value = String> {
    proptest::collection::vec(atom(), 1..4).prop_map(|v| v.join(" + "))
}

fn random_term() -> impl Strategy<Value = String> {
    let group = prop::sample::select(vec!["g", "h", "g:h", "g/h", "x", "w", "1"]);
    let bar = prop::sample::select(vec!["|", "||"]);
    (rhs(), bar, group).prop_map(|(r, b, g)| format!("({r} {b} {g})"))
}

/// Mostly well-formed lme4 formulas over the batch's columns, some unknown columns,
/// and some random text.
fn formula() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (rhs(), proptest::collection::vec(random_term(), 0..3))
            .prop_map(|(f, r)| if r.is_empty() { format!("y ~ {f}") } else { format!("y ~ {f} + {}", r.join(" + ")) }),
        1 => "[ -~]{0,30}",
        1 => "[yxgh~|()+*/:1 ]{0,20}",
    ]
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn prop_robustness_lmer_never_panics(b in batch(), f in formula()) {
        if let Err(e) = lmer(&f, &b) {
            prop_assert!(!e.to_string().is_empty(), "empty error message for {f}");
        }
    }

    #[test]
    fn prop_robustness_statsmodels_idiom_never_panics(
        b in batch(),
        fixed in rhs(),
        groups in prop::sample::select(vec!["g", "h", "x", "nope"]),
        re in prop::sample::select(vec!["", "~x", "~0 + z", "~w", "~g"]),
        method in prop::sample::select(vec!["bobyqa", "bfgs", "nelder-mead", "powell", "simplex"]),
    ) {
        let mut m = MixedLM::from_formula(&format!("y ~ {fixed}")).groups(groups).method(method);
        if !re.is_empty() {
            m = m.re_formula(re);
        }
        if let Err(e) = m.fit_batch(&b) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
