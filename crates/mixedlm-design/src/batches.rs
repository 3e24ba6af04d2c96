//! Reading a table batch by batch with bounded memory (for streamed fits).
//!
//! [`open_batches`] returns an iterator of [`RecordBatch`]es of at most `batch_rows` rows,
//! typed as [`crate::read_table`] types them (numbers `Float64`, text `Utf8`, booleans).
//! Call it once per pass: every call reads the file from its start.
//!
//! CSV typing: the column names, which columns are quoted (text, as R's `write.csv` marks
//! factors) and which unquoted columns hold numbers are decided on a sample (the first
//! [`CSV_SAMPLE_BYTES`] of the file); a later field of a numeric column that is not a
//! number is an error naming the column ([`ReadError::Malformed`]), since a whole-file
//! reader would have made that column text.

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::io::{
    catch_decoder_panic, check_declared_sizes, csv::scan, io_error, malformed, normalize,
    text_na_to_null, text_to_number, FileSource, InputFormat, ReadError,
};

/// Bytes of a CSV file read to decide its column types.
pub const CSV_SAMPLE_BYTES: usize = 1 << 20;

/// Rows per batch when none is given.
pub const DEFAULT_BATCH_ROWS: usize = 65_536;

/// Batches of a table file, read lazily.
pub struct BatchReader {
    path: PathBuf,
    format: InputFormat,
    inner: Inner,
}

enum Inner {
    Csv {
        reader: Box<arrow_csv::reader::Reader<BufReader<File>>>,
        numeric: Vec<bool>,
        schema: SchemaRef,
    },
    Parquet(parquet::arrow::arrow_reader::ParquetRecordBatchReader),
    Ipc(Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + Send>),
}

impl std::fmt::Debug for BatchReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Open `path` for reading in batches of at most `batch_rows` rows (≥ 1). The format is
/// `format` when given, else the extension's. Standard input (`-`) cannot be read twice
/// and is refused.
pub fn open_batches(
    path: &Path,
    format: Option<InputFormat>,
    batch_rows: usize,
) -> Result<BatchReader, ReadError> {
    if path.as_os_str() == "-" {
        return Err(ReadError::Malformed {
            path: path.to_path_buf(),
            format: format.unwrap_or(InputFormat::Csv),
            detail: "a streamed fit reads its input twice, which standard input does not allow; save the data to a file".into(),
        });
    }
    let format = format
        .or_else(|| InputFormat::from_path(path))
        .ok_or_else(|| ReadError::UnsupportedExtension {
            path: path.to_path_buf(),
        })?;
    let batch_rows = batch_rows.max(1);
    let inner = match format {
        InputFormat::Csv => open_csv(path, batch_rows)?,
        InputFormat::Parquet => {
            catch_decoder_panic(path, format, || open_parquet(path, batch_rows))?
        }
        InputFormat::Arrow => catch_decoder_panic(path, format, || open_ipc(path))?,
    };
    Ok(BatchReader {
        path: path.to_path_buf(),
        format,
        inner,
    })
}

fn open_file(path: &Path) -> Result<File, ReadError> {
    File::open(path).map_err(|e| io_error(path, e))
}

fn open_csv(path: &Path, batch_rows: usize) -> Result<Inner, ReadError> {
    let mut sample = Vec::with_capacity(CSV_SAMPLE_BYTES);
    open_file(path)?
        .take(CSV_SAMPLE_BYTES as u64)
        .read_to_end(&mut sample)
        .map_err(|e| io_error(path, e))?;
    if sample.len() == CSV_SAMPLE_BYTES {
        let end = sample.iter().rposition(|&c| c == b'\n').unwrap_or(0);
        sample.truncate(end + 1);
    }
    let body = sample.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&sample);
    let info = scan(body, path)?;
    if info.rows == 0 {
        return Err(ReadError::NoRows { path: path.into() });
    }
    let all_quoted = info.quoted.iter().all(|&q| q);
    let text_schema = Arc::new(Schema::new(
        info.names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let sample_batch = arrow_csv::ReaderBuilder::new(text_schema.clone())
        .with_header(true)
        .build(std::io::Cursor::new(body))
        .and_then(|r| r.collect::<Result<Vec<_>, _>>())
        .map_err(|e| malformed(path, InputFormat::Csv, e))?;
    let numeric: Vec<bool> = (0..info.names.len())
        .map(|i| {
            (!info.quoted[i] || all_quoted)
                && sample_batch.iter().all(|b| {
                    b.column(i)
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .is_some_and(|c| text_to_number(c).is_some())
                })
        })
        .collect();
    let reader = arrow_csv::ReaderBuilder::new(text_schema)
        .with_header(true)
        .with_batch_size(batch_rows)
        .build(BufReader::with_capacity(1 << 16, open_file(path)?))
        .map_err(|e| malformed(path, InputFormat::Csv, e))?;
    let fields: Vec<Field> = info
        .names
        .iter()
        .zip(&numeric)
        .map(|(n, &num)| {
            let t = if num {
                DataType::Float64
            } else {
                DataType::Utf8
            };
            Field::new(n, t, true)
        })
        .collect();
    Ok(Inner::Csv {
        reader: Box::new(reader),
        numeric,
        schema: Arc::new(Schema::new(fields)),
    })
}

fn open_parquet(path: &Path, batch_rows: usize) -> Result<Inner, ReadError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bad = |e: &dyn std::fmt::Display| malformed(path, InputFormat::Parquet, e);
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(open_file(path)?).map_err(|e| bad(&e))?;
    let reader = builder
        .with_batch_size(batch_rows)
        .build()
        .map_err(|e| bad(&e))?;
    Ok(Inner::Parquet(reader))
}

