//! The nested path: the rest block M for two nested terms (classes within schools: every
//! level of term 1 co-occurs with exactly one level of term 2).
//!
//! M = Λ_R' C Λ_R + I_z − Σ_g W_g W_g' (docs/MATH.md). When term 1 is nested in term 2,
//! each W_g touches one k2×k2 level block of term 2 and the X/y border, so the Z part of M
//! is block diagonal and M is an "arrow": G2 blocks of k2×k2 plus a dense (p+1)×(p+1)
//! border. Its Cholesky factor keeps that shape (no fill): per level l, L_l = chol(M_ll)
//! and F_l = M_xl L_l^{-T}; then Lxx = chol(M_xx − Σ_l F_l F_l'). An evaluation costs
//! O(G1 k1 (k2 + p)² + G2 (k2 + p)³) instead of the dense (qr + p)³ / 3, and allocates
//! nothing. With one column per level of term 1 the level factors L_g and rows W_g are
//! formed inside the sums over term 2's levels (one pass over the packed rows). The
//! estimates ([`arrow`]) and the gradient ([`gradient`]) read the arrow factor.

mod arrow;
mod gradient;

use super::levels::LevelBlocks;
use super::pieces::RestPieces;
use crate::crossprod::CrossProducts;
use crate::kernels;
use crate::terms::Term;

/// The nested arrow structure and its workspaces.
#[derive(Debug)]
pub(crate) struct NestedRest {
    /// Columns per level of term 2.
    k2: usize,
    /// For each level l of term 2 (in order), the levels g of term 1 within it:
    /// `members[members_ptr[l]..members_ptr[l + 1]]`.
    members_ptr: Vec<usize>,
    members: Vec<u32>,
    /// The factors L_l of the level blocks (k2×k2 column-major each, G2 of them).
    ls: Vec<f64>,
    /// The border rows F_l = M_xl L_l^{-T} of each level ((p+1)×k2 row-major each).
    fs: Vec<f64>,
    /// A level's unscaled block from C (k2×k2) and the congruence's temporary.
    c_ll: Vec<f64>,
    tmp: Vec<f64>,
    /// (p+1)×(p+1) trailing block, then its factor Lxx; column-major.
    mxx: Vec<f64>,
    /// One level of term 2's Σ W_g W_g' over its rows and the border ((k2+p+1)², lower
    /// triangle, column-major): the k1 = 1 path.
    acc: Vec<f64>,
    /// λ1 / L_g per level of term 1 (the k1 = 1 path).
    scale: Vec<f64>,
}

impl NestedRest {
    /// The nested structure of a two-term model whose first term is nested in the second
    /// (None otherwise).
    pub fn new(cp: &CrossProducts, terms: &[Term]) -> Option<Self> {
        if terms.len() != 2 {
            return None;
        }
        let k2 = terms[1].k;
        let g2 = terms[1].n_levels();
        let border = cp.p + 1;
        let mut level_of = Vec::with_capacity(cp.g1);
        for g in 0..cp.g1 {
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            if hi - lo != k2 + border || cp.rows[lo] % k2 != 0 {
                return None;
            }
            level_of.push(cp.rows[lo] / k2);
        }
        let mut members_ptr = vec![0usize; g2 + 1];
        for &l in &level_of {
            members_ptr[l + 1] += 1;
        }
        for l in 0..g2 {
            members_ptr[l + 1] += members_ptr[l];
        }
        let mut next = members_ptr.clone();
        let mut members = vec![0u32; cp.g1];
        for (g, &l) in level_of.iter().enumerate() {
            members[next[l]] = g as u32;
            next[l] += 1;
        }
        Some(NestedRest {
            k2,
            members_ptr,
            members,
            ls: vec![0.0; g2 * k2 * k2],
            fs: vec![0.0; g2 * border * k2],
            c_ll: vec![0.0; k2 * k2],
            tmp: vec![0.0; k2 * k2],
            mxx: vec![0.0; border * border],
            acc: vec![0.0; (k2 + border) * (k2 + border)],
            scale: if cp.k1 == 1 {
                vec![0.0; cp.g1]
            } else {
                Vec::new()
            },
        })
    }

