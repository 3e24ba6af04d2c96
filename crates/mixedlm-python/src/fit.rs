//! [`Fit`]: a fitted model as plain Python values. The pure-Python layer wraps it into
//! statsmodels' and lme4's shapes (Series, DataFrames, dicts keyed by group).

use crate::data::batch_from_py;
use crate::errors::{guarded, guarded_py};
use arrow_array::{Array, Float64Array, UInt64Array};
use arrow_pyarrow::ToPyArrow;
use mixedlm::diagnostics::{DiagnosticsOptions, PlotFormat};
use mixedlm::{CiMethod, ConfIntOptions, Ddf, MixedLMResults, NewLevelPolicy, PredictLevel};
use mixedlm::{PredictOptions, Predictions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;
use std::sync::{RwLock, RwLockReadGuard};

/// A fitted linear mixed model (the engine's `MixedLMResults`).
///
/// Only the diagnostics write to it (they evaluate the objective around θ̂ and leave it
/// where it was), so it sits behind a read-write lock.
#[pyclass(frozen, module = "pymixedlm._core")]
#[derive(Debug)]
pub(crate) struct Fit {
    results: RwLock<MixedLMResults>,
    engine_seconds: f64,
}

impl Fit {
    pub(crate) fn new(results: MixedLMResults, engine_seconds: f64) -> Self {
        Self {
            results: RwLock::new(results),
            engine_seconds,
        }
    }

    /// The results for reading (a poisoned lock only means a panic was caught while the
    /// diagnostics held it; the results are still whole).
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, MixedLMResults> {
        self.results.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// A vector of floats as a numpy array (through a pyarrow array, without a second copy).
pub(crate) fn float_array<'py>(py: Python<'py>, values: Vec<f64>) -> PyResult<Bound<'py, PyAny>> {
    let array = Float64Array::from(values).into_data().to_pyarrow(py)?;
    array.call_method0("to_numpy")
}

pub(crate) fn index_array<'py>(py: Python<'py>, values: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    let v: Vec<u64> = values.iter().map(|&i| i as u64).collect();
    let array = UInt64Array::from(v).into_data().to_pyarrow(py)?;
    array.call_method0("to_numpy")
}

/// Vectors of floats as a list of numpy arrays.
pub(crate) fn float_arrays<'py>(
    py: Python<'py>,
    vs: Vec<Vec<f64>>,
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for v in vs {
        out.append(float_array(py, v)?)?;
    }
    Ok(out)
}

/// Predictions as a dict with `row_index`, `values`, `std_error` (None where the engine
/// gives none), `unseen` levels and `n_dropped`.
pub(crate) fn prediction_dict(py: Python<'_>, p: Predictions) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("row_index", index_array(py, &p.row_index)?)?;
    d.set_item("values", float_array(py, p.values)?)?;
    match p.std_error {
        Some(se) => d.set_item("std_error", float_array(py, se)?)?,
        None => d.set_item("std_error", py.None())?,
    }
    d.set_item("unseen", p.unseen_levels)?;
    d.set_item("n_dropped", p.n_dropped)?;
    Ok(d)
}

/// A prediction level by name (statsmodels' and lme4's spellings).
pub(crate) fn parse_level(name: &str) -> PyResult<PredictLevel> {
    match name {
        "population" | "marginal" => Ok(PredictLevel::Population),
        "conditional" | "group" => Ok(PredictLevel::Conditional),
        other => Err(PyValueError::new_err(format!(
            "unknown prediction level `{other}`; use \"population\" (fixed effects only, \
             statsmodels' predict) or \"conditional\" (with each group's random effects)"
        ))),
    }
}

/// What a level unseen in fitting gets, by name.
pub(crate) fn parse_new_levels(name: &str) -> PyResult<NewLevelPolicy> {
    match name {
        "population" => Ok(NewLevelPolicy::Population),
        "error" => Ok(NewLevelPolicy::Error),
        other => Err(PyValueError::new_err(format!(
            "unknown new_levels `{other}`; use \"population\" or \"error\""
        ))),
    }
}

/// One fixed effect's test: name, estimate, SE, statistic, df (None for z), p-value.
type TestRow = (String, f64, f64, f64, Option<f64>, f64);

