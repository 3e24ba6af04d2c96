//! The analytic gradient of the profiled objective, on the dense path.
//!
//! With D = Λ ⊕ I (Λ = blockdiag(I_{G_j} ⊗ T_j)), M = [Z X y]'[Z X y] (weighted) and
//! J = I_q ⊕ 0, the augmented system is Ω = D'MD + J. Let P be the leading rows whose
//! log-determinant enters the objective: the Z rows (ML) or the Z and X rows (REML), and
//! d = N (ML) or N − p (REML). Then
//!
//!   objective(θ) = log det Ω_P + d · log r² + const,
//!
//! and for a parameter θ_j of term t with ∂T_t/∂θ_j = E (a constant matrix: the
//! structures are linear in θ):
//! - ∂ log det Ω_P = 2 tr(Ω_P⁻¹ D'M ∂D) = 2 Σ_{r,c} E[r,c] G_t[c,r], where
//!   G_t = Σ over t's levels l of the k×k block (l, l) of Ω_P⁻¹ D'M. Only the entries of
//!   Ω_P⁻¹ on the pattern of the blocked factor are needed (a selected inverse):
//!   S = (L_RP L_RP')⁻¹ on the dense block, then per level g of term 1
//!   Ω⁻¹[R, g] = −S W_g L_g⁻¹ and Ω⁻¹[g, g] = L_g^{-T}(I + W_g' S W_g) L_g⁻¹ on the rows
//!   of R that co-occur with g.
//! - ∂ r² = −2 e'Z ∂Λ û (envelope theorem: û and β̂ minimize the penalized sum of squares;
//!   e = y − Xβ̂ − ZΛû) = −2 Σ_{r,c} E[r,c] H_t[c,r] with H_t = Σ_l û_l (Z_l'e)', and Z'e is
//!   formed from the cross-products.
//!
//! So ∂objective/∂θ_j = 2 Σ_{r,c} E[r,c] (G_t − (d / r²) H_t)[c,r]. The cost is about that
//! of one evaluation plus the inverse of the dense block (two triangular products), so it is
//! offered only while that block is at most [`MAX_GRADIENT_BLOCK`] wide.

// Index loops over several small arrays at once read as the formulas do.
#![allow(clippy::needless_range_loop)]

use crate::eval::scale_blocks;
use crate::small;
use crate::LinearMixedModel;
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Accum, MatMut, MatRef, Par};

/// The widest leading dense block (columns of Z_2 .. Z_m, plus X under REML) for which
/// [`LinearMixedModel::gradient`] is offered: its inverse costs about two factorizations
/// of the block, more than a derivative-free step saves on large crossed models.
pub(crate) const MAX_GRADIENT_BLOCK: usize = 512;

/// Up to this width the inverse of the dense block is formed by plain loops.
const SMALL_INVERSE: usize = 32;

/// Workspaces of the gradient, sized on first use.
#[derive(Debug, Default)]
pub(crate) struct GradWork {
    /// L_RP⁻¹, then unused; np × np column-major.
    linv: Vec<f64>,
    /// S = (L_RP L_RP')⁻¹, np × np column-major, both triangles.
    s: Vec<f64>,
    /// Per level of term 1: S W_g, then Ω⁻¹[R, g] (k1 per packed row).
    v: Vec<f64>,
    /// Per level of term 1: Λ_R' B_g (k1 per packed row).
    bb: Vec<f64>,
    /// Per level of term 1: the row B_a T1 for each packed row.
    bt: Vec<f64>,
    /// Λ_R' C[:, col] on the P rows.
    x: Vec<f64>,
    /// Per R row: b̂ (Z rows), β̂ (X rows), −1 (y).
    phi: Vec<f64>,
    /// Z_R'e for the rows of Z_2 .. Z_m.
    ze: Vec<f64>,
    /// G_t per term (k × k column-major).
    gm: Vec<Vec<f64>>,
    /// H_t per term (k × k column-major).
    h: Vec<Vec<f64>>,
    /// Small k1 × k1 scratch: L_g⁻¹, I + W'SW, products, ∂T.
    small: [Vec<f64>; 4],
    /// The rows of the last level of term 1 and S on them (column-major).
    pattern: Vec<usize>,
    sblock: Vec<f64>,
    /// β̂ at the evaluation (dense path).
    beta: Vec<f64>,
    /// The spherical modes û (dense path) and the later terms' part of them.
    u: Vec<f64>,
    ur: Vec<f64>,
}

