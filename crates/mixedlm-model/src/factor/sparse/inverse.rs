//! The estimates read from the sparse factor of the last [`SparseRest::factor`], so that a
//! model on the sparse path never needs a dense factor of its rest block:
//! - β̂ and the spherical modes of terms 2..m by one back-substitution with L';
//! - Lxx, the trailing block of L;
//! - the diagonal blocks of (Lzz Lzz')⁻¹ for the conditional covariances, from the
//!   selected inverse of Lrr (Takahashi's recurrences, supernode by supernode): the
//!   entries of (Lrr Lrr')⁻¹ on L's pattern, which holds the diagonal and every pair of
//!   rows that share a level of term 1 (the Schur pairs of M).

use super::SparseRest;
use crate::kernels;
use crate::terms::Term;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::matmul::triangular::{self as tri, BlockStructure as Block};
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::sparse::linalg::cholesky::supernodal::{SupernodalLltRef, SymbolicSupernodalCholesky};
use faer::sparse::linalg::cholesky::SymbolicCholeskyRaw;
use faer::{Accum, Conj, Mat, MatRef, Par};

/// Where each supernode's columns, rows and values are.
struct Layout<'a> {
    start: Vec<usize>,
    end: Vec<usize>,
    /// Rows below the diagonal block (sorted).
    pattern: Vec<&'a [u32]>,
    /// Offset of the supernode's values (column-major, rows = columns + pattern).
    offset: Vec<usize>,
    /// Supernode of each column.
    owner: Vec<u32>,
}

impl<'a> Layout<'a> {
    fn new(sn: &'a SymbolicSupernodalCholesky<u32>) -> Self {
        let ns = sn.n_supernodes();
        let mut owner = vec![0u32; sn.nrows()];
        let (mut start, mut end, mut pattern) = (
            Vec::with_capacity(ns),
            Vec::with_capacity(ns),
            Vec::with_capacity(ns),
        );
        for s in 0..ns {
            let node = sn.supernode(s);
            let (a, b) = (
                sn.supernode_begin()[s] as usize,
                sn.supernode_end()[s] as usize,
            );
            owner[a..b].fill(s as u32);
            start.push(a);
            end.push(b);
            pattern.push(node.pattern());
        }
        let offset = sn.col_ptr_for_val()[..ns]
            .iter()
            .map(|&v| v as usize)
            .collect();
        Layout {
            start,
            end,
            pattern,
            offset,
            owner,
        }
    }

    fn nrows(&self, s: usize) -> usize {
        self.end[s] - self.start[s] + self.pattern[s].len()
    }

    /// The rows i ≥ j of column j with the positions of their values.
    fn column(&self, j: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let s = self.owner[j] as usize;
        let (a, b, nrows) = (self.start[s], self.end[s], self.nrows(s));
        let base = self.offset[s] + (j - a) * nrows;
        let below = self.pattern[s].iter().map(|&i| i as usize);
        (j..b)
            .chain(below)
            .enumerate()
            .map(move |(e, i)| (i, base + j - a + e))
    }

    /// Position of entry (i, j), i ≥ j, in the values (`None` if outside the pattern).
    fn position(&self, i: usize, j: usize) -> Option<usize> {
        let s = self.owner[j] as usize;
        let (a, b) = (self.start[s], self.end[s]);
        let row = if i < b {
            i - a
        } else {
            let pat = self.pattern[s];
            let k = pat.partition_point(|&r| (r as usize) < i);
            if pat.get(k).is_none_or(|&r| r as usize != i) {
                return None;
            }
            b - a + k
        };
        Some(self.offset[s] + (j - a) * self.nrows(s) + row)
    }
}

