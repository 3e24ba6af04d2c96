//! The dense path: the rest block M = Λ_R' C Λ_R + I_z − Σ_g W_g W_g' (rows and columns
//! of Z_2 .. Z_m, X and y) held as a dense m_r × m_r matrix and factored by faer's
//! Cholesky. Its lower triangle then holds L_rr, L_xr, Lxx and the y row, from which the
//! estimates are back-substitutions. The fallback path: every model can take it.

mod gradient;

use super::levels::LevelBlocks;
use super::pieces::RestPieces;
use super::schur::{subtract_single_term, Scaled, SchurColumns, PARALLEL_DENSE};
use crate::crossprod::CrossProducts;
use crate::kernels;
use crate::terms::Term;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::{Mat, MatMut, Par};

/// Up to this size the dense block is factored by the plain loops of [`kernels::chol`]
/// (faer's blocked kernel has a fixed cost that dominates tiny blocks).
const SMALL_DENSE: usize = 24;

/// From this many columns of the non-first terms, the conditional covariances read the
/// explicit (Lrr Lrr')⁻¹ (one triangular product) rather than a column of Lrr⁻¹ per row.
const INVERSE_FROM: usize = 256;

/// The dense rest block and its factorization's workspace.
pub(crate) struct DenseRest {
    /// m_r × m_r column-major; after a factorization its lower triangle is the factor.
    /// Allocated by the first factorization.
    m: Vec<f64>,
    /// The diagonal of Λ_R when every later term has one column per level.
    lam_r: Vec<f64>,
    /// faer's Cholesky scratch for m_r columns (`cholesky_in_place_scratch`).
    stack: MemBuffer,
    /// Column lists of the Schur update; `None` for a single term.
    schur: Option<SchurColumns>,
    par: Par,
}

impl std::fmt::Debug for DenseRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseRest")
            .field("columns", &self.lam_r.len())
            .finish_non_exhaustive()
    }
}

impl DenseRest {
    pub fn new(cp: &CrossProducts) -> Self {
        let par = if cp.mr >= PARALLEL_DENSE {
            Par::rayon(0)
        } else {
            Par::Seq
        };
        let scratch = cholesky_in_place_scratch::<f64>(cp.mr, par, Default::default());
        DenseRest {
            m: Vec::new(),
            lam_r: vec![1.0; cp.mr],
            stack: MemBuffer::new(scratch),
            schur: (cp.qr > 0).then(|| SchurColumns::new(cp)),
            par,
        }
    }

    /// Form M from the cross-products, the factors `t` and W, and factor it. `None` when M
    /// is not numerically positive definite.
    pub fn factor(
        &mut self,
        cp: &CrossProducts,
        terms: &[Term],
        t: &[Vec<f64>],
        w: &[f64],
    ) -> Option<RestPieces> {
        self.assemble(cp, terms, t, w);
        let mr = cp.mr;
        let ok = if mr <= SMALL_DENSE {
            kernels::chol(&mut self.m, mr)
        } else {
            let stack = MemStack::new(&mut self.stack);
            let mat = MatMut::from_column_major_slice_mut(&mut self.m, mr, mr);
            cholesky_in_place(mat, Default::default(), self.par, stack, Default::default()).is_ok()
        };
        ok.then(|| self.pieces(cp))
    }

    /// M = Λ_R' C Λ_R + I_z − Σ_g W_g W_g' (lower triangle). With scalar later terms each
    /// column is set from C scaled and updated while in cache: one pass over the block.
    fn assemble(&mut self, cp: &CrossProducts, terms: &[Term], t: &[Vec<f64>], w: &[f64]) {
        let mr = cp.mr;
        if self.m.len() != cp.c.len() {
            self.m = vec![0.0; cp.c.len()];
        }
        let diagonal = terms.len() >= 2 && terms[1..].iter().all(|t| t.k == 1);
        match &self.schur {
            Some(schur) if diagonal => {
                fill_lambda(&mut self.lam_r, terms, t);
                let init = Scaled {
                    c: &cp.c,
                    lam: &self.lam_r,
                    qr: cp.qr,
                };
                schur.subtract(&mut self.m, w, cp, Some(&init));
            }
            schur => {
                self.m.copy_from_slice(&cp.c);
                scale_dense(&mut self.m, mr, terms, t);
                for i in 0..cp.qr {
                    self.m[i * mr + i] += 1.0;
                }
                match schur {
                    Some(schur) => schur.subtract(&mut self.m, w, cp, None),
                    // one term: every level's packed rows are all of X and y
                    None => subtract_single_term(&mut self.m, w, mr, cp.k1),
                }
            }
        }
    }

