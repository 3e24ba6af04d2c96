//! Grouping factors: one column, or the interaction `a:b` of several (R's `a:b` on factors).
//!
//! A grouping factor is categorical whatever its storage. The levels of `a:b` are the
//! combinations present in the data, labelled `paste(a, b, sep = ":")` and ordered by `a`'s
//! level, then `b`'s (lme4's order).

use arrow_array::RecordBatch;

use crate::data::{dense_limit, factorize, factorize_dense, raw, Factor, LevelIndex};
use crate::error::DesignError;

/// Per-column levels and codes of the grouping columns.
fn components(
    batch: &RecordBatch,
    rows: &[usize],
    grouping: &[String],
) -> Result<Vec<Factor>, DesignError> {
    grouping
        .iter()
        .map(|g| Ok(raw(batch, g)?.factorize(rows)))
        .collect()
}

/// Levels (sorted) and per-row codes of the grouping factor on `rows`.
pub(crate) fn group_factor(
    batch: &RecordBatch,
    rows: &[usize],
    grouping: &[String],
) -> Result<(Vec<String>, Vec<u32>), DesignError> {
    let mut comps = components(batch, rows, grouping)?;
    if comps.len() == 1 {
        return Ok(comps.pop().unwrap_or_default());
    }
    let sizes: Vec<u128> = comps.iter().map(|(l, _)| l.len().max(1) as u128).collect();
    let mut cap: u128 = 1;
    for s in &sizes {
        cap = cap.checked_mul(*s).ok_or_else(|| {
            DesignError::Unsupported(format!(
                "grouping factor '{}' has too many combinations",
                grouping.join(":")
            ))
        })?;
    }
    if cap <= dense_limit(rows.len()) {
        // few combinations: a table over all of them (in order) instead of hashing
        let keys = (0..rows.len()).map(|i| {
            comps
                .iter()
                .zip(&sizes)
                .fold(0usize, |k, ((_, c), s)| k * *s as usize + c[i] as usize)
        });
        let fmt = |k: usize| label_of(&comps, &sizes, k as u128);
        return Ok(factorize_dense(keys, cap as usize, fmt));
    }
    let key = |i: usize| {
        comps
            .iter()
            .zip(&sizes)
            .fold(0u128, |k, ((_, c), s)| k * s + c[i] as u128)
    };
    let fmt = |k: u128| label_of(&comps, &sizes, k);
    Ok(factorize(rows.len(), key, |a, b| a.cmp(b), fmt))
}

/// `a:b` label of the combination key `k` (mixed radix over the component sizes).
fn label_of(comps: &[Factor], sizes: &[u128], mut k: u128) -> String {
    let mut parts: Vec<&str> = vec![""; comps.len()];
    for (p, ((levels, _), s)) in comps.iter().zip(sizes).enumerate().rev() {
        parts[p] = levels[(k % s) as usize].as_str();
        k /= s;
    }
    parts.join(":")
}

/// Codes of new rows in the learned `levels` (None for an unseen level) and the unseen levels.
pub(crate) fn group_codes(
    batch: &RecordBatch,
    rows: &[usize],
    grouping: &[String],
    levels: &LevelIndex,
) -> Result<(Vec<Option<u32>>, Vec<String>), DesignError> {
    let (own, codes) = group_factor(batch, rows, grouping)?;
    let mapped = levels.recode(&own, &codes);
    let mut seen = vec![false; own.len()];
    let mut unseen = Vec::new();
    for (m, c) in mapped.iter().zip(&codes) {
        if m.is_none() && !seen[*c as usize] {
            seen[*c as usize] = true;
            unseen.push(own[*c as usize].clone());
        }
    }
    unseen.sort();
    Ok((mapped, unseen))
}
