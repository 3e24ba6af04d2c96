//! The sparse path's symbolic analysis, done once when the model is built: the pattern of
//! M (C's non-zeros ∪ the pairs of rows that co-occur with one level of term 1), a
//! fill-reducing order of its Z part (approximate minimum degree; X and y stay last so
//! that Lxx and Lyy are the trailing block), the lower CSC pattern in that order, the
//! position of every Schur pair in it, and faer's supernodal symbolic factorization.

use crate::crossprod::CrossProducts;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::sparse::linalg::amd;
use faer::sparse::linalg::cholesky::{
    factorize_symbolic_cholesky, CholeskySymbolicParams, SymbolicCholesky, SymbolicCholeskyRaw,
    SymmetricOrdering,
};
use faer::sparse::linalg::SupernodalThreshold;
use faer::sparse::SymbolicSparseColMatRef;
use faer::Side;

/// The assembly of M runs on rayon's threads from this many Schur pairs and pattern
/// entries on (below it one thread is as fast).
const PARALLEL_ASSEMBLY: usize = 200_000;

/// The result of the analysis: everything about M that does not depend on θ.
pub(crate) struct Analysis {
    pub lists: Lists,
    /// The order (new → old index of M's rows).
    pub perm: Vec<usize>,
    /// M's lower CSC pattern in the order.
    pub col_ptr: Vec<u32>,
    pub row_idx: Vec<u32>,
    pub symbolic: SymbolicCholesky<u32>,
    /// Position of each diagonal entry of L in its values.
    pub l_diag: Vec<usize>,
    /// Flops of the sparse factorization relative to a dense one.
    pub flop_ratio: f64,
    /// Column boundaries of the parallel assembly's ranges (see [`column_splits`]).
    pub splits: Vec<usize>,
}

/// The analysis of M for the cross-products `cp`, or `None` when sparsity does not pay:
/// the factorization would need more than `max_flop_ratio` of the dense flops.
pub(crate) fn analyze(cp: &CrossProducts, max_flop_ratio: f64) -> Option<Analysis> {
    let (qr, mr) = (cp.qr, cp.mr);
    let identity: Vec<usize> = (0..mr).collect();
    let natural = Lists::new(cp, &identity);
    // the Schur pairs and C's non-zeros of each Z column
    let (zp, zi) = pattern(qr, mr, &natural, |j, col| {
        let c = &cp.c[j * mr..j * mr + qr];
        col.extend(
            c.iter()
                .enumerate()
                .filter(|x| *x.1 != 0.0)
                .map(|x| x.0 as u32),
        );
    });
    drop(natural);
    if pattern_too_dense(zi.len(), qr, mr, max_flop_ratio) {
        return None;
    }
    let mut perm = fill_order(qr, &zp, &zi)?;
    perm.extend(qr..mr);
    let mut inv = vec![0usize; mr];
    for (new, &old) in perm.iter().enumerate() {
        inv[old] = new;
    }
    let lists = Lists::new(cp, &inv);
    let (col_ptr, row_idx) = permuted_pattern(qr, mr, &zp, &zi, &inv);
    let symbolic = symbolic(mr, &col_ptr, &row_idx)?;
    let (l_diag, flops) = factor_layout(&symbolic)?;
    let flop_ratio = flops / ((mr as f64).powi(3) / 3.0);
    if flop_ratio > max_flop_ratio {
        return None;
    }
    let splits = column_splits(&lists, &col_ptr, mr, rayon::current_num_threads());
    Some(Analysis {
        lists,
        perm,
        col_ptr,
        row_idx,
        symbolic,
        l_diag,
        flop_ratio,
        splits,
    })
}

