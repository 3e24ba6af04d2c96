//! [`GlmmResults`]: a fitted GLMM with lme4's and statsmodels' accessor names, its
//! residuals, predictions on the link and response scales, simulation, likelihood-ratio
//! tests and the printed summary.

use crate::predict::{level_labels, prediction_input, PredictLevel, Predictions};
use crate::results::{effects_of, varcorr_of};
use crate::separation::{separated_effects, SeparatedEffect};
use crate::{Error, GroupEffects, ModelSpec, VarCorr};
use arrow_array::RecordBatch;
use faer::Mat;
use mixedlm_design::{DenseMatrix, Design, DesignSpec};
use mixedlm_glmm::{GlmmFit, GlmmModel, GlmmOptions};
use mixedlm_inference::{predict, NewLevelPolicy, NewRows, NewTermRows};
use rand::SeedableRng;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};
use std::fmt::{self, Write};

/// The kinds of residuals of a GLMM (R's `residuals(fit, type = ...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ResidualKind {
    /// sign(y − μ̂) √(w d(y, μ̂)): lme4's default.
    #[default]
    Deviance,
    /// (y − μ̂) √w / √V(μ̂).
    Pearson,
    /// y − μ̂ (response scale).
    Response,
    /// (y − μ̂) / (dμ/dη): the working residuals of the last IRLS step.
    Working,
}

/// The scale of a prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PredictScale {
    /// The linear predictor η (lme4's `type = "link"`, its default).
    #[default]
    Link,
    /// The mean μ = g⁻¹(η) (`type = "response"`).
    Response,
}

/// Options of [`GlmmResults::predict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct GlmmPredictOptions {
    /// Population (fixed effects only) or conditional.
    pub level: PredictLevel,
    /// Link or response scale.
    pub scale: PredictScale,
    /// What a level unseen in fitting gets.
    pub new_levels: NewLevelPolicy,
}

/// One row of a likelihood-ratio test between nested GLMMs (lme4's `anova`).
#[derive(Clone, Debug, PartialEq)]
pub struct GlmmLrt {
    /// Number of parameters of the smaller and the larger model.
    pub npar: (usize, usize),
    /// −2 log-likelihood of each.
    pub objective: (f64, f64),
    /// The χ² statistic: the difference of the −2 log-likelihoods.
    pub chisq: f64,
    /// Its degrees of freedom: the difference in parameters.
    pub df: usize,
    /// The upper-tail probability (not halved for variances on their boundary, as lme4).
    pub p_value: f64,
}

/// A fitted generalized linear mixed model.
#[derive(Debug)]
pub struct GlmmResults {
    pub(crate) model: GlmmModel,
    pub(crate) fit: GlmmFit,
    pub(crate) design_spec: DesignSpec,
    pub(crate) spec: ModelSpec,
    pub(crate) opts: GlmmOptions,
    /// Fixed effects that run off to ±∞ (see [`crate::separation`]).
    pub(crate) separated: Vec<SeparatedEffect>,
}

impl GlmmResults {
    /// Wrap an engine fit.
    pub fn new(
        model: GlmmModel,
        fit: GlmmFit,
        design_spec: DesignSpec,
        spec: ModelSpec,
        opts: GlmmOptions,
    ) -> Self {
        let separated = separated_effects(&fit.fixef_names, &fit.fixef, &fit.se, &model.design().x);
        Self {
            model,
            fit,
            design_spec,
            spec,
            opts,
            separated,
        }
    }

    /// The engine's estimates as plain data.
    pub fn fit(&self) -> &GlmmFit {
        &self.fit
    }
    /// The engine's model (at the optimum).
    pub fn model(&self) -> &GlmmModel {
        &self.model
    }
    /// The design the model was fitted to.
    pub fn design(&self) -> &Design {
        self.model.design()
    }
    /// The learned coding (for new data).
    pub fn design_spec(&self) -> &DesignSpec {
        &self.design_spec
    }
    /// The model as specified.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }
    /// The formula as given.
    pub fn formula(&self) -> &str {
        self.spec.formula()
    }
    /// The family's name.
    pub fn family(&self) -> &str {
        &self.fit.family
    }
    /// The link's name.
    pub fn link(&self) -> &str {
        &self.fit.link
    }
    /// Quadrature points (0, 1 = Laplace, 2..=25).
    pub fn nagq(&self) -> usize {
        self.fit.nagq
    }

    // ---- fixed effects ----

