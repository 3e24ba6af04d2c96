//! One evaluation of the profiled deviance at θ: the blocked Cholesky factorization of
//! Ω(θ), with every workspace preallocated (no allocation per evaluation).
//!
//! With Λ = blockdiag(I_{G_j} ⊗ T_j) and the cross-products of [`CrossProducts`]:
//! 1. per level g of term 1: L_g = chol(T1' D_g T1 + I);
//! 2. W = Λ_R' B T1, then W_g ← W_g L_g^{-T} (this is the block L21 of the factor);
//! 3. M = Λ_R' C Λ_R + diag(1 on the Z part, 0 on X, y) − Σ_g W_g W_g';
//! 4. M ← chol(M) (dense, faer): its diagonal blocks are L_rr (rest of Lzz), Lxx, and Lyy.
//!
//! log|Lzz|² = Σ_g log|L_g|² + 2 Σ log diag over the Z part of M, log|Lxx|² likewise over
//! the X part, and r² = Lyy² is the penalized weighted residual sum of squares.

use crate::crossprod::CrossProducts;
use crate::nested::NestedRest;
use crate::small;
use crate::sparse::SparseRest;
use crate::terms::Term;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::{MatMut, Par};

/// Up to this size the dense block is factored by the plain loops of [`small::chol`]
/// (faer's blocked kernel has a fixed cost that dominates tiny blocks).
const SMALL_DENSE: usize = 24;

/// From this size on the dense block's Schur update and Cholesky factorization run on
/// rayon's threads (below it the fork/join cost exceeds the work).
const PARALLEL_DENSE: usize = 384;

/// The factor of Ω(θ) and its workspaces. After a successful [`Factor::evaluate`] every
/// field describes Ω at that θ.
pub struct Factor {
    /// T_j per term (k_j × k_j column-major).
    pub t: Vec<Vec<f64>>,
    /// L_g per level of term 1 (k1 × k1 column-major, lower).
    pub lg: Vec<f64>,
    /// W = L21: k1 values per packed row of B.
    pub w: Vec<f64>,
    /// m_r × m_r column-major; after evaluation its lower triangle holds the dense factor.
    pub m: Vec<f64>,
    tmp: Vec<f64>,
    lam: Vec<f64>,
    lam_r: Vec<f64>,
    stack: MemBuffer,
    /// log det(Lzz)².
    pub logdet_z: f64,
    /// log det(Lxx)².
    pub logdet_x: f64,
    /// r² = Lyy²: the penalized (weighted) residual sum of squares.
    pub r2: f64,
    /// Whether the last evaluation succeeded (Ω positive definite).
    pub ok: bool,
    /// Whether `m` holds the dense factor at the last evaluated θ (false after an
    /// evaluation by the sparse path, which only sets the log-determinants and r²).
    pub dense: bool,
    /// The sparse path for large crossed rest blocks (see [`crate::sparse`]).
    pub sparse: Option<SparseRest>,
    /// The arrow path for a first term nested in the second (see [`crate::nested`]).
    pub nested: Option<NestedRest>,
    /// Column lists for the Schur update; `None` for a single term, whose update
    /// [`schur_single_term`] needs no lists.
    pub(crate) schur: Option<SchurColumns>,
    pub(crate) par: Par,
    /// Workspaces of the analytic gradient (see [`crate::gradient`]).
    pub(crate) grad: crate::gradient::GradWork,
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factor")
            .field("logdet_z", &self.logdet_z)
            .field("logdet_x", &self.logdet_x)
            .field("r2", &self.r2)
            .field("ok", &self.ok)
            .finish_non_exhaustive()
    }
}

impl Factor {
    /// Allocate all workspaces for the cross-products `cp`.
    pub fn new(cp: &CrossProducts, terms: &[Term]) -> Self {
        let par = if cp.mr >= PARALLEL_DENSE {
            Par::rayon(0)
        } else {
            Par::Seq
        };
        let scratch = cholesky_in_place_scratch::<f64>(cp.mr, par, Default::default());
        let mut f = Factor {
            t: terms.iter().map(|t| vec![0.0; t.k * t.k]).collect(),
            lg: vec![0.0; cp.d.len()],
            w: vec![0.0; cp.b.len()],
            // allocated by the first dense factorization: the nested and sparse paths
            // evaluate without it (sim (d): 1.3 MB a fit need not zero)
            m: Vec::new(),
            tmp: vec![0.0; cp.k1 * cp.k1],
            lam: Vec::with_capacity(terms.len()),
            lam_r: vec![1.0; cp.mr],
            stack: MemBuffer::new(scratch),
            logdet_z: f64::NAN,
            logdet_x: f64::NAN,
            r2: f64::NAN,
            ok: false,
            dense: false,
            sparse: None,
            nested: NestedRest::new(cp, terms),
            schur: (cp.qr > 0).then(|| SchurColumns::new(cp)),
            par,
            grad: Default::default(),
        };
        if f.nested.is_none() {
            f.sparse = SparseRest::new(cp, terms);
        }
        f
    }

