//! Fits across the workers of a distributed engine (Spark, Dask, Ray): the streamed fit's
//! two passes, with the rows split among processes.
//!
//! 1. The driver computes the levels (e.g. Spark's `distinct` on the columns of
//!    [`level_columns`]) and freezes them: [`FrozenLevels::from_level_rows`], sent to the
//!    workers as bytes ([`FrozenLevels::to_bytes`]).
//! 2. Each worker accumulates its rows' cross-products ([`FrozenLevels::accumulate`]) and
//!    sends back [`CrossProductSums::to_bytes`]; the driver adds them
//!    ([`FrozenLevels::merge_records`]) and fits ([`crate::MixedLM::fit_sums`]): the same
//!    estimates as a fit of all the rows in one process.
//! 3. Fitted values and residuals, which need the rows, are computed by the workers from
//!    the estimates ([`Coefficients`], [`FrozenLevels::fitted`]).
//!
//! The levels' record: magic `MXLMLVLS`, format version (u32), the model (formula,
//! groups, re_formula, variance components: length-prefixed UTF-8), then the level rows
//! as an Arrow IPC stream (its length as u64, then the stream). See docs/SPARK.md.

use crate::{Error, MixedLMResults, ModelSpec};
use arrow_array::RecordBatch;
use mixedlm_design::{AliasPolicy, BatchDesigner, DesignError, LevelScan};
use mixedlm_model::{CrossProductSums, LinearMixedModel, ModelOptions};

const MAGIC: &[u8; 8] = b"MXLMLVLS";

/// The levels' record format this version writes and reads.
pub const LEVELS_FORMAT_VERSION: u32 = 1;

/// The column sets whose distinct values give a model's levels (see
/// `LevelScan::level_columns`): `(columns, always)`; a set with `always == false` is one
/// plain column, whose values are levels only when it holds text or booleans.
pub fn level_columns(spec: &ModelSpec) -> Result<Vec<(Vec<String>, bool)>, Error> {
    Ok(LevelScan::new(&spec.builder()?)?.level_columns())
}

/// A model's levels frozen from a small table of rows that hold every level, and the
/// batch designer they give (each worker codes its rows with it).
#[derive(Debug, Clone)]
pub struct FrozenLevels {
    spec: ModelSpec,
    rows: Vec<RecordBatch>,
    designer: BatchDesigner,
}

impl FrozenLevels {
    /// Levels from `rows`: complete rows (no missing value in the model's columns) among
    /// which every level of every factor and grouping factor of the data appears, e.g. the
    /// rows of the whole data, or one row per distinct value of each [`level_columns`] set.
    pub fn from_level_rows(spec: &ModelSpec, rows: &[RecordBatch]) -> Result<Self, Error> {
        let mut scan = LevelScan::new(&spec.builder()?)?;
        for b in rows {
            scan.observe(b)?;
        }
        Ok(Self {
            spec: spec.clone(),
            rows: rows.to_vec(),
            designer: scan.finish()?,
        })
    }

    /// The model.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The designer with the frozen levels.
    pub fn designer(&self) -> &BatchDesigner {
        &self.designer
    }

    /// Empty cross-products with this coding.
    pub fn empty_sums(&self) -> Result<CrossProductSums, Error> {
        Ok(CrossProductSums::new(self.designer.template())?)
    }

    /// Add a batch's rows to `sums`.
    pub fn accumulate(
        &self,
        sums: &mut CrossProductSums,
        batch: &RecordBatch,
    ) -> Result<(), Error> {
        Ok(sums.accumulate(&self.designer.design(batch)?)?)
    }

    /// Read a record of [`CrossProductSums::to_bytes`] written with these levels.
    pub fn read_sums(&self, record: &[u8]) -> Result<CrossProductSums, Error> {
        Ok(CrossProductSums::from_bytes(record, &self.empty_sums()?)?)
    }

    /// The sum of two records, as a record (a step of a tree reduction).
    pub fn merge_records(&self, a: &[u8], b: &[u8]) -> Result<Vec<u8>, Error> {
        let mut sums = self.read_sums(a)?;
        sums.merge(&self.read_sums(b)?)?;
        Ok(sums.to_bytes())
    }

