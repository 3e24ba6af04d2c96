//! mixedlm-covariance: covariance structures of the random effects.
//!
//! A random-effects term with k effects per level has covariance σ² T T', with T a k×k
//! lower-triangular *relative covariance factor*. A [`CovarianceStructure`] maps the
//! term's parameters θ to T, gives bounds and starting values, and converts to variances,
//! standard deviations and correlations. Depends on faer only.
//!
//! Built-in structures ([`CovarianceKind`], [`structure_for`]):
//! - [`Unstructured`]: θ is the lower triangle of T in column-major order (lme4's order:
//!   for k = 2, θ = [T00, T10, T11]); k(k+1)/2 parameters.
//! - [`Diagonal`]: θ = diag(T) (lme4's `||`); k parameters.
//! - [`ScalarIdentity`]: T = θ I_k, one variance shared by all k effects; 1 parameter.
//!
//! Conversions from (T, σ) to covariance, variances, SDs and correlations live in
//! [`summarize`] and [`CovarianceSummary`]; the way back (a covariance matrix to θ, for
//! starting values and tests) in [`CovarianceStructure::theta_from_covariance`]. The free
//! entries of Σ ([`CovarianceStructure::components`]) and the conversions inference needs
//! ([`CovarianceStructure::theta_from_relative_covariance`],
//! [`CovarianceStructure::theta_from_sd_cor`]) are the structure's too: it is the only
//! owner of a term's θ layout, and neither the engine nor inference matches on its kind.
#![warn(missing_docs)]

mod components;
mod convert;
mod error;
mod structures;

pub use components::{semidefinite_cholesky, Component};
pub use convert::{covariance_from_factor, lower_cholesky, summarize, CovarianceSummary};
pub use error::CovarianceError;
pub use structures::{structure_for, CovarianceKind, Diagonal, ScalarIdentity, Unstructured};

use faer::{Mat, MatMut, MatRef};
use std::fmt::Debug;

/// A covariance structure for one random-effects term: θ ↔ T.
///
/// Implement this trait to add a structure (compound symmetry, AR(1), ...) without the
/// engine changing: the engine only calls these methods.
///
/// The required methods are hot-path calls made by the engine with buffers it sized
/// itself: they may panic when `theta.len() != n_theta()` or the matrix is not k×k (an
/// engine bug, never user input). The provided methods validate their inputs and return
/// typed errors.
pub trait CovarianceStructure: Debug + Send + Sync {
    /// A short name (`unstructured`, `diagonal`, `scalar`).
    fn name(&self) -> &'static str;
    /// k: the number of random effects per level.
    fn dim(&self) -> usize;
    /// The number of parameters θ of this structure.
    fn n_theta(&self) -> usize;
    /// Lower bounds of θ (0 for diagonal entries of T, -inf otherwise).
    fn lower_bounds(&self) -> Vec<f64>;
    /// Starting values of θ (T = I, as lme4).
    fn initial_theta(&self) -> Vec<f64>;
    /// Write T (k×k, lower triangular, upper triangle set to zero) for the given θ.
    fn fill_factor(&self, theta: &[f64], t: MatMut<'_, f64>);
    /// Write ∂T/∂θ_i (k×k) for parameter `i`. T is linear in θ for the built-in structures.
    fn fill_factor_derivative(&self, i: usize, theta: &[f64], dt: MatMut<'_, f64>);

    /// Upper bounds of θ (+inf for every entry unless a structure says otherwise).
    fn upper_bounds(&self) -> Vec<f64> {
        vec![f64::INFINITY; self.n_theta()]
    }

    /// T for the given θ, as a new matrix (a checked, allocating [`Self::fill_factor`]).
    fn factor(&self, theta: &[f64]) -> Result<Mat<f64>, CovarianceError> {
        self.check_theta(theta)?;
        let k = self.dim();
        let mut t = Mat::zeros(k, k);
        self.fill_factor(theta, t.as_mut());
        Ok(t)
    }

    /// Ok when `theta` has [`Self::n_theta`] finite entries, else a typed error.
    fn check_theta(&self, theta: &[f64]) -> Result<(), CovarianceError> {
        if theta.len() != self.n_theta() {
            return Err(CovarianceError::ThetaLength {
                structure: self.name(),
                expected: self.n_theta(),
                got: theta.len(),
            });
        }
        match theta.iter().position(|v| !v.is_finite()) {
            Some(index) => Err(CovarianceError::NonFiniteTheta { index }),
            None => Ok(()),
        }
    }

    /// θ reproducing the lower-triangular factor `t`.
    ///
    /// The provided implementation assumes what holds for the built-in structures: T is
    /// linear in θ, T(0) = 0, and the ∂T/∂θ_i have disjoint supports. θ_i is then the
    /// least-squares projection of `t` on ∂T/∂θ_i; the result is checked by rebuilding T,
    /// and a factor the structure cannot represent (e.g. off-diagonal entries for
    /// [`Diagonal`]) is an error. Non-linear structures must override this method.
    fn theta_from_factor(&self, t: MatRef<'_, f64>) -> Result<Vec<f64>, CovarianceError> {
        let k = self.dim();
        convert::check_square(t, k)?;
        let mut dt = Mat::zeros(k, k);
        let zero = vec![0.0; self.n_theta()];
        let theta = (0..self.n_theta())
            .map(|i| {
                self.fill_factor_derivative(i, &zero, dt.as_mut());
                convert::project(t, dt.as_ref())
            })
            .collect::<Vec<_>>();
        let rebuilt = self.factor(&theta)?;
        convert::check_reproduces(self.name(), t, rebuilt.as_ref())?;
        Ok(theta)
    }

    /// θ such that σ² T T' equals `cov` (T from a Cholesky factorization of cov/σ²; a
    /// positive semi-definite `cov` gives zero columns where it is singular). For starting
    /// values and tests.
    fn theta_from_covariance(
        &self,
        cov: MatRef<'_, f64>,
        sigma: f64,
    ) -> Result<Vec<f64>, CovarianceError> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(CovarianceError::InvalidSigma { sigma });
        }
        convert::check_square(cov, self.dim())?;
        let scaled = Mat::from_fn(self.dim(), self.dim(), |i, j| cov[(i, j)] / (sigma * sigma));
        let t = lower_cholesky(scaled.as_ref())?;
        self.theta_from_factor(t.as_ref())
    }