    /// Whether the dense factor `m` (and `lg`, `w`) describe the last successful evaluation.
    pub fn dense_valid(&self) -> bool {
        self.ok && self.dense
    }

    /// The objective's ingredients only (log-determinants and r²) at θ, by the sparse
    /// path when the model has one, else as [`Self::evaluate`].
    pub fn evaluate_objective(
        &mut self,
        cp: &CrossProducts,
        terms: &[Term],
        theta: &[f64],
    ) -> bool {
        if self.sparse.is_none() && self.nested.is_none() {
            return self.evaluate(cp, terms, theta);
        }
        self.fill_t(terms, theta);
        self.dense = false;
        self.ok = false;
        let fused = self.sparse.is_none() && cp.k1 == 1;
        if !fused && !self.level_factors(cp) {
            return false;
        }
        let parts = match (self.sparse.as_mut(), self.nested.as_mut()) {
            (None, Some(nested)) if fused => {
                nested.factor_scalar(cp, &self.t, &mut self.lg, &mut self.w)
            }
            (Some(sparse), _) => sparse.factor(&self.t, &self.w),
            (None, Some(nested)) => nested.factor(cp, &self.t, &self.w),
            (None, None) => None,
        };
        let Some((ld_rz, ld_x, r2)) = parts else {
            return false;
        };
        self.logdet_z = self.first_term_logdet(cp) + ld_rz;
        self.logdet_x = ld_x;
        self.r2 = r2;
        self.ok = true;
        true
    }

    fn fill_t(&mut self, terms: &[Term], theta: &[f64]) {
        for (t, buf) in terms.iter().zip(self.t.iter_mut()) {
            let k = t.k;
            t.structure.fill_factor(
                t.theta(theta),
                MatMut::from_column_major_slice_mut(buf, k, k),
            );
        }
    }

    /// Σ_g log det(L_g)².
    fn first_term_logdet(&self, cp: &CrossProducts) -> f64 {
        let k1 = cp.k1;
        let diag = self
            .lg
            .chunks_exact(k1 * k1)
            .flat_map(|lg| lg.iter().step_by(k1 + 1).copied());
        2.0 * small::sum_ln(diag)
    }

    /// Factor Ω(θ). Returns false (and sets `ok = false`) if Ω is not numerically
    /// positive definite. `theta` must have the model's length.
    pub fn evaluate(&mut self, cp: &CrossProducts, terms: &[Term], theta: &[f64]) -> bool {
        self.fill_t(terms, theta);
        self.ok = self.level_factors(cp) && self.dense_factor(cp, terms);
        self.dense = self.ok;
        if self.ok {
            self.logdets(cp);
        }
        self.ok
    }

