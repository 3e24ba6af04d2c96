//! The engine as a penalized weighted least-squares (PWLS) solver, the interface a
//! penalized iteratively reweighted least-squares loop (PIRLS: a GLMM's Laplace
//! approximation) calls at each of its iterations:
//!
//! 1. [`LinearMixedModel::reweight`]: new weights (prior × working weights), working
//!    response and offset; the cross-products are formed again in one pass over the rows,
//!    and the term order, the pattern of B and each path's symbolic analysis are kept;
//! 2. [`LinearMixedModel::evaluate`] at θ factors Λ'Z'WZΛ + I with X and the response,
//!    on the model's path (dense, nested or sparse);
//! 3. then read the solution for (u, β) jointly ([`LinearMixedModel::spherical_modes`],
//!    [`LinearMixedModel::beta`]) or for u alone with β held fixed (Xβ an offset:
//!    [`LinearMixedModel::spherical_modes_at`]), and log|L_Z|² = log det(Λ'Z'WZΛ + I)
//!    ([`LinearMixedModel::logdet_z`]) with the penalized weighted residual sum of squares
//!    ([`LinearMixedModel::pwrss`], [`LinearMixedModel::pwrss_at`]).
//!
//! [`LinearMixedModel::for_pwls`] builds a model for this use: observation-level terms
//! allowed, and the sparse path taken sooner.
//!
//! For a linear mixed model with prior weights w and offset o, `reweight(w, y, o)` on a
//! model of the same rows gives the numbers of the model built with them
//! (`tests/integration/pwls.rs`).

use crate::rows::Rows;
use crate::terms::build_terms_with;
use crate::{LinearMixedModel, ModelError, ModelOptions};
use mixedlm_design::Design;

impl LinearMixedModel {
    /// A model (maximum likelihood) to serve as a GLMM's PWLS system: as
    /// [`Self::from_design`], but a grouping factor may have one level per observation
    /// (glmer's `allow.n`: an observation-level term models overdispersion), and the sparse
    /// path is taken from `sparse_from` Z columns of the later terms when it needs at most
    /// half the dense flops (PIRLS factors several times per evaluation, so sparsity pays
    /// on smaller blocks than for an LMM).
    ///
    /// Errors: as [`Self::from_design`] apart from the numbers of levels.
    pub fn for_pwls(design: Design, sparse_from: usize) -> Result<Self, ModelError> {
        let terms = build_terms_with(&design, true)?;
        let mut model = Self::from_terms(design, terms, ModelOptions { reml: false })?;
        model
            .factor
            .prefer_sparse_from(&model.cp, &model.terms, sparse_from);
        Ok(model)
    }

    /// Replace the weights (every w_i > 0), the response (a GLMM's working response) and
    /// the offset (`None`: none), and form the cross-products again: one pass over the rows
    /// in original order, with the term order, the pattern of B and the factor's symbolic
    /// analysis kept (only values change). The design the model holds takes them, so
    /// [`Self::design`] and the fitted values follow. The factor is stale until the next
    /// [`Self::evaluate`]. Σ log w enters the objective as for prior weights.
    ///
    /// Errors: a model built from cross-product sums (no rows), a length other than N,
    /// a non-finite value, or a weight ≤ 0.
    pub fn reweight(
        &mut self,
        weights: &[f64],
        response: &[f64],
        offset: Option<&[f64]>,
    ) -> Result<(), ModelError> {
        self.check_rows("reweighting", "weights", weights)?;
        self.check_rows("reweighting", "response", response)?;
        if let Some(o) = offset {
            self.check_rows("reweighting", "offset", o)?;
        }
        if let Some(row) = weights.iter().position(|&w| w <= 0.0) {
            return Err(ModelError::NonPositiveWeight {
                row,
                value: weights[row],
            });
        }
        self.design.weights = Some(weights.to_vec());
        self.design.y.copy_from_slice(response);
        self.design.offset = offset.map(<[f64]>::to_vec);
        let (rows, sum_log_w) = Rows::weighted(&mut self.design, &self.terms, &self.shift)?;
        self.cp.fill(&rows, &self.terms);
        rows.restore(&mut self.design, &self.terms);
        self.sum_log_w = sum_log_w;
        self.factor.data_changed(&self.cp);
        Ok(())
    }

    /// The spherical modes û(β) at the last evaluation for a given β held fixed (Xβ
    /// treated as an offset): the minimizer over u of ‖W^½(y − o − Xβ − ZΛu)‖² + ‖u‖²,
    /// Lzz^{-T} (L_yz' − L_xz' β), in the engine's Z order (as
    /// [`Self::spherical_modes`], which is û(β̂)). NaN entries without a valid evaluation
    /// or when β has the wrong length.
    pub fn spherical_modes_at(&self, beta: &[f64]) -> Vec<f64> {
        let cp = &self.cp;
        if self.factor.pieces.is_none() || beta.len() != cp.p {
            return vec![f64::NAN; cp.g1 * cp.k1 + cp.qr];
        }
        let mut shifted = beta.to_vec();
        self.shift.beta_to_shifted(&mut shifted);
        let ur = self.factor.rest_modes(cp, &shifted);
        let mut u = Vec::new();
        self.factor.levels.modes_into(cp, &ur, &shifted, &mut u);
        u
    }

    /// The penalized weighted residual sum of squares at (û(β), β):
    /// r² + ‖Lxx'(β − β̂)‖², r² = [`Self::pwrss`] its minimum over β. NaN without a valid
    /// evaluation or when β has the wrong length.
    pub fn pwrss_at(&self, beta: &[f64]) -> f64 {
        if self.factor.pieces.is_none() || beta.len() != self.cp.p {
            return f64::NAN;
        }
        let lxx = self.lxx();
        let d: Vec<f64> = beta.iter().zip(self.beta()).map(|(b, h)| b - h).collect();
        let quad: f64 = (0..d.len())
            .map(|c| {
                (c..d.len())
                    .map(|r| lxx[(r, c)] * d[r])
                    .sum::<f64>()
                    .powi(2)
            })
            .sum();
        self.pwrss() + quad
    }
}