    /// Flip the sign of every column of T whose diagonal entry is negative and return the
    /// θ of the result. T T' is unchanged, so the deviance is too; use it after an
    /// optimizer that ignores the lower bounds.
    fn sign_normalize(&self, theta: &[f64]) -> Result<Vec<f64>, CovarianceError> {
        let mut t = self.factor(theta)?;
        for j in 0..self.dim() {
            if t[(j, j)] < 0.0 {
                for i in 0..self.dim() {
                    t[(i, j)] = -t[(i, j)];
                }
            }
        }
        self.theta_from_factor(t.as_ref())
    }

    /// True when some θ entry with lower bound 0 (a diagonal entry of T) is below `tol`:
    /// a singular fit. lme4 uses `tol = 1e-4` on this θ scale.
    fn is_singular(&self, theta: &[f64], tol: f64) -> bool {
        self.lower_bounds()
            .iter()
            .zip(theta)
            .any(|(lb, th)| *lb == 0.0 && th.abs() < tol)
    }

    /// The free parameters of Σ = σ² T T', one per θ entry and in θ's order (see
    /// [`Component`]). Derived from the factor derivatives; structures whose parameters
    /// are not single entries or one shared variance override it.
    fn components(&self) -> Vec<Component> {
        let zero = vec![0.0; self.n_theta()];
        components::from_derivatives(self.dim(), self.n_theta(), |i, dt| {
            self.fill_factor_derivative(i, &zero, dt.as_mut())
        })
    }

    /// θ from a relative covariance Σ/σ² given on the lower triangle (a positive
    /// semi-definite one gives zero columns where it is singular; a negative variance is
    /// taken as 0). Only the entries of the structure's [`components`](Self::components)
    /// are read. For inference, which moves along the variance components.
    fn theta_from_relative_covariance(&self, rel: MatRef<'_, f64>) -> Vec<f64> {
        let l = semidefinite_cholesky(rel);
        self.theta_from_factor(l.as_ref())
            .unwrap_or_else(|_| vec![f64::NAN; self.n_theta()])
    }

    /// θ from relative standard deviations (SD / σ, one per effect) and correlations (lower
    /// triangle read), lme4's `sd_`/`cor_` scale. A correlation matrix that is only
    /// semi-definite gives a semi-definite factor.
    fn theta_from_sd_cor(&self, sd: &[f64], cor: MatRef<'_, f64>) -> Vec<f64> {
        self.theta_from_relative_covariance(components::from_sd_cor(sd, cor).as_ref())
    }

    /// Whether lme4 lists each effect of the term as a term of its own (it expands
    /// `(x || g)` to `(1 | g) + (0 + x | g)`), so that each effect gets its own group
    /// label (`g`, `g.1`) in `VarCorr` and `confint`.
    fn separate_effect_terms(&self) -> bool {
        false
    }

    /// lme4-style names of the θ entries: `group.name_i` for a diagonal entry (i, i) of T,
    /// `group.name_i.name_j` for an off-diagonal entry (i, j), and for a parameter that
    /// moves several entries (the scalar structure) `group.name_0` when k = 1 and
    /// `group.scalar(name_0,name_1,...)` otherwise. `names` are the k effect names.
    fn theta_names(&self, group: &str, names: &[String]) -> Result<Vec<String>, CovarianceError> {
        let k = self.dim();
        if names.len() != k {
            return Err(CovarianceError::NamesLength {
                expected: k,
                got: names.len(),
            });
        }
        let mut dt = Mat::zeros(k, k);
        let zero = vec![0.0; self.n_theta()];
        Ok((0..self.n_theta())
            .map(|i| {
                self.fill_factor_derivative(i, &zero, dt.as_mut());
                convert::entry_name(group, names, dt.as_ref())
            })
            .collect())
    }
}