    /// Step 1 and 2: L_g and W_g for every level of term 1.
    fn level_factors(&mut self, cp: &CrossProducts) -> bool {
        let k1 = cp.k1;
        let kk = k1 * k1;
        let t1 = &self.t[0];
        if k1 == 1 {
            let t2 = t1[0] * t1[0];
            for (l, &d) in self.lg.iter_mut().zip(&cp.d) {
                let m = t2 * d + 1.0;
                if m <= 0.0 || !m.is_finite() {
                    return false;
                }
                *l = m.sqrt();
            }
        } else if k1 == 2 {
            if !level_factors2(t1, &cp.d, &mut self.lg) {
                return false;
            }
        } else {
            for g in 0..cp.g1 {
                let lg = &mut self.lg[g * kk..(g + 1) * kk];
                small::congruence(t1, &cp.d[g * kk..(g + 1) * kk], k1, &mut self.tmp, lg);
                for i in 0..k1 {
                    lg[i * k1 + i] += 1.0;
                }
                if !small::chol(lg, k1) {
                    return false;
                }
            }
        }
        if k1 == 1 && self.t.iter().all(|t| t.len() == 1) {
            self.scalar_w(cp);
            return true;
        }
        if k1 == 2 && self.t.len() == 1 {
            self.single_term_w2(cp);
            return true;
        }
        let (w, b) = (&mut self.w, &cp.b);
        if k1 == 1 {
            // W_a = λ1 (Λ_R' B)_a / L_g
            for g in 0..cp.g1 {
                let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
                let scale = t1[0] / self.lg[g];
                for (x, y) in w[lo..hi].iter_mut().zip(&b[lo..hi]) {
                    *x = y * scale;
                }
                scale_blocks(&mut w[lo..hi], &cp.rows[lo..hi], cp, &self.t);
            }
            return true;
        }
        w.copy_from_slice(b);
        for row in w.chunks_exact_mut(k1) {
            small::row_times_lower(row, t1, k1);
        }
        for g in 0..cp.g1 {
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            scale_blocks(&mut w[lo * k1..hi * k1], &cp.rows[lo..hi], cp, &self.t);
            let lg = &self.lg[g * kk..(g + 1) * kk];
            for row in w[lo * k1..hi * k1].chunks_exact_mut(k1) {
                small::row_solve_lower_t(row, lg, k1);
            }
        }
        true
    }

    /// Step 2 when every term has one column per level: W_a = λ_1 λ_(row a) B_a / L_g.
    fn scalar_w(&mut self, cp: &CrossProducts) {
        self.lam.clear();
        self.lam.extend(self.t.iter().map(|t| t[0]));
        let l1 = self.lam[0];
        for g in 0..cp.g1 {
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            let scale = l1 / self.lg[g];
            for a in lo..hi {
                let r = cp.rows[a];
                let lam = if r < cp.qr {
                    self.lam[cp.r_term[r]]
                } else {
                    1.0
                };
                self.w[a] = cp.b[a] * lam * scale;
            }
        }
    }

    /// Step 2 for a single term with two columns per level (random intercept and slope):
    /// W_a = B_a T1 L_g^{-T}, unrolled.
    fn single_term_w2(&mut self, cp: &CrossProducts) {
        let t = &self.t[0];
        let (t00, t10, t11) = (t[0], t[1], t[3]);
        for g in 0..cp.g1 {
            let lg = &self.lg[g * 4..g * 4 + 4];
            let (l00, l10, l11) = (lg[0], lg[1], lg[3]);
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            let b = &cp.b[lo * 2..hi * 2];
            for (w, b) in self.w[lo * 2..hi * 2]
                .chunks_exact_mut(2)
                .zip(b.chunks_exact(2))
            {
                let x0 = b[0] * t00 + b[1] * t10;
                let x1 = b[1] * t11;
                let w0 = x0 / l00;
                w[0] = w0;
                w[1] = (x1 - l10 * w0) / l11;
            }
        }
    }

    /// Steps 3 and 4: M = Λ_R' C Λ_R + I_z − Σ W_g W_g', then its dense Cholesky factor.
    fn dense_factor(&mut self, cp: &CrossProducts, terms: &[Term]) -> bool {
        let mr = cp.mr;
        if self.m.len() != cp.c.len() {
            self.m = vec![0.0; cp.c.len()];
        }
        // Λ_R diagonal and a Schur update by columns: each column of M is written once,
        // from C scaled, then updated while in cache (sim (e), 3,709 columns: one pass
        // over 110 MB per evaluation instead of three)
        let fused = terms.len() >= 2 && terms[1..].iter().all(|t| t.k == 1);
        match &self.schur {
            Some(schur) if fused => {
                fill_lambda(&mut self.lam_r, terms, &self.t);
                let init = Scaled {
                    c: &cp.c,
                    lam: &self.lam_r,
                    qr: cp.qr,
                };
                schur.subtract(&mut self.m, &self.w, cp, Some(&init));
            }
            schur => {
                self.m.copy_from_slice(&cp.c);
                scale_dense(&mut self.m, mr, terms, &self.t, &mut self.lam_r);
                for i in 0..cp.qr {
                    self.m[i * mr + i] += 1.0;
                }
                match schur {
                    Some(schur) => schur.subtract(&mut self.m, &self.w, cp, None),
                    // one term: every level's packed rows are all of X and y
                    None => schur_single_term(&mut self.m, &self.w, mr, cp.k1),
                }
            }
        }
        if mr <= SMALL_DENSE {
            return small::chol(&mut self.m, mr);
        }
        let stack = MemStack::new(&mut self.stack);
        let mat = MatMut::from_column_major_slice_mut(&mut self.m, mr, mr);
        cholesky_in_place(mat, Default::default(), self.par, stack, Default::default()).is_ok()
    }