    fn pieces(&self, cp: &CrossProducts) -> RestPieces {
        let diag = |i: usize| self.l(cp.mr, i, i);
        let ld_z = kernels::sum_ln((0..cp.qr).map(diag));
        let ld_x = kernels::sum_ln((cp.qr..cp.qr + cp.p).map(diag));
        let lyy = diag(cp.mr - 1);
        RestPieces {
            logdet_z: 2.0 * ld_z,
            logdet_x: 2.0 * ld_x,
            pwrss: lyy * lyy,
        }
    }

    /// Entry (i, j), i ≥ j, of the factor (rows/columns of R).
    #[inline]
    pub fn l(&self, mr: usize, i: usize, j: usize) -> f64 {
        self.m[j * mr + i]
    }

    /// β̂ into `beta`: back-substitution with Lxx and the y row.
    pub fn beta_into(&self, cp: &CrossProducts, beta: &mut Vec<f64>) {
        let (qr, p, mr) = (cp.qr, cp.p, cp.mr);
        beta.clear();
        beta.resize(p, 0.0);
        for c in (0..p).rev() {
            let mut s = self.l(mr, mr - 1, qr + c);
            for (d, b) in beta.iter().enumerate().skip(c + 1) {
                s -= self.l(mr, qr + d, qr + c) * b;
            }
            beta[c] = s / self.l(mr, qr + c, qr + c);
        }
    }

    /// The spherical modes of terms 2..m (R's row order) at β into `ur`:
    /// L_rr' u = L_yr' − L_xr' β.
    pub fn rest_modes_into(&self, cp: &CrossProducts, beta: &[f64], ur: &mut Vec<f64>) {
        let (qr, mr) = (cp.qr, cp.mr);
        ur.clear();
        ur.resize(qr, 0.0);
        for i in (0..qr).rev() {
            let mut s = self.l(mr, mr - 1, i);
            for (c, b) in beta.iter().enumerate() {
                s -= self.l(mr, qr + c, i) * b;
            }
            for (h, u) in ur.iter().enumerate().skip(i + 1) {
                s -= self.l(mr, h, i) * u;
            }
            ur[i] = s / self.l(mr, i, i);
        }
    }

    /// Lxx (p × p, lower triangular).
    pub fn lxx(&self, cp: &CrossProducts) -> Mat<f64> {
        let (qr, mr) = (cp.qr, cp.mr);
        Mat::from_fn(cp.p, cp.p, |i, j| {
            if i >= j {
                self.l(mr, qr + i, qr + j)
            } else {
                0.0
            }
        })
    }

