//! The rows the cross-product pass reads: y − offset, X and each term's model columns,
//! scaled by √w (prior weights), with the terms in the engine's order.
//!
//! Without weights the columns (and, without offset, y) are lent by the design, not
//! copied: [`Rows::weighted`] moves them out and [`Rows::restore`] moves them back once
//! the cross-products are formed. With weights, or shifted (see [`crate::shift`]), they
//! are copies.

use crate::shift::Shift;
use crate::terms::Term;
use crate::ModelError;
use mixedlm_design::Design;

/// The row-wise inputs, already weighted: everything the pass reads.
#[derive(Debug, Clone)]
pub struct Rows {
    /// Number of rows.
    pub n: usize,
    /// Per engine-ordered term: level codes (n).
    pub codes: Vec<Vec<u32>>,
    /// Per engine-ordered term: √w-scaled model columns, column-major n × k.
    pub z: Vec<Vec<f64>>,
    /// √w-scaled X, column-major n × p.
    pub x: Vec<f64>,
    /// Number of X columns.
    pub p: usize,
    /// √w-scaled y − offset − shift.
    pub y: Vec<f64>,
    /// Whether `x` was moved out of the design (and goes back), not copied.
    x_lent: bool,
    /// Whether `y` was moved out of the design (and goes back), not copied.
    y_lent: bool,
}

impl Rows {
    /// Whether rows a and b have the same level of every term.
    pub fn same_levels(&self, a: usize, b: usize) -> bool {
        self.codes.iter().all(|c| c[a] == c[b])
    }
}

impl Rows {
    /// The rows of `design` for `terms`, minus `shift`, and Σ log w (0 without weights).
    /// Errors: inconsistent lengths, N ≤ p, non-finite or non-positive weights, non-finite
    /// offset.
    pub fn weighted(
        design: &mut Design,
        terms: &[Term],
        shift: &Shift,
    ) -> Result<(Rows, f64), ModelError> {
        let n = design.n_obs();
        let p = design.x.ncols;
        check_lengths(design, n, p)?;
        if n <= p {
            return Err(ModelError::TooFewObservations { n, p });
        }
        let sw = sqrt_weights(design)?;
        let sum_log_w = design
            .weights
            .as_ref()
            .map_or(0.0, |w| w.iter().map(|v| v.ln()).sum());
        let y_lent = design.offset.is_none() && sw.is_none() && shift.y == 0.0;
        let y: Vec<f64> = if y_lent {
            std::mem::take(&mut design.y)
        } else {
            let offset = design.offset.as_deref();
            (0..n)
                .map(|i| {
                    let s = sw.as_ref().map_or(1.0, |s| s[i]);
                    s * (design.y[i] - offset.map_or(0.0, |o| o[i]) - shift.y)
                })
                .collect()
        };
        // column-major n-row columns, each multiplied by √w (moved out without weights)
        let take = |data: &mut Vec<f64>| -> Vec<f64> {
            match &sw {
                None => std::mem::take(data),
                Some(sw) => data
                    .chunks_exact(n)
                    .flat_map(|col| col.iter().zip(sw).map(|(v, s)| v * s))
                    .collect(),
            }
        };
        let z = terms
            .iter()
            .map(|t| take(&mut design.random[t.formula_index].z.data))
            .collect();
        let x_lent = sw.is_none() && !shift.shifts_x();
        let x = if x_lent {
            std::mem::take(&mut design.x.data)
        } else {
            shifted_columns(&design.x.data, n, &shift.x, sw.as_deref())
        };
        let codes = terms
            .iter()
            .map(|t| std::mem::take(&mut design.random[t.formula_index].codes))
            .collect();
        let rows = Rows {
            n,
            codes,
            z,
            x,
            p,
            y,
            x_lent,
            y_lent,
        };
        Ok((rows, sum_log_w))
    }

    /// Return to `design` what [`Self::weighted`] moved out of it: the codes, and the
    /// columns and y where they were moved rather than copied.
    pub fn restore(self, design: &mut Design, terms: &[Term]) {
        let Rows {
            codes,
            z,
            x,
            y,
            x_lent,
            y_lent,
            ..
        } = self;
        for (t, c) in terms.iter().zip(codes) {
            design.random[t.formula_index].codes = c;
        }
        if design.weights.is_none() {
            for (t, zt) in terms.iter().zip(z) {
                design.random[t.formula_index].z.data = zt;
            }
        }
        if x_lent {
            design.x.data = x;
        }
        if y_lent {
            design.y = y;
        }
    }
}

