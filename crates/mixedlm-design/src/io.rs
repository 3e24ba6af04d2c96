//! Readers: CSV, Parquet and Arrow IPC files (or CSV on standard input) into one
//! Arrow [`RecordBatch`].
//!
//! Column types are normalised so the design layer sees only a few types: numbers become
//! `Float64`, text becomes `Utf8`, booleans stay `Boolean`.
//!
//! CSV typing follows the convention of R's `write.csv`: a column whose fields are quoted
//! in the file is text (`"308"` is a factor level, not the number 308); an unquoted column
//! whose fields all parse as numbers is `Float64`; anything else is text. `NA` and empty
//! fields are missing. Numbers are read as R, pandas and polars write them: `Inf`, `-Inf`,
//! `inf`, `-inf`, `Infinity` are infinities, `NaN` and `nan` are NaN (missing for the
//! model). When *every* column of the file is quoted (a writer that quotes everything, such
//! as Python's `csv.QUOTE_ALL`), quoting carries no information and the types are inferred
//! from the contents instead. A column made text by quotes although its values are all
//! numbers carries the field metadata [`QUOTED_NUMBERS_KEY`], so that the model can say so.
//!
//! Parquet and Arrow IPC are decoded by the arrow and parquet crates, with every
//! compression codec pandas, polars and pyarrow write (Parquet: snappy, gzip, brotli, lz4,
//! zstd; IPC: lz4, zstd). A corrupt file is an error, never a crash: a panic inside the
//! decoders is caught ([`decoding_untrusted`] tells a panic hook to stay quiet meanwhile).
//! Column names must be unique in every format.

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

/// The file formats [`read_table`] understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC, file (Feather v2) or stream format.
    Arrow,
}

impl InputFormat {
    /// The names accepted by [`InputFormat::from_str`] (and `--input-format`).
    pub const NAMES: [&'static str; 3] = ["csv", "parquet", "arrow"];

    /// The format implied by a path's extension, if it is one we know.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "parquet" | "pq" => Some(Self::Parquet),
            "arrow" | "feather" | "ipc" | "arrows" => Some(Self::Arrow),
            _ => None,
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::Arrow => "arrow",
        })
    }
}

impl FromStr for InputFormat {
    type Err = ReadError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "parquet" | "pq" => Ok(Self::Parquet),
            "arrow" | "ipc" | "feather" => Ok(Self::Arrow),
            _ => Err(ReadError::UnknownFormat {
                name: s.to_string(),
            }),
        }
    }
}

/// Why a table could not be read. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file does not exist.
    #[error("cannot find the data file `{path}`; check the path (relative paths start from the current directory)")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read `{path}`: {source}; check the file's permissions")]
    Io {
        /// The path given (`-` for standard input).
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The extension is not one we know and no format was given.
    #[error("unsupported file extension for `{path}`; supported: .csv, .parquet, .arrow, .feather, .ipc (or `-` for CSV on standard input); name the format with --input-format csv|parquet|arrow")]
    UnsupportedExtension {
        /// The path given.
        path: PathBuf,
    },
    /// An unknown format name.
    #[error("unknown input format `{name}`; use one of: csv, parquet, arrow")]
    UnknownFormat {
        /// The name given.
        name: String,
    },
    /// The input holds no bytes (or only blank lines).
    #[error(
        "the data in `{path}` is empty; a CSV file needs a header row and at least one data row"
    )]
    Empty {
        /// The path given.
        path: PathBuf,
    },
    /// The input has a header (or schema) but no rows.
    #[error("the data in `{path}` has column names but no rows; add data rows")]
    NoRows {
        /// The path given.
        path: PathBuf,
    },
    /// The bytes are not valid UTF-8 text.
    #[error("`{path}` is not UTF-8 text (invalid bytes on line {line}); if it is Parquet or Arrow, give it a .parquet or .arrow extension or pass --input-format; otherwise re-save it as UTF-8 CSV")]
    NotUtf8 {
        /// The path given.
        path: PathBuf,
        /// The 1-based line of the first invalid byte.
        line: usize,
    },
    /// A row has a different number of fields than the header.
    #[error("`{path}` line {line} has {found} fields but the header has {expected}; fix that row (a stray comma or an unclosed quote?)")]
    Ragged {
        /// The path given.
        path: PathBuf,
        /// The 1-based line where the row starts.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields found in the row.
        found: usize,
    },
    /// A quoted field runs to the end of the file.
    #[error(
        "`{path}`: the quoted field starting on line {line} is never closed; add the closing `\"`"
    )]
    UnclosedQuote {
        /// The path given.
        path: PathBuf,
        /// The 1-based line where the field starts.
        line: usize,
    },
    /// Two columns have the same name.
    #[error("`{path}` has two columns named `{name}`; rename one of them")]
    DuplicateColumn {
        /// The path given.
        path: PathBuf,
        /// The repeated name.
        name: String,
    },
    /// The bytes are not a valid file of the format.
    #[error("`{path}` is not a readable {format} file ({detail}); check that the file is complete and of that format, or pass --input-format")]
    Malformed {
        /// The path given.
        path: PathBuf,
        /// The format tried.
        format: InputFormat,
        /// What the decoder said.
        detail: String,
    },
    /// Parquet cannot be streamed from standard input.
    #[error("Parquet cannot be read from standard input; save it to a file and pass its path")]
    ParquetFromStdin,
}