    /// Factor the arrow block at the factors `t`, forming the level factors (`levels`)
    /// first: fused into the level sums when term 1 has one column per level. `None` when
    /// Ω(θ) is not positive definite.
    pub fn factor(
        &mut self,
        cp: &CrossProducts,
        t: &[Vec<f64>],
        levels: &mut LevelBlocks,
    ) -> Option<RestPieces> {
        let fused = cp.k1 == 1;
        let ok = if fused {
            scalar_levels(t[0][0], &cp.d, &mut levels.lg, &mut self.scale)
        } else {
            levels.factor(cp, t)
        };
        if !ok {
            return None;
        }
        self.load_border(cp);
        for l in 0..self.members_ptr.len() - 1 {
            if fused {
                self.fused_level_sum(cp, &t[1], &mut levels.w, l);
            } else {
                self.level_sum(cp, &levels.w, l);
            }
            if !self.finish_level(cp, &t[1], l) {
                return None;
            }
        }
        self.finish(cp.p)
    }

    /// `acc` = Σ W_g W_g' over the members g of level l of term 2, from W.
    fn level_sum(&mut self, cp: &CrossProducts, w: &[f64], l: usize) {
        let (k1, n) = (cp.k1, self.k2 + cp.p + 1);
        self.acc.fill(0.0);
        for &g in &self.members[self.members_ptr[l]..self.members_ptr[l + 1]] {
            let lo = cp.rows_ptr[g as usize];
            add_gram(&mut self.acc, &w[lo * k1..(lo + n) * k1], k1, n);
        }
    }

    /// [`Self::level_sum`] with one column per level of term 1, forming each member's
    /// W_g = λ1 Λ_R' B_g / L_g (into `w`) on the way.
    fn fused_level_sum(&mut self, cp: &CrossProducts, t2: &[f64], w: &mut [f64], l: usize) {
        let acc = &mut self.acc;
        let level = Level {
            members: &self.members[self.members_ptr[l]..self.members_ptr[l + 1]],
            scale: &self.scale,
            t2,
            k2: self.k2,
        };
        match self.k2 + cp.p + 1 {
            3 => level.sum::<3>(cp, w, acc),
            4 => level.sum::<4>(cp, w, acc),
            5 => level.sum::<5>(cp, w, acc),
            6 => level.sum::<6>(cp, w, acc),
            7 => level.sum::<7>(cp, w, acc),
            8 => level.sum::<8>(cp, w, acc),
            _ => level.sum_any(cp, w, acc),
        }
    }

    /// The levels of term 1 within level l of term 2.
    pub fn members(&self, l: usize) -> &[u32] {
        &self.members[self.members_ptr[l]..self.members_ptr[l + 1]]
    }

    /// Level l of term 2 from its Σ W_g W_g' in `acc` ((k2+p+1)², lower triangle): its
    /// block A = T2' C_ll T2 + I − Σ W_z W_z' and factor L_l, the border rows
    /// F_l = (C_xl T2 − Σ W_x W_z') L_l^{-T}, and M_xx −= Σ W_x W_x' + F_l F_l'. False if
    /// A is not positive definite.
    fn finish_level(&mut self, cp: &CrossProducts, t2: &[f64], l: usize) -> bool {
        let (k2, mr, qr) = (self.k2, cp.mr, cp.qr);
        let border = cp.p + 1;
        let (n, kk, s) = (k2 + border, k2 * k2, l * k2);
        let acc = &self.acc;
        let a = &mut self.ls[l * kk..(l + 1) * kk];
        let e = &mut self.fs[l * border * k2..(l + 1) * border * k2];
        for c in 0..k2 {
            for r in 0..k2 {
                self.c_ll[c * k2 + r] = cp.c[(s + c) * mr + s + r];
            }
        }
        kernels::congruence(t2, &self.c_ll, k2, &mut self.tmp, a);
        for c in 0..k2 {
            a[c * k2 + c] += 1.0;
            for r in c..k2 {
                a[c * k2 + r] -= acc[c * n + r];
            }
        }
        // E = C_xl T2 − Σ W_x W_z' (rows x of the border, columns of level l)
        for x in 0..border {
            let row = &mut e[x * k2..(x + 1) * k2];
            for (c, v) in row.iter_mut().enumerate() {
                *v = cp.c[(s + c) * mr + qr + x];
            }
            kernels::row_times_lower(row, t2, k2);
            for (c, v) in row.iter_mut().enumerate() {
                *v -= acc[c * n + k2 + x];
            }
        }
        if !kernels::chol(a, k2) {
            return false;
        }
        for row in e.chunks_exact_mut(k2) {
            kernels::row_solve_lower_t(row, a, k2);
        }
        // M_xx −= Σ W_x W_x' + F F' (lower triangle)
        for c in 0..border {
            for r in c..border {
                let dot: f64 = (0..k2).map(|m| e[r * k2 + m] * e[c * k2 + m]).sum();
                self.mxx[c * border + r] -= dot + acc[(k2 + c) * n + k2 + r];
            }
        }
        true
    }

