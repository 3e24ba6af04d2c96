//! [`GlmmModel`]: the data, the response, a PWLS system and the current state (θ, β, u);
//! evaluates the criteria the optimizer minimizes.
//!
//! - [`GlmmModel::fast_deviance`] (nAGQ = 0): PIRLS over (u, β) at θ, then the Laplace
//!   formula; β comes out of PIRLS. The first stage of every fit.
//! - [`GlmmModel::laplace_deviance`] (nAGQ = 1): PIRLS over u at (θ, β), then
//!   −2 Σ log p(y | μ) + |u|² + log|L|², lme4's Laplace criterion (−2 log-likelihood).
//! - [`GlmmModel::agq_deviance`] (nAGQ > 1, one scalar term): adaptive Gauss-Hermite
//!   quadrature around each level's mode, on lme4's scale (see `quadrature.rs` and the
//!   user guide: the deviance residuals replace −2 log p, so the value differs from the
//!   Laplace one by the saturated model's constant).
//!
//! Every evaluation starts PIRLS from the previous evaluation's modes (a warm start).

use super::choose::{choose_system, SystemChoice};
use super::data::ModelData;
use super::error::GlmmError;
use super::family::Family;
use super::link::Link;
use super::pirls_failure::PirlsFailure;
use super::quadrature::GaussHermite;
use super::random::RandomEffects;
use super::response::GlmResponse;
use super::system::{PwlsSystem, Unknowns};
use mixedlm_design::Design;
use mixedlm_model::ModelError;
use std::sync::Arc;

/// A GLMM ready for evaluation.
#[derive(Debug)]
pub struct GlmmModel {
    pub(crate) data: Arc<ModelData>,
    pub(crate) resp: GlmResponse,
    pub(crate) system: Box<dyn PwlsSystem>,
    /// θ of the last evaluation.
    pub(crate) theta: Vec<f64>,
    /// β of the last evaluation (estimated by PIRLS for the fast criterion).
    pub(crate) beta: Vec<f64>,
    /// The modes u of the last evaluation.
    pub(crate) u: Vec<f64>,
    /// Whether (u, β) hold a valid state to start PIRLS from.
    pub(crate) started: bool,
    pub(crate) t: Vec<Vec<f64>>,
    pub(crate) b: Vec<f64>,
    pub(crate) xb: Vec<f64>,
    pub(crate) eta: Vec<f64>,
    pub(crate) wts: Vec<f64>,
    pub(crate) wres: Vec<f64>,
    pub(crate) u_old: Vec<f64>,
    pub(crate) beta_old: Vec<f64>,
    /// PIRLS iterations over all evaluations.
    pub(crate) pirls_iterations: usize,
    /// Evaluations where PIRLS failed (the criterion was +∞ there).
    pub(crate) pirls_failures: usize,
    /// The penalized deviance of the state PIRLS left.
    pub(crate) pdev: f64,
    /// log|L|² of the state PIRLS left.
    pub(crate) logdet: f64,
    /// One grouping factor: u given β level by level (see `onefactor.rs`).
    pub(crate) one: Option<super::onefactor::OneFactor>,
    /// Whether η and μ (row order) describe the state; the level-by-level path leaves
    /// them stale until [`Self::sync_rows`].
    pub(crate) rows_synced: bool,
}

impl GlmmModel {
    /// Validate the design and response and prepare the system.
    pub fn new(
        design: Design,
        family: Box<dyn Family>,
        link: Box<dyn Link>,
        system: SystemChoice,
    ) -> Result<Self, GlmmError> {
        if !family.accepts_link(link.as_ref()) {
            return Err(GlmmError::Family(format!(
                "the {} family does not take the {} link; use {}",
                family.name(),
                link.name(),
                match family.name() {
                    "binomial" => "logit (the default), probit or cloglog",
                    _ => "log (the default)",
                }
            )));
        }
        check_design(&design)?;
        let resp = GlmResponse::new(
            family,
            link,
            design.y.clone(),
            design.weights.clone(),
            design.offset.clone(),
        )?;
        let re = RandomEffects::new(&design);
        let (n, p, q) = (design.n_obs(), design.x.ncols, re.q);
        let theta = re.theta_start();
        let t = re.factors(&theta);
        let one = (system == SystemChoice::Auto && data_terms(&design) == 1)
            .then(|| super::onefactor::OneFactor::new(&design, &resp));
        let data = Arc::new(ModelData { design, re });
        let system = choose_system(&data, system)?;
        Ok(GlmmModel {
            data,
            resp,
            system,
            theta,
            beta: vec![0.0; p],
            u: vec![0.0; q],
            started: false,
            t,
            b: vec![0.0; q],
            xb: vec![0.0; n],
            eta: vec![0.0; n],
            wts: vec![0.0; n],
            wres: vec![0.0; n],
            u_old: vec![0.0; q],
            beta_old: vec![0.0; p],
            pirls_iterations: 0,
            pirls_failures: 0,
            pdev: f64::NAN,
            logdet: f64::NAN,
            one,
            rows_synced: true,
        })
    }