    fn logdets(&mut self, cp: &CrossProducts) {
        let mr = cp.mr;
        let mut ld_z = self.first_term_logdet(cp) / 2.0;
        let m = &self.m;
        let diag = |i: usize| m[i * mr + i];
        ld_z += small::sum_ln((0..cp.qr).map(diag));
        let ld_x = small::sum_ln((cp.qr..cp.qr + cp.p).map(diag));
        let lyy = diag(mr - 1);
        self.logdet_z = 2.0 * ld_z;
        self.logdet_x = 2.0 * ld_x;
        self.r2 = lyy * lyy;
    }

    /// Entry (i, j), i ≥ j, of the dense factor (rows/columns of R).
    pub fn l(&self, mr: usize, i: usize, j: usize) -> f64 {
        self.m[j * mr + i]
    }
}

/// M −= Σ_g W_g W_g' (lower triangle) when term 1 is the only term, so that each level's
/// W_g holds all m_r rows of M in order (k1 values per row). Entry by entry: each sum over
/// the levels runs down W with a fixed stride (no stores in the inner loop).
fn schur_single_term(m: &mut [f64], w: &[f64], mr: usize, k1: usize) {
    let stride = mr * k1;
    for a in 0..mr {
        for b in 0..=a {
            let s: f64 = if k1 == 2 {
                let (ia, ib) = (2 * a, 2 * b);
                w.chunks_exact(stride)
                    .map(|wg| wg[ia] * wg[ib] + wg[ia + 1] * wg[ib + 1])
                    .sum()
            } else {
                w.chunks_exact(stride)
                    .map(|wg| {
                        let (wa, wb) = (&wg[a * k1..(a + 1) * k1], &wg[b * k1..(b + 1) * k1]);
                        wa.iter().zip(wb).map(|(x, y)| x * y).sum::<f64>()
                    })
                    .sum()
            };
            m[b * mr + a] -= s;
        }
    }
}

/// Step 1 for k1 = 2, unrolled: L_g = chol(T' D_g T + I) for every level (2×2 blocks,
/// column-major, upper entry zero). False when a block is not positive definite.
fn level_factors2(t: &[f64], d: &[f64], lg: &mut [f64]) -> bool {
    let (t00, t10, t11) = (t[0], t[1], t[3]);
    for (dg, l) in d.chunks_exact(4).zip(lg.chunks_exact_mut(4)) {
        let (d00, d10, d11) = (dg[0], dg[1], dg[3]);
        // D T: column 0 = D (t00, t10)', column 1 = D (0, t11)'
        let (a00, a10) = (d00 * t00 + d10 * t10, d10 * t00 + d11 * t10);
        let a11 = d11 * t11;
        // T' (D T) + I, lower triangle
        let m00 = t00 * a00 + t10 * a10 + 1.0;
        let m10 = t11 * a10;
        let m11 = t11 * a11 + 1.0;
        if m00 <= 0.0 || !m00.is_finite() {
            return false;
        }
        let l00 = m00.sqrt();
        let l10 = m10 / l00;
        let r = m11 - l10 * l10;
        if r <= 0.0 || !r.is_finite() {
            return false;
        }
        l[0] = l00;
        l[1] = l10;
        l[2] = 0.0;
        l[3] = r.sqrt();
    }
    true
}

/// W_block ← T_j' W_block for each level block of Z_2 .. Z_m among the packed rows
/// (`w` holds k1 values per row).
pub(crate) fn scale_blocks(w: &mut [f64], rows: &[usize], cp: &CrossProducts, t: &[Vec<f64>]) {
    let k1 = cp.k1;
    let mut pos = 0;
    while pos < rows.len() && rows[pos] < cp.qr {
        let j = cp.r_term[rows[pos]];
        let tj = &t[j];
        let k = match tj.len() {
            1 => {
                w[pos * k1..(pos + 1) * k1]
                    .iter_mut()
                    .for_each(|x| *x *= tj[0]);
                pos += 1;
                continue;
            }
            4 => 2,
            len => (len as f64).sqrt().round() as usize,
        };
        for c in 0..k1 {
            for a in 0..k {
                let mut s = 0.0;
                for m in a..k {
                    s += tj[a * k + m] * w[(pos + m) * k1 + c];
                }
                w[(pos + a) * k1 + c] = s;
            }
        }
        pos += k;
    }
}

