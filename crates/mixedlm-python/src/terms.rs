//! The random-effects terms of a fit (linear or generalized) as Python dicts.

use crate::fit::float_array;
use mixedlm::design::DesignSpec;
use mixedlm::model::TermFit;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// One dict per random-effects term, lme4's order: `group`, `grouping` (columns),
/// `names`, `structure`, `formula_index`, `covariance` (k × k), `std_devs`,
/// `correlation`; with `values`, also `levels`, `condval` and `condsd` (levels × k,
/// flat by level), which grow with the data and so are only built when asked for.
pub(crate) fn term_dicts<'py>(
    py: Python<'py>,
    terms: &[TermFit],
    spec: &DesignSpec,
    values: bool,
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for t in terms {
        let d = PyDict::new(py);
        let grouping = spec
            .random
            .iter()
            .find(|s| s.group == t.group)
            .map(|s| s.grouping.clone())
            .unwrap_or_else(|| vec![t.group.clone()]);
        d.set_item("group", &t.group)?;
        d.set_item("grouping", grouping)?;
        d.set_item("names", &t.names)?;
        d.set_item("structure", &t.structure)?;
        d.set_item("formula_index", t.formula_index)?;
        if values {
            d.set_item("levels", t.levels.to_vec())?;
            d.set_item("condval", float_array(py, t.condval.as_slice().to_vec())?)?;
            d.set_item("condsd", float_array(py, t.condsd.as_slice().to_vec())?)?;
        }
        d.set_item("covariance", &t.covariance.covariance)?;
        d.set_item("std_devs", &t.covariance.std_devs)?;
        d.set_item("correlation", &t.covariance.correlation)?;
        out.append(d)?;
    }
    Ok(out)
}
