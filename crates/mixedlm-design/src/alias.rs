//! Rank deficiency of X: which columns are linear combinations of earlier ones.
//!
//! Sequential modified Gram-Schmidt (with one re-orthogonalization): column j is aliased when
//! the norm of its part orthogonal to the kept earlier columns is below `tol` times its own
//! norm. This is the criterion of the limited-pivoting QR (LINPACK `dqrdc2`) that R's `qr()`
//! and lme4 use with `tol = 1e-7`: deficient columns move to the end, the earliest are kept.
//!
//! The same test is first made on the Gram matrix X'X (one pass over the rows, then a
//! Cholesky factorization of p × p): the squared residual norm of column j is the Schur
//! complement of the kept columns in X'X. That route is only trusted when every column is
//! clearly independent (relative squared residual above [`GRAM_SAFE`], far above tol², and
//! its rounding error bound well below it); otherwise the exact Gram-Schmidt above decides.

use rayon::prelude::*;

use crate::design::DenseMatrix;
use crate::far::far_mean;

/// lme4's default tolerance for rank detection.
pub const RANK_TOL: f64 = 1e-7;

/// The smallest relative squared residual the Gram route decides on (else the exact route).
const GRAM_SAFE: f64 = 1e-8;

/// Indices of the columns of `x` that are (numerically) linear combinations of earlier kept ones.
///
/// The test is scale-free: a column whose magnitudes would overflow or underflow when
/// squared (a predictor in units of 1e160, or holding one 1e308) is first scaled by a power
/// of two, which is exact and changes no decision. It is also shift-free for columns far
/// from zero ([`far_mean`]) when the first column is an intercept: such a column (a year,
/// a timestamp, x + 1e8) is measured minus its mean, as the model's shifted
/// cross-products see it. Subtracting a multiple of the intercept leaves the span of the
/// columns, and so every exact dependency, unchanged; only the norm that `tol` is
/// relative to becomes the column's spread instead of its offset.
pub fn aliased_columns(x: &DenseMatrix, tol: f64) -> Vec<usize> {
    let scaled = power_of_two_scaled(x);
    let x = scaled.as_ref().unwrap_or(x);
    let centred = far_columns_centred(x);
    let x = centred.as_ref().unwrap_or(x);
    if gram_all_independent(x, tol) {
        return Vec::new();
    }
    aliased_exact(x, tol)
}

/// A copy of `x` with each column far from zero minus its mean, when the first column is
/// all ones; `None` when there is nothing to centre (the usual case: no copy).
fn far_columns_centred(x: &DenseMatrix) -> Option<DenseMatrix> {
    if x.ncols < 2 || x.nrows < 2 || !x.col(0).iter().all(|&v| v == 1.0) {
        return None;
    }
    let means: Vec<f64> = (0..x.ncols).map(|j| far_mean(x.col(j))).collect();
    if means[1..].iter().all(|&m| m == 0.0) {
        return None;
    }
    let mut out = x.clone();
    for (j, m) in means.iter().enumerate().skip(1) {
        out.data[j * x.nrows..(j + 1) * x.nrows]
            .iter_mut()
            .for_each(|v| *v -= m);
    }
    Some(out)
}

/// Magnitudes whose squares, summed over any number of rows, neither overflow nor
/// underflow: 2^-400 to 2^400 (about 1e-120 to 1e120).
const SAFE_EXPONENT: i32 = 400;

/// A copy of `x` with each column whose largest magnitude is outside the safe range scaled
/// by a power of two into [0.5, 1); `None` when every column is in range (the usual case:
/// no copy).
fn power_of_two_scaled(x: &DenseMatrix) -> Option<DenseMatrix> {
    let exponents: Vec<Option<i32>> = (0..x.ncols)
        .map(|j| {
            let max = x.col(j).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let e = binary_exponent(max)?;
            (e.abs() > SAFE_EXPONENT).then_some(e)
        })
        .collect();
    if exponents.iter().all(Option::is_none) {
        return None;
    }
    let mut out = x.clone();
    for (j, e) in exponents.iter().enumerate() {
        if let Some(e) = *e {
            let col = &mut out.data[j * x.nrows..(j + 1) * x.nrows];
            col.iter_mut()
                .for_each(|v| *v = scale_by_power_of_two(*v, -e));
        }
    }
    Some(out)
}

