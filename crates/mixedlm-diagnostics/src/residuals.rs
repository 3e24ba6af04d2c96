//! Residuals and fitted values of a linear mixed model, on plain inputs.
//!
//! With fixed effects β̂ and conditional modes (BLUPs) b̂:
//! - marginal fitted values `Xβ̂ (+ offset)` and marginal residuals `y − Xβ̂`;
//! - conditional fitted values `Xβ̂ + Zb̂` and conditional residuals `y − Xβ̂ − Zb̂`;
//! - Pearson (standardized) residuals `r_i √w_i / σ̂` with prior weights `w` (1 without weights).

use crate::error::{check_finite, check_len};
use crate::DiagError;
use mixedlm_design::DenseMatrix;
use serde::Serialize;

/// Marginal fitted values `Xβ (+ offset)`.
pub fn marginal_fitted(
    x: &DenseMatrix,
    beta: &[f64],
    offset: Option<&[f64]>,
) -> Result<Vec<f64>, DiagError> {
    check_len("fixed effects", beta.len(), x.ncols)?;
    check_len("X", x.data.len(), x.nrows * x.ncols)?;
    let mut fitted = match offset {
        Some(o) => {
            check_len("offset", o.len(), x.nrows)?;
            o.to_vec()
        }
        None => vec![0.0; x.nrows],
    };
    for (j, &b) in beta.iter().enumerate() {
        for (f, &xij) in fitted.iter_mut().zip(x.col(j)) {
            *f += xij * b;
        }
    }
    Ok(fitted)
}

/// Add one random-effects term's contribution `Z_t b_t` to `fitted`.
///
/// `z` is the term's n × k model matrix, `codes[i]` the level of row i, and `modes` the
/// conditional modes in level-major order (`modes[level * k + j]`).
pub fn add_random_term(
    fitted: &mut [f64],
    z: &DenseMatrix,
    codes: &[u32],
    modes: &[f64],
) -> Result<(), DiagError> {
    let (n, k) = (fitted.len(), z.ncols);
    check_len("random-effects model matrix rows", z.nrows, n)?;
    check_len("grouping codes", codes.len(), n)?;
    for (i, (f, &c)) in fitted.iter_mut().zip(codes).enumerate() {
        let start = c as usize * k;
        let b = modes.get(start..start + k).ok_or_else(|| {
            DiagError::Invalid(format!(
                "level code {c} has no conditional modes ({} given)",
                modes.len()
            ))
        })?;
        *f += (0..k).map(|j| z.get(i, j) * b[j]).sum::<f64>();
    }
    Ok(())
}

/// `y − fitted`, element by element.
pub fn residuals(y: &[f64], fitted: &[f64]) -> Result<Vec<f64>, DiagError> {
    check_len("fitted values", fitted.len(), y.len())?;
    Ok(y.iter().zip(fitted).map(|(a, b)| a - b).collect())
}

/// Pearson (standardized) residuals `r_i √w_i / σ` (w = 1 without prior weights).
pub fn pearson(resid: &[f64], sigma: f64, weights: Option<&[f64]>) -> Result<Vec<f64>, DiagError> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(DiagError::Invalid(format!(
            "the residual SD must be positive and finite to standardize residuals (got {sigma})"
        )));
    }
    match weights {
        None => Ok(resid.iter().map(|r| r / sigma).collect()),
        Some(w) => {
            check_len("weights", w.len(), resid.len())?;
            check_finite("weights", w)?;
            Ok(resid
                .iter()
                .zip(w)
                .map(|(r, w)| r * w.max(0.0).sqrt() / sigma)
                .collect())
        }
    }
}

/// Residuals and fitted values of one fit, both ways.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResidualSet {
    /// Conditional fitted values `Xβ̂ + Zb̂`.
    pub fitted: Vec<f64>,
    /// Marginal fitted values `Xβ̂`.
    pub fitted_marginal: Vec<f64>,
    /// Conditional residuals `y − Xβ̂ − Zb̂`.
    pub conditional: Vec<f64>,
    /// Marginal residuals `y − Xβ̂`.
    pub marginal: Vec<f64>,
    /// Pearson residuals: conditional residuals × √w / σ̂.
    pub pearson: Vec<f64>,
}

