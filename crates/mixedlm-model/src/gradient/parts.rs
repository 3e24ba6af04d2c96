//! The pieces of the gradient that the dense and nested paths share: the workspace, the
//! selected inverse seen through [`Selected`], and the sums over the levels of term 1
//! ([`first_term_parts`]), written once for any number k1 > 1 of effects per level and
//! with scalars for k1 = 1.
//!
//! With G_t and H_t as in docs/MATH.md (∂ log det Ω_P = 2 Σ E ∘ G_t', ∂ r² = −2 Σ E ∘ H_t'),
//! a level g of term 1 contributes, with S = Ω_P⁻¹ on R and V = S W_g:
//! Ω⁻¹[g, g] = L_g^{-T} (I + W_g'V) L_g⁻¹, Ω⁻¹[R, g] = −V L_g⁻¹,
//! G_1 += Ω⁻¹[g, g] T1' D_g + Ω⁻¹[R, g]' Λ_R' B_g, H_1 += û_g (Z_g'e)',
//! and to each later term t's level block s: G_t += Ω⁻¹[s, g] (B_s T1).

// Index loops over several small arrays at once read as the formulas do.
#![allow(clippy::needless_range_loop)]

use crate::crossprod::CrossProducts;
use crate::factor::levels::{scale_blocks, LevelBlocks};
use crate::kernels;
use crate::terms::Term;

/// Workspaces of the gradient, sized on first use.
#[derive(Debug, Default)]
pub(crate) struct GradWork {
    /// L_RP⁻¹; np × np column-major.
    pub linv: Vec<f64>,
    /// S = (L_RP L_RP')⁻¹, np × np column-major, both triangles.
    pub s: Vec<f64>,
    /// Per level of term 1: S W_g, then Ω⁻¹[R, g] (k1 per packed row).
    pub v: Vec<f64>,
    /// Per level of term 1: Λ_R' B_g (k1 per packed row).
    bb: Vec<f64>,
    /// Per level of term 1: the row B_a T1 for each packed row.
    bt: Vec<f64>,
    /// Λ_R' C[:, col] on the P rows.
    pub x: Vec<f64>,
    /// Per R row: b̂ (Z rows), β̂ (X rows), −1 (y).
    pub phi: Vec<f64>,
    /// Z_R'e for the rows of Z_2 .. Z_m.
    pub ze: Vec<f64>,
    /// G_t per term (k × k column-major).
    pub gm: Vec<Vec<f64>>,
    /// H_t per term (k × k column-major).
    pub h: Vec<Vec<f64>>,
    /// Small k1 × k1 scratch: L_g⁻¹, I + W'SW, products, ∂T.
    pub small: [Vec<f64>; 4],
    /// The rows of the last level of term 1 and S on them (column-major).
    pattern: Vec<usize>,
    sblock: Vec<f64>,
    /// β̂ at the evaluation (dense path).
    pub beta: Vec<f64>,
    /// The spherical modes û (dense path) and the later terms' part of them.
    pub u: Vec<f64>,
    pub ur: Vec<f64>,
    /// Per-level vectors of the sums over term 1's levels.
    level: LevelScratch,
}

/// Entries of S (the block of Ω_P⁻¹ on R) on the rows that co-occur with one level of
/// term 1.
pub(crate) trait Selected {
    /// out (n × n column-major, n = rows.len()) = S[rows, rows].
    fn gather(&self, rows: &[usize], out: &mut [f64]);
}

impl GradWork {
    /// G_t and H_t set to zero, one k×k block per term.
    pub fn reset(&mut self, terms: &[Term]) {
        self.gm.resize_with(terms.len(), Vec::new);
        self.h.resize_with(terms.len(), Vec::new);
        for (j, term) in terms.iter().enumerate() {
            self.gm[j].clear();
            self.gm[j].resize(term.k * term.k, 0.0);
            self.h[j].clear();
            self.h[j].resize(term.k * term.k, 0.0);
        }
    }

    /// φ: b̂ on the Z rows of R (from the later terms' spherical modes `ur`), β̂ on X, −1
    /// on y.
    pub fn fill_phi(
        &mut self,
        cp: &CrossProducts,
        terms: &[Term],
        t: &[Vec<f64>],
        beta: &[f64],
        ur: &[f64],
    ) {
        let (qr, mr) = (cp.qr, cp.mr);
        self.phi.clear();
        self.phi.resize(mr, 0.0);
        for (term, tj) in terms.iter().zip(t).skip(1) {
            let k = term.k;
            for l in 0..term.n_levels() {
                let s = term.r_offset + l * k;
                kernels::lower_times(tj, &ur[s..s + k], k, &mut self.phi[s..s + k]);
            }
        }
        self.phi[qr..qr + cp.p].copy_from_slice(beta);
        self.phi[mr - 1] = -1.0;
    }

