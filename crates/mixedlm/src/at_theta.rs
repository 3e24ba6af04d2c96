//! The fitted model evaluated again at other θ, for statsmodels' information matrices
//! (`bse_re`, `cov_params()`): the engine's own factorization path, so the number of
//! random effects is not limited as it is for the dense algebra of `mixedlm-inference`.

use crate::{Error, MixedLMResults};
use faer::Mat;
use mixedlm_inference::{term_layouts, TermLayout};
use mixedlm_model::LinearMixedModel;
use std::cell::RefCell;

/// What the profiled criterion needs at one θ.
#[derive(Clone, Debug)]
pub(crate) struct Pieces {
    /// log det(Λ'Z'WZΛ + I).
    pub(crate) logdet_z: f64,
    /// log det(X'V₀⁻¹X).
    pub(crate) logdet_x: f64,
    /// Penalized residual sum of squares at β̂(θ).
    pub(crate) pwrss: f64,
    /// β̂(θ).
    pub(crate) beta: Vec<f64>,
    /// (X'V₀⁻¹X)⁻¹.
    pub(crate) xtwx_inv: Mat<f64>,
}

/// A copy of the fitted model that may be moved to any θ without disturbing the fit's
/// own estimates (which are read from the model's last evaluation).
pub(crate) struct AtTheta {
    model: RefCell<LinearMixedModel>,
    terms: Vec<TermLayout>,
}

impl AtTheta {
    /// Rebuild the fit's model (one pass over its rows).
    pub(crate) fn new(fit: &MixedLMResults) -> Result<Self, Error> {
        let model = fit.model.rebuild(fit.model.design())?;
        let terms = term_layouts(model.design());
        Ok(Self {
            model: RefCell::new(model),
            terms,
        })
    }

    /// The random-effects terms in θ order.
    pub(crate) fn terms(&self) -> &[TermLayout] {
        &self.terms
    }

    /// The pieces at θ; `None` where Ω(θ) is not positive definite.
    pub(crate) fn pieces(&self, theta: &[f64]) -> Option<Pieces> {
        let mut model = self.model.borrow_mut();
        if !model.evaluate(theta) {
            return None;
        }
        Some(Pieces {
            logdet_z: model.logdet_z(),
            logdet_x: model.logdet_x(),
            pwrss: model.pwrss(),
            beta: model.beta(),
            xtwx_inv: model.unscaled_vcov_beta(),
        })
    }

    /// The fit's profiled criterion (REML criterion or ML deviance) at θ, with the
    /// residual sum of squares `pwrss` (the optimum's, or one moved off β̂), up to a
    /// constant.
    pub(crate) fn criterion(&self, pc: &Pieces, pwrss: f64) -> f64 {
        let model = self.model.borrow();
        let (n, p) = (model.n_obs() as f64, model.n_fixed() as f64);
        let reml = model.reml();
        let nu = if reml { n - p } else { n };
        let base = pc.logdet_z + nu * pwrss.ln();
        if reml {
            base + pc.logdet_x
        } else {
            base
        }
    }
}
