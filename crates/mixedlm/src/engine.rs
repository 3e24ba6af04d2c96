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

/// Observations per level of statsmodels' `groups` column over the used rows, when no
/// random term is on it (variance components alone); `None` otherwise.
pub(crate) fn statsmodels_group_sizes(
    spec: &ModelSpec,
    batch: &arrow_array::RecordBatch,
    design: &Design,
) -> Option<Vec<usize>> {
    let g = spec.groups_column()?;
    if spec.has_group_term() {
        return None;
    }
    let column = batch.column_by_name(g)?;
    let text = arrow_cast::cast(column, &arrow_schema::DataType::Utf8).ok()?;
    let text = text.as_any().downcast_ref::<arrow_array::StringArray>()?;
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for &row in &design.row_index {
        *counts.entry(text.value(row)).or_default() += 1;
    }
    Some(counts.into_values().collect())
}
