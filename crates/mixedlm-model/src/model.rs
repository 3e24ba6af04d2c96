//! [`LinearMixedModel`]: the data (as cross-products), the term structure and the
//! preallocated factor; evaluates the profiled REML criterion or ML deviance at θ.

use crate::crossprod::{CrossProducts, Rows};
use crate::eval::Factor;
use crate::terms::{build_terms, Term};
use crate::ModelError;
use mixedlm_design::Design;

/// The largest dense block (columns of Z_2 .. Z_m plus X and y) the engine accepts.
pub(crate) const MAX_DENSE_COLUMNS: usize = 20_000;

/// Options fixed when a model is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelOptions {
    /// REML (true, lme4's default) or maximum likelihood.
    pub reml: bool,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions { reml: true }
    }
}

/// A linear mixed model ready for evaluation at any θ.
///
/// Built once from a [`Design`]: the data enter only through cross-products formed in one
/// pass over the rows; every evaluation afterwards costs nothing proportional to N and
/// allocates nothing.
#[derive(Debug)]
pub struct LinearMixedModel {
    pub(crate) design: Design,
    pub(crate) terms: Vec<Term>,
    pub(crate) rows: Rows,
    pub(crate) cp: CrossProducts,
    pub(crate) factor: Factor,
    pub(crate) reml: bool,
    pub(crate) sum_log_w: f64,
    pub(crate) theta: Vec<f64>,
    /// Observations per level per term (formula order) for a model built from
    /// sufficient statistics, whose design holds no rows.
    pub(crate) level_counts: Option<Vec<Vec<usize>>>,
}

impl LinearMixedModel {
    /// Validate the design, order the terms as lme4 does, and form the cross-products.
    ///
    /// Errors: no random term, a grouping factor with < 2 levels or ≥ N levels, N ≤ p,
    /// non-finite values, non-positive weights, inconsistent lengths, or a dense part larger
    /// than [`MAX_DENSE_COLUMNS`].
    pub fn new(design: &Design, opts: ModelOptions) -> Result<Self, ModelError> {
        Self::from_design(design.clone(), opts)
    }

    /// [`Self::new`] taking the design (no copy of its rows).
    pub fn from_design(mut design: Design, opts: ModelOptions) -> Result<Self, ModelError> {
        let terms = build_terms(&design)?;
        let (rows, sum_log_w) = weighted_rows(&mut design, &terms)?;
        let qr: usize = terms[1..].iter().map(|t| t.k * t.n_levels()).sum();
        if qr + rows.p + 1 > MAX_DENSE_COLUMNS {
            return Err(ModelError::TooLarge {
                columns: qr + rows.p + 1,
                limit: MAX_DENSE_COLUMNS,
            });
        }
        let cp = CrossProducts::new(&rows, &terms);
        let rows = give_back(&mut design, rows, &terms);
        // The data pass doubles as the check for NaN and ±∞ (see `diagonals_finite`): the
        // scan that names the row runs only when the sums say there is one.
        if !cp.diagonals_finite() {
            check_finite(&design)?;
        }
        let factor = Factor::new(&cp, &terms);
        let theta = terms
            .iter()
            .flat_map(|t| t.structure.initial_theta())
            .collect();
        Ok(LinearMixedModel {
            design,
            terms,
            rows,
            cp,
            factor,
            reml: opts.reml,
            sum_log_w,
            theta,
            level_counts: None,
        })
    }

    /// The same model structure for another design (e.g. a new offset or subset of rows
    /// with the same formula), keeping the REML/ML setting.
    pub fn rebuild(&self, design: &Design) -> Result<Self, ModelError> {
        Self::new(design, ModelOptions { reml: self.reml })
    }

    /// The profiled objective at θ (lme4's θ order, see [`Self::theta_names`]): the REML
    /// criterion (REML models) or the deviance −2 log L (ML models), both including the
    /// constant, exactly comparable to lme4's `REMLcrit()` / `deviance()` and to the
    /// `objective` of the reference results. Returns +∞ where Ω(θ) is not positive
    /// definite and NaN when θ has the wrong length or non-finite entries.
    ///
    /// Large crossed models are evaluated by the sparse path (log-determinants and r²
    /// only): call [`Self::evaluate`] before reading β, σ or the modes.
    pub fn objective(&mut self, theta: &[f64]) -> f64 {
        if !self.valid_theta(theta) {
            self.factor.ok = false;
            return f64::NAN;
        }
        self.theta.copy_from_slice(theta);
        if !self.factor.evaluate_objective(&self.cp, &self.terms, theta) {
            return f64::INFINITY;
        }
        self.current_objective()
    }