/// M ← Λ_R' M Λ_R for the dense m_r × m_r column-major M (Λ_R = blockdiag of the T_j of
/// terms 2..m, identity on X and y).
fn scale_dense(m: &mut [f64], mr: usize, terms: &[Term], t: &[Vec<f64>], lam: &mut [f64]) {
    if terms[1..].iter().all(|term| term.k == 1) {
        return scale_dense_scalar(m, mr, terms, t, lam);
    }
    for (term, tj) in terms.iter().zip(t).skip(1) {
        let k = term.k;
        for l in 0..term.n_levels() {
            let s = term.r_offset + l * k;
            // columns: M[:, s..s+k] ← M[:, s..s+k] T
            for i in 0..mr {
                for c in 0..k {
                    let mut v = 0.0;
                    for q in c..k {
                        v += m[(s + q) * mr + i] * tj[c * k + q];
                    }
                    m[(s + c) * mr + i] = v;
                }
            }
            // rows: M[s..s+k, :] ← T' M[s..s+k, :]
            for col in 0..mr {
                let base = col * mr + s;
                for a in 0..k {
                    let mut v = 0.0;
                    for q in a..k {
                        v += tj[a * k + q] * m[base + q];
                    }
                    m[base + a] = v;
                }
            }
        }
    }
}

/// [`scale_dense`] when every later term has one column per level: Λ_R is diagonal, so
/// M_ij ← λ_i λ_j M_ij in one column-major pass.
fn scale_dense_scalar(m: &mut [f64], mr: usize, terms: &[Term], t: &[Vec<f64>], lam: &mut [f64]) {
    if terms.len() < 2 {
        return;
    }
    fill_lambda(lam, terms, t);
    for (col, lj) in m.chunks_exact_mut(mr).zip(lam.iter()) {
        for (v, li) in col.iter_mut().zip(lam.iter()) {
            *v *= li * lj;
        }
    }
}

/// The diagonal of Λ_R when every later term has one column per level (1 on X and y).
fn fill_lambda(lam: &mut [f64], terms: &[Term], t: &[Vec<f64>]) {
    lam.fill(1.0);
    for (term, tj) in terms.iter().zip(t).skip(1) {
        lam[term.r_offset..term.r_offset + term.n_levels()].fill(tj[0]);
    }
}

/// The start of M for a diagonal Λ_R: column r is λ_r λ ∘ C[:, r], plus 1 on the
/// diagonal of the Z part.
struct Scaled<'a> {
    c: &'a [f64],
    lam: &'a [f64],
    qr: usize,
}

impl Scaled<'_> {
    #[inline]
    fn column(&self, r: usize, col: &mut [f64]) {
        let mr = col.len();
        let lr = self.lam[r];
        for ((v, &c), &l) in col
            .iter_mut()
            .zip(&self.c[r * mr..(r + 1) * mr])
            .zip(self.lam)
        {
            *v = c * (l * lr);
        }
        if r < self.qr {
            col[r] += 1.0;
        }
    }
}

/// Step 3's update M ← M − Σ_g W_g W_g', organised by columns of M.
///
/// For every row r of R it lists the packed positions a with `rows[a] == r` and the end of
/// a's level. Column r of M then receives, from each listed a, the products of W_a with
/// W_b for the rows b ≥ a of the same level (rows are sorted within a level, so these are
/// exactly the rows of the lower triangle). All writes of one column stay in that column,
/// which stays in cache, and columns are independent, so large blocks run in parallel.
/// Looping over levels instead scatters every write to a different column: on a crossed
/// 5,000 × 2,000 design that was 70 % of the fit.
#[derive(Debug)]
pub(crate) struct SchurColumns {
    /// Start of row r's entries in `pos` / `end` (m_r + 1 entries).
    ptr: Vec<usize>,
    /// Packed position a of each entry.
    pos: Vec<usize>,
    /// End of a's level among the packed rows.
    end: Vec<usize>,
    /// The level g of each entry.
    level: Vec<u32>,
}

