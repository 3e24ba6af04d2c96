//! [`GlmmFit`]: the estimates of a fitted GLMM as plain data, on lme4's scales.

use super::derivs::Derivatives;
use super::model::GlmmModel;
use super::options::{GlmmOptions, Stages};
use faer::{Mat, MatRef, Side};
use mixedlm_covariance::summarize;
use mixedlm_model::{GroupCount, PerLevel, TermFit, SINGULAR_TOL};
use mixedlm_optim::OptimRecord;
use serde::Serialize;

/// Where Var(β̂) came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VcovSource {
    /// The β block of 2 H⁻¹, H the finite-difference Hessian of the criterion over (θ, β)
    /// (lme4's default for nAGQ ≥ 1).
    Hessian,
    /// (R_X' R_X)⁻¹ of the PWLS system at the optimum (lme4's for nAGQ = 0, and the
    /// fallback when the Hessian is not positive definite).
    Rx,
}

/// A fitted generalized linear mixed model (plain data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlmmFit {
    /// The response family (`binomial`, `poisson`).
    pub family: String,
    /// The link (`logit`, `probit`, `cloglog`, `log`).
    pub link: String,
    /// Quadrature points (0, 1 = Laplace, 2..=25).
    pub nagq: usize,
    /// −2 log-likelihood as lme4 reports it (its `-2 * logLik`; for nAGQ > 1 on the
    /// deviance-residual scale, see the user guide).
    pub objective: f64,
    /// θ in lme4's order.
    pub theta: Vec<f64>,
    /// lme4-style names of θ's entries.
    pub theta_names: Vec<String>,
    /// Fixed-effects names.
    pub fixef_names: Vec<String>,
    /// β̂.
    pub fixef: Vec<f64>,
    /// Standard errors of β̂.
    pub se: Vec<f64>,
    /// Var(β̂), row-major.
    pub vcov_fixef: Vec<Vec<f64>>,
    /// Where Var(β̂) came from.
    pub vcov_source: VcovSource,
    /// The random-effects terms in lme4's order (covariances with σ = 1).
    pub random: Vec<TermFit>,
    /// Fitted means μ̂ (response scale), one per used row.
    pub fitted: Vec<f64>,
    /// The linear predictor η̂ = X β̂ + Z b̂ + offset (link scale).
    pub linear_predictor: Vec<f64>,
    /// The conditional deviance Σ w d(y, μ̂) (lme4's `deviance()`).
    pub deviance: f64,
    /// Log-likelihood: −objective / 2.
    pub log_likelihood: f64,
    /// AIC = objective + 2 npar.
    pub aic: f64,
    /// BIC = objective + npar log N.
    pub bic: f64,
    /// Number of parameters p + length(θ).
    pub npar: usize,
    /// Number of observations.
    pub n_obs: usize,
    /// Levels per grouping factor.
    pub n_groups: Vec<GroupCount>,
    /// lme4's `isSingular`.
    pub singular: bool,
    /// Whether the optimizer(s) reported convergence.
    pub converged: bool,
    /// Stage 1 (θ by the fast criterion).
    pub optim_stage1: OptimRecord,
    /// Stage 2 ((θ, β) by the Laplace or quadrature criterion); none for nAGQ = 0.
    pub optim: Option<OptimRecord>,
    /// Finite-difference gradient of the criterion over (θ, β) at the optimum.
    pub gradient: Vec<f64>,
    /// Finite-difference Hessian over (θ, β), row-major.
    pub hessian: Vec<Vec<f64>>,
    /// PIRLS iterations over the whole fit.
    pub pirls_iterations: usize,
    /// Evaluations where PIRLS failed (criterion +∞ there).
    pub pirls_failures: usize,
}