    /// Fixed-effects names.
    pub fn fe_names(&self) -> &[String] {
        &self.fit.fixef_names
    }
    /// β̂ (lme4's `fixef`).
    pub fn fixef(&self) -> &[f64] {
        &self.fit.fixef
    }
    /// β̂ (statsmodels' `fe_params`).
    pub fn fe_params(&self) -> &[f64] {
        &self.fit.fixef
    }
    /// Standard errors of β̂.
    pub fn bse_fe(&self) -> &[f64] {
        &self.fit.se
    }
    /// Var(β̂).
    pub fn cov_params(&self) -> Mat<f64> {
        let p = self.fit.fixef.len();
        Mat::from_fn(p, p, |i, j| self.fit.vcov_fixef[i][j])
    }
    /// Wald z = β̂ / SE.
    pub fn zvalues(&self) -> Vec<f64> {
        self.fit
            .fixef
            .iter()
            .zip(&self.fit.se)
            .map(|(b, s)| b / s)
            .collect()
    }
    /// Two-sided p-values of the Wald z tests.
    pub fn pvalues(&self) -> Vec<f64> {
        let n = Normal::standard();
        self.zvalues()
            .iter()
            .map(|z| 2.0 * n.cdf(-z.abs()))
            .collect()
    }
    /// Wald confidence intervals β̂ ± z SE at level 1 − α.
    pub fn conf_int(&self, alpha: f64) -> Vec<(f64, f64)> {
        let z = Normal::standard().inverse_cdf(1.0 - alpha / 2.0);
        self.fit
            .fixef
            .iter()
            .zip(&self.fit.se)
            .map(|(b, s)| (b - z * s, b + z * s))
            .collect()
    }

    // ---- random effects ----

    /// θ in lme4's order.
    pub fn theta(&self) -> &[f64] {
        &self.fit.theta
    }
    /// lme4's `VarCorr` (the residual variance is 1: binomial and Poisson have no scale).
    pub fn varcorr(&self) -> VarCorr {
        varcorr_of(&self.fit.random, 1.0)
    }
    /// The conditional modes per term, lme4's order (lme4's `ranef`).
    pub fn ranef(&self) -> Vec<GroupEffects> {
        effects_of(&self.fit.random, |t| &t.condval)
    }
    /// The conditional standard deviations of the random effects (lme4's `condVar`).
    pub fn ranef_sd(&self) -> Vec<GroupEffects> {
        effects_of(&self.fit.random, |t| &t.condsd)
    }

    // ---- fitted values, residuals ----

    /// Fitted means μ̂ (response scale), one per used row (lme4's `fitted`).
    pub fn fittedvalues(&self) -> &[f64] {
        &self.fit.fitted
    }
    /// The linear predictor η̂ (link scale).
    pub fn linear_predictor(&self) -> &[f64] {
        &self.fit.linear_predictor
    }
    /// Residuals of the given kind.
    pub fn residuals(&self, kind: ResidualKind) -> Vec<f64> {
        let r = self.model.response();
        match kind {
            ResidualKind::Deviance => r.deviance_residuals(),
            ResidualKind::Pearson => r.pearson_residuals(),
            ResidualKind::Response => r.y.iter().zip(&r.mu).map(|(y, m)| y - m).collect(),
            ResidualKind::Working => {
                r.y.iter()
                    .zip(&r.mu)
                    .zip(&r.mu_eta)
                    .map(|((y, m), d)| (y - m) / d)
                    .collect()
            }
        }
    }

    // ---- likelihood ----

    /// The log-likelihood as lme4 reports it.
    pub fn llf(&self) -> f64 {
        self.fit.log_likelihood
    }
    /// AIC.
    pub fn aic(&self) -> f64 {
        self.fit.aic
    }
    /// BIC.
    pub fn bic(&self) -> f64 {
        self.fit.bic
    }
    /// −2 log-likelihood (the optimized criterion, lme4's `-2 * logLik`).
    pub fn objective(&self) -> f64 {
        self.fit.objective
    }
    /// The conditional deviance Σ w d(y, μ̂) (lme4's `deviance()` of a GLMM).
    pub fn deviance(&self) -> f64 {
        self.fit.deviance
    }
    /// Number of parameters (fixed effects and θ).
    pub fn npar(&self) -> usize {
        self.fit.npar
    }
    /// Observations used.
    pub fn nobs(&self) -> usize {
        self.fit.n_obs
    }
    /// Input rows dropped for missing values.
    pub fn n_dropped(&self) -> usize {
        self.design().n_dropped
    }
    /// Levels per grouping factor.
    pub fn n_groups(&self) -> Vec<(String, usize)> {
        self.fit
            .n_groups
            .iter()
            .map(|g| (g.group.clone(), g.levels))
            .collect()
    }
    /// Whether both optimization stages converged.
    pub fn converged(&self) -> bool {
        self.fit.converged && self.separated.is_empty()
    }
    /// Fixed effects whose estimates run off to ±∞ (complete or quasi-complete
    /// separation); the fit then does not count as converged.
    pub fn separated(&self) -> &[SeparatedEffect] {
        &self.separated
    }
    /// lme4's `isSingular`.
    pub fn singular(&self) -> bool {
        self.fit.singular
    }

