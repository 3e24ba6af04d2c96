//! [`CrossProductSums`]: the cross-products of a model accumulated batch by batch, merged
//! by addition, and fitted without the rows.
//!
//! Everything the fit reads after the model is built (β̂, θ̂, σ̂, the objective, Var(β̂),
//! log-likelihood, AIC/BIC, variance components, conditional modes and their SDs) is a
//! function of N, Σ log w, the coding (X's column names, every term's levels and names) and
//! the cross-products D, B, C of [`crate::crossprod`]. Only fitted values and residuals
//! need the rows again.
//!
//! The sparsity pattern of B is not needed up front: the X and y rows of B are dense per
//! level of the first term, and the level blocks of the later terms are kept in a map keyed
//! by (level of term 1, first row of the block), created when a row first shows that
//! pair. The pattern is sorted when the model is built (`mixedlm_model::LinearMixedModel::from_sums`).
//!
//! Rank-deficient X: the statistics keep every column of X; when the model is built, a
//! column whose residual norm after projection on the earlier kept columns is below
//! `RANK_TOL` times its norm (computed from X'X, the in-memory criterion) is dropped, as the
//! in-memory path drops it.

use std::collections::HashMap;

use mixedlm_design::{CovarianceKind, DenseMatrix, Design, RandomTermDesign, RANK_TOL};

use crate::crossprod::CrossProducts;
use crate::shift::Shift;
use crate::terms::{lme4_order, Term};
use crate::ModelError;
use crate::MAX_DENSE_COLUMNS;

pub mod record;
mod shift;

/// Why a byte record of [`CrossProductSums`] was refused ([`CrossProductSums::from_bytes`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SumsRecordError {
    /// The bytes do not start with the record's magic.
    #[error("not a mixedlm cross-products record (no `MXLMSUMS` header): pass the bytes that CrossProductSums::to_bytes wrote")]
    NotARecord,
    /// A record of another format version.
    #[error("cross-products record of format version {found}; this mixedlm reads version {expected}: accumulate and merge with the same mixedlm version")]
    Version {
        /// The record's version.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// A record of another model (formula, columns or levels).
    #[error("the cross-products record is of another model (layout fingerprint {found:016x}, expected {expected:016x}): accumulate every partition with the same formula and the same frozen levels")]
    OtherModel {
        /// The record's fingerprint.
        found: u64,
        /// This model's fingerprint.
        expected: u64,
    },
    /// Truncated or corrupt bytes.
    #[error("truncated or corrupt cross-products record: {what}; send the record whole (as bytes, not text)")]
    Corrupt {
        /// What is wrong.
        what: String,
    },
}

/// One random-effects term of the coding (formula order).
#[derive(Debug, Clone, PartialEq)]
struct TermLayout {
    group: String,
    levels: mixedlm_design::Levels,
    names: Vec<String>,
    covariance: CovarianceKind,
}

impl TermLayout {
    fn k(&self) -> usize {
        self.names.len()
    }
}

/// The coding every accumulated batch must share.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    response: String,
    x_names: Vec<String>,
    terms: Vec<TermLayout>,
}

/// The cross-products of a linear mixed model and what a fit needs besides them.
///
/// Build with [`CrossProductSums::new`] from any design with the model's coding (e.g.
/// `BatchDesigner::template()` of `mixedlm-design`), [`accumulate`](Self::accumulate) batch
/// designs with the same coding, [`merge`](Self::merge) statistics of disjoint chunks
/// (addition: chunks can be summed in parallel, on other machines), then
/// `mixedlm_model::LinearMixedModel::from_sums` and its `fit`.
#[derive(Debug, Clone)]
pub struct CrossProductSums {
    layout: Layout,
    /// Formula indices of the terms in the engine's order.
    order: Vec<usize>,
    /// Offset of each engine-ordered term in R (0 for the first).
    r_offset: Vec<usize>,
    qr: usize,
    /// Columns of X (before aliased columns are dropped).
    pf: usize,
    n: usize,
    n_dropped: usize,
    sum_log_w: f64,
    /// D: k1 × k1 per level of term 1.
    d: Vec<f64>,
    /// The X and y rows of B: (pf + 1) × k1 per level of term 1.
    bxy: Vec<f64>,
    /// Later terms' level blocks of B: (level of term 1, first R row) → offset in `bz_vals`.
    bz: HashMap<(u32, u32), usize>,
    /// k_j × k1 values per block (row-major).
    bz_vals: Vec<f64>,
    /// R'R, column-major (qr + pf + 1)², lower triangle.
    c: Vec<f64>,
    /// Observations per level, per term (formula order).
    counts: Vec<Vec<usize>>,
    /// What the sums subtract from y and X's columns (see `sums/shift.rs`); `None` until
    /// the first rows fix it.
    shift: Option<Shift>,
}