/// e with 2^(e-1) ≤ |v| < 2^e, for finite non-zero v.
fn binary_exponent(v: f64) -> Option<i32> {
    if v == 0.0 || !v.is_finite() {
        return None;
    }
    // log2 is exact enough to land within one of e; the loop settles it.
    let mut e = v.abs().log2().floor() as i32 + 1;
    while scale_by_power_of_two(v.abs(), -e) >= 1.0 {
        e += 1;
    }
    while scale_by_power_of_two(v.abs(), -e) < 0.5 {
        e -= 1;
    }
    Some(e)
}

/// v · 2^k, in steps that stay within the exponent range (exact unless the result is
/// subnormal).
fn scale_by_power_of_two(mut v: f64, mut k: i32) -> f64 {
    while k != 0 {
        let step = k.clamp(-1000, 1000);
        v *= f64::from_bits(((1023 + step) as u64) << 52);
        k -= step;
    }
    v
}

/// Whether the Gram route shows every column clearly independent of the earlier ones.
fn gram_all_independent(x: &DenseMatrix, tol: f64) -> bool {
    let (n, p) = (x.nrows, x.ncols);
    // a NaN or large tolerance leaves the decision to the exact route
    let resolvable = tol * tol < GRAM_SAFE / 16.0;
    if n == 0 || !resolvable {
        return false;
    }
    let g = gram(x);
    // rounding of the dot products (|error| ≤ n ε √(G_ii G_jj)) and of the factorization
    let eps = f64::EPSILON * (n + 8 * p) as f64;
    // rows of the Cholesky factor of the column-scaled Gram matrix (unit diagonal)
    let mut l: Vec<Vec<f64>> = Vec::with_capacity(p);
    for j in 0..p {
        let gjj = g[j * p + j];
        if !(gjj > 0.0 && gjj.is_finite()) {
            return false;
        }
        let mut v = Vec::with_capacity(j + 1);
        for a in 0..j {
            let s: f64 = (0..a).map(|b| l[a][b] * v[b]).sum();
            let gaj = g[a * p + j] / (g[a * p + a] * gjj).sqrt();
            v.push((gaj - s) / l[a][a]);
        }
        let r2 = 1.0 - v.iter().map(|t| t * t).sum::<f64>();
        // the residual depends on the entries through w = S_K⁻¹ g (w = L⁻ᵀ v)
        let w1 = back_solve_norm1(&l, &v);
        let clear = r2 >= GRAM_SAFE && eps * (1.0 + w1) * (1.0 + w1) < GRAM_SAFE / 4.0;
        if !clear {
            return false;
        }
        v.push(r2.sqrt());
        l.push(v);
    }
    true
}

/// ‖L⁻ᵀ v‖₁ for the lower-triangular L given by rows.
fn back_solve_norm1(l: &[Vec<f64>], v: &[f64]) -> f64 {
    let mut w = v.to_vec();
    for a in (0..w.len()).rev() {
        w[a] /= l[a][a];
        for b in 0..a {
            w[b] -= l[a][b] * w[a];
        }
    }
    w.iter().map(|t| t.abs()).sum()
}

/// Rows per block of [`gram`]: fixed, so the sums do not depend on the number of threads.
const BLOCK: usize = 4096;

/// From this many rows on, [`gram`]'s blocks are summed on rayon. Below it the pass is
/// shorter than the time a sleeping worker can take to wake on a virtual machine, so a
/// second thread only gives cold fits a heavier tail.
const PAR_ROWS: usize = 200_000;

