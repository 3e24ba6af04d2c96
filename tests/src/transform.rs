//! Transformations of simulated data for invariance properties: permuting
//! rows, relabelling levels, mapping a numeric column. None changes `truth`.

use crate::sim::{SimData, Values};

impl SimData {
    /// The rows in the order `perm` (row i of the result is row `perm[i]`).
    pub fn permuted(&self, perm: &[usize]) -> SimData {
        let mut out = self.clone();
        for c in &mut out.columns {
            match &mut c.values {
                Values::Numeric(v) => *v = perm.iter().map(|&i| v[i]).collect(),
                Values::Text { codes, .. } => *codes = perm.iter().map(|&i| codes[i]).collect(),
            }
        }
        out
    }

    /// Renames the levels of text column `name` with `f` (codes unchanged).
    pub fn relabelled(&self, name: &str, f: impl Fn(&str) -> String) -> SimData {
        let mut out = self.clone();
        for c in out.columns.iter_mut().filter(|c| c.name == name) {
            if let Values::Text { labels, .. } = &mut c.values {
                *labels = labels.iter().map(|l| f(l)).collect();
            }
        }
        out
    }

    /// Applies `f` to every value of numeric column `name`.
    pub fn mapped(&self, name: &str, f: impl Fn(f64) -> f64) -> SimData {
        let mut out = self.clone();
        for c in out.columns.iter_mut().filter(|c| c.name == name) {
            if let Values::Numeric(v) = &mut c.values {
                v.iter_mut().for_each(|x| *x = f(*x));
            }
        }
        out
    }

    /// Sets row `row` of numeric column `name` to `value`.
    pub fn with_value(&self, name: &str, row: usize, value: f64) -> SimData {
        let mut out = self.clone();
        for c in out.columns.iter_mut().filter(|c| c.name == name) {
            if let Values::Numeric(v) = &mut c.values {
                if let Some(x) = v.get_mut(row) {
                    *x = value;
                }
            }
        }
        out
    }
}

/// `|a - b| <= atol + rtol * max(|a|, |b|)`.
pub fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    (a - b).abs() <= atol + rtol * a.abs().max(b.abs())
}

/// [`close`] for every pair of two equally long slices.
pub fn all_close(a: &[f64], b: &[f64], rtol: f64, atol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(*x, *y, rtol, atol))
}
