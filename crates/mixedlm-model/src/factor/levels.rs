//! The first term's part of the factor: per level g of term 1 (the term with most
//! levels), L_g = chol(T1' D_g T1 + I) and the block W_g = Λ_R' B_g T1 L_g^{-T} of the
//! rows of R = [Z_2 .. Z_m, X, y] that co-occur with g (the factor's L21, see
//! docs/MATH.md). Every path (dense, nested, sparse) starts from these.

use crate::crossprod::CrossProducts;
use crate::kernels;

/// L_g per level and W, with the scratch their computation needs.
#[derive(Debug, Default)]
pub(crate) struct LevelBlocks {
    /// L_g per level of term 1 (k1 × k1 column-major, lower).
    pub lg: Vec<f64>,
    /// W = L21: k1 values per packed row of B.
    pub w: Vec<f64>,
    /// k1 × k1 scratch of the congruence T1' D_g T1.
    tmp: Vec<f64>,
    /// T_j[0, 0] per term when every term has one column per level.
    lam: Vec<f64>,
}

impl LevelBlocks {
    /// Blocks sized for the cross-products `cp` and `n_terms` terms.
    pub fn new(cp: &CrossProducts, n_terms: usize) -> Self {
        LevelBlocks {
            lg: vec![0.0; cp.d.len()],
            w: vec![0.0; cp.b.len()],
            tmp: vec![0.0; cp.k1 * cp.k1],
            lam: Vec::with_capacity(n_terms),
        }
    }

    /// L_g and W for the factors `t` (T_j per term, k_j × k_j column-major). False when
    /// some T1' D_g T1 + I is not numerically positive definite.
    pub fn factor(&mut self, cp: &CrossProducts, t: &[Vec<f64>]) -> bool {
        let ok = match cp.k1 {
            1 => level_factors_scalar(t[0][0], &cp.d, &mut self.lg),
            2 => level_factors_2(&t[0], &cp.d, &mut self.lg),
            k1 => level_factors_any(k1, &t[0], &cp.d, &mut self.tmp, &mut self.lg),
        };
        if ok {
            self.fill_w(cp, t);
        }
        ok
    }

    /// W = Λ_R' B T1 L_g^{-T}, level by level.
    fn fill_w(&mut self, cp: &CrossProducts, t: &[Vec<f64>]) {
        let k1 = cp.k1;
        if k1 == 1 && t.iter().all(|tj| tj.len() == 1) {
            return self.fill_w_diagonal(cp, t);
        }
        if k1 == 2 && t.len() == 1 {
            return self.fill_w_single_term_2(cp, t);
        }
        if k1 == 1 {
            // W_a = λ1 (Λ_R' B)_a / L_g
            for g in 0..cp.g1 {
                let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
                let scale = t[0][0] / self.lg[g];
                for (x, y) in self.w[lo..hi].iter_mut().zip(&cp.b[lo..hi]) {
                    *x = y * scale;
                }
                scale_blocks(&mut self.w[lo..hi], &cp.rows[lo..hi], cp, t);
            }
            return;
        }
        match k1 {
            2 => self.fill_w_blocks(2, cp, t),
            3 => self.fill_w_blocks(3, cp, t),
            k1 => self.fill_w_blocks(k1, cp, t),
        }
    }

    /// [`Self::fill_w`] level by level for k1 > 1: W_g = B_g T1, then Λ_R' on the later
    /// terms' blocks, then L_g^{-T} (`k1` is a constant where inlined: the small loops
    /// unroll).
    #[inline(always)]
    fn fill_w_blocks(&mut self, k1: usize, cp: &CrossProducts, t: &[Vec<f64>]) {
        let kk = k1 * k1;
        for g in 0..cp.g1 {
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            let wg = &mut self.w[lo * k1..hi * k1];
            wg.copy_from_slice(&cp.b[lo * k1..hi * k1]);
            for row in wg.chunks_exact_mut(k1) {
                kernels::row_times_lower(row, &t[0], k1);
            }
            if t.len() > 1 {
                scale_blocks(wg, &cp.rows[lo..hi], cp, t);
            }
            let lg = &self.lg[g * kk..(g + 1) * kk];
            for row in wg.chunks_exact_mut(k1) {
                kernels::row_solve_lower_t(row, lg, k1);
            }
        }
    }