/// `sblock` = S on `rows` (the P rows of one level of term 1), unless the last level had
/// the same rows (`pattern`).
fn gather_pattern(
    pattern: &mut Vec<usize>,
    sblock: &mut Vec<f64>,
    rows: &[usize],
    sel: &impl Selected,
) {
    if pattern.as_slice() != rows {
        pattern.clear();
        pattern.extend_from_slice(rows);
        sblock.clear();
        sblock.resize(rows.len() * rows.len(), 0.0);
        sel.gather(pattern, sblock);
    }
}

/// Entries of S (the block of Ω_P⁻¹ on R) on the rows that co-occur with one level of
/// term 1.
pub(crate) trait Selected {
    /// out (n × n column-major, n = rows.len()) = S[rows, rows].
    fn gather(&self, rows: &[usize], out: &mut [f64]);
}

/// S held densely (np × np column-major).
struct DenseSelected<'a> {
    s: &'a [f64],
    np: usize,
}

impl Selected for DenseSelected<'_> {
    fn gather(&self, rows: &[usize], out: &mut [f64]) {
        let n = rows.len();
        for (b, &rb) in rows.iter().enumerate() {
            let scol = &self.s[rb * self.np..(rb + 1) * self.np];
            for (a, &ra) in rows.iter().enumerate() {
                out[b * n + a] = scol[ra];
            }
        }
    }
}

impl LinearMixedModel {
    /// Whether [`Self::gradient`] is available for this model: the nested path (see
    /// [`crate::nested`]), or the dense path with a leading dense block of at most
    /// [`MAX_GRADIENT_BLOCK`] columns (not the sparse path).
    pub fn has_gradient(&self) -> bool {
        self.factor.sparse.is_none()
            && (self.factor.nested.is_some() || self.gradient_block() <= MAX_GRADIENT_BLOCK)
    }

    /// Width of the leading dense block whose inverse the gradient needs.
    pub(crate) fn gradient_block(&self) -> usize {
        if self.reml {
            self.cp.qr + self.cp.p
        } else {
            self.cp.qr
        }
    }

    /// The gradient of [`Self::objective`] at θ, written into `grad` (length
    /// [`Self::n_theta`]). Factors Ω(θ) unless the last evaluation was at θ. Returns false,
    /// leaving `grad` unspecified, when the gradient is not available
    /// ([`Self::has_gradient`]), θ is invalid, or Ω(θ) is not positive definite.
    pub fn gradient(&mut self, theta: &[f64], grad: &mut [f64]) -> bool {
        if !self.has_gradient() || grad.len() != self.n_theta() {
            return false;
        }
        let current = self.factor_current() && self.theta.as_slice() == theta;
        if !current && !self.evaluate_with(theta, false) {
            return false;
        }
        let mut work = std::mem::take(&mut self.factor.grad);
        if let Some(nested) = self.factor.nested.as_ref().filter(|_| self.cp.k1 == 1) {
            self.reset_parts(&mut work);
            let bp = self.gradient_block() - self.cp.qr;
            let f = &self.factor;
            nested.scalar_gradient_parts(&self.cp, &f.t, &f.lg, bp, &mut work.gm, &mut work.h);
        } else if self.uses_nested() {
            self.nested_gradient_parts(&mut work);
        } else {
            let mut beta = std::mem::take(&mut work.beta);
            self.beta_into(&mut beta);
            match (self.terms.len(), self.cp.k1) {
                (1, 1) => self.single_term_parts::<1>(&mut work, &beta),
                (1, 2) => self.single_term_parts::<2>(&mut work, &beta),
                (1, 3) => self.single_term_parts::<3>(&mut work, &beta),
                _ => {
                    let (mut ur, mut u) =
                        (std::mem::take(&mut work.ur), std::mem::take(&mut work.u));
                    self.dense_spherical_modes_into(&beta, &mut ur, &mut u);
                    self.gradient_parts(&mut work, &beta, &u);
                    (work.ur, work.u) = (ur, u);
                }
            }
            work.beta = beta;
        }
        let d = self.residual_dof();
        let r2 = self.factor.r2;
        let mut ok = r2 > 0.0 && r2.is_finite();
        for (j, term) in self.terms.iter().enumerate() {
            let k = term.k;
            let own = term.theta(theta);
            let dt = &mut work.small[3];
            dt.resize(k * k, 0.0);
            for i in 0..term.n_theta() {
                term.structure.fill_factor_derivative(
                    i,
                    own,
                    MatMut::from_column_major_slice_mut(dt, k, k),
                );
                let mut acc = 0.0;
                for c in 0..k {
                    for r in 0..k {
                        let e = dt[c * k + r];
                        if e != 0.0 {
                            acc += e * (work.gm[j][r * k + c] - d / r2 * work.h[j][r * k + c]);
                        }
                    }
                }
                grad[term.theta_offset + i] = 2.0 * acc;
                ok &= acc.is_finite();
            }
        }
        self.factor.grad = work;
        ok
    }