    /// The design.
    pub fn design(&self) -> &Design {
        &self.data.design
    }

    /// The random-effects terms in lme4's order.
    pub fn random_effects(&self) -> &RandomEffects {
        &self.data.re
    }

    /// The response.
    pub fn response(&self) -> &GlmResponse {
        &self.resp
    }

    /// Number of observations.
    pub fn n_obs(&self) -> usize {
        self.resp.len()
    }

    /// Number of fixed effects.
    pub fn n_fixed(&self) -> usize {
        self.beta.len()
    }

    /// Length of θ.
    pub fn n_theta(&self) -> usize {
        self.data.re.n_theta
    }

    /// θ, β and u of the last evaluation.
    pub fn state(&self) -> (&[f64], &[f64], &[f64]) {
        (&self.theta, &self.beta, &self.u)
    }

    /// Forget the warm start: the next evaluation starts PIRLS from R's starting means.
    pub fn reset(&mut self) {
        self.started = false;
    }

    pub(crate) fn set_theta(&mut self, theta: &[f64]) -> bool {
        if theta.len() != self.theta.len() || theta.iter().any(|v| !v.is_finite()) {
            return false;
        }
        self.theta.copy_from_slice(theta);
        self.data.re.fill_factors(theta, &mut self.t);
        true
    }

    /// X β into `xb` (when `yes`).
    pub(crate) fn update_xb_if(&mut self, yes: bool) {
        if !yes {
            return;
        }
        let x = &self.data.design.x;
        let n = x.nrows;
        self.xb.iter_mut().for_each(|v| *v = 0.0);
        for (c, &bc) in self.beta.iter().enumerate() {
            for (v, xi) in self.xb.iter_mut().zip(&x.data[c * n..(c + 1) * n]) {
                *v += bc * xi;
            }
        }
    }

    /// η = offset + X β + Z Λ u and μ from it; X β recomputed from β when `with_beta`.
    pub(crate) fn update_eta(&mut self, with_beta: bool) {
        self.update_xb_if(with_beta);
        self.data.re.lambda_times(&self.t, &self.u, &mut self.b);
        for ((e, o), x) in self.eta.iter_mut().zip(&self.resp.offset).zip(&self.xb) {
            *e = o + x;
        }
        self.data
            .re
            .add_zb(&self.data.design, &self.b, &mut self.eta);
        self.resp.update(&self.eta);
    }

    /// Σ w d(y, μ) + |u|² at the current μ and u.
    pub(crate) fn penalized_deviance(&self) -> f64 {
        self.resp.deviance() + self.u.iter().map(|v| v * v).sum::<f64>()
    }

    /// −2 Σ log p(y | μ) + |u|² + log|L|² at the current state, from the penalized
    /// deviance Σ w d(y, μ) + |u|² (−2 log p = w d − 2 log p(y | y)).
    fn laplace_formula(&self) -> f64 {
        self.pdev - 2.0 * self.resp.saturated + self.logdet
    }

    /// Record a PIRLS outcome; +∞ (and no warm start) when it failed.
    fn finish(&mut self, outcome: Result<usize, PirlsFailure>) -> Result<(), PirlsFailure> {
        match outcome {
            Ok(it) => {
                self.pirls_iterations += it;
                self.started = true;
                self.logdet = self.system.logdet();
                self.rows_synced = true;
                Ok(())
            }
            Err(e) => {
                self.pirls_failures += 1;
                if !matches!(e, PirlsFailure::NotConverged { .. }) {
                    self.started = false;
                }
                Err(e)
            }
        }
    }

    /// The fast criterion (nAGQ = 0) at θ: β and u from PIRLS, then the Laplace formula.
    /// +∞ where PIRLS fails, NaN for an invalid θ.
    pub fn fast_deviance(&mut self, theta: &[f64]) -> f64 {
        self.fast_deviance_checked(theta).unwrap_or_else(|v| v)
    }

    /// [`Self::fast_deviance`] with the PIRLS failure kept.
    pub(crate) fn fast_deviance_checked(&mut self, theta: &[f64]) -> Result<f64, f64> {
        if !self.set_theta(theta) {
            return Err(f64::NAN);
        }
        let outcome = self.pirls(Unknowns::ModesAndFixed);
        match self.finish(outcome) {
            Ok(()) => Ok(self.laplace_formula()),
            Err(_) => Err(f64::INFINITY),
        }
    }