/// Z[R, R]'s lower triangle (the upper is left zero) for the sorted rows R below a
/// supernode, from the later supernodes' values in `z`. The rows of R in one later supernode t form a run of R, and
/// every row of R from that run on lies in t's rows: their positions in t are found once
/// per run, then each column of the run is read at those positions.
fn gather(lay: &Layout<'_>, z: &[f64], rows: &[u32], pos: &mut Vec<usize>) -> Mat<f64> {
    let nr = rows.len();
    let mut zrr = Mat::<f64>::zeros(nr, nr);
    let mut c = 0;
    while c < nr {
        let t = lay.owner[rows[c] as usize] as usize;
        let (a, b) = (lay.start[t], lay.end[t]);
        let run_end = c + rows[c..].partition_point(|&r| (r as usize) < b);
        let pat = lay.pattern[t];
        pos.clear();
        let mut lo = 0;
        for &r in &rows[c..] {
            let r = r as usize;
            pos.push(if r < b {
                r - a
            } else {
                lo += pat[lo..].partition_point(|&x| (x as usize) < r);
                debug_assert_eq!(pat.get(lo).map(|&x| x as usize), Some(r), "R in t's rows");
                b - a + lo
            });
        }
        let nrows = lay.nrows(t);
        for cc in c..run_end {
            let col = lay.offset[t] + (rows[cc] as usize - a) * nrows;
            for r in cc..nr {
                zrr[(r, cc)] = z[col + pos[r - c]];
            }
        }
        c = run_end;
    }
    zrr
}

impl SparseRest {
    fn supernodal(&self) -> Option<&SymbolicSupernodalCholesky<u32>> {
        match self.symbolic.raw() {
            SymbolicCholeskyRaw::Supernodal(sn) => Some(sn),
            SymbolicCholeskyRaw::Simplicial(_) => None,
        }
    }

    /// β̂ and the spherical modes of terms 2..m (in R's row order, as the dense path's) at
    /// the last factorization. With M = L L' and L's last row (l', Lyy), L' x = Lyy e_n
    /// gives x = (−(û_R, β̂), 1) in the sparse order.
    pub fn solve(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.n;
        let mut x = Mat::<f64>::zeros(n, 1);
        x[(n - 1, 0)] = self.l_vals[self.l_diag[n - 1]];
        if !self.transpose_solve(&mut x) {
            return (vec![f64::NAN; self.p], vec![f64::NAN; self.qr]);
        }
        let beta = (0..self.p).map(|c| -x[(self.qr + c, 0)]).collect();
        (beta, self.rest_modes_from(&x))
    }

    /// The spherical modes of terms 2..m at a given β (R's row order). The solve of
    /// L' x = b with b zero on the Z part, b_X = L_yx' − Lxx' β and b_y = Lyy leaves
    /// x = (−û_R, −β, 1): the Z part is Lzz^{-T} (L_yz' − L_xz' β).
    pub fn rest_modes(&self, beta: &[f64]) -> Vec<f64> {
        let (n, qr, p) = (self.n, self.qr, self.p);
        let Some(sn) = self.supernodal() else {
            return vec![f64::NAN; qr];
        };
        let lay = Layout::new(sn);
        let at = |i: usize, j: usize| lay.position(i, j).map_or(0.0, |pos| self.l_vals[pos]);
        let mut x = Mat::<f64>::zeros(n, 1);
        for c in 0..p {
            let lxx_beta: f64 = (c..p).map(|r| at(qr + r, qr + c) * beta[r]).sum();
            x[(qr + c, 0)] = at(n - 1, qr + c) - lxx_beta;
        }
        x[(n - 1, 0)] = at(n - 1, n - 1);
        if !self.transpose_solve(&mut x) {
            return vec![f64::NAN; qr];
        }
        self.rest_modes_from(&x)
    }

    /// x ← L^{-T} x at the last factorization; false without a supernodal factor.
    fn transpose_solve(&self, x: &mut Mat<f64>) -> bool {
        let Some(sn) = self.supernodal() else {
            return false;
        };
        let mut mem = MemBuffer::new(sn.solve_in_place_scratch::<f64>(1, Par::Seq));
        SupernodalLltRef::new(sn, &self.l_vals).l_transpose_solve_with_conj(
            Conj::No,
            x.as_mut(),
            Par::Seq,
            MemStack::new(&mut mem),
        );
        true
    }

