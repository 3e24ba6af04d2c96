//! Issue 28's reader cases, one named test each (`cargo test trust_`): numbers as pandas,
//! polars and R write them, quoting notes, every compression codec, duplicate names,
//! corrupt files, wide headers. The Parquet/Arrow/CSV files in `tests/data/readers` come
//! from its `generate.py` (pyarrow, pandas, polars).

use arrow_array::{Array, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use mixedlm_design::{
    decoding_untrusted, read_csv_str, read_table, read_table_bytes, InputFormat, ReadError,
    QUOTED_NUMBERS_KEY,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Instant;

fn readers(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/readers")
        .join(name)
}

fn files(ext: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(readers(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ext.contains(&e))
        })
        .collect();
    v.sort();
    v
}

fn f64s(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let c = b.column_by_name(name).unwrap();
    let c = c.as_any().downcast_ref::<Float64Array>().expect("Float64");
    c.iter().collect()
}

fn texts(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let c = b.column_by_name(name).unwrap();
    let c = c.as_any().downcast_ref::<StringArray>().expect("Utf8");
    c.iter().map(|v| v.map(str::to_owned)).collect()
}

/// The table `generate.py` writes, as the reader types it.
fn assert_generated_table(b: &RecordBatch, what: &str) {
    assert_eq!(b.num_rows(), 12, "{what}");
    let y: Vec<f64> = (0..12).map(|i| 1.5 * i as f64 - 3.25).collect();
    assert_eq!(
        f64s(b, "y"),
        y.into_iter().map(Some).collect::<Vec<_>>(),
        "{what}"
    );
    let x: Vec<Option<f64>> = (0..12).map(|i| Some(i as f64)).collect();
    assert_eq!(f64s(b, "x"), x, "{what}");
    let g: Vec<Option<String>> = (0..12).map(|i| Some(format!("g{}", i % 3))).collect();
    assert_eq!(texts(b, "g"), g, "{what}");
    let flag = b.column_by_name("flag").unwrap();
    let flag = flag.as_any().downcast_ref::<BooleanArray>().unwrap();
    assert!(flag.value(0) && !flag.value(1), "{what}");
}

#[test]
fn trust_parquet_every_codec_pandas_polars_pyarrow_write() {
    let all = files(&["parquet"]);
    let names: Vec<String> = all
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for codec in ["snappy", "gzip", "brotli", "lz4", "zstd", "none"] {
        assert!(names.contains(&format!("pyarrow_{codec}")), "{names:?}");
    }
    assert!(all.len() >= 15, "{names:?}");
    for p in &all {
        let b = read_table(p, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_generated_table(&b, &p.display().to_string());
    }
}

#[test]
fn trust_arrow_ipc_every_codec_pandas_polars_pyarrow_write() {
    let all = files(&["feather", "arrow", "arrows"]);
    assert!(all.len() >= 8, "{all:?}");
    for p in &all {
        let b = read_table(p, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_generated_table(&b, &p.display().to_string());
    }
}

#[test]
fn trust_csv_inf_is_number() {
    let inf = f64::INFINITY;
    for file in [
        "pandas_inf_nan.csv",
        "pandas_inf_nan_narep.csv",
        "polars_inf_nan.csv",
    ] {
        let b = read_table(&readers(file), None).unwrap();
        assert_eq!(
            b.schema().field_with_name("x").unwrap().data_type(),
            &DataType::Float64,
            "{file}"
        );
        let x = f64s(&b, "x");
        assert_eq!(x[1], Some(inf), "{file}");
        assert_eq!(x[2], Some(-inf), "{file}");
        // pandas writes NaN as an empty field (missing) or, asked to, `nan`; polars `NaN`.
        assert!(x[3].is_none_or(f64::is_nan), "{file}: {:?}", x[3]);
    }
    // R's spellings and the other cases Rust's parser knows.
    let b =
        read_csv_str("x,g\nInf,a\n-Inf,a\nNaN,b\nNA,b\n,c\nInfinity,c\n+inf,d\n-nan,d\n").unwrap();
    let x = f64s(&b, "x");
    assert_eq!(&x[..2], &[Some(inf), Some(-inf)]);
    assert!(x[2].unwrap().is_nan());
    assert_eq!((x[3], x[4]), (None, None));
    assert_eq!((x[5], x[6]), (Some(inf), Some(inf)));
    assert!(x[7].unwrap().is_nan());
    // A word that is not a number still makes the column text.
    let b = read_csv_str("x\ninf\nnano\n").unwrap();
    assert_eq!(b.schema().field(0).data_type(), &DataType::Utf8);
}

#[test]
fn trust_csv_quoted_numbers_are_noted() {
    // One quoted field in a numeric column: the column is text, and says why.
    let b = read_csv_str("y,x,g\n1,1.5,\"a\"\n2,\"2.5\",\"b\"\n3,3.5,\"c\"\n").unwrap();
    let x = b.schema().field_with_name("x").unwrap().clone();
    assert_eq!(x.data_type(), &DataType::Utf8);
    assert_eq!(
        x.metadata().get(QUOTED_NUMBERS_KEY).map(String::as_str),
        Some("some")
    );
    // Every value quoted (R's factors): noted as `all`; a quoted word column: no note.
    let b = read_csv_str("y,s,g\n1,\"308\",\"a\"\n2,\"309\",\"b\"\n3,NA,\"c\"\n").unwrap();
    let s = b.schema().field_with_name("s").unwrap().clone();
    assert_eq!(
        s.metadata().get(QUOTED_NUMBERS_KEY).map(String::as_str),
        Some("all")
    );
    let g = b.schema().field_with_name("g").unwrap().clone();
    assert!(g.metadata().is_empty());
    let y = b.schema().field_with_name("y").unwrap().clone();
    assert!(y.metadata().is_empty());
    // The chunked reader notes the same (a file larger than one chunk).
    let mut text = String::from("y,x\n");
    for i in 0..200_000 {
        let x = if i == 150_000 {
            "\"7\"".to_string()
        } else {
            format!("{i}")
        };
        text.push_str(&format!("{i},{x}\n"));
    }
    let b = read_csv_str(&text).unwrap();
    let x = b.schema().field_with_name("x").unwrap().clone();
    assert_eq!(
        x.metadata().get(QUOTED_NUMBERS_KEY).map(String::as_str),
        Some("some")
    );
}

#[test]
fn trust_duplicate_column_names_are_refused_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("y", DataType::Float64, true),
        Field::new("y", DataType::Float64, true),
    ]));
    let col = Arc::new(Float64Array::from(vec![1.0, 2.0])) as Arc<dyn Array>;
    let batch = RecordBatch::try_new(schema.clone(), vec![col.clone(), col]).unwrap();
    let pq = dir.path().join("dup.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&pq).unwrap(),
        schema.clone(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let ipc = dir.path().join("dup.arrow");
    let mut w =
        arrow_ipc::writer::FileWriter::try_new(std::fs::File::create(&ipc).unwrap(), &schema)
            .unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    let csv = dir.path().join("dup.csv");
    std::fs::write(&csv, "y,y\n1,2\n").unwrap();
    for p in [&pq, &ipc, &csv] {
        match read_table(p, None) {
            Err(ReadError::DuplicateColumn { name, .. }) => assert_eq!(name, "y"),
            other => panic!("{}: {other:?}", p.display()),
        }
        // The streamed reader too.
        let first = mixedlm_design::open_batches(p, None, 1).and_then(|mut r| r.next().transpose());
        assert!(
            matches!(first, Err(ReadError::DuplicateColumn { .. })),
            "{}: {first:?}",
            p.display()
        );
    }
}

/// A panic hook that stays quiet for the panics the readers catch, and otherwise defers
/// to the one before it.
fn quiet_decoder_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !decoding_untrusted() {
                previous(info);
            }
        }));
    });
}

