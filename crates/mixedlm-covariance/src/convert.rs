//! Conversions between T, covariance matrices, variances, SDs and correlations.

use crate::CovarianceError;
use faer::{Mat, MatRef};
use serde::Serialize;

/// Variances, standard deviations and correlations of one random-effects term, from
/// (T, σ): covariance σ² T T'. Matrices are row-major `Vec`s so they serialize plainly.
///
/// Correlation policy (as lme4's `VarCorr`): the diagonal is 1; an off-diagonal entry whose
/// row or column has standard deviation 0 is NaN (0/0 is undefined; a JSON writer shows it
/// as null). Otherwise cov_ij / (sd_i sd_j), clamped to [-1, 1] against rounding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CovarianceSummary {
    /// σ² T T', k×k, row-major.
    pub covariance: Vec<Vec<f64>>,
    /// The diagonal of the covariance.
    pub variances: Vec<f64>,
    /// Square roots of the variances.
    pub std_devs: Vec<f64>,
    /// The correlation matrix, k×k, row-major (see the type's policy on zero SDs).
    pub correlation: Vec<Vec<f64>>,
}

/// σ² T T' for a square factor `t`.
pub fn covariance_from_factor(t: MatRef<'_, f64>, sigma: f64) -> Mat<f64> {
    let k = t.nrows().min(t.ncols());
    let s2 = sigma * sigma;
    Mat::from_fn(k, k, |i, j| {
        s2 * (0..k).map(|m| t[(i, m)] * t[(j, m)]).sum::<f64>()
    })
}

/// The [`CovarianceSummary`] of a term with factor `t` and residual SD `sigma`.
pub fn summarize(t: MatRef<'_, f64>, sigma: f64) -> CovarianceSummary {
    let cov = covariance_from_factor(t, sigma);
    let k = cov.nrows();
    let variances: Vec<f64> = (0..k).map(|i| cov[(i, i)]).collect();
    let std_devs: Vec<f64> = variances.iter().map(|v| v.max(0.0).sqrt()).collect();
    let correlation = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| correlation_entry(cov[(i, j)], std_devs[i], std_devs[j], i == j))
                .collect()
        })
        .collect();
    let covariance = (0..k)
        .map(|i| (0..k).map(|j| cov[(i, j)]).collect())
        .collect();
    CovarianceSummary {
        covariance,
        variances,
        std_devs,
        correlation,
    }
}

fn correlation_entry(cov: f64, sd_i: f64, sd_j: f64, diagonal: bool) -> f64 {
    if diagonal {
        1.0
    } else if sd_i == 0.0 || sd_j == 0.0 {
        f64::NAN
    } else {
        (cov / (sd_i * sd_j)).clamp(-1.0, 1.0)
    }
}

/// The lower Cholesky factor L (L L' = `a`) of a symmetric positive semi-definite matrix.
/// A zero pivot (up to rounding) gives a zero column, so singular covariances (a variance
/// estimated at 0) convert too.
pub fn lower_cholesky(a: MatRef<'_, f64>) -> Result<Mat<f64>, CovarianceError> {
    let k = a.nrows();
    check_square(a, k)?;
    let scale = (0..k).map(|i| a[(i, i)].abs()).fold(0.0, f64::max).max(1.0);
    let tol = 1e-12 * scale;
    check_symmetric(a, tol)?;
    let mut l = Mat::<f64>::zeros(k, k);
    for j in 0..k {
        let d = a[(j, j)] - (0..j).map(|m| l[(j, m)] * l[(j, m)]).sum::<f64>();
        if !d.is_finite() || d < -tol * 1e4 {
            return Err(not_psd(format!("pivot {j} is {d:e}")));
        }
        if d <= tol {
            check_zero_column(a, l.as_ref(), j)?;
            continue;
        }
        let ljj = d.sqrt();
        l[(j, j)] = ljj;
        for i in j + 1..k {
            let s = a[(i, j)] - (0..j).map(|m| l[(i, m)] * l[(j, m)]).sum::<f64>();
            l[(i, j)] = s / ljj;
        }
    }
    Ok(l)
}

