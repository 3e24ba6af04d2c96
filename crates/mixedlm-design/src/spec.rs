//! The learned encoding of a design, to rebuild X and Z on new data with the same coding.

use arrow_array::RecordBatch;
use mixedlm_formula::{TermList, Variable};
use serde::Serialize;

use crate::alias::drop_columns_owned;
use crate::data::LevelIndex;
use crate::design::{CovarianceKind, DenseMatrix};
use crate::error::DesignError;
use crate::eval::{columns_of, Evaluator, Params};
use crate::grouping::group_codes;
use crate::label::label;
use crate::matrix::model_matrix;
use crate::rows::{used_rows, MissingPolicy};

/// One random-effects term of the learned encoding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RandomSpec {
    /// The grouping factor's name (`Subject`, `batch:cask`).
    pub group: String,
    /// The grouping columns (`["batch", "cask"]`).
    pub grouping: Vec<String>,
    /// The grouping factor's levels in the fitting data.
    pub levels: crate::Levels,
    /// The term's model (inside the bar).
    pub model: TermList,
    /// The term's column names.
    pub names: Vec<String>,
    /// The covariance structure.
    pub covariance: CovarianceKind,
}

/// Everything learned from the fitting data: apply it to new data with [`DesignSpec::apply`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesignSpec {
    /// The response's label, if the formula had one.
    pub response: Option<String>,
    /// The response variable.
    pub response_variable: Option<Variable>,
    /// The fixed-effects terms.
    pub fixed: TermList,
    /// All columns of X before aliased ones were dropped.
    pub x_columns_full: Vec<String>,
    /// Indices (into `x_columns_full`) of the aliased columns dropped.
    pub aliased_index: Vec<usize>,
    /// Names of the aliased columns dropped.
    pub aliased: Vec<String>,
    /// The columns of X as fitted.
    pub x_columns: Vec<String>,
    /// The random-effects terms.
    pub random: Vec<RandomSpec>,
    /// Learned parameters: factor levels, `scale`/`center` moments, `poly` coefficients.
    pub params: Params,
    /// The weights column, if any.
    pub weights: Option<String>,
    /// The offset column, if any.
    pub offset: Option<String>,
    /// `offset(...)` terms of the formula.
    pub offsets: Vec<Variable>,
    /// The missing-data policy used.
    pub missing: MissingPolicy,
}

/// One random-effects term rebuilt on new data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewRandomTerm {
    /// The grouping factor's name.
    pub group: String,
    /// Per row: the level's index in the fitted levels, or None for a level not seen in fitting.
    pub codes: Vec<Option<u32>>,
    /// The distinct levels of the new data not seen in fitting (sorted).
    pub unseen: Vec<String>,
    /// The term's column names.
    pub names: Vec<String>,
    /// The term's model columns (n x k).
    pub z: DenseMatrix,
}

/// X (and the random terms) rebuilt on new data with the fitted coding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewData {
    /// The fixed-effects matrix, same columns as fitted.
    pub x: DenseMatrix,
    /// Its column names.
    pub x_names: Vec<String>,
    /// The random-effects terms (empty from [`DesignSpec::apply_fixed`]).
    pub random: Vec<NewRandomTerm>,
    /// The offset (column plus formula offsets), if any.
    pub offset: Option<Vec<f64>>,
    /// Rows of the new data dropped for missing values.
    pub n_dropped: usize,
    /// The index in the new data of each row used.
    pub row_index: Vec<usize>,
}

impl DesignSpec {
    /// Rebuild X and the random terms on `batch` (grouping columns required).
    ///
    /// Levels of grouping factors unseen in fitting get code `None` and are listed in `unseen`;
    /// unseen levels of fixed-effects factors are an error.
    pub fn apply(&self, batch: &RecordBatch) -> Result<NewData, DesignError> {
        self.rebuild(batch, true)
    }

    /// Rebuild X only (population-level prediction; grouping columns not needed).
    pub fn apply_fixed(&self, batch: &RecordBatch) -> Result<NewData, DesignError> {
        self.rebuild(batch, false)
    }

    fn used_columns(&self, with_random: bool) -> Vec<String> {
        let mut cols = Vec::new();
        self.fixed
            .terms
            .iter()
            .flat_map(|t| &t.variables)
            .for_each(|v| columns_of(v, &mut cols));
        self.offsets.iter().for_each(|v| columns_of(v, &mut cols));
        if let Some(o) = &self.offset {
            push_unique(&mut cols, o);
        }
        if with_random {
            for r in &self.random {
                r.model
                    .terms
                    .iter()
                    .flat_map(|t| &t.variables)
                    .for_each(|v| columns_of(v, &mut cols));
                r.grouping.iter().for_each(|g| push_unique(&mut cols, g));
            }
        }
        cols
    }

    fn rebuild(&self, batch: &RecordBatch, with_random: bool) -> Result<NewData, DesignError> {
        let used = used_rows(batch, &self.used_columns(with_random), self.missing)?;
        let mut params = self.params.clone();
        let mut ev = Evaluator {
            batch,
            rows: &used.rows,
            params: &mut params,
            learn: false,
        };
        let (x, _) = model_matrix(&mut ev, &self.fixed)?;
        let x = drop_columns_owned(x, &self.aliased_index);
        let offset = offset_values(&mut ev, self.offset.as_deref(), &self.offsets)?;
        let mut random = Vec::new();
        if with_random {
            for r in &self.random {
                let index = LevelIndex::new(r.levels.clone());
                let (codes, unseen) = group_codes(batch, &used.rows, &r.grouping, &index)?;
                let (z, names) = model_matrix(&mut ev, &r.model)?;
                random.push(NewRandomTerm {
                    group: r.group.clone(),
                    codes,
                    unseen,
                    names,
                    z,
                });
            }
        }
        Ok(NewData {
            x,
            x_names: self.x_columns.clone(),
            random,
            offset,
            n_dropped: used.dropped,
            row_index: used.rows,
        })
    }
}

/// The offset column plus the formula's `offset()` terms, if any.
pub(crate) fn offset_values(
    ev: &mut Evaluator<'_>,
    column: Option<&str>,
    terms: &[Variable],
) -> Result<Option<Vec<f64>>, DesignError> {
    let mut vars: Vec<Variable> = terms.to_vec();
    if let Some(c) = column {
        vars.push(Variable::Column(c.to_string()));
    }
    let mut total: Option<Vec<f64>> = None;
    for v in &vars {
        let x = ev.numeric(v, &format!("offset({})", label(v)))?;
        match &mut total {
            Some(t) => t.iter_mut().zip(&x).for_each(|(a, b)| *a += b),
            None => total = Some(x),
        }
    }
    Ok(total)
}

pub(crate) fn push_unique(cols: &mut Vec<String>, c: &str) {
    if !cols.iter().any(|x| x == c) {
        cols.push(c.to_string());
    }
}