    /// Factor the border block and read the log-determinants and r².
    fn finish(&mut self, p: usize) -> Option<RestPieces> {
        let (k2, border) = (self.k2, p + 1);
        if !kernels::chol(&mut self.mxx, border) {
            return None;
        }
        let ld_r = kernels::sum_ln(
            self.ls
                .chunks_exact(k2 * k2)
                .flat_map(|a| a.iter().step_by(k2 + 1).copied()),
        );
        let diag = |i: usize| self.mxx[i * border + i];
        let ld_x = kernels::sum_ln((0..p).map(diag));
        let lyy = diag(p);
        Some(RestPieces {
            logdet_z: 2.0 * ld_r,
            logdet_x: 2.0 * ld_x,
            pwrss: lyy * lyy,
        })
    }

    /// β̂ from the factor of the last successful [`Self::factor`]: back-substitution
    /// with Lxx and the y row.
    pub fn beta(&self, p: usize) -> Vec<f64> {
        let border = p + 1;
        let lxx = |i: usize, j: usize| self.mxx[j * border + i];
        let mut beta = vec![0.0; p];
        for c in (0..p).rev() {
            let mut s = lxx(p, c);
            for (d, b) in beta.iter().enumerate().skip(c + 1) {
                s -= lxx(d, c) * b;
            }
            beta[c] = s / lxx(c, c);
        }
        beta
    }

    /// The spherical modes of the level rows (q_R values) at β: per level l,
    /// L_l' u_l = F_l,y − Σ_x F_l,x β_x.
    pub fn rest_modes(&self, p: usize, beta: &[f64]) -> Vec<f64> {
        let (k2, border) = (self.k2, p + 1);
        let g2 = self.members_ptr.len() - 1;
        let mut ur = vec![0.0; g2 * k2];
        for (l, u) in ur.chunks_exact_mut(k2).enumerate() {
            let f = &self.fs[l * border * k2..(l + 1) * border * k2];
            u.copy_from_slice(&f[p * k2..(p + 1) * k2]);
            for (x, b) in beta.iter().enumerate() {
                for (c, v) in u.iter_mut().enumerate() {
                    *v -= f[x * k2 + c] * b;
                }
            }
            kernels::solve_lower_t(u, &self.ls[l * k2 * k2..(l + 1) * k2 * k2], k2);
        }
        ur
    }

    /// Entry (i, j), i ≥ j, of the border factor Lxx ((p+1)×(p+1): X rows, then y).
    pub fn lxx_entry(&self, p: usize, i: usize, j: usize) -> f64 {
        self.mxx[j * (p + 1) + i]
    }

    /// M_xx ← C_xx (the X/y corner of C; X and y are not scaled by Λ).
    fn load_border(&mut self, cp: &CrossProducts) {
        let (mr, qr, border) = (cp.mr, cp.qr, cp.p + 1);
        for c in 0..border {
            for r in 0..border {
                self.mxx[c * border + r] = cp.c[(qr + c) * mr + qr + r];
            }
        }
    }
}