    /// [`Self::fill_w`] for one term of two columns per level (random intercept and
    /// slope), unrolled: W_a = B_a T1 L_g^{-T}, the arithmetic of [`Self::fill_w_blocks`].
    fn fill_w_single_term_2(&mut self, cp: &CrossProducts, t: &[Vec<f64>]) {
        let (t00, t10, t11) = (t[0][0], t[0][1], t[0][3]);
        for g in 0..cp.g1 {
            let (l00, l10, l11) = (self.lg[4 * g], self.lg[4 * g + 1], self.lg[4 * g + 3]);
            let (lo, hi) = (2 * cp.rows_ptr[g], 2 * cp.rows_ptr[g + 1]);
            let rows = self.w[lo..hi]
                .chunks_exact_mut(2)
                .zip(cp.b[lo..hi].chunks_exact(2));
            for (w, b) in rows {
                let w0 = (b[0] * t00 + b[1] * t10) / l00;
                w[0] = w0;
                w[1] = (b[1] * t11 - l10 * w0) / l11;
            }
        }
    }

    /// [`Self::fill_w`] when every term has one column per level (Λ_R diagonal):
    /// W_a = λ_1 λ_(row a) B_a / L_g in one pass.
    fn fill_w_diagonal(&mut self, cp: &CrossProducts, t: &[Vec<f64>]) {
        self.lam.clear();
        self.lam.extend(t.iter().map(|t| t[0]));
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

    /// Σ_g log det(L_g)².
    pub fn logdet(&self, k1: usize) -> f64 {
        let diag = self
            .lg
            .chunks_exact(k1 * k1)
            .flat_map(|lg| lg.iter().step_by(k1 + 1).copied());
        2.0 * kernels::sum_ln(diag)
    }

    /// The spherical modes of every term into `u`, given those of terms 2..m (`ur`, in R's
    /// row order) and β: each level of term 1 by back-substitution with its L_g and W_g,
    /// û_g = L_g^{-T} (W_g,y − Σ_a W_g,a x_a) with x the modes of R's Z rows, then β.
    pub fn modes_into(&self, cp: &CrossProducts, ur: &[f64], beta: &[f64], u: &mut Vec<f64>) {
        let (qr, k1, g1) = (cp.qr, cp.k1, cp.g1);
        let x = |r: usize| if r < qr { ur[r] } else { beta[r - qr] };
        u.clear();
        u.resize(g1 * k1 + qr, 0.0);
        if k1 == 1 {
            for (g, ug) in u[..g1].iter_mut().enumerate() {
                let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
                let s: f64 = (lo..hi - 1).map(|a| self.w[a] * x(cp.rows[a])).sum();
                *ug = (self.w[hi - 1] - s) / self.lg[g];
            }
        } else {
            for g in 0..g1 {
                let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
                let ug = &mut u[g * k1..(g + 1) * k1];
                ug.copy_from_slice(&self.w[(hi - 1) * k1..hi * k1]);
                for a in lo..hi - 1 {
                    let xa = x(cp.rows[a]);
                    for (c, v) in ug.iter_mut().enumerate() {
                        *v -= self.w[a * k1 + c] * xa;
                    }
                }
                kernels::solve_lower_t(ug, &self.lg[g * k1 * k1..(g + 1) * k1 * k1], k1);
            }
        }
        u[g1 * k1..].copy_from_slice(ur);
    }

    /// Each level's form V_g = W_g' S W_g (k1 × k1 column-major, S the later terms' block
    /// of (Lrr Lrr')⁻¹) ← L_g^{-T} (I + V_g) L_g⁻¹: term 1's diagonal block of (Lzz Lzz')⁻¹.
    pub fn conditional_from_forms(&self, k1: usize, forms: &mut [f64]) {
        let kk = k1 * k1;
        let (mut linv, mut tmp, mut s) = (vec![0.0; kk], vec![0.0; kk], vec![0.0; kk]);
        for (g, block) in forms.chunks_exact_mut(kk).enumerate() {
            s.copy_from_slice(block);
            for c in 0..k1 {
                s[c * k1 + c] += 1.0;
            }
            kernels::lower_inverse(&self.lg[g * kk..(g + 1) * kk], k1, &mut linv);
            kernels::congruence(&linv, &s, k1, &mut tmp, block);
        }
    }
}

/// L_g = √(λ1² D_g + 1) for every level (k1 = 1). False when one is not positive and finite.
fn level_factors_scalar(lam1: f64, d: &[f64], lg: &mut [f64]) -> bool {
    let t2 = lam1 * lam1;
    for (l, &dg) in lg.iter_mut().zip(d) {
        let m = t2 * dg + 1.0;
        if m <= 0.0 || !m.is_finite() {
            return false;
        }
        *l = m.sqrt();
    }
    true
}

/// L_g = chol(T' D_g T + I) for every level of 2 × 2 blocks, unrolled: the arithmetic of
/// [`level_factors_any`] for k1 = 2. False when a block is not positive definite.
fn level_factors_2(t: &[f64], d: &[f64], lg: &mut [f64]) -> bool {
    let (t00, t10, t11) = (t[0], t[1], t[3]);
    for (dg, l) in d.chunks_exact(4).zip(lg.chunks_exact_mut(4)) {
        let (d00, d10, d11) = (dg[0], dg[1], dg[3]);
        // (D T) column 0 and entry (1, 1); T' (D T) + I, lower triangle
        let (a00, a10, a11) = (d00 * t00 + d10 * t10, d10 * t00 + d11 * t10, d11 * t11);
        let m00 = t00 * a00 + t10 * a10 + 1.0;
        if m00 <= 0.0 || !m00.is_finite() {
            return false;
        }
        let l00 = m00.sqrt();
        let l10 = t11 * a10 / l00;
        let r = t11 * a11 + 1.0 - l10 * l10;
        if r <= 0.0 || !r.is_finite() {
            return false;
        }
        l.copy_from_slice(&[l00, l10, 0.0, r.sqrt()]);
    }
    true
}

/// L_g = chol(T' D_g T + I) for every level of k1 × k1 blocks.
#[inline(always)]
fn level_factors_any(k1: usize, t: &[f64], d: &[f64], tmp: &mut [f64], lg: &mut [f64]) -> bool {
    let kk = k1 * k1;
    for (dg, l) in d.chunks_exact(kk).zip(lg.chunks_exact_mut(kk)) {
        kernels::congruence(t, dg, k1, tmp, l);
        for i in 0..k1 {
            l[i * k1 + i] += 1.0;
        }
        if !kernels::chol(l, k1) {
            return false;
        }
    }
    true
}

/// W_block ← T_j' W_block for each level block of Z_2 .. Z_m among the packed rows
/// `rows` (`w` holds k1 values per row); the X and y rows are left as they are.
pub(crate) fn scale_blocks(w: &mut [f64], rows: &[usize], cp: &CrossProducts, t: &[Vec<f64>]) {
    let k1 = cp.k1;
    let mut pos = 0;
    while pos < rows.len() && rows[pos] < cp.qr {
        let tj = &t[cp.r_term[rows[pos]]];
        let k = match tj.len() {
            1 => 1,
            4 => 2,
            len => len.isqrt(),
        };
        if k == 1 {
            w[pos * k1..(pos + 1) * k1]
                .iter_mut()
                .for_each(|x| *x *= tj[0]);
            pos += 1;
            continue;
        }
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
