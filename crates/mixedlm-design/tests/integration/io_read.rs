//! Readers: CSV typing rules, missing values, errors, Parquet and Arrow IPC round trips.

use arrow_array::{Array, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use mixedlm_design::{read_csv_str, read_from, read_table, InputFormat, ReadError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn data(name: &str) -> PathBuf {
    mixedlm_fixtures::data_dir().join(name)
}

fn f64_col<'a>(b: &'a RecordBatch, name: &str) -> &'a Float64Array {
    b.column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
}

fn str_col<'a>(b: &'a RecordBatch, name: &str) -> &'a StringArray {
    b.column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
}

#[test]
fn sleepstudy_quoted_subject_is_text_days_is_number() {
    let b = read_table(&data("sleepstudy.csv"), None).unwrap();
    assert_eq!(b.num_rows(), 180);
    let schema = b.schema();
    assert_eq!(
        schema.field_with_name("Subject").unwrap().data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        schema.field_with_name("Days").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        schema.field_with_name("Reaction").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(str_col(&b, "Subject").value(0), "308");
    assert_eq!(f64_col(&b, "Reaction").value(0), 249.56);
    assert_eq!(f64_col(&b, "Days").value(179), 9.0);
}

#[test]
fn insteval_service_is_categorical() {
    // Read only the first lines: the full file is large.
    let text: String = std::fs::read_to_string(data("insteval.csv"))
        .unwrap()
        .lines()
        .take(200)
        .map(|l| format!("{l}\n"))
        .collect();
    let b = read_csv_str(&text).unwrap();
    assert_eq!(b.num_rows(), 199);
    assert_eq!(
        b.schema().field_with_name("service").unwrap().data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        b.schema().field_with_name("y").unwrap().data_type(),
        &DataType::Float64
    );
}

#[test]
fn na_and_empty_fields_are_null() {
    let b = read_csv_str("y,x,g\n1.5,NA,\"a\"\nNA,2,NA\n,3,\"\"\n4,5e-1,\"b\"\n").unwrap();
    let y = f64_col(&b, "y");
    assert_eq!(y.null_count(), 2);
    assert!(y.is_null(1) && y.is_null(2));
    let x = f64_col(&b, "x");
    assert!(x.is_null(0));
    assert_eq!(x.value(3), 0.5);
    let g = str_col(&b, "g");
    assert_eq!(g.null_count(), 2);
    assert_eq!(g.value(3), "b");
}

#[test]
fn unquoted_text_is_text_and_all_quoted_files_infer_numbers() {
    let b = read_csv_str("y,g\n1,a\n2,b\n").unwrap();
    assert_eq!(b.schema().field(1).data_type(), &DataType::Utf8);
    let b = read_csv_str("\"y\",\"g\"\n\"1\",\"a\"\n\"2\",\"b\"\n").unwrap();
    assert_eq!(b.schema().field(0).data_type(), &DataType::Float64);
    assert_eq!(b.schema().field(1).data_type(), &DataType::Utf8);
}

#[test]
fn quoted_fields_with_commas_newlines_and_crlf() {
    let b =
        read_csv_str("y,note\r\n1,\"a, b\"\r\n2,\"two\nlines \"\"q\"\"\"\r\n\r\n3,c\r\n").unwrap();
    assert_eq!(b.num_rows(), 3);
    let note = str_col(&b, "note");
    assert_eq!(note.value(0), "a, b");
    assert_eq!(note.value(1), "two\nlines \"q\"");
    assert_eq!(f64_col(&b, "y").value(2), 3.0);
}

#[test]
fn inf_is_read_as_a_number() {
    let b = read_csv_str("y,x\n1,Inf\n2,-Inf\n").unwrap();
    let x = f64_col(&b, "x");
    assert!(x.value(0).is_infinite() && x.value(1) < 0.0);
}

#[test]
fn ragged_row_reports_its_line() {
    let e = read_csv_str("a,b\n1,2\n3\n4,5\n").unwrap_err();
    match e {
        ReadError::Ragged {
            line,
            expected,
            found,
            ..
        } => {
            assert_eq!((line, expected, found), (3, 2, 1));
        }
        other => panic!("unexpected {other}"),
    }
    assert!(read_csv_str("a,b\n1,2\n3,4,5\n")
        .unwrap_err()
        .to_string()
        .contains("line 3"));
}

#[test]
fn empty_and_header_only_inputs_are_errors() {
    assert!(matches!(read_csv_str(""), Err(ReadError::Empty { .. })));
    assert!(matches!(read_csv_str("\n\n"), Err(ReadError::Empty { .. })));
    assert!(matches!(
        read_csv_str("a,b\n"),
        Err(ReadError::NoRows { .. })
    ));
}

#[test]
fn unclosed_quote_and_duplicate_names_are_errors() {
    assert!(matches!(
        read_csv_str("a,b\n1,\"x\n"),
        Err(ReadError::UnclosedQuote { line: 2, .. })
    ));
    assert!(matches!(
        read_csv_str("a,a\n1,2\n"),
        Err(ReadError::DuplicateColumn { .. })
    ));
}

#[test]
fn missing_file_and_unknown_extension() {
    let e = read_table(Path::new("/no/such/file.csv"), None).unwrap_err();
    assert!(matches!(e, ReadError::NotFound { .. }));
    assert!(e.to_string().contains("check the path"));
    let e = read_table(Path::new("data.xlsx"), None).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains(".csv") && msg.contains(".parquet") && msg.contains("--input-format"));
}