/// The packed rows of B (one list per level g of term 1) sorted by their index in the
/// sparse order, and for each column j the list entries where j occurs: the Schur pairs
/// of column j are (j, every later entry of those lists).
pub(crate) struct Lists {
    /// Order index of each entry.
    pub rows: Vec<u32>,
    /// Packed row of B (and W) of each entry.
    pub src: Vec<u32>,
    /// Start of column j's occurrences in `start` / `end`.
    col_ptr: Vec<u32>,
    /// Entry where column j occurs.
    start: Vec<u32>,
    /// End of that entry's list.
    end: Vec<u32>,
    /// Level of term 1 whose list holds that entry.
    level: Vec<u32>,
}

impl Lists {
    fn new(cp: &CrossProducts, inv: &[usize]) -> Self {
        let (mut ptr, mut rows, mut src) = (vec![0u32], Vec::new(), Vec::new());
        let mut buf: Vec<(u32, u32)> = Vec::new();
        for g in 0..cp.g1 {
            buf.clear();
            buf.extend(
                (cp.rows_ptr[g]..cp.rows_ptr[g + 1]).map(|a| (inv[cp.rows[a]] as u32, a as u32)),
            );
            buf.sort_unstable();
            rows.extend(buf.iter().map(|x| x.0));
            src.extend(buf.iter().map(|x| x.1));
            ptr.push(rows.len() as u32);
        }
        let mut col_ptr = vec![0u32; cp.mr + 1];
        for &r in &rows {
            col_ptr[r as usize + 1] += 1;
        }
        for j in 0..cp.mr {
            col_ptr[j + 1] += col_ptr[j];
        }
        let mut next = col_ptr.clone();
        let (mut start, mut end) = (vec![0u32; rows.len()], vec![0u32; rows.len()]);
        let mut level = vec![0u32; rows.len()];
        for g in 0..cp.g1 {
            for t in ptr[g]..ptr[g + 1] {
                let k = &mut next[rows[t as usize] as usize];
                start[*k as usize] = t;
                end[*k as usize] = ptr[g + 1];
                level[*k as usize] = g as u32;
                *k += 1;
            }
        }
        Lists {
            rows,
            src,
            col_ptr,
            start,
            end,
            level,
        }
    }

    pub fn occurrences(&self, j: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (lo, hi) = (self.col_ptr[j] as usize, self.col_ptr[j + 1] as usize);
        (lo..hi).map(|k| (self.start[k] as usize, self.end[k] as usize))
    }

    /// As [`Self::occurrences`], with the level of term 1 of each.
    pub fn occurrences_by_level(
        &self,
        j: usize,
    ) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        let (lo, hi) = (self.col_ptr[j] as usize, self.col_ptr[j + 1] as usize);
        self.occurrences(j)
            .zip(&self.level[lo..hi])
            .map(|((s, e), &g)| (s, e, g as usize))
    }
}

/// Lower CSC pattern over the first n columns: the diagonal, the Schur pairs of `lists`
/// and the rows `extra(j)` adds (rows ≥ n or above the diagonal are dropped); sorted rows.
fn pattern(
    n: usize,
    mr: usize,
    lists: &Lists,
    extra: impl Fn(usize, &mut Vec<u32>),
) -> (Vec<u32>, Vec<u32>) {
    let (mut col_ptr, mut row_idx) = (vec![0u32], Vec::new());
    let mut mark = vec![usize::MAX; mr];
    let mut col: Vec<u32> = Vec::new();
    for j in 0..n {
        col.clear();
        col.push(j as u32);
        mark[j] = j;
        // each list holds distinct rows in increasing order, so rows[s + 1..e] are > j;
        // a row shared by many levels' lists is kept once (most Schur pairs repeat)
        for (s, e) in lists.occurrences(j) {
            for &r in &lists.rows[s + 1..e] {
                let r = r as usize;
                if r < n && mark[r] != j {
                    mark[r] = j;
                    col.push(r as u32);
                }
            }
        }
        let listed = col.len();
        extra(j, &mut col);
        let mut kept = listed;
        for q in listed..col.len() {
            let r = col[q] as usize;
            if r < n && r > j && mark[r] != j {
                mark[r] = j;
                col[kept] = r as u32;
                kept += 1;
            }
        }
        col.truncate(kept);
        col.sort_unstable();
        row_idx.extend_from_slice(&col);
        col_ptr.push(row_idx.len() as u32);
    }
    (col_ptr, row_idx)
}

