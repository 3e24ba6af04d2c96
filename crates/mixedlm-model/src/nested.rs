//! The "rest" block M for two nested terms (classes within schools: every level of term 1
//! co-occurs with exactly one level of term 2): the objective's fast path.
//!
//! M = Λ_R' C Λ_R + I_z − Σ_g W_g W_g' (see [`crate::eval`]). When term 1 is nested in
//! term 2, each W_g touches one k2×k2 level block of term 2 and the X/y border, so the Z
//! part of M is block diagonal and M is an "arrow": G2 blocks of k2×k2 plus a dense
//! (p+1)×(p+1) border. Its Cholesky factor keeps that shape (no fill): per level l,
//! L_l = chol(M_ll) and F_l = M_xl L_l^{-T}; then Lxx = chol(M_xx − Σ_l F_l F_l'). An
//! evaluation costs O(G1 k1 (k2 + p)² + G2 (k2 + p)³) instead of the dense (qr + p)³ / 3,
//! and allocates nothing. It gives the log-determinants and r² only, as the sparse path;
//! the estimates come from the dense factor at the optimum.

use crate::crossprod::CrossProducts;
use crate::small;
use crate::terms::Term;

/// The nested arrow structure and its workspaces.
#[derive(Debug)]
pub struct NestedRest {
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

/// Entries of S = M_PP⁻¹ on the arrow pattern, where P is the level rows plus the first
/// `bp` border rows (the X rows under REML, none under ML): the level blocks S_ll, the
/// border rows S_xl and the corner S_xx. With M_PP = L L', L = [L_D 0; F_P L_P]:
/// S_xx = (L_P L_P')⁻¹, S_xl = −S_xx F_l L_l⁻¹, S_ll = L_l^{-T} (I + F_l' S_xx F_l) L_l⁻¹.
#[derive(Debug)]
pub(crate) struct ArrowInverse {
    /// Rows of the level blocks (q_R).
    qr: usize,
    k2: usize,
    bp: usize,
    /// G2 blocks k2×k2 column-major.
    sll: Vec<f64>,
    /// G2 blocks bp×k2 row-major.
    sxl: Vec<f64>,
    /// bp×bp column-major.
    sxx: Vec<f64>,
}

impl crate::gradient::Selected for ArrowInverse {
    fn gather(&self, rows: &[usize], out: &mut [f64]) {
        let n = rows.len();
        let (k2, bp, qr) = (self.k2, self.bp, self.qr);
        // the rows of a level of term 1: its level's block of k2 rows, then the border
        let nz = rows.partition_point(|&r| r < qr);
        if nz != k2 || n != k2 + bp || rows[nz..].iter().zip(qr..).any(|(&r, i)| r != i) {
            for (b, &rb) in rows.iter().enumerate() {
                for (a, &ra) in rows.iter().enumerate() {
                    out[b * n + a] = self.at(ra, rb);
                }
            }
            return;
        }
        self.level_rows(rows[0] / k2, out);
    }
}

impl ArrowInverse {
    /// The k2×k2 block S_ll of level l of term 2 (column-major).
    pub(crate) fn level_block(&self, l: usize) -> &[f64] {
        let kk = self.k2 * self.k2;
        &self.sll[l * kk..(l + 1) * kk]
    }

    /// S on level l's P rows (its k2 rows, then the bp border rows of P) into `out`
    /// ((k2 + bp)², column-major, both triangles).
    pub(crate) fn level_rows(&self, l: usize, out: &mut [f64]) {
        let (k2, bp) = (self.k2, self.bp);
        let np = k2 + bp;
        let sll = self.level_block(l);
        let sxl = &self.sxl[l * bp * k2..(l + 1) * bp * k2];
        for c in 0..np {
            for r in 0..np {
                out[c * np + r] = match (r < k2, c < k2) {
                    (true, true) => sll[c * k2 + r],
                    (false, false) => self.sxx[(c - k2) * bp + r - k2],
                    (true, false) => sxl[(c - k2) * k2 + r],
                    (false, true) => sxl[(r - k2) * k2 + c],
                };
            }
        }
    }