fn parse_ddf(name: &str) -> PyResult<Ddf> {
    match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "z" | "wald" | "normal" => Ok(Ddf::Z),
        "satterthwaite" => Ok(Ddf::Satterthwaite),
        "kenward-roger" | "kr" => Ok(Ddf::KenwardRoger),
        _ => Err(PyValueError::new_err(format!(
            "unknown ddf `{name}`; use one of: z, satterthwaite, kenward-roger"
        ))),
    }
}

fn parse_ci_method(name: &str) -> PyResult<CiMethod> {
    match name.to_ascii_lowercase().as_str() {
        "wald" => Ok(CiMethod::Wald),
        "profile" => Ok(CiMethod::Profile),
        "boot" | "bootstrap" => Ok(CiMethod::Bootstrap),
        _ => Err(PyValueError::new_err(format!(
            "unknown interval method `{name}`; use one of: wald, profile, bootstrap"
        ))),
    }
}

#[pymethods]
impl Fit {
    // ---- the model ----

    /// The formula as given to the engine.
    #[getter]
    fn formula(&self) -> String {
        self.read().formula().to_string()
    }
    /// The model written as one lme4 formula.
    #[getter]
    fn lme4_formula(&self) -> String {
        self.read().spec().lme4_formula()
    }
    /// The response's label.
    #[getter]
    fn endog_name(&self) -> String {
        self.read().endog_name().to_string()
    }
    /// Seconds the engine took to build the design and fit (as the CLI's
    /// `timing.fit_seconds`: the data already in memory).
    #[getter]
    fn engine_seconds(&self) -> f64 {
        self.engine_seconds
    }
    /// Whether the criterion is REML.
    #[getter]
    fn reml(&self) -> bool {
        self.read().reml()
    }

    // ---- fixed effects ----