/// M's lower pattern in the fill-reducing order, from the Z part's lower pattern in the
/// natural order (`zp`, `zi`: diagonal, Schur pairs and C's non-zeros) and `inv` (old →
/// new index): each Z entry moved to its new column (the smaller new index of its two),
/// each Z column followed by the X/y rows q_R..m_R, and the X/y columns' lower triangle.
/// O(nnz) plus a sort of each column's Z rows: no second pass over the Schur pairs.
fn permuted_pattern(
    qr: usize,
    mr: usize,
    zp: &[u32],
    zi: &[u32],
    inv: &[usize],
) -> (Vec<u32>, Vec<u32>) {
    let tail = mr - qr;
    let entries = || {
        (0..qr).flat_map(move |j| {
            zi[zp[j] as usize..zp[j + 1] as usize]
                .iter()
                .map(move |&i| {
                    let (a, b) = (inv[i as usize], inv[j]);
                    (a.min(b), a.max(b))
                })
        })
    };
    // Z rows per new column, then the column pointers with the X/y rows added
    let mut z_count = vec![0u32; qr];
    for (c, _) in entries() {
        z_count[c] += 1;
    }
    let mut col_ptr = Vec::with_capacity(mr + 1);
    col_ptr.push(0u32);
    for c in 0..mr {
        let len = if c < qr {
            z_count[c] as usize + tail
        } else {
            mr - c
        };
        col_ptr.push(col_ptr[c] + len as u32);
    }
    let mut row_idx = vec![0u32; col_ptr[mr] as usize];
    let mut next: Vec<u32> = col_ptr[..qr].to_vec();
    for (c, r) in entries() {
        row_idx[next[c] as usize] = r as u32;
        next[c] += 1;
    }
    for c in 0..mr {
        let (lo, hi) = (col_ptr[c] as usize, col_ptr[c + 1] as usize);
        if c < qr {
            let z_end = hi - tail;
            row_idx[lo..z_end].sort_unstable();
            row_idx[z_end..hi]
                .iter_mut()
                .zip(qr as u32..)
                .for_each(|(r, v)| *r = v);
        } else {
            row_idx[lo..hi]
                .iter_mut()
                .zip(c as u32..)
                .for_each(|(r, v)| *r = v);
        }
    }
    (col_ptr, row_idx)
}

/// Approximate-minimum-degree order of the Z part (new → old), from its lower pattern.
fn fill_order(qr: usize, col_ptr: &[u32], row_idx: &[u32]) -> Option<Vec<usize>> {
    let pattern = SymbolicSparseColMatRef::new_checked(qr, qr, col_ptr, None, row_idx);
    let mut fwd = vec![0u32; qr];
    let mut inv = vec![0u32; qr];
    let mut mem = MemBuffer::try_new(amd::order_scratch::<u32>(qr, row_idx.len())).ok()?;
    amd::order(
        &mut fwd,
        &mut inv,
        pattern,
        amd::Control::default(),
        MemStack::new(&mut mem),
    )
    .ok()?;
    Some(fwd.into_iter().map(|v| v as usize).collect())
}

/// Column boundaries splitting columns 0..n into up to `parts` ranges of about equal work
/// (a column costs its Schur pairs plus its pattern entries); `[0, n]` when the whole
/// assembly is too small to pay for a fork.
pub(crate) fn column_splits(lists: &Lists, col_ptr: &[u32], n: usize, parts: usize) -> Vec<usize> {
    let work = |j: usize| {
        let pairs: usize = lists.occurrences(j).map(|(s, e)| e - s).sum();
        pairs + (col_ptr[j + 1] - col_ptr[j]) as usize
    };
    let total: usize = (0..n).map(work).sum();
    if parts < 2 || total < PARALLEL_ASSEMBLY {
        return vec![0, n];
    }
    let mut splits = vec![0];
    let mut done = 0;
    for j in 0..n {
        done += work(j);
        let next = splits.len();
        if next < parts && done * parts >= total * next {
            splits.push(j + 1);
        }
    }
    if *splits.last().unwrap_or(&0) != n {
        splits.push(n);
    }
    splits.dedup();
    splits
}