    /// S[a, b] for rows a, b of the P block that lie on the arrow pattern (the same level
    /// or the border); 0 for two different levels.
    #[inline]
    pub(crate) fn at(&self, a: usize, b: usize) -> f64 {
        let (k2, bp, qr) = (self.k2, self.bp, self.qr);
        match (a < qr, b < qr) {
            (true, true) => {
                let l = a / k2;
                if b / k2 != l {
                    return 0.0;
                }
                self.sll[l * k2 * k2 + (b % k2) * k2 + a % k2]
            }
            (false, false) => self.sxx[(b - qr) * bp + a - qr],
            (true, false) => self.sxl[(a / k2) * bp * k2 + (b - qr) * k2 + a % k2],
            (false, true) => self.sxl[(b / k2) * bp * k2 + (a - qr) * k2 + b % k2],
        }
    }
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

    /// log det(L_rr)² (the term-2 part of Lzz), log det(Lxx)² and r² = Lyy² from the
    /// factors T_j (`t`) and W (`w`, k1 values per packed row of B, already Λ_R'-scaled).
    /// None when M is not positive definite.
    pub fn factor(
        &mut self,
        cp: &CrossProducts,
        t: &[Vec<f64>],
        w: &[f64],
    ) -> Option<(f64, f64, f64)> {
        let k1 = cp.k1;
        let n = self.k2 + cp.p + 1;
        self.load_border(cp);
        for l in 0..self.members_ptr.len() - 1 {
            self.acc.fill(0.0);
            for &g in &self.members[self.members_ptr[l]..self.members_ptr[l + 1]] {
                let lo = cp.rows_ptr[g as usize];
                add_gram(&mut self.acc, &w[lo * k1..(lo + n) * k1], k1, n);
            }
            if !self.finish_level(cp, &t[1], l) {
                return None;
            }
        }
        self.finish(cp.p)
    }

    /// The levels of term 1 within level l of term 2.
    pub(crate) fn members(&self, l: usize) -> &[u32] {
        &self.members[self.members_ptr[l]..self.members_ptr[l + 1]]
    }

    /// [`Self::factor`] when term 1 has one column per level (k1 = 1), with step 1 and 2 of
    /// [`crate::eval`] fused in: per level g of term 1, L_g = √(λ1² D_g + 1) (into `lg`)
    /// and W_g = λ1 Λ_R' B_g / L_g (into `w`), whose outer product is summed at once into
    /// its level of term 2's block (k2 + p + 1 rows: one pass over the packed rows, where
    /// the general path makes three). None when Ω is not positive definite.
    pub fn factor_scalar(
        &mut self,
        cp: &CrossProducts,
        t: &[Vec<f64>],
        lg: &mut [f64],
        w: &mut [f64],
    ) -> Option<(f64, f64, f64)> {
        let k2 = self.k2;
        let n = k2 + cp.p + 1;
        let t2 = &t[1];
        if !scalar_levels(t[0][0], &cp.d, lg, &mut self.scale) {
            return None;
        }
        self.load_border(cp);
        for l in 0..self.members_ptr.len() - 1 {
            let acc = &mut self.acc;
            let level = Level {
                members: &self.members[self.members_ptr[l]..self.members_ptr[l + 1]],
                scale: &self.scale,
                t2,
                k2,
            };
            match n {
                3 => level.sum::<3>(cp, w, acc),
                4 => level.sum::<4>(cp, w, acc),
                5 => level.sum::<5>(cp, w, acc),
                6 => level.sum::<6>(cp, w, acc),
                7 => level.sum::<7>(cp, w, acc),
                8 => level.sum::<8>(cp, w, acc),
                _ => level.sum_any(cp, w, acc),
            }
            if !self.finish_level(cp, t2, l) {
                return None;
            }
        }
        self.finish(cp.p)
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
        small::congruence(t2, &self.c_ll, k2, &mut self.tmp, a);
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
            small::row_times_lower(row, t2, k2);
            for (c, v) in row.iter_mut().enumerate() {
                *v -= acc[c * n + k2 + x];
            }
        }
        if !small::chol(a, k2) {
            return false;
        }
        for row in e.chunks_exact_mut(k2) {
            small::row_solve_lower_t(row, a, k2);
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
    fn finish(&mut self, p: usize) -> Option<(f64, f64, f64)> {
        let (k2, border) = (self.k2, p + 1);
        if !small::chol(&mut self.mxx, border) {
            return None;
        }
        let ld_r = small::sum_ln(
            self.ls
                .chunks_exact(k2 * k2)
                .flat_map(|a| a.iter().step_by(k2 + 1).copied()),
        );
        let diag = |i: usize| self.mxx[i * border + i];
        let ld_x = small::sum_ln((0..p).map(diag));
        let lyy = diag(p);
        Some((2.0 * ld_r, 2.0 * ld_x, lyy * lyy))
    }

    /// β̂ and the spherical modes of the level rows (q_R values) from the factor of the
    /// last successful [`Self::factor`]: back-substitution with the y row of the factor.
    pub(crate) fn solve(&self, p: usize) -> (Vec<f64>, Vec<f64>) {
        let (k2, border) = (self.k2, p + 1);
        let lxx = |i: usize, j: usize| self.mxx[j * border + i];
        let mut beta = vec![0.0; p];
        for c in (0..p).rev() {
            let mut s = lxx(p, c);
            for (d, b) in beta.iter().enumerate().skip(c + 1) {
                s -= lxx(d, c) * b;
            }
            beta[c] = s / lxx(c, c);
        }
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
            small::solve_lower_t(u, &self.ls[l * k2 * k2..(l + 1) * k2 * k2], k2);
        }
        (beta, ur)
    }

