//! `pymixedlm._core`: the mixedlm engine as a Python extension module.
//!
//! This crate is the thin Rust half of the `pymixedlm` package: it takes Arrow data from
//! Python without copying it ([`data`]), fits through the facade crate `mixedlm` with the
//! GIL released ([`model`]), and hands back plain values (floats, lists, Arrow arrays) that
//! the pure-Python layer (`python/pymixedlm/`) turns into statsmodels- and lme4-shaped
//! results. Every call into the engine runs under a panic guard ([`errors::guarded`]), so
//! a bug becomes a Python exception, never an abort.

mod columns;
mod data;
mod distributed;
mod errors;
mod fit;
mod glmm;
mod model;
mod terms;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<fit::Fit>()?;
    m.add_class::<glmm::GlmmFit>()?;
    m.add_function(wrap_pyfunction!(glmm::fit_glmm, m)?)?;
    m.add_function(wrap_pyfunction!(glmm::check_glmm, m)?)?;
    m.add_function(wrap_pyfunction!(model::fit, m)?)?;
    m.add_function(wrap_pyfunction!(model::used_columns, m)?)?;
    m.add_function(wrap_pyfunction!(model::check_formula, m)?)?;
    m.add_function(wrap_pyfunction!(model::model_warnings, m)?)?;
    m.add_function(wrap_pyfunction!(model::anova, m)?)?;
    m.add_function(wrap_pyfunction!(data::column_addresses, m)?)?;
    m.add_function(wrap_pyfunction!(data::read_table, m)?)?;
    m.add_function(wrap_pyfunction!(errors::raise_panic_for_tests, m)?)?;
    distributed::register(m)?;
    m.add_function(wrap_pyfunction!(distributions::normal_sf, m)?)?;
    m.add_function(wrap_pyfunction!(distributions::normal_quantile, m)?)?;
    m.add_function(wrap_pyfunction!(distributions::t_quantile, m)?)?;
    Ok(())
}

/// Distribution functions the Python layer needs without scipy.
mod distributions {
    use pyo3::prelude::*;
    use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

    /// The upper tail P(Z > x) of the standard normal.
    #[pyfunction]
    pub(crate) fn normal_sf(x: f64) -> f64 {
        Normal::standard().sf(x)
    }

    /// The q-quantile of the standard normal.
    #[pyfunction]
    pub(crate) fn normal_quantile(q: f64) -> f64 {
        Normal::standard().inverse_cdf(q)
    }

    /// The q-quantile of Student's t with `df` degrees of freedom (NaN for a bad df).
    #[pyfunction]
    pub(crate) fn t_quantile(q: f64, df: f64) -> f64 {
        StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(q))
    }
}
