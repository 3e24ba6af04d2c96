//! Dense kernels: tiny ones on k×k column-major blocks (k is the number of random effects
//! per level: 1, 2, 3 ... so plain loops beat any blocked kernel) and the triangular
//! product that turns L⁻¹ into (L L')⁻¹.

use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, Par};

/// In-place lower Cholesky of the k×k column-major `a` (lower triangle read; the strict
/// upper triangle is zeroed). Returns false if a pivot is not positive. Inlined, so that
/// the loops of a constant k unroll.
#[inline(always)]
pub fn chol(a: &mut [f64], k: usize) -> bool {
    for j in 0..k {
        let mut d = a[j * k + j];
        for m in 0..j {
            d -= a[m * k + j] * a[m * k + j];
        }
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j * k + j] = d;
        for i in j + 1..k {
            let mut s = a[j * k + i];
            for m in 0..j {
                s -= a[m * k + i] * a[m * k + j];
            }
            a[j * k + i] = s / d;
        }
        for i in 0..j {
            a[j * k + i] = 0.0;
        }
    }
    true
}

/// out = T' A T for k×k column-major A (symmetric), T lower triangular. `tmp` has k*k entries.
#[inline(always)]
pub fn congruence(t: &[f64], a: &[f64], k: usize, tmp: &mut [f64], out: &mut [f64]) {
    // tmp = A T
    for c in 0..k {
        for i in 0..k {
            let mut s = 0.0;
            for m in c..k {
                s += a[m * k + i] * t[c * k + m];
            }
            tmp[c * k + i] = s;
        }
    }
    // out = T' tmp
    for c in 0..k {
        for r in 0..k {
            let mut s = 0.0;
            for m in r..k {
                s += t[r * k + m] * tmp[c * k + m];
            }
            out[c * k + r] = s;
        }
    }
}

/// row ← row · T (row vector of length k times the lower-triangular k×k T), in place.
#[inline(always)]
pub fn row_times_lower(row: &mut [f64], t: &[f64], k: usize) {
    // new[c] = Σ_{m ≥ c} row[m] T[m, c]; increasing c only reads entries not yet overwritten
    for c in 0..k {
        let mut s = 0.0;
        for m in c..k {
            s += row[m] * t[c * k + m];
        }
        row[c] = s;
    }
}

/// row ← row · L^{-T} (solve x L' = row, i.e. L x' = row'), L lower triangular k×k.
#[inline(always)]
pub fn row_solve_lower_t(row: &mut [f64], l: &[f64], k: usize) {
    for i in 0..k {
        let mut s = row[i];
        for m in 0..i {
            s -= l[m * k + i] * row[m];
        }
        row[i] = s / l[i * k + i];
    }
}

/// x ← L^{-T} x (solve L' x = x), L lower triangular k×k.
#[inline(always)]
pub fn solve_lower_t(x: &mut [f64], l: &[f64], k: usize) {
    for i in (0..k).rev() {
        let mut s = x[i];
        for m in i + 1..k {
            s -= l[i * k + m] * x[m];
        }
        x[i] = s / l[i * k + i];
    }
}

/// out = L⁻¹ for a lower-triangular k×k column-major L (`out` has k*k entries; its strict
/// upper triangle is zeroed).
#[inline(always)]
pub fn lower_inverse(l: &[f64], k: usize, out: &mut [f64]) {
    out.fill(0.0);
    for c in 0..k {
        for i in c..k {
            let mut s = f64::from(u8::from(i == c));
            for m in c..i {
                s -= l[m * k + i] * out[c * k + m];
            }
            out[c * k + i] = s / l[i * k + i];
        }
    }
}

/// out = L^{-T} K L⁻¹ for a lower-triangular k×k L and symmetric K, through `linv` = L⁻¹
/// (written; `tmp` scratch, k² entries each). For k = 1, K / L².
#[inline(always)]
pub fn inverse_congruence(
    l: &[f64],
    kmat: &[f64],
    k: usize,
    linv: &mut [f64],
    tmp: &mut [f64],
    out: &mut [f64],
) {
    if k == 1 {
        out[0] = kmat[0] / (l[0] * l[0]);
        return;
    }
    lower_inverse(l, k, linv);
    congruence(linv, kmat, k, tmp, out);
}

/// row ← −row L⁻¹ (`linv` = L⁻¹ as [`inverse_congruence`] left it; for k = 1 the
/// division by −L is direct).
#[inline(always)]
pub fn neg_times_lower_inverse(row: &mut [f64], l: &[f64], linv: &[f64], k: usize) {
    if k == 1 {
        row[0] /= -l[0];
        return;
    }
    row_times_lower(row, linv, k);
    row.iter_mut().for_each(|x| *x = -*x);
}

