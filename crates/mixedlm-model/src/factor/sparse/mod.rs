//! The sparse path: the rest block M (terms 2..m, X, y) as a sparse matrix with a
//! supernodal Cholesky factor, for models whose later terms are large and crossed.
//!
//! M = Λ_R' C Λ_R + I_z − Σ_g W_g W_g' (docs/MATH.md). Its pattern is fixed, so
//! everything symbolic is done once ([`symbolic`]); an evaluation only fills the values
//! (scale C, add I, subtract the Schur pairs) and refactors numerically: no allocation.
//! The estimates read the supernodal factor ([`inverse`]). Supported when every term after
//! the first has one column per level (Λ_R diagonal); other models take the dense path.

mod inverse;
mod symbolic;

use super::pieces::RestPieces;
use crate::crossprod::CrossProducts;
use crate::terms::Term;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::LltRegularization;
use faer::sparse::linalg::cholesky::SymbolicCholesky;
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Par, Side};
use symbolic::{analyze, Lists};

/// Below this many Z columns in the rest block the dense path is used.
const SPARSE_MIN_COLUMNS: usize = 256;

/// Use the sparse path when its factorization needs at most this fraction of the dense
/// factorization's flops.
pub(crate) const SPARSE_MAX_FLOP_RATIO: f64 = 0.5;

/// Symbolic structure and numeric workspaces of the sparse rest block.
pub(crate) struct SparseRest {
    n: usize,
    qr: usize,
    p: usize,
    k1: usize,
    lists: Lists,
    col_ptr: Vec<u32>,
    row_idx: Vec<u32>,
    /// C's values at the pattern's positions (unscaled).
    c_vals: Vec<f64>,
    /// Term (index into `terms`) of each order index of the Z part.
    term_of: Vec<u32>,
    /// The order (new → old index of M's rows).
    perm: Vec<u32>,
    vals: Vec<f64>,
    lam: Vec<f64>,
    /// W's rows in list order (k1 values each).
    ws: Vec<f64>,
    /// Column boundaries of the parallel assembly's ranges (see [`column_splits`]).
    splits: Vec<usize>,
    /// One accumulator of a column's Schur sums (n) per range of `splits`.
    xs: Vec<Vec<f64>>,
    symbolic: SymbolicCholesky<u32>,
    l_vals: Vec<f64>,
    l_diag: Vec<usize>,
    stack: MemBuffer,
    /// Flops of the sparse factorization relative to a dense one.
    pub flop_ratio: f64,
}

impl std::fmt::Debug for SparseRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparseRest")
            .field("n", &self.n)
            .field("nnz", &self.row_idx.len())
            .field("l_nnz", &self.l_vals.len())
            .field("flop_ratio", &self.flop_ratio)
            .finish_non_exhaustive()
    }
}

impl SparseRest {
    /// The symbolic analysis, or `None` when the model does not qualify (a later term
    /// with k > 1, a small rest block, or too much fill for sparsity to pay).
    pub fn new(cp: &CrossProducts, terms: &[Term]) -> Option<Self> {
        Self::build(cp, terms, SPARSE_MIN_COLUMNS, SPARSE_MAX_FLOP_RATIO)
    }