    /// Fill G_t and H_t (see the module docs) at the last evaluation.
    fn gradient_parts(&self, w: &mut GradWork, beta: &[f64], u: &[f64]) {
        let cp = &self.cp;
        let f = &self.factor;
        let (k1, g1, qr, mr) = (cp.k1, cp.g1, cp.qr, cp.mr);
        let np = self.gradient_block();
        self.reset_parts(w);
        leading_inverse(&f.m, mr, np, &mut w.linv, &mut w.s, f.par);
        self.fill_phi(w, beta, &u[g1 * k1..]);
        // Z_R'e = −(C φ + Σ_g B_g b̂_g) on the Z rows of R; the C part here.
        w.ze.clear();
        w.ze.resize(qr, 0.0);
        if qr > 0 {
            for (col, &ph) in cp.c.chunks_exact(mr).zip(&w.phi) {
                if ph != 0.0 {
                    for (z, c) in w.ze.iter_mut().zip(&col[..qr]) {
                        *z -= c * ph;
                    }
                }
            }
        }
        let s = std::mem::take(&mut w.s);
        self.first_term_parts(w, u, np, &DenseSelected { s: &s, np });
        w.s = s;
        self.rest_parts(w, &u[g1 * k1..], np);
    }

    /// G_t and H_t set to zero, one k×k block per term.
    fn reset_parts(&self, w: &mut GradWork) {
        w.gm.resize_with(self.terms.len(), Vec::new);
        w.h.resize_with(self.terms.len(), Vec::new);
        for (j, term) in self.terms.iter().enumerate() {
            w.gm[j].clear();
            w.gm[j].resize(term.k * term.k, 0.0);
            w.h[j].clear();
            w.h[j].resize(term.k * term.k, 0.0);
        }
    }

    /// φ: b̂ on the Z rows of R (from the later terms' spherical modes `ur`), β̂ on X, −1
    /// on y.
    fn fill_phi(&self, w: &mut GradWork, beta: &[f64], ur: &[f64]) {
        let (qr, mr) = (self.cp.qr, self.cp.mr);
        w.phi.clear();
        w.phi.resize(mr, 0.0);
        for (term, t) in self.terms.iter().zip(&self.factor.t).skip(1) {
            let k = term.k;
            for l in 0..term.n_levels() {
                let s = term.r_offset + l * k;
                small::lower_times(t, &ur[s..s + k], k, &mut w.phi[s..s + k]);
            }
        }
        w.phi[qr..qr + self.cp.p].copy_from_slice(beta);
        w.phi[mr - 1] = -1.0;
    }

