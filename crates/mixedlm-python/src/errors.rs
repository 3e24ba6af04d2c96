//! The engine's errors as Python exceptions, and the panic guard around every engine call.

use mixedlm::design::{DesignError, ReadError};
use mixedlm::Error;
use pyo3::exceptions::{PyFileNotFoundError, PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An engine error as the Python exception a Python user expects: `KeyError` for a column
/// that is not in the data, `FileNotFoundError` for a missing file, `ValueError` for the
/// rest. The message is the engine's own (a formula error keeps its caret line).
pub(crate) fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::Design(DesignError::UnknownColumn { .. }) => PyKeyError::new_err(message),
        Error::Read(ReadError::NotFound { .. }) => PyFileNotFoundError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// Run `f`, turning its error into a Python exception and a panic into a `RuntimeError`
/// that says it is a bug. An unwinding panic must not cross into Python's C frames, and
/// pyo3's own `PanicException` derives from `BaseException`, which `except Exception`
/// does not catch.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(to_py),
        Err(payload) => Err(panic_error(payload.as_ref())),
    }
}

/// [`guarded`] for a closure that already returns a Python result.
pub(crate) fn guarded_py<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(panic_error(payload.as_ref())),
    }
}

fn panic_error(payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    PyRuntimeError::new_err(format!(
        "internal error in the mixedlm engine (a bug; please report it with the data's shape \
         and the formula): {what}"
    ))
}

/// A deliberate panic inside the guard, so that the test suite can check that a Rust
/// panic reaches Python as an exception instead of aborting the interpreter.
#[pyfunction]
pub(crate) fn raise_panic_for_tests(py: Python<'_>) -> PyResult<()> {
    py.detach(|| {
        guarded(|| -> Result<(), Error> { panic!("a deliberate panic for the test suite") })
    })
}