    /// Factor Ω(θ) and keep the result for the accessors (β, σ, logdets ...): the nested
    /// path's arrow factor or the sparse path's supernodal factor, which the accessors read
    /// directly (see [`crate::nested`], [`crate::sparse`]), else the dense factor. Returns
    /// false when θ is invalid or Ω(θ) is not positive definite.
    pub fn evaluate(&mut self, theta: &[f64]) -> bool {
        self.evaluate_with(theta, true)
    }

    /// [`Self::evaluate`], on the sparse path only if `sparse` (the gradient reads the
    /// dense factor).
    pub(crate) fn evaluate_with(&mut self, theta: &[f64], sparse: bool) -> bool {
        if !self.valid_theta(theta) {
            self.factor.ok = false;
            return false;
        }
        self.theta.copy_from_slice(theta);
        if self.uses_nested() || (sparse && self.uses_sparse()) {
            return self.factor.evaluate_objective(&self.cp, &self.terms, theta);
        }
        self.factor.evaluate(&self.cp, &self.terms, theta)
    }

    fn valid_theta(&self, theta: &[f64]) -> bool {
        theta.len() == self.n_theta() && theta.iter().all(|v| v.is_finite())
    }

    /// Whether [`Self::objective`] uses the sparse factorization of the later terms' block
    /// (chosen when the model is built: later terms with one column per level, a large
    /// block, and little fill).
    pub fn uses_sparse(&self) -> bool {
        self.factor.sparse.is_some()
    }

    /// Whether [`Self::objective`] uses the arrow path of a first term nested in the
    /// second (chosen when the model is built; see [`crate::nested`]).
    pub fn uses_nested(&self) -> bool {
        self.factor.nested.is_some() && self.factor.sparse.is_none()
    }

    /// Use (`true`) the sparse path for [`Self::objective`] whenever the model's
    /// structure allows it, whatever its size, or (`false`) only the dense path (neither
    /// the sparse nor the nested one). Returns whether the sparse path is now in use. For
    /// tests and benchmarks comparing the paths.
    pub fn set_sparse(&mut self, on: bool) -> bool {
        self.factor.sparse = if on {
            crate::sparse::SparseRest::build(&self.cp, &self.terms, 1, f64::INFINITY)
        } else {
            None
        };
        if !on {
            self.factor.nested = None;
        }
        self.factor.ok = false;
        self.uses_sparse()
    }

    /// The objective at the θ of the last [`Self::evaluate`] (NaN if it failed).
    pub fn current_objective(&self) -> f64 {
        if !self.factor.ok {
            return f64::NAN;
        }
        let f = &self.factor;
        let n = self.n_obs() as f64;
        let dof = self.residual_dof();
        let two_pi = 2.0 * std::f64::consts::PI;
        let base = f.logdet_z - self.sum_log_w + dof * (1.0 + (two_pi * f.r2 / dof).ln());
        if self.reml {
            base + f.logdet_x
        } else {
            debug_assert_eq!(dof, n);
            base
        }
    }

    /// The unprofiled objective at the last evaluated θ and a given residual SD σ:
    /// log|Lzz|² (+ log|Lxx|² under REML) − Σ log w + d·log(2πσ²) + r²/σ², with d = N
    /// (ML) or N − p (REML). Minimizing over σ gives [`Self::current_objective`].
    pub fn objective_at_sigma(&self, sigma: f64) -> f64 {
        if !self.factor.ok {
            return f64::NAN;
        }
        let f = &self.factor;
        let s2 = sigma * sigma;
        let mut v = f.logdet_z - self.sum_log_w
            + self.residual_dof() * (2.0 * std::f64::consts::PI * s2).ln()
            + f.r2 / s2;
        if self.reml {
            v += f.logdet_x;
        }
        v
    }

    /// N (ML) or N − p (REML): the divisor of r² in σ̂².
    pub fn residual_dof(&self) -> f64 {
        let n = self.n_obs() as f64;
        if self.reml {
            n - self.n_fixed() as f64
        } else {
            n
        }
    }

    /// Switch between REML and ML (the cross-products are unchanged).
    pub fn set_reml(&mut self, reml: bool) {
        self.reml = reml;
    }

    /// Whether the objective is the REML criterion.
    pub fn reml(&self) -> bool {
        self.reml
    }

