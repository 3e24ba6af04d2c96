//! Gauss-Hermite rules for the standard normal weight: nodes z_k and weights w_k with
//! Σ_k w_k f(z_k) = ∫ f(z) φ(z) dz exactly for polynomials of degree < 2n.
//!
//! From the Golub-Welsch eigenproblem of the Jacobi matrix of the probabilists' Hermite
//! polynomials (zero diagonal, √j off the diagonal): the nodes are its eigenvalues, the
//! weights the squared first components of its unit eigenvectors. Each node is then
//! polished by Newton steps on the three-term recurrence.

use faer::{Mat, Side};

/// The largest number of quadrature points (lme4's limit).
pub const MAX_NAGQ: usize = 25;

/// A Gauss-Hermite rule for the standard normal density.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussHermite {
    /// The nodes, increasing (the middle one is exactly 0 for odd n).
    pub nodes: Vec<f64>,
    /// The weights, summing to 1.
    pub weights: Vec<f64>,
}

impl GaussHermite {
    /// The n-point rule, 1 ≤ n ≤ [`MAX_NAGQ`].
    pub fn new(n: usize) -> Option<Self> {
        if n == 0 || n > MAX_NAGQ {
            return None;
        }
        let jacobi = Mat::from_fn(n, n, |i, j| {
            if i.abs_diff(j) == 1 {
                (i.max(j) as f64).sqrt()
            } else {
                0.0
            }
        });
        let evd = jacobi.self_adjoint_eigen(Side::Lower).ok()?;
        let mut nodes: Vec<f64> = (0..n).map(|i| evd.S()[i]).collect();
        let mut weights: Vec<f64> = (0..n).map(|i| evd.U()[(0, i)].powi(2)).collect();
        for (i, z) in nodes.iter_mut().enumerate() {
            polish(z, n);
            // odd rules: the middle node is exactly zero by symmetry
            if n % 2 == 1 && i == n / 2 {
                *z = 0.0;
            }
        }
        // symmetric nodes carry equal weights; average the pairs
        for i in 0..n / 2 {
            let (a, b) = (nodes[i], nodes[n - 1 - i]);
            let z = 0.5 * (b - a);
            nodes[i] = -z;
            nodes[n - 1 - i] = z;
            let w = 0.5 * (weights[i] + weights[n - 1 - i]);
            weights[i] = w;
            weights[n - 1 - i] = w;
        }
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        Some(GaussHermite { nodes, weights })
    }
}

/// Newton steps on He_n(z) = 0 with He_n' = n He_{n-1}.
fn polish(z: &mut f64, n: usize) {
    for _ in 0..3 {
        let (mut h0, mut h1) = (1.0, *z);
        for j in 1..n {
            let h2 = *z * h1 - j as f64 * h0;
            h0 = h1;
            h1 = h2;
        }
        let d = n as f64 * h0;
        if d != 0.0 && d.is_finite() && h1.is_finite() {
            *z -= h1 / d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact moments of the standard normal: E z^2m = (2m - 1)!!.
    #[test]
    fn rules_integrate_normal_moments_exactly() {
        for n in [1, 2, 3, 5, 9, 12, 25] {
            let r = GaussHermite::new(n).unwrap();
            for m in 0..n {
                let exact: f64 = (1..=m).map(|j| (2 * j - 1) as f64).product();
                let got: f64 = r
                    .nodes
                    .iter()
                    .zip(&r.weights)
                    .map(|(z, w)| w * z.powi(2 * m as i32))
                    .sum();
                // high moments weigh the outermost nodes: rounding grows with m
                let tol = if m < 10 { 1e-12 } else { 1e-9 };
                assert!(
                    (got - exact).abs() < tol * exact,
                    "n {n} m {m}: {got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn small_rules_match_the_closed_forms() {
        let r = GaussHermite::new(3).unwrap();
        assert!((r.nodes[2] - 3f64.sqrt()).abs() < 1e-14 && r.nodes[1] == 0.0);
        assert!((r.weights[1] - 2.0 / 3.0).abs() < 1e-14);
        assert!(GaussHermite::new(0).is_none() && GaussHermite::new(26).is_none());
    }
}
