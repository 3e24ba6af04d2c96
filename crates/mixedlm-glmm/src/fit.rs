//! Fitting a GLMM as lme4's `glmer` does, in two stages:
//! 1. θ by minimizing the fast criterion (nAGQ = 0: β and u from PIRLS) from θ = 1;
//! 2. (θ, β) by minimizing the Laplace (nAGQ = 1) or quadrature (nAGQ > 1) criterion from
//!    stage 1's optimum, β in units of its stage-1 standard errors so that every coordinate
//!    has the same scale for BOBYQA's trust region (or BFGS's first steps, where the
//!    Laplace criterion has an analytic gradient).
//!
//! Then the finite-difference gradient and Hessian over (θ, β) at the optimum (lme4's
//! `deriv12`): Var(β̂) is the β block of 2 H⁻¹ as lme4's `vcov` (falling back to the PWLS
//! system's (R_X'R_X)⁻¹ when H is not positive definite), and the gradient and Hessian
//! feed the convergence checks.

use super::derivs::{derivatives, Derivatives};
use super::error::GlmmError;
use super::model::GlmmModel;
use super::options::{GlmmOptions, Stages};
use super::quadrature::{GaussHermite, MAX_NAGQ};
use super::results::{extract, GlmmFit};
use super::system::Unknowns;
use mixedlm_optim::{minimize, Objective, OptimOptions, OptimizerName};

/// Finite-difference step of the derivatives at the optimum, in θ's units and β's
/// stage-1 standard errors (relative for entries above 1): small enough for a
/// second-order error near 1e-6, large enough that the criterion's rounding (PIRLS stops
/// at steps of 1e-10) stays below 1e-3 of the Hessian.
const HESSIAN_STEP: f64 = 1e-3;

/// Stage 1's criterion: the fast deviance over θ.
struct FastObjective<'a> {
    model: &'a mut GlmmModel,
}

impl Objective for FastObjective<'_> {
    fn dim(&self) -> usize {
        self.model.n_theta()
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        self.model.fast_deviance(x)
    }
}

/// Stage 2's criterion over (θ, s) with β = β₀ + scale ∘ s.
pub(crate) struct FullObjective<'a> {
    pub model: &'a mut GlmmModel,
    pub rule: Option<GaussHermite>,
    pub center: Vec<f64>,
    pub scale: Vec<f64>,
    beta: Vec<f64>,
}

impl<'a> FullObjective<'a> {
    pub(crate) fn new(
        model: &'a mut GlmmModel,
        rule: Option<GaussHermite>,
        center: Vec<f64>,
        scale: Vec<f64>,
    ) -> Self {
        let beta = center.clone();
        FullObjective {
            model,
            rule,
            center,
            scale,
            beta,
        }
    }

    /// The criterion at unscaled (θ, β).
    pub(crate) fn at(&mut self, theta: &[f64], beta: &[f64]) -> f64 {
        match &self.rule {
            Some(rule) => self.model.agq_deviance(theta, beta, rule),
            None => self.model.laplace_deviance(theta, beta),
        }
    }

    /// (θ, β) of a scaled point.
    pub(crate) fn unscale(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let nt = self.model.n_theta();
        let beta = self
            .center
            .iter()
            .zip(&self.scale)
            .zip(&x[nt..])
            .map(|((c, s), v)| c + s * v)
            .collect();
        (x[..nt].to_vec(), beta)
    }
}

impl Objective for FullObjective<'_> {
    fn dim(&self) -> usize {
        self.model.n_theta() + self.center.len()
    }
    fn has_gradient(&self) -> bool {
        self.rule.is_none() && self.model.has_laplace_gradient()
    }
    fn gradient(&mut self, x: &[f64], grad: &mut [f64]) -> bool {
        if !self.has_gradient() {
            return false;
        }
        let nt = self.model.n_theta();
        let (theta, beta) = self.unscale(x);
        if !self.model.laplace_gradient(&theta, &beta, grad) {
            return false;
        }
        for (j, s) in self.scale.iter().enumerate() {
            grad[nt + j] *= s;
        }
        true
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        let nt = self.model.n_theta();
        for (i, b) in self.beta.iter_mut().enumerate() {
            *b = self.center[i] + self.scale[i] * x[nt + i];
        }
        let beta = std::mem::take(&mut self.beta);
        let v = self.at(&x[..nt], &beta);
        self.beta = beta;
        v
    }
}

impl GlmmModel {
    /// Fit by the two stages and return the estimates.
    pub fn fit(&mut self, opts: &GlmmOptions) -> Result<GlmmFit, GlmmError> {
        if opts.nagq > MAX_NAGQ {
            return Err(GlmmError::BadQuadrature(opts.nagq));
        }
        if opts.nagq > 1 && !self.data.re.is_single_scalar() {
            let why = describe_terms(self);
            return Err(GlmmError::QuadratureNeedsScalarTerm {
                nagq: opts.nagq,
                why,
            });
        }
        let stages = self.run_stages(opts)?;
        Ok(extract(self, stages, opts))
    }