    /// G_1, H_1, G_2 and H_2 of [`crate::gradient`] on the k1 = 1 path, from the arrow
    /// factor of the last successful [`Self::factor_scalar`] (`lg` holds its L_g) and its
    /// selected inverse S (`bp` border rows in P). With s_g = λ1²/L_g², b_g = B_g, the
    /// level sums A_l = Σ s_g b_g b_g' and Q_l = Σ b_g b_g'/L_g⁴ over the members g of
    /// level l of term 2, N_l = C_[l] − A_l (C on l's rows and the border), φ = (T2 û_l,
    /// β̂, −1) and S̃ = Λ_R S Λ_R', the module's formulas reduce, with û_g = −λ1 b_g'φ/L_g²,
    /// to
    /// - G_1 = λ1 Σ_g D_g/L_g² − λ1 Σ_l tr(S̃_l Q_l) (on the P rows),
    /// - H_1 = λ1 Σ_l φ_l' Q_l φ_l,
    /// - G_2[c, r] = Σ_l (S Λ_R' N_l)[s+c, s+r] and H_2 = Σ_l û_l (Z_l'e)' with
    ///   Z_l'e = −(N_l φ_l) on l's rows,
    ///
    /// so an evaluation's gradient costs two outer products per level of term 1 and small
    /// products per level of term 2.
    pub(crate) fn scalar_gradient_parts(
        &self,
        cp: &CrossProducts,
        t: &[Vec<f64>],
        lg: &[f64],
        bp: usize,
        gm: &mut [Vec<f64>],
        h: &mut [Vec<f64>],
    ) {
        let (k2, mr, qr, p) = (self.k2, cp.mr, cp.qr, cp.p);
        let n = k2 + p + 1;
        let np = k2 + bp;
        let inv = self.arrow_inverse(qr, p, bp);
        let (beta, ur) = self.solve(p);
        let (lam1, t2) = (t[0][0], &t[1]);
        // row i of a level's block: its own rows of term 2, then the border
        let rrow = |s: usize, i: usize| if i < k2 { s + i } else { qr + i - k2 };
        let (mut a, mut q, mut nm) = (vec![0.0; n * n], vec![0.0; n * n], vec![0.0; n * n]);
        let mut phi = vec![0.0; n];
        let (mut sl, mut tmp, mut y) = (vec![0.0; np * np], vec![0.0; np * np], vec![0.0; np]);
        let (mut g1, mut h1) = (0.0, 0.0);
        let (gm2, h2) = (&mut gm[1], &mut h[1]);
        for l in 0..self.members_ptr.len() - 1 {
            let s = l * k2;
            let sums = PairSums {
                members: &self.members[self.members_ptr[l]..self.members_ptr[l + 1]],
                lg,
                lam1,
            };
            g1 += match n {
                3 => sums.sum::<3>(cp, &mut a, &mut q),
                4 => sums.sum::<4>(cp, &mut a, &mut q),
                5 => sums.sum::<5>(cp, &mut a, &mut q),
                6 => sums.sum::<6>(cp, &mut a, &mut q),
                7 => sums.sum::<7>(cp, &mut a, &mut q),
                8 => sums.sum::<8>(cp, &mut a, &mut q),
                _ => sums.sum_any(cp, n, &mut a, &mut q),
            };
            // N_l = C_[l] − A_l (a and q hold both triangles)
            for c in 0..n {
                let col = &cp.c[rrow(s, c) * mr..(rrow(s, c) + 1) * mr];
                for r in 0..n {
                    nm[c * n + r] = col[rrow(s, r)] - a[c * n + r];
                }
            }
            small::lower_times(t2, &ur[s..s + k2], k2, &mut phi[..k2]);
            phi[k2..k2 + p].copy_from_slice(&beta);
            phi[n - 1] = -1.0;
            // H_1 += λ1 φ'Qφ
            let quad: f64 = (0..n)
                .map(|c| phi[c] * (0..n).map(|r| q[c * n + r] * phi[r]).sum::<f64>())
                .sum();
            h1 += lam1 * quad;
            // S on the level's P rows (unscaled, both triangles)
            inv.level_rows(l, &mut sl);
            // G_1 −= λ1 tr(S̃ Q) = λ1 tr(S Q̃), Q̃ = Λ' Q Λ on the P rows (Λ = T2 ⊕ I)
            for j in 0..np {
                for i in 0..np {
                    tmp[j * np + i] = if j < k2 {
                        (j..k2).map(|m| q[m * n + i] * t2[j * k2 + m]).sum()
                    } else {
                        q[j * n + i]
                    };
                }
            }
            let mut tr = 0.0;
            for j in 0..np {
                let col = &tmp[j * np..(j + 1) * np];
                for i in 0..np {
                    let qt = if i < k2 {
                        (i..k2).map(|m| t2[i * k2 + m] * col[m]).sum()
                    } else {
                        col[i]
                    };
                    tr += sl[j * np + i] * qt;
                }
            }
            g1 -= lam1 * tr;
            for r in 0..k2 {
                // y = Λ_R' N_l[:, r] on the P rows; G_2[c, r] += S[c, :] y
                let ncol = &nm[r * n..(r + 1) * n];
                for (i, v) in y.iter_mut().enumerate() {
                    *v = if i < k2 {
                        (i..k2).map(|m| t2[i * k2 + m] * ncol[m]).sum()
                    } else {
                        ncol[i]
                    };
                }
                for c in 0..k2 {
                    let scol = &sl[c * np..(c + 1) * np];
                    gm2[r * k2 + c] += scol.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>();
                }
                // H_2 += û_l (Z_l'e)', Z_l'e = −N_l φ on the level's rows
                let ze = -ncol.iter().zip(&phi).map(|(a, b)| a * b).sum::<f64>();
                for c in 0..k2 {
                    h2[r * k2 + c] += ur[s + c] * ze;
                }
            }
        }
        gm[0][0] += g1;
        h[0][0] += h1;
    }