/// X'X (p × p, row-major, both triangles) in one pass over blocks of rows: each block's
/// products, added to the total in block order (on rayon for large n, with the same sums).
fn gram(x: &DenseMatrix) -> Vec<f64> {
    let (n, p) = (x.nrows, x.ncols);
    let starts: Vec<usize> = (0..n).step_by(BLOCK).collect();
    let blocks: Vec<Vec<f64>> = if n < PAR_ROWS {
        starts.iter().map(|&s| block_gram(x, s)).collect()
    } else {
        starts.par_iter().map(|&s| block_gram(x, s)).collect()
    };
    let mut g = vec![0.0; p * p];
    for block in &blocks {
        g.iter_mut().zip(block).for_each(|(t, b)| *t += b);
    }
    for a in 0..p {
        for b in 0..a {
            g[a * p + b] = g[b * p + a];
        }
    }
    g
}

/// The upper triangle of X'X (row-major p × p, zeros below) on rows `start..start + BLOCK`.
fn block_gram(x: &DenseMatrix, start: usize) -> Vec<f64> {
    let p = x.ncols;
    let end = (start + BLOCK).min(x.nrows);
    let mut g = vec![0.0; p * p];
    for a in 0..p {
        let ca = &x.col(a)[start..end];
        for b in a..p {
            g[a * p + b] = dot(ca, &x.col(b)[start..end]);
        }
    }
    g
}

/// Dot product with sixteen independent sums (vectorizes, with enough chains that the adds
/// need not wait on each other). Shared with the cross-product pass (`mixedlm-crossprod`),
/// so that its X'X and this Gram test sum in the same order. The last `len % 16` products
/// go to the first sums; the sums are added pairwise.
/// Inlined into the pass's loops in the crate that forms the cross-products.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    const LANES: usize = 16;
    let mut acc = [0.0; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (s, (x, y)) in acc
        .iter_mut()
        .zip(ca.remainder().iter().zip(cb.remainder()))
    {
        *s = x * y;
    }
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0]
}

