//! Satterthwaite's degrees of freedom for fixed-effects contrasts (lmerTest's method).
//!
//! The variance parameters are varpar = (θ, σ). With D(varpar) the unprofiled deviance
//! (REML criterion for REML fits), A = 2 H⁻¹ (H its Hessian at the estimate) is their
//! asymptotic covariance; for a contrast L with C(varpar) = Var(β̂) = σ² (X'V₀⁻¹X)⁻¹,
//! df = 2 (L'CL)² / (g'Ag), g = ∇ L'C(varpar)L.

use crate::error::InferenceError;
use crate::numdiff::{hessian, jacobian, pinv_symmetric};
use crate::varpar::{sigma_hat, varpar_deviance, EvalPieces};
use faer::Mat;

/// Everything Satterthwaite's df needs, computed once per fit.
#[derive(Clone, Debug)]
pub struct Satterthwaite {
    /// Var(β̂) at the estimate (p×p).
    pub vcov: Mat<f64>,
    /// Asymptotic covariance of varpar = (θ, σ): 2 H⁻¹ (Moore-Penrose on the positive
    /// eigenvalues, as lmerTest).
    pub varpar_cov: Mat<f64>,
    /// ∂Var(β̂)/∂varpar_i, one p×p matrix per variance parameter.
    pub vcov_jacobian: Vec<Mat<f64>>,
    /// The varpar at which everything was evaluated.
    pub varpar: Vec<f64>,
}

impl Satterthwaite {
    /// df for the contrast L'β (L of length p).
    pub fn df(&self, l: &[f64]) -> f64 {
        let quad = |m: &Mat<f64>| -> f64 {
            let mut s = 0.0;
            for (j, lj) in l.iter().enumerate() {
                for (i, li) in l.iter().enumerate() {
                    s += li * m[(i, j)] * lj;
                }
            }
            s
        };
        let var = quad(&self.vcov);
        let g: Vec<f64> = self.vcov_jacobian.iter().map(quad).collect();
        let mut denom = 0.0;
        for (j, gj) in g.iter().enumerate() {
            for (i, gi) in g.iter().enumerate() {
                denom += gi * self.varpar_cov[(i, j)] * gj;
            }
        }
        2.0 * var * var / denom
    }

    /// df for fixed effect j alone.
    pub fn df_coef(&self, j: usize) -> f64 {
        let mut l = vec![0.0; self.vcov.nrows()];
        l[j] = 1.0;
        self.df(&l)
    }
}

/// Var(β̂) as a function of varpar = (θ, σ).
fn vcov_at<M: EvalPieces>(model: &M, varpar: &[f64]) -> Result<Mat<f64>, InferenceError> {
    let nt = model.n_theta();
    let pc = model.pieces(&varpar[..nt])?;
    let s2 = varpar[nt] * varpar[nt];
    Ok(&pc.xtwx_inv * faer::Scale(s2))
}

/// Compute the Satterthwaite ingredients at θ (σ at its estimate for the criterion).
pub fn satterthwaite<M: EvalPieces>(
    model: &M,
    theta: &[f64],
    reml: bool,
) -> Result<Satterthwaite, InferenceError> {
    let (n, p, nt) = (model.n_obs(), model.n_fixed(), model.n_theta());
    if theta.len() != nt {
        return Err(InferenceError::ThetaLength {
            expected: nt,
            got: theta.len(),
        });
    }
    let pc = model.pieces(theta)?;
    let mut varpar = theta.to_vec();
    varpar.push(sigma_hat(&pc, n, p, reml));
    let dev = |v: &[f64]| -> Result<f64, InferenceError> {
        let pc = model.pieces(&v[..nt])?;
        Ok(varpar_deviance(&pc, v[nt], n, p, reml))
    };
    let h = hessian(dev, &varpar)?;
    let varpar_cov = &pinv_symmetric(&h, 1e-8)? * faer::Scale(2.0);
    let flat = |v: &[f64]| -> Result<Vec<f64>, InferenceError> {
        let c = vcov_at(model, v)?;
        Ok((0..p * p).map(|k| c[(k % p, k / p)]).collect())
    };
    let jac = jacobian(flat, &varpar)?;
    let vcov_jacobian = jac
        .iter()
        .map(|col| Mat::from_fn(p, p, |i, j| col[j * p + i]))
        .collect();
    Ok(Satterthwaite {
        vcov: vcov_at(model, &varpar)?,
        varpar_cov,
        vcov_jacobian,
        varpar,
    })
}