/// Build the fit from the model, left at the optimum by the stages.
pub(crate) fn extract(model: &mut GlmmModel, stages: Stages, opts: &GlmmOptions) -> GlmmFit {
    let Stages {
        stage1,
        stage2,
        theta,
        beta,
        objective,
        derivs,
        vcov_rx,
    } = stages;
    let p = beta.len();
    let nt = theta.len();
    let (vcov, vcov_source) = match derivs.as_ref().and_then(|d| hessian_vcov(d, nt, p)) {
        Some(v) => (v, VcovSource::Hessian),
        None => (vcov_rx, VcovSource::Rx),
    };
    let vcov_fixef: Vec<Vec<f64>> = (0..p)
        .map(|i| {
            (0..p)
                .map(|j| vcov.get(i * p + j).copied().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let se = (0..p).map(|i| vcov_fixef[i][i].sqrt()).collect();
    let re = &model.data.re;
    let random = term_fits(model, &theta, opts.cond_var);
    let n_groups = group_counts(re);
    let singular = re.terms.iter().any(|t| {
        t.structure.is_singular(
            &theta[t.theta_offset..t.theta_offset + t.n_theta()],
            SINGULAR_TOL,
        )
    });
    let npar = p + nt;
    let n = model.n_obs();
    let converged = stage1.converged && stage2.as_ref().is_none_or(|s| s.converged);
    let (gradient, hessian) = match derivs {
        Some(d) => {
            let m = d.gradient.len();
            let h = (0..m)
                .map(|i| d.hessian[i * m..(i + 1) * m].to_vec())
                .collect();
            (d.gradient, h)
        }
        None => (Vec::new(), Vec::new()),
    };
    GlmmFit {
        family: model.resp.family.name().to_string(),
        link: model.resp.link.name().to_string(),
        nagq: opts.nagq,
        objective,
        theta_names: re.theta_names(),
        theta,
        fixef_names: model.data.design.x_names.clone(),
        fixef: beta,
        se,
        vcov_fixef,
        vcov_source,
        random,
        fitted: model.resp.mu.clone(),
        linear_predictor: model.eta.clone(),
        deviance: model.resp.deviance(),
        log_likelihood: -objective / 2.0,
        aic: objective + 2.0 * npar as f64,
        bic: objective + npar as f64 * (n as f64).ln(),
        npar,
        n_obs: n,
        n_groups,
        singular,
        converged,
        optim_stage1: stage1,
        optim: stage2,
        gradient,
        hessian,
        pirls_iterations: model.pirls_iterations,
        pirls_failures: model.pirls_failures,
    }
}

/// Each term's estimates: θ, the covariance, the conditional modes b = Λu and (with
/// `cond_var`) their conditional SDs.
fn term_fits(model: &GlmmModel, theta: &[f64], cond_var: bool) -> Vec<TermFit> {
    let re = &model.data.re;
    let mut b = vec![0.0; re.q];
    re.lambda_times(&model.t, &model.u, &mut b);
    let covs = if cond_var {
        model.system.conditional_covariances()
    } else {
        Vec::new()
    };
    re.terms
        .iter()
        .enumerate()
        .map(|(j, term)| {
            let k = term.k;
            let t = &model.t[j];
            let condsd = covs.get(j).map_or_else(
                || PerLevel::empty(k),
                |blocks| {
                    let sd = blocks
                        .chunks_exact(k * k)
                        .flat_map(|v| (0..k).map(move |a| v[a * k + a].max(0.0).sqrt()))
                        .collect();
                    PerLevel::new(k, sd)
                },
            );
            let th = &theta[term.theta_offset..term.theta_offset + term.n_theta()];
            TermFit {
                group: term.group.clone(),
                formula_index: term.formula_index,
                names: term.names.clone(),
                structure: term.structure.name().to_string(),
                theta: th.to_vec(),
                covariance: summarize(MatRef::from_column_major_slice(t, k, k), 1.0),
                levels: term.levels.clone(),
                condval: PerLevel::new(k, b[term.u_offset..term.u_offset + term.len()].to_vec()),
                condsd,
            }
        })
        .collect()
}

/// The grouping factors and their numbers of levels, each once.
fn group_counts(re: &super::random::RandomEffects) -> Vec<GroupCount> {
    let mut n_groups: Vec<GroupCount> = Vec::new();
    for term in &re.terms {
        if !n_groups.iter().any(|g| g.group == term.group) {
            n_groups.push(GroupCount {
                group: term.group.clone(),
                levels: term.n_levels(),
            });
        }
    }
    n_groups
}

/// The β block of 2 H⁻¹ (row-major p × p) when H is symmetric positive definite.
fn hessian_vcov(d: &Derivatives, nt: usize, p: usize) -> Option<Vec<f64>> {
    let n = nt + p;
    let h = Mat::from_fn(n, n, |i, j| {
        0.5 * (d.hessian[i * n + j] + d.hessian[j * n + i])
    });
    if d.hessian.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let eig = h.self_adjoint_eigenvalues(Side::Lower).ok()?;
    if eig.iter().any(|e| *e <= 0.0) {
        return None;
    }
    let inv = super::dense::inverse_of_product(&h.llt(Side::Lower).ok()?.L().to_owned());
    Some(
        (0..p * p)
            .map(|k| 2.0 * inv[(nt + k / p, nt + k % p)])
            .collect(),
    )
}
