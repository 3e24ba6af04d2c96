//! Back-substitution in the factor of the last evaluation: β̂, the spherical modes û,
//! b̂ = Λû, Var(β̂) and the conditional covariances of b given y.
//!
//! Conditional covariance: Var(b | y) = σ² Λ (Lzz Lzz')⁻¹ Λ' (β fixed at β̂, as lme4's
//! `condVar`). With Lzz = [L11 0; L21z Lrr] (L11 = blockdiag(L_g), L21z = the Z rows of W),
//! the diagonal blocks of (Lzz Lzz')⁻¹ are
//! - term 1, level g: L_g^{-T} (I + P_g' P_g) L_g^{-1} with P_g = Lrr⁻¹ W_{z,g};
//! - terms 2..m, block s..s+k: the same block of Lrr^{-T} Lrr⁻¹.
//!
//! The accessors read whichever factor the last evaluation left: the dense one, the nested
//! path's arrow factor ([`crate::nested`]) or the sparse path's supernodal factor
//! (`sparse/estimates.rs`), so a fit needs no final dense factorization on either path.

use crate::gradient::Selected;
use crate::nested::NestedRest;
use crate::small;
use crate::sparse::SparseRest;
use crate::LinearMixedModel;
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Accum, Mat, Par};

/// From this many columns of the non-first terms, the conditional covariances read the
/// explicit (Lrr Lrr')⁻¹ (see [`LinearMixedModel::conditional_covariances`]).
const INVERSE_FROM: usize = 256;

/// The lower triangle of Lrr^{-T} Lrr⁻¹ = (Lrr Lrr')⁻¹ from Lrr⁻¹ (lower triangular),
/// by a triangular product (a sixth of a full product's flops); the upper is left zero.
pub(crate) fn rr_inverse(lrr_inv: &Mat<f64>, par: Par) -> Mat<f64> {
    let n = lrr_inv.nrows();
    let mut out = Mat::<f64>::zeros(n, n);
    matmul(
        out.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        lrr_inv.transpose(),
        BlockStructure::TriangularUpper,
        lrr_inv.as_ref(),
        BlockStructure::TriangularLower,
        1.0,
        par,
    );
    out
}

impl LinearMixedModel {
    fn l(&self, i: usize, j: usize) -> f64 {
        self.factor.l(self.cp.mr, i, j)
    }

    /// The arrow factor when it describes the last successful evaluation (nested path).
    fn nested_current(&self) -> Option<&NestedRest> {
        let f = &self.factor;
        (f.ok && !f.dense && self.uses_nested())
            .then_some(f.nested.as_ref())
            .flatten()
    }

    /// The sparse factor when it describes the last successful evaluation (sparse path).
    pub(crate) fn sparse_current(&self) -> Option<&SparseRest> {
        let f = &self.factor;
        (f.ok && !f.dense && self.uses_sparse())
            .then_some(f.sparse.as_ref())
            .flatten()
    }

    /// Whether the dense factor (or, on the nested path, the arrow factor) describes the
    /// last evaluation: what the gradient reads. The accessors (β, modes, Lxx ...) also
    /// read the sparse factor.
    pub(crate) fn factor_current(&self) -> bool {
        self.factor.dense_valid() || self.nested_current().is_some()
    }

    /// β̂(θ) at the last successful evaluation (NaN entries if it failed).
    pub fn beta(&self) -> Vec<f64> {
        let mut beta = Vec::new();
        self.beta_into(&mut beta);
        beta
    }

    /// [`Self::beta`] written to `beta` (the dense path reuses its allocation).
    pub(crate) fn beta_into(&self, beta: &mut Vec<f64>) {
        let (qr, p, mr) = (self.cp.qr, self.cp.p, self.cp.mr);
        if let Some(nested) = self.nested_current() {
            *beta = nested.solve(p).0;
            return;
        }
        if let Some(sparse) = self.sparse_current() {
            *beta = sparse.solve().0;
            return;
        }
        beta.clear();
        if !self.factor.dense_valid() {
            beta.resize(p, f64::NAN);
            return;
        }
        beta.resize(p, 0.0);
        for c in (0..p).rev() {
            let mut s = self.l(mr - 1, qr + c);
            for (d, b) in beta.iter().enumerate().skip(c + 1) {
                s -= self.l(qr + d, qr + c) * b;
            }
            beta[c] = s / self.l(qr + c, qr + c);
        }
    }