fn check_symmetric(a: MatRef<'_, f64>, tol: f64) -> Result<(), CovarianceError> {
    let k = a.nrows();
    for i in 0..k {
        for j in 0..i {
            if !(a[(i, j)] - a[(j, i)]).abs().le(&(tol * 1e2)) {
                return Err(not_psd(format!("entries ({i}, {j}) and ({j}, {i}) differ")));
            }
        }
    }
    Ok(())
}

/// With pivot j zero, the remaining entries of column j must be zero too (PSD).
fn check_zero_column(
    a: MatRef<'_, f64>,
    l: MatRef<'_, f64>,
    j: usize,
) -> Result<(), CovarianceError> {
    let k = a.nrows();
    for i in j + 1..k {
        let s = a[(i, j)] - (0..j).map(|m| l[(i, m)] * l[(j, m)]).sum::<f64>();
        let bound = 1e-6 * (a[(i, i)].abs().max(a[(j, j)].abs()).max(1e-300)).sqrt();
        if s.abs() > bound {
            return Err(not_psd(format!(
                "variance {j} is zero but its covariance with {i} is {s:e}"
            )));
        }
    }
    Ok(())
}

fn not_psd(reason: String) -> CovarianceError {
    CovarianceError::NotPositiveSemidefinite { reason }
}

pub(crate) fn check_square(m: MatRef<'_, f64>, k: usize) -> Result<(), CovarianceError> {
    if m.nrows() != k || m.ncols() != k {
        return Err(CovarianceError::Shape {
            expected: k,
            rows: m.nrows(),
            cols: m.ncols(),
        });
    }
    Ok(())
}

/// <t, d> / <d, d>: the least-squares coefficient of `t` on the direction `d`.
pub(crate) fn project(t: MatRef<'_, f64>, d: MatRef<'_, f64>) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for j in 0..d.ncols() {
        for i in 0..d.nrows() {
            num += t[(i, j)] * d[(i, j)];
            den += d[(i, j)] * d[(i, j)];
        }
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Error when `rebuilt` differs from `t` beyond rounding.
pub(crate) fn check_reproduces(
    structure: &'static str,
    t: MatRef<'_, f64>,
    rebuilt: MatRef<'_, f64>,
) -> Result<(), CovarianceError> {
    let k = t.nrows();
    let scale = (0..k)
        .flat_map(|j| (0..k).map(move |i| (i, j)))
        .map(|(i, j)| t[(i, j)].abs())
        .fold(1.0, f64::max);
    let mut worst = (0, 0, 0.0);
    for j in 0..k {
        for i in 0..k {
            let diff = (t[(i, j)] - rebuilt[(i, j)]).abs();
            if diff > worst.2 || diff.is_nan() {
                worst = (i, j, diff);
            }
        }
    }
    if worst.2 > 1e-10 * scale || worst.2.is_nan() {
        return Err(CovarianceError::NotRepresentable {
            structure,
            row: worst.0,
            col: worst.1,
            diff: worst.2,
        });
    }
    Ok(())
}

/// The lme4-style name of the θ entry whose ∂T/∂θ is `d`.
pub(crate) fn entry_name(group: &str, names: &[String], d: MatRef<'_, f64>) -> String {
    let support: Vec<(usize, usize)> = (0..d.ncols())
        .flat_map(|j| (0..d.nrows()).map(move |i| (i, j)))
        .filter(|&(i, j)| d[(i, j)] != 0.0)
        .collect();
    match support.as_slice() {
        [(i, j)] if i == j => format!("{group}.{}", names[*i]),
        [(i, j)] => format!("{group}.{}.{}", names[*i], names[*j]),
        _ if names.len() == 1 => format!("{group}.{}", names[0]),
        _ => format!("{group}.scalar({})", names.join(",")),
    }
}