/// Read a whole table from `path` (`-` = standard input) into one [`RecordBatch`].
///
/// The format is `format` when given, else it follows the extension (`.csv`, `.parquet`,
/// `.arrow`/`.feather`/`.ipc`); standard input defaults to CSV. Arrow IPC input may be in
/// the file or the stream format (told apart by its first bytes).
pub fn read_table(path: &Path, format: Option<InputFormat>) -> Result<RecordBatch, ReadError> {
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        return read_from(stdin.lock(), path, format.unwrap_or(InputFormat::Csv));
    }
    let format = match format.or_else(|| InputFormat::from_path(path)) {
        Some(f) => f,
        None => {
            return Err(ReadError::UnsupportedExtension {
                path: path.to_path_buf(),
            })
        }
    };
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    read_bytes(bytes, path, format)
}

/// Read a table of the given format from any reader (used for standard input).
///
/// `label` names the source in error messages.
pub fn read_from(
    mut reader: impl Read,
    label: &Path,
    format: InputFormat,
) -> Result<RecordBatch, ReadError> {
    if format == InputFormat::Parquet {
        return Err(ReadError::ParquetFromStdin);
    }
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(label, e))?;
    read_bytes(bytes, label, format)
}

/// Read a CSV table from text already in memory (header row first).
pub fn read_csv_str(text: &str) -> Result<RecordBatch, ReadError> {
    read_bytes(
        text.as_bytes().to_vec(),
        Path::new("<text>"),
        InputFormat::Csv,
    )
}