    /// As [`Self::new`] with explicit thresholds (tests force the sparse path on small
    /// models with `min_columns = 1`, `max_flop_ratio = ∞`).
    pub fn build(
        cp: &CrossProducts,
        terms: &[Term],
        min_columns: usize,
        max_flop_ratio: f64,
    ) -> Option<Self> {
        let (qr, mr) = (cp.qr, cp.mr);
        if terms.len() < 2 || terms[1..].iter().any(|t| t.k != 1) || qr < min_columns.max(1) {
            return None;
        }
        let a = analyze(cp, max_flop_ratio)?;
        let term_of = a.perm[..qr]
            .iter()
            .map(|&old| cp.r_term[old] as u32)
            .collect();
        let scratch = a
            .symbolic
            .factorize_numeric_llt_scratch::<f64>(Par::Seq, Default::default())
            .or(a
                .symbolic
                .factorize_numeric_llt_scratch::<f64>(Par::rayon(0), Default::default()));
        let mut rest = SparseRest {
            n: mr,
            qr,
            p: cp.p,
            k1: cp.k1,
            ws: vec![0.0; a.lists.rows.len() * cp.k1],
            xs: vec![vec![0.0; mr]; a.splits.len() - 1],
            splits: a.splits,
            lists: a.lists,
            l_vals: vec![0.0; a.symbolic.len_val()],
            vals: vec![0.0; a.row_idx.len()],
            c_vals: vec![0.0; a.row_idx.len()],
            col_ptr: a.col_ptr,
            row_idx: a.row_idx,
            term_of,
            perm: a.perm.into_iter().map(|v| v as u32).collect(),
            lam: vec![1.0; mr],
            symbolic: a.symbolic,
            l_diag: a.l_diag,
            stack: MemBuffer::try_new(scratch).ok()?,
            flop_ratio: a.flop_ratio,
        };
        rest.load_c(cp);
        Some(rest)
    }

    /// C's values at the pattern's positions, from the cross-products (after they are
    /// formed again for new weights: the pattern is the same).
    pub fn load_c(&mut self, cp: &CrossProducts) {
        let mr = cp.mr;
        for j in 0..mr {
            let pj = self.perm[j] as usize;
            for e in self.col_ptr[j] as usize..self.col_ptr[j + 1] as usize {
                self.c_vals[e] = cp.c[pj * mr + self.perm[self.row_idx[e] as usize] as usize];
            }
        }
    }

    /// Trade the factor values (and the list-ordered W they were computed with) with
    /// `l_vals` and `ws`, sized first if they are not (see [`crate::best_factor`]).
    pub fn swap_values(&mut self, l_vals: &mut Vec<f64>, ws: &mut Vec<f64>) {
        if l_vals.len() != self.l_vals.len() {
            *l_vals = vec![0.0; self.l_vals.len()];
        }
        if ws.len() != self.ws.len() {
            *ws = vec![0.0; self.ws.len()];
        }
        std::mem::swap(l_vals, &mut self.l_vals);
        std::mem::swap(ws, &mut self.ws);
    }

    /// Fill M's values for the factors `t` (per term) and the Schur rows `w` (k1 per
    /// packed row of B), then factor. `None` if M is not positive definite.
    pub fn factor(&mut self, t: &[Vec<f64>], w: &[f64]) -> Option<RestPieces> {
        self.assemble(t, w);
        let a = SparseColMatRef::new(
            SymbolicSparseColMatRef::new_checked(
                self.n,
                self.n,
                &self.col_ptr,
                None,
                &self.row_idx,
            ),
            &self.vals,
        );
        self.symbolic
            .factorize_numeric_llt(
                &mut self.l_vals,
                a,
                Side::Lower,
                LltRegularization::default(),
                factor_par(),
                MemStack::new(&mut self.stack),
                Default::default(),
            )
            .ok()?;
        let d = |j: usize| self.l_vals[self.l_diag[j]];
        let ld_z = crate::kernels::sum_ln((0..self.qr).map(d));
        let ld_x = crate::kernels::sum_ln((self.qr..self.qr + self.p).map(d));
        let lyy = d(self.n - 1);
        Some(RestPieces {
            logdet_z: 2.0 * ld_z,
            logdet_x: 2.0 * ld_x,
            pwrss: lyy * lyy,
        })
    }