    /// σ̂(θ) = √(r² / d), d = N (ML) or N − p (REML), at the last evaluation.
    pub fn sigma(&self) -> f64 {
        (self.factor.r2 / self.residual_dof()).sqrt()
    }

    /// r²(θ): the penalized weighted residual sum of squares at the last evaluation.
    pub fn pwrss(&self) -> f64 {
        self.factor.r2
    }

    /// log det(Lzz)² at the last evaluation (`ldL2` in lme4).
    pub fn logdet_z(&self) -> f64 {
        self.factor.logdet_z
    }

    /// log det(Lxx)² at the last evaluation (`ldRX2` in lme4).
    pub fn logdet_x(&self) -> f64 {
        self.factor.logdet_x
    }

    /// Lxx (p × p, lower triangular) at the last evaluation: Lxx Lxx' = X'V⁻¹X / σ² up to
    /// the profiling, so Var(β̂) = σ² (Lxx Lxx')⁻¹.
    pub fn lxx(&self) -> Mat<f64> {
        let (qr, p) = (self.cp.qr, self.cp.p);
        if let Some(nested) = self.nested_current() {
            return Mat::from_fn(p, p, |i, j| if i >= j { nested.lxx(p, i, j) } else { 0.0 });
        }
        if let Some(sparse) = self.sparse_current() {
            return sparse.lxx();
        }
        Mat::from_fn(
            p,
            p,
            |i, j| if i >= j { self.l(qr + i, qr + j) } else { 0.0 },
        )
    }

    /// (Lxx Lxx')⁻¹ at the last evaluation: Var(β̂) / σ².
    pub fn unscaled_vcov_beta(&self) -> Mat<f64> {
        let p = self.cp.p;
        let mut inv = Mat::<f64>::identity(p, p);
        solve_lower_triangular_in_place(self.lxx().as_ref(), inv.as_mut(), Par::Seq);
        inv.transpose() * &inv
    }

    /// Var(β̂) = σ̂² (Lxx Lxx')⁻¹ at the last evaluation.
    pub fn vcov_beta(&self) -> Mat<f64> {
        let s2 = self.sigma().powi(2);
        let v = self.unscaled_vcov_beta();
        Mat::from_fn(v.nrows(), v.ncols(), |i, j| s2 * v[(i, j)])
    }

    /// Spherical modes û at the last evaluation, in the engine's Z order: term 1 level
    /// by level (k1 per level), then terms 2..m likewise.
    pub fn spherical_modes(&self) -> Vec<f64> {
        let qr = self.cp.qr;
        if let Some(nested) = self.nested_current() {
            let (beta, ur) = nested.solve(self.cp.p);
            return self.first_term_modes(&ur, &beta);
        }
        if let Some(sparse) = self.sparse_current() {
            let (beta, ur) = sparse.solve();
            return self.first_term_modes(&ur, &beta);
        }
        let beta = self.beta();
        let (mut ur, mut u) = (Vec::with_capacity(qr), Vec::new());
        self.dense_spherical_modes_into(&beta, &mut ur, &mut u);
        u
    }

    /// [`Self::spherical_modes`] from the dense factor and β̂ (`beta`), written to `u`
    /// with `ur` as scratch: the gradient's route, which reuses both allocations.
    pub(crate) fn dense_spherical_modes_into(
        &self,
        beta: &[f64],
        ur: &mut Vec<f64>,
        u: &mut Vec<f64>,
    ) {
        let (qr, mr) = (self.cp.qr, self.cp.mr);
        ur.clear();
        ur.resize(qr, 0.0);
        for i in (0..qr).rev() {
            let mut s = self.l(mr - 1, i);
            for (c, b) in beta.iter().enumerate() {
                s -= self.l(qr + c, i) * b;
            }
            for (h, u) in ur.iter().enumerate().skip(i + 1) {
                s -= self.l(h, i) * u;
            }
            ur[i] = s / self.l(i, i);
        }
        self.first_term_modes_into(ur, beta, u);
    }

