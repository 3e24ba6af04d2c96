//! Generalized linear mixed models (binomial, Poisson) from Python: [`fit_glmm`] and the
//! fitted model as plain Python values, which `python/pymixedlm/_glmm.py` shapes as lme4's
//! and statsmodels' results.

use crate::data::{batch_from_py, Source};
use crate::errors::guarded;
use crate::fit::{
    float_array, float_arrays, index_array, parse_level, parse_new_levels, prediction_dict,
};
use crate::model::{timed_fit, ModelArgs};
use mixedlm::{Glmm, GlmmPredictOptions, GlmmResults, PredictScale, ResidualKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::sync::{Mutex, MutexGuard};

/// A fitted GLMM (the engine's `GlmmResults`).
#[pyclass(frozen, module = "pymixedlm._core")]
#[derive(Debug)]
pub(crate) struct GlmmFit {
    /// Behind a lock because the engine's model holds its linear system as a trait object
    /// that is not `Sync`.
    results: Mutex<GlmmResults>,
    engine_seconds: f64,
}

impl GlmmFit {
    fn read(&self) -> MutexGuard<'_, GlmmResults> {
        // a poisoned lock only means a panic was caught while it was held; the results
        // are still whole
        self.results.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the family, link and likelihood approximation are, as given from Python.
#[derive(Debug, Clone, FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct GlmmArgs {
    family: String,
    link: Option<String>,
    nagq: usize,
    weights: Option<String>,
    offset: Option<String>,
}

impl GlmmArgs {
    fn builder(&self, model: &ModelArgs) -> Glmm {
        let mut g = Glmm::from_spec(model.builder().spec().clone(), &self.family).nagq(self.nagq);
        if let Some(l) = &self.link {
            g = g.link(l);
        }
        if let Some(w) = &self.weights {
            g = g.weights(w);
        }
        if let Some(o) = &self.offset {
            g = g.offset(o);
        }
        g
    }
}

/// Fit a GLMM to `data` (an Arrow stream/array object or a file path); `model` as for
/// `fit`, `glmm` a dict with `family`, `link`, `nagq`, `weights`, `offset`.
#[pyfunction]
pub(crate) fn fit_glmm(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    model: ModelArgs,
    glmm: GlmmArgs,
) -> PyResult<GlmmFit> {
    let source = Source::from_py(data)?;
    let builder = glmm.builder(&model);
    let (results, engine_seconds) = timed_fit(py, source, move |batch| {
        builder.validate()?;
        builder.fit_batch(batch)
    })?;
    Ok(GlmmFit {
        results: Mutex::new(results),
        engine_seconds,
    })
}

/// Check a family/link/nAGQ choice without data (raises the engine's error).
#[pyfunction]
pub(crate) fn check_glmm(model: ModelArgs, glmm: GlmmArgs) -> PyResult<()> {
    guarded(|| glmm.builder(&model).validate())
}

fn parse_residual_kind(name: &str) -> PyResult<ResidualKind> {
    match name {
        "deviance" => Ok(ResidualKind::Deviance),
        "pearson" => Ok(ResidualKind::Pearson),
        "response" => Ok(ResidualKind::Response),
        "working" => Ok(ResidualKind::Working),
        other => Err(PyValueError::new_err(format!(
            "unknown residual type `{other}`; use \"deviance\" (lme4's default), \"pearson\", \
             \"response\" or \"working\""
        ))),
    }
}

fn parse_predict_options(
    level: &str,
    scale: &str,
    new_levels: &str,
) -> PyResult<GlmmPredictOptions> {
    let scale = match scale {
        "link" => PredictScale::Link,
        "response" => PredictScale::Response,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown prediction type `{other}`; use \"link\" (the linear predictor, \
                 lme4's default) or \"response\" (the mean)"
            )))
        }
    };
    Ok(GlmmPredictOptions {
        level: parse_level(level)?,
        scale,
        new_levels: parse_new_levels(new_levels)?,
    })
}