/// Read a table keeping its columns as written, to pass them through to an output (the
/// new data of a prediction): Parquet and Arrow columns keep their types (an int64 stays
/// int64); in CSV, a numeric column of integers is `Int64`, one holding an integer with a
/// leading zero (a zip code `02134`) stays text, other numbers are `Float64`, text stays
/// text (`NA` and empty fields missing). [`read_table`] gives the same rows, typed for the
/// model.
pub fn read_table_as_written(
    path: &Path,
    format: Option<InputFormat>,
) -> Result<RecordBatch, ReadError> {
    let (bytes, format) = if path.as_os_str() == "-" {
        let format = format.unwrap_or(InputFormat::Csv);
        if format == InputFormat::Parquet {
            return Err(ReadError::ParquetFromStdin);
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(path, e))?;
        (bytes, format)
    } else {
        let format = format
            .or_else(|| InputFormat::from_path(path))
            .ok_or_else(|| ReadError::UnsupportedExtension {
                path: path.to_path_buf(),
            })?;
        (std::fs::read(path).map_err(|e| io_error(path, e))?, format)
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let batch = match format {
        InputFormat::Csv => csv::read_as_written(&bytes, path)?,
        InputFormat::Parquet => read_parquet(bytes, path)?,
        InputFormat::Arrow => read_ipc(bytes, path)?,
    };
    unique_names(
        batch.schema().fields().iter().map(|f| f.name().as_str()),
        path,
    )?;
    if batch.num_rows() == 0 {
        return Err(ReadError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(batch)
}

/// Read a table from bytes already in memory (`label` names it in error messages).
pub fn read_table_bytes(
    bytes: Vec<u8>,
    label: &Path,
    format: InputFormat,
) -> Result<RecordBatch, ReadError> {
    read_bytes(bytes, label, format)
}

pub(crate) fn io_error(path: &Path, e: std::io::Error) -> ReadError {
    if e.kind() == std::io::ErrorKind::NotFound {
        ReadError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        ReadError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

fn read_bytes(bytes: Vec<u8>, path: &Path, format: InputFormat) -> Result<RecordBatch, ReadError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let batch = match format {
        InputFormat::Csv => csv::read_csv_bytes(&bytes, path)?,
        InputFormat::Parquet => read_parquet(bytes, path)?,
        InputFormat::Arrow => read_ipc(bytes, path)?,
    };
    if batch.num_rows() == 0 {
        return Err(ReadError::NoRows {
            path: path.to_path_buf(),
        });
    }
    normalize(batch, path, format)
}

pub(crate) fn malformed(path: &Path, format: InputFormat, e: impl fmt::Display) -> ReadError {
    ReadError::Malformed {
        path: path.to_path_buf(),
        format,
        detail: e.to_string(),
    }
}

fn read_parquet(bytes: Vec<u8>, path: &Path) -> Result<RecordBatch, ReadError> {
    catch_decoder_panic(path, InputFormat::Parquet, || decode_parquet(bytes, path))
}

fn decode_parquet(bytes: Vec<u8>, path: &Path) -> Result<RecordBatch, ReadError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bad = |e: &dyn fmt::Display| malformed(path, InputFormat::Parquet, e);
    if !bytes.starts_with(b"PAR1") {
        return Err(bad(
            &"it does not start with the Parquet magic bytes `PAR1`",
        ));
    }
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).map_err(|e| bad(&e))?;
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(65_536)
        .build()
        .map_err(|e| bad(&e))?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| bad(&e))?;
    concat(&schema, &batches, path, InputFormat::Parquet)
}

fn read_ipc(bytes: Vec<u8>, path: &Path) -> Result<RecordBatch, ReadError> {
    catch_decoder_panic(path, InputFormat::Arrow, || decode_ipc(bytes, path))
}

fn decode_ipc(bytes: Vec<u8>, path: &Path) -> Result<RecordBatch, ReadError> {
    use arrow_ipc::reader::{FileReader, StreamReader};
    let bad = |e: &dyn fmt::Display| malformed(path, InputFormat::Arrow, e);
    ipc_check::check_declared_sizes(&bytes, crate::memory_budget()).map_err(|e| bad(&e))?;
    let (schema, batches) = if bytes.starts_with(b"ARROW1") {
        let reader = FileReader::try_new(Cursor::new(bytes), None).map_err(|e| bad(&e))?;
        let schema = reader.schema();
        (
            schema,
            reader.collect::<Result<Vec<_>, _>>().map_err(|e| bad(&e))?,
        )
    } else {
        let reader = StreamReader::try_new(Cursor::new(bytes), None).map_err(|e| bad(&e))?;
        let schema = reader.schema();
        (
            schema,
            reader.collect::<Result<Vec<_>, _>>().map_err(|e| bad(&e))?,
        )
    };
    concat(&schema, &batches, path, InputFormat::Arrow)
}

pub(crate) fn concat(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    path: &Path,
    format: InputFormat,
) -> Result<RecordBatch, ReadError> {
    arrow_select::concat::concat_batches(schema, batches).map_err(|e| malformed(path, format, e))
}

/// Bring every column to Float64 (numbers), Utf8 (text) or Boolean; refuse duplicate
/// column names. Field metadata is kept.
pub(crate) fn normalize(
    batch: RecordBatch,
    path: &Path,
    format: InputFormat,
) -> Result<RecordBatch, ReadError> {
    let schema = batch.schema();
    unique_names(schema.fields().iter().map(|f| f.name().as_str()), path)?;
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let target = target_type(column.data_type());
        let column = match &target {
            Some(t) if t != column.data_type() => arrow_cast::cast(column, t)
                .map_err(|e| cast_error(path, format, field.name(), e))?,
            _ => column.clone(),
        };
        fields.push(
            Field::new(field.name(), column.data_type().clone(), true)
                .with_metadata(field.metadata().clone()),
        );
        columns.push(column);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| malformed(path, format, e))
}

