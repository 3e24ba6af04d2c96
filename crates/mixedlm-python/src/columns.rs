//! How each fixed-effects column was built, so that Python can name it as patsy does.
//!
//! The engine names columns as R does (`SexMale`, `age:SexMale`, `I(age^2)`); statsmodels
//! users index results by patsy's names (`Sex[T.Male]`, `age:Sex[T.Male]`, `I(age ** 2)`).
//! This module takes the columns apart again: per column, its term and, per variable of
//! the term, the engine's label of the variable and the level (or suffix) it contributes.
//! The parts are checked against the engine's own column names; if they do not rebuild
//! them exactly, no description is returned and Python keeps the engine's names.

use mixedlm::design::{DesignSpec, Learned};
use mixedlm::formula::{Contrast, Variable};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// How one variable enters one column.
#[derive(Debug, Clone)]
struct Part {
    /// The engine's label of the variable (`Sex`, `I(age^2)`, `C(x)`'s argument `x`).
    label: String,
    /// The engine's key of the variable (its label including the coding: `C(x, Sum)`).
    key: String,
    /// `numeric`, `contrast` (treatment), `sum` or `indicator` (full dummy coding).
    kind: &'static str,
    /// The level this column stands for (factors), or the column suffix (`poly`: `1`, `2`).
    level: String,
}

/// The columns one variable offers a term.
fn variable_parts(v: &Variable, levels: Option<&[String]>, full: bool) -> Vec<Part> {
    let label = mixedlm::design::variable_label(v);
    let key = v.label();
    let part = |kind, level: &str| Part {
        label: label.clone(),
        key: key.clone(),
        kind,
        level: level.to_string(),
    };
    let Some(levels) = levels else {
        return match v {
            Variable::Poly { degree, .. } => (1..=*degree)
                .map(|d| part("numeric", &d.to_string()))
                .collect(),
            _ => vec![part("numeric", "")],
        };
    };
    if full {
        return levels.iter().map(|l| part("indicator", l)).collect();
    }
    let contrast = match v {
        Variable::Categorical { contrast, .. } => contrast.clone(),
        _ => Contrast::Treatment,
    };
    match contrast {
        Contrast::Sum => levels[..levels.len().saturating_sub(1)]
            .iter()
            .map(|l| part("sum", l))
            .collect(),
        Contrast::Treatment => levels.iter().skip(1).map(|l| part("contrast", l)).collect(),
        Contrast::TreatmentRef(r) => levels
            .iter()
            .filter(|l| **l != r)
            .map(|l| part("contrast", l))
            .collect(),
    }
}

/// The engine's name of a column from its parts (R: label then level, joined by `:`).
fn r_name(parts: &[Part], sum_index: &dyn Fn(&Part) -> usize) -> String {
    let names: Vec<String> = parts
        .iter()
        .map(|p| match p.kind {
            "sum" => format!("{}{}", p.label, sum_index(p) + 1),
            _ => format!("{}{}", p.label, p.level),
        })
        .collect();
    names.join(":")
}

/// R's rule for which factors of a term get full indicator coding (see the design crate's
/// `coding.rs`; repeated here because that module is private and this is only a naming
/// aid, checked against the engine's names before use).
fn full_coding(intercept: bool, terms: &[Vec<usize>], is_factor: &[bool]) -> Vec<Vec<bool>> {
    let mut out: Vec<Vec<bool>> = terms
        .iter()
        .enumerate()
        .map(|(t, vars)| {
            vars.iter()
                .map(|&v| {
                    let rest: Vec<usize> = vars.iter().copied().filter(|&w| w != v).collect();
                    !(rest.is_empty()
                        || terms[..t]
                            .iter()
                            .any(|p| rest.iter().all(|w| p.contains(w))))
                })
                .collect()
        })
        .collect();
    if !intercept {
        'outer: for (t, vars) in terms.iter().enumerate() {
            for (pos, &v) in vars.iter().enumerate() {
                if is_factor[v] {
                    out[t][pos] = true;
                    break 'outer;
                }
            }
        }
    }
    out
}

/// Every fixed-effects column (before aliased ones were dropped) as `(term, parts)`;
/// `term` is `None` for the intercept.
fn columns(spec: &DesignSpec) -> Vec<(Option<usize>, Vec<Part>)> {
    let mut keys: Vec<String> = Vec::new();
    let mut vars: Vec<&Variable> = Vec::new();
    let terms: Vec<Vec<usize>> = spec
        .fixed
        .terms
        .iter()
        .map(|t| {
            let mut idx = Vec::new();
            for v in &t.variables {
                let k = v.label();
                let i = keys.iter().position(|x| *x == k).unwrap_or_else(|| {
                    keys.push(k);
                    vars.push(v);
                    vars.len() - 1
                });
                if !idx.contains(&i) {
                    idx.push(i);
                }
            }
            idx
        })
        .collect();
    let levels: Vec<Option<&[String]>> = keys
        .iter()
        .map(|k| match spec.params.get(k) {
            Some(Learned::Levels { levels }) => Some(levels.as_slice()),
            _ => None,
        })
        .collect();
    let is_factor: Vec<bool> = levels.iter().map(Option::is_some).collect();
    let full = full_coding(spec.fixed.intercept, &terms, &is_factor);
    let mut out = Vec::new();
    if spec.fixed.intercept {
        out.push((None, Vec::new()));
    }
    for (t, tv) in terms.iter().enumerate() {
        let pieces: Vec<Vec<Part>> = tv
            .iter()
            .enumerate()
            .map(|(pos, &vi)| variable_parts(vars[vi], levels[vi], full[t][pos]))
            .collect();
        let widths: Vec<usize> = pieces.iter().map(Vec::len).collect();
        let total: usize = widths.iter().product();
        // the first variable varies fastest, as in R's (and the engine's) columns
        for c in 0..total {
            let mut rest = c;
            let parts = pieces
                .iter()
                .zip(&widths)
                .map(|(piece, &w)| {
                    let p = piece[rest % w].clone();
                    rest /= w.max(1);
                    p
                })
                .collect();
            out.push((Some(t), parts));
        }
    }
    out
}

/// The description of every fixed-effects column, or `None` when it does not rebuild the
/// engine's names exactly (then Python keeps the engine's names).
pub(crate) fn describe<'py>(
    py: Python<'py>,
    spec: &DesignSpec,
) -> PyResult<Option<Bound<'py, PyList>>> {
    let cols = columns(spec);
    let sum_index = |p: &Part| -> usize {
        match spec.params.get(&p.key) {
            Some(Learned::Levels { levels }) => {
                levels.iter().position(|l| *l == p.level).unwrap_or(0)
            }
            _ => 0,
        }
    };
    let names: Vec<String> = cols
        .iter()
        .map(|(t, parts)| match t {
            None => "(Intercept)".to_string(),
            Some(_) => r_name(parts, &sum_index),
        })
        .collect();
    if names != spec.x_columns_full {
        return Ok(None);
    }
    let out = PyList::empty(py);
    for (j, ((term, parts), name)) in cols.iter().zip(&names).enumerate() {
        let d = PyDict::new(py);
        d.set_item("name", name)?;
        d.set_item("aliased", spec.aliased_index.contains(&j))?;
        d.set_item("term", *term)?;
        let p = PyList::empty(py);
        for part in parts {
            p.append((&part.label, &part.key, part.kind, &part.level))?;
        }
        d.set_item("parts", p)?;
        out.append(d)?;
    }
    Ok(Some(out))
}