/// Whether M's pattern alone (`nnz_z` lower entries in the Z columns, diagonal included,
/// plus the dense X and y block) rules the sparse path out, before the fill-reducing order
/// and the symbolic factorization are paid for (a large crossed design can have a dense
/// Schur pattern). The flops [`factor_layout`] counts are Σ_j c_j² over L's column counts, and
/// c_j ≥ the pattern's whatever the order, so by Cauchy-Schwarz they are at least
/// nnz² / m_r: when that already exceeds `max_flop_ratio` × m_r³ / 3, so does the ratio.
fn pattern_too_dense(nnz_z: usize, qr: usize, mr: usize, max_flop_ratio: f64) -> bool {
    let tail = (mr - qr) * (mr - qr + 1) / 2;
    let nnz = (nnz_z + tail) as f64;
    let mr = mr as f64;
    nnz * nnz / mr > max_flop_ratio * mr.powi(3) / 3.0
}

fn symbolic(n: usize, col_ptr: &[u32], row_idx: &[u32]) -> Option<SymbolicCholesky<u32>> {
    // faer's symbolic analysis with the identity order reads the upper triangle: give it
    // the transpose of the lower pattern (a counting sort: columns j in increasing order
    // leave every transposed column's rows sorted)
    let mut up_ptr = vec![0u32; n + 1];
    for &i in &row_idx[..col_ptr[n] as usize] {
        up_ptr[i as usize + 1] += 1;
    }
    for j in 0..n {
        up_ptr[j + 1] += up_ptr[j];
    }
    let mut next = up_ptr[..n].to_vec();
    let mut up_idx = vec![0u32; col_ptr[n] as usize];
    for j in 0..n {
        for &i in &row_idx[col_ptr[j] as usize..col_ptr[j + 1] as usize] {
            let k = &mut next[i as usize];
            up_idx[*k as usize] = j as u32;
            *k += 1;
        }
    }
    let pattern = SymbolicSparseColMatRef::new_checked(n, n, &up_ptr, None, &up_idx);
    let params = CholeskySymbolicParams {
        supernodal_flop_ratio_threshold: SupernodalThreshold::FORCE_SUPERNODAL,
        ..Default::default()
    };
    factorize_symbolic_cholesky(pattern, Side::Upper, SymmetricOrdering::Identity, params).ok()
}

/// Position of each diagonal entry of L in its values, and the flops of a factorization.
fn factor_layout(symbolic: &SymbolicCholesky<u32>) -> Option<(Vec<usize>, f64)> {
    let SymbolicCholeskyRaw::Supernodal(sn) = symbolic.raw() else {
        return None;
    };
    let mut diag = vec![0; sn.nrows()];
    let mut flops = 0.0;
    for s in 0..sn.n_supernodes() {
        let (start, end) = (
            sn.supernode_begin()[s] as usize,
            sn.supernode_end()[s] as usize,
        );
        let ncols = end - start;
        let nrows = sn.nnz_per_super()[s] as usize + ncols;
        let base = sn.col_ptr_for_val()[s] as usize;
        for (c, d) in diag[start..end].iter_mut().enumerate() {
            *d = base + c * nrows + c;
            let below = (nrows - c) as f64;
            flops += below * below;
        }
    }
    Some((diag, flops))
}

#[cfg(test)]
mod tests {
    use super::{column_splits, pattern_too_dense, permuted_pattern, Lists, PARALLEL_ASSEMBLY};
    use std::collections::BTreeSet;