/// Every truncation and single-byte change of the file, read from memory: an error or a
/// table, never a panic.
fn mutate_and_read(path: &Path, format: InputFormat) -> (usize, usize) {
    let bytes = std::fs::read(path).unwrap();
    let (mut errors, mut total) = (0, 0);
    let mut read = |b: Vec<u8>| {
        total += 1;
        if read_table_bytes(b, path, format).is_err() {
            errors += 1;
        }
    };
    for len in 0..bytes.len() {
        read(bytes[..len].to_vec());
    }
    for i in 0..bytes.len() {
        for v in [0x00, 0xff, bytes[i] ^ 0x01, bytes[i].wrapping_add(0x40)] {
            let mut b = bytes.clone();
            b[i] = v;
            read(b);
        }
    }
    (errors, total)
}

#[test]
fn trust_corrupt_parquet_and_arrow_never_panic() {
    quiet_decoder_panics();
    for (file, format) in [
        ("pyarrow_snappy.parquet", InputFormat::Parquet),
        ("polars_default.parquet", InputFormat::Parquet),
        ("pyarrow_lz4.feather", InputFormat::Arrow),
        ("pyarrow_zstd_stream.arrows", InputFormat::Arrow),
    ] {
        let (errors, total) = mutate_and_read(&readers(file), format);
        assert!(errors > total / 2, "{file}: {errors} errors of {total}");
    }
}

#[test]
fn trust_wide_header_is_read_in_linear_time() {
    // 200,000 columns: the check that names are unique must not be quadratic in them.
    let n = 200_000;
    let header: Vec<String> = (0..n).map(|j| format!("c{j}")).collect();
    let row: Vec<&str> = (0..n).map(|_| "1").collect();
    let text = format!("{}\n{}\n", header.join(","), row.join(","));
    let start = Instant::now();
    let b = read_csv_str(&text).unwrap();
    assert_eq!(b.num_columns(), n);
    // A repeated name at the very end is still found.
    let dup = format!("{},c0\n{},1\n", header.join(","), row.join(","));
    assert!(matches!(
        read_csv_str(&dup),
        Err(ReadError::DuplicateColumn { .. })
    ));
    let secs = start.elapsed().as_secs_f64();
    eprintln!("two reads of {n} columns: {secs:.2} s");
}
