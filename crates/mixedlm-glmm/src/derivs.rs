//! Finite-difference gradient and Hessian of the GLMM criterion at the optimum, over
//! (θ, β) as lme4's `deriv12` computes them for `checkConv` and `vcov`.
//!
//! Central differences with step h_i; a parameter within h_i of its lower bound gets
//! forward differences (f(x), f(x + h), f(x + 2h)). Off-diagonal entries use
//! f(x + h_i e_i + h_j e_j) and f(x − h_i e_i − h_j e_j) with the axis points already
//! evaluated: H_ij = (f_pp + f_mm − f_p0 − f_m0 − f_0p − f_0m + 2 f_0) / (2 h_i h_j),
//! second-order accurate, two evaluations per pair.

/// Gradient and Hessian (row-major, n × n) of `f` at `x`; `f0 = f(x)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Derivatives {
    /// ∂f/∂x_i.
    pub gradient: Vec<f64>,
    /// ∂²f/∂x_i∂x_j, row-major.
    pub hessian: Vec<f64>,
    /// Evaluations of f used (f0 excluded).
    pub evaluations: usize,
}

/// Finite-difference derivatives of `f` at `x` with steps `h` and lower bounds `lower`.
pub fn derivatives<F: FnMut(&[f64]) -> f64>(
    mut f: F,
    x: &[f64],
    f0: f64,
    h: &[f64],
    lower: &[f64],
) -> Derivatives {
    let n = x.len();
    let mut evals = 0;
    let mut at = |pt: &[f64]| {
        evals += 1;
        f(pt)
    };
    let forward: Vec<bool> = (0..n).map(|i| x[i] - h[i] < lower[i]).collect();
    // axis points: (f(x - h e_i), f(x + h e_i)), or (f(x + h), f(x + 2h)) forward
    let mut axis = vec![(0.0, 0.0); n];
    let mut p = x.to_vec();
    for i in 0..n {
        let (a, b) = if forward[i] {
            (x[i] + h[i], x[i] + 2.0 * h[i])
        } else {
            (x[i] - h[i], x[i] + h[i])
        };
        p[i] = a;
        let fa = at(&p);
        p[i] = b;
        let fb = at(&p);
        p[i] = x[i];
        axis[i] = (fa, fb);
    }
    let mut gradient = vec![0.0; n];
    let mut hessian = vec![0.0; n * n];
    for i in 0..n {
        let (fa, fb) = axis[i];
        if forward[i] {
            gradient[i] = (-3.0 * f0 + 4.0 * fa - fb) / (2.0 * h[i]);
            hessian[i * n + i] = (f0 - 2.0 * fa + fb) / (h[i] * h[i]);
        } else {
            gradient[i] = (fb - fa) / (2.0 * h[i]);
            hessian[i * n + i] = (fa + fb - 2.0 * f0) / (h[i] * h[i]);
        }
    }
    for i in 0..n {
        for j in 0..i {
            let hij = if forward[i] || forward[j] {
                // forward in both: f(x + h_i + h_j) − f(x + h_i) − f(x + h_j) + f(x)
                p[i] = x[i] + h[i];
                p[j] = x[j] + h[j];
                let fpp = at(&p);
                p[i] = x[i];
                p[j] = x[j];
                let fi = if forward[i] { axis[i].0 } else { axis[i].1 };
                let fj = if forward[j] { axis[j].0 } else { axis[j].1 };
                (fpp - fi - fj + f0) / (h[i] * h[j])
            } else {
                p[i] = x[i] + h[i];
                p[j] = x[j] + h[j];
                let fpp = at(&p);
                p[i] = x[i] - h[i];
                p[j] = x[j] - h[j];
                let fmm = at(&p);
                p[i] = x[i];
                p[j] = x[j];
                (fpp + fmm - axis[i].1 - axis[i].0 - axis[j].1 - axis[j].0 + 2.0 * f0)
                    / (2.0 * h[i] * h[j])
            };
            hessian[i * n + j] = hij;
            hessian[j * n + i] = hij;
        }
    }
    Derivatives {
        gradient,
        hessian,
        evaluations: evals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_derivatives_are_exact_up_to_rounding() {
        // f = x0² + 3 x0 x1 + 2 x1² − x1 + 0.5 x2², x0 near its lower bound 0
        let f = |x: &[f64]| {
            x[0] * x[0] + 3.0 * x[0] * x[1] + 2.0 * x[1] * x[1] - x[1] + 0.5 * x[2] * x[2]
        };
        let x = [1e-5, 0.7, -0.3];
        let d = derivatives(
            f,
            &x,
            f(&x),
            &[1e-4; 3],
            &[0.0, f64::NEG_INFINITY, f64::NEG_INFINITY],
        );
        let g = [2.0 * x[0] + 3.0 * x[1], 3.0 * x[0] + 4.0 * x[1] - 1.0, x[2]];
        let h = [2.0, 3.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 1.0];
        for (i, (got, want)) in d.gradient.iter().zip(g).enumerate() {
            assert!((got - want).abs() < 1e-7, "g{i}");
        }
        for (a, b) in d.hessian.iter().zip(h) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        // 6 axis points, one per pair with the bounded x0, two for the interior pair
        assert_eq!(d.evaluations, 6 + 1 + 1 + 2);
    }
}