    /// The levels as bytes for the workers (see the module notes).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&LEVELS_FORMAT_VERSION.to_le_bytes());
        let s = &self.spec;
        put_text(&mut out, s.formula());
        put_text(&mut out, s.groups_column().unwrap_or(""));
        put_text(&mut out, s.re_formula_text().unwrap_or(""));
        out.extend_from_slice(&(s.vc_formulas().len() as u32).to_le_bytes());
        for (name, f) in s.vc_formulas() {
            put_text(&mut out, name);
            put_text(&mut out, f);
        }
        let ipc = self.rows_ipc()?;
        out.extend_from_slice(&(ipc.len() as u64).to_le_bytes());
        out.extend_from_slice(&ipc);
        Ok(out)
    }

    /// The level rows as an Arrow IPC stream.
    fn rows_ipc(&self) -> Result<Vec<u8>, Error> {
        let fail =
            |e: arrow_schema::ArrowError| record_error(format!("cannot write the level rows: {e}"));
        let mut out = Vec::new();
        let schema = self.designer_schema();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema).map_err(fail)?;
        for b in &self.rows {
            w.write(b).map_err(fail)?;
        }
        w.finish().map_err(fail)?;
        drop(w);
        Ok(out)
    }

    fn designer_schema(&self) -> arrow_schema::SchemaRef {
        match self.rows.first() {
            Some(b) => b.schema(),
            None => std::sync::Arc::new(arrow_schema::Schema::empty()),
        }
    }

    /// Levels from bytes of [`to_bytes`](Self::to_bytes). Errors on another format
    /// version or truncated bytes ([`Error::LevelsRecord`]); never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(record_error(
                "not a mixedlm levels record (no `MXLMLVLS` header)".into(),
            ));
        }
        let mut at = 8;
        let version = take_u32(bytes, &mut at)?;
        if version != LEVELS_FORMAT_VERSION {
            return Err(record_error(format!(
                "levels record of format version {version}; this mixedlm reads version \
                 {LEVELS_FORMAT_VERSION}: use the same mixedlm version on the driver and workers"
            )));
        }
        let formula = take_text(bytes, &mut at)?;
        let groups = take_text(bytes, &mut at)?;
        let re = take_text(bytes, &mut at)?;
        let mut spec = ModelSpec::new(&formula);
        if !groups.is_empty() {
            spec = spec.groups(&groups);
        }
        if !re.is_empty() {
            spec = spec.re_formula(&re);
        }
        for _ in 0..take_u32(bytes, &mut at)? {
            let (name, f) = (take_text(bytes, &mut at)?, take_text(bytes, &mut at)?);
            spec = spec.vc(&name, &f);
        }
        let mut len = [0; 8];
        len.copy_from_slice(bytes.get(at..at + 8).ok_or_else(truncated)?);
        at += 8;
        if u64::from_le_bytes(len) != (bytes.len() - at) as u64 {
            return Err(truncated());
        }
        let reader = arrow_ipc::reader::StreamReader::try_new(&bytes[at..], None)
            .map_err(|e| record_error(format!("corrupt level rows: {e}")))?;
        let rows = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| record_error(format!("corrupt level rows: {e}")))?;
        Self::from_level_rows(&spec, &rows)
    }

    /// Fitted values, residuals and population predictions of a batch's rows.
    pub fn fitted(&self, coef: &Coefficients, batch: &RecordBatch) -> Result<Fitted, Error> {
        let d = self.designer.design(batch)?;
        let n = d.n_obs();
        if coef.beta.len() != d.x_names.len() || coef.condval.len() != d.random.len() {
            return Err(Error::InvalidOption(
                "the coefficients are of another model than these levels".into(),
            ));
        }
        let mut population = d.offset.clone().unwrap_or_else(|| vec![0.0; n]);
        for (j, b) in coef.beta.iter().enumerate() {
            let col = d.x.col(j);
            population
                .iter_mut()
                .zip(col)
                .for_each(|(p, x)| *p += b * x);
        }
        let mut fitted = population.clone();
        for (rt, b) in d.random.iter().zip(&coef.condval) {
            let k = rt.z.ncols;
            for (j, f) in fitted.iter_mut().enumerate() {
                let base = rt.codes[j] as usize * k;
                for c in 0..k {
                    *f += rt.z.data[c * n + j] * b.get(base + c).copied().unwrap_or(0.0);
                }
            }
        }
        let resid = d.y.iter().zip(&fitted).map(|(y, f)| y - f).collect();
        Ok(Fitted {
            row_index: d.row_index,
            fitted,
            population,
            resid,
        })
    }
}