    /// The spherical modes of every term, given those of terms 2..m (`ur`, in R's row
    /// order) and β̂: each level of term 1 by back-substitution with its L_g and W_g.
    pub(crate) fn first_term_modes(&self, ur: &[f64], beta: &[f64]) -> Vec<f64> {
        let mut u = Vec::new();
        self.first_term_modes_into(ur, beta, &mut u);
        u
    }

    /// [`Self::first_term_modes`] written to `u` (resized; its allocation reused).
    fn first_term_modes_into(&self, ur: &[f64], beta: &[f64], u: &mut Vec<f64>) {
        let (qr, k1, g1) = (self.cp.qr, self.cp.k1, self.cp.g1);
        let x = |r: usize| if r < qr { ur[r] } else { beta[r - qr] };
        u.clear();
        u.resize(g1 * k1 + qr, 0.0);
        if k1 == 1 {
            let (w, rows) = (&self.factor.w, &self.cp.rows);
            for (g, ug) in u[..g1].iter_mut().enumerate() {
                let (lo, hi) = (self.cp.rows_ptr[g], self.cp.rows_ptr[g + 1]);
                let s: f64 = (lo..hi - 1).map(|a| w[a] * x(rows[a])).sum();
                *ug = (w[hi - 1] - s) / self.factor.lg[g];
            }
            u[g1..].copy_from_slice(ur);
            return;
        }
        for g in 0..g1 {
            let (lo, hi) = (self.cp.rows_ptr[g], self.cp.rows_ptr[g + 1]);
            let ug = &mut u[g * k1..(g + 1) * k1];
            ug.copy_from_slice(&self.factor.w[(hi - 1) * k1..hi * k1]);
            for a in lo..hi - 1 {
                let xa = x(self.cp.rows[a]);
                for (c, v) in ug.iter_mut().enumerate() {
                    *v -= self.factor.w[a * k1 + c] * xa;
                }
            }
            small::solve_lower_t(ug, &self.factor.lg[g * k1 * k1..(g + 1) * k1 * k1], k1);
        }
        u[g1 * k1..].copy_from_slice(ur);
    }

    /// Conditional modes b̂ = Λû per engine-ordered term: `levels × k` values, level-major.
    pub fn conditional_modes(&self) -> Vec<Vec<f64>> {
        let u = self.spherical_modes();
        let mut start = 0;
        self.terms
            .iter()
            .zip(&self.factor.t)
            .map(|(term, t)| {
                let k = term.k;
                let len = k * term.n_levels();
                let mut b = vec![0.0; len];
                for l in 0..term.n_levels() {
                    let s = start + l * k;
                    small::lower_times(t, &u[s..s + k], k, &mut b[l * k..(l + 1) * k]);
                }
                start += len;
                b
            })
            .collect()
    }

    /// Conditional covariance blocks Var(b_g | y) per engine-ordered term, `levels` blocks
    /// of k × k (column-major), scaled by σ̂².
    pub fn conditional_covariances(&self) -> Vec<Vec<f64>> {
        self.conditional_covariances_via(self.cp.qr >= INVERSE_FROM)
    }