    /// The selected inverse of M_PP ([`ArrowInverse`]) from the factor of the last
    /// successful [`Self::factor`]; `bp` is the number of border rows in P.
    pub(crate) fn arrow_inverse(&self, qr: usize, p: usize, bp: usize) -> ArrowInverse {
        let (k2, border) = (self.k2, p + 1);
        let kk = k2 * k2;
        let g2 = self.members_ptr.len() - 1;
        let mut inv = ArrowInverse {
            qr,
            k2,
            bp,
            sll: vec![0.0; g2 * kk],
            sxl: vec![0.0; g2 * bp * k2],
            sxx: vec![0.0; bp * bp],
        };
        // S_xx = L_P^{-T} L_P^{-1}
        let mut lp = vec![0.0; bp * bp];
        for c in 0..bp {
            for r in 0..bp {
                lp[c * bp + r] = self.mxx[c * border + r];
            }
        }
        let mut lp_inv = vec![0.0; bp * bp];
        small::lower_inverse(&lp, bp, &mut lp_inv);
        let mut eye = vec![0.0; bp * bp];
        for i in 0..bp {
            eye[i * bp + i] = 1.0;
        }
        small::congruence(&lp_inv, &eye, bp, &mut lp, &mut inv.sxx);
        let (mut l_inv, mut kmat, mut tmp) = (vec![0.0; kk], vec![0.0; kk], vec![0.0; kk]);
        for l in 0..g2 {
            let f = &self.fs[l * border * k2..l * border * k2 + bp * k2];
            let y = &mut inv.sxl[l * bp * k2..(l + 1) * bp * k2];
            // Y = S_xx F_P (bp×k2 row-major)
            for x in 0..bp {
                for c in 0..k2 {
                    y[x * k2 + c] = (0..bp).map(|z| inv.sxx[z * bp + x] * f[z * k2 + c]).sum();
                }
            }
            // K = I + F_P' Y
            for c in 0..k2 {
                for r in 0..k2 {
                    let s: f64 = (0..bp).map(|x| f[x * k2 + r] * y[x * k2 + c]).sum();
                    kmat[c * k2 + r] = s + f64::from(u8::from(r == c));
                }
            }
            small::lower_inverse(&self.ls[l * kk..(l + 1) * kk], k2, &mut l_inv);
            small::congruence(
                &l_inv,
                &kmat,
                k2,
                &mut tmp,
                &mut inv.sll[l * kk..(l + 1) * kk],
            );
            // S_xl = −Y L_l⁻¹
            for row in y.chunks_exact_mut(k2) {
                small::row_times_lower(row, &l_inv, k2);
                row.iter_mut().for_each(|v| *v = -*v);
            }
        }
        inv
    }

