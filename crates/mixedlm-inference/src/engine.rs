//! Bridges from the engine's [`LinearMixedModel`] to inference.

use crate::bootstrap::Refit;
use crate::dense::{term_layouts, DenseLmm};
use crate::error::InferenceError;
use crate::varpar::{parameter_names, sdcor_from_theta};
use mixedlm_model::{FitOptions, LinearMixedModel};

impl DenseLmm {
    /// The dense evaluator of an engine model (same design and criterion, same θ order).
    pub fn from_model(model: &LinearMixedModel) -> Result<Self, InferenceError> {
        DenseLmm::new(model.design(), model.reml())
    }
}

/// [`Refit`] on the engine: each refit is a full `fit` (warm-started from `opts.start`);
/// returns SDs, correlations, σ and β̂ (lme4's `confint(method = "boot")` parameters).
#[derive(Debug)]
pub struct EngineRefit {
    model: LinearMixedModel,
    opts: FitOptions,
}

impl EngineRefit {
    /// Wrap a model and the fit options of each refit (set `start` to the fitted θ).
    pub fn new(model: LinearMixedModel, opts: FitOptions) -> Self {
        Self { model, opts }
    }
}

impl Refit for EngineRefit {
    fn fork(&self) -> Result<Self, InferenceError> {
        let model = self
            .model
            .rebuild(self.model.design())
            .map_err(|e| InferenceError::Refit(e.to_string()))?;
        Ok(Self {
            model,
            opts: self.opts.clone(),
        })
    }
    fn set_response(&mut self, y: &[f64]) -> Result<(), InferenceError> {
        self.model
            .set_response(y)
            .map_err(|e| InferenceError::Refit(e.to_string()))
    }
    fn refit(&mut self) -> Result<Vec<f64>, InferenceError> {
        let fit = self
            .model
            .fit(&self.opts)
            .map_err(|e| InferenceError::Refit(e.to_string()))?;
        let layouts = term_layouts(self.model.design());
        let mut out = sdcor_from_theta(&layouts, &fit.theta, fit.sigma);
        out.extend(fit.fixef);
        Ok(out)
    }
    fn names(&self) -> Vec<String> {
        let mut n = parameter_names(&term_layouts(self.model.design()));
        n.extend(self.model.design().x_names.iter().cloned());
        n
    }
}