    /// [`Self::conditional_covariances`] through the explicit (Lrr Lrr')⁻¹ or not (the
    /// two routes agree; tests compare them).
    #[doc(hidden)]
    pub fn conditional_covariances_via(&self, explicit_inverse: bool) -> Vec<Vec<f64>> {
        if let Some(nested) = self.nested_current() {
            let mut out = self.nested_conditional_blocks(nested);
            self.scale_conditional(&mut out);
            return out;
        }
        if let Some(sparse) = self.sparse_current() {
            let mut out = sparse.conditional_forms(self.cp.g1, &self.terms);
            self.first_term_from_forms(&mut out[0]);
            self.scale_conditional(&mut out);
            return out;
        }
        let lrr_inv = self.lrr_inverse();
        // Above INVERSE_FROM columns, form Lrr^{-T} Lrr⁻¹ once (a triangular product at
        // matrix-multiply speed) and read P_g'P_g = W_g (Lrr Lrr')⁻¹ W_g' from it: O(n_g²)
        // per level instead of a column of Lrr⁻¹ per row of W_g (sim (c), 2,000 columns:
        // 1.1 s → 0.2 s).
        let rr_inv = explicit_inverse.then(|| rr_inverse(&lrr_inv, Par::rayon(0)));
        let first = rr_inv
            .as_ref()
            .and_then(|inv| self.first_term_blocks_from_inverse(inv));
        let mut out = vec![first.unwrap_or_else(|| self.first_term_blocks(&lrr_inv))];
        for term in &self.terms[1..] {
            let k = term.k;
            let mut blocks = vec![0.0; term.n_levels() * k * k];
            for l in 0..term.n_levels() {
                let s = term.r_offset + l * k;
                let v = &mut blocks[l * k * k..(l + 1) * k * k];
                for a in 0..k {
                    for b in 0..k {
                        v[b * k + a] = match &rr_inv {
                            Some(inv) => inv[(s + a.max(b), s + a.min(b))],
                            None => (s..self.cp.qr)
                                .map(|i| lrr_inv[(i, s + a)] * lrr_inv[(i, s + b)])
                                .sum(),
                        };
                    }
                }
            }
            out.push(blocks);
        }
        self.scale_conditional(&mut out);
        out
    }

    /// Each block V of (Lzz Lzz')⁻¹ (per term, level by level) ← σ̂² T V T'.
    fn scale_conditional(&self, out: &mut [Vec<f64>]) {
        let s2 = self.sigma().powi(2);
        for (term_blocks, t) in out.iter_mut().zip(&self.factor.t) {
            let k = (t.len() as f64).sqrt() as usize;
            let (mut tmp, mut tv) = (vec![0.0; k * k], vec![0.0; k * k]);
            for block in term_blocks.chunks_exact_mut(k * k) {
                // tv = T V T' = (T V) T'
                for c in 0..k {
                    for r in 0..k {
                        tmp[c * k + r] = (0..=r).map(|m| t[m * k + r] * block[c * k + m]).sum();
                    }
                }
                for c in 0..k {
                    for r in 0..k {
                        tv[c * k + r] = (0..=c).map(|m| tmp[m * k + r] * t[m * k + c]).sum();
                    }
                }
                block.iter_mut().zip(&tv).for_each(|(b, v)| *b = s2 * v);
            }
        }
    }

    /// The diagonal blocks of (Lzz Lzz')⁻¹ from the arrow factor: S = (Lrr Lrr')⁻¹ on its
    /// pattern ([`NestedRest::arrow_inverse`] with no border rows) gives term 2's blocks,
    /// and term 1's are L_g^{-T} (I + W_g' S W_g) L_g⁻¹ over the rows of g's level of term 2.
    fn nested_conditional_blocks(&self, nested: &NestedRest) -> Vec<Vec<f64>> {
        let (k1, qr) = (self.cp.k1, self.cp.qr);
        let kk = k1 * k1;
        let inv = nested.arrow_inverse(qr, self.cp.p, 0);
        let mut first = vec![0.0; self.cp.g1 * kk];
        let (mut linv, mut tmp, mut s) = (vec![0.0; kk], vec![0.0; kk], vec![0.0; kk]);
        let mut sblock = Vec::new();
        for (g, block) in first.chunks_exact_mut(kk).enumerate() {
            let (lo, hi) = (self.cp.rows_ptr[g], self.cp.rows_ptr[g + 1]);
            let rows = &self.cp.rows[lo..hi];
            let nz = rows.partition_point(|&r| r < qr);
            sblock.clear();
            sblock.resize(nz * nz, 0.0);
            inv.gather(&rows[..nz], &mut sblock);
            let w = &self.factor.w[lo * k1..(lo + nz) * k1];
            for c in 0..k1 {
                for r in 0..k1 {
                    let mut v = f64::from(u8::from(r == c));
                    for b in 0..nz {
                        let sw: f64 = (0..nz).map(|a| w[a * k1 + r] * sblock[b * nz + a]).sum();
                        v += sw * w[b * k1 + c];
                    }
                    s[c * k1 + r] = v;
                }
            }
            small::lower_inverse(&self.factor.lg[g * kk..(g + 1) * kk], k1, &mut linv);
            small::congruence(&linv, &s, k1, &mut tmp, block);
        }
        let term = &self.terms[1];
        let second = (0..term.n_levels())
            .flat_map(|l| inv.level_block(l).to_vec())
            .collect();
        vec![first, second]
    }