    /// [`Self::gradient_parts`] on the nested path: β̂ and û from the arrow factor, the
    /// selected inverse of its P block ([`crate::nested::ArrowInverse`]) in place of the
    /// dense S, and sums over the arrow pattern only (each level of term 2 meets its own
    /// rows and the border).
    fn nested_gradient_parts(&self, w: &mut GradWork) {
        let (qr, p, mr) = (self.cp.qr, self.cp.p, self.cp.mr);
        let np = self.gradient_block();
        let bp = np - qr;
        let Some(nested) = self.factor.nested.as_ref() else {
            return;
        };
        let inv = &nested.arrow_inverse(qr, p, bp);
        let (beta, ur) = nested.solve(p);
        let u = self.first_term_modes(&ur, &beta);
        self.reset_parts(w);
        self.fill_phi(w, &beta, &ur);
        let cp = &self.cp;
        let term = &self.terms[1];
        let (k2, t2) = (term.k, &self.factor.t[1]);
        // Z_R'e = −(C φ + Σ_g B_g b̂_g): the C part over each level's own rows and the border
        w.ze.clear();
        w.ze.resize(qr, 0.0);
        for l in 0..term.n_levels() {
            let s = l * k2;
            for r in 0..k2 {
                let col = &cp.c[(s + r) * mr..(s + r + 1) * mr];
                let own: f64 = (s..s + k2).map(|a| col[a] * w.phi[a]).sum();
                let border: f64 = (qr..mr).map(|a| col[a] * w.phi[a]).sum();
                w.ze[s + r] = -(own + border);
            }
        }
        self.first_term_parts(w, &u, np, inv);
        // G_2 += S[level rows, P] Λ_R' C[P, level column]; H_2 += û (Z'e)'
        let mut x = vec![0.0; k2 + bp];
        for l in 0..term.n_levels() {
            let s = l * k2;
            for r in 0..k2 {
                let col = &cp.c[(s + r) * mr..(s + r + 1) * mr];
                for a in 0..k2 {
                    x[a] = (a..k2).map(|m| t2[a * k2 + m] * col[s + m]).sum();
                }
                x[k2..].copy_from_slice(&col[qr..qr + bp]);
                for c in 0..k2 {
                    let own: f64 = (0..k2).map(|a| inv.at(s + c, s + a) * x[a]).sum();
                    let border: f64 = (0..bp).map(|b| inv.at(s + c, qr + b) * x[k2 + b]).sum();
                    w.gm[1][r * k2 + c] += own + border;
                    w.h[1][r * k2 + c] += ur[s + c] * w.ze[s + r];
                }
            }
        }
    }

