//! The dense path's part of the gradient (docs/MATH.md): S = (L_RP L_RP')⁻¹ from the
//! leading block of the dense factor, the sums over term 1's levels
//! ([`first_term_parts`]), and the later terms' own blocks from S and Λ_R' C. A model
//! with one random term (R = [X, y]) takes [`one_term_parts`], which solves û_g level by
//! level on the way.

// Index loops over several small arrays at once read as the formulas do.
#![allow(clippy::needless_range_loop)]

use super::DenseRest;
use crate::crossprod::CrossProducts;
use crate::factor::levels::LevelBlocks;
use crate::gradient::parts::{first_term_parts, FirstTerm, GradWork, Selected};
use crate::kernels;
use crate::terms::Term;
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Accum, MatMut, MatRef, Par};

/// Up to this width the inverse of the dense block is formed by plain loops.
const SMALL_INVERSE: usize = 32;

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

impl DenseRest {
    /// G_t and H_t (into `w.gm`, `w.h`) at the last factorization, with P the leading
    /// `np` rows of R.
    pub fn gradient_parts(
        &self,
        cp: &CrossProducts,
        terms: &[Term],
        t: &[Vec<f64>],
        levels: &LevelBlocks,
        np: usize,
        w: &mut GradWork,
    ) {
        let mut beta = std::mem::take(&mut w.beta);
        self.beta_into(cp, &mut beta);
        match (terms.len(), cp.k1) {
            (1, 1) => self.one_term_parts::<1>(cp, t, levels, np, w, &beta),
            (1, 2) => self.one_term_parts::<2>(cp, t, levels, np, w, &beta),
            (1, 3) => self.one_term_parts::<3>(cp, t, levels, np, w, &beta),
            _ => {
                let (mut ur, mut u) = (std::mem::take(&mut w.ur), std::mem::take(&mut w.u));
                self.rest_modes_into(cp, &beta, &mut ur);
                levels.modes_into(cp, &ur, &beta, &mut u);
                let ft = FirstTerm {
                    cp,
                    terms,
                    t,
                    levels,
                    u: &u,
                    np,
                };
                self.general_parts(&ft, w, &beta);
                (w.ur, w.u) = (ur, u);
            }
        }
        w.beta = beta;
    }

    /// G_t and H_t for several terms (or a wide first term).
    fn general_parts(&self, ft: &FirstTerm<'_>, w: &mut GradWork, beta: &[f64]) {
        let (cp, np) = (ft.cp, ft.np);
        let (k1, g1, qr, mr) = (cp.k1, cp.g1, cp.qr, cp.mr);
        w.reset(ft.terms);
        leading_inverse(&self.m, mr, np, &mut w.linv, &mut w.s, self.par);
        w.fill_phi(cp, ft.terms, ft.t, beta, &ft.u[g1 * k1..]);
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
        first_term_parts(w, ft, &DenseSelected { s: &s, np });
        w.s = s;
        rest_parts(w, ft, &ft.u[g1 * k1..]);
    }
}