impl CrossProductSums {
    /// Empty statistics for the coding of `design` (its rows are not accumulated).
    pub fn new(design: &Design) -> Result<Self, ModelError> {
        if design.random.is_empty() {
            return Err(ModelError::NoRandomTerms);
        }
        let layout = Layout {
            response: design.response.clone(),
            x_names: design.x_names.clone(),
            terms: design
                .random
                .iter()
                .map(|r| TermLayout {
                    group: r.group.clone(),
                    levels: r.levels.clone(),
                    names: r.names.clone(),
                    covariance: r.covariance,
                })
                .collect(),
        };
        let n_levels: Vec<usize> = layout.terms.iter().map(|t| t.levels.len()).collect();
        let order = lme4_order(&n_levels);
        let mut r_offset = vec![0; order.len()];
        let mut qr = 0;
        for (pos, &fi) in order.iter().enumerate().skip(1) {
            r_offset[pos] = qr;
            qr += layout.terms[fi].k() * n_levels[fi];
        }
        let first = &layout.terms[order[0]];
        let (g1, k1) = (first.levels.len(), first.k());
        let pf = layout.x_names.len();
        let mr = qr + pf + 1;
        if mr > MAX_DENSE_COLUMNS {
            return Err(ModelError::TooLarge {
                columns: mr,
                limit: MAX_DENSE_COLUMNS,
            });
        }
        Ok(Self {
            counts: n_levels.iter().map(|&l| vec![0; l]).collect(),
            order,
            r_offset,
            qr,
            pf,
            n: 0,
            n_dropped: 0,
            sum_log_w: 0.0,
            d: vec![0.0; g1 * k1 * k1],
            bxy: vec![0.0; g1 * (pf + 1) * k1],
            bz: HashMap::new(),
            bz_vals: Vec::new(),
            c: vec![0.0; mr * mr],
            layout,
            shift: None,
        })
    }

    /// Observations accumulated.
    pub fn n_obs(&self) -> usize {
        self.n
    }

    /// Rows dropped for missing values in the accumulated batches (their `n_dropped`).
    pub fn n_dropped(&self) -> usize {
        self.n_dropped
    }

    /// Σ log w over the accumulated rows.
    pub fn sum_log_weights(&self) -> f64 {
        self.sum_log_w
    }

    /// Columns of X before aliased columns are dropped.
    pub fn x_names(&self) -> &[String] {
        &self.layout.x_names
    }

    fn check_design(&self, d: &Design) -> Result<(), ModelError> {
        let l = &self.layout;
        let differ = |what: &str| {
            Err(ModelError::StatsMismatch {
                what: what.to_string(),
            })
        };
        if d.x_names != l.x_names {
            return differ("the fixed-effects columns");
        }
        if d.random.len() != l.terms.len() {
            return differ("the numbers of random-effects terms");
        }
        for (rt, t) in d.random.iter().zip(&l.terms) {
            if rt.group != t.group || rt.names != t.names || rt.covariance != t.covariance {
                return differ(&format!("the random-effects terms (`{}`)", t.group));
            }
            if rt.levels != t.levels {
                return differ(&format!("the levels of `{}`", t.group));
            }
        }
        Ok(())
    }

