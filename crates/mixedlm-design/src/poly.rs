//! Orthogonal polynomials exactly as R's `poly(x, degree)` computes them.
//!
//! R orthogonalizes the centered Vandermonde matrix by QR and scales each column to unit
//! norm. Column j before scaling is the part of `x^j` orthogonal to the lower powers: the
//! monic orthogonal polynomial `P_j` of the empirical measure of `x`. These satisfy the
//! three-term recurrence (Stieltjes)
//!
//! `P_0 = 1`, `P_1 = x - alpha_1`, `P_{j+1} = (x - alpha_{j+1}) P_j - (norm2_{j+1} / norm2_j) P_{j-1}`
//!
//! with `alpha_j = sum(x P_{j-1}^2) / sum(P_{j-1}^2)` and `norm2 = (1, n, |P_1|^2, ..., |P_d|^2)`,
//! R's `attr(, "coefs")`. Fitting and prediction both use the recurrence (prediction with the
//! stored coefficients, as R's `predict(poly)`), so the same rows give the same columns.

use serde::Serialize;

/// R's `attr(poly(x, d), "coefs")`: the recurrence coefficients.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolyCoefs {
    /// `alpha[0..d]`.
    pub alpha: Vec<f64>,
    /// `norm2[0..d+2]`: `1`, `n`, then the squared norms of the unscaled columns.
    pub norm2: Vec<f64>,
}

/// Learn the coefficients of `poly(x, degree)` (caller checks degree < distinct values).
pub fn poly_fit(x: &[f64], degree: usize) -> PolyCoefs {
    let n = x.len();
    let mut alpha = Vec::with_capacity(degree);
    let mut norm2 = vec![1.0, n as f64];
    let mut prev = vec![0.0; n];
    let mut cur = vec![1.0; n];
    for j in 0..degree {
        let a = dot3(x, &cur, &cur) / norm2[j + 1];
        alpha.push(a);
        let ratio = if j == 0 { 0.0 } else { norm2[j + 1] / norm2[j] };
        let next: Vec<f64> = (0..n)
            .map(|i| (x[i] - a) * cur[i] - ratio * prev[i])
            .collect();
        norm2.push(next.iter().map(|v| v * v).sum());
        prev = cur;
        cur = next;
    }
    PolyCoefs { alpha, norm2 }
}

/// The columns of `poly(x, degree)` for any `x`, given learned coefficients (R's `predict`).
pub fn poly_eval(x: &[f64], coefs: &PolyCoefs) -> Vec<Vec<f64>> {
    let n = x.len();
    let d = coefs.alpha.len();
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(d);
    let mut prev = vec![0.0; n];
    let mut cur = vec![1.0; n];
    for j in 0..d {
        let a = coefs.alpha[j];
        let ratio = if j == 0 {
            0.0
        } else {
            coefs.norm2[j + 1] / coefs.norm2[j]
        };
        let next: Vec<f64> = (0..n)
            .map(|i| (x[i] - a) * cur[i] - ratio * prev[i])
            .collect();
        prev = cur;
        cur = next;
        let s = coefs.norm2[j + 2].sqrt();
        cols.push(cur.iter().map(|v| v / s).collect());
    }
    cols
}

fn dot3(a: &[f64], b: &[f64], c: &[f64]) -> f64 {
    a.iter().zip(b).zip(c).map(|((a, b), c)| a * b * c).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poly_1_to_10_matches_r() {
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let c = poly_fit(&x, 2);
        let cols = poly_eval(&x, &c);
        // R: poly(1:10, 2)[, 1] = (x - 5.5) / sqrt(82.5)
        for (i, v) in cols[0].iter().enumerate() {
            assert!((v - (x[i] - 5.5) / 82.5f64.sqrt()).abs() < 1e-14);
        }
        // R: poly(1:10, 2)[1, 2] = 0.52223296786709 (= 18 / sqrt(1188))
        assert!((cols[1][0] - 18.0 / 1188f64.sqrt()).abs() < 1e-14);
        assert!((cols[1][0] - 0.522_232_967_867_09).abs() < 1e-13);
        // attr(, "coefs"): alpha = c(5.5, 5.5), norm2 = c(1, 10, 82.5, 528)
        assert!(c.alpha.iter().all(|a| (a - 5.5).abs() < 1e-13));
        let expect = [1.0, 10.0, 82.5, 528.0];
        for (a, b) in c.norm2.iter().zip(expect) {
            assert!((a - b).abs() < 1e-10);
        }
        let s: f64 = cols[0].iter().zip(&cols[1]).map(|(a, b)| a * b).sum();
        assert!(s.abs() < 1e-14);
    }
}