    /// [`Self::gradient_parts`] for a model with one random term of `K` columns: R = [X, y],
    /// every level's packed rows are all of R, and û_g is solved level by level here.
    fn single_term_parts<const K: usize>(&self, w: &mut GradWork, beta: &[f64]) {
        let cp = &self.cp;
        let f = &self.factor;
        let (mr, p) = (cp.mr, cp.p);
        let np = self.gradient_block();
        let t1 = &f.t[0];
        leading_inverse(&f.m, mr, np, &mut w.linv, &mut w.s, f.par);
        w.gm.resize_with(1, Vec::new);
        w.h.resize_with(1, Vec::new);
        let mut gsum = [[0.0; K]; K]; // gsum[r][c] = G[c, r]
        let mut hsum = [[0.0; K]; K]; // hsum[r][c] = H[c, r]
        w.v.clear();
        w.v.resize(np * K, 0.0);
        let mut tm = [[0.0; K]; K]; // tm[c][r] = T1[r, c]
        for (c, col) in tm.iter_mut().enumerate() {
            col.copy_from_slice(&t1[c * K..(c + 1) * K]);
        }
        for g in 0..cp.g1 {
            let base = g * mr;
            let wg = &f.w[base * K..(base + mr) * K];
            let bgr = &cp.b[base * K..(base + mr) * K];
            let lg = &f.lg[g * K * K..(g + 1) * K * K];
            let dg = &cp.d[g * K * K..(g + 1) * K * K];
            // L_g⁻¹ (K×K column-major in the first K*K entries; K ≤ 3)
            let mut li = [0.0; 9];
            small::lower_inverse(lg, K, &mut li[..K * K]);
            // û_g = L_g^{-T} (W_y − Σ_x W_x β_x)
            let mut ug = [0.0; K];
            ug.copy_from_slice(&wg[p * K..(p + 1) * K]);
            for (x, b) in beta.iter().enumerate() {
                for c in 0..K {
                    ug[c] -= wg[x * K + c] * b;
                }
            }
            small::solve_lower_t(&mut ug, lg, K);
            // V = S W_P; K = I + W_P' V (column-major: km[c * K + r] = K[r, c])
            let mut km = [0.0; 9];
            for c in 0..K {
                km[c * K + c] = 1.0;
            }
            for a in 0..np {
                let scol = &w.s[a * np..(a + 1) * np];
                let mut va = [0.0; K];
                for (b, sab) in scol.iter().enumerate() {
                    for c in 0..K {
                        va[c] += sab * wg[b * K + c];
                    }
                }
                for c in 0..K {
                    for r in 0..K {
                        km[c * K + r] += wg[a * K + r] * va[c];
                    }
                }
                // Ω⁻¹[R, g] row a = −V_a L_g⁻¹
                small::row_times_lower(&mut va, &li[..K * K], K);
                for c in 0..K {
                    w.v[a * K + c] = -va[c];
                }
            }
            // Ω⁻¹[g, g] = L⁻ᵀ K L⁻¹ (column-major: zgg[c * K + r] = Z[r, c])
            let (mut tmp, mut zgg) = ([0.0; 9], [0.0; 9]);
            small::congruence(
                &li[..K * K],
                &km[..K * K],
                K,
                &mut tmp[..K * K],
                &mut zgg[..K * K],
            );
            // G += Z_gg T1' D_g + Ω⁻¹[R,g]' B_P
            for r in 0..K {
                let mut td = [0.0; K]; // column r of T1' D_g
                for m in 0..K {
                    let mut v = 0.0;
                    for q in m..K {
                        v += tm[m][q] * dg[r * K + q];
                    }
                    td[m] = v;
                }
                for c in 0..K {
                    let mut v = 0.0;
                    for m in 0..K {
                        v += zgg[m * K + c] * td[m];
                    }
                    for a in 0..np {
                        v += w.v[a * K + c] * bgr[a * K + r];
                    }
                    gsum[r][c] += v;
                }
            }
            // b̂_g = T1 û_g; Z_g'e = −(Σ_x B_x β_x − B_y + D_g b̂_g); H += û_g (Z_g'e)'
            let mut bgv = [0.0; K];
            small::lower_times(t1, &ug, K, &mut bgv);
            for r in 0..K {
                let mut v = -bgr[p * K + r];
                for (x, b) in beta.iter().enumerate() {
                    v += bgr[x * K + r] * b;
                }
                for m in 0..K {
                    v += dg[m * K + r] * bgv[m];
                }
                for c in 0..K {
                    hsum[r][c] -= ug[c] * v;
                }
            }
        }
        w.gm[0].clear();
        w.h[0].clear();
        for r in 0..K {
            w.gm[0].extend_from_slice(&gsum[r]);
            w.h[0].extend_from_slice(&hsum[r]);
        }
    }