    /// Add the rows of a batch design with this coding (same X columns, same levels).
    pub fn accumulate(&mut self, design: &Design) -> Result<(), ModelError> {
        self.check_design(design)?;
        check_batch(design)?;
        let n = design.n_obs();
        let sw: Vec<f64> = match &design.weights {
            Some(w) => w.iter().map(|v| v.sqrt()).collect(),
            None => Vec::new(),
        };
        if let Some(w) = &design.weights {
            self.sum_log_w += w.iter().map(|v| v.ln()).sum::<f64>();
        }
        if self.shift.is_none() && n > 0 {
            self.shift = Some(self.shift_for_batch(design));
        }
        let shift = self.shift.clone().unwrap_or_else(|| Shift::none(self.pf));
        let mut row = RowBuf::default();
        for i in 0..n {
            let s = sw.get(i).copied().unwrap_or(1.0);
            self.add_row(design, i, s, &shift, &mut row);
        }
        for (counts, rt) in self.counts.iter_mut().zip(&design.random) {
            for &c in &rt.codes {
                counts[c as usize] += 1;
            }
        }
        self.n += n;
        self.n_dropped += design.n_dropped;
        Ok(())
    }

    fn add_row(&mut self, d: &Design, i: usize, sw: f64, shift: &Shift, row: &mut RowBuf) {
        let n = d.n_obs();
        let first = &d.random[self.order[0]];
        let k1 = first.z.ncols;
        let g = first.codes[i];
        row.z1.clear();
        row.z1.extend((0..k1).map(|c| sw * first.z.data[c * n + i]));
        let dg = &mut self.d[g as usize * k1 * k1..(g as usize + 1) * k1 * k1];
        for a in 0..k1 {
            for b in 0..k1 {
                dg[b * k1 + a] += row.z1[a] * row.z1[b];
            }
        }
        row.idx.clear();
        row.val.clear();
        for pos in 1..self.order.len() {
            let rt = &d.random[self.order[pos]];
            let k = rt.z.ncols;
            let start = self.r_offset[pos] + k * rt.codes[i] as usize;
            let slot = self.block_slot(g, start, k * k1);
            for a in 0..k {
                let v = sw * rt.z.data[a * n + i];
                row.idx.push(start + a);
                row.val.push(v);
                let dst = &mut self.bz_vals[slot + a * k1..slot + (a + 1) * k1];
                dst.iter_mut().zip(&row.z1).for_each(|(b, z)| *b += v * z);
            }
        }
        let off = d.offset.as_ref().map_or(0.0, |o| o[i]);
        let xy = (0..self.pf)
            .map(|c| sw * (d.x.data[c * n + i] - shift.x[c]))
            .chain(std::iter::once(sw * (d.y[i] - off - shift.y)));
        let base = g as usize * (self.pf + 1) * k1;
        for (r, v) in xy.enumerate() {
            row.idx.push(self.qr + r);
            row.val.push(v);
            let dst = &mut self.bxy[base + r * k1..base + (r + 1) * k1];
            dst.iter_mut().zip(&row.z1).for_each(|(b, z)| *b += v * z);
        }
        let mr = self.qr + self.pf + 1;
        for a in 0..row.idx.len() {
            let col = &mut self.c[row.idx[a] * mr..];
            for b in a..row.idx.len() {
                col[row.idx[b]] += row.val[a] * row.val[b];
            }
        }
    }

    /// Offset of the B block (level g of term 1, R rows from `start`), created if new.
    fn block_slot(&mut self, g: u32, start: usize, len: usize) -> usize {
        let vals = &mut self.bz_vals;
        *self.bz.entry((g, start as u32)).or_insert_with(|| {
            vals.resize(vals.len() + len, 0.0);
            vals.len() - len
        })
    }

