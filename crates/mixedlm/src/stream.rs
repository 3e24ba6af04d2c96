//! Streamed fits: a CSV, Parquet or Arrow file larger than memory, read twice in batches.
//!
//! Pass 1 ([`LevelScan`]) collects the levels of every factor and counts the rows; pass 2
//! builds each batch's design with those levels ([`BatchDesigner`]) and adds its
//! cross-products to [`CrossProductSums`]; the model is then fitted from the statistics,
//! with the same estimates and objective as a fit in memory. Memory is bounded by one batch
//! plus the cross-products (which grow with the numbers of levels, not of rows).
//!
//! What a streamed fit gives: everything of a fit in memory except fitted values and
//! residuals (empty) and the inference that needs the rows (Satterthwaite/Kenward-Roger
//! tests, profile and bootstrap intervals, diagnostics), which return errors. Conditional
//! modes and their SDs are available (they are read off the cross-products). `scale()`,
//! `center()` and `poly()` are refused: precompute such columns.

use crate::{Error, MixedLMResults, ModelSpec};
use mixedlm_design::{
    open_batches, AliasPolicy, BatchDesigner, DesignError, InputFormat, LevelScan,
    DEFAULT_BATCH_ROWS,
};
use mixedlm_model::{CrossProductSums, FitOptions, LinearMixedModel, ModelOptions};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Options of [`crate::MixedLM::fit_streaming`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// Rows per batch (the memory bound); default [`DEFAULT_BATCH_ROWS`].
    pub batch_rows: usize,
    /// The file's format; `None` follows the extension.
    pub format: Option<InputFormat>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            batch_rows: DEFAULT_BATCH_ROWS,
            format: None,
        }
    }
}

/// How a streamed fit read its data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamInfo {
    /// Batches read in the accumulation pass.
    pub batches: usize,
    /// Rows per batch asked for.
    pub batch_rows: usize,
    /// Passes over the file (2: levels, then cross-products).
    pub passes: usize,
    /// Seconds of the first pass (reading, levels).
    pub scan_seconds: f64,
    /// Seconds of the second pass (reading, designs, cross-products).
    pub accumulate_seconds: f64,
}

/// Pass 1: the levels of the whole file.
fn scan(spec: &ModelSpec, path: &Path, opts: &StreamOptions) -> Result<BatchDesigner, Error> {
    let mut scan = LevelScan::new(&spec.builder()?)?;
    for batch in open_batches(path, opts.format, opts.batch_rows)? {
        scan.observe(&batch?)?;
    }
    Ok(scan.finish()?)
}

/// Pass 2: the cross-products of the whole file, and the number of batches.
fn accumulate(
    designer: &BatchDesigner,
    path: &Path,
    opts: &StreamOptions,
) -> Result<(CrossProductSums, usize), Error> {
    let mut stats = CrossProductSums::new(designer.template())?;
    let mut batches = 0;
    for batch in open_batches(path, opts.format, opts.batch_rows)? {
        stats.accumulate(&designer.design(&batch?)?)?;
        batches += 1;
    }
    Ok((stats, batches))
}

/// The streamed fit of `spec` to the file at `path`.
pub(crate) fn fit(
    spec: &ModelSpec,
    reml: bool,
    fit_options: FitOptions,
    path: &Path,
    opts: &StreamOptions,
) -> Result<MixedLMResults, Error> {
    let start = Instant::now();
    let designer = scan(spec, path, opts)?;
    let scan_seconds = start.elapsed().as_secs_f64();
    let (stats, batches) = accumulate(&designer, path, opts)?;
    let accumulate_seconds = start.elapsed().as_secs_f64() - scan_seconds;
    let aliased = stats.aliased_columns();
    if !aliased.is_empty() && spec.builder()?.alias_policy() == AliasPolicy::Error {
        let columns = aliased
            .iter()
            .map(|&j| stats.x_names()[j].clone())
            .collect();
        return Err(DesignError::RankDeficient { columns }.into());
    }
    let mut model = LinearMixedModel::from_sums(&stats, ModelOptions { reml })?;
    let fit = model.fit(&fit_options)?;
    let mut results = MixedLMResults::new(model, fit, designer.spec(&aliased), spec.clone());
    results.streaming = Some(StreamInfo {
        batches,
        batch_rows: opts.batch_rows,
        passes: 2,
        scan_seconds,
        accumulate_seconds,
    });
    Ok(results)
}