    /// The diagonal blocks of (Lzz Lzz')⁻¹ per term (term 1: L_g^{-T} (I + P_g'P_g) L_g⁻¹
    /// with P_g = Lrr⁻¹ W_{z,g}; later terms: their blocks of Lrr^{-T} Lrr⁻¹). From
    /// [`INVERSE_FROM`] later columns (or with `explicit_inverse`) through the explicit
    /// (Lrr Lrr')⁻¹.
    pub fn conditional_blocks(
        &self,
        cp: &CrossProducts,
        terms: &[Term],
        levels: &LevelBlocks,
        explicit_inverse: Option<bool>,
    ) -> Vec<Vec<f64>> {
        let lrr_inv = self.lrr_inverse(cp);
        let explicit = explicit_inverse.unwrap_or(cp.qr >= INVERSE_FROM);
        let rr_inv = explicit.then(|| kernels::lower_inverse_gram(&lrr_inv, Par::rayon(0)));
        let first = match (&rr_inv, &self.schur) {
            (Some(inv), Some(schur)) => {
                let mut forms = schur.level_forms(inv.as_ref(), &levels.w, cp, cp.qr);
                levels.conditional_from_forms(cp.k1, &mut forms);
                forms
            }
            _ => first_term_blocks(cp, levels, &lrr_inv),
        };
        let mut out = vec![first];
        for term in &terms[1..] {
            let k = term.k;
            let mut blocks = vec![0.0; term.n_levels() * k * k];
            for l in 0..term.n_levels() {
                let s = term.r_offset + l * k;
                let v = &mut blocks[l * k * k..(l + 1) * k * k];
                for a in 0..k {
                    for b in 0..k {
                        v[b * k + a] = match &rr_inv {
                            Some(inv) => inv[(s + a.max(b), s + a.min(b))],
                            None => (s..cp.qr)
                                .map(|i| lrr_inv[(i, s + a)] * lrr_inv[(i, s + b)])
                                .sum(),
                        };
                    }
                }
            }
            out.push(blocks);
        }
        out
    }

    fn lrr_inverse(&self, cp: &CrossProducts) -> Mat<f64> {
        let (qr, mr) = (cp.qr, cp.mr);
        let lrr = Mat::from_fn(qr, qr, |i, j| if i >= j { self.l(mr, i, j) } else { 0.0 });
        let mut inv = Mat::<f64>::zeros(qr, qr);
        let par = if qr >= INVERSE_FROM {
            Par::rayon(0)
        } else {
            Par::Seq
        };
        invert_lower_triangular(inv.as_mut(), lrr.as_ref(), par);
        inv
    }

    /// Trade the factor's values with `m` (see [`crate::best_factor`]).
    pub fn swap_values(&mut self, m: &mut Vec<f64>) {
        std::mem::swap(m, &mut self.m);
    }
}

/// Term 1's blocks L_g^{-T} (I + P_g'P_g) L_g⁻¹ with P_g = Lrr⁻¹ W_{z,g}, a column of
/// Lrr⁻¹ per row of W_g.
fn first_term_blocks(cp: &CrossProducts, levels: &LevelBlocks, lrr_inv: &Mat<f64>) -> Vec<f64> {
    let (k1, qr) = (cp.k1, cp.qr);
    let kk = k1 * k1;
    let mut out = vec![0.0; cp.g1 * kk];
    let mut p = vec![0.0; qr * k1];
    for g in 0..cp.g1 {
        p.fill(0.0);
        let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
        for a in lo..hi {
            let r = cp.rows[a];
            if r >= qr {
                break;
            }
            for c in 0..k1 {
                let wac = levels.w[a * k1 + c];
                for i in r..qr {
                    p[c * qr + i] += lrr_inv[(i, r)] * wac;
                }
            }
        }
        // P'P, then L_g^{-T} (I + P'P) L_g⁻¹ for all levels below
        let block = &mut out[g * kk..(g + 1) * kk];
        for a in 0..k1 {
            for b in 0..k1 {
                block[b * k1 + a] = (0..qr).map(|i| p[a * qr + i] * p[b * qr + i]).sum();
            }
        }
    }
    levels.conditional_from_forms(k1, &mut out);
    out
}

/// M ← Λ_R' M Λ_R for the dense m_r × m_r column-major M (Λ_R = blockdiag of the T_j of
/// terms 2..m, identity on X and y).
fn scale_dense(m: &mut [f64], mr: usize, terms: &[Term], t: &[Vec<f64>]) {
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

/// The diagonal of Λ_R when every later term has one column per level (1 on X and y).
fn fill_lambda(lam: &mut [f64], terms: &[Term], t: &[Vec<f64>]) {
    lam.fill(1.0);
    for (term, tj) in terms.iter().zip(t).skip(1) {
        lam[term.r_offset..term.r_offset + term.n_levels()].fill(tj[0]);
    }
}
