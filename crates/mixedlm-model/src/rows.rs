//! The rows the cross-product pass reads: y − offset, X and each term's model columns,
//! scaled by √w (prior weights), with the terms in the engine's order.
//!
//! Without weights the columns (and, without offset, y) are lent by the design, not
//! copied: [`Rows::weighted`] moves them out and [`Rows::restore`] moves them back once
//! the cross-products are formed. With weights they are √w-scaled copies.

use crate::terms::Term;
use crate::ModelError;
use mixedlm_design::Design;

/// The row-wise inputs, already weighted: everything the pass reads.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
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
    /// √w-scaled y − offset.
    pub y: Vec<f64>,
}

impl Rows {
    /// Whether rows a and b have the same level of every term.
    pub fn same_levels(&self, a: usize, b: usize) -> bool {
        self.codes.iter().all(|c| c[a] == c[b])
    }
}

impl Rows {
    /// The rows of `design` for `terms`, and Σ log w (0 without weights). Errors:
    /// inconsistent lengths, N ≤ p, non-finite or non-positive weights, non-finite offset.
    pub fn weighted(design: &mut Design, terms: &[Term]) -> Result<(Rows, f64), ModelError> {
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
        let y: Vec<f64> = match (&design.offset, &sw) {
            (None, None) => std::mem::take(&mut design.y),
            (offset, sw) => (0..n)
                .map(|i| {
                    let s = sw.as_ref().map_or(1.0, |s| s[i]);
                    s * (design.y[i] - offset.as_ref().map_or(0.0, |o| o[i]))
                })
                .collect(),
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
        let x = take(&mut design.x.data);
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
        };
        Ok((rows, sum_log_w))
    }