    fn run_stages(&mut self, opts: &GlmmOptions) -> Result<Stages, GlmmError> {
        let lower = self.data.re.theta_lower();
        let theta0 = self.data.re.theta_start();
        self.reset();
        if let Err(v) = self.fast_deviance_checked(&theta0) {
            return Err(GlmmError::PirlsFailed(format!("criterion {v}")));
        }
        let stage1_opts = OptimOptions {
            optimizer: OptimizerName::Bobyqa,
            lower: lower.clone(),
            max_evaluations: opts.max_evaluations,
            initial_step: 0.2,
            final_step: if opts.nagq == 0 { 1e-8 } else { 1e-4 },
            ..OptimOptions::default()
        };
        let stage1 = minimize(&mut FastObjective { model: self }, &theta0, &stage1_opts)
            .map_err(|e| GlmmError::Optimizer(e.to_string()))?;
        // the state at stage 1's optimum: β, and R_X for the standard errors
        let f1 = self.fast_deviance(&stage1.theta);
        let beta1 = self.beta.clone();
        let vcov1 = self.system.unscaled_vcov_beta();
        if opts.nagq == 0 {
            let vcov_rx = vcov1.map(flatten).unwrap_or_default();
            return Ok(Stages {
                theta: stage1.theta.clone(),
                beta: beta1,
                objective: f1,
                stage1,
                stage2: None,
                derivs: None,
                vcov_rx,
            });
        }
        let p = beta1.len();
        let scale = standard_errors_or_one(vcov1.as_ref(), p);
        let rule = (opts.nagq > 1)
            .then(|| GaussHermite::new(opts.nagq))
            .flatten();
        let nt = self.n_theta();
        let mut obj = FullObjective::new(self, rule, beta1.clone(), scale);
        let mut x0 = stage1.theta.clone();
        x0.extend(std::iter::repeat_n(0.0, p));
        let mut lower2 = lower.clone();
        lower2.extend(std::iter::repeat_n(f64::NEG_INFINITY, p));
        let mut edges = lower.clone();
        edges.extend(std::iter::repeat_n(f64::NAN, p));
        let stage2_opts = OptimOptions {
            optimizer: stage2_optimizer(&obj),
            lower: lower2.clone(),
            max_evaluations: opts.max_evaluations,
            initial_step: 0.05,
            final_step: opts.final_step,
            edges,
            ..OptimOptions::default()
        };
        let stage2 = minimize(&mut obj, &x0, &stage2_opts)
            .map_err(|e| GlmmError::Optimizer(e.to_string()))?;
        let (theta, beta) = obj.unscale(&stage2.theta);
        let objective = obj.at(&theta, &beta);
        let derivs = opts
            .derivatives
            .then(|| unscaled_derivatives(&mut obj, &stage2.theta, objective, &lower2, nt));
        // leave the model at the optimum
        let _ = obj.at(&theta, &beta);
        self.sync_rows();
        let vcov_rx = self.rx_vcov_at_state().map(flatten).unwrap_or_default();
        Ok(Stages {
            stage1,
            stage2: Some(stage2),
            theta,
            beta,
            objective,
            derivs,
            vcov_rx,
        })
    }

    /// (R_X'R_X)⁻¹ of the joint PWLS system at the current μ (the state is unchanged).
    pub(crate) fn rx_vcov_at_state(&mut self) -> Option<faer::Mat<f64>> {
        self.resp.working(&mut self.wts, &mut self.wres);
        for i in 0..self.wres.len() {
            self.wres[i] += self.eta[i] - self.resp.offset[i];
        }
        self.system
            .assemble(&self.wts, &self.wres, Unknowns::ModesAndFixed);
        let ok = self.system.factor(&self.theta);
        let v = if ok {
            self.system.unscaled_vcov_beta()
        } else {
            None
        };
        // the Modes factor again, for the conditional variances
        self.resp.working(&mut self.wts, &mut self.wres);
        for i in 0..self.wres.len() {
            self.wres[i] += self.eta[i] - self.resp.offset[i] - self.xb[i];
        }
        self.system.assemble(&self.wts, &self.wres, Unknowns::Modes);
        self.system.factor(&self.theta);
        v
    }
}

/// Stage 2's solver: BFGS where the Laplace criterion has its analytic gradient (one
/// grouping factor, canonical link), since BOBYQA's model of the criterion needs many
/// more PIRLS solves than BFGS's line searches; BOBYQA otherwise.
fn stage2_optimizer(obj: &FullObjective<'_>) -> OptimizerName {
    if obj.has_gradient() {
        OptimizerName::Bfgs
    } else {
        OptimizerName::Bobyqa
    }
}

fn flatten(m: faer::Mat<f64>) -> Vec<f64> {
    let n = m.nrows();
    (0..n * n).map(|k| m[(k / n, k % n)]).collect()
}

fn describe_terms(model: &GlmmModel) -> String {
    let re = &model.data.re;
    if re.terms.len() > 1 {
        format!("this model has {} terms", re.terms.len())
    } else {
        format!(
            "the term of `{}` has {} effects per level",
            re.terms[0].group, re.terms[0].k
        )
    }
}

/// The standard errors of β from the diagonal of `vcov` (1 where there is none or it is
/// not a positive number): the units of β in stage 2.
fn standard_errors_or_one(vcov: Option<&faer::Mat<f64>>, p: usize) -> Vec<f64> {
    (0..p)
        .map(|i| {
            let s = vcov.map_or(f64::NAN, |v| v[(i, i)].sqrt());
            if s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect()
}

/// The finite-difference gradient and Hessian of stage 2's objective at its optimum `x`
/// (value `objective`), taken back from β in standard-error units to β: ∂/∂β = ∂/∂s / scale.
fn unscaled_derivatives(
    obj: &mut FullObjective<'_>,
    x: &[f64],
    objective: f64,
    lower: &[f64],
    nt: usize,
) -> Derivatives {
    let steps: Vec<f64> = x.iter().map(|v| HESSIAN_STEP * v.abs().max(1.0)).collect();
    let mut d = derivatives(|x| obj.value(x), x, objective, &steps, lower);
    let scale = obj.scale.clone();
    let n = x.len();
    let unit = |i: usize| if i < nt { 1.0 } else { scale[i - nt] };
    for i in 0..n {
        d.gradient[i] /= unit(i);
        for j in 0..n {
            d.hessian[i * n + j] /= unit(i) * unit(j);
        }
    }
    d
}