    /// Entry (i, j), i ≥ j, of the border factor Lxx ((p+1)×(p+1): X rows, then y).
    pub(crate) fn lxx(&self, p: usize, i: usize, j: usize) -> f64 {
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

/// One level of term 2 on the k1 = 1 path of [`NestedRest::factor_scalar`]: its levels of
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

/// The gradient's sums over one level of term 2's members on the k1 = 1 path (see
/// [`NestedRest::scalar_gradient_parts`]).
struct PairSums<'a> {
    members: &'a [u32],
    /// L_g per level of term 1.
    lg: &'a [f64],
    lam1: f64,
}

impl PairSums<'_> {
    /// A = Σ (λ1²/L_g²) b_g b_g' and Q = Σ b_g b_g' / L_g⁴ (N×N column-major, both
    /// triangles) over the members; returns λ1 Σ D_g / L_g².
    fn sum<const N: usize>(&self, cp: &CrossProducts, a: &mut [f64], q: &mut [f64]) -> f64 {
        let (mut sa, mut sq) = ([[0.0; N]; N], [[0.0; N]; N]);
        let mut g1 = 0.0;
        for &g in self.members {
            let g = g as usize;
            let lo = cp.rows_ptr[g];
            let b: &[f64; N] = cp.b[lo..lo + N].try_into().expect("N packed rows");
            let inv = 1.0 / (self.lg[g] * self.lg[g]);
            let (sg, qg) = (self.lam1 * self.lam1 * inv, inv * inv);
            g1 += self.lam1 * cp.d[g] * inv;
            for c in 0..N {
                let (bs, bq) = (sg * b[c], qg * b[c]);
                for r in c..N {
                    sa[c][r] += b[r] * bs;
                    sq[c][r] += b[r] * bq;
                }
            }
        }
        for c in 0..N {
            for r in c..N {
                a[c * N + r] = sa[c][r];
                a[r * N + c] = sa[c][r];
                q[c * N + r] = sq[c][r];
                q[r * N + c] = sq[c][r];
            }
        }
        g1
    }