/// One level of term 2 on the k1 = 1 path of [`NestedRest::factor`]: its levels of
/// term 1 and what their W_g need.
struct Level<'a> {
    members: &'a [u32],
    /// λ1 / L_g per level of term 1 (all levels).
    scale: &'a [f64],
    /// T2, k2×k2 column-major.
    t2: &'a [f64],
    k2: usize,
}

/// L_g = √(λ1² D_g + 1) into `lg` and λ1 / L_g into `scale`, for every level of term 1
/// (one vectorizable pass, so that the square roots and divisions are not on the level
/// sums' critical path); false if some λ1² D_g + 1 is not positive and finite.
fn scalar_levels(lam1: f64, d: &[f64], lg: &mut [f64], scale: &mut [f64]) -> bool {
    let l2 = lam1 * lam1;
    let mut ok = true;
    for ((l, sc), &dg) in lg.iter_mut().zip(scale.iter_mut()).zip(d) {
        let m = l2 * dg + 1.0;
        ok &= m > 0.0 && m < f64::INFINITY;
        *l = m.sqrt();
        *sc = lam1 / *l;
    }
    ok
}

impl Level<'_> {
    /// W_g = (λ1 / L_g) Λ_R' B_g of one level g of term 1 into `wg` (the first `wg.len()`
    /// packed rows: its k2 rows of term 2, then the border).
    #[inline(always)]
    fn level_row(&self, cp: &CrossProducts, g: usize, wg: &mut [f64]) {
        let (k2, n) = (self.k2, wg.len());
        let sc = self.scale[g];
        let lo = cp.rows_ptr[g];
        let b = &cp.b[lo..lo + n];
        // the level rows: (T2' b_z)[a] = Σ_{m ≥ a} T2[m, a] b_z[m]
        for (a, (w, col)) in wg.iter_mut().zip(self.t2.chunks_exact(k2)).enumerate() {
            *w = sc * (a..k2).map(|m| col[m] * b[m]).sum::<f64>();
        }
        for (x, v) in wg[k2..].iter_mut().zip(&b[k2..]) {
            *x = sc * v;
        }
    }

    /// Fill `w` for the level's members and set `acc` (N×N column-major, lower triangle)
    /// to Σ W_g W_g', N = k2 + p + 1 known at compile time.
    fn sum<const N: usize>(&self, cp: &CrossProducts, w: &mut [f64], acc: &mut [f64]) {
        let mut sum = [[0.0; N]; N];
        for &g in self.members {
            let lo = cp.rows_ptr[g as usize];
            let wg: &mut [f64; N] = (&mut w[lo..lo + N]).try_into().expect("N packed rows");
            self.level_row(cp, g as usize, wg);
            for (c, col) in sum.iter_mut().enumerate() {
                for r in c..N {
                    col[r] += wg[r] * wg[c];
                }
            }
        }
        for (c, col) in sum.iter().enumerate() {
            acc[c * N..(c + 1) * N].copy_from_slice(col);
        }
    }

    /// [`Self::sum`] for any number n of packed rows (`acc` has n² entries).
    fn sum_any(&self, cp: &CrossProducts, w: &mut [f64], acc: &mut [f64]) {
        acc.fill(0.0);
        let n = (acc.len() as f64).sqrt().round() as usize;
        for &g in self.members {
            let lo = cp.rows_ptr[g as usize];
            let wg = &mut w[lo..lo + n];
            self.level_row(cp, g as usize, wg);
            for (c, &wc) in wg.iter().enumerate() {
                let col = &mut acc[c * n + c..(c + 1) * n];
                col.iter_mut()
                    .zip(&wg[c..])
                    .for_each(|(o, wr)| *o += wr * wc);
            }
        }
    }
}

/// acc (column-major n×n, lower triangle) += U U' where U holds n rows of k1 values.
fn add_gram(acc: &mut [f64], u: &[f64], k1: usize, n: usize) {
    for c in 0..n {
        let uc = &u[c * k1..(c + 1) * k1];
        for r in c..n {
            let ur = &u[r * k1..(r + 1) * k1];
            acc[c * n + r] += ur.iter().zip(uc).map(|(a, b)| a * b).sum::<f64>();
        }
    }
}