/// Column-major `n`-row columns minus their `shift`, each multiplied by √w when given.
fn shifted_columns(data: &[f64], n: usize, shift: &[f64], sw: Option<&[f64]>) -> Vec<f64> {
    let mut out = Vec::with_capacity(data.len());
    for (col, &d) in data.chunks_exact(n).zip(shift) {
        match sw {
            None => out.extend(col.iter().map(|v| v - d)),
            Some(sw) => out.extend(col.iter().zip(sw).map(|(v, s)| s * (v - d))),
        }
    }
    out
}

/// √w per row, or `None` without weights; an error for a non-finite or non-positive one.
fn sqrt_weights(design: &Design) -> Result<Option<Vec<f64>>, ModelError> {
    let Some(w) = &design.weights else {
        return Ok(None);
    };
    if let Some(row) = first_non_finite(w) {
        return Err(ModelError::NonFinite {
            what: "weights".into(),
            row,
        });
    }
    if let Some(row) = w.iter().position(|v| *v <= 0.0) {
        return Err(ModelError::NonPositiveWeight { row, value: w[row] });
    }
    Ok(Some(w.iter().map(|v| v.sqrt()).collect()))
}

fn check_lengths(design: &Design, n: usize, p: usize) -> Result<(), ModelError> {
    let mismatch = |what: &str, found: usize| ModelError::DimensionMismatch {
        what: what.into(),
        expected: n,
        found,
    };
    if design.x.nrows != n || design.x.data.len() != n * p {
        return Err(mismatch("X", design.x.nrows));
    }
    if let Some(w) = &design.weights {
        if w.len() != n {
            return Err(mismatch("weights", w.len()));
        }
    }
    if let Some(o) = &design.offset {
        if o.len() != n {
            return Err(mismatch("offset", o.len()));
        }
        if let Some(row) = first_non_finite(o) {
            return Err(ModelError::NonFinite {
                what: "offset".into(),
                row,
            });
        }
    }
    Ok(())
}

/// The first NaN or infinite entry of y, X or a random-effects column, as an error.
/// Called when the cross-products are not finite, so that a fit of clean data reads its
/// columns once (in the cross-product pass), not twice.
pub fn check_finite(design: &Design) -> Result<(), ModelError> {
    let n = design.n_obs().max(1);
    if let Some(row) = first_non_finite(&design.y) {
        return Err(ModelError::NonFinite {
            what: "response".into(),
            row,
        });
    }
    if let Some(pos) = first_non_finite(&design.x.data) {
        return Err(ModelError::NonFinite {
            what: format!("fixed-effects column {}", pos / n),
            row: pos % n,
        });
    }
    for rt in &design.random {
        if let Some(pos) = first_non_finite(&rt.z.data) {
            let name = rt.names.get(pos / n).map_or("?", String::as_str);
            return Err(ModelError::NonFinite {
                what: format!("random-effects column `{name}` of `{}`", rt.group),
                row: pos % n,
            });
        }
    }
    Ok(())
}

/// The first non-finite entry, found by a branch-free (vectorized) pass first: data
/// without one (the usual case) is read once, without the early-exit loop. The pass sums
/// x·0 in eight lanes: a lane is NaN exactly when one of its entries is ±∞ or NaN.
fn first_non_finite(v: &[f64]) -> Option<usize> {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail = chunks.remainder().iter().fold(0.0, |a, x| a + x * 0.0);
    for c in chunks {
        for k in 0..LANES {
            acc[k] += c[k] * 0.0;
        }
    }
    if !acc.iter().any(|a| a.is_nan()) && !tail.is_nan() {
        return None;
    }
    v.iter().position(|x| !x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_non_finite_finds_each_kind_in_lanes_and_tail() {
        let clean: Vec<f64> = (0..37).map(|i| i as f64 * 1e300 - 3.0).collect();
        assert_eq!(first_non_finite(&clean), None);
        assert_eq!(first_non_finite(&[]), None);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            // in the eight-lane part, in the tail, and twice (the first is reported)
            for at in [0, 5, 31, 32, 36] {
                let mut v = clean.clone();
                v[at] = bad;
                assert_eq!(first_non_finite(&v), Some(at), "{bad} at {at}");
                v[36] = bad;
                assert_eq!(first_non_finite(&v), Some(at), "{bad} at {at} and 36");
            }
        }
    }
}