    /// M = Λ_R' C Λ_R + I_z − Σ_g W_g W_g', column by column: the Schur sums of a column
    /// gather into a dense accumulator (cache-resident), then its pattern reads them. The
    /// columns are split into [`Self::splits`] ranges of about equal work, assembled in
    /// parallel, each with its own accumulator; every column is summed by one thread in
    /// the same order, so the values do not depend on the number of threads.
    fn assemble(&mut self, t: &[Vec<f64>], w: &[f64]) {
        let k1 = self.k1;
        for (d, &a) in self.ws.chunks_exact_mut(k1).zip(&self.lists.src) {
            let a = a as usize;
            d.copy_from_slice(&w[a * k1..(a + 1) * k1]);
        }
        for (l, &term) in self.lam.iter_mut().zip(&self.term_of) {
            *l = t[term as usize][0];
        }
        let columns = Columns {
            lists: &self.lists,
            ws: &self.ws,
            lam: &self.lam,
            c_vals: &self.c_vals,
            col_ptr: &self.col_ptr,
            row_idx: &self.row_idx,
            qr: self.qr,
            k1,
        };
        columns.assemble_ranges(&self.splits, &mut self.vals, &mut self.xs);
    }
}

/// What [`SparseRest::assemble`] reads, shared by its threads.
struct Columns<'a> {
    lists: &'a Lists,
    ws: &'a [f64],
    lam: &'a [f64],
    c_vals: &'a [f64],
    col_ptr: &'a [u32],
    row_idx: &'a [u32],
    qr: usize,
    k1: usize,
}

impl Columns<'_> {
    /// Columns `splits[0]..splits[last]`, whose values start `vals`: the ranges between
    /// consecutive splits, halved recursively onto rayon, each with one of `xs`.
    fn assemble_ranges(&self, splits: &[usize], vals: &mut [f64], xs: &mut [Vec<f64>]) {
        let ranges = splits.len() - 1;
        if ranges == 1 {
            let base = self.col_ptr[splits[0]] as usize;
            self.assemble(splits[0]..splits[1], base, vals, &mut xs[0]);
            return;
        }
        let half = ranges / 2;
        let cut = (self.col_ptr[splits[half]] - self.col_ptr[splits[0]]) as usize;
        let (va, vb) = vals.split_at_mut(cut);
        let (xa, xb) = xs.split_at_mut(half);
        rayon::join(
            || self.assemble_ranges(&splits[..=half], va, xa),
            || self.assemble_ranges(&splits[half..], vb, xb),
        );
    }

    /// Columns `cols` into `vals` (which starts at value `base`), with the accumulator `x`
    /// (all zeros before and after).
    fn assemble(&self, cols: std::ops::Range<usize>, base: usize, vals: &mut [f64], x: &mut [f64]) {
        let (l, ws, k1) = (self.lists, self.ws, self.k1);
        for j in cols {
            for (s, e) in l.occurrences(j) {
                if k1 == 1 {
                    let wj = ws[s];
                    for (&r, &wu) in l.rows[s..e].iter().zip(&ws[s..e]) {
                        x[r as usize] += wj * wu;
                    }
                } else {
                    let wj = &ws[s * k1..(s + 1) * k1];
                    for u in s..e {
                        let wu = &ws[u * k1..(u + 1) * k1];
                        let dot: f64 = wj.iter().zip(wu).map(|(a, b)| a * b).sum();
                        x[l.rows[u] as usize] += dot;
                    }
                }
            }
            let lj = self.lam[j];
            let (lo, hi) = (self.col_ptr[j] as usize, self.col_ptr[j + 1] as usize);
            for e in lo..hi {
                let i = self.row_idx[e] as usize;
                vals[e - base] = self.c_vals[e] * lj * self.lam[i] - x[i];
                x[i] = 0.0;
            }
            if j < self.qr {
                vals[lo - base] += 1.0;
            }
        }
    }
}

/// The numeric factorization's parallelism: faer's parallel supernodal kernels on a
/// worker of rayon's pool (where [`crate::active_wait::run_awake`] keeps the other
/// workers polling), sequential elsewhere (called from outside the pool, every parallel
/// section would wait for a sleeping worker).
fn factor_par() -> Par {
    if rayon::current_num_threads() > 1 && rayon::current_thread_index().is_some() {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}