    /// The Laplace criterion (nAGQ = 1) at (θ, β): lme4's −2 log-likelihood.
    pub fn laplace_deviance(&mut self, theta: &[f64], beta: &[f64]) -> f64 {
        if !self.modes_at(theta, beta) {
            return f64::INFINITY;
        }
        self.laplace_formula()
    }

    /// PIRLS over u at (θ, β); false (θ or β invalid, or PIRLS failed) leaves no warm start.
    pub(crate) fn modes_at(&mut self, theta: &[f64], beta: &[f64]) -> bool {
        if !self.set_theta(theta)
            || beta.len() != self.beta.len()
            || beta.iter().any(|v| !v.is_finite())
        {
            return false;
        }
        self.beta.copy_from_slice(beta);
        if let Some(one) = self.one.as_mut() {
            if !self.started {
                self.u.iter_mut().for_each(|v| *v = 0.0);
            }
            let r = one.modes(
                &self.t[0],
                &self.beta,
                &mut self.u,
                self.resp.family.as_ref(),
                self.resp.link.as_ref(),
            );
            return match r {
                Ok(m) => {
                    self.pdev = m.pdev;
                    self.logdet = m.logdet;
                    self.pirls_iterations += m.iterations;
                    self.started = true;
                    self.rows_synced = false;
                    true
                }
                Err(_) => {
                    self.pirls_failures += 1;
                    self.started = false;
                    false
                }
            };
        }
        let outcome = self.pirls(Unknowns::Modes);
        self.finish(outcome).is_ok()
    }

    /// Whether [`Self::laplace_gradient`] is available: one grouping factor and the
    /// family's canonical link (where Fisher scoring is Newton's method).
    pub fn has_laplace_gradient(&self) -> bool {
        self.one.is_some() && self.resp.family.default_link().name() == self.resp.link.name()
    }

    /// The gradient of the Laplace criterion over (θ, β) into `out` (length θ + β); false
    /// where it is not available or PIRLS fails.
    pub fn laplace_gradient(&mut self, theta: &[f64], beta: &[f64], out: &mut [f64]) -> bool {
        if !self.has_laplace_gradient() || !self.modes_at(theta, beta) {
            return false;
        }
        let term = &self.data.re.terms[0];
        let k = term.k;
        let dt: Vec<Vec<f64>> = (0..term.n_theta())
            .map(|m| {
                let mut g = vec![0.0; k * k];
                term.structure.fill_factor_derivative(
                    m,
                    theta,
                    faer::MatMut::from_column_major_slice_mut(&mut g, k, k),
                );
                g
            })
            .collect();
        let Some(one) = self.one.as_ref() else {
            return false;
        };
        one.gradient(
            &self.t[0],
            &dt,
            &self.u,
            self.resp.family.as_ref(),
            self.resp.link.as_ref(),
            out,
        );
        out.iter().all(|v| v.is_finite())
    }

    /// η, μ and X β in row order for the current state (after the level-by-level path).
    pub(crate) fn sync_rows(&mut self) {
        if self.rows_synced {
            return;
        }
        if let Some(one) = self.one.as_ref() {
            one.eta(&self.t[0], &self.u, &mut self.eta);
            self.resp.update(&self.eta);
            self.update_xb_if(true);
        }
        self.rows_synced = true;
    }