/// The later terms' own blocks: G_t from S and Λ_R' C, and H_t from Z_R'e.
fn rest_parts(w: &mut GradWork, ft: &FirstTerm<'_>, ur: &[f64]) {
    let (cp, np) = (ft.cp, ft.np);
    let (qr, mr) = (cp.qr, cp.mr);
    w.x.clear();
    w.x.resize(np, 0.0);
    for (j, term) in ft.terms.iter().enumerate().skip(1) {
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
                    let (kt, tt) = (ft.terms[jt].k, &ft.t[jt]);
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

/// One level's inputs on the one-term path: its rows of W and B, L_g and D_g.
struct OneLevel<'a> {
    wg: &'a [f64],
    bg: &'a [f64],
    lg: &'a [f64],
    dg: &'a [f64],
}

impl DenseRest {
    /// [`Self::gradient_parts`] for a model with one random term of `K` columns: R = [X, y],
    /// every level's packed rows are all of R, and û_g is solved level by level here.
    fn one_term_parts<const K: usize>(
        &self,
        cp: &CrossProducts,
        t: &[Vec<f64>],
        levels: &LevelBlocks,
        np: usize,
        w: &mut GradWork,
        beta: &[f64],
    ) {
        let mr = cp.mr;
        leading_inverse(&self.m, mr, np, &mut w.linv, &mut w.s, self.par);
        w.gm.resize_with(1, Vec::new);
        w.h.resize_with(1, Vec::new);
        let mut gsum = [[0.0; K]; K]; // gsum[r][c] = G[c, r]
        let mut hsum = [[0.0; K]; K]; // hsum[r][c] = H[c, r]
        w.v.clear();
        w.v.resize(np * K, 0.0);
        for g in 0..cp.g1 {
            let base = g * mr;
            let level = OneLevel {
                wg: &levels.w[base * K..(base + mr) * K],
                bg: &cp.b[base * K..(base + mr) * K],
                lg: &levels.lg[g * K * K..(g + 1) * K * K],
                dg: &cp.d[g * K * K..(g + 1) * K * K],
            };
            one_level::<K>(&level, &t[0], beta, cp.p, np, w, &mut gsum, &mut hsum);
        }
        w.gm[0].clear();
        w.h[0].clear();
        for r in 0..K {
            w.gm[0].extend_from_slice(&gsum[r]);
            w.h[0].extend_from_slice(&hsum[r]);
        }
    }
}

/// One level's terms of G and H on the one-term path (see [`DenseRest::one_term_parts`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn one_level<const K: usize>(
    lv: &OneLevel<'_>,
    t1: &[f64],
    beta: &[f64],
    p: usize,
    np: usize,
    w: &mut GradWork,
    gsum: &mut [[f64; K]; K],
    hsum: &mut [[f64; K]; K],
) {
    let (wg, bgr, lg, dg) = (lv.wg, lv.bg, lv.lg, lv.dg);
    // L_g⁻¹ (K×K column-major in the first K*K entries; K ≤ 3)
    let mut li = [0.0; 9];
    kernels::lower_inverse(lg, K, &mut li[..K * K]);
    // û_g = L_g^{-T} (W_y − Σ_x W_x β_x)
    let mut ug = [0.0; K];
    ug.copy_from_slice(&wg[p * K..(p + 1) * K]);
    for (x, b) in beta.iter().enumerate() {
        for c in 0..K {
            ug[c] -= wg[x * K + c] * b;
        }
    }
    kernels::solve_lower_t(&mut ug, lg, K);
    let zgg = one_level_omega::<K>(wg, &li, np, w);
    // G += Z_gg T1' D_g + Ω⁻¹[R,g]' B_P
    for r in 0..K {
        let mut td = [0.0; K]; // column r of T1' D_g
        for m in 0..K {
            let mut v = 0.0;
            for q in m..K {
                v += t1[m * K + q] * dg[r * K + q];
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
    kernels::lower_times(t1, &ug, K, &mut bgv);
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

/// V = S W_P, Ω⁻¹[R, g] = −V L_g⁻¹ into `w.v`, and Ω⁻¹[g, g] = L⁻ᵀ (I + W_P' V) L⁻¹
/// (returned, column-major in the first K*K entries).
#[inline(always)]
fn one_level_omega<const K: usize>(
    wg: &[f64],
    li: &[f64; 9],
    np: usize,
    w: &mut GradWork,
) -> [f64; 9] {
    // K = I + W_P' V (column-major: km[c * K + r] = K[r, c])
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
        kernels::row_times_lower(&mut va, &li[..K * K], K);
        for c in 0..K {
            w.v[a * K + c] = -va[c];
        }
    }
    let (mut tmp, mut zgg) = ([0.0; 9], [0.0; 9]);
    kernels::congruence(
        &li[..K * K],
        &km[..K * K],
        K,
        &mut tmp[..K * K],
        &mut zgg[..K * K],
    );
    zgg
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