    #[getter]
    fn fe_names(&self) -> Vec<String> {
        self.read().fe_names().to_vec()
    }
    #[getter]
    fn fe_params(&self) -> Vec<f64> {
        self.read().fe_params().to_vec()
    }
    #[getter]
    fn bse_fe(&self) -> Vec<f64> {
        self.read().bse_fe().to_vec()
    }
    /// Var(β̂), row by row.
    #[getter]
    fn vcov_fe(&self) -> Vec<Vec<f64>> {
        self.read().fit().vcov_fixef.clone()
    }
    /// Columns dropped as linear combinations of earlier ones (lme4's names).
    #[getter]
    fn aliased(&self) -> Vec<String> {
        self.read().design().aliased.clone()
    }
    /// For each fixed-effects column (aliased ones included) how it was built: see
    /// [`crate::columns`].
    fn fe_columns<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        crate::columns::describe(py, self.read().design_spec())
    }

    // ---- variance parameters and likelihood ----

    #[getter]
    fn theta(&self) -> Vec<f64> {
        self.read().theta().to_vec()
    }
    #[getter]
    fn sigma(&self) -> f64 {
        self.read().sigma()
    }
    #[getter]
    fn objective(&self) -> f64 {
        self.read().objective()
    }
    #[getter]
    fn llf(&self) -> f64 {
        self.read().llf()
    }
    #[getter]
    fn aic(&self) -> f64 {
        self.read().aic()
    }
    #[getter]
    fn bic(&self) -> f64 {
        self.read().bic()
    }
    #[getter]
    fn npar(&self) -> usize {
        self.read().npar()
    }

    // ---- bookkeeping ----

    #[getter]
    fn converged(&self) -> bool {
        self.read().converged()
    }
    #[getter]
    fn singular(&self) -> bool {
        self.read().singular()
    }
    #[getter]
    fn nobs(&self) -> usize {
        self.read().nobs()
    }
    #[getter]
    fn n_dropped(&self) -> usize {
        self.read().n_dropped()
    }
    /// Levels per grouping factor, lme4's order.
    #[getter]
    fn n_groups(&self) -> Vec<(String, usize)> {
        self.read().n_groups()
    }
    /// Observations per level of the main grouping factor.
    #[getter]
    fn group_sizes(&self) -> Vec<usize> {
        self.read().group_sizes()
    }
    /// The optimizer's record: name, evaluations, iterations, why it stopped.
    fn optimizer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = self.read();
        let o = r.optim();
        let d = PyDict::new(py);
        d.set_item("optimizer", o.optimizer.as_str())?;
        d.set_item("evaluations", o.evaluations)?;
        d.set_item("gradient_evaluations", o.gradient_evaluations)?;
        d.set_item("iterations", o.iterations)?;
        d.set_item("termination", &o.termination)?;
        d.set_item("converged", o.converged)?;
        d.set_item("seconds", o.seconds)?;
        Ok(d)
    }
    /// lme4's note on dropped aliased columns, if any.
    #[getter]
    fn rank_message(&self) -> Option<String> {
        self.read().rank_message()
    }

    // ---- per-row values ----

    /// The index in the input data of each row used (rows with missing values are not).
    fn row_index<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        index_array(py, &self.read().design().row_index)
    }
    fn fittedvalues<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        float_array(py, self.read().fittedvalues().to_vec())
    }
    fn resid<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        float_array(py, self.read().resid().to_vec())
    }

    // ---- random effects ----

    /// The random-effects terms: see [`crate::terms::term_dicts`].
    #[pyo3(signature = (values = true))]
    fn random_terms<'py>(&self, py: Python<'py>, values: bool) -> PyResult<Bound<'py, PyList>> {
        let r = self.read();
        crate::terms::term_dicts(py, &r.fit().random, r.design_spec(), values)
    }

    /// The model's matrices on the rows used (statsmodels' `endog`, `exog`, `exog_re`): a
    /// dict with `y`, `x` (column-major, n·p), and per random term (lme4's order) its `z`
    /// (column-major, n·k) and `codes` (the level of each row).
    fn design_arrays<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = self.read();
        let d = r.design();
        let out = PyDict::new(py);
        out.set_item("y", float_array(py, d.y.clone())?)?;
        out.set_item("x", float_array(py, d.x.data.clone())?)?;
        let terms = PyList::empty(py);
        for t in &r.fit().random {
            let Some(term) = d.random.iter().find(|dt| dt.group == t.group) else {
                continue;
            };
            let codes: Vec<usize> = term.codes.iter().map(|&c| c as usize).collect();
            let td = PyDict::new(py);
            td.set_item("group", &term.group)?;
            td.set_item("z", float_array(py, term.z.data.clone())?)?;
            td.set_item("k", term.z.ncols)?;
            td.set_item("codes", index_array(py, &codes)?)?;
            terms.append(td)?;
        }
        out.set_item("terms", terms)?;
        Ok(out)
    }

    // ---- inference ----

    /// The fixed-effects tests: `(name, estimate, se, statistic, df, p_value)` per effect.
    #[pyo3(signature = (ddf = "z"))]
    fn fixed_effect_tests(&self, py: Python<'_>, ddf: &str) -> PyResult<Vec<TestRow>> {
        let ddf = parse_ddf(ddf)?;
        let tests = py.detach(|| guarded(|| self.read().fixed_effect_tests(ddf)))?;
        Ok(tests
            .into_iter()
            .map(|t| (t.name, t.estimate, t.se, t.statistic, t.df, t.p_value))
            .collect())
    }

    /// Confidence intervals `(name, lower, upper)` named as lme4's `confint`.
    #[pyo3(signature = (method = "wald", level = 0.95, nsim = 500, seed = 42))]
    fn confint(
        &self,
        py: Python<'_>,
        method: &str,
        level: f64,
        nsim: usize,
        seed: u64,
    ) -> PyResult<Vec<(String, f64, f64)>> {
        if !(level > 0.0 && level < 1.0) {
            return Err(PyValueError::new_err(format!(
                "level must be between 0 and 1 (e.g. 0.95); got {level}"
            )));
        }
        let opts = ConfIntOptions::new(parse_ci_method(method)?)
            .level(level)
            .nsim(nsim)
            .seed(seed);
        let ci = py.detach(|| guarded(|| self.read().confint(&opts)))?;
        Ok(ci.into_iter().map(|c| (c.name, c.lower, c.upper)).collect())
    }

    /// Standard errors of the variance parameters from the observed information:
    /// `(name, estimate, se)`.
    fn variance_se(&self, py: Python<'_>) -> PyResult<Vec<(String, f64, f64)>> {
        let se = py.detach(|| guarded(|| self.read().bse_re()))?;
        Ok(se.into_iter().map(|v| (v.name, v.estimate, v.se)).collect())
    }

    /// statsmodels' `cov_params()`: `(names, matrix)`, the fixed effects (engine order)
    /// then the variance parameters (as `variance_se`), from the joint information.
    fn joint_covariance(&self, py: Python<'_>) -> PyResult<(Vec<String>, Vec<Vec<f64>>)> {
        let c = py.detach(|| guarded(|| self.read().cov_params_joint()))?;
        Ok((c.names, c.matrix))
    }

    /// Warnings about the model and its data (not errors), one sentence each.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.read().warnings()
    }

    /// The maximized ML log-likelihood (REML fits are refitted by ML).
    fn ml_loglik(&self, py: Python<'_>) -> PyResult<f64> {
        py.detach(|| guarded(|| self.read().ml_loglik()))
    }

    /// Predictions for new data: a dict with `row_index`, `values`, `std_error` (population
    /// level only), `unseen` levels and `n_dropped`.
    #[pyo3(signature = (data, level = "population", new_levels = "population"))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        level: &str,
        new_levels: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (level, new_levels) = (parse_level(level)?, parse_new_levels(new_levels)?);
        let batch = batch_from_py(data)?;
        let opts = PredictOptions { level, new_levels };
        let p = py.detach(|| guarded(|| self.read().predict(&batch, &opts)))?;
        prediction_dict(py, p)
    }

    /// `n` simulated response vectors (lme4's `simulate`).
    fn simulate<'py>(&self, py: Python<'py>, n: usize, seed: u64) -> PyResult<Bound<'py, PyList>> {
        let sims = py.detach(|| guarded(|| self.read().simulate(n, seed)))?;
        float_arrays(py, sims)
    }

    // ---- printing, diagnostics ----

    /// The engine's summary text (statsmodels' header and coefficients, lme4's
    /// random-effects table), with `ddf` tests.
    #[pyo3(signature = (ddf = "z"))]
    fn summary_text(&self, py: Python<'_>, ddf: &str) -> PyResult<String> {
        let ddf = parse_ddf(ddf)?;
        py.detach(|| {
            guarded(|| {
                let r = self.read();
                Ok(match ddf {
                    Ddf::Z => r.summary().to_string(),
                    d => r.summary_with(d)?.to_string(),
                })
            })
        })
    }

    /// The diagnostics: a list of `(severity, code, text, advice)` messages.
    #[pyo3(signature = (influence = false))]
    fn diagnostics(
        &self,
        py: Python<'_>,
        influence: bool,
    ) -> PyResult<Vec<(String, String, String, String)>> {
        let opts = DiagnosticsOptions::default().influence(influence);
        let report = py.detach(|| {
            guarded_py(|| {
                let mut r = self.results.write().unwrap_or_else(|p| p.into_inner());
                r.diagnostics(&opts)
                    .map_err(|e| PyValueError::new_err(e.to_string()))
            })
        })?;
        Ok(report
            .messages
            .into_iter()
            .map(|m| (m.severity.to_string(), m.code.to_string(), m.text, m.advice))
            .collect())
    }

    /// Write the diagnostic plots into `directory`; returns the files written.
    #[pyo3(signature = (directory, format = "svg"))]
    fn write_plots(
        &self,
        py: Python<'_>,
        directory: PathBuf,
        format: &str,
    ) -> PyResult<Vec<PathBuf>> {
        let format = match format {
            "svg" => PlotFormat::Svg,
            "png" => PlotFormat::Png,
            "both" => PlotFormat::Both,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown plot format `{other}`; use \"svg\", \"png\" or \"both\""
                )))
            }
        };
        py.detach(|| {
            guarded_py(|| {
                self.read()
                    .write_plots(&directory, format)
                    .map_err(|e| PyValueError::new_err(e.to_string()))
            })
        })
    }
}
