//! Finite-difference derivatives with one step of Richardson extrapolation.

use crate::error::InferenceError;
use faer::Mat;

type R<T> = Result<T, InferenceError>;

/// Default step for coordinate `x`: relative, with a floor near zero.
pub(super) fn step(x: f64) -> f64 {
    1e-3 * x.abs().max(0.1)
}

fn shifted(x: &[f64], moves: &[(usize, f64)]) -> Vec<f64> {
    let mut y = x.to_vec();
    for &(i, d) in moves {
        y[i] += d;
    }
    y
}

/// Richardson: combine estimates at steps h and h/2 with error O(h²).
fn richardson(coarse: f64, fine: f64) -> f64 {
    (4.0 * fine - coarse) / 3.0
}

/// Jacobian of a vector function: `out[i]` = ∂f/∂x_i.
pub(super) fn jacobian<F>(mut f: F, x: &[f64]) -> R<Vec<Vec<f64>>>
where
    F: FnMut(&[f64]) -> R<Vec<f64>>,
{
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let mut est = [Vec::new(), Vec::new()];
        for (s, e) in est.iter_mut().enumerate() {
            let h = step(x[i]) / (1 << s) as f64;
            let up = f(&shifted(x, &[(i, h)]))?;
            let dn = f(&shifted(x, &[(i, -h)]))?;
            *e = up
                .iter()
                .zip(&dn)
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect();
        }
        out.push(
            est[0]
                .iter()
                .zip(&est[1])
                .map(|(&c, &fi)| richardson(c, fi))
                .collect(),
        );
    }
    Ok(out)
}

/// Hessian of a scalar function.
pub(super) fn hessian<F>(mut f: F, x: &[f64]) -> R<Mat<f64>>
where
    F: FnMut(&[f64]) -> R<f64>,
{
    let d = x.len();
    let f0 = f(x)?;
    let mut hmat = Mat::zeros(d, d);
    for i in 0..d {
        for j in 0..=i {
            let mut est = [0.0; 2];
            for (s, e) in est.iter_mut().enumerate() {
                let (hi, hj) = (step(x[i]) / (1 << s) as f64, step(x[j]) / (1 << s) as f64);
                *e = if i == j {
                    (f(&shifted(x, &[(i, hi)]))? - 2.0 * f0 + f(&shifted(x, &[(i, -hi)]))?)
                        / (hi * hi)
                } else {
                    (f(&shifted(x, &[(i, hi), (j, hj)]))?
                        - f(&shifted(x, &[(i, hi), (j, -hj)]))?
                        - f(&shifted(x, &[(i, -hi), (j, hj)]))?
                        + f(&shifted(x, &[(i, -hi), (j, -hj)]))?)
                        / (4.0 * hi * hj)
                };
            }
            let v = richardson(est[0], est[1]);
            hmat[(i, j)] = v;
            hmat[(j, i)] = v;
        }
    }
    Ok(hmat)
}

/// Moore-Penrose inverse of a symmetric matrix, keeping eigenvalues above `tol`
/// (the negative and near-zero directions are dropped).
pub(super) fn pinv_symmetric(m: &Mat<f64>, tol: f64) -> R<Mat<f64>> {
    let eig = m
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|_| InferenceError::Numerical("eigen-decomposition failed".into()))?;
    let (u, s) = (eig.U(), eig.S());
    let d = m.nrows();
    let mut out = Mat::zeros(d, d);
    for k in 0..d {
        let lam = s[k];
        if lam > tol {
            for j in 0..d {
                for i in 0..d {
                    out[(i, j)] += u[(i, k)] * u[(j, k)] / lam;
                }
            }
        }
    }
    Ok(out)
}