    /// The contributions of each level of term 1: its block of G_1 and H_1, the
    /// cross blocks with the later terms' levels, and its part of Z_R'e.
    /// `sel` gives the entries of S = the block of Ω_P⁻¹ on R (rows < np) among the rows
    /// that co-occur with a level of term 1.
    fn first_term_parts(&self, w: &mut GradWork, u: &[f64], np: usize, sel: &impl Selected) {
        if self.cp.k1 == 1 {
            return self.first_term_parts_scalar(w, u, np, sel);
        }
        let cp = &self.cp;
        let f = &self.factor;
        let (k1, qr) = (cp.k1, cp.qr);
        let kk = k1 * k1;
        let t1 = &f.t[0];
        let [linv_g, kmat, tmp, _] = &mut w.small;
        linv_g.resize(kk, 0.0);
        kmat.resize(kk, 0.0);
        tmp.resize(kk, 0.0);
        let mut bg = vec![0.0; k1];
        let mut zeg = vec![0.0; k1];
        let mut zgg = vec![0.0; kk];
        w.pattern.clear();
        for g in 0..cp.g1 {
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            let rows = &cp.rows[lo..hi];
            let n_all = hi - lo;
            let n_p = rows.partition_point(|&r| r < np);
            let wg = &f.w[lo * k1..(lo + n_p) * k1];
            let lg = &f.lg[g * kk..(g + 1) * kk];
            // V = S[pat, pat] W_g (levels with the same pattern share the block)
            gather_pattern(&mut w.pattern, &mut w.sblock, &rows[..n_p], sel);
            w.v.clear();
            w.v.resize(n_p * k1, 0.0);
            for b in 0..n_p {
                let wb = &wg[b * k1..(b + 1) * k1];
                let scol = &w.sblock[b * n_p..(b + 1) * n_p];
                for (a, sab) in scol.iter().enumerate() {
                    for c in 0..k1 {
                        w.v[a * k1 + c] += sab * wb[c];
                    }
                }
            }
            // K = I + W'V, L_g⁻¹, Ω⁻¹[g, g] = L_g^{-T} K L_g⁻¹
            for c in 0..k1 {
                for r in 0..k1 {
                    let mut s = f64::from(u8::from(r == c));
                    for a in 0..n_p {
                        s += wg[a * k1 + r] * w.v[a * k1 + c];
                    }
                    kmat[c * k1 + r] = s;
                }
            }
            small::lower_inverse(lg, k1, linv_g);
            small::congruence(linv_g, kmat, k1, tmp, &mut zgg);
            // Ω⁻¹[R, g] = −V L_g⁻¹ (row by row)
            for row in w.v.chunks_exact_mut(k1) {
                small::row_times_lower(row, linv_g, k1);
                row.iter_mut().for_each(|x| *x = -*x);
            }
            // Λ_R' B_g on the P rows
            let bsrc = &cp.b[lo * k1..(lo + n_p) * k1];
            w.bb.clear();
            w.bb.extend_from_slice(bsrc);
            if qr > 0 {
                scale_blocks(&mut w.bb, &rows[..n_p], cp, &f.t);
            }
            // G_1 += Ω⁻¹[g,g] T1' D_g + Ω⁻¹[R,g]' Λ_R' B_g
            let dg = &cp.d[g * kk..(g + 1) * kk];
            let g1m = &mut w.gm[0];
            for r in 0..k1 {
                // column r of T1' D_g into tmp[..k1]
                for m in 0..k1 {
                    tmp[m] = (m..k1).map(|q| t1[m * k1 + q] * dg[r * k1 + q]).sum();
                }
                for c in 0..k1 {
                    let mut s: f64 = (0..k1).map(|m| zgg[m * k1 + c] * tmp[m]).sum();
                    for a in 0..n_p {
                        s += w.v[a * k1 + c] * w.bb[a * k1 + r];
                    }
                    g1m[r * k1 + c] += s;
                }
            }
            // b̂_g = T1 û_g; Z_g'e = −(Σ_a B_a φ_a + D_g b̂_g); H_1 += û_g (Z_g'e)'
            let ug = &u[g * k1..(g + 1) * k1];
            small::lower_times(t1, ug, k1, &mut bg);
            for r in 0..k1 {
                let mut s: f64 = (0..k1).map(|m| dg[m * k1 + r] * bg[m]).sum();
                for a in 0..n_all {
                    s += cp.b[(lo + a) * k1 + r] * w.phi[rows[a]];
                }
                zeg[r] = -s;
            }
            for r in 0..k1 {
                for c in 0..k1 {
                    w.h[0][r * k1 + c] += ug[c] * zeg[r];
                }
            }
            if qr == 0 {
                continue;
            }
            // Z_R'e −= B_a b̂_g on the Z rows of R co-occurring with g
            let n_z = rows.partition_point(|&r| r < qr);
            for a in 0..n_z {
                let ba = &cp.b[(lo + a) * k1..(lo + a + 1) * k1];
                w.ze[rows[a]] -= ba.iter().zip(&bg).map(|(x, y)| x * y).sum::<f64>();
            }
            // G_t[c, r] += Σ_m Ω⁻¹[(s+c), (g,m)] (B_{s+r} T1)[m] for each later term's block
            w.bt.clear();
            w.bt.extend_from_slice(&cp.b[lo * k1..(lo + n_z) * k1]);
            for row in w.bt.chunks_exact_mut(k1) {
                small::row_times_lower(row, t1, k1);
            }
            let mut a = 0;
            while a < n_z {
                let j = cp.r_term[rows[a]];
                let k = self.terms[j].k;
                let gt = &mut w.gm[j];
                for r in 0..k {
                    let btr = &w.bt[(a + r) * k1..(a + r + 1) * k1];
                    for c in 0..k {
                        let zc = &w.v[(a + c) * k1..(a + c + 1) * k1];
                        gt[r * k + c] += zc.iter().zip(btr).map(|(x, y)| x * y).sum::<f64>();
                    }
                }
                a += k;
            }
        }
    }

