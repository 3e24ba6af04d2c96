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
    check_magnitudes(&design)?;
    let mut model = LinearMixedModel::from_design(design, ModelOptions { reml })?;
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

/// The engine sums products of the raw values (y'y, X'X, Z'X, ...): a column whose squares
/// summed over the rows overflow makes every objective infinite. Name it and say how to
/// rescale it, instead of the optimizer's "objective is inf at the starting point".
fn check_magnitudes(design: &Design) -> Result<(), Error> {
    let n = design.n_obs().max(1) as f64;
    let limit = (f64::MAX / n).sqrt() / 16.0;
    let max_abs = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut columns: Vec<(String, f64)> = vec![(design.response.clone(), max_abs(&design.y))];
    for (j, name) in design.x_names.iter().enumerate() {
        columns.push((name.clone(), max_abs(design.x.col(j))));
    }
    for t in &design.random {
        for (j, name) in t.names.iter().enumerate() {
            columns.push((format!("{name} (random, {})", t.group), max_abs(t.z.col(j))));
        }
    }
    match columns.into_iter().find(|(_, m)| *m > limit) {
        None => Ok(()),
        Some((name, max)) => {
            let divide = 10f64.powi((max / 1e3).log10().ceil() as i32);
            Err(Error::InvalidOption(format!(
                "column `{name}` holds a value of magnitude {max:.3e}, too large for the sums \
                 of squares over {n} rows (at most about {limit:.1e}); rescale it, e.g. divide \
                 it by {divide:.0e}"
            )))
        }
    }
}