    /// −x's Z part in R's row order (x in the sparse order).
    fn rest_modes_from(&self, x: &Mat<f64>) -> Vec<f64> {
        let mut ur = vec![0.0; self.qr];
        for (new, &old) in self.perm[..self.qr].iter().enumerate() {
            ur[old as usize] = -x[(new, 0)];
        }
        ur
    }

    /// Lxx (p × p, lower triangular): L's trailing block before the y row.
    pub fn lxx(&self) -> Mat<f64> {
        let (p, qr) = (self.p, self.qr);
        let Some(sn) = self.supernodal() else {
            return Mat::from_fn(p, p, |_, _| f64::NAN);
        };
        let lay = Layout::new(sn);
        Mat::from_fn(p, p, |i, j| {
            if i < j {
                return 0.0;
            }
            lay.position(qr + i, qr + j)
                .map_or(0.0, |pos| self.l_vals[pos])
        })
    }

    /// Z = (Lrr Lrr')⁻¹ on the pattern of Lrr (L's first qr columns and rows), in L's
    /// value layout. Supernodes from last to first: with the diagonal block D, the rows R
    /// below it (restricted to Lrr) and B = L[R, J], U = B D⁻¹ gives
    /// Z[R, J] = −Z[R, R] U and Z[J, J] = D^{-T} D⁻¹ − U' Z[R, J]. Z[R, R] lies in the
    /// later supernodes' pattern (the rows of a supernode form a clique of L).
    fn selected_inverse(&self, lay: &Layout<'_>) -> Vec<f64> {
        let qr = self.qr;
        let mut z = vec![0.0; self.l_vals.len()];
        let mut pos = Vec::new();
        for s in (0..lay.start.len()).rev() {
            let (a, b) = (lay.start[s], lay.end[s]);
            if a >= qr {
                continue;
            }
            let nc = b.min(qr) - a;
            let (ncols, nrows) = (b - a, lay.nrows(s));
            let rows: &[u32] = if b > qr {
                &[]
            } else {
                let pat = lay.pattern[s];
                &pat[..pat.partition_point(|&r| (r as usize) < qr)]
            };
            let ls = MatRef::from_column_major_slice(
                &self.l_vals[lay.offset[s]..lay.offset[s] + nrows * ncols],
                nrows,
                ncols,
            );
            let (zjj, zrj) = supernode_inverse(ls, nc, lay, &z, rows, &mut pos);
            let off = lay.offset[s];
            for c in 0..nc {
                let col = &mut z[off + c * nrows..off + (c + 1) * nrows];
                for r in c..nc {
                    col[r] = zjj[(r, c)];
                }
                for r in 0..rows.len() {
                    col[ncols + r] = zrj[(r, c)];
                }
            }
        }
        z
    }

