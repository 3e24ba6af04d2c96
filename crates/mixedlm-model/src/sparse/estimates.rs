//! The estimates read from the sparse factor of the last [`SparseRest::factor`], so that a
//! model on the sparse path never needs the dense factor of its rest block:
//! - β̂ and the spherical modes of terms 2..m by one back-substitution with L';
//! - Lxx, the trailing block of L;
//! - the diagonal blocks of (Lzz Lzz')⁻¹ for the conditional covariances, from the
//!   selected inverse of Lrr (Takahashi's recurrences, supernode by supernode): the
//!   entries of (Lrr Lrr')⁻¹ on L's pattern, which holds the diagonal and every pair of
//!   rows that share a level of term 1 (the Schur pairs of M).
//!
//! InstEval: 1,142 columns of Lrr; these replace a dense factorization and a dense
//! triangular inverse at the end of the fit.

use super::SparseRest;
use crate::small;
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
    pub(crate) fn solve(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.n;
        let mut x = Mat::<f64>::zeros(n, 1);
        let Some(sn) = self.supernodal() else {
            return (vec![f64::NAN; self.p], vec![f64::NAN; self.qr]);
        };
        x[(n - 1, 0)] = self.l_vals[self.l_diag[n - 1]];
        let mut mem = MemBuffer::new(sn.solve_in_place_scratch::<f64>(1, Par::Seq));
        SupernodalLltRef::new(sn, &self.l_vals).l_transpose_solve_with_conj(
            Conj::No,
            x.as_mut(),
            Par::Seq,
            MemStack::new(&mut mem),
        );
        let beta = (0..self.p).map(|c| -x[(self.qr + c, 0)]).collect();
        let mut ur = vec![0.0; self.qr];
        for (new, &old) in self.perm[..self.qr].iter().enumerate() {
            ur[old as usize] = -x[(new, 0)];
        }
        (beta, ur)
    }

    /// Lxx (p × p, lower triangular): L's trailing block before the y row.
    pub(crate) fn lxx(&self) -> Mat<f64> {
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
            let d = ls.submatrix(0, 0, nc, nc);
            let mut dinv = Mat::<f64>::zeros(nc, nc);
            invert_lower_triangular(dinv.as_mut(), d, Par::Seq);
            // Z[J, J]'s lower triangle only (it is symmetric). The last supernode (InstEval:
            // 570 columns) dominates the selected inverse: 29-41 → 16-18 ms with this
            // triangular product and those below.
            let mut zjj = crate::solve::rr_inverse(&dinv, Par::Seq);
            let nr = rows.len();
            let mut zrj = Mat::<f64>::zeros(nr, nc);
            if nr > 0 {
                let mut u = Mat::<f64>::zeros(nr, nc);
                tri::matmul(
                    u.as_mut(),
                    Block::Rectangular,
                    Accum::Replace,
                    ls.submatrix(ncols, 0, nr, nc),
                    Block::Rectangular,
                    dinv.as_ref(),
                    Block::TriangularLower,
                    1.0,
                    Par::Seq,
                );
                let zrr = gather(lay, &z, rows, &mut pos);
                // Z[R, J] = −Z[R, R] U from Z[R, R]'s lower triangle: its triangle, then
                // the transpose of its strict triangle
                tri::matmul(
                    zrj.as_mut(),
                    Block::Rectangular,
                    Accum::Replace,
                    zrr.as_ref(),
                    Block::TriangularLower,
                    u.as_ref(),
                    Block::Rectangular,
                    -1.0,
                    Par::Seq,
                );
                tri::matmul(
                    zrj.as_mut(),
                    Block::Rectangular,
                    Accum::Add,
                    zrr.transpose(),
                    Block::StrictTriangularUpper,
                    u.as_ref(),
                    Block::Rectangular,
                    -1.0,
                    Par::Seq,
                );
                tri::matmul(
                    zjj.as_mut(),
                    Block::TriangularLower,
                    Accum::Add,
                    u.transpose(),
                    Block::Rectangular,
                    zrj.as_ref(),
                    Block::Rectangular,
                    -1.0,
                    Par::Seq,
                );
            }
            let off = lay.offset[s];
            for c in 0..nc {
                let col = &mut z[off + c * nrows..off + (c + 1) * nrows];
                for r in c..nc {
                    col[r] = zjj[(r, c)];
                }
                for r in 0..nr {
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
    pub(crate) fn conditional_forms(&self, g1: usize, terms: &[Term]) -> Vec<Vec<f64>> {
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
                    small::add_pair_form(vg, wj, wu, x[row], u == st);
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

#[cfg(test)]
mod tests {
    use crate::testing::{design_with_x, random_codes, random_term, uniform};
    use crate::{LinearMixedModel, ModelOptions};

    /// `y ~ 1 + x + (1 [+ x] | a) + (1 | b) + (1 | c)` on random crossed levels: a with a
    /// slope when `k1 = 2`, b and c scalar (the sparse path's later terms).
    fn model(k1: usize, n: usize, levels: [usize; 3]) -> LinearMixedModel {
        let code = |salt: u64, m: usize| random_codes(n, salt, m);
        let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 7)).collect();
        let (a, b, c) = (code(1, levels[0]), code(2, levels[1]), code(3, levels[2]));
        let y: Vec<f64> = (0..n)
            .map(|i| {
                1.0 + 0.5 * x[i]
                    + 0.8 * uniform(a[i] as usize, 11)
                    + 0.6 * uniform(b[i] as usize, 12)
                    + 0.4 * uniform(c[i] as usize, 13)
                    + uniform(i, 14)
            })
            .collect();
        let first = if k1 == 1 {
            random_term("a", levels[0], a, vec![1.0; n], &["(Intercept)"])
        } else {
            let mut z = vec![1.0; n];
            z.extend_from_slice(&x);
            random_term("a", levels[0], a, z, &["(Intercept)", "x"])
        };
        let random = vec![
            first,
            random_term("b", levels[1], b, vec![1.0; n], &["(Intercept)"]),
            random_term("c", levels[2], c, vec![1.0; n], &["(Intercept)"]),
        ];
        LinearMixedModel::new(
            &design_with_x(y, &x, random, None),
            ModelOptions { reml: true },
        )
        .unwrap()
    }

    fn close(what: &str, got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        let scale = want.iter().fold(1e-300_f64, |m, v| m.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-10 * scale,
                "{what}[{i}]: sparse {g}, dense {w}"
            );
        }
    }

    /// β, σ, Var(β), the modes and the conditional covariances read from the sparse factor
    /// equal the dense factor's, at several θ.
    fn check(k1: usize, n: usize, levels: [usize; 3]) {
        let mut dense = model(k1, n, levels);
        dense.set_sparse(false);
        let mut sparse = model(k1, n, levels);
        assert!(sparse.set_sparse(true));
        let n_theta = sparse.n_theta();
        for scale in [0.3, 1.0, 2.5] {
            let theta: Vec<f64> = (0..n_theta)
                .map(|i| scale * (0.6 + 0.3 * uniform(i, 21)))
                .collect();
            let mut theta = theta;
            if k1 == 2 {
                theta[1] = 0.2 * scale; // the correlation part of T1
            }
            assert!(dense.evaluate(&theta) && sparse.evaluate(&theta));
            assert!(
                sparse.sparse_current().is_some(),
                "read from the sparse factor"
            );
            close("beta", &sparse.beta(), &dense.beta());
            close("sigma", &[sparse.sigma()], &[dense.sigma()]);
            let (vs, vd) = (sparse.vcov_beta(), dense.vcov_beta());
            let flat = |m: &faer::Mat<f64>| -> Vec<f64> {
                (0..m.ncols())
                    .flat_map(|j| (0..m.nrows()).map(move |i| (i, j)))
                    .map(|(i, j)| m[(i, j)])
                    .collect()
            };
            close("vcov", &flat(&vs), &flat(&vd));
            for (j, (s, d)) in sparse
                .conditional_modes()
                .iter()
                .zip(dense.conditional_modes())
                .enumerate()
            {
                close(&format!("modes of term {j}"), s, &d);
            }
            for explicit in [false, true] {
                let d = dense.conditional_covariances_via(explicit);
                for (j, (s, d)) in sparse.conditional_covariances().iter().zip(&d).enumerate() {
                    close(&format!("condcov of term {j}"), s, d);
                }
            }
        }
    }

    /// The factorization on a worker of rayon's pool (faer's parallel kernels, the other
    /// workers polling) gives the sequential one's objective.
    #[test]
    fn the_parallel_factorization_gives_the_sequential_objective() {
        let mut m = model(1, 6000, [500, 400, 30]);
        assert!(m.set_sparse(true));
        let theta = [0.8, 0.5, 0.3];
        let seq = m.objective(&theta);
        let par = crate::pool::run_awake(|| m.objective(&theta));
        assert!(seq.is_finite());
        assert!((seq - par).abs() <= 1e-12 * seq.abs(), "{seq} vs {par}");
    }

    #[test]
    fn scalar_first_term_estimates_match_the_dense_factor() {
        check(1, 3000, [300, 120, 40]);
    }

    #[test]
    fn slope_first_term_estimates_match_the_dense_factor() {
        check(2, 3000, [250, 150, 30]);
    }

    #[test]
    fn a_fit_on_the_sparse_path_reads_its_estimates_from_the_sparse_factor() {
        let mut dense = model(1, 4000, [400, 200, 50]);
        dense.set_sparse(false);
        let mut sparse = model(1, 4000, [400, 200, 50]);
        assert!(sparse.set_sparse(true));
        let opts = crate::FitOptions::default();
        let (fd, fs) = (dense.fit(&opts).unwrap(), sparse.fit(&opts).unwrap());
        assert!(sparse.sparse_current().is_some());
        assert!((fd.objective - fs.objective).abs() < 1e-8 * fd.objective.abs());
        // θ agrees to the optimizer's accuracy, so the estimates to about 1e-5
        for (a, b) in fs.fixef.iter().zip(&fd.fixef) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "β {a} vs {b}");
        }
        for (ts, td) in fs.random.iter().zip(&fd.random) {
            for (a, b) in ts.condsd.iter().flatten().zip(td.condsd.iter().flatten()) {
                assert!((a - b).abs() < 1e-4 * b.abs(), "cond. SD {a} vs {b}");
            }
        }
    }
}