    /// The adaptive Gauss-Hermite criterion at (θ, β) with the rule `rule` (one scalar
    /// term): Σ_g [u_g² + Σ_i w d_i + log L_g² − 2 log Σ_k w_k e^{z_k²/2 − Δ_gk/2}], with
    /// Δ_gk the change of u_g² + Σ_i w d_i when u_g moves to u_g + z_k / L_g (lme4's
    /// `glmerAGQ`).
    pub fn agq_deviance(&mut self, theta: &[f64], beta: &[f64], rule: &GaussHermite) -> f64 {
        if !self.data.re.is_single_scalar() || !self.modes_at(theta, beta) {
            return f64::INFINITY;
        }
        self.sync_rows();
        let term = &self.data.re.terms[0];
        let rt = &self.data.design.random[term.formula_index];
        let (n, g) = (self.n_obs(), term.n_levels());
        let lambda = self.t[0][0];
        let z = &rt.z.data[..n];
        let codes = &rt.codes;
        // L_g² = 1 + λ² Σ W z² at the final μ, and the deviance per level at the modes
        self.resp.working(&mut self.wts, &mut self.wres);
        let mut l2 = vec![1.0; g];
        let mut devc0: Vec<f64> = self.u.iter().map(|u| u * u).collect();
        let fam = self.resp.family.as_ref();
        for i in 0..n {
            let gi = codes[i] as usize;
            l2[gi] += lambda * lambda * self.wts[i] * z[i] * z[i];
            let w = self.resp.weights[i];
            if w > 0.0 {
                devc0[gi] += w * fam.unit_deviance(self.resp.y[i], self.resp.mu[i]);
            }
        }
        let sd: Vec<f64> = l2.iter().map(|v| 1.0 / v.sqrt()).collect();
        let mut mult = vec![0.0; g];
        let mut devc = vec![0.0; g];
        for (&zk, &wk) in rule.nodes.iter().zip(&rule.weights) {
            if zk == 0.0 {
                mult.iter_mut().for_each(|m| *m += wk);
                continue;
            }
            for (d, (u, s)) in devc.iter_mut().zip(self.u.iter().zip(&sd)) {
                let uk = u + zk * s;
                *d = uk * uk;
            }
            for i in 0..n {
                let w = self.resp.weights[i];
                if w <= 0.0 {
                    continue;
                }
                let gi = codes[i] as usize;
                let eta = self.eta[i] + lambda * z[i] * zk * sd[gi];
                let mu = self.resp.link.inverse(eta);
                devc[gi] += w * fam.unit_deviance(self.resp.y[i], mu);
            }
            for ((m, d), d0) in mult.iter_mut().zip(&devc).zip(&devc0) {
                *m += wk * (0.5 * zk * zk - 0.5 * (d - d0)).exp();
            }
        }
        let logdet: f64 = l2.iter().map(|v| v.ln()).sum();
        let log_mult: f64 = mult.iter().map(|m| m.ln()).sum();
        devc0.iter().sum::<f64>() + logdet - 2.0 * log_mult
    }
}

/// The checks of lme4's `glFormula`: a random term, at least two levels per grouping
/// factor, no more levels (or random effects of one term) than observations, more
/// observations than fixed effects, consistent lengths and finite values.
fn check_design(design: &Design) -> Result<(), ModelError> {
    if design.random.is_empty() {
        return Err(ModelError::NoRandomTerms);
    }
    let n = design.n_obs();
    let p = design.x.ncols;
    if n <= p {
        return Err(ModelError::TooFewObservations { n, p });
    }
    if design.x.nrows != n || design.x.data.len() != n * p {
        return Err(ModelError::DimensionMismatch {
            what: "X".into(),
            expected: n,
            found: design.x.nrows,
        });
    }
    for (name, v) in [("weights", &design.weights), ("offset", &design.offset)] {
        if let Some(v) = v {
            if v.len() != n {
                return Err(ModelError::DimensionMismatch {
                    what: name.into(),
                    expected: n,
                    found: v.len(),
                });
            }
        }
    }
    if let Some(pos) = design.x.data.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::NonFinite {
            what: format!(
                "fixed-effects column `{}`",
                design
                    .x_names
                    .get(pos / n.max(1))
                    .map_or("?", String::as_str)
            ),
            row: pos % n.max(1),
        });
    }
    design
        .random
        .iter()
        .try_for_each(|rt| check_random_term(rt, n))
}

/// One random-effects term of a GLMM design: glmer's checks (as many levels as
/// observations allowed), lengths, level codes and finite columns.
fn check_random_term(rt: &mixedlm_design::RandomTermDesign, n: usize) -> Result<(), ModelError> {
    let (levels, k) = (rt.levels.len(), rt.z.ncols);
    if levels < 2 {
        return Err(ModelError::TooFewLevels {
            group: rt.group.clone(),
            levels,
        });
    }
    if levels > n {
        return Err(ModelError::TooManyLevels {
            group: rt.group.clone(),
            levels,
            n,
        });
    }
    if k * levels > n {
        return Err(ModelError::TooManyRandomEffects {
            group: rt.group.clone(),
            q: k * levels,
            n,
        });
    }
    if k == 0
        || rt.codes.len() != n
        || rt.z.nrows != n
        || rt.z.data.len() != n * k
        || rt.names.len() != k
    {
        return Err(ModelError::DimensionMismatch {
            what: format!("random term `{}`", rt.group),
            expected: n,
            found: rt.codes.len(),
        });
    }
    if let Some(row) = rt.codes.iter().position(|&c| c as usize >= levels) {
        return Err(ModelError::BadLevelCode {
            group: rt.group.clone(),
            row,
            code: rt.codes[row],
            levels,
        });
    }
    if let Some(pos) = rt.z.data.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::NonFinite {
            what: format!(
                "random-effects column `{}` of `{}`",
                rt.names.get(pos / n).map_or("?", String::as_str),
                rt.group
            ),
            row: pos % n,
        });
    }
    Ok(())
}

/// Number of random-effects terms of a design.
fn data_terms(design: &Design) -> usize {
    design.random.len()
}