/// [`aliased_columns`] by modified Gram-Schmidt over the rows (the reference route).
fn aliased_exact(x: &DenseMatrix, tol: f64) -> Vec<usize> {
    let n = x.nrows;
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut out = Vec::new();
    for j in 0..x.ncols {
        let col = x.col(j);
        let norm0 = norm(col);
        let mut r = col.to_vec();
        for _ in 0..2 {
            for q in &basis {
                let d: f64 = q.iter().zip(&r).map(|(a, b)| a * b).sum();
                r.iter_mut().zip(q).for_each(|(v, qv)| *v -= d * qv);
            }
        }
        let nr = norm(&r);
        if n == 0 || norm0 == 0.0 || nr.is_nan() || nr <= tol * norm0 {
            out.push(j);
        } else {
            r.iter_mut().for_each(|v| *v /= nr);
            basis.push(r);
        }
    }
    out
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// `x` without the columns in `drop` (sorted indices), taking `x` (no copy when nothing
/// is dropped).
pub(crate) fn drop_columns_owned(x: DenseMatrix, drop: &[usize]) -> DenseMatrix {
    if drop.is_empty() {
        return x;
    }
    drop_columns(&x, drop)
}

/// `x` without the columns in `drop` (sorted indices).
pub fn drop_columns(x: &DenseMatrix, drop: &[usize]) -> DenseMatrix {
    let mut data = Vec::with_capacity(x.nrows * (x.ncols - drop.len()));
    for j in (0..x.ncols).filter(|j| !drop.contains(j)) {
        data.extend_from_slice(x.col(j));
    }
    DenseMatrix {
        nrows: x.nrows,
        ncols: x.ncols - drop.len(),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiple_of_a_column_is_aliased() {
        let x1 = [1.0, 2.0, 3.0, 5.0];
        let mut data = vec![1.0; 4];
        data.extend_from_slice(&x1);
        data.extend(x1.iter().map(|v| 2.0 * v));
        data.extend_from_slice(&[0.0, 1.0, 0.0, 1.0]);
        let x = DenseMatrix {
            nrows: 4,
            ncols: 4,
            data,
        };
        assert_eq!(aliased_columns(&x, RANK_TOL), vec![2]);
        let kept = drop_columns(&x, &[2]);
        assert_eq!(kept.ncols, 3);
        assert_eq!(kept.col(2), &[0.0, 1.0, 0.0, 1.0]);
    }

    /// Columns: intercept, x, and `extra` built from x and a wiggle.
    fn design(extra: impl Fn(f64, f64) -> f64) -> DenseMatrix {
        let n = 200;
        let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 10.0).collect();
        let wiggle: Vec<f64> = (0..n).map(|i| ((i * 53) % 17) as f64 - 8.0).collect();
        let mut data = vec![1.0; n];
        data.extend_from_slice(&x);
        data.extend(x.iter().zip(&wiggle).map(|(a, b)| extra(*a, *b)));
        DenseMatrix {
            nrows: n,
            ncols: 3,
            data,
        }
    }

    #[test]
    fn gram_route_decides_only_clear_cases() {
        // clearly independent: the Gram route keeps everything, as the exact route does
        let clear = design(|_, w| w);
        assert!(gram_all_independent(&clear, RANK_TOL));
        assert_eq!(aliased_columns(&clear, RANK_TOL), Vec::<usize>::new());
        assert_eq!(aliased_exact(&clear, RANK_TOL), Vec::<usize>::new());
        // an exact combination of earlier columns: exact route, dropped
        let dup = design(|x, _| 3.0 * x - 2.0);
        assert!(!gram_all_independent(&dup, RANK_TOL));
        assert_eq!(aliased_columns(&dup, RANK_TOL), vec![2]);
        // nearly collinear but above tol (relative residual ~1e-5): exact route, kept
        let near_kept = design(|x, w| x + 1e-5 * w);
        assert!(!gram_all_independent(&near_kept, RANK_TOL));
        assert_eq!(aliased_columns(&near_kept, RANK_TOL), Vec::<usize>::new());
        // nearly collinear below tol (relative residual ~1e-9): exact route, dropped
        let near_dropped = design(|x, w| x + 1e-9 * w);
        assert!(!gram_all_independent(&near_dropped, RANK_TOL));
        assert_eq!(aliased_columns(&near_dropped, RANK_TOL), vec![2]);
        // a column of zeros and an all-zero design
        let zero = design(|_, _| 0.0);
        assert_eq!(aliased_columns(&zero, RANK_TOL), vec![2]);
    }

    #[test]
    fn gram_route_refuses_large_offsets_it_cannot_resolve() {
        // x far from 0 relative to its spread: after the intercept its relative residual
        // is ~1e-12, so the Gram route must hand over to the exact one (which keeps it)
        let offset = design(|_, w| 1e6 + w);
        assert!(!gram_all_independent(&offset, RANK_TOL));
        assert_eq!(
            aliased_columns(&offset, RANK_TOL),
            aliased_exact(&offset, RANK_TOL)
        );
        assert_eq!(aliased_columns(&offset, RANK_TOL), Vec::<usize>::new());
    }

    #[test]
    fn trust_rank_test_is_scale_free() {
        // x scaled by 1e160 (squares overflow), by 1e-160 (squares underflow), and a column
        // holding one 1e308: none is a combination of the others, none is dropped; the
        // scaled copies of the same column are.
        let base = design(|_, w| w);
        for factor in [1e160, 1e-160, 1e300, 1.0] {
            let mut x = base.clone();
            x.data[200..400].iter_mut().for_each(|v| *v *= factor);
            assert_eq!(
                aliased_columns(&x, RANK_TOL),
                Vec::<usize>::new(),
                "{factor}"
            );
            // a fourth column, 3 × the scaled x: aliased
            let dup: Vec<f64> = x.col(1).iter().map(|v| 3.0 * v).collect();
            x.data.extend(dup);
            x.ncols += 1;
            assert_eq!(aliased_columns(&x, RANK_TOL), vec![3], "{factor}");
        }
        let mut big = base.clone();
        big.data[200 + 17] = 1e308;
        assert_eq!(aliased_columns(&big, RANK_TOL), Vec::<usize>::new());
        // The same decisions as without scaling when nothing is extreme.
        assert!(power_of_two_scaled(&base).is_none());
        assert_eq!(binary_exponent(1.0), Some(1));
        assert_eq!(binary_exponent(0.75), Some(0));
        assert_eq!(binary_exponent(f64::MAX), Some(1024));
        assert_eq!(binary_exponent(f64::MIN_POSITIVE), Some(-1021));
        assert_eq!(
            scale_by_power_of_two(f64::MAX, -1024),
            f64::MAX / 2f64.powi(1023) / 2.0
        );
    }

    #[test]
    fn trust_rank_test_is_shift_free() {
        // x with a tiny spread far from zero (b x + d with b = 2^-16, d = 1e8): its
        // raw relative residual after the intercept is ~1e-14, its spread is intact, so it
        // is kept; 2 x - 1e8 (exact in float64) is still a combination of the intercept
        // and x, and dropped.
        let base = design(|_, w| w);
        let mut x = base.clone();
        x.data[200..400]
            .iter_mut()
            .for_each(|v| *v = *v / 65536.0 + 1e8);
        assert!(far_columns_centred(&base).is_none());
        assert_eq!(aliased_columns(&x, RANK_TOL), Vec::<usize>::new());
        let dup: Vec<f64> = x.col(1).iter().map(|v| 2.0 * v - 1e8).collect();
        x.data.extend(dup);
        x.ncols += 1;
        assert_eq!(aliased_columns(&x, RANK_TOL), vec![3]);
        // without an intercept a shift changes the model: no centring
        let mut no_intercept = x.clone();
        no_intercept.data[..200].iter_mut().for_each(|v| *v = 2.0);
        assert!(far_columns_centred(&no_intercept).is_none());
    }

    #[test]
    fn owned_drop_keeps_the_matrix_when_nothing_is_dropped() {
        let x = design(|_, w| w);
        let ptr = x.data.as_ptr();
        let kept = drop_columns_owned(x, &[]);
        assert_eq!(kept.data.as_ptr(), ptr);
        assert_eq!(drop_columns_owned(kept, &[1]).ncols, 2);
    }

    /// X'X accumulated block after block on one thread (the order [`gram`] must keep).
    fn gram_one_thread(x: &DenseMatrix) -> Vec<f64> {
        let (n, p) = (x.nrows, x.ncols);
        let mut g = vec![0.0; p * p];
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            for a in 0..p {
                for b in a..p {
                    g[a * p + b] += dot(&x.col(a)[start..end], &x.col(b)[start..end]);
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                g[a * p + b] = g[b * p + a];
            }
        }
        g
    }

    #[test]
    fn gram_sums_in_the_same_order_on_rayon() {
        // past PAR_ROWS (blocks on rayon) and below it, with a partial last block
        for n in [PAR_ROWS + 1234, 5000, 3] {
            let data: Vec<f64> = (0..4 * n)
                .map(|i| ((i * 7919) % 1013) as f64 / 97.0 - 5.0 + 1e-9 * i as f64)
                .collect();
            let x = DenseMatrix {
                nrows: n,
                ncols: 4,
                data,
            };
            let bits = |g: Vec<f64>| g.into_iter().map(f64::to_bits).collect::<Vec<_>>();
            assert_eq!(bits(gram(&x)), bits(gram_one_thread(&x)), "n = {n}");
        }
    }
}