    /// [`Self::sum`] for any number n of packed rows.
    fn sum_any(&self, cp: &CrossProducts, n: usize, a: &mut [f64], q: &mut [f64]) -> f64 {
        a.fill(0.0);
        q.fill(0.0);
        let mut g1 = 0.0;
        for &g in self.members {
            let g = g as usize;
            let lo = cp.rows_ptr[g];
            let b = &cp.b[lo..lo + n];
            let inv = 1.0 / (self.lg[g] * self.lg[g]);
            let (sg, qg) = (self.lam1 * self.lam1 * inv, inv * inv);
            g1 += self.lam1 * cp.d[g] * inv;
            for (c, &bc) in b.iter().enumerate() {
                for (r, &br) in b.iter().enumerate() {
                    a[c * n + r] += br * bc * sg;
                    q[c * n + r] += br * bc * qg;
                }
            }
        }
        g1
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

#[cfg(test)]
mod tests {
    use crate::testing::{design_with_x, random_term};
    use crate::{LinearMixedModel, ModelOptions};
    use mixedlm_design::Design;

    /// Students in classes in schools: `y ~ 1 + x + (1 + x | school) + (1 | school:class)`
    /// with deterministic pseudo-random values (k2 = 2), or `(1 | school)` (k2 = 1).
    fn nested_design(slopes: bool) -> Design {
        let (schools, classes, students) = (12, 5, 6);
        let n = schools * classes * students;
        let mut state = 12345u64;
        let mut unif = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let (mut y, mut x, mut school, mut class) = (vec![], vec![], vec![], vec![]);
        for s in 0..schools {
            let (us, vs) = (2.0 * unif(), unif());
            for c in 0..classes {
                let uc = unif();
                for _ in 0..students {
                    let xi = 3.0 * unif();
                    x.push(xi);
                    y.push(1.0 + 0.5 * xi + us + vs * xi + uc + 0.7 * unif());
                    school.push(s as u32);
                    class.push((s * classes + c) as u32);
                }
            }
        }
        let mut xdata = vec![1.0; n];
        xdata.extend_from_slice(&x);
        let school_term = if slopes {
            random_term("school", schools, school, xdata, &["(Intercept)", "x"])
        } else {
            random_term("school", schools, school, vec![1.0; n], &["(Intercept)"])
        };
        let class_term = random_term(
            "school:class",
            schools * classes,
            class,
            vec![1.0; n],
            &["(Intercept)"],
        );
        design_with_x(y, &x, vec![school_term, class_term], None)
    }

    #[test]
    fn nested_path_matches_dense_path() {
        for (slopes, thetas) in [
            (
                true,
                vec![
                    vec![0.8, 1.1, -0.3, 0.4],
                    vec![0.2, 0.5, 0.0, 0.0],
                    vec![1e-3, 2.0, 1.0, 0.5],
                ],
            ),
            (false, vec![vec![0.8, 1.1], vec![0.0, 0.3], vec![2.5, 1e-4]]),
        ] {
            let design = nested_design(slopes);
            for reml in [true, false] {
                let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                assert!(
                    nested.uses_nested(),
                    "classes within schools take the nested path"
                );
                let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                assert!(!dense.set_sparse(false));
                assert!(!dense.uses_nested());
                for theta in &thetas {
                    let (a, b) = (nested.objective(theta), dense.objective(theta));
                    assert!(
                        (a - b).abs() <= 1e-10 * b.abs(),
                        "theta {theta:?}: nested {a} dense {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn nested_gradient_matches_dense_gradient_and_differences() {
        for (slopes, thetas) in [
            (
                true,
                vec![
                    vec![0.8, 1.1, -0.3, 0.4],
                    vec![0.2, 0.5, 0.1, 0.05],
                    vec![1e-3, 2.0, 1.0, 0.5],
                ],
            ),
            (
                false,
                vec![vec![0.8, 1.1], vec![0.05, 0.3], vec![2.5, 1e-3]],
            ),
        ] {
            let design = nested_design(slopes);
            for reml in [true, false] {
                let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                assert!(nested.uses_nested() && nested.has_gradient());
                let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                dense.set_sparse(false);
                assert!(dense.has_gradient());
                let n = nested.n_theta();
                for theta in &thetas {
                    let (mut gn, mut gd) = (vec![0.0; n], vec![0.0; n]);
                    // once from a fresh factor, once after an evaluation elsewhere
                    nested.objective(&vec![0.5; n]);
                    assert!(nested.gradient(theta, &mut gn));
                    assert!(dense.gradient(theta, &mut gd));
                    let scale = gd.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                    for i in 0..n {
                        assert!(
                            (gn[i] - gd[i]).abs() <= 1e-8 * scale,
                            "reml {reml} theta {theta:?}: nested {gn:?} dense {gd:?}"
                        );
                        let h = 1e-6;
                        let (mut up, mut down) = (theta.clone(), theta.clone());
                        up[i] += h;
                        down[i] -= h;
                        let fd = (nested.objective(&up) - nested.objective(&down)) / (2.0 * h);
                        assert!(
                            (fd - gn[i]).abs() <= 1e-4 * scale,
                            "reml {reml} theta {theta:?} [{i}]: difference {fd} gradient {}",
                            gn[i]
                        );
                    }
                    // the gradient at the current θ reuses the factor of `objective`
                    nested.objective(theta);
                    let mut again = vec![0.0; n];
                    assert!(nested.gradient(theta, &mut again));
                    assert_eq!(again, gn);
                }
            }
        }
    }

    /// More X columns than the unrolled level sums cover (k2 + p + 1 = 11 > 8) and prior
    /// weights: the k1 = 1 path's objective and gradient still equal the dense path's.
    #[test]
    fn wide_border_and_weights_match_the_dense_path() {
        let mut design = nested_design(true);
        let n = design.y.len();
        let extra = 6;
        for c in 0..extra {
            let col = (0..n).map(|i| crate::testing::uniform(i, 77 + c as u64));
            design.x.data.extend(col);
            design.x_names.push(format!("z{c}"));
        }
        design.x.ncols += extra;
        design.weights = Some((0..n).map(|i| 0.5 + (i % 7) as f64 / 4.0).collect());
        matches_the_dense_path(
            &design,
            &[vec![0.8, 1.1, -0.3, 0.4], vec![0.05, 0.3, 0.2, 1.5]],
        );
    }

    /// On the nested path, under REML and ML: objective, gradient and β at each θ equal
    /// the dense path's.
    fn matches_the_dense_path(design: &Design, thetas: &[Vec<f64>]) {
        for reml in [true, false] {
            let mut nested = LinearMixedModel::new(design, ModelOptions { reml }).unwrap();
            assert!(nested.uses_nested() && nested.has_gradient());
            let mut dense = LinearMixedModel::new(design, ModelOptions { reml }).unwrap();
            dense.set_sparse(false);
            let k = nested.n_theta();
            for theta in thetas {
                let (a, b) = (nested.objective(theta), dense.objective(theta));
                assert!((a - b).abs() <= 1e-10 * b.abs(), "reml {reml}: {a} vs {b}");
                let (mut gn, mut gd) = (vec![0.0; k], vec![0.0; k]);
                assert!(nested.gradient(theta, &mut gn) && dense.gradient(theta, &mut gd));
                assert_all_close(&format!("reml {reml} {theta:?}"), &gn, &gd, 1e-8);
                assert_all_close("beta", &nested.beta(), &dense.beta(), 1e-10);
            }
        }
    }

    /// A first term with two columns per level (`(1 + x | school:class)`) takes the
    /// general arrow path (not the k1 = 1 one): objective and gradient equal the dense
    /// path's.
    #[test]
    fn a_first_term_with_slopes_matches_the_dense_path() {
        let mut design = nested_design(true);
        let n = design.y.len();
        let class = &mut design.random[1];
        let x = design.x.data[n..2 * n].to_vec();
        class.z.data.extend_from_slice(&x);
        class.z.ncols = 2;
        class.names.push("x".into());
        let model = LinearMixedModel::new(&design, ModelOptions::default()).unwrap();
        assert_eq!(model.n_theta(), 6);
        matches_the_dense_path(
            &design,
            &[
                vec![0.8, 1.1, -0.3, 0.4, 0.2, 0.3],
                vec![0.05, 0.3, 0.2, 1.5, -0.1, 0.7],
            ],
        );
    }

    /// The nested ANOVA start lands near the optimum (intercepts and the slope), the
    /// default fit (BFGS, offered that start) reaches the optimum of a fit from lme4's
    /// start, and models that are not nested get no such start.
    #[test]
    fn the_nested_start_is_near_the_optimum() {
        let design = nested_design(true);
        let mut model = LinearMixedModel::new(&design, ModelOptions::default()).unwrap();
        let start = model.theta_start_level_fits().expect("a nested start");
        let fit = model.fit(&Default::default()).unwrap();
        let lme4_start = model
            .fit(&crate::FitOptions {
                start: Some(vec![1.0, 1.0, 0.0, 1.0]),
                ..Default::default()
            })
            .unwrap();
        assert!((fit.objective - lme4_start.objective).abs() <= 1e-8 * fit.objective.abs());
        // θ = (class, school intercept, covariance, school slope); the off-diagonal starts at 0
        for i in [0, 1, 3] {
            let (s, o) = (start[i], fit.theta[i].abs());
            assert!(s > 0.5 * o && s < 2.0 * o, "θ[{i}]: start {s} optimum {o}");
        }
        assert_eq!(start[2], 0.0);
        let mut crossed = nested_design(false);
        for c in &mut crossed.random[1].codes {
            *c %= 5;
        }
        crossed.random[1].levels = crossed.random[1].levels[..5].into();
        let model = LinearMixedModel::new(&crossed, ModelOptions::default()).unwrap();
        assert!(model.theta_start_level_fits().is_none());
    }

    fn assert_all_close(what: &str, a: &[f64], b: &[f64], rel: f64) {
        assert_eq!(a.len(), b.len(), "{what}");
        let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= rel * scale, "{what}: {a:?} vs {b:?}");
        }
    }

    /// β̂, Lxx, the spherical modes and the conditional covariances read from the arrow
    /// factor (after the nested path's objective) equal those of the dense factor.
    #[test]
    fn estimates_from_the_arrow_factor_match_the_dense_factor() {
        for (slopes, theta) in [(true, vec![0.8, 1.1, -0.3, 0.4]), (false, vec![0.7, 1.3])] {
            let design = nested_design(slopes);
            for reml in [true, false] {
                let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                dense.set_sparse(false);
                assert!(nested.objective(&theta).is_finite());
                assert!(dense.evaluate(&theta));
                let tag = format!("slopes {slopes} reml {reml}");
                assert_all_close(&tag, &nested.beta(), &dense.beta(), 1e-11);
                let (ln, ld) = (nested.lxx(), dense.lxx());
                for j in 0..ln.ncols() {
                    for i in 0..ln.nrows() {
                        assert!((ln[(i, j)] - ld[(i, j)]).abs() <= 1e-10 * ld[(0, 0)].abs());
                    }
                }
                let modes = nested.spherical_modes();
                assert_all_close(&tag, &modes, &dense.spherical_modes(), 1e-10);
                let (cn, cd) = (
                    nested.conditional_covariances(),
                    dense.conditional_covariances(),
                );
                assert_eq!(cn.len(), 2);
                for (a, b) in cn.iter().zip(&cd) {
                    assert_all_close(&tag, a, b, 1e-10);
                }
                // and a whole fit: estimates from the arrow factor, same as the dense path
                let (fa, fb) = (
                    nested.fit(&Default::default()).unwrap(),
                    dense
                        .fit(&crate::FitOptions {
                            start: Some(nested.theta().to_vec()),
                            ..Default::default()
                        })
                        .unwrap(),
                );
                assert!((fa.objective - fb.objective).abs() <= 1e-9 * fb.objective.abs());
                assert_all_close(&tag, &fa.se, &fb.se, 1e-5);
            }
        }
    }

    #[test]
    fn crossed_terms_do_not_take_the_nested_path() {
        let mut design = nested_design(false);
        // classes 0..4 recur in every school: crossed with school, not nested
        for c in &mut design.random[1].codes {
            *c %= 5;
        }
        design.random[1].levels = design.random[1].levels[..5].into();
        let model = LinearMixedModel::new(&design, ModelOptions::default()).unwrap();
        assert!(!model.uses_nested());
    }
}