    fn lrr_inverse(&self) -> Mat<f64> {
        let qr = self.cp.qr;
        let lrr = Mat::from_fn(qr, qr, |i, j| if i >= j { self.l(i, j) } else { 0.0 });
        let mut inv = Mat::<f64>::zeros(qr, qr);
        let par = if qr >= INVERSE_FROM {
            Par::rayon(0)
        } else {
            Par::Seq
        };
        invert_lower_triangular(inv.as_mut(), lrr.as_ref(), par);
        inv
    }

    /// [`Self::first_term_blocks`] from `inv` = (Lrr Lrr')⁻¹ (lower triangle): the
    /// P_g'P_g = W_g inv W_g' of all levels in one column-ordered pass over `inv`.
    /// `None` when there are no non-first terms (no column lists).
    fn first_term_blocks_from_inverse(&self, inv: &Mat<f64>) -> Option<Vec<f64>> {
        let schur = self.factor.schur.as_ref()?;
        let qr = self.cp.qr;
        let mut out = schur.level_forms(inv.as_ref(), &self.factor.w, &self.cp, qr);
        self.first_term_from_forms(&mut out);
        Some(out)
    }

    /// Each level's form V_g = W_g' (Lrr Lrr')⁻¹ W_g (k1 × k1, column-major) ←
    /// L_g^{-T} (I + V_g) L_g⁻¹, term 1's diagonal block of (Lzz Lzz')⁻¹.
    fn first_term_from_forms(&self, forms: &mut [f64]) {
        let k1 = self.cp.k1;
        let kk = k1 * k1;
        let (mut linv, mut tmp, mut s) = (vec![0.0; kk], vec![0.0; kk], vec![0.0; kk]);
        for (g, block) in forms.chunks_exact_mut(kk).enumerate() {
            s.copy_from_slice(block);
            for c in 0..k1 {
                s[c * k1 + c] += 1.0;
            }
            small::lower_inverse(&self.factor.lg[g * kk..(g + 1) * kk], k1, &mut linv);
            small::congruence(&linv, &s, k1, &mut tmp, block);
        }
    }

    fn first_term_blocks(&self, lrr_inv: &Mat<f64>) -> Vec<f64> {
        let (k1, qr) = (self.cp.k1, self.cp.qr);
        let kk = k1 * k1;
        let mut out = vec![0.0; self.cp.g1 * kk];
        let mut p = vec![0.0; qr * k1];
        let (mut linv, mut tmp, mut s) = (vec![0.0; kk], vec![0.0; kk], vec![0.0; kk]);
        for g in 0..self.cp.g1 {
            p.fill(0.0);
            let (lo, hi) = (self.cp.rows_ptr[g], self.cp.rows_ptr[g + 1]);
            for a in lo..hi {
                let r = self.cp.rows[a];
                if r >= qr {
                    break;
                }
                for c in 0..k1 {
                    let wac = self.factor.w[a * k1 + c];
                    for i in r..qr {
                        p[c * qr + i] += lrr_inv[(i, r)] * wac;
                    }
                }
            }
            // S = I + P'P, then V = L^{-T} S L^{-1}
            for a in 0..k1 {
                for b in 0..k1 {
                    let dot: f64 = (0..qr).map(|i| p[a * qr + i] * p[b * qr + i]).sum();
                    s[b * k1 + a] = dot + if a == b { 1.0 } else { 0.0 };
                }
            }
            let lg = &self.factor.lg[g * kk..(g + 1) * kk];
            small::lower_inverse(lg, k1, &mut linv);
            small::congruence(&linv, &s, k1, &mut tmp, &mut out[g * kk..(g + 1) * kk]);
        }
        out
    }
}