    /// Add the statistics of a disjoint set of rows (same coding). Errors when the codings
    /// differ ([`ModelError::StatsMismatch`]).
    pub fn merge(&mut self, other: &CrossProductSums) -> Result<(), ModelError> {
        if self.layout != other.layout {
            return Err(ModelError::StatsMismatch {
                what: mismatch(&self.layout, &other.layout),
            });
        }
        match (&self.shift, &other.shift) {
            (None, Some(theirs)) => self.reshift(&theirs.clone()),
            (Some(mine), Some(theirs)) if mine != theirs => {
                let mut moved = other.clone();
                moved.reshift(mine);
                return self.merge(&moved);
            }
            _ => {}
        }
        add(&mut self.d, &other.d);
        add(&mut self.bxy, &other.bxy);
        add(&mut self.c, &other.c);
        let k1 = self.layout.terms[self.order[0]].k();
        for (&(g, start), &slot) in &other.bz {
            let len = self.block_len(start as usize) * k1;
            let mine = self.block_slot(g, start as usize, len);
            let (dst, src) = (
                &mut self.bz_vals[mine..mine + len],
                &other.bz_vals[slot..slot + len],
            );
            add(dst, src);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            add_counts(a, b);
        }
        self.n += other.n;
        self.n_dropped += other.n_dropped;
        self.sum_log_w += other.sum_log_w;
        Ok(())
    }

    /// k of the later term whose block starts at R row `start`.
    fn block_len(&self, start: usize) -> usize {
        let pos = self.r_offset.partition_point(|&o| o <= start) - 1;
        self.layout.terms[self.order[pos.max(1)]].k()
    }

    /// The engine's terms, validated against N (as the in-memory path validates them).
    fn terms(&self) -> Result<Vec<Term>, ModelError> {
        let mut terms = Vec::with_capacity(self.order.len());
        let mut theta_offset = 0;
        for (pos, &fi) in self.order.iter().enumerate() {
            let t = &self.layout.terms[fi];
            check_levels(t, self.n)?;
            let structure = t.covariance.structure(t.k());
            let term = Term {
                formula_index: fi,
                group: t.group.clone(),
                levels: t.levels.clone(),
                names: t.names.clone(),
                k: t.k(),
                structure,
                theta_offset,
                r_offset: self.r_offset[pos],
            };
            theta_offset += term.n_theta();
            terms.push(term);
        }
        Ok(terms)
    }

    /// Indices (into [`Self::x_names`]) of the columns of X that are linear combinations
    /// of earlier ones, from X'X (weighted).
    pub fn aliased_columns(&self) -> Vec<usize> {
        let (mr, qr, pf) = (self.qr + self.pf + 1, self.qr, self.pf);
        let g = |i: usize, j: usize| {
            let (a, b) = (i.min(j), i.max(j));
            self.c[(qr + a) * mr + qr + b]
        };
        // Rows of the Cholesky factor of the kept columns' Gram matrix.
        let mut kept: Vec<usize> = Vec::new();
        let mut l: Vec<Vec<f64>> = Vec::new();
        let mut out = Vec::new();
        for j in 0..pf {
            let gjj = g(j, j);
            let mut v = Vec::with_capacity(kept.len() + 1);
            for (a, &ka) in kept.iter().enumerate() {
                let s: f64 = (0..a).map(|b| l[a][b] * v[b]).sum();
                v.push((g(ka, j) - s) / l[a][a]);
            }
            let r2 = gjj - v.iter().map(|x| x * x).sum::<f64>();
            if gjj <= 0.0 || r2.is_nan() || r2 <= RANK_TOL * RANK_TOL * gjj {
                out.push(j);
            } else {
                v.push(r2.sqrt());
                l.push(v);
                kept.push(j);
            }
        }
        out
    }

