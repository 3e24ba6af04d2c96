//! The distributed route for Python engines (Spark's `mapInArrow`, Dask's partitions):
//! levels frozen into bytes on the driver, cross-products accumulated by the workers into
//! byte records, merged and fitted on the driver, fitted values computed by the workers.
//! Every engine call runs with the GIL released, under the panic guard.

use crate::data::batch_from_py;
use crate::errors::{guarded, to_py};
use crate::fit::{float_array, Fit};
use crate::model::ModelArgs;
use arrow_array::RecordBatch;
use mixedlm::model::CrossProductSums;
use mixedlm::{Coefficients, FrozenLevels, ModelSpec};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::time::Instant;

fn spec_of(model: &ModelArgs) -> ModelSpec {
    model.builder().spec().clone()
}

fn levels_of(py: Python<'_>, levels: &[u8]) -> PyResult<FrozenLevels> {
    py.detach(|| guarded(|| FrozenLevels::from_bytes(levels)))
}

/// The column sets whose distinct values give the model's levels: `(columns, always)`;
/// `always == False` marks a plain column that is a factor only when it holds text or
/// booleans.
#[pyfunction]
pub(crate) fn level_columns(model: ModelArgs) -> PyResult<Vec<(Vec<String>, bool)>> {
    guarded(|| mixedlm::level_columns(&spec_of(&model)))
}

/// Freeze the levels found in `rows` (complete rows holding every level) into the bytes
/// the workers receive.
#[pyfunction]
pub(crate) fn freeze_levels<'py>(
    py: Python<'py>,
    model: ModelArgs,
    rows: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let batch = batch_from_py(rows)?;
    let spec = spec_of(&model);
    let bytes =
        py.detach(|| guarded(|| FrozenLevels::from_level_rows(&spec, &[batch])?.to_bytes()))?;
    Ok(PyBytes::new(py, &bytes))
}

/// One worker's cross-products: `add` each Arrow batch, then `to_bytes`.
#[pyclass(module = "pymixedlm._core")]
pub(crate) struct SumsAccumulator {
    levels: FrozenLevels,
    sums: CrossProductSums,
    batches: usize,
    seconds: f64,
}

#[pymethods]
impl SumsAccumulator {
    #[new]
    fn new(py: Python<'_>, levels: &[u8]) -> PyResult<Self> {
        let levels = levels_of(py, levels)?;
        let sums = levels.empty_sums().map_err(to_py)?;
        Ok(Self {
            levels,
            sums,
            batches: 0,
            seconds: 0.0,
        })
    }

    /// Add the rows of an Arrow batch (any object with the Arrow PyCapsule interface).
    fn add(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        let batch: RecordBatch = batch_from_py(batch)?;
        let start = Instant::now();
        let (levels, sums) = (&self.levels, &mut self.sums);
        py.detach(|| guarded(|| levels.accumulate(sums, &batch)))?;
        self.seconds += start.elapsed().as_secs_f64();
        self.batches += 1;
        Ok(())
    }

    /// Rows accumulated.
    #[getter]
    fn rows(&self) -> usize {
        self.sums.n_obs()
    }

    /// Batches added.
    #[getter]
    fn batches(&self) -> usize {
        self.batches
    }

    /// Seconds spent in the engine (designs and cross-products).
    #[getter]
    fn seconds(&self) -> f64 {
        self.seconds
    }

    /// The cross-products as a versioned record (`CrossProductSums::to_bytes`).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = py.detach(|| self.sums.to_bytes());
        PyBytes::new(py, &bytes)
    }
}

/// The sum of two records written with `levels`, as a record.
#[pyfunction]
pub(crate) fn merge_sums<'py>(
    py: Python<'py>,
    levels: &[u8],
    a: &[u8],
    b: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let levels = levels_of(py, levels)?;
    let merged = py.detach(|| guarded(|| levels.merge_records(a, b)))?;
    Ok(PyBytes::new(py, &merged))
}

/// Fit the model from the merged record of all the rows.
#[pyfunction]
#[pyo3(signature = (model, levels, sums, *, reml = true, method = "auto", max_evaluations = None, start_theta = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_sums(
    py: Python<'_>,
    model: ModelArgs,
    levels: &[u8],
    sums: &[u8],
    reml: bool,
    method: &str,
    max_evaluations: Option<usize>,
    start_theta: Option<Vec<f64>>,
) -> PyResult<Fit> {
    let mut builder = model.builder().reml(reml).method(method);
    if let Some(n) = max_evaluations {
        builder = builder.max_evaluations(n);
    }
    if let Some(theta) = start_theta {
        builder = builder.start_theta(theta);
    }
    let (results, seconds) = py.detach(|| {
        guarded(|| {
            let levels = FrozenLevels::from_bytes(levels)?;
            let sums = levels.read_sums(sums)?;
            let start = Instant::now();
            let results = builder.fit_sums(&levels, &sums)?;
            Ok((results, start.elapsed().as_secs_f64()))
        })
    })?;
    Ok(Fit::new(results, seconds))
}

/// β̂ over all of X's columns and the conditional modes per term (formula order), for
/// [`fitted_batch`] on the workers.
#[pyfunction]
pub(crate) fn coefficients(
    py: Python<'_>,
    fit: PyRef<'_, Fit>,
    levels: &[u8],
) -> PyResult<(Vec<f64>, Vec<Vec<f64>>)> {
    let levels = levels_of(py, levels)?;
    let c = Coefficients::of(&fit.read(), &levels);
    Ok((c.beta, c.condval))
}

/// One worker's fitted values: built once per partition from the levels and the
/// estimates, then `fitted(batch)` per batch.
#[pyclass(module = "pymixedlm._core")]
pub(crate) struct FittedValues {
    levels: FrozenLevels,
    coef: Coefficients,
}

#[pymethods]
impl FittedValues {
    #[new]
    fn new(
        py: Python<'_>,
        levels: &[u8],
        beta: Vec<f64>,
        condval: Vec<Vec<f64>>,
    ) -> PyResult<Self> {
        Ok(Self {
            levels: levels_of(py, levels)?,
            coef: Coefficients { beta, condval },
        })
    }

    /// Fitted values, population predictions and residuals of a batch's used rows: a dict
    /// of `row_index`, `fitted`, `population`, `resid` (numpy arrays).
    fn fitted<'py>(
        &self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let batch = batch_from_py(batch)?;
        let f = py.detach(|| guarded(|| self.levels.fitted(&self.coef, &batch)))?;
        let out = PyDict::new(py);
        let rows: Vec<f64> = f.row_index.iter().map(|&i| i as f64).collect();
        out.set_item(
            "row_index",
            float_array(py, rows)?.call_method1("astype", ("int64",))?,
        )?;
        out.set_item("fitted", float_array(py, f.fitted)?)?;
        out.set_item("population", float_array(py, f.population)?)?;
        out.set_item("resid", float_array(py, f.resid)?)?;
        Ok(out)
    }
}

/// Add the distributed route's functions and classes to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SumsAccumulator>()?;
    m.add_class::<FittedValues>()?;
    m.add_function(wrap_pyfunction!(level_columns, m)?)?;
    m.add_function(wrap_pyfunction!(freeze_levels, m)?)?;
    m.add_function(wrap_pyfunction!(merge_sums, m)?)?;
    m.add_function(wrap_pyfunction!(fit_sums, m)?)?;
    m.add_function(wrap_pyfunction!(coefficients, m)?)?;
    Ok(())
}
