//! The Schur update of the dense rest block, M ← M − Σ_g W_g W_g', organised by columns
//! of M.
//!
//! For every row r of R it lists the packed positions a with `rows[a] == r` and the end of
//! a's level. Column r of M then receives, from each listed a, the products of W_a with
//! W_b for the rows b ≥ a of the same level (rows are sorted within a level, so these are
//! exactly the rows of the lower triangle). All writes of one column stay in that column,
//! which stays in cache, and columns are independent, so large blocks run in parallel;
//! looping over levels instead scatters every write to a different column.

use crate::crossprod::CrossProducts;
use crate::kernels;

/// From this size on the dense block's Schur update and Cholesky factorization run on
/// rayon's threads (below it the fork/join cost exceeds the work).
pub(crate) const PARALLEL_DENSE: usize = 384;

/// The column lists of the Schur update (see the module docs).
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

/// The start of M for a diagonal Λ_R: column r is λ_r λ ∘ C[:, r], plus 1 on the
/// diagonal of the Z part.
pub(crate) struct Scaled<'a> {
    pub c: &'a [f64],
    pub lam: &'a [f64],
    pub qr: usize,
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

impl SchurColumns {
    pub fn new(cp: &CrossProducts) -> Self {
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
    /// is read for all the levels that contain r, so it stays in cache; columns run in
    /// parallel.
    pub fn level_forms(
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
                    kernels::add_pair_form(s, wa, wb, col[rb], b == a);
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
    pub fn subtract(
        &self,
        m: &mut [f64],
        w: &[f64],
        cp: &CrossProducts,
        init: Option<&Scaled<'_>>,
    ) {
        let mr = cp.mr;
        let column = |(r, col): (usize, &mut [f64])| {
            if let Some(init) = init {
                init.column(r, col);
            }
            for e in self.ptr[r]..self.ptr[r + 1] {
                column_update(col, self.pos[e], self.end[e], w, cp);
            }
        };
        if mr >= PARALLEL_DENSE {
            use rayon::prelude::*;
            m.par_chunks_mut(mr).enumerate().for_each(column);
        } else {
            m.chunks_mut(mr).enumerate().for_each(column);
        }
    }
}

/// col[rows[b]] −= W_b · W_a for b in a..end.
#[inline]
fn column_update(col: &mut [f64], a: usize, end: usize, w: &[f64], cp: &CrossProducts) {
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

/// M −= Σ_g W_g W_g' (lower triangle) when term 1 is the only term, so that each level's
/// W_g holds all m_r rows of M in order (k1 values per row). Entry by entry: each sum over
/// the levels runs down W with a fixed stride (no stores in the inner loop).
pub(crate) fn subtract_single_term(m: &mut [f64], w: &[f64], mr: usize, k1: usize) {
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