/// The first repeated name is an error (hashing: a header of a million columns is checked
/// in linear time).
pub(crate) fn unique_names<'a>(
    names: impl Iterator<Item = &'a str>,
    path: &Path,
) -> Result<(), ReadError> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(ReadError::DuplicateColumn {
                path: path.to_path_buf(),
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

/// Field metadata key of a CSV column read as text although every value in it is a number:
/// value `all` when every value is quoted (as R's `write.csv` marks a factor), `some` when
/// only some are (often a writer's accident).
pub const QUOTED_NUMBERS_KEY: &str = "mixedlm:quoted_numbers";

/// The [`QUOTED_NUMBERS_KEY`] value of a column: typed as a number or not, whether its
/// values all look like numbers, and whether some value was written without quotes.
pub(crate) fn quoted_numbers_note(
    numeric: bool,
    looks_numeric: bool,
    unquoted: bool,
) -> Option<&'static str> {
    match (numeric, looks_numeric, unquoted) {
        (false, true, false) => Some("all"),
        (false, true, true) => Some("some"),
        _ => None,
    }
}

/// A CSV field with the [`QUOTED_NUMBERS_KEY`] note, if any.
pub(crate) fn csv_field(name: &str, data_type: DataType, note: Option<&str>) -> Field {
    let field = Field::new(name, data_type, true);
    match note {
        Some(v) => field.with_metadata(HashMap::from([(QUOTED_NUMBERS_KEY.into(), v.into())])),
        None => field,
    }
}

fn cast_error(path: &Path, format: InputFormat, name: &str, e: ArrowError) -> ReadError {
    malformed(path, format, format!("column `{name}`: {e}"))
}

fn target_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => Some(DataType::Float64),
        DataType::LargeUtf8 | DataType::Utf8View => Some(DataType::Utf8),
        DataType::Dictionary(_, value)
            if target_type(value).is_some() || **value == DataType::Utf8 =>
        {
            Some(target_type(value).unwrap_or(DataType::Utf8))
        }
        _ => None,
    }
}

/// Parse a CSV text field as a number the way R, pandas and polars write them (`NA` handled
/// by the caller): decimal numbers, and `Inf`/`inf`/`Infinity` and `NaN`/`nan` in any case,
/// with an optional sign.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    match s {
        "Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => {
            // Trimming costs a tenth of the CSV read; an ASCII letter, digit or sign at
            // both ends (the usual case) means there is nothing to trim.
            let b = s.as_bytes();
            let clean = b.first().is_some_and(u8::is_ascii_graphic)
                && b.last().is_some_and(u8::is_ascii_graphic);
            let t = if clean { s } else { s.trim() };
            // Rust's parser accepts the words "inf", "infinity" and "nan" in any case, which
            // are numbers here too; other words are not.
            let body = t.strip_prefix(['-', '+']).unwrap_or(t);
            match body.bytes().next() {
                Some(c) if c.is_ascii_digit() || c == b'.' => t.parse::<f64>().ok(),
                Some(b'i' | b'I' | b'n' | b'N') => t.parse::<f64>().ok(),
                _ => None,
            }
        }
    }
}

/// Whether a CSV field means "missing".
pub(crate) fn is_na(s: &str) -> bool {
    s.is_empty() || s == "NA"
}

/// Turn a text column into Float64 if every non-missing field is a number.
pub(crate) fn text_to_number(col: &StringArray) -> Option<ArrayRef> {
    let mut values = Vec::with_capacity(col.len());
    for v in col.iter() {
        match v {
            None => values.push(None),
            Some(s) if is_na(s) => values.push(None),
            Some(s) => values.push(Some(parse_number(s)?)),
        }
    }
    Some(Arc::new(Float64Array::from(values)))
}

/// Replace `NA` fields of a text column by nulls.
pub(crate) fn text_na_to_null(col: &StringArray) -> ArrayRef {
    if col.iter().flatten().any(|s| s == "NA") {
        Arc::new(
            col.iter()
                .map(|v| v.filter(|s| !is_na(s)))
                .collect::<StringArray>(),
        )
    } else {
        Arc::new(col.clone())
    }
}