#[pymethods]
impl GlmmFit {
    #[getter]
    fn formula(&self) -> String {
        self.read().formula().to_string()
    }
    #[getter]
    fn family(&self) -> String {
        self.read().family().to_string()
    }
    #[getter]
    fn link(&self) -> String {
        self.read().link().to_string()
    }
    #[getter]
    fn nagq(&self) -> usize {
        self.read().nagq()
    }
    /// Seconds the engine took to build the design and fit.
    #[getter]
    fn engine_seconds(&self) -> f64 {
        self.engine_seconds
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
    #[getter]
    fn vcov_fe(&self) -> Vec<Vec<f64>> {
        self.read().fit().vcov_fixef.clone()
    }
    #[getter]
    fn aliased(&self) -> Vec<String> {
        self.read().design().aliased.clone()
    }
    /// How each fixed-effects column was built: see [`crate::columns`].
    fn fe_columns<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        crate::columns::describe(py, self.read().design_spec())
    }

    // ---- likelihood ----

    #[getter]
    fn theta(&self) -> Vec<f64> {
        self.read().theta().to_vec()
    }
    /// −2 log-likelihood as lme4 reports it.
    #[getter]
    fn objective(&self) -> f64 {
        self.read().objective()
    }
    #[getter]
    fn deviance(&self) -> f64 {
        self.read().deviance()
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
    #[getter]
    fn converged(&self) -> bool {
        self.read().converged()
    }
    /// Names of the fixed effects that run off to ±∞ (complete separation).
    #[getter]
    fn separated(&self) -> Vec<String> {
        self.read()
            .separated()
            .iter()
            .map(|e| e.name.clone())
            .collect()
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
    #[getter]
    fn n_groups(&self) -> Vec<(String, usize)> {
        self.read().n_groups()
    }
    /// The convergence, singularity, overdispersion and separation checks: the problems
    /// found, one sentence each with what to do.
    fn messages(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| guarded(|| Ok(self.read().checks().messages)))
    }

    // ---- rows ----

    fn row_index<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        index_array(py, &self.read().design().row_index)
    }
    /// Fitted means (response scale).
    fn fittedvalues<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        float_array(py, self.read().fittedvalues().to_vec())
    }
    fn linear_predictor<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        float_array(py, self.read().linear_predictor().to_vec())
    }
    #[pyo3(signature = (kind = "deviance"))]
    fn resid<'py>(&self, py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyAny>> {
        float_array(py, self.read().residuals(parse_residual_kind(kind)?))
    }

    // ---- random effects ----

    /// The random-effects terms: see [`crate::terms::term_dicts`].
    #[pyo3(signature = (values = true))]
    fn random_terms<'py>(&self, py: Python<'py>, values: bool) -> PyResult<Bound<'py, PyList>> {
        let r = self.read();
        crate::terms::term_dicts(py, &r.fit().random, r.design_spec(), values)
    }

    // ---- prediction, simulation, comparison, printing ----

    /// Predictions for new data: a dict with `row_index`, `values`, `std_error`
    /// (population level on the link scale only), `unseen` levels and `n_dropped`.
    #[pyo3(signature = (data, level = "population", scale = "link", new_levels = "population"))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        level: &str,
        scale: &str,
        new_levels: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = parse_predict_options(level, scale, new_levels)?;
        let batch = batch_from_py(data)?;
        let p = py.detach(|| guarded(|| self.read().predict(&batch, &opts)))?;
        prediction_dict(py, p)
    }

    /// `n` simulated response vectors (lme4's `simulate`).
    fn simulate<'py>(&self, py: Python<'py>, n: usize, seed: u64) -> PyResult<Bound<'py, PyList>> {
        let sims = py.detach(|| guarded(|| Ok(self.read().simulate(n, seed))))?;
        float_arrays(py, sims)
    }

    /// The likelihood-ratio test against another GLMM fitted to the same rows: a dict with
    /// `npar`, `objective` (pairs, smaller model first), `chisq`, `df`, `p_value`.
    fn lrt<'py>(&self, py: Python<'py>, other: &GlmmFit) -> PyResult<Bound<'py, PyDict>> {
        if std::ptr::eq(self, other) {
            return Err(PyValueError::new_err(
                "compare two different fits, e.g. lrt(smaller, larger)",
            ));
        }
        let t = guarded(|| self.read().lrt(&other.read()))?;
        let d = PyDict::new(py);
        d.set_item("npar", t.npar)?;
        d.set_item("objective", t.objective)?;
        d.set_item("chisq", t.chisq)?;
        d.set_item("df", t.df)?;
        d.set_item("p_value", t.p_value)?;
        Ok(d)
    }

    /// The engine's summary (lme4's `summary(glmer)` layout).
    fn summary_text(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| guarded(|| Ok(self.read().summary().to_string())))
    }
}