    /// `sblock` = S on `rows` (the P rows of one level of term 1), unless the last level
    /// had the same rows.
    fn gather_pattern(&mut self, rows: &[usize], sel: &impl Selected) {
        if self.pattern.as_slice() != rows {
            self.pattern.clear();
            self.pattern.extend_from_slice(rows);
            self.sblock.clear();
            self.sblock.resize(rows.len() * rows.len(), 0.0);
            sel.gather(&self.pattern, &mut self.sblock);
        }
    }
}

/// What every level of term 1 reads.
pub(crate) struct FirstTerm<'a> {
    pub cp: &'a CrossProducts,
    pub terms: &'a [Term],
    pub t: &'a [Vec<f64>],
    pub levels: &'a LevelBlocks,
    /// The spherical modes of every term.
    pub u: &'a [f64],
    /// Rows of R in P (the leading block of Ω_P⁻¹ that `sel` holds).
    pub np: usize,
}

/// The contributions of each level of term 1 (module docs): its block of G_1 and H_1,
/// the blocks of the later terms' levels it meets, and its part of Z_R'e. `sel` gives S
/// among the rows of a level. The same arithmetic for k1 = 1 as a scalar loop would do.
pub(crate) fn first_term_parts(w: &mut GradWork, ft: &FirstTerm<'_>, sel: &impl Selected) {
    let k1 = ft.cp.k1;
    if k1 == 1 {
        return first_term_parts_scalar(w, ft, sel);
    }
    let kk = k1 * k1;
    for s in w.small.iter_mut().take(3) {
        s.clear();
        s.resize(kk, 0.0);
    }
    w.pattern.clear();
    let mut scratch = std::mem::take(&mut w.level);
    scratch.resize(k1);
    for g in 0..ft.cp.g1 {
        level_parts(k1, g, w, ft, sel, &mut scratch);
    }
    w.level = scratch;
}

/// [`first_term_parts`] for one column per level of term 1, with scalars for L_g, T1, D_g
/// and û_g (the generic loops made the gradient of crossed scalar models slower, see
/// benches/README.md).
fn first_term_parts_scalar(w: &mut GradWork, ft: &FirstTerm<'_>, sel: &impl Selected) {
    let cp = ft.cp;
    let qr = cp.qr;
    let t1 = ft.t[0][0];
    let (mut g1m, mut h1) = (0.0, 0.0);
    w.pattern.clear();
    for g in 0..cp.g1 {
        let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
        let rows = &cp.rows[lo..hi];
        let n_p = rows.partition_point(|&r| r < ft.np);
        let (wg, bg_rows) = (&ft.levels.w[lo..lo + n_p], &cp.b[lo..hi]);
        let lg = ft.levels.lg[g];
        // V = S W_g; Ω⁻¹[g, g] = (1 + W_g'V) / L_g²; Ω⁻¹[R, g] = −V / L_g
        w.gather_pattern(&rows[..n_p], sel);
        w.v.clear();
        w.v.resize(n_p, 0.0);
        for (b, &wb) in wg.iter().enumerate() {
            let scol = &w.sblock[b * n_p..(b + 1) * n_p];
            w.v.iter_mut().zip(scol).for_each(|(v, s)| *v += s * wb);
        }
        let kg = 1.0 + wg.iter().zip(&w.v).map(|(a, b)| a * b).sum::<f64>();
        let zgg = kg / (lg * lg);
        w.v.iter_mut().for_each(|v| *v /= -lg);
        // G_1 += Ω⁻¹[g, g] T1 D_g + Ω⁻¹[R, g]' Λ_R' B_g
        w.bb.clear();
        w.bb.extend_from_slice(&bg_rows[..n_p]);
        if qr > 0 {
            scale_blocks(&mut w.bb, &rows[..n_p], cp, ft.t);
        }
        let dg = cp.d[g];
        g1m += zgg * t1 * dg + w.v.iter().zip(&w.bb).map(|(a, b)| a * b).sum::<f64>();
        // b̂_g = T1 û_g; Z_g'e = −(Σ_a B_a φ_a + D_g b̂_g); H_1 += û_g Z_g'e
        let bg = t1 * ft.u[g];
        let s: f64 = bg_rows.iter().zip(rows).map(|(b, &r)| b * w.phi[r]).sum();
        h1 -= ft.u[g] * (dg * bg + s);
        if qr > 0 {
            later_term_parts_scalar(w, ft, bg_rows, rows, bg);
        }
    }
    w.gm[0][0] += g1m;
    w.h[0][0] += h1;
}