    /// Return to `design` what [`Self::weighted`] moved out of it: the codes, and the
    /// columns and y where they were moved rather than copied.
    pub fn restore(self, design: &mut Design, terms: &[Term]) {
        let Rows { codes, z, x, y, .. } = self;
        for (t, c) in terms.iter().zip(codes) {
            design.random[t.formula_index].codes = c;
        }
        if design.weights.is_none() {
            for (t, zt) in terms.iter().zip(z) {
                design.random[t.formula_index].z.data = zt;
            }
            design.x.data = x;
            if design.offset.is_none() {
                design.y = y;
            }
        }
    }
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
pub(crate) fn check_finite(design: &Design) -> Result<(), ModelError> {
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
    use crate::{LinearMixedModel, ModelOptions};
    use mixedlm_design::{CovarianceKind, DenseMatrix, RandomTermDesign};

    /// A NaN or ±∞ in y, X, term 1's z or a later term's z is reported with its column
    /// and row, though only the cross-product pass reads clean data; with several, the
    /// first in the order y, X, z.
    #[test]
    fn non_finite_data_is_named_after_the_cross_product_pass() {
        use crate::testing::{design_with_x, random_term, uniform};
        let n = 300;
        let x: Vec<f64> = (0..n).map(|i| uniform(i, 1)).collect();
        let design = || {
            let mut z = vec![1.0; n];
            z.extend_from_slice(&x);
            let g = (0..n).map(|i| (i % 30) as u32).collect();
            let g = random_term("g", 30, g, z, &["(Intercept)", "x"]);
            let h = (0..n).map(|i| (i % 7) as u32).collect();
            let h = random_term("h", 7, h, vec![1.0; n], &["(Intercept)"]);
            let y = (0..n).map(|i| x[i] + uniform(i, 2)).collect();
            design_with_x(y, &x, vec![g, h], None)
        };
        let opts = ModelOptions { reml: true };
        assert!(LinearMixedModel::from_design(design(), opts).is_ok());
        type Spoil<'a> = &'a dyn Fn(&mut Design);
        let cases: [(Spoil<'_>, &str, usize); 5] = [
            (&|d| d.y[17] = f64::NAN, "response", 17),
            (
                &|d| d.x.data[n + 250] = f64::INFINITY,
                "fixed-effects column 1",
                250,
            ),
            (
                &|d| d.random[0].z.data[n + 3] = f64::NEG_INFINITY,
                "`x` of `g`",
                3,
            ),
            (
                &|d| d.random[1].z.data[299] = f64::NAN,
                "`(Intercept)` of `h`",
                299,
            ),
            (
                &|d| {
                    d.random[1].z.data[5] = f64::NAN;
                    d.y[40] = f64::INFINITY;
                },
                "response",
                40,
            ),
        ];
        for (spoil, what, at) in cases {
            let mut d = design();
            spoil(&mut d);
            match LinearMixedModel::from_design(d, opts) {
                Err(ModelError::NonFinite { what: w, row }) => {
                    assert!(w.contains(what), "{w} should name {what}");
                    assert_eq!(row, at, "{what}");
                }
                other => panic!("{what}: expected NonFinite, got {:?}", other.err()),
            }
        }
    }

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

    /// Two crossed terms (so the engine reorders them), weights and offset optional.
    fn design(weights: bool, offset: bool) -> Design {
        let n = 60;
        let x1: Vec<f64> = (0..n).map(|i| ((i * 7) % 11) as f64 / 3.0).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 2.0 + x1[i] + ((i * 13) % 5) as f64 - 0.3 * (i % 4) as f64)
            .collect();
        let mut xdata = vec![1.0; n];
        xdata.extend_from_slice(&x1);
        let term = |group: &str, levels: usize, codes: Vec<u32>, k: usize| {
            let mut z = vec![1.0; n];
            if k == 2 {
                z.extend_from_slice(&x1);
            }
            RandomTermDesign {
                group: group.into(),
                levels: (0..levels).map(|l| l.to_string()).collect(),
                codes,
                names: ["(Intercept)", "x1"][..k]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                z: DenseMatrix {
                    nrows: n,
                    ncols: k,
                    data: z,
                },
                covariance: CovarianceKind::Unstructured,
            }
        };
        Design {
            response: "y".into(),
            y,
            x: DenseMatrix {
                nrows: n,
                ncols: 2,
                data: xdata,
            },
            x_names: vec!["(Intercept)".into(), "x1".into()],
            aliased: Vec::new(),
            random: vec![
                term("a", 3, (0..n).map(|i| (i % 3) as u32).collect(), 1),
                term("b", 6, (0..n).map(|i| ((i / 2) % 6) as u32).collect(), 2),
            ],
            weights: weights.then(|| (0..n).map(|i| 0.5 + (i % 3) as f64).collect()),
            offset: offset.then(|| (0..n).map(|i| 0.1 * (i % 5) as f64).collect()),
            n_dropped: 0,
            row_index: (0..n).collect(),
        }
    }

    #[test]
    fn moved_rows_are_given_back_and_set_response_matches_a_new_model() {
        let theta = [0.7, 0.2, 0.5, 0.9];
        for (w, o) in [(false, false), (true, false), (false, true), (true, true)] {
            let d = design(w, o);
            let mut a = LinearMixedModel::from_design(d.clone(), ModelOptions::default()).unwrap();
            assert_eq!(a.design(), &d, "weights {w} offset {o}");
            assert!(a.has_rows());
            let mut b = LinearMixedModel::new(&d, ModelOptions::default()).unwrap();
            assert_eq!(a.objective(&theta), b.objective(&theta));
            let mut other = d.clone();
            other
                .y
                .iter_mut()
                .enumerate()
                .for_each(|(i, y)| *y += (i % 7) as f64);
            a.set_response(&other.y).unwrap();
            assert_eq!(a.design(), &other);
            let fresh = LinearMixedModel::new(&other, ModelOptions::default())
                .unwrap()
                .objective(&theta);
            let got = a.objective(&theta);
            assert!(
                (got - fresh).abs() <= 1e-10 * fresh.abs(),
                "{got} vs {fresh}"
            );
            b.set_response(&other.y).unwrap();
            assert_eq!(b.objective(&theta), got);
        }
    }
}