    /// The cross-products for `terms`, without the aliased X columns `drop`.
    fn cross_products(&self, terms: &[Term], drop: &[usize]) -> CrossProducts {
        let (qr, pf) = (self.qr, self.pf);
        let mrf = qr + pf + 1;
        let keep: Vec<usize> = (0..qr)
            .chain((0..pf).filter(|j| !drop.contains(j)).map(|j| qr + j))
            .chain(std::iter::once(mrf - 1))
            .collect();
        let (mr, p) = (keep.len(), pf - drop.len());
        let mut c = vec![0.0; mr * mr];
        for (a, &ra) in keep.iter().enumerate() {
            for (b, &rb) in keep.iter().enumerate().skip(a) {
                let v = self.c[ra * mrf + rb];
                c[a * mr + b] = v;
                c[b * mr + a] = v;
            }
        }
        let k1 = terms[0].k;
        let g1 = terms[0].n_levels();
        let mut blocks: Vec<(u32, u32, usize)> = self
            .bz
            .iter()
            .map(|(&(g, s), &slot)| (g, s, slot))
            .collect();
        blocks.sort_unstable();
        let (mut rows_ptr, mut rows, mut b) = (Vec::with_capacity(g1 + 1), Vec::new(), Vec::new());
        let mut next = 0;
        for g in 0..g1 {
            rows_ptr.push(rows.len());
            while next < blocks.len() && blocks[next].0 as usize == g {
                let (_, start, slot) = blocks[next];
                let k = self.block_len(start as usize);
                rows.extend(start as usize..start as usize + k);
                b.extend_from_slice(&self.bz_vals[slot..slot + k * k1]);
                next += 1;
            }
            let base = g * (pf + 1) * k1;
            for (new, &old) in keep[qr..].iter().enumerate() {
                let r = old - qr;
                rows.push(qr + new);
                b.extend_from_slice(&self.bxy[base + r * k1..base + (r + 1) * k1]);
            }
        }
        rows_ptr.push(rows.len());
        let d = self.d.clone();
        CrossProducts::from_parts(terms, p, d, rows_ptr, rows, b, c)
    }

    /// A design with the coding and no rows (what `mixedlm_model::LinearMixedModel::design` returns for
    /// a model built from statistics).
    fn skeleton(&self, drop: &[usize]) -> Design {
        let l = &self.layout;
        let keep = |j: &usize| !drop.contains(j);
        let x_names: Vec<String> = (0..self.pf)
            .filter(keep)
            .map(|j| l.x_names[j].clone())
            .collect();
        Design {
            response: l.response.clone(),
            y: Vec::new(),
            x: DenseMatrix {
                nrows: 0,
                ncols: x_names.len(),
                data: Vec::new(),
            },
            x_names,
            aliased: drop.iter().map(|&j| l.x_names[j].clone()).collect(),
            random: l
                .terms
                .iter()
                .map(|t| RandomTermDesign {
                    group: t.group.clone(),
                    levels: t.levels.clone(),
                    codes: Vec::new(),
                    names: t.names.clone(),
                    z: DenseMatrix {
                        nrows: 0,
                        ncols: t.k(),
                        data: Vec::new(),
                    },
                    covariance: t.covariance,
                })
                .collect(),
            weights: None,
            offset: None,
            n_dropped: self.n_dropped,
            row_index: Vec::new(),
        }
    }
}

/// Reusable row buffers of [`CrossProductSums::accumulate`].
#[derive(Default)]
struct RowBuf {
    z1: Vec<f64>,
    idx: Vec<usize>,
    val: Vec<f64>,
}