    #[test]
    fn the_permuted_pattern_is_the_pattern_of_the_permuted_matrix() {
        // Z part: 6 columns (lower pattern, diagonal included), then 2 X/y rows
        let (qr, mr) = (6, 8);
        let lower: Vec<Vec<u32>> = vec![
            vec![0, 2, 5],
            vec![1, 3],
            vec![2, 4, 5],
            vec![3],
            vec![4, 5],
            vec![5],
        ];
        let mut zp = vec![0u32];
        let mut zi = Vec::new();
        for col in &lower {
            zi.extend(col);
            zp.push(zi.len() as u32);
        }
        let perm = [3usize, 0, 5, 1, 4, 2, 6, 7]; // new -> old
        let mut inv = vec![0; mr];
        for (new, &old) in perm.iter().enumerate() {
            inv[old] = new;
        }
        let (col_ptr, row_idx) = permuted_pattern(qr, mr, &zp, &zi, &inv);
        let mut want: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); mr];
        for (j, col) in lower.iter().enumerate() {
            for &i in col {
                let (a, b) = (inv[i as usize], inv[j]);
                want[a.min(b)].insert(a.max(b) as u32);
            }
        }
        for (j, rows) in want.iter_mut().enumerate() {
            rows.extend((qr.max(j) as u32)..mr as u32);
        }
        for j in 0..mr {
            let got = &row_idx[col_ptr[j] as usize..col_ptr[j + 1] as usize];
            let want: Vec<u32> = want[j].iter().copied().collect();
            assert_eq!(got, want, "column {j}");
        }
    }

    #[test]
    fn column_splits_cover_every_column_in_balanced_ranges() {
        // one list per level of term 1 holding every one of n rows: column j has n - j
        // Schur pairs, so equal work needs more columns at the end
        let n = 1000;
        let lists = Lists {
            rows: (0..n as u32).collect(),
            src: (0..n as u32).collect(),
            col_ptr: (0..=n as u32).collect(),
            start: (0..n as u32).collect(),
            end: vec![n as u32; n],
            level: vec![0; n],
        };
        let col_ptr: Vec<u32> = (0..=n as u32).collect();
        let total = n * (n + 1) / 2 + n;
        assert!(total > PARALLEL_ASSEMBLY);
        let splits = column_splits(&lists, &col_ptr, n, 2);
        assert_eq!(splits.len(), 3);
        assert_eq!((splits[0], splits[2]), (0, n));
        // the first range's work is about half the total
        let work = |j: usize| n - j + 1;
        let first: usize = (0..splits[1]).map(work).sum();
        assert!(
            (first as f64 / total as f64 - 0.5).abs() < 0.01,
            "{splits:?}"
        );
        // one thread, or too little work: one range
        assert_eq!(column_splits(&lists, &col_ptr, n, 1), vec![0, n]);
        assert_eq!(column_splits(&lists, &col_ptr, 10, 2), vec![0, 10]);
    }

    #[test]
    fn only_patterns_whose_flops_must_exceed_the_ratio_are_too_dense() {
        let (qr, mr) = (1000, 1003);
        let full = qr * (qr + 1) / 2;
        // a full pattern: at least the dense flops
        assert!(pattern_too_dense(full, qr, mr, 0.5));
        // a diagonal plus a few entries per column: could factor cheaply
        assert!(!pattern_too_dense(qr * 5, qr, mr, 0.5));
        // the bound nnz²/m_r > ratio·m_r³/3 at ratio 0.5: nnz > 0.408 m_r²
        let edge = (0.408 * (mr * mr) as f64) as usize;
        assert!(!pattern_too_dense(edge - 10, qr, mr, 0.5));
        assert!(pattern_too_dense(edge + 2000, qr, mr, 0.5));
        // tests force the sparse path with an infinite ratio
        assert!(!pattern_too_dense(full, qr, mr, f64::INFINITY));
    }
}