impl ResidualSet {
    /// Build from the response, both fitted values, σ̂ and optional prior weights.
    pub fn new(
        y: &[f64],
        fitted: Vec<f64>,
        fitted_marginal: Vec<f64>,
        sigma: f64,
        weights: Option<&[f64]>,
    ) -> Result<Self, DiagError> {
        let conditional = residuals(y, &fitted)?;
        let marginal = residuals(y, &fitted_marginal)?;
        let pearson = pearson(&conditional, sigma, weights)?;
        Ok(Self {
            fitted,
            fitted_marginal,
            conditional,
            marginal,
            pearson,
        })
    }
}

/// Residual summary of one level of a grouping factor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupResidualSummary {
    /// The level's name.
    pub level: String,
    /// Number of observations in the level.
    pub n: usize,
    /// Mean residual.
    pub mean: f64,
    /// Standard deviation of the residuals (n − 1 denominator; NaN when n = 1).
    pub sd: f64,
}

/// Per-level residual summaries (n, mean, SD) of one grouping factor, in level order.
pub fn group_summaries(
    levels: &[String],
    codes: &[u32],
    resid: &[f64],
) -> Result<Vec<GroupResidualSummary>, DiagError> {
    check_len("grouping codes", codes.len(), resid.len())?;
    let mut acc = vec![(0usize, 0.0f64, 0.0f64); levels.len()];
    for (&c, &r) in codes.iter().zip(resid) {
        let slot = acc.get_mut(c as usize).ok_or_else(|| {
            DiagError::Invalid(format!(
                "level code {c} out of range ({} levels)",
                levels.len()
            ))
        })?;
        // Welford's running mean and sum of squared deviations.
        slot.0 += 1;
        let delta = r - slot.1;
        slot.1 += delta / slot.0 as f64;
        slot.2 += delta * (r - slot.1);
    }
    Ok(levels
        .iter()
        .zip(acc)
        .map(|(level, (n, mean, ss))| GroupResidualSummary {
            level: level.clone(),
            n,
            mean: if n > 0 { mean } else { f64::NAN },
            sd: if n > 1 {
                (ss / (n - 1) as f64).sqrt()
            } else {
                f64::NAN
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x_small() -> DenseMatrix {
        // Intercept and one covariate, 4 rows.
        DenseMatrix {
            nrows: 4,
            ncols: 2,
            data: vec![1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 2.0, 3.0],
        }
    }

    #[test]
    fn marginal_and_conditional_fitted() {
        let x = x_small();
        let mut f = marginal_fitted(&x, &[10.0, 2.0], Some(&[0.5, 0.0, 0.0, 0.0])).unwrap();
        assert_eq!(f, vec![10.5, 12.0, 14.0, 16.0]);
        let z = DenseMatrix {
            nrows: 4,
            ncols: 1,
            data: vec![1.0; 4],
        };
        add_random_term(&mut f, &z, &[0, 0, 1, 1], &[-1.0, 1.0]).unwrap();
        assert_eq!(f, vec![9.5, 11.0, 15.0, 17.0]);
        assert!(add_random_term(&mut f, &z, &[0, 0, 2, 1], &[-1.0, 1.0]).is_err());
    }

    #[test]
    fn residual_set_with_weights() {
        let y = [1.0, 2.0, 3.0];
        let set = ResidualSet::new(
            &y,
            vec![0.0, 2.0, 4.0],
            vec![1.0; 3],
            2.0,
            Some(&[4.0, 1.0, 1.0]),
        )
        .unwrap();
        assert_eq!(set.conditional, vec![1.0, 0.0, -1.0]);
        assert_eq!(set.marginal, vec![0.0, 1.0, 2.0]);
        assert_eq!(set.pearson, vec![1.0, 0.0, -0.5]);
        assert!(pearson(&[1.0], 0.0, None).is_err());
    }

    #[test]
    fn group_summaries_match_direct_formulas() {
        let levels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let s = group_summaries(&levels, &[0, 1, 0, 1, 0], &[1.0, 5.0, 2.0, 7.0, 3.0]).unwrap();
        assert_eq!((s[0].n, s[1].n, s[2].n), (3, 2, 0));
        assert!((s[0].mean - 2.0).abs() < 1e-12 && (s[0].sd - 1.0).abs() < 1e-12);
        assert!((s[1].mean - 6.0).abs() < 1e-12 && (s[1].sd - 2f64.sqrt()).abs() < 1e-12);
        assert!(s[2].mean.is_nan());
    }
}