    /// [`Self::first_term_parts`] when term 1 has one column per level (k1 = 1): the same
    /// sums with scalars for L_g, T_1, D_g and û_g.
    fn first_term_parts_scalar(&self, w: &mut GradWork, u: &[f64], np: usize, sel: &impl Selected) {
        let cp = &self.cp;
        let f = &self.factor;
        let qr = cp.qr;
        let t1 = f.t[0][0];
        let (mut g1m, mut h1) = (0.0, 0.0);
        w.pattern.clear();
        for g in 0..cp.g1 {
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            let rows = &cp.rows[lo..hi];
            let n_p = rows.partition_point(|&r| r < np);
            let wg = &f.w[lo..lo + n_p];
            let bg_rows = &cp.b[lo..hi];
            let lg = f.lg[g];
            gather_pattern(&mut w.pattern, &mut w.sblock, &rows[..n_p], sel);
            // V = S[pat, pat] W_g; K = 1 + W'V; Ω⁻¹[g, g] = K / L_g²; Ω⁻¹[R, g] = −V / L_g
            w.v.clear();
            w.v.resize(n_p, 0.0);
            for (b, &wb) in wg.iter().enumerate() {
                let scol = &w.sblock[b * n_p..(b + 1) * n_p];
                w.v.iter_mut().zip(scol).for_each(|(v, s)| *v += s * wb);
            }
            let kg = 1.0 + wg.iter().zip(&w.v).map(|(a, b)| a * b).sum::<f64>();
            let zgg = kg / (lg * lg);
            w.v.iter_mut().for_each(|v| *v /= -lg);
            // G_1 += Ω⁻¹[g,g] T1 D_g + Ω⁻¹[R,g]' Λ_R' B_g
            w.bb.clear();
            w.bb.extend_from_slice(&bg_rows[..n_p]);
            if qr > 0 {
                scale_blocks(&mut w.bb, &rows[..n_p], cp, &f.t);
            }
            let dg = cp.d[g];
            g1m += zgg * t1 * dg + w.v.iter().zip(&w.bb).map(|(a, b)| a * b).sum::<f64>();
            // b̂_g = T1 û_g; Z_g'e = −(Σ_a B_a φ_a + D_g b̂_g); H_1 += û_g Z_g'e
            let bg = t1 * u[g];
            let s: f64 = bg_rows.iter().zip(rows).map(|(b, &r)| b * w.phi[r]).sum();
            h1 -= u[g] * (dg * bg + s);
            if qr == 0 {
                continue;
            }
            // Z_R'e −= B_a b̂_g on the Z rows of R co-occurring with g; then
            // G_t[c, r] += Ω⁻¹[(s+c), g] B_{s+r} T1 for each later term's block
            let n_z = rows.partition_point(|&r| r < qr);
            for (&r, b) in rows[..n_z].iter().zip(bg_rows) {
                w.ze[r] -= b * bg;
            }
            let mut a = 0;
            while a < n_z {
                let j = cp.r_term[rows[a]];
                let k = self.terms[j].k;
                let gt = &mut w.gm[j];
                for r in 0..k {
                    let btr = bg_rows[a + r] * t1;
                    for c in 0..k {
                        gt[r * k + c] += w.v[a + c] * btr;
                    }
                }
                a += k;
            }
        }
        w.gm[0][0] += g1m;
        w.h[0][0] += h1;
    }

