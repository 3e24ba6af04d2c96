//! The one place the facade calls the engine: design -> model -> fit -> results.

use crate::{Error, MixedLMResults, ModelSpec};
use mixedlm_design::{Design, DesignSpec};
use mixedlm_model::{FitOptions, LinearMixedModel, ModelOptions, OptimizerName};

/// Fit a built design by REML or ML with the named optimizer.
pub(crate) fn fit_design(
    spec: &ModelSpec,
    design: Design,
    design_spec: DesignSpec,
    reml: bool,
    optimizer: OptimizerName,
) -> Result<MixedLMResults, Error> {
    let mut model = LinearMixedModel::from_design(design, ModelOptions { reml })?;
    let opts = FitOptions {
        optimizer,
        ..FitOptions::default()
    };
    let fit = model.fit(&opts)?;
    Ok(MixedLMResults::new(model, fit, design_spec, spec.clone()))
}