impl SchurColumns {
    fn new(cp: &CrossProducts) -> Self {
        let mut ptr = vec![0usize; cp.mr + 1];
        for &r in &cp.rows {
            ptr[r + 1] += 1;
        }
        for r in 0..cp.mr {
            ptr[r + 1] += ptr[r];
        }
        let mut next = ptr.clone();
        let (mut pos, mut end) = (vec![0; cp.rows.len()], vec![0; cp.rows.len()]);
        let mut level = vec![0u32; cp.rows.len()];
        for g in 0..cp.g1 {
            let hi = cp.rows_ptr[g + 1];
            for a in cp.rows_ptr[g]..hi {
                let e = &mut next[cp.rows[a]];
                pos[*e] = a;
                end[*e] = hi;
                level[*e] = g as u32;
                *e += 1;
            }
        }
        SchurColumns {
            ptr,
            pos,
            end,
            level,
        }
    }

    /// Per level g of term 1 (k1×k1 column-major blocks): Σ over pairs a, b of the level's
    /// rows below `limit` of W_a' A[r_a, r_b] W_b, for a symmetric A given by its lower
    /// triangle (`a_lower`, limit × limit). Organised as [`Self::subtract`]: column r of A
    /// is read for all the levels that contain r, so it stays in cache (reading A level by
    /// level instead jumps across the whole matrix); columns run in parallel.
    pub(crate) fn level_forms(
        &self,
        a_lower: faer::MatRef<'_, f64>,
        w: &[f64],
        cp: &CrossProducts,
        limit: usize,
    ) -> Vec<f64> {
        use rayon::prelude::*;
        let (k1, kk) = (cp.k1, cp.k1 * cp.k1);
        let column = |mut acc: Vec<f64>, r: usize| {
            let col = a_lower.col(r);
            for e in self.ptr[r]..self.ptr[r + 1] {
                let (a, g) = (self.pos[e], self.level[e] as usize);
                let s = &mut acc[g * kk..(g + 1) * kk];
                let wa = &w[a * k1..(a + 1) * k1];
                for b in a..self.end[e] {
                    let rb = cp.rows[b];
                    if rb >= limit {
                        break;
                    }
                    let wb = &w[b * k1..(b + 1) * k1];
                    crate::small::add_pair_form(s, wa, wb, col[rb], b == a);
                }
            }
            acc
        };
        let zeros = || vec![0.0; cp.g1 * kk];
        (0..limit)
            .into_par_iter()
            .fold(zeros, column)
            .reduce(zeros, |mut x, y| {
                x.iter_mut().zip(&y).for_each(|(p, q)| *p += q);
                x
            })
    }

    /// M ← M − Σ_g W_g W_g'; with `init`, each column of M is first set from it.
    fn subtract(&self, m: &mut [f64], w: &[f64], cp: &CrossProducts, init: Option<&Scaled<'_>>) {
        let mr = cp.mr;
        let column = |(r, col): (usize, &mut [f64])| {
            if let Some(init) = init {
                init.column(r, col);
            }
            for e in self.ptr[r]..self.ptr[r + 1] {
                self.column_update(col, self.pos[e], self.end[e], w, cp);
            }
        };
        if mr >= PARALLEL_DENSE {
            use rayon::prelude::*;
            m.par_chunks_mut(mr).enumerate().for_each(column);
        } else {
            m.chunks_mut(mr).enumerate().for_each(column);
        }
    }

    /// col[rows[b]] −= W_b · W_a for b in a..end.
    #[inline]
    fn column_update(&self, col: &mut [f64], a: usize, end: usize, w: &[f64], cp: &CrossProducts) {
        let rows = &cp.rows[a..end];
        match cp.k1 {
            1 => {
                let wa = w[a];
                for (&rb, wb) in rows.iter().zip(&w[a..end]) {
                    col[rb] -= wa * wb;
                }
            }
            2 => {
                let (a0, a1) = (w[2 * a], w[2 * a + 1]);
                for (&rb, wb) in rows.iter().zip(w[2 * a..2 * end].chunks_exact(2)) {
                    col[rb] -= a0 * wb[0] + a1 * wb[1];
                }
            }
            k1 => {
                let wa = &w[a * k1..(a + 1) * k1];
                for (&rb, wb) in rows.iter().zip(w[k1 * a..k1 * end].chunks_exact(k1)) {
                    col[rb] -= wa.iter().zip(wb).map(|(x, y)| x * y).sum::<f64>();
                }
            }
        }
    }
}