/// [`later_term_parts`] for one column per level of term 1 (`bg` = b̂_g).
fn later_term_parts_scalar(
    w: &mut GradWork,
    ft: &FirstTerm<'_>,
    b: &[f64],
    rows: &[usize],
    bg: f64,
) {
    let (cp, t1) = (ft.cp, ft.t[0][0]);
    let n_z = rows.partition_point(|&r| r < cp.qr);
    for (&r, ba) in rows[..n_z].iter().zip(b) {
        w.ze[r] -= ba * bg;
    }
    let mut a = 0;
    while a < n_z {
        let j = cp.r_term[rows[a]];
        let k = ft.terms[j].k;
        let gt = &mut w.gm[j];
        for r in 0..k {
            let btr = b[a + r] * t1;
            for c in 0..k {
                gt[r * k + c] += w.v[a + c] * btr;
            }
        }
        a += k;
    }
}

/// Per-level vectors of [`level_parts`] (k1 each, k1² for Ω⁻¹[g, g]).
#[derive(Debug, Default)]
struct LevelScratch {
    bg: Vec<f64>,
    zs: Vec<f64>,
    zgg: Vec<f64>,
    zt: Vec<f64>,
}

impl LevelScratch {
    fn resize(&mut self, k1: usize) {
        self.bg.resize(k1, 0.0);
        self.zs.resize(k1, 0.0);
        self.zgg.resize(k1 * k1, 0.0);
        self.zt.resize(k1 * k1, 0.0);
    }
}

/// Level g's contributions (see [`first_term_parts`]); `k1` is a constant where inlined.
#[inline(always)]
fn level_parts(
    k1: usize,
    g: usize,
    w: &mut GradWork,
    ft: &FirstTerm<'_>,
    sel: &impl Selected,
    sc: &mut LevelScratch,
) {
    let cp = ft.cp;
    let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
    let rows = &cp.rows[lo..hi];
    let n_p = rows.partition_point(|&r| r < ft.np);
    omega_blocks(k1, g, w, ft, &rows[..n_p], sel, sc);
    // Λ_R' B_g on the P rows
    w.bb.clear();
    w.bb.extend_from_slice(&cp.b[lo * k1..(lo + n_p) * k1]);
    if cp.qr > 0 {
        scale_blocks(&mut w.bb, &rows[..n_p], cp, ft.t);
    }
    first_term_g(k1, g, w, ft, sc, n_p);
    // b̂_g = T1 û_g; Z_g'e = −(D_g b̂_g + Σ_a B_a φ_a); H_1 += û_g (Z_g'e)'
    let ug = &ft.u[g * k1..(g + 1) * k1];
    kernels::lower_times(&ft.t[0], ug, k1, &mut sc.bg);
    let dg = &cp.d[g * kk(k1)..(g + 1) * kk(k1)];
    for r in 0..k1 {
        let own: f64 = (0..k1).map(|m| dg[m * k1 + r] * sc.bg[m]).sum();
        let rest: f64 = cp.b[lo * k1..hi * k1]
            .chunks_exact(k1)
            .zip(rows)
            .map(|(ba, &row)| ba[r] * w.phi[row])
            .sum();
        sc.zs[r] = own + rest;
    }
    for r in 0..k1 {
        for c in 0..k1 {
            w.h[0][r * k1 + c] -= ug[c] * sc.zs[r];
        }
    }
    if cp.qr > 0 {
        later_term_parts(k1, w, ft, &cp.b[lo * k1..hi * k1], rows, &sc.bg);
    }
}

fn kk(k1: usize) -> usize {
    k1 * k1
}

