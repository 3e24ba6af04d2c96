//! The nested path's part of the gradient (docs/MATH.md), from the arrow factor and its
//! selected inverse. With one column per level of term 1 the sums reduce to two outer
//! products per level of term 1 ([`NestedRest::scalar_parts`]); otherwise the shared sums
//! over term 1's levels run on the arrow pattern ([`NestedRest::general_parts`]).

// Index loops over several small arrays at once read as the formulas do.
#![allow(clippy::needless_range_loop)]

use super::arrow::ArrowInverse;
use super::NestedRest;
use crate::crossprod::CrossProducts;
use crate::factor::levels::LevelBlocks;
use crate::gradient::parts::{first_term_parts, FirstTerm, GradWork};
use crate::kernels;
use crate::terms::Term;

impl NestedRest {
    /// G_t and H_t (into `w.gm`, `w.h`) at the last factorization, with P the level rows
    /// and the first `np − q_R` border rows.
    pub fn gradient_parts(
        &self,
        cp: &CrossProducts,
        terms: &[Term],
        t: &[Vec<f64>],
        levels: &LevelBlocks,
        np: usize,
        w: &mut GradWork,
    ) {
        w.reset(terms);
        if cp.k1 == 1 {
            self.scalar_parts(cp, t, &levels.lg, np - cp.qr, w);
        } else {
            self.general_parts(cp, terms, t, levels, np, w);
        }
    }

    /// G_1, H_1, G_2 and H_2 when term 1 has one column per level, from the arrow factor
    /// (`lg` holds its L_g) and its selected inverse S (`bp` border rows in P). With
    /// s_g = λ1²/L_g², b_g = B_g, the level sums A_l = Σ s_g b_g b_g' and
    /// Q_l = Σ b_g b_g'/L_g⁴ over the members g of level l of term 2, N_l = C_[l] − A_l (C on
    /// l's rows and the border), φ = (T2 û_l, β̂, −1) and S̃ = Λ_R S Λ_R', the formulas
    /// reduce, with û_g = −λ1 b_g'φ/L_g², to
    /// - G_1 = λ1 Σ_g D_g/L_g² − λ1 Σ_l tr(S̃_l Q_l) (on the P rows),
    /// - H_1 = λ1 Σ_l φ_l' Q_l φ_l,
    /// - G_2[c, r] = Σ_l (S Λ_R' N_l)[s+c, s+r] and H_2 = Σ_l û_l (Z_l'e)' with
    ///   Z_l'e = −(N_l φ_l) on l's rows.
    fn scalar_parts(
        &self,
        cp: &CrossProducts,
        t: &[Vec<f64>],
        lg: &[f64],
        bp: usize,
        w: &mut GradWork,
    ) {
        let (k2, p) = (self.k2, cp.p);
        let beta = self.beta(p);
        let mut sums = ScalarSums {
            inv: self.arrow_inverse(cp.qr, p, bp),
            ur: self.rest_modes(p, &beta),
            beta,
            lam1: t[0][0],
            t2: &t[1],
            k2,
            np: k2 + bp,
            n: k2 + p + 1,
            g1: 0.0,
            h1: 0.0,
        };
        let mut buf = ScalarBuffers::new(sums.n, sums.np);
        for l in 0..self.members_ptr.len() - 1 {
            let pairs = PairSums {
                members: self.members(l),
                lg,
                lam1: sums.lam1,
            };
            sums.g1 += match sums.n {
                3 => pairs.sum::<3>(cp, &mut buf.a, &mut buf.q),
                4 => pairs.sum::<4>(cp, &mut buf.a, &mut buf.q),
                5 => pairs.sum::<5>(cp, &mut buf.a, &mut buf.q),
                6 => pairs.sum::<6>(cp, &mut buf.a, &mut buf.q),
                7 => pairs.sum::<7>(cp, &mut buf.a, &mut buf.q),
                8 => pairs.sum::<8>(cp, &mut buf.a, &mut buf.q),
                _ => pairs.sum_any(cp, sums.n, &mut buf.a, &mut buf.q),
            };
            sums.level(cp, l, &mut buf, w);
        }
        w.gm[0][0] += sums.g1;
        w.h[0][0] += sums.h1;
    }

    /// G_t and H_t for a first term with several columns per level: β̂ and û from the
    /// arrow factor, its selected inverse in place of the dense S, and sums over the arrow
    /// pattern only (each level of term 2 meets its own rows and the border).
    fn general_parts(
        &self,
        cp: &CrossProducts,
        terms: &[Term],
        t: &[Vec<f64>],
        levels: &LevelBlocks,
        np: usize,
        w: &mut GradWork,
    ) {
        let (qr, p, mr) = (cp.qr, cp.p, cp.mr);
        let bp = np - qr;
        let inv = &self.arrow_inverse(qr, p, bp);
        let beta = self.beta(p);
        let ur = self.rest_modes(p, &beta);
        let mut u = Vec::new();
        levels.modes_into(cp, &ur, &beta, &mut u);
        w.fill_phi(cp, terms, t, &beta, &ur);
        let (k2, n_levels2) = (terms[1].k, terms[1].n_levels());
        // Z_R'e = −(C φ + Σ_g B_g b̂_g): the C part over each level's own rows and the border
        w.ze.clear();
        w.ze.resize(qr, 0.0);
        for l in 0..n_levels2 {
            let s = l * k2;
            for r in 0..k2 {
                let col = &cp.c[(s + r) * mr..(s + r + 1) * mr];
                let own: f64 = (s..s + k2).map(|a| col[a] * w.phi[a]).sum();
                let border: f64 = (qr..mr).map(|a| col[a] * w.phi[a]).sum();
                w.ze[s + r] = -(own + border);
            }
        }
        let ft = FirstTerm {
            cp,
            terms,
            t,
            levels,
            u: &u,
            np,
        };
        first_term_parts(w, &ft, inv);
        second_term_parts(cp, &t[1], k2, n_levels2, inv, bp, &ur, w);
    }
}

