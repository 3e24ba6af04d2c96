//! Writing simulated data: Arrow record batches, CSV and Parquet.
//!
//! CSV follows R's `write.csv`: a header of names, text fields quoted (so
//! readers treat grouping ids as categorical even when they look numeric),
//! numbers in shortest round-trip form, missing values as `NA`.

use crate::sim::{SimData, Values};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

/// Errors from writing simulated data.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// An I/O failure; check that the output directory exists and is writable.
    #[error("cannot write simulated data: {0}")]
    Io(#[from] io::Error),
    /// Arrow rejected the columns.
    #[error("cannot build the Arrow batch: {0}")]
    Arrow(#[from] ArrowError),
    /// The Parquet writer failed.
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

impl SimData {
    /// The data as one Arrow record batch (text columns as Utf8, numbers as Float64).
    pub fn to_record_batch(&self) -> Result<RecordBatch, OutputError> {
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for c in &self.columns {
            match &c.values {
                Values::Numeric(v) => {
                    fields.push(Field::new(&c.name, DataType::Float64, true));
                    let a: Float64Array = v.iter().map(|x| (!x.is_nan()).then_some(*x)).collect();
                    arrays.push(Arc::new(a));
                }
                Values::Text { codes, labels } => {
                    fields.push(Field::new(&c.name, DataType::Utf8, false));
                    let a: StringArray = codes
                        .iter()
                        .map(|&k| Some(labels[k as usize].as_str()))
                        .collect();
                    arrays.push(Arc::new(a));
                }
            }
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }

    /// Writes the data as CSV.
    pub fn write_csv<W: Write>(&self, out: W) -> Result<(), OutputError> {
        let mut w = io::BufWriter::with_capacity(1 << 20, out);
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        writeln!(w, "{}", names.join(","))?;
        for i in 0..self.n_rows() {
            for (j, c) in self.columns.iter().enumerate() {
                if j > 0 {
                    w.write_all(b",")?;
                }
                write_cell(&mut w, &c.values, i)?;
            }
            w.write_all(b"\n")?;
        }
        w.flush()?;
        Ok(())
    }

    /// Writes the data as CSV to a file.
    pub fn write_csv_file(&self, path: &Path) -> Result<(), OutputError> {
        self.write_csv(std::fs::File::create(path)?)
    }

    /// Writes the data as a Parquet file (snappy-compressed).
    pub fn write_parquet_file(&self, path: &Path) -> Result<(), OutputError> {
        let batch = self.to_record_batch()?;
        let file = std::fs::File::create(path)?;
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)?;
        w.write(&batch)?;
        w.close()?;
        Ok(())
    }
}

fn write_cell<W: Write>(w: &mut W, v: &Values, i: usize) -> io::Result<()> {
    match v {
        Values::Numeric(x) if x[i].is_nan() => w.write_all(b"NA"),
        Values::Numeric(x) if x[i].is_infinite() => {
            w.write_all(if x[i] > 0.0 { b"Inf" } else { b"-Inf" })
        }
        Values::Numeric(x) => write!(w, "{}", x[i]),
        Values::Text { codes, labels } => {
            write!(w, "\"{}\"", labels[codes[i] as usize].replace('"', "\"\""))
        }
    }
}
