//! Rank deficiency of X: which columns are linear combinations of earlier ones.
//!
//! Sequential modified Gram-Schmidt (with one re-orthogonalization): column j is aliased when
//! the norm of its part orthogonal to the kept earlier columns is below `tol` times its own
//! norm. This is the criterion of the limited-pivoting QR (LINPACK `dqrdc2`) that R's `qr()`
//! and lme4 use with `tol = 1e-7`: deficient columns move to the end, the earliest are kept.

use crate::design::DenseMatrix;

/// lme4's default tolerance for rank detection.
pub const RANK_TOL: f64 = 1e-7;

/// Indices of the columns of `x` that are (numerically) linear combinations of earlier kept ones.
pub fn aliased_columns(x: &DenseMatrix, tol: f64) -> Vec<usize> {
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
}