mod chunks;
mod guard;
mod ipc_check;
pub(crate) use guard::catch_decoder_panic;
pub use guard::decoding_untrusted;
pub(crate) use ipc_check::{check_declared_sizes, FileSource};

/// The CSV reader: the header, then the rows in parallel chunks (`chunks`), or in one
/// thread (a quote-aware pre-scan decides column types, arrow-csv parses) when the chunked
/// path leaves a file (an error to report) to it.
pub(crate) mod csv {
    use super::{
        chunks, csv_field, malformed, quoted_numbers_note, text_na_to_null, text_to_number,
        InputFormat, ReadError,
    };
    use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use std::io::Cursor;
    use std::path::Path;
    use std::sync::Arc;

    /// What the pre-scan learns: column names, which columns are quoted (anywhere), which
    /// hold a value written without quotes, row count.
    #[derive(Debug)]
    pub(crate) struct Scan {
        pub(crate) names: Vec<String>,
        pub(crate) quoted: Vec<bool>,
        pub(crate) unquoted: Vec<bool>,
        pub(crate) rows: usize,
    }

    /// One field as the scanner sees it (`missing`: unquoted and empty or `NA`).
    struct FieldInfo {
        quoted: bool,
        missing: bool,
        text: String,
    }

    /// A cursor over the bytes that tracks line numbers.
    struct Cur<'a> {
        b: &'a [u8],
        pos: usize,
        line: usize,
    }

    impl Cur<'_> {
        fn peek(&self) -> Option<u8> {
            self.b.get(self.pos).copied()
        }
        /// Consume a line ending (`\n`, `\r\n` or `\r`) if one is next; true if it was.
        fn eat_newline(&mut self) -> bool {
            match self.peek() {
                Some(b'\n') => {
                    self.pos += 1;
                }
                Some(b'\r') => {
                    self.pos += 1;
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return false,
            }
            self.line += 1;
            true
        }
        /// Read one field; `keep` asks for its text (header only).
        fn field(&mut self, keep: bool, path: &Path) -> Result<FieldInfo, ReadError> {
            let mut text = Vec::new();
            if self.peek() != Some(b'"') {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'\n' | b'\r') {
                        break;
                    }
                    self.pos += 1;
                }
                let raw = &self.b[start..self.pos];
                if keep {
                    text.extend_from_slice(raw);
                }
                return Ok(FieldInfo {
                    quoted: false,
                    missing: raw.is_empty() || raw == b"NA",
                    text: lossy(text),
                });
            }
            let start_line = self.line;
            self.pos += 1;
            loop {
                match self.peek() {
                    None => {
                        return Err(ReadError::UnclosedQuote {
                            path: path.into(),
                            line: start_line,
                        })
                    }
                    Some(b'"') if self.b.get(self.pos + 1) == Some(&b'"') => {
                        text.push(b'"');
                        self.pos += 2;
                    }
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(c) => {
                        if c == b'\n' {
                            self.line += 1;
                        }
                        text.push(c);
                        self.pos += 1;
                    }
                }
            }
            // Tolerate stray bytes after the closing quote, as arrow-csv does.
            while let Some(c) = self.peek() {
                if matches!(c, b',' | b'\n' | b'\r') {
                    break;
                }
                self.pos += 1;
            }
            Ok(FieldInfo {
                quoted: true,
                missing: false,
                text: if keep { lossy(text) } else { String::new() },
            })
        }
        /// Read one record; returns its fields, or None at the end of input.
        fn record(&mut self, keep: bool, path: &Path) -> Result<Option<Vec<FieldInfo>>, ReadError> {
            while self.eat_newline() {}
            if self.peek().is_none() {
                return Ok(None);
            }
            let mut fields = vec![self.field(keep, path)?];
            while self.peek() == Some(b',') {
                self.pos += 1;
                fields.push(self.field(keep, path)?);
            }
            self.eat_newline();
            Ok(Some(fields))
        }
    }

    fn lossy(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Scan the whole input: header names, quoting per column, ragged rows.
    pub(crate) fn scan(bytes: &[u8], path: &Path) -> Result<Scan, ReadError> {
        let mut cur = Cur {
            b: bytes,
            pos: 0,
            line: 1,
        };
        let names = header(&mut cur, path)?;
        let mut quoted = vec![false; names.len()];
        let mut unquoted = vec![false; names.len()];
        let mut rows = 0;
        loop {
            while cur.eat_newline() {}
            let line = cur.line;
            let Some(fields) = cur.record(false, path)? else {
                break;
            };
            if fields.len() != names.len() {
                let (expected, found) = (names.len(), fields.len());
                return Err(ReadError::Ragged {
                    path: path.into(),
                    line,
                    expected,
                    found,
                });
            }
            for ((q, u), f) in quoted.iter_mut().zip(&mut unquoted).zip(&fields) {
                *q |= f.quoted;
                *u |= !f.quoted && !f.missing;
            }
            rows += 1;
        }
        Ok(Scan {
            names,
            quoted,
            unquoted,
            rows,
        })
    }

    /// Read the header record: the column names.
    fn header(cur: &mut Cur<'_>, path: &Path) -> Result<Vec<String>, ReadError> {
        let header = match cur.record(true, path)? {
            Some(h) => h,
            None => return Err(ReadError::Empty { path: path.into() }),
        };
        column_names(header.into_iter().map(|f| f.text).collect(), path)
    }

    /// Header names: trimmed; an empty name (R's row-names column) becomes `X`; no duplicates.
    fn column_names(raw: Vec<String>, path: &Path) -> Result<Vec<String>, ReadError> {
        let names: Vec<String> = raw
            .into_iter()
            .enumerate()
            .map(|(i, name)| match name.trim() {
                "" if i == 0 => "X".to_string(),
                "" => format!("X{}", i + 1),
                t => t.to_string(),
            })
            .collect();
        super::unique_names(names.iter().map(String::as_str), path)?;
        Ok(names)
    }

    /// Parse CSV bytes into a batch with Float64 and Utf8 columns.
    pub(super) fn read_csv_bytes(bytes: &[u8], path: &Path) -> Result<RecordBatch, ReadError> {
        read_csv_chunked(bytes, path, None)
    }

    /// [`read_csv_bytes`] with the data cut into chunks of about `chunk_bytes` (`None`: a
    /// size for the machine) that are parsed in parallel; the result does not depend on it.
    pub(crate) fn read_csv_chunked(
        bytes: &[u8],
        path: &Path,
        chunk_bytes: Option<usize>,
    ) -> Result<RecordBatch, ReadError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        check_utf8(bytes, path)?;
        let mut cur = Cur {
            b: bytes,
            pos: 0,
            line: 1,
        };
        let names = header(&mut cur, path)?;
        let chunk_bytes = chunk_bytes.unwrap_or_else(|| chunks::chunk_bytes_for(bytes.len()));
        let Some((rows, columns)) = chunks::read_columns(bytes, cur.pos, names.len(), chunk_bytes)
        else {
            return read_sequential(bytes, path);
        };
        if rows == 0 {
            return Err(ReadError::NoRows { path: path.into() });
        }
        let fields: Vec<Field> = names
            .iter()
            .zip(&columns)
            .map(|(name, (c, note))| csv_field(name, c.data_type().clone(), *note))
            .collect();
        let columns = columns.into_iter().map(|(c, _)| c).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| malformed(path, InputFormat::Csv, e))
    }

    /// The reader before the chunked path: the reference its tests compare with.
    #[cfg(test)]
    pub(crate) fn read_csv_reference(bytes: &[u8], path: &Path) -> Result<RecordBatch, ReadError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        check_utf8(bytes, path)?;
        read_sequential(bytes, path)
    }

    fn check_utf8(bytes: &[u8], path: &Path) -> Result<(), ReadError> {
        if let Err(e) = std::str::from_utf8(bytes) {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&c| c == b'\n')
                .count();
            return Err(ReadError::NotUtf8 {
                path: path.into(),
                line,
            });
        }
        Ok(())
    }

    /// Whether the record at the start of `bytes` closes every quote it opens.
    pub(super) fn record_closes(bytes: &[u8]) -> bool {
        let mut cur = Cur {
            b: bytes,
            pos: 0,
            line: 1,
        };
        cur.record(false, Path::new("")).is_ok()
    }

    /// The whole file in one thread: [`scan`], arrow-csv as text, then typing. The
    /// reference for the chunked reader, and the one that reports errors with their lines.
    pub(crate) fn read_sequential(bytes: &[u8], path: &Path) -> Result<RecordBatch, ReadError> {
        let scan = scan(bytes, path)?;
        if scan.rows == 0 {
            return Err(ReadError::NoRows { path: path.into() });
        }
        let text = parse_as_text(bytes, &scan, path)?;
        let all_quoted = scan.quoted.iter().all(|&q| q);
        let mut fields = Vec::with_capacity(scan.names.len());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(scan.names.len());
        for (i, name) in scan.names.iter().enumerate() {
            let col = text
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| malformed(path, InputFormat::Csv, "expected a text column"))?;
            let treat_as_text = scan.quoted[i] && !all_quoted;
            let number = text_to_number(col);
            let looks_numeric = number.is_some();
            let column = if treat_as_text { None } else { number };
            let numeric = column.is_some();
            let column = column.unwrap_or_else(|| text_na_to_null(col));
            let note = quoted_numbers_note(numeric, looks_numeric, scan.unquoted[i]);
            fields.push(csv_field(name, column.data_type().clone(), note));
            columns.push(column);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| malformed(path, InputFormat::Csv, e))
    }

    /// The CSV reader of [`super::read_table_as_written`]: the sequential reader's typing,
    /// except that integer columns are `Int64` and a column with a leading-zero integer
    /// stays text.
    pub(crate) fn read_as_written(bytes: &[u8], path: &Path) -> Result<RecordBatch, ReadError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        check_utf8(bytes, path)?;
        let scan = scan(bytes, path)?;
        if scan.rows == 0 {
            return Err(ReadError::NoRows { path: path.into() });
        }
        let text = parse_as_text(bytes, &scan, path)?;
        let all_quoted = scan.quoted.iter().all(|&q| q);
        let mut fields = Vec::with_capacity(scan.names.len());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(scan.names.len());
        for (i, name) in scan.names.iter().enumerate() {
            let col = text
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| malformed(path, InputFormat::Csv, "expected a text column"))?;
            let number = if scan.quoted[i] && !all_quoted {
                None
            } else {
                text_to_number(col)
            };
            let column = match (number, integers(col)) {
                (Some(_), Integers::Yes(ints)) => ints,
                (Some(n), Integers::No) => n,
                _ => text_na_to_null(col),
            };
            fields.push(Field::new(name, column.data_type().clone(), true));
            columns.push(column);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| malformed(path, InputFormat::Csv, e))
    }

    /// Whether a column's fields are integers (`Yes`, as an `Int64` array), hold one written
    /// with a leading zero (`LeadingZero`: an identifier such as a zip code), or neither.
    enum Integers {
        Yes(ArrayRef),
        LeadingZero,
        No,
    }

    fn integers(col: &StringArray) -> Integers {
        let mut values = Vec::with_capacity(col.len());
        for v in col.iter() {
            let Some(s) = v.filter(|s| !super::is_na(s)) else {
                values.push(None);
                continue;
            };
            let t = s.trim();
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Integers::No;
            }
            if digits.len() > 1 && digits.starts_with('0') {
                return Integers::LeadingZero;
            }
            match t.parse::<i64>() {
                Ok(x) => values.push(Some(x)),
                Err(_) => return Integers::No,
            }
        }
        Integers::Yes(Arc::new(arrow_array::Int64Array::from(values)))
    }

    /// arrow-csv with every column as Utf8 (empty fields null).
    fn parse_as_text(bytes: &[u8], scan: &Scan, path: &Path) -> Result<RecordBatch, ReadError> {
        let fields: Vec<Field> = scan
            .names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let bad = |e: arrow_schema::ArrowError| malformed(path, InputFormat::Csv, e);
        let reader = arrow_csv::ReaderBuilder::new(schema.clone())
            .with_header(true)
            .with_batch_size(65_536)
            .build(Cursor::new(bytes))
            .map_err(bad)?;
        let batches = reader.collect::<Result<Vec<_>, _>>().map_err(bad)?;
        super::concat(&schema, &batches, path, InputFormat::Csv)
    }
}