#[test]
fn non_utf8_bytes_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.csv");
    std::fs::write(&p, b"a,b\n1,2\n\xff\xfe,3\n").unwrap();
    let e = read_table(&p, None).unwrap_err();
    assert!(matches!(e, ReadError::NotUtf8 { line: 3, .. }), "{e}");
    let p = dir.path().join("bad.parquet");
    std::fs::write(&p, b"a,b\n1,2\n").unwrap();
    assert!(matches!(
        read_table(&p, None),
        Err(ReadError::Malformed { .. })
    ));
    let p = dir.path().join("bad.arrow");
    std::fs::write(&p, b"garbage bytes here").unwrap();
    assert!(matches!(
        read_table(&p, None),
        Err(ReadError::Malformed { .. })
    ));
}

#[test]
fn stdin_reader_takes_any_read() {
    let input = "\"g\",y\n\"1\",2.5\n\"2\",NA\n";
    let b = read_from(input.as_bytes(), Path::new("-"), InputFormat::Csv).unwrap();
    assert_eq!(b.schema().field(0).data_type(), &DataType::Utf8);
    assert!(f64_col(&b, "y").is_null(1));
    let e = read_from("".as_bytes(), Path::new("-"), InputFormat::Csv).unwrap_err();
    assert!(matches!(e, ReadError::Empty { .. }));
    let e = read_from("x".as_bytes(), Path::new("-"), InputFormat::Parquet).unwrap_err();
    assert!(matches!(e, ReadError::ParquetFromStdin));
}

#[test]
fn format_names_parse() {
    assert_eq!("CSV".parse::<InputFormat>().unwrap(), InputFormat::Csv);
    assert_eq!(
        "feather".parse::<InputFormat>().unwrap(),
        InputFormat::Arrow
    );
    assert!("xls"
        .parse::<InputFormat>()
        .unwrap_err()
        .to_string()
        .contains("csv, parquet, arrow"));
}

fn sample_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("y", DataType::Float64, true),
        Field::new("n", DataType::Int32, true),
        Field::new("g", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(3.0)])),
            Arc::new(Int32Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec!["a", "b", "a"])),
        ],
    )
    .unwrap()
}

fn check_sample(b: &RecordBatch) {
    assert_eq!(b.num_rows(), 6);
    assert!(f64_col(b, "y").is_null(1));
    assert_eq!(f64_col(b, "n").value(5), 3.0); // Int32 normalised to Float64
    assert_eq!(str_col(b, "g").value(4), "b");
}

#[test]
fn parquet_round_trip_concatenates_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.parquet");
    let batch = sample_batch();
    let file = std::fs::File::create(&p).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.flush().unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    check_sample(&read_table(&p, None).unwrap());
    // An explicit format overrides the extension.
    let q = dir.path().join("t.data");
    std::fs::copy(&p, &q).unwrap();
    check_sample(&read_table(&q, Some(InputFormat::Parquet)).unwrap());
}

#[test]
fn arrow_ipc_file_and_stream_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let batch = sample_batch();
    let p = dir.path().join("t.arrow");
    let mut w =
        arrow_ipc::writer::FileWriter::try_new(std::fs::File::create(&p).unwrap(), &batch.schema())
            .unwrap();
    w.write(&batch).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    check_sample(&read_table(&p, None).unwrap());
    let s = dir.path().join("t.ipc");
    let mut w = arrow_ipc::writer::StreamWriter::try_new(
        std::fs::File::create(&s).unwrap(),
        &batch.schema(),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    check_sample(&read_table(&s, None).unwrap());
}
