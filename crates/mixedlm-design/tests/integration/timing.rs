//! Building X for 1M rows x 10 columns: run with
//! `cargo test --release -p mixedlm-design --test integration timing:: -- --ignored --nocapture`.
//! No timing assertion (machines differ); it prints the time. Measured: see the crate report.

use std::sync::Arc;
use std::time::Instant;

use crate::support::*;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use mixedlm_design::DesignBuilder;

#[test]
#[ignore = "timing of a 1M-row design; run in release with --ignored"]
fn million_rows_ten_columns() {
    let n = 1_000_000;
    let mut fields = vec![
        Field::new("y", DataType::Float64, false),
        Field::new("g", DataType::Utf8, false),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(
            (0..n).map(|i| (i % 97) as f64).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            (0..n).map(|i| format!("g{}", i % 1000)).collect::<Vec<_>>(),
        )),
    ];
    let names: Vec<String> = (0..7).map(|j| format!("x{j}")).collect();
    for (j, name) in names.iter().enumerate() {
        fields.push(Field::new(name, DataType::Float64, false));
        cols.push(Arc::new(Float64Array::from(
            (0..n)
                .map(|i| ((i * (j + 3)) % 1013) as f64 / 7.0)
                .collect::<Vec<_>>(),
        )));
    }
    fields.push(Field::new("f", DataType::Utf8, false));
    cols.push(Arc::new(StringArray::from(
        (0..n).map(|i| ["a", "b", "c"][i % 3]).collect::<Vec<_>>(),
    )));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    let mut xs: Vec<&str> = names.iter().map(String::as_str).collect();
    xs.push("f");
    let f = formula(
        col("y"),
        terms(true, &mains(&xs)),
        vec![re(terms(true, &[]), &["g"], true)],
    );
    let t = Instant::now();
    let (d, _) = DesignBuilder::new(&f).build(&batch).unwrap();
    println!("built {} x {} in {:?}", d.x.nrows, d.x.ncols, t.elapsed());
    assert_eq!(d.x.ncols, 10);
}