/// The lower triangle of L^{-T} L⁻¹ = (L L')⁻¹ from L⁻¹ (lower triangular), by a
/// triangular product (a sixth of a full product's flops); the upper is left zero.
pub fn lower_inverse_gram(l_inv: &Mat<f64>, par: Par) -> Mat<f64> {
    let n = l_inv.nrows();
    let mut out = Mat::<f64>::zeros(n, n);
    matmul(
        out.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        l_inv.transpose(),
        BlockStructure::TriangularUpper,
        l_inv.as_ref(),
        BlockStructure::TriangularLower,
        1.0,
        par,
    );
    out
}

/// y = T x for lower-triangular T (k×k column-major).
#[inline(always)]
pub fn lower_times(t: &[f64], x: &[f64], k: usize, y: &mut [f64]) {
    for (i, yi) in y.iter_mut().enumerate().take(k) {
        *yi = (0..=i).map(|m| t[m * k + i] * x[m]).sum();
    }
}

/// Σ ln xᵢ with one logarithm per 16 values (the product of each run of 16; a run whose
/// product leaves the normal range is summed term by term). For the log-determinants,
/// where the logarithms dominated small models' evaluations.
pub fn sum_ln(xs: impl Iterator<Item = f64>) -> f64 {
    let mut buf = [1.0f64; 16];
    let (mut total, mut n) = (0.0, 0);
    let flush = |buf: &[f64]| -> f64 {
        let prod: f64 = buf.iter().product();
        if prod.is_normal() {
            prod.ln()
        } else {
            buf.iter().map(|x| x.ln()).sum()
        }
    };
    for x in xs {
        buf[n] = x;
        n += 1;
        if n == buf.len() {
            total += flush(&buf);
            n = 0;
        }
    }
    total + flush(&buf[..n])
}

/// S += v (a b' + b a') for two distinct rows a, b of W, or S += v a a' when `same`
/// (k × k column-major; the terms of W_g' A W_g for one pair of level g's rows).
#[inline(always)]
pub fn add_pair_form(s: &mut [f64], a: &[f64], b: &[f64], v: f64, same: bool) {
    let k = a.len();
    for c in 0..k {
        for d in 0..k {
            let x = a[c] * v * b[d];
            s[d * k + c] += x;
            if !same {
                s[c * k + d] += x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_ln_matches_termwise_sum() {
        let xs: Vec<f64> = (0..53).map(|i| 0.5 + f64::from(i) * 0.37).collect();
        let want: f64 = xs.iter().map(|x| x.ln()).sum();
        assert!((sum_ln(xs.iter().copied()) - want).abs() < 1e-12 * want.abs());
        // products out of range fall back to the termwise sum
        let big: [f64; 5] = [1e300, 1e300, 1e-300, 1e-300, 2.0];
        let want: f64 = big.iter().map(|x| x.ln()).sum();
        assert!((sum_ln(big.iter().copied()) - want).abs() < 1e-9);
        assert_eq!(sum_ln(std::iter::empty()), 0.0);
    }

    #[test]
    fn chol_reproduces_matrix() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let mut l = a;
        assert!(chol(&mut l, 2));
        let r00 = l[0] * l[0];
        let r10 = l[1] * l[0];
        let r11 = l[1] * l[1] + l[3] * l[3];
        assert!(
            (r00 - 4.0).abs() < 1e-14 && (r10 - 2.0).abs() < 1e-14 && (r11 - 3.0).abs() < 1e-14
        );
        assert_eq!(l[2], 0.0);
        assert!(!chol(&mut [1.0, 2.0, 2.0, 1.0], 2));
    }

    #[test]
    fn congruence_and_solves_agree() {
        let t = [2.0, 0.5, 0.0, 1.5];
        let a = [3.0, 1.0, 1.0, 2.0];
        let (mut tmp, mut out) = ([0.0; 4], [0.0; 4]);
        congruence(&t, &a, 2, &mut tmp, &mut out);
        // T' A T by hand: T = [[2,0],[0.5,1.5]]
        let at = [3.0 * 2.0 + 1.0 * 0.5, 1.0 * 2.0 + 2.0 * 0.5, 1.5, 3.0];
        let expect = [
            2.0 * at[0] + 0.5 * at[1],
            1.5 * at[1],
            2.0 * at[2] + 0.5 * at[3],
            1.5 * at[3],
        ];
        for i in 0..4 {
            assert!((out[i] - expect[i]).abs() < 1e-12, "{i}");
        }
        let mut row = [1.0, 2.0];
        row_times_lower(&mut row, &t, 2);
        assert_eq!(row, [1.0 * 2.0 + 2.0 * 0.5, 2.0 * 1.5]);
        let mut x = [1.0, 2.0];
        row_solve_lower_t(&mut x, &t, 2);
        // check L x = original
        assert!(
            (t[0] * x[0] - 1.0).abs() < 1e-12 && (t[1] * x[0] + t[3] * x[1] - 2.0).abs() < 1e-12
        );
        let mut z = [1.0, 2.0];
        solve_lower_t(&mut z, &t, 2);
        assert!(
            (t[0] * z[0] + t[1] * z[1] - 1.0).abs() < 1e-12 && (t[3] * z[1] - 2.0).abs() < 1e-12
        );
    }
}