/// V = S W_g, then Ω⁻¹[g, g] = L_g^{-T} (I + W_g'V) L_g⁻¹ into `sc.zgg` and
/// Ω⁻¹[R, g] = −V L_g⁻¹ into `w.v`, for the P rows `rows` of level g.
#[inline(always)]
fn omega_blocks(
    k1: usize,
    g: usize,
    w: &mut GradWork,
    ft: &FirstTerm<'_>,
    rows: &[usize],
    sel: &impl Selected,
    sc: &mut LevelScratch,
) {
    let n_p = rows.len();
    let lo = ft.cp.rows_ptr[g];
    let wg = &ft.levels.w[lo * k1..(lo + n_p) * k1];
    let lg = &ft.levels.lg[g * kk(k1)..(g + 1) * kk(k1)];
    // levels with the same pattern share the block
    w.gather_pattern(rows, sel);
    w.v.clear();
    w.v.resize(n_p * k1, 0.0);
    for (wb, scol) in wg.chunks_exact(k1).zip(w.sblock.chunks_exact(n_p.max(1))) {
        for (va, &sab) in w.v.chunks_exact_mut(k1).zip(scol) {
            for (x, &wbc) in va.iter_mut().zip(wb) {
                *x += sab * wbc;
            }
        }
    }
    let [linv, kmat, tmp, _] = &mut w.small;
    for c in 0..k1 {
        for r in 0..k1 {
            let dot: f64 = wg
                .chunks_exact(k1)
                .zip(w.v.chunks_exact(k1))
                .map(|(wa, va)| wa[r] * va[c])
                .sum();
            kmat[c * k1 + r] = dot + f64::from(u8::from(r == c));
        }
    }
    kernels::inverse_congruence(lg, kmat, k1, linv, tmp, &mut sc.zgg);
    for row in w.v.chunks_exact_mut(k1) {
        kernels::neg_times_lower_inverse(row, lg, linv, k1);
    }
}

/// G_1 += Ω⁻¹[g, g] T1' D_g + Ω⁻¹[R, g]' Λ_R' B_g, the first product as (Ω⁻¹[g, g] T1') D_g.
#[inline(always)]
fn first_term_g(
    k1: usize,
    g: usize,
    w: &mut GradWork,
    ft: &FirstTerm<'_>,
    sc: &mut LevelScratch,
    n_p: usize,
) {
    let t1 = &ft.t[0];
    let dg = &ft.cp.d[g * kk(k1)..(g + 1) * kk(k1)];
    // zt[q * k1 + c] = (Ω⁻¹[g, g] T1')[c, q]
    for q in 0..k1 {
        for c in 0..k1 {
            sc.zt[q * k1 + c] = (0..k1).map(|m| sc.zgg[m * k1 + c] * t1[m * k1 + q]).sum();
        }
    }
    for r in 0..k1 {
        for c in 0..k1 {
            let own: f64 = (0..k1).map(|q| sc.zt[q * k1 + c] * dg[r * k1 + q]).sum();
            let rest: f64 =
                w.v.chunks_exact(k1)
                    .zip(w.bb.chunks_exact(k1))
                    .take(n_p)
                    .map(|(va, ba)| va[c] * ba[r])
                    .sum();
            w.gm[0][r * k1 + c] += own + rest;
        }
    }
}

/// Z_R'e −= B_a b̂_g on the Z rows of R that co-occur with level g (`bg` = b̂_g), and
/// G_t[c, r] += Σ_m Ω⁻¹[(s+c), (g,m)] (B_{s+r} T1)[m] for each later term's level block
/// s among them. `b` and `rows` are the level's packed rows.
#[inline(always)]
fn later_term_parts(
    k1: usize,
    w: &mut GradWork,
    ft: &FirstTerm<'_>,
    b: &[f64],
    rows: &[usize],
    bg: &[f64],
) {
    let cp = ft.cp;
    let n_z = rows.partition_point(|&r| r < cp.qr);
    for a in 0..n_z {
        let ba = &b[a * k1..(a + 1) * k1];
        w.ze[rows[a]] -= ba.iter().zip(bg).map(|(x, y)| x * y).sum::<f64>();
    }
    w.bt.resize(k1, 0.0);
    let mut a = 0;
    while a < n_z {
        let j = cp.r_term[rows[a]];
        let k = ft.terms[j].k;
        let gt = &mut w.gm[j];
        for r in 0..k {
            // B_{a+r} T1, then Σ_c Ω⁻¹[(a+c), g] · it
            let btr = &mut w.bt[..k1];
            btr.copy_from_slice(&b[(a + r) * k1..(a + r + 1) * k1]);
            kernels::row_times_lower(btr, &ft.t[0], k1);
            for c in 0..k {
                let zc = &w.v[(a + c) * k1..(a + c + 1) * k1];
                gt[r * k + c] += zc.iter().zip(btr.iter()).map(|(x, y)| x * y).sum::<f64>();
            }
        }
        a += k;
    }
}
