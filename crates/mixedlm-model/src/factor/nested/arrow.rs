//! The nested path's selected inverse ([`ArrowInverse`]: the entries of M_PP⁻¹ on the
//! arrow pattern) and the conditional covariances it gives.

use super::NestedRest;
use crate::crossprod::CrossProducts;
use crate::factor::levels::LevelBlocks;
use crate::gradient::parts::Selected;
use crate::kernels;

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

impl Selected for ArrowInverse {
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
    /// The selected inverse of M_PP ([`ArrowInverse`]) from the factor of the last
    /// successful [`Self::factor`]; `bp` is the number of border rows in P.
    pub fn arrow_inverse(&self, qr: usize, p: usize, bp: usize) -> ArrowInverse {
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
        kernels::lower_inverse(&lp, bp, &mut lp_inv);
        let mut eye = vec![0.0; bp * bp];
        for i in 0..bp {
            eye[i * bp + i] = 1.0;
        }
        kernels::congruence(&lp_inv, &eye, bp, &mut lp, &mut inv.sxx);
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
            kernels::lower_inverse(&self.ls[l * kk..(l + 1) * kk], k2, &mut l_inv);
            kernels::congruence(
                &l_inv,
                &kmat,
                k2,
                &mut tmp,
                &mut inv.sll[l * kk..(l + 1) * kk],
            );
            // S_xl = −Y L_l⁻¹
            for row in y.chunks_exact_mut(k2) {
                kernels::row_times_lower(row, &l_inv, k2);
                row.iter_mut().for_each(|v| *v = -*v);
            }
        }
        inv
    }

    /// The diagonal blocks of (Lzz Lzz')⁻¹: S = (Lrr Lrr')⁻¹ on its pattern (no border
    /// rows) gives term 2's blocks, and term 1's are L_g^{-T} (I + W_g' S W_g) L_g⁻¹ over
    /// the rows of g's level of term 2.
    pub fn conditional_blocks(&self, cp: &CrossProducts, levels: &LevelBlocks) -> Vec<Vec<f64>> {
        let (k1, qr) = (cp.k1, cp.qr);
        let kk = k1 * k1;
        let inv = self.arrow_inverse(qr, cp.p, 0);
        let mut first = vec![0.0; cp.g1 * kk];
        let (mut linv, mut tmp, mut s) = (vec![0.0; kk], vec![0.0; kk], vec![0.0; kk]);
        let mut sblock = Vec::new();
        for (g, block) in first.chunks_exact_mut(kk).enumerate() {
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            let rows = &cp.rows[lo..hi];
            let nz = rows.partition_point(|&r| r < qr);
            sblock.clear();
            sblock.resize(nz * nz, 0.0);
            inv.gather(&rows[..nz], &mut sblock);
            let w = &levels.w[lo * k1..(lo + nz) * k1];
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
            kernels::lower_inverse(&levels.lg[g * kk..(g + 1) * kk], k1, &mut linv);
            kernels::congruence(&linv, &s, k1, &mut tmp, block);
        }
        let second = (0..self.members_ptr.len() - 1)
            .flat_map(|l| inv.level_block(l).to_vec())
            .collect();
        vec![first, second]
    }
}
