//! Fitting: the optimizer over θ (β and σ are profiled out), then the estimates.

use crate::best_factor::BestFactorObjective;
use crate::results::{extract, LmmFit};
use crate::{LinearMixedModel, ModelError};
use mixedlm_optim::{minimize, AlternativeStart, Objective, OptimOptions, OptimizerName};

/// The widest leading dense block (see [`crate::MAX_GRADIENT_BLOCK`]) on which `auto` runs
/// BFGS for models with several crossed terms: its inverse then costs well under one
/// evaluation.
pub(crate) const SMALL_GRADIENT_BLOCK: usize = 64;

/// How to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// The optimizer. The default, `auto`, runs BFGS on the analytic gradient for models
    /// with one random term ([`LinearMixedModel::auto_uses_gradient`]) and BOBYQA (bounded
    /// as lme4's) otherwise. Unbounded solvers (Nelder-Mead, BFGS, Powell) run without bounds and the θ they return is sign-normalized (each
    /// column of T_j with a negative diagonal is flipped; the objective depends on T T' only).
    pub optimizer: OptimizerName,
    /// The evaluation budget of the optimizer.
    pub max_evaluations: usize,
    /// Record every evaluation (θ, objective) in the returned `OptimRecord`.
    pub record_log: bool,
    /// Starting θ (lme4's order); `None` starts from T_j = I as lme4, except that the
    /// optimizer then also evaluates a moment estimate and starts from the better of the
    /// two: BOBYQA the intercept variances' ([`LinearMixedModel::theta_start_moments`]),
    /// BFGS that of one-term slope models and nested models
    /// ([`LinearMixedModel::theta_start_level_fits`]).
    pub start: Option<Vec<f64>>,
    /// Relative tolerance on the objective passed to the optimizer.
    pub ftol_rel: f64,
    /// BOBYQA's final trust-region radius (rho_end): its accuracy in θ. The default, 1e-5,
    /// is looser than lme4's 2e-7; set 2e-7 to reproduce lme4's stopping rule.
    pub final_step: f64,
    /// Compute the conditional SDs of the random effects (costs one dense triangular
    /// inverse of the non-first terms' block; skip for speed on very large crossed models).
    pub conditional_variances: bool,
    /// After a derivative-free optimizer, continue with BFGS on the analytic gradient
    /// where the model has one (see `mixedlm_optim::OptimOptions::polish`). Off by default.
    pub polish: bool,
}

/// BOBYQA's default final trust-region radius for model fits (lme4: 2e-7).
///
/// The last trust-region stages below 1e-5 move θ by about 1e-6 and the objective by less
/// than 1e-13 relative, far inside the objective's agreement with lme4 (about 1e-8
/// relative, where lme4 stops) and the statistical precision of θ, but they cost about a
/// quarter of the evaluations (benches/README.md). The reference models fitted by BOBYQA
/// meet the same criteria against lme4 as the default fits (`tests/integration/fit.rs`).
pub(crate) const DEFAULT_FINAL_STEP: f64 = 1e-5;

impl Default for FitOptions {
    fn default() -> Self {
        let optim = OptimOptions::default();
        FitOptions {
            optimizer: OptimizerName::Auto,
            max_evaluations: optim.max_evaluations,
            record_log: false,
            start: None,
            ftol_rel: optim.ftol_rel,
            final_step: DEFAULT_FINAL_STEP,
            conditional_variances: true,
            polish: false,
        }
    }
}

/// The model as an optimizer [`Objective`]: θ ↦ profiled objective.
#[derive(Debug)]
pub struct ProfiledObjective<'a> {
    /// The model evaluated.
    pub model: &'a mut LinearMixedModel,
}

impl Objective for ProfiledObjective<'_> {
    fn dim(&self) -> usize {
        self.model.n_theta()
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        self.model.objective(x)
    }
    fn gradient(&mut self, x: &[f64], grad: &mut [f64]) -> bool {
        self.model.gradient(x, grad)
    }
    fn has_gradient(&self) -> bool {
        self.model.has_gradient()
    }
}

