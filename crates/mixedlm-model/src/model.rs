//! [`LinearMixedModel`]: the data (as cross-products), the term structure and the
//! factor of Ω(θ); evaluates the profiled REML criterion or ML deviance at θ.

use crate::crossprod::CrossProducts;
use crate::factor::Factor;
use crate::rows::{check_finite, Rows};
use crate::shift::Shift;
use crate::terms::{build_terms, Term};
use crate::ModelError;
use mixedlm_crossprod::MAX_DENSE_COLUMNS;
use mixedlm_design::Design;

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
    /// Number of observations N.
    pub(crate) n: usize,
    pub(crate) cp: CrossProducts,
    pub(crate) factor: Factor,
    pub(crate) reml: bool,
    pub(crate) sum_log_w: f64,
    pub(crate) theta: Vec<f64>,
    /// Observations per level per term (formula order) for a model built from
    /// cross-product sums, whose design holds no rows.
    pub(crate) level_counts: Option<Vec<Vec<usize>>>,
    /// What the cross-products subtract from y and X's columns (see [`crate::shift`]).
    pub(crate) shift: Shift,
}

impl LinearMixedModel {
    /// Validate the design, order the terms as lme4 does, and form the cross-products.
    ///
    /// Errors: no random term, a grouping factor with < 2 levels or ≥ N levels, N ≤ p,
    /// non-finite values, non-positive weights, inconsistent lengths, or a dense part larger
    /// than the engine supports (20,000 columns).
    pub fn new(design: &Design, opts: ModelOptions) -> Result<Self, ModelError> {
        Self::from_design(design.clone(), opts)
    }

    /// [`Self::new`] taking the design (no copy of its rows).
    pub fn from_design(design: Design, opts: ModelOptions) -> Result<Self, ModelError> {
        let terms = build_terms(&design)?;
        Self::from_terms(design, terms, opts)
    }

    /// [`Self::from_design`] with the terms already built from the design.
    pub(crate) fn from_terms(
        mut design: Design,
        terms: Vec<Term>,
        opts: ModelOptions,
    ) -> Result<Self, ModelError> {
        let shift = Shift::for_design(&design);
        let (rows, sum_log_w) = Rows::weighted(&mut design, &terms, &shift)?;
        let qr: usize = terms[1..].iter().map(|t| t.k * t.n_levels()).sum();
        if qr + rows.p + 1 > MAX_DENSE_COLUMNS {
            return Err(ModelError::TooLarge {
                columns: qr + rows.p + 1,
                limit: MAX_DENSE_COLUMNS,
            });
        }
        let cp = CrossProducts::new(&rows, &terms);
        let n = rows.n;
        rows.restore(&mut design, &terms);
        // The data pass doubles as the check for NaN and ±∞ (see `diagonals_finite`): the
        // scan that names the row runs only when the sums say there is one.
        if !cp.diagonals_finite() {
            check_finite(&design)?;
        }
        let mut model = Self::assemble(design, terms, n, cp, opts, sum_log_w);
        model.shift = shift;
        Ok(model)
    }

    /// The model from its parts, at lme4's starting θ.
    pub(crate) fn assemble(
        design: Design,
        terms: Vec<Term>,
        n: usize,
        cp: CrossProducts,
        opts: ModelOptions,
        sum_log_w: f64,
    ) -> Self {
        let factor = Factor::new(&cp, &terms);
        let shift = Shift::none(cp.p);
        let theta = terms
            .iter()
            .flat_map(|t| t.structure.initial_theta())
            .collect();
        LinearMixedModel {
            design,
            terms,
            n,
            cp,
            factor,
            reml: opts.reml,
            sum_log_w,
            theta,
            level_counts: None,
            shift,
        }
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
    pub fn objective(&mut self, theta: &[f64]) -> f64 {
        if !self.evaluate(theta) {
            return if self.valid_theta(theta) {
                f64::INFINITY
            } else {
                f64::NAN
            };
        }
        self.current_objective()
    }

    /// Factor Ω(θ) and keep it for the accessors (β, σ, logdets, modes ...), on the path
    /// the model takes (dense, nested or sparse). Returns false when θ is invalid or Ω(θ)
    /// is not positive definite.
    pub fn evaluate(&mut self, theta: &[f64]) -> bool {
        if !self.valid_theta(theta) {
            self.factor.pieces = None;
            return false;
        }
        self.theta.copy_from_slice(theta);
        self.factor.evaluate(&self.cp, &self.terms, theta)
    }

    fn valid_theta(&self, theta: &[f64]) -> bool {
        theta.len() == self.n_theta() && theta.iter().all(|v| v.is_finite())
    }

    /// Whether the model takes the sparse path (chosen when the model is built: later
    /// terms with one column per level, a large block, and little fill).
    pub fn uses_sparse(&self) -> bool {
        self.factor.is_sparse()
    }

    /// Whether the model takes the nested path (term 1 nested in term 2; chosen when the
    /// model is built).
    pub fn uses_nested(&self) -> bool {
        self.factor.nested().is_some()
    }

    /// Use (`true`) the sparse path whenever the model's structure allows it, whatever its
    /// size, or (`false`) only the dense path (neither the sparse nor the nested one).
    /// Returns whether the sparse path is now in use. For tests and benchmarks comparing
    /// the paths.
    pub fn set_sparse(&mut self, on: bool) -> bool {
        self.factor.set_sparse(&self.cp, &self.terms, on)
    }

    /// The objective at the θ of the last [`Self::evaluate`] (NaN if it failed).
    pub fn current_objective(&self) -> f64 {
        let Some(f) = self.factor.pieces else {
            return f64::NAN;
        };
        let n = self.n_obs() as f64;
        let dof = self.residual_dof();
        let two_pi = 2.0 * std::f64::consts::PI;
        let base = f.logdet_z - self.sum_log_w + dof * (1.0 + (two_pi * f.pwrss / dof).ln());
        if self.reml {
            base + f.logdet_x
        } else {
            debug_assert_eq!(dof, n);
            base
        }
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
        self.check_rows("replacing the response", "response", y)?;
        self.design.y.copy_from_slice(y);
        let (rows, _) = Rows::weighted(&mut self.design, &self.terms, &self.shift)?;
        self.cp.update_response(&rows, &self.terms);
        rows.restore(&mut self.design, &self.terms);
        self.factor.data_changed(&self.cp);
        Ok(())
    }

    /// Ok when the model holds its rows and `values` has one finite value per row.
    pub(crate) fn check_rows(
        &self,
        operation: &str,
        what: &str,
        values: &[f64],
    ) -> Result<(), ModelError> {
        let n = self.n_obs();
        if !self.has_rows() {
            return Err(ModelError::RowsUnavailable {
                what: operation.into(),
            });
        }
        if values.len() != n {
            return Err(ModelError::DimensionMismatch {
                what: what.into(),
                expected: n,
                found: values.len(),
            });
        }
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite {
                what: what.into(),
                row,
            });
        }
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
        self.n
    }

    /// Number of fixed-effects columns p.
    pub fn n_fixed(&self) -> usize {
        self.cp.p
    }

    /// The design the model was built from (formula order of terms, original rows).
    pub fn design(&self) -> &Design {
        &self.design
    }

    /// Whether the model holds its rows (false for a model built from cross-product sums
    /// by [`Self::from_sums`], whose [`Self::design`] has the coding only).
    pub fn has_rows(&self) -> bool {
        self.design.y.len() == self.n
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
