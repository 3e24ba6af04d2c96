//! A model from cross-products accumulated batch by batch ([`CrossProductSums`]).

use crate::model::{LinearMixedModel, ModelOptions};
use crate::ModelError;
use mixedlm_crossprod::CrossProductSums;

impl LinearMixedModel {
    /// A model from accumulated cross-products: the same objective, estimates and
    /// conditional modes as [`LinearMixedModel::new`] on the design of all the rows.
    /// Aliased X columns are dropped (see [`CrossProductSums::aliased_columns`]).
    ///
    /// The model has no rows: [`Self::design`] is a design with the coding and no rows,
    /// fitted values and residuals of [`Self::fit`] are empty, and operations that need
    /// the rows (e.g. [`Self::set_response`]) return [`ModelError::RowsUnavailable`].
    pub fn from_sums(stats: &CrossProductSums, opts: ModelOptions) -> Result<Self, ModelError> {
        let parts = stats.model_parts()?;
        let mut model = LinearMixedModel::assemble(
            parts.design,
            parts.terms,
            parts.n,
            parts.cross_products,
            opts,
            parts.sum_log_weights,
        );
        model.level_counts = Some(parts.level_counts);
        if let Some(shift) = parts.shift {
            model.shift = shift;
        }
        Ok(model)
    }
}
