//! Data from Python: anything with the Arrow PyCapsule interface (pyarrow Tables and
//! RecordBatches, polars DataFrames, ...) imported without a copy, or a file path.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_pyarrow::{FromPyArrow, Table, ToPyArrow};
use arrow_schema::DataType;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// Where a model's data come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// In memory, imported from Python.
    Batch(RecordBatch),
    /// A CSV, Parquet or Arrow file read by the engine.
    Path(PathBuf),
}

impl Source {
    /// A Python object as data: a `str`/`os.PathLike` path, or an Arrow stream or array.
    pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(path) = obj.extract::<PathBuf>() {
            return Ok(Source::Path(path));
        }
        batch_from_py(obj).map(Source::Batch)
    }

    /// The data as one batch (reads the file for a path).
    pub(crate) fn into_batch(self) -> Result<RecordBatch, mixedlm::Error> {
        match self {
            Source::Batch(b) => Ok(b),
            Source::Path(p) => Ok(mixedlm::read_table(&p, None)?),
        }
    }
}

/// Import an object exposing `__arrow_c_stream__` (or `__arrow_c_array__` for a struct
/// array such as a pyarrow RecordBatch) through the Arrow C data interface: the batch's
/// buffers are the producer's memory. A stream of several batches is concatenated (a copy,
/// which a pandas DataFrame converted by pymixedlm never needs: it arrives as one batch).
pub(crate) fn batch_from_py(obj: &Bound<'_, PyAny>) -> PyResult<RecordBatch> {
    if obj.hasattr("__arrow_c_stream__")? {
        let (batches, schema) = Table::from_pyarrow_bound(obj)?.into_inner();
        return match batches.len() {
            0 => Ok(RecordBatch::new_empty(schema)),
            1 => Ok(batches.into_iter().next().expect("one batch")),
            _ => arrow_select::concat::concat_batches(&schema, &batches)
                .map_err(|e| PyTypeError::new_err(format!("cannot join the data's batches: {e}"))),
        };
    }
    if obj.hasattr("__arrow_c_array__")? {
        return RecordBatch::from_pyarrow_bound(obj);
    }
    let kind = obj.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "cannot read data of type `{kind}`: give a pandas or polars DataFrame, a pyarrow \
         Table or RecordBatch, an object with `__arrow_c_stream__`, a dict of numpy arrays, \
         or the path of a CSV/Parquet/Arrow file"
    )))
}

/// The address of each fixed-width column's value buffer as the engine sees it after
/// importing `data` exactly as [`crate::model::fit`] does: equal to the address pyarrow
/// reports when nothing was copied.
#[pyfunction]
pub(crate) fn column_addresses<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let batch = batch_from_py(data)?;
    let out = PyDict::new(py);
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let address = match column.data_type() {
            DataType::Float64 => {
                Some(column.as_primitive::<Float64Type>().values().as_ptr() as usize)
            }
            DataType::Int64 => Some(column.as_primitive::<Int64Type>().values().as_ptr() as usize),
            _ => None,
        };
        if let Some(a) = address {
            out.set_item(field.name(), a)?;
        }
    }
    Ok(out)
}

/// Read a CSV, Parquet or Arrow file with the engine's reader, as a pyarrow RecordBatch:
/// the same column types as fitting from the path.
#[pyfunction]
pub(crate) fn read_table<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    let batch = py.detach(|| crate::errors::guarded(|| Ok(mixedlm::read_table(&path, None)?)))?;
    batch.to_pyarrow(py)
}