impl LinearMixedModel {
    /// Minimize the objective over θ, re-evaluate at the optimum and extract the estimates.
    ///
    /// Errors: a start of the wrong length, an optimizer that rejects its input, or Ω not
    /// positive definite at the final θ. A run that stops without converging is not an
    /// error: `LmmFit::converged` is false and `optim.termination` says why.
    pub fn fit(&mut self, opts: &FitOptions) -> Result<LmmFit, ModelError> {
        let n = self.n_theta();
        let start = opts.start.clone().unwrap_or_else(|| self.theta_start());
        if start.len() != n {
            return Err(ModelError::ThetaLength {
                expected: n,
                found: start.len(),
            });
        }
        let solver = opts.optimizer.resolve(self.auto_uses_gradient());
        let bounded = solver == OptimizerName::Bobyqa;
        // BOBYQA: the intercept variances' moment start. BFGS: the start from per-level fits
        // or the nested ANOVA (see `theta_start_level_fits`); the intercept-only moment start
        // cost BFGS evaluations on slope models.
        let alternative_start = if opts.start.is_some() {
            None
        } else if bounded {
            self.theta_start_moments()
        } else {
            self.theta_start_level_fits()
                .map(|x| (x, OptimOptions::default().initial_step))
        }
        .filter(|(x, _)| *x != start)
        .map(|(x, initial_step)| AlternativeStart { x, initial_step });
        let optim_opts = OptimOptions {
            optimizer: solver,
            lower: if bounded {
                self.theta_lower()
            } else {
                vec![f64::NEG_INFINITY; n]
            },
            upper: vec![f64::INFINITY; n],
            max_evaluations: opts.max_evaluations,
            ftol_rel: opts.ftol_rel,
            final_step: opts.final_step,
            record_log: opts.record_log,
            // A diagonal of T at 0 is the boundary for every solver (unbounded ones see
            // it as |θ| = 0): restart there once, as lme4's `restart_edge`.
            edges: self
                .theta_lower()
                .iter()
                .map(|&l| if l.is_finite() { l } else { f64::NAN })
                .collect(),
            alternative_start,
            polish: opts.polish,
            ..OptimOptions::default()
        };
        let optimizer_error = |e: mixedlm_optim::OptimError| ModelError::Optimizer(e.to_string());
        // The sparse path's evaluations run parallel sections between sequential ones,
        // which pay only with rayon's other workers polling (see `crate::active_wait`);
        // elsewhere an evaluation is sequential or too short for a second thread.
        let awake = self.uses_sparse();
        let mut optimize = || {
            if self.keeps_best_factor(solver) {
                let mut obj = BestFactorObjective::new(self);
                let record = minimize(&mut obj, &start, &optim_opts).map_err(optimizer_error)?;
                let theta = obj.model.sign_normalize(&record.theta);
                let restored = obj.restore(&theta);
                Ok((record, theta, restored))
            } else {
                let mut obj = ProfiledObjective { model: self };
                let record = minimize(&mut obj, &start, &optim_opts).map_err(optimizer_error)?;
                let theta = obj.model.sign_normalize(&record.theta);
                Ok((record, theta, false))
            }
        };
        let (record, theta, restored) = if awake {
            crate::active_wait::run_awake(optimize)
        } else {
            optimize()
        }?;
        if !restored && !self.evaluate(&theta) {
            return Err(ModelError::NotPositiveDefinite { theta });
        }
        Ok(extract(self, record, opts.conditional_variances))
    }

    /// Whether `auto` runs BFGS on the analytic gradient (else BOBYQA): for models with a
    /// gradient ([`Self::has_gradient`]) and one random term, two nested terms on the
    /// nested path, or a leading dense block of at most 64 columns. There the gradient costs
    /// one to three evaluations and BFGS needs a third to a fifth of BOBYQA's evaluations
    /// (benches/README.md); on wider dense blocks the gradient's dense inverse costs about
    /// two factorizations, so BOBYQA stays.
    pub fn auto_uses_gradient(&self) -> bool {
        self.has_gradient()
            && (self.terms.len() == 1
                || self.uses_nested()
                || self.gradient_block() <= SMALL_GRADIENT_BLOCK)
    }

    /// θ with every column of each T_j that has a negative diagonal entry flipped (same
    /// T T', hence same objective).
    pub fn sign_normalize(&self, theta: &[f64]) -> Vec<f64> {
        self.terms
            .iter()
            .flat_map(|t| {
                let own = t.theta(theta);
                t.structure
                    .sign_normalize(own)
                    .unwrap_or_else(|_| own.to_vec())
            })
            .collect()
    }
}