    /// From S = (Lrr Lrr')⁻¹ at the last factorization, per term: term 1's form
    /// V_g = W_g' S W_g over g's rows of R per level g (k1 × k1; the caller turns it into
    /// L_g^{-T} (I + V_g) L_g⁻¹), and for terms 2..m (one column per level) the diagonal
    /// of S: their diagonal blocks of (Lzz Lzz')⁻¹.
    pub fn conditional_forms(&self, g1: usize, terms: &[Term]) -> Vec<Vec<f64>> {
        let (qr, k1) = (self.qr, self.k1);
        let kk = k1 * k1;
        let Some(sn) = self.supernodal() else {
            let mut out = vec![vec![f64::NAN; g1 * kk]];
            out.extend(terms[1..].iter().map(|t| vec![f64::NAN; t.n_levels()]));
            return out;
        };
        let lay = Layout::new(sn);
        let z = self.selected_inverse(&lay);
        // term 1: V_g = Σ_{a,b} S_ab w_a w_b' over the pairs of g's list, column by column
        // of S (scattered into `x`), as `assemble` gathers the Schur sums
        let mut v = vec![0.0; g1 * kk];
        let mut x = vec![0.0; qr];
        let mut diag = vec![0.0; qr];
        let (l, ws) = (&self.lists, &self.ws);
        for j in 0..qr {
            for (i, pos) in lay.column(j).filter(|&(i, _)| i < qr) {
                x[i] = z[pos];
            }
            diag[j] = x[j];
            for (st, en, g) in l.occurrences_by_level(j) {
                if k1 == 1 {
                    // V_g += w_j (S_jj w_j + 2 Σ_{u>j} S_ju w_u)
                    let mut acc = 0.0;
                    for (&row, &wu) in l.rows[st + 1..en].iter().zip(&ws[st + 1..en]) {
                        if row as usize >= qr {
                            break;
                        }
                        acc += x[row as usize] * wu;
                    }
                    v[g] += ws[st] * (x[j] * ws[st] + 2.0 * acc);
                    continue;
                }
                let vg = &mut v[g * kk..(g + 1) * kk];
                let wj = &ws[st * k1..(st + 1) * k1];
                for u in st..en {
                    let row = l.rows[u] as usize;
                    if row >= qr {
                        break;
                    }
                    let wu = &ws[u * k1..(u + 1) * k1];
                    kernels::add_pair_form(vg, wj, wu, x[row], u == st);
                }
            }
            for (i, _) in lay.column(j).filter(|&(i, _)| i < qr) {
                x[i] = 0.0;
            }
        }
        let mut inv = vec![0usize; qr];
        for (new, &old) in self.perm[..qr].iter().enumerate() {
            inv[old as usize] = new;
        }
        let mut out = vec![v];
        for t in &terms[1..] {
            out.push(
                (0..t.n_levels())
                    .map(|l| diag[inv[t.r_offset + l]])
                    .collect(),
            );
        }
        out
    }
}

/// One supernode's blocks of Z = (Lrr Lrr')⁻¹ (see [`SparseRest::selected_inverse`]):
/// Z[J, J]'s lower triangle and Z[R, J], from its values `ls` (its `nc` columns within
/// Lrr, then the rows below), the rows R below it within Lrr, and the later supernodes'
/// entries of Z. Triangular products throughout (Z[J, J] is symmetric; Z[R, R] is read
/// from its lower triangle).
fn supernode_inverse(
    ls: MatRef<'_, f64>,
    nc: usize,
    lay: &Layout<'_>,
    z: &[f64],
    rows: &[u32],
    pos: &mut Vec<usize>,
) -> (Mat<f64>, Mat<f64>) {
    let ncols = ls.ncols();
    let mut dinv = Mat::<f64>::zeros(nc, nc);
    invert_lower_triangular(dinv.as_mut(), ls.submatrix(0, 0, nc, nc), Par::Seq);
    let mut zjj = kernels::lower_inverse_gram(&dinv, Par::Seq);
    let nr = rows.len();
    let mut zrj = Mat::<f64>::zeros(nr, nc);
    if nr == 0 {
        return (zjj, zrj);
    }
    let mut u = Mat::<f64>::zeros(nr, nc);
    let (rect, lower) = (Block::Rectangular, Block::TriangularLower);
    let below = ls.submatrix(ncols, 0, nr, nc);
    tri::matmul(
        u.as_mut(),
        rect,
        Accum::Replace,
        below,
        rect,
        dinv.as_ref(),
        lower,
        1.0,
        Par::Seq,
    );
    let zrr = gather(lay, z, rows, pos);
    // Z[R, J] = −Z[R, R] U from Z[R, R]'s lower triangle: its triangle, then the transpose
    // of its strict triangle
    let strict_upper = Block::StrictTriangularUpper;
    tri::matmul(
        zrj.as_mut(),
        rect,
        Accum::Replace,
        zrr.as_ref(),
        lower,
        u.as_ref(),
        rect,
        -1.0,
        Par::Seq,
    );
    tri::matmul(
        zrj.as_mut(),
        rect,
        Accum::Add,
        zrr.transpose(),
        strict_upper,
        u.as_ref(),
        rect,
        -1.0,
        Par::Seq,
    );
    // Z[J, J] −= U' Z[R, J]
    tri::matmul(
        zjj.as_mut(),
        lower,
        Accum::Add,
        u.transpose(),
        rect,
        zrj.as_ref(),
        rect,
        -1.0,
        Par::Seq,
    );
    (zjj, zrj)
}
