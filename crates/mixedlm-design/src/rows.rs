//! Which rows are used: missing values dropped (lme4's `na.omit`) or reported, infinities refused.

use arrow_array::RecordBatch;
use serde::Serialize;

use crate::data::{raw, Raw};
use crate::error::DesignError;

/// What to do with rows that have a missing value (null, NaN) in a column the model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
pub enum MissingPolicy {
    /// Drop them and count them (lme4's default `na.omit`).
    #[default]
    Drop,
    /// Refuse: a [`DesignError::Missing`] naming the column and count.
    Error,
}

/// The rows kept and the number dropped.
#[derive(Debug)]
pub(crate) struct UsedRows {
    pub rows: Vec<usize>,
    pub dropped: usize,
}

/// Select the rows with no missing value in `columns`; refuse infinite values in them.
pub(crate) fn used_rows(
    batch: &RecordBatch,
    columns: &[String],
    policy: MissingPolicy,
) -> Result<UsedRows, DesignError> {
    let raws: Vec<Raw> = columns
        .iter()
        .map(|c| raw(batch, c))
        .collect::<Result<_, _>>()?;
    let n = batch.num_rows();
    if raws.iter().all(Raw::is_clean) {
        return Ok(UsedRows {
            rows: (0..n).collect(),
            dropped: 0,
        });
    }
    let rows: Vec<usize> = if raws.iter().any(Raw::has_missing) {
        let mut keep = vec![true; n];
        for (name, r) in columns.iter().zip(&raws) {
            let count = r.mark_missing(&mut keep);
            if count > 0 && policy == MissingPolicy::Error {
                return Err(DesignError::Missing {
                    column: name.clone(),
                    count,
                });
            }
        }
        (0..n).filter(|&i| keep[i]).collect()
    } else {
        (0..n).collect()
    };
    for (name, r) in columns.iter().zip(&raws) {
        if let Some((row, count)) = r.infinite() {
            return Err(DesignError::Infinite {
                column: name.clone(),
                count,
                row,
            });
        }
    }
    Ok(UsedRows {
        dropped: n - rows.len(),
        rows,
    })
}