/// What [`FrozenLevels::fitted`] computes for the used rows of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The batch rows used (the others had missing values).
    pub row_index: Vec<usize>,
    /// Conditional fitted values: Xβ̂ + Zb̂ (+ offset).
    pub fitted: Vec<f64>,
    /// Population predictions: Xβ̂ (+ offset).
    pub population: Vec<f64>,
    /// Response minus the conditional fitted values.
    pub resid: Vec<f64>,
}

/// The estimates a worker needs for fitted values: β̂ over all of X's columns (0 for an
/// aliased one) and each random term's conditional modes (formula order, level-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Coefficients {
    /// β̂ in the order of the designer template's X columns.
    pub beta: Vec<f64>,
    /// Conditional modes per random term, formula order, `k` per level.
    pub condval: Vec<Vec<f64>>,
}

impl Coefficients {
    /// The estimates of `results`, laid out for the coding of `levels`.
    pub fn of(results: &MixedLMResults, levels: &FrozenLevels) -> Self {
        let t = levels.designer.template();
        let beta = t
            .x_names
            .iter()
            .map(|name| {
                let j = results.fe_names().iter().position(|n| n == name);
                j.map_or(0.0, |j| results.fe_params()[j])
            })
            .collect();
        let mut condval = vec![Vec::new(); t.random.len()];
        for term in &results.fit().random {
            if let Some(slot) = condval.get_mut(term.formula_index) {
                *slot = term.condval.as_slice().to_vec();
            }
        }
        Self { beta, condval }
    }
}

impl crate::MixedLM {
    /// Fit from the merged cross-products of all the rows, coded with `levels`: the same
    /// estimates and objective as a fit in memory; no fitted values or residuals (see
    /// [`FrozenLevels::fitted`]).
    pub fn fit_sums(
        &self,
        levels: &FrozenLevels,
        sums: &CrossProductSums,
    ) -> Result<MixedLMResults, Error> {
        self.validate()?;
        let aliased = sums.aliased_columns();
        if !aliased.is_empty() && levels.spec.builder()?.alias_policy() == AliasPolicy::Error {
            let columns = aliased.iter().map(|&j| sums.x_names()[j].clone()).collect();
            return Err(DesignError::RankDeficient { columns }.into());
        }
        let mut model = LinearMixedModel::from_sums(
            sums,
            ModelOptions {
                reml: self.is_reml(),
            },
        )?;
        let fit = model.fit(&self.fit_options()?)?;
        let design_spec = levels.designer.spec(&aliased);
        Ok(MixedLMResults::new(
            model,
            fit,
            design_spec,
            self.spec().clone(),
        ))
    }
}

fn record_error(what: String) -> Error {
    Error::LevelsRecord(what)
}

fn truncated() -> Error {
    record_error("truncated levels record: send the bytes of FrozenLevels::to_bytes whole".into())
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn take_u32(bytes: &[u8], at: &mut usize) -> Result<u32, Error> {
    let end = at.checked_add(4).filter(|&e| e <= bytes.len());
    let Some(end) = end else {
        return Err(record_error("truncated levels record".into()));
    };
    let mut b = [0; 4];
    b.copy_from_slice(&bytes[*at..end]);
    *at = end;
    Ok(u32::from_le_bytes(b))
}

fn take_text(bytes: &[u8], at: &mut usize) -> Result<String, Error> {
    let len = take_u32(bytes, at)? as usize;
    let end = at.checked_add(len).filter(|&e| e <= bytes.len());
    let Some(end) = end else {
        return Err(record_error("truncated levels record".into()));
    };
    let s = std::str::from_utf8(&bytes[*at..end])
        .map_err(|_| record_error("corrupt levels record (text is not UTF-8)".into()))?;
    *at = end;
    Ok(s.to_string())
}