    /// Replace the response (same length, original row order) and recompute only what
    /// depends on y: O(N). The offset and weights of the design still apply. For the
    /// parametric bootstrap.
    pub fn set_response(&mut self, y: &[f64]) -> Result<(), ModelError> {
        let n = self.n_obs();
        if !self.has_rows() {
            return Err(ModelError::RowsUnavailable {
                what: "replacing the response".into(),
            });
        }
        if y.len() != n {
            return Err(ModelError::DimensionMismatch {
                what: "response".into(),
                expected: n,
                found: y.len(),
            });
        }
        if let Some(row) = y.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite {
                what: "response".into(),
                row,
            });
        }
        self.design.y.copy_from_slice(y);
        let (rows, _) = weighted_rows(&mut self.design, &self.terms)?;
        self.cp.update_response(&rows, &self.terms);
        self.rows = give_back(&mut self.design, rows, &self.terms);
        self.factor.ok = false;
        Ok(())
    }

    /// The number of covariance parameters θ.
    pub fn n_theta(&self) -> usize {
        self.terms.iter().map(|t| t.n_theta()).sum()
    }

    /// Lower bounds of θ (0 for diagonal entries of the T_j, −∞ otherwise), lme4's order.
    pub fn theta_lower(&self) -> Vec<f64> {
        self.terms
            .iter()
            .flat_map(|t| t.structure.lower_bounds())
            .collect()
    }

    /// lme4's starting θ (every T_j = I).
    pub fn theta_start(&self) -> Vec<f64> {
        self.terms
            .iter()
            .flat_map(|t| t.structure.initial_theta())
            .collect()
    }

    /// lme4-style names of the θ entries (`Subject.(Intercept)`, `Subject.Days.(Intercept)` ...).
    pub fn theta_names(&self) -> Vec<String> {
        self.terms
            .iter()
            .flat_map(|t| {
                t.structure
                    .theta_names(&t.group, &t.names)
                    .unwrap_or_else(|_| {
                        (0..t.n_theta())
                            .map(|i| format!("{}.theta{i}", t.group))
                            .collect()
                    })
            })
            .collect()
    }

    /// The θ of the last evaluation.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// Number of observations N.
    pub fn n_obs(&self) -> usize {
        self.rows.n
    }

    /// Number of fixed-effects columns p.
    pub fn n_fixed(&self) -> usize {
        self.rows.p
    }

    /// The design the model was built from (formula order of terms, original rows).
    pub fn design(&self) -> &Design {
        &self.design
    }

    /// Whether the model holds its rows (false for a model built from sufficient
    /// statistics by [`Self::from_stats`], whose [`Self::design`] has the coding only).
    pub fn has_rows(&self) -> bool {
        self.design.y.len() == self.rows.n
    }

    /// Observations per level of each random-effects term (formula order).
    pub fn level_counts(&self) -> Vec<Vec<usize>> {
        match &self.level_counts {
            Some(c) => c.clone(),
            None => self.design.group_sizes(),
        }
    }

    /// The random-effects terms in the engine's (lme4's) order.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Σ log w over the prior weights (0 without weights).
    pub fn sum_log_weights(&self) -> f64 {
        self.sum_log_w
    }
}

/// The row data the cross-products read, terms in engine order, and Σ log w.
///
/// Without weights the columns (and, without offset, y) are moved out of `design`, not
/// copied: [`give_back`] returns them once the cross-products are formed. With weights
/// they are √w-scaled copies.
fn weighted_rows(design: &mut Design, terms: &[Term]) -> Result<(Rows, f64), ModelError> {
    let n = design.n_obs();
    let p = design.x.ncols;
    check_lengths(design, n, p)?;
    if n <= p {
        return Err(ModelError::TooFewObservations { n, p });
    }
    let sw: Option<Vec<f64>> = match &design.weights {
        Some(w) => {
            if let Some(row) = first_non_finite(w) {
                return Err(ModelError::NonFinite {
                    what: "weights".into(),
                    row,
                });
            }
            if let Some(row) = w.iter().position(|v| *v <= 0.0) {
                return Err(ModelError::NonPositiveWeight { row, value: w[row] });
            }
            Some(w.iter().map(|v| v.sqrt()).collect())
        }
        None => None,
    };
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

/// Return to `design` what [`weighted_rows`] moved out of it (the codes, and the columns and
/// y where they were moved rather than copied); what is left is the row-free [`Rows`] the
/// model keeps (its sizes).
fn give_back(design: &mut Design, rows: Rows, terms: &[Term]) -> Rows {
    let Rows {
        n,
        codes,
        z,
        x,
        p,
        y,
    } = rows;
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
    Rows {
        n,
        codes: Vec::new(),
        z: Vec::new(),
        x: Vec::new(),
        p,
        y: Vec::new(),
    }
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
fn check_finite(design: &Design) -> Result<(), ModelError> {
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
