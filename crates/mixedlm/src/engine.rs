//! The one place the facade calls the engine: design -> model -> fit -> results.

use crate::{Error, MixedLMResults, ModelSpec};
use mixedlm_design::{Design, DesignSpec};
use mixedlm_model::{FitOptions, LinearMixedModel, ModelOptions};

/// Fit a built design by REML or ML with the given optimizer options.
pub(crate) fn fit_design(
    spec: &ModelSpec,
    design: Design,
    design_spec: DesignSpec,
    reml: bool,
    opts: FitOptions,
) -> Result<MixedLMResults, Error> {
    let mut model = LinearMixedModel::from_design(design, ModelOptions { reml })?;
    let fit = model.fit(&opts)?;
    Ok(MixedLMResults::new(model, fit, design_spec, spec.clone()))
}