    // ---- comparison, prediction, simulation ----

    /// The likelihood-ratio test of `self` against a model with more parameters fitted to
    /// the same data (either order is accepted; the smaller model comes first).
    pub fn lrt(&self, other: &GlmmResults) -> Result<GlmmLrt, Error> {
        if self.nobs() != other.nobs() {
            return Err(Error::InvalidOption(format!(
                "the models were fitted to different numbers of observations ({} and {}); \
                 compare models fitted to the same rows",
                self.nobs(),
                other.nobs()
            )));
        }
        if self.nagq() != other.nagq() && (self.nagq() > 1 || other.nagq() > 1) {
            return Err(Error::InvalidOption(
                "the models use different likelihood approximations (nAGQ); refit with the same"
                    .into(),
            ));
        }
        let (small, large) = if self.npar() <= other.npar() {
            (self, other)
        } else {
            (other, self)
        };
        let df = large.npar() - small.npar();
        let chisq = (small.objective() - large.objective()).max(0.0);
        let p_value = match ChiSquared::new(df.max(1) as f64) {
            Ok(d) if df > 0 => 1.0 - d.cdf(chisq),
            _ => f64::NAN,
        };
        Ok(GlmmLrt {
            npar: (small.npar(), large.npar()),
            objective: (small.objective(), large.objective()),
            chisq,
            df,
            p_value,
        })
    }

    /// Predict for new data on the link or response scale; population predictions carry
    /// standard errors on the link scale.
    pub fn predict(
        &self,
        newdata: &RecordBatch,
        opts: &GlmmPredictOptions,
    ) -> Result<Predictions, Error> {
        let conditional = opts.level == PredictLevel::Conditional;
        let spec = &self.design_spec;
        let new = if conditional {
            spec.apply(newdata)?
        } else {
            spec.apply_fixed(newdata)?
        };
        let n = new.x.nrows;
        let terms: Vec<NewTermRows> = if conditional {
            new.random
                .iter()
                .map(|t| NewTermRows {
                    z: t.z.clone(),
                    codes: t.codes.clone(),
                    labels: level_labels(spec, &t.group, &t.codes, newdata, &new.row_index),
                })
                .collect()
        } else {
            self.design()
                .random
                .iter()
                .map(|r| NewTermRows {
                    z: DenseMatrix::zeros(n, r.z.ncols),
                    codes: vec![None; n],
                    labels: Vec::new(),
                })
                .collect()
        };
        let input = prediction_input(&self.fit.fixef, &self.fit.vcov_fixef, &self.fit.random);
        let policy = if conditional {
            opts.new_levels
        } else {
            NewLevelPolicy::Population
        };
        let pred = predict(
            &input,
            &NewRows {
                x: new.x.clone(),
                terms,
            },
            policy,
        )?;
        let mut values = if conditional {
            pred.conditional
        } else {
            pred.population
        };
        if let Some(o) = &new.offset {
            values.iter_mut().zip(o).for_each(|(a, b)| *a += b);
        }
        let (values, std_error) = match opts.scale {
            PredictScale::Link => (values, (!conditional).then_some(pred.se_population)),
            PredictScale::Response => {
                let link = &self.model.response().link;
                (values.iter().map(|e| link.inverse(*e)).collect(), None)
            }
        };
        let unseen = new
            .random
            .iter()
            .flat_map(|t| t.unseen.iter().map(move |l| format!("{}={l}", t.group)))
            .collect();
        Ok(Predictions {
            row_index: new.row_index.clone(),
            values,
            std_error,
            unseen_levels: unseen,
            n_dropped: new.n_dropped,
        })
    }

    /// `nsim` responses simulated from the fitted model (new random effects drawn from
    /// their fitted distribution, as lme4's `simulate` with `use.u = FALSE`), on the
    /// response's scale (proportions for a binomial response), seeded.
    pub fn simulate(&self, nsim: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..nsim)
            .map(|_| mixedlm_glmm::simulate::draw(&self.model, &self.fit, &mut rng))
            .collect()
    }

    /// Convergence (lme4's checkConv from the gradient and Hessian at the optimum),
    /// singularity and overdispersion, each finding with what to do.
    pub fn checks(&self) -> mixedlm_glmm::GlmmChecks {
        let mut c = mixedlm_glmm::checks::check(&self.model, &self.fit);
        if !self.separated.is_empty() {
            // the flat Hessian is the separation's, not a scaling problem
            // (its curvature and gradient findings advise rescaling, which cannot help)
            c.messages.retain(|m| !m.contains("rescale"));
            c.messages
                .extend(self.separated.iter().map(SeparatedEffect::message));
        }
        c
    }

    /// The options the model was fitted with.
    pub fn options(&self) -> &GlmmOptions {
        &self.opts
    }

    /// The printed summary (`Display`), laid out as lme4's `summary(glmer(...))`.
    pub fn summary(&self) -> GlmmSummary<'_> {
        GlmmSummary { results: self }
    }
}