fn add(a: &mut [f64], b: &[f64]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

fn add_counts(a: &mut [usize], b: &[usize]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

fn mismatch(a: &Layout, b: &Layout) -> String {
    if a.response != b.response {
        return "the responses".into();
    }
    if a.x_names != b.x_names {
        return "the fixed-effects columns".into();
    }
    if a.terms.len() != b.terms.len() {
        return "the numbers of random-effects terms".into();
    }
    for (x, y) in a.terms.iter().zip(&b.terms) {
        if x.levels != y.levels {
            return format!("the levels of `{}`", x.group);
        }
        if x != y {
            return format!("the random-effects terms (`{}`)", x.group);
        }
    }
    "the codings".into()
}

/// Finite values, positive weights, consistent lengths and codes in range.
fn check_batch(d: &Design) -> Result<(), ModelError> {
    let n = d.n_obs();
    let p = d.x_names.len();
    let mismatch = |what: &str, found: usize| ModelError::DimensionMismatch {
        what: what.into(),
        expected: n,
        found,
    };
    if d.x.nrows != n || d.x.data.len() != n * p {
        return Err(mismatch("X", d.x.nrows));
    }
    let finite = |what: &str, v: &[f64]| match v.iter().position(|x| !x.is_finite()) {
        Some(row) => Err(ModelError::NonFinite {
            what: what.into(),
            row,
        }),
        None => Ok(()),
    };
    finite("response", &d.y)?;
    finite("fixed-effects matrix", &d.x.data)?;
    if let Some(w) = &d.weights {
        if w.len() != n {
            return Err(mismatch("weights", w.len()));
        }
        finite("weights", w)?;
        if let Some(row) = w.iter().position(|v| *v <= 0.0) {
            return Err(ModelError::NonPositiveWeight { row, value: w[row] });
        }
    }
    if let Some(o) = &d.offset {
        if o.len() != n {
            return Err(mismatch("offset", o.len()));
        }
        finite("offset", o)?;
    }
    for rt in &d.random {
        let k = rt.z.ncols;
        if rt.codes.len() != n || rt.z.nrows != n || rt.z.data.len() != n * k {
            return Err(mismatch(
                &format!("random term `{}`", rt.group),
                rt.codes.len(),
            ));
        }
        if let Some(row) = rt.codes.iter().position(|&c| c as usize >= rt.levels.len()) {
            return Err(ModelError::BadLevelCode {
                group: rt.group.clone(),
                row,
                code: rt.codes[row],
                levels: rt.levels.len(),
            });
        }
        finite(
            &format!("random-effects columns of `{}`", rt.group),
            &rt.z.data,
        )?;
    }
    Ok(())
}

/// The in-memory checks of a term's levels against N.
fn check_levels(t: &TermLayout, n: usize) -> Result<(), ModelError> {
    let levels = t.levels.len();
    if levels < 2 {
        return Err(ModelError::TooFewLevels {
            group: t.group.clone(),
            levels,
        });
    }
    if levels >= n {
        return Err(ModelError::TooManyLevels {
            group: t.group.clone(),
            levels,
            n,
        });
    }
    if t.k() * levels > n {
        return Err(ModelError::TooManyRandomEffects {
            group: t.group.clone(),
            q: t.k() * levels,
            n,
        });
    }
    Ok(())
}

/// What a model is assembled from, reduced from accumulated sums
/// ([`CrossProductSums::model_parts`]).
#[derive(Debug)]
pub struct SumsModelParts {
    /// A design with the coding (names, levels) and no rows, aliased X columns dropped.
    pub design: Design,
    /// The random-effects terms in the engine's order.
    pub terms: Vec<Term>,
    /// The number of observations.
    pub n: usize,
    /// The cross-products, aliased X columns dropped.
    pub cross_products: CrossProducts,
    /// Σ log w over the rows.
    pub sum_log_weights: f64,
    /// Rows per level of every term (formula order).
    pub level_counts: Vec<Vec<usize>>,
    /// What the sums subtracted from y and from the kept X columns.
    pub shift: Option<Shift>,
}

impl CrossProductSums {
    /// The parts of a model on all the accumulated rows: the terms, the cross-products and
    /// a row-less design, aliased X columns dropped (see [`Self::aliased_columns`]).
    pub fn model_parts(&self) -> Result<SumsModelParts, ModelError> {
        let terms = self.terms()?;
        let drop = self.aliased_columns();
        let p = self.pf - drop.len();
        if self.n <= p {
            return Err(ModelError::TooFewObservations { n: self.n, p });
        }
        let shift = self.shift.as_ref().map(|shift| Shift {
            y: shift.y,
            x: (0..self.pf)
                .filter(|j| !drop.contains(j))
                .map(|j| shift.x[j])
                .collect(),
        });
        Ok(SumsModelParts {
            cross_products: self.cross_products(&terms, &drop),
            design: self.skeleton(&drop),
            terms,
            n: self.n,
            sum_log_weights: self.sum_log_w,
            level_counts: self.counts.clone(),
            shift,
        })
    }
}