/// G_2 += S[level rows, P] Λ_R' C[P, level column]; H_2 += û (Z'e)', per level of term 2.
#[allow(clippy::too_many_arguments)]
fn second_term_parts(
    cp: &CrossProducts,
    t2: &[f64],
    k2: usize,
    n_levels2: usize,
    inv: &ArrowInverse,
    bp: usize,
    ur: &[f64],
    w: &mut GradWork,
) {
    let (qr, mr) = (cp.qr, cp.mr);
    let mut x = vec![0.0; k2 + bp];
    for l in 0..n_levels2 {
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

/// What the scalar path's level sums read and what they accumulate (G_1, H_1).
struct ScalarSums<'a> {
    inv: ArrowInverse,
    beta: Vec<f64>,
    ur: Vec<f64>,
    lam1: f64,
    t2: &'a [f64],
    k2: usize,
    /// Rows of a level's P block and of its whole block.
    np: usize,
    n: usize,
    g1: f64,
    h1: f64,
}

/// The scalar path's per-level matrices (A, Q, N: n × n; S and its product: np × np).
struct ScalarBuffers {
    a: Vec<f64>,
    q: Vec<f64>,
    nm: Vec<f64>,
    phi: Vec<f64>,
    sl: Vec<f64>,
    tmp: Vec<f64>,
    y: Vec<f64>,
}

impl ScalarBuffers {
    fn new(n: usize, np: usize) -> Self {
        ScalarBuffers {
            a: vec![0.0; n * n],
            q: vec![0.0; n * n],
            nm: vec![0.0; n * n],
            phi: vec![0.0; n],
            sl: vec![0.0; np * np],
            tmp: vec![0.0; np * np],
            y: vec![0.0; np],
        }
    }
}

impl ScalarSums<'_> {
    /// Level l of term 2 with its sums A and Q in `buf`: N_l, φ_l, the terms of H_1, of
    /// G_1's trace and of G_2 and H_2.
    fn level(&mut self, cp: &CrossProducts, l: usize, buf: &mut ScalarBuffers, w: &mut GradWork) {
        let (k2, n, np, mr, qr) = (self.k2, self.n, self.np, cp.mr, cp.qr);
        let s = l * k2;
        // row i of a level's block: its own rows of term 2, then the border
        let rrow = |i: usize| if i < k2 { s + i } else { qr + i - k2 };
        // N_l = C_[l] − A_l (a and q hold both triangles)
        for c in 0..n {
            let col = &cp.c[rrow(c) * mr..(rrow(c) + 1) * mr];
            for r in 0..n {
                buf.nm[c * n + r] = col[rrow(r)] - buf.a[c * n + r];
            }
        }
        kernels::lower_times(self.t2, &self.ur[s..s + k2], k2, &mut buf.phi[..k2]);
        buf.phi[k2..n - 1].copy_from_slice(&self.beta);
        buf.phi[n - 1] = -1.0;
        // H_1 += λ1 φ'Qφ
        let (phi, q) = (&buf.phi, &buf.q);
        let quad: f64 = (0..n)
            .map(|c| phi[c] * (0..n).map(|r| q[c * n + r] * phi[r]).sum::<f64>())
            .sum();
        self.h1 += self.lam1 * quad;
        // S on the level's P rows (unscaled, both triangles)
        self.inv.level_rows(l, &mut buf.sl);
        self.g1 -= self.lam1 * self.trace_s_qtilde(buf);
        let (g2, h2) = (&mut w.gm[1], &mut w.h[1]);
        for r in 0..k2 {
            // y = Λ_R' N_l[:, r] on the P rows; G_2[c, r] += S[c, :] y
            let ncol = &buf.nm[r * n..(r + 1) * n];
            for (i, v) in buf.y.iter_mut().enumerate() {
                *v = if i < k2 {
                    (i..k2).map(|m| self.t2[i * k2 + m] * ncol[m]).sum()
                } else {
                    ncol[i]
                };
            }
            for c in 0..k2 {
                let scol = &buf.sl[c * np..(c + 1) * np];
                g2[r * k2 + c] += scol.iter().zip(&buf.y).map(|(a, b)| a * b).sum::<f64>();
            }
            // H_2 += û_l (Z_l'e)', Z_l'e = −N_l φ on the level's rows
            let ze = -ncol.iter().zip(&buf.phi).map(|(a, b)| a * b).sum::<f64>();
            for c in 0..k2 {
                h2[r * k2 + c] += self.ur[s + c] * ze;
            }
        }
    }

    /// tr(S̃ Q) = tr(S Q̃), Q̃ = Λ' Q Λ on the P rows (Λ = T2 ⊕ I).
    fn trace_s_qtilde(&self, buf: &mut ScalarBuffers) -> f64 {
        let (k2, n, np, t2) = (self.k2, self.n, self.np, self.t2);
        let q = &buf.q;
        for j in 0..np {
            for i in 0..np {
                buf.tmp[j * np + i] = if j < k2 {
                    (j..k2).map(|m| q[m * n + i] * t2[j * k2 + m]).sum()
                } else {
                    q[j * n + i]
                };
            }
        }
        let mut tr = 0.0;
        for j in 0..np {
            let col = &buf.tmp[j * np..(j + 1) * np];
            for i in 0..np {
                let qt = if i < k2 {
                    (i..k2).map(|m| t2[i * k2 + m] * col[m]).sum()
                } else {
                    col[i]
                };
                tr += buf.sl[j * np + i] * qt;
            }
        }
        tr
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
