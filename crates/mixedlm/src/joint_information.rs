//! statsmodels' `cov_params()`: the joint covariance of the fixed effects and the relative
//! variance parameters.
//!
//! statsmodels inverts the Hessian of its log-likelihood in (β, τ) together (τ = Ψ/σ², σ²
//! profiled out), so its `bse_fe` is not lme4's, which takes the variance parameters as
//! known. At (β, θ) the criterion is the fit's profiled one with the residual sum of
//! squares moved off β̂(θ): r²(β) = r²(β̂) + (β − β̂)' X'V₀⁻¹X (β − β̂), so every point
//! needs only the dense pieces at its θ, which are shared by all moves of β.

use crate::at_theta::{AtTheta, Pieces};
use crate::bse_re::{hessian, interior_params, invert_spd, steps, theta_of, STEP};
use crate::{Error, MixedLMResults};
use faer::linalg::solvers::Solve;
use faer::Mat;
use std::cell::RefCell;
use std::collections::HashMap;

/// statsmodels' covariance of all its `params`.
#[derive(Clone, Debug, PartialEq)]
pub struct JointCovariance {
    /// The fixed effects (the engine's names and order), then the variance parameters
    /// (statsmodels' names and order, as [`MixedLMResults::bse_re`]).
    pub names: Vec<String>,
    /// The covariance, row by row; a variance on its boundary gives NaN rows and columns.
    pub matrix: Vec<Vec<f64>>,
}

impl MixedLMResults {
    /// statsmodels' `cov_params()`: the inverse of the joint information of the fixed
    /// effects β and the relative variance parameters τ = Ψ/σ² (statsmodels' `params`), at
    /// the estimate. Its fixed-effects block gives statsmodels' `bse_fe`; lme4's `vcov`
    /// ([`cov_params`](Self::cov_params)) takes the variance parameters as known, and the
    /// two agree for balanced data. The τ block times σ̂² gives [`bse_re`](Self::bse_re)'s
    /// squares (the same information, by the Schur complement).
    ///
    /// ```
    /// use mixedlm::{read_table, MixedLM};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sleepstudy.csv");
    /// let fit = MixedLM::from_formula("Reaction ~ Days").groups("Subject").re_formula("~Days")
    ///     .fit_batch(&read_table(path.as_ref(), None)?)?;
    /// let cov = fit.cov_params_joint()?;
    /// assert_eq!(cov.names[2], "Subject Var");
    /// assert!((cov.matrix[1][1].sqrt() - 1.54579).abs() < 2e-3); // statsmodels 0.15: 1.545788
    /// # Ok::<(), mixedlm::Error>(())
    /// ```
    pub fn cov_params_joint(&self) -> Result<JointCovariance, Error> {
        self.need_rows("statsmodels' cov_params")?;
        let at = AtTheta::new(self)?;
        let terms = at.terms();
        let (params, tau0, interior) = interior_params(self, terms);
        let beta0 = self.fe_params().to_vec();
        let p = beta0.len();
        let cache: RefCell<HashMap<Vec<u64>, Option<Pieces>>> = RefCell::default();
        let criterion = |x: &[f64]| -> f64 {
            let mut tau = tau0.clone();
            for (&i, &v) in interior.iter().zip(&x[p..]) {
                tau[i] = v;
            }
            let key: Vec<u64> = tau.iter().map(|v| v.to_bits()).collect();
            let mut cache = cache.borrow_mut();
            let pieces = cache
                .entry(key)
                .or_insert_with(|| at.pieces(&theta_of(terms, &params, &tau)));
            pieces
                .as_ref()
                .and_then(|pc| criterion_at(&at, pc, &x[..p]))
                .unwrap_or(f64::NAN)
        };
        let theta = self.theta().to_vec();
        let all_steps = steps(terms, &theta, &params);
        let mut x0 = beta0;
        x0.extend(interior.iter().map(|&i| tau0[i]));
        let mut h: Vec<f64> = self.bse_fe().iter().map(|se| STEP * se.max(1e-8)).collect();
        h.extend(interior.iter().map(|&i| all_steps[i]));
        let cov = invert_spd(&hessian(&criterion, &x0, &h));
        // position of each parameter (β, then every τ) among the free ones, if free
        let free: Vec<Option<usize>> = (0..p)
            .map(Some)
            .chain((0..params.len()).map(|i| interior.iter().position(|&j| j == i).map(|k| p + k)))
            .collect();
        let matrix = free
            .iter()
            .map(|a| {
                free.iter()
                    .map(|b| match (a, b, &cov) {
                        (Some(a), Some(b), Some(c)) => 2.0 * c[(*a, *b)],
                        _ => f64::NAN,
                    })
                    .collect()
            })
            .collect();
        let mut names = self.fe_names().to_vec();
        names.extend(params.into_iter().map(|q| q.name));
        Ok(JointCovariance { names, matrix })
    }
}

/// The profiled criterion (−2 log-likelihood up to a constant) at fixed effects `beta` and
/// the θ of `pc`.
fn criterion_at(at: &AtTheta, pc: &Pieces, beta: &[f64]) -> Option<f64> {
    let d = Mat::from_fn(beta.len(), 1, |i, _| beta[i] - pc.beta[i]);
    // (β − β̂)' X'V₀⁻¹X (β − β̂), with xtwx_inv = (X'V₀⁻¹X)⁻¹
    let quad = if beta.is_empty() {
        0.0
    } else {
        let llt = pc.xtwx_inv.llt(faer::Side::Lower).ok()?;
        let solved = llt.solve(&d);
        (0..beta.len()).map(|i| d[(i, 0)] * solved[(i, 0)]).sum()
    };
    Some(at.criterion(pc, pc.pwrss + quad))
}