fn open_ipc(path: &Path) -> Result<Inner, ReadError> {
    use arrow_ipc::reader::{FileReader, StreamReader};
    let bad = |e: &dyn std::fmt::Display| malformed(path, InputFormat::Arrow, e);
    let mut magic = [0u8; 6];
    let n = open_file(path)?
        .read(&mut magic)
        .map_err(|e| io_error(path, e))?;
    let len = open_file(path)?
        .metadata()
        .map_err(|e| io_error(path, e))?
        .len() as usize;
    let source = FileSource(std::cell::RefCell::new(open_file(path)?), len);
    check_declared_sizes(&source, crate::memory_budget()).map_err(|e| bad(&e))?;
    let file = BufReader::new(open_file(path)?);
    if n == 6 && &magic == b"ARROW1" {
        let r = FileReader::try_new(file, None).map_err(|e| bad(&e))?;
        Ok(Inner::Ipc(Box::new(r)))
    } else {
        let r = StreamReader::try_new(file, None).map_err(|e| bad(&e))?;
        Ok(Inner::Ipc(Box::new(r)))
    }
}

impl BatchReader {
    fn next_raw(&mut self) -> Option<Result<RecordBatch, ReadError>> {
        let (path, format) = (&self.path, self.format);
        let bad = |e: arrow_schema::ArrowError| malformed(path, format, e);
        match &mut self.inner {
            Inner::Csv {
                reader,
                numeric,
                schema,
            } => Some(
                reader
                    .next()?
                    .map_err(bad)
                    .and_then(|b| type_csv(b, numeric, schema, path)),
            ),
            Inner::Parquet(r) => {
                let next = catch_decoder_panic(path, format, || Ok(r.next()));
                Some(next.transpose()?.and_then(|b| b.map_err(bad)))
            }
            Inner::Ipc(r) => {
                let next = catch_decoder_panic(path, format, || Ok(r.next()));
                Some(next.transpose()?.and_then(|b| b.map_err(bad)))
            }
        }
    }
}

impl Iterator for BatchReader {
    type Item = Result<RecordBatch, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.next_raw()?;
        Some(batch.and_then(|b| match self.format {
            InputFormat::Csv => Ok(b),
            f => normalize(b, &self.path, f),
        }))
    }
}

/// Give a batch of text columns the types decided on the sample.
fn type_csv(
    batch: RecordBatch,
    numeric: &[bool],
    schema: &SchemaRef,
    path: &Path,
) -> Result<RecordBatch, ReadError> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(numeric.len());
    for (i, &num) in numeric.iter().enumerate() {
        let col = batch
            .column(i)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| malformed(path, InputFormat::Csv, "expected a text column"))?;
        let typed = if num {
            text_to_number(col).ok_or_else(|| late_text(path, schema, i, col))?
        } else {
            text_na_to_null(col)
        };
        columns.push(typed);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| malformed(path, InputFormat::Csv, e))
}

fn late_text(path: &Path, schema: &SchemaRef, i: usize, col: &StringArray) -> ReadError {
    let example = col
        .iter()
        .flatten()
        .find(|s| !crate::io::is_na(s) && crate::io::parse_number(s).is_none())
        .unwrap_or("")
        .to_string();
    ReadError::Malformed {
        path: path.into(),
        format: InputFormat::Csv,
        detail: format!(
            "column `{}` holds numbers in the first {} bytes but later holds `{example}`; a streamed fit decides column types on that sample: quote the column in the file to make it text, or fix the value",
            schema.field(i).name(),
            CSV_SAMPLE_BYTES
        ),
    }
}