/// The printed summary of a GLMM fit.
#[derive(Debug, Clone, Copy)]
pub struct GlmmSummary<'a> {
    results: &'a GlmmResults,
}

impl fmt::Display for GlmmSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.results;
        let mut s = String::new();
        let method = match r.nagq() {
            0 => "Laplace Approximation, nAGQ = 0".to_string(),
            1 => "Laplace Approximation".to_string(),
            k => format!("Adaptive Gauss-Hermite Quadrature, nAGQ = {k}"),
        };
        writeln!(
            s,
            "Generalized linear mixed model fit by maximum likelihood ({method})"
        )?;
        writeln!(s, " Family: {}  ( {} )", r.family(), r.link())?;
        writeln!(s, "Formula: {}", r.spec.lme4_formula())?;
        writeln!(s)?;
        writeln!(
            s,
            "{:>12} {:>12} {:>12} {:>12} {:>9}",
            "AIC", "BIC", "logLik", "-2*log(L)", "df.resid"
        )?;
        writeln!(
            s,
            "{:>12.4} {:>12.4} {:>12.4} {:>12.4} {:>9}",
            r.aic(),
            r.bic(),
            r.llf(),
            r.objective(),
            r.nobs().saturating_sub(r.npar())
        )?;
        writeln!(s)?;
        writeln!(s, "Random effects:")?;
        let vc = r.varcorr();
        let gw = vc
            .variances
            .iter()
            .map(|v| v.group.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let nw = vc
            .variances
            .iter()
            .map(|v| v.term.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            s,
            " {:<gw$} {:<nw$} {:>10} {:>10}",
            "Groups", "Name", "Variance", "Std.Dev."
        )?;
        for v in &vc.variances {
            writeln!(
                s,
                " {:<gw$} {:<nw$} {:>10.4} {:>10.4}",
                v.group, v.term, v.variance, v.std_dev
            )?;
        }
        for c in &vc.correlations {
            writeln!(
                s,
                " Corr({}, {}) in {}: {:.3}",
                c.term1, c.term2, c.group, c.correlation
            )?;
        }
        let groups: Vec<String> = r
            .n_groups()
            .iter()
            .map(|(g, n)| format!("{g}, {n}"))
            .collect();
        writeln!(
            s,
            "Number of obs: {}, groups:  {}",
            r.nobs(),
            groups.join("; ")
        )?;
        writeln!(s)?;
        writeln!(s, "Fixed effects:")?;
        let w = r
            .fe_names()
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(8)
            .max(8);
        writeln!(
            s,
            "{:<w$} {:>10} {:>10} {:>8} {:>10}",
            "", "Estimate", "Std. Error", "z value", "Pr(>|z|)"
        )?;
        let (z, p) = (r.zvalues(), r.pvalues());
        for i in 0..r.fixef().len() {
            let name = &r.fe_names()[i];
            if let Some(sep) = r.separated.iter().find(|e| e.name == *name) {
                // not the arbitrary number the optimizer stopped at
                let inf = if sep.direction > 0.0 { "Inf" } else { "-Inf" };
                writeln!(
                    s,
                    "{name:<w$} {inf:>10} {:>10} {:>8} {:>10}",
                    "NA", "NA", "NA"
                )?;
                continue;
            }
            writeln!(
                s,
                "{:<w$} {:>10.5} {:>10.5} {:>8.3} {:>10.3e}",
                name,
                r.fixef()[i],
                r.bse_fe()[i],
                z[i],
                p[i]
            )?;
        }
        for sep in &r.separated {
            writeln!(
                s,
                "`{}`: complete separation, its estimate runs off to {}∞ (see the diagnostics)",
                sep.name,
                if sep.direction > 0.0 { "+" } else { "−" }
            )?;
        }
        if let Some(m) = r.design().rank_message() {
            writeln!(s, "\n{m}")?;
        }
        if r.singular() {
            writeln!(
                s,
                "\nboundary (singular) fit: a random-effect variance is estimated as 0 or a \
                 correlation as ±1; simplify the random effects"
            )?;
        }
        if !r.converged() && r.separated.is_empty() {
            writeln!(
                s,
                "\nThe optimizer did not report convergence; see the diagnostics."
            )?;
        }
        f.write_str(s.trim_end())
    }
}
