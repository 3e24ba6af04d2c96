//! Building and fitting a model from Python's arguments, with the GIL released.

use crate::data::Source;
use crate::errors::{guarded, to_py};
use crate::fit::Fit;
use mixedlm::formula::parse_rhs;
use mixedlm::{parse_formula, MixedLM, RecordBatch};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::time::Instant;

/// The model in the engine's spelling (lme4 syntax; the statsmodels pieces as given).
#[derive(Debug, Clone, FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct ModelArgs {
    formula: String,
    groups: Option<String>,
    re_formula: Option<String>,
    vc: Vec<(String, String)>,
}

impl ModelArgs {
    pub(crate) fn builder(&self) -> MixedLM {
        let mut m = MixedLM::from_formula(&self.formula);
        if let Some(g) = &self.groups {
            m = m.groups(g);
        }
        if let Some(r) = &self.re_formula {
            m = m.re_formula(r);
        }
        for (name, f) in &self.vc {
            m = m.vc(name, f);
        }
        m
    }
}

/// Fit a model to `data` (an Arrow stream/array object or a file path). `model` is a dict
/// with `formula`, `groups`, `re_formula` and `vc` (a list of `(name, formula)`).
#[pyfunction]
#[pyo3(signature = (data, model, *, reml = true, method = "auto", max_evaluations = None, start_theta = None))]
pub(crate) fn fit(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    model: ModelArgs,
    reml: bool,
    method: &str,
    max_evaluations: Option<usize>,
    start_theta: Option<Vec<f64>>,
) -> PyResult<Fit> {
    let source = Source::from_py(data)?;
    let mut builder = model.builder().reml(reml).method(method);
    if let Some(n) = max_evaluations {
        builder = builder.max_evaluations(n);
    }
    if let Some(theta) = start_theta {
        builder = builder.start_theta(theta);
    }
    let (results, seconds) = timed_fit(py, source, move |batch| {
        builder.validate()?;
        builder.fit_batch(batch)
    })?;
    Ok(Fit::new(results, seconds))
}

/// Read `source` into a batch and `fit` it with the GIL released and under the panic
/// guard; the seconds the fit took (the data already in memory, as the CLI's
/// `timing.fit_seconds`).
pub(crate) fn timed_fit<R: Send>(
    py: Python<'_>,
    source: Source,
    fit: impl FnOnce(&RecordBatch) -> Result<R, mixedlm::Error> + Send,
) -> PyResult<(R, f64)> {
    py.detach(move || {
        guarded(|| {
            let batch = source.into_batch()?;
            let start = Instant::now();
            let results = fit(&batch)?;
            Ok((results, start.elapsed().as_secs_f64()))
        })
    })
}

/// The data columns a model reads, in order of first appearance (so that only those are
/// converted to Arrow). Raises the engine's formula error for a formula that does not parse.
#[pyfunction]
pub(crate) fn used_columns(model: ModelArgs) -> PyResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |cols: Vec<String>| {
        for c in cols {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    };
    add(parse_formula(&model.formula)
        .map_err(|e| to_py(e.into()))?
        .columns());
    if let Some(g) = &model.groups {
        add(vec![g.clone()]);
    }
    if let Some(r) = &model.re_formula {
        add(parse_rhs(r).map_err(|e| to_py(e.into()))?.columns());
    }
    for (_, f) in &model.vc {
        add(parse_rhs(f).map_err(|e| to_py(e.into()))?.columns());
    }
    Ok(out)
}

/// Parse `formula` (a whole formula, or a right-hand side when it has no `~`) and return,
/// for each fixed-effects term, the engine's labels of its variables (`I(age^2)`,
/// `log(x)`), so that the Python layer can map them back to the user's spelling.
#[pyfunction]
pub(crate) fn check_formula(model: ModelArgs) -> PyResult<Vec<Vec<String>>> {
    model.builder().validate().map_err(to_py)?;
    let parsed = parse_formula(&model.formula).map_err(|e| to_py(e.into()))?;
    Ok(parsed
        .fixed
        .terms
        .iter()
        .map(|t| t.variables.iter().map(|v| v.label()).collect())
        .collect())
}

/// Warnings about the model that are not errors (e.g. variance components without
/// `re_formula` fit no group intercept), one sentence each.
#[pyfunction]
pub(crate) fn model_warnings(model: ModelArgs) -> Vec<String> {
    model.builder().spec().warnings()
}

/// lme4's `anova(m0, m1, ...)`: likelihood-ratio tests, REML fits refitted by ML.
#[pyfunction]
pub(crate) fn anova<'py>(
    py: Python<'py>,
    fits: Vec<PyRef<'py, Fit>>,
) -> PyResult<Bound<'py, PyDict>> {
    let guards: Vec<_> = fits.iter().map(|f| f.read()).collect();
    let refs: Vec<&mixedlm::MixedLMResults> = guards.iter().map(|g| &**g).collect();
    let table = py.detach(|| guarded(|| mixedlm::anova(&refs)))?;
    let out = PyDict::new(py);
    out.set_item("refit_ml", table.refit_ml)?;
    let column = |f: &dyn Fn(&mixedlm::LrtRow) -> Option<f64>| -> Vec<Option<f64>> {
        table.rows.iter().map(f).collect()
    };
    out.set_item(
        "name",
        table
            .rows
            .iter()
            .map(|r| r.name.clone())
            .collect::<Vec<_>>(),
    )?;
    out.set_item("npar", column(&|r| Some(r.npar as f64)))?;
    out.set_item("AIC", column(&|r| Some(r.aic)))?;
    out.set_item("BIC", column(&|r| Some(r.bic)))?;
    out.set_item("logLik", column(&|r| Some(r.loglik)))?;
    out.set_item("deviance", column(&|r| Some(r.deviance)))?;
    out.set_item("Chisq", column(&|r| r.chisq))?;
    out.set_item("Df", column(&|r| r.df.map(|d| d as f64)))?;
    out.set_item("Pr(>Chisq)", column(&|r| r.p_value))?;
    Ok(out)
}
