//! Parametric bootstrap: simulate y* from the fitted model, refit, collect the estimates,
//! percentile intervals. Replicates run in parallel (rayon), each on its own model clone and
//! its own seeded RNG, so results do not depend on scheduling.

use crate::dense::DenseLmm;
use crate::error::InferenceError;
use crate::fixed::ConfidenceInterval;
use crate::simulate::{checked_layouts, replicate_rng, simulate_one};
use crate::varpar::{parameter_names, sdcor_from_theta, sigma_hat};
use mixedlm_design::Design;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A model that can take a new response and be refitted (the engine, or [`DenseRefit`]).
pub trait Refit: Send + Sized {
    /// An independent copy for one worker thread (a clone, or a rebuild of the model).
    fn fork(&self) -> Result<Self, InferenceError>;
    /// Replace the response.
    fn set_response(&mut self, y: &[f64]) -> Result<(), InferenceError>;
    /// Refit and return the parameters, in the order of [`Refit::names`].
    fn refit(&mut self) -> Result<Vec<f64>, InferenceError>;
    /// Names of the returned parameters.
    fn names(&self) -> Vec<String>;
}

/// Settings of [`bootstrap`].
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapOptions {
    /// Number of replicates.
    pub nsim: usize,
    /// Master seed.
    pub seed: u64,
    /// Confidence level of the percentile intervals.
    pub level: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            nsim: 500,
            seed: 42,
            level: 0.95,
        }
    }
}

/// What the bootstrap produced.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapResult {
    /// Parameter names.
    pub names: Vec<String>,
    /// One row of estimates per successful replicate, in replicate order.
    pub estimates: Vec<Vec<f64>>,
    /// Replicates whose refit failed.
    pub n_failed: usize,
    /// Percentile intervals.
    pub intervals: Vec<ConfidenceInterval>,
}

/// Quantile with linear interpolation between order statistics (R's type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// Run the parametric bootstrap of `model` around the parameters (β, θ, σ), simulating
/// from `design`. `progress(done, total)` is called after each replicate (from any thread).
pub fn bootstrap<R: Refit + Sync>(
    model: &R,
    design: &Design,
    params: (&[f64], &[f64], f64),
    opts: &BootstrapOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BootstrapResult, InferenceError> {
    let (beta, theta, sigma) = params;
    let layouts = checked_layouts(design, beta, theta, sigma)?;
    if !(opts.level > 0.0 && opts.level < 1.0) || opts.nsim == 0 {
        return Err(InferenceError::Numerical(
            "bootstrap needs nsim ≥ 1 and a level strictly between 0 and 1".into(),
        ));
    }
    let done = AtomicUsize::new(0);
    let results: Vec<Option<Vec<f64>>> = (0..opts.nsim)
        .into_par_iter()
        .map_init(
            || model.fork(),
            |m, i| {
                let y = simulate_one(
                    design,
                    &layouts,
                    beta,
                    theta,
                    sigma,
                    &mut replicate_rng(opts.seed, i),
                );
                let est = match m {
                    Ok(m) => m.set_response(&y).and_then(|()| m.refit()).ok(),
                    Err(_) => None,
                };
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, opts.nsim);
                est
            },
        )
        .collect();
    let n_failed = results.iter().filter(|r| r.is_none()).count();
    let estimates: Vec<Vec<f64>> = results.into_iter().flatten().collect();
    let names = model.names();
    let alpha = (1.0 - opts.level) / 2.0;
    let intervals = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let mut col: Vec<f64> = estimates
                .iter()
                .map(|e| e[j])
                .filter(|v| v.is_finite())
                .collect();
            col.sort_by(f64::total_cmp);
            ConfidenceInterval {
                name: n.clone(),
                lower: quantile(&col, alpha),
                upper: quantile(&col, 1.0 - alpha),
            }
        })
        .collect();
    Ok(BootstrapResult {
        names,
        estimates,
        n_failed,
        intervals,
    })
}

/// [`Refit`] on the dense evaluator: refits θ by BOBYQA from the original estimate and
/// returns SDs, correlations, σ and β̂ (lme4's `confint(method = "boot")` parameters).
#[derive(Clone, Debug)]
pub struct DenseRefit {
    model: DenseLmm,
    start: Vec<f64>,
}

impl DenseRefit {
    /// Wrap a model and the θ to start each refit from.
    pub fn new(model: DenseLmm, start: Vec<f64>) -> Self {
        Self { model, start }
    }
}

impl Refit for DenseRefit {
    fn fork(&self) -> Result<Self, InferenceError> {
        Ok(self.clone())
    }
    fn set_response(&mut self, y: &[f64]) -> Result<(), InferenceError> {
        self.model.set_response(y)
    }
    fn refit(&mut self) -> Result<Vec<f64>, InferenceError> {
        let m = &self.model;
        let (theta, _) = m.fit_theta(&self.start)?;
        let pc = m.pieces(&theta)?;
        let sigma = sigma_hat(&pc, m.n_obs(), m.n_fixed(), m.reml());
        let mut out = sdcor_from_theta(m.terms(), &theta, sigma);
        out.extend(pc.beta);
        Ok(out)
    }
    fn names(&self) -> Vec<String> {
        let mut n = parameter_names(self.model.terms());
        n.extend(self.model.x_names().iter().cloned());
        n
    }
}