    /// The later terms' own blocks: G_t from S and Λ_R' C, and H_t from Z_R'e.
    fn rest_parts(&self, w: &mut GradWork, ur: &[f64], np: usize) {
        let cp = &self.cp;
        let f = &self.factor;
        let (qr, mr) = (cp.qr, cp.mr);
        w.x.clear();
        w.x.resize(np, 0.0);
        for (j, term) in self.terms.iter().enumerate().skip(1) {
            let k = term.k;
            for l in 0..term.n_levels() {
                let s = term.r_offset + l * k;
                for r in 0..k {
                    let col = &cp.c[(s + r) * mr..(s + r + 1) * mr];
                    // x = Λ_R' C[:, s+r] on the P rows
                    w.x.copy_from_slice(&col[..np]);
                    let mut i = 0;
                    while i < qr.min(np) {
                        let jt = cp.r_term[i];
                        let (kt, tt) = (self.terms[jt].k, &f.t[jt]);
                        for a in 0..kt {
                            w.x[i + a] = (a..kt).map(|m| tt[a * kt + m] * col[i + m]).sum();
                        }
                        i += kt;
                    }
                    for c in 0..k {
                        let scol = &w.s[(s + c) * np..(s + c + 1) * np];
                        let v: f64 = scol.iter().zip(&w.x).map(|(a, b)| a * b).sum();
                        w.gm[j][r * k + c] += v;
                    }
                    for c in 0..k {
                        w.h[j][r * k + c] += ur[s + c] * w.ze[s + r];
                    }
                }
            }
        }
    }
}

/// S = (L L')⁻¹ for the leading np × np block L of the dense factor `m` (m_r × m_r,
/// column-major, lower triangle). `linv` and `s` are resized to np × np.
fn leading_inverse(
    m: &[f64],
    mr: usize,
    np: usize,
    linv: &mut Vec<f64>,
    s: &mut Vec<f64>,
    par: Par,
) {
    linv.clear();
    linv.resize(np * np, 0.0);
    s.clear();
    s.resize(np * np, 0.0);
    if np == 0 {
        return;
    }
    for i in 0..np {
        linv[i * np + i] = 1.0;
    }
    if np <= SMALL_INVERSE {
        // column j of L⁻¹: forward substitution from row j on
        for j in 0..np {
            for i in j..np {
                let mut v = linv[j * np + i];
                for q in j..i {
                    v -= m[q * mr + i] * linv[j * np + q];
                }
                linv[j * np + i] = v / m[i * mr + i];
            }
        }
        for j in 0..np {
            for i in j..np {
                let v: f64 = (i..np).map(|q| linv[i * np + q] * linv[j * np + q]).sum();
                s[j * np + i] = v;
                s[i * np + j] = v;
            }
        }
        return;
    }
    let l = MatRef::from_column_major_slice_with_stride(m, np, np, mr);
    let inv = MatMut::from_column_major_slice_mut(linv, np, np);
    solve_lower_triangular_in_place(l, inv, par);
    let inv = MatRef::from_column_major_slice(linv, np, np);
    let out = MatMut::from_column_major_slice_mut(s, np, np);
    matmul(out, Accum::Replace, inv.transpose(), inv, 1.0, par);
}
