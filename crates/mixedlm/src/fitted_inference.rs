//! Inference on a fitted model: fixed-effects tests (z, Satterthwaite, Kenward-Roger),
//! confidence intervals (Wald, profile, bootstrap), conditional modes with conditional
//! SDs, standard errors of the variance components, simulation and likelihood-ratio tests.
//!
//! Satterthwaite, Kenward-Roger, profile intervals and the variance-component SEs use the
//! dense q-space evaluator of [`mixedlm_inference`]: its cost grows as q³ (q = the
//! number of random effects, Σ levels × effects per term). Above [`DENSE_MAX_Q`] they
//! return [`Error::TooLarge`] instead of running for a very long time; Wald tests and
//! intervals, the bootstrap (engine refits), prediction, simulation and likelihood-ratio
//! tests work at any size.

use crate::{Error, MixedLMResults};
use mixedlm_inference::{
    bootstrap, fixed_effect_tests, likelihood_ratio_tests, profile_intervals, simulate_responses,
    two_sided_p, variance_component_se, wald_intervals, BootstrapOptions, ConfidenceInterval, Ddf,
    DenseLmm, EngineRefit, FixedEffectTest, LrtModel, LrtRow, ProfileOptions, VarianceComponentSe,
};
use mixedlm_model::FitOptions;
use serde::Serialize;

/// The largest number of random effects q for which the dense evaluator is used
/// (Satterthwaite, Kenward-Roger, profile intervals, variance-component SEs).
///
/// One dense evaluation costs about q³/3 flops and q² doubles of memory; Satterthwaite needs
/// tens of evaluations and a profile hundreds, so at the limit the default tests of
/// `mixedlm fit` stay within seconds (benches/README.md).
pub const DENSE_MAX_Q: usize = 1000;

/// How confidence intervals are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CiMethod {
    /// β̂ ± z·SE for the fixed effects (no interval for variance parameters, as lme4).
    Wald,
    /// Profile likelihood (lme4's `confint(method = "profile")`): SDs, correlations, σ and
    /// fixed effects, on the ML deviance (REML fits are refitted by ML).
    Profile,
    /// Parametric bootstrap, percentile intervals (lme4's `confint(method = "boot")`).
    Bootstrap,
}

impl CiMethod {
    /// `wald`, `profile` or `bootstrap`.
    pub fn as_str(self) -> &'static str {
        match self {
            CiMethod::Wald => "wald",
            CiMethod::Profile => "profile",
            CiMethod::Bootstrap => "bootstrap",
        }
    }
}

/// Options of [`MixedLMResults::confint`].
#[derive(Clone, Debug, PartialEq)]
pub struct ConfIntOptions {
    /// The method.
    pub method: CiMethod,
    /// Confidence level (default 0.95).
    pub level: f64,
    /// Bootstrap replicates (default 500).
    pub nsim: usize,
    /// Bootstrap seed (default 42); the same seed gives the same intervals.
    pub seed: u64,
}

impl ConfIntOptions {
    /// Default options of a method (level 0.95, 500 replicates, seed 42).
    pub fn new(method: CiMethod) -> Self {
        Self {
            method,
            level: 0.95,
            nsim: 500,
            seed: 42,
        }
    }
    /// Set the level.
    pub fn level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }
    /// Set the number of bootstrap replicates.
    pub fn nsim(mut self, nsim: usize) -> Self {
        self.nsim = nsim;
        self
    }
    /// Set the bootstrap seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// One conditional mode (BLUP) with its conditional SD, as a row of lme4's
/// `as.data.frame(ranef(fit, condVar = TRUE))`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConditionalMode {
    /// The grouping factor (`Subject`).
    pub group: String,
    /// The level, as the string of its value (`308`).
    pub level: String,
    /// The effect (`(Intercept)`, `Days`).
    pub term: String,
    /// The conditional mode.
    pub value: f64,
    /// Its conditional SD (None when it was not computed).
    pub cond_sd: Option<f64>,
}

/// lme4's `anova(m0, m1, ...)`: models refitted by ML where needed, one test per
/// consecutive pair (models sorted by number of parameters).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anova {
    /// Whether some REML fit was refitted by ML for the comparison (lme4 does the same).
    pub refit_ml: bool,
    /// One row per model; `chisq`, `df`, `p_value` compare it with the row before.
    pub rows: Vec<LrtRow>,
}

impl MixedLMResults {
    /// The number of random effects q (Σ levels × effects per term).
    pub fn n_random_effects(&self) -> usize {
        self.design()
            .random
            .iter()
            .map(|t| t.levels.len() * t.z.ncols)
            .sum()
    }

    /// The dense q-space evaluator of this model, or [`Error::TooLarge`] above
    /// [`DENSE_MAX_Q`].
    pub fn dense_model(&self, what: &'static str) -> Result<DenseLmm, Error> {
        self.need_rows(what)?;
        let q = self.n_random_effects();
        if q > DENSE_MAX_Q {
            return Err(Error::TooLarge {
                what,
                q,
                max: DENSE_MAX_Q,
            });
        }
        Ok(DenseLmm::from_model(&self.model)?)
    }

    /// The default reference distribution of the fixed-effects tests: Satterthwaite for
    /// REML fits (as lmerTest), z for ML fits.
    pub fn default_ddf(&self) -> Ddf {
        if self.reml() {
            Ddf::Satterthwaite
        } else {
            Ddf::Z
        }
    }

    /// The fixed-effects table with tests against N(0,1) ([`Ddf::Z`], as statsmodels), or
    /// t with Satterthwaite's or Kenward-Roger's degrees of freedom (KR also adjusts the
    /// standard errors; it needs a REML fit).
    ///
    /// ```
    /// use mixedlm::{lmer, read_table, Ddf};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sleepstudy.csv");
    /// let fit = lmer("Reaction ~ Days + (Days | Subject)", &read_table(path.as_ref(), None)?)?;
    /// let t = fit.fixed_effect_tests(Ddf::Satterthwaite)?;
    /// assert_eq!(t[1].name, "Days");
    /// assert!((t[1].df.unwrap() - 17.0).abs() < 1e-2);      // lmerTest: 16.99998
    /// assert!(t[1].p_value < 1e-5);
    /// # Ok::<(), mixedlm::Error>(())
    /// ```
    pub fn fixed_effect_tests(&self, ddf: Ddf) -> Result<Vec<FixedEffectTest>, Error> {
        if ddf == Ddf::Z {
            return Ok(self.z_tests());
        }
        let what = match ddf {
            Ddf::KenwardRoger => "Kenward-Roger degrees of freedom",
            _ => "Satterthwaite degrees of freedom",
        };
        let dense = self.dense_model(what)?;
        Ok(fixed_effect_tests(&dense, self.theta(), self.reml(), ddf)?)
    }

    /// Wald z tests from the engine's β̂ and standard errors (any model size).
    fn z_tests(&self) -> Vec<FixedEffectTest> {
        self.fe_names()
            .iter()
            .zip(self.fe_params().iter().zip(self.bse_fe()))
            .map(|(name, (&estimate, &se))| {
                let statistic = estimate / se;
                FixedEffectTest {
                    name: name.clone(),
                    estimate,
                    se,
                    statistic,
                    df: None,
                    p_value: two_sided_p(statistic, None),
                }
            })
            .collect()
    }

    /// Confidence intervals by [`CiMethod`], parameters named as lme4's
    /// `confint(oldNames = FALSE)`: `sd_(Intercept)|Subject`, `cor_Days.(Intercept)|Subject`,
    /// `sigma`, then the fixed effects.
    ///
    /// ```
    /// use mixedlm::{lmer, read_table, CiMethod, ConfIntOptions};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/dyestuff.csv");
    /// let fit = lmer("Yield ~ 1 + (1 | Batch)", &read_table(path.as_ref(), None)?)?;
    /// let ci = fit.confint(&ConfIntOptions::new(CiMethod::Profile))?;
    /// assert_eq!(ci[0].name, "sd_(Intercept)|Batch");
    /// assert!((ci[0].lower - 12.1985).abs() < 0.05 && (ci[0].upper - 84.0630).abs() < 0.05);
    /// let boot = fit.confint(&ConfIntOptions::new(CiMethod::Bootstrap).nsim(20).seed(1))?;
    /// assert_eq!(boot.len(), 3);
    /// # Ok::<(), mixedlm::Error>(())
    /// ```
    pub fn confint(&self, opts: &ConfIntOptions) -> Result<Vec<ConfidenceInterval>, Error> {
        self.confint_with_progress(opts, &|_, _| {})
    }

    /// [`confint`](Self::confint) calling `progress(done, total)` after each bootstrap
    /// replicate (from any thread; not called by the other methods).
    pub fn confint_with_progress(
        &self,
        opts: &ConfIntOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Vec<ConfidenceInterval>, Error> {
        match opts.method {
            CiMethod::Wald => Ok(wald_intervals(
                self.fe_names(),
                self.fe_params(),
                self.bse_fe(),
                opts.level,
            )?),
            CiMethod::Profile => {
                let dense = self.dense_model("profile-likelihood intervals")?;
                let po = ProfileOptions {
                    level: opts.level,
                    ..ProfileOptions::default()
                };
                Ok(profile_intervals(&dense, self.theta(), &po)?)
            }
            CiMethod::Bootstrap => self.bootstrap_intervals(opts, progress),
        }
    }

    /// [`ModelError::RowsUnavailable`](mixedlm_model::ModelError::RowsUnavailable) for a
    /// streamed fit, which holds no rows.
    pub(crate) fn need_rows(&self, what: &str) -> Result<(), Error> {
        if self.model.has_rows() {
            return Ok(());
        }
        Err(mixedlm_model::ModelError::RowsUnavailable { what: what.into() }.into())
    }

    /// The bootstrap keeps every replicate's estimates (p + θ + σ numbers, and their
    /// bookkeeping) until the intervals are computed: refuse an `nsim` whose replicates
    /// would not fit in the memory available, with the largest that would.
    fn check_replicates_fit_in_memory(&self, nsim: usize) -> Result<(), Error> {
        let params = self.fe_params().len() + self.theta().len() + 1;
        // Each estimate vector, its slot in two collections and the allocator's overhead,
        // plus a copy of one parameter's column while the intervals are computed.
        let per_replicate = (8 * params + 96) as u64;
        let budget = mixedlm_design::memory_budget() / 2;
        let most = budget / per_replicate;
        if (nsim as u64) <= most {
            return Ok(());
        }
        let gib = |b: f64| b / (1u64 << 30) as f64;
        Err(Error::InvalidOption(format!(
            "{nsim} bootstrap replicates would need about {:.1} GiB to hold their estimates, \
             more than half of the {:.1} GiB of memory available; use at most {most} (lme4's \
             default is 500; 1,000-10,000 give stable 95% intervals)",
            gib(nsim as f64 * per_replicate as f64),
            gib(2.0 * budget as f64),
        )))
    }

    fn bootstrap_intervals(
        &self,
        opts: &ConfIntOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Vec<ConfidenceInterval>, Error> {
        self.need_rows("the parametric bootstrap")?;
        self.check_replicates_fit_in_memory(opts.nsim)?;
        let refit = EngineRefit::new(
            self.model.rebuild(self.design())?,
            FitOptions {
                optimizer: self.fit.optim.optimizer,
                start: Some(self.theta().to_vec()),
                conditional_variances: false,
                ..FitOptions::default()
            },
        );
        let bo = BootstrapOptions {
            nsim: opts.nsim,
            seed: opts.seed,
            level: opts.level,
        };
        let params = (self.fe_params(), self.theta(), self.sigma());
        let result = bootstrap(&refit, self.design(), params, &bo, progress)?;
        if result.estimates.is_empty() {
            return Err(Error::InvalidOption(format!(
                "all {} bootstrap refits failed: the model may be too complex for the data",
                opts.nsim
            )));
        }
        Ok(result.intervals)
    }

    /// The conditional modes with their conditional SDs, one row per term, effect and
    /// level (lme4's `as.data.frame(ranef(fit, condVar = TRUE))` order).
    pub fn conditional_modes(&self) -> Vec<ConditionalMode> {
        let mut out = Vec::new();
        for t in &self.fit.random {
            for (j, term) in t.names.iter().enumerate() {
                for (i, level) in t.levels.iter().enumerate() {
                    out.push(ConditionalMode {
                        group: t.group.clone(),
                        level: level.clone(),
                        term: term.clone(),
                        value: t
                            .condval
                            .get(i)
                            .and_then(|r| r.get(j))
                            .copied()
                            .unwrap_or(f64::NAN),
                        cond_sd: t.condsd.get(i).and_then(|r| r.get(j)).copied(),
                    });
                }
            }
        }
        out
    }

    /// Standard errors of the variance components on the variance scale, from the observed
    /// information of the criterion in (variances, covariances, σ²), as lmerTest and
    /// merDeriv compute them: `var_(Intercept)|Subject`, `cov_Days.(Intercept)|Subject`,
    /// ..., `var_Residual`. NaN for a variance estimated at 0 (and its covariances): the
    /// information matrix says nothing there. statsmodels reports another quantity under
    /// the name `bse_re` (on the scale of Ψ/σ², times σ̂): see [`bse_re`](Self::bse_re).
    pub fn variance_component_se(&self) -> Result<Vec<VarianceComponentSe>, Error> {
        let dense = self.dense_model("variance-component standard errors")?;
        let mut se = variance_component_se(&dense, self.theta())?;
        // A variance at 0 is on the boundary: the observed information says nothing
        // about its sampling variance (nor about covariances of that effect).
        let boundary = 1e-10 * self.scale();
        let zero: Vec<String> = se
            .iter()
            .filter(|v| v.name.starts_with("var_") && v.estimate <= boundary)
            .map(|v| v.name["var_".len()..].to_string())
            .collect();
        for v in &mut se {
            let effect = v.name.split_once('_').map_or("", |(_, rest)| rest);
            let (effects, group) = effect.rsplit_once('|').unwrap_or((effect, ""));
            let on_boundary = zero.iter().any(|z| {
                let (ze, zg) = z.rsplit_once('|').unwrap_or((z, ""));
                zg == group && (effects == ze || effects.split('.').any(|e| e == ze))
            });
            if on_boundary {
                v.se = f64::NAN;
            }
        }
        Ok(se)
    }

    /// `n` response vectors drawn from the fitted model (new random effects and errors),
    /// reproducible by `seed` (lme4's `simulate`).
    pub fn simulate(&self, n: usize, seed: u64) -> Result<Vec<Vec<f64>>, Error> {
        Ok(simulate_responses(
            self.design(),
            self.fe_params(),
            self.theta(),
            self.sigma(),
            n,
            seed,
        )?)
    }

    /// The maximized ML log-likelihood: this fit's for an ML fit, else the model refitted
    /// by ML from the REML θ (as lme4's `anova` does).
    pub fn ml_loglik(&self) -> Result<f64, Error> {
        if !self.reml() {
            return Ok(self.llf());
        }
        self.need_rows("refitting a REML fit by ML")?;
        let mut model = self.model.rebuild(self.design())?;
        model.set_reml(false);
        let fit = model.fit(&FitOptions {
            optimizer: self.fit.optim.optimizer,
            start: Some(self.theta().to_vec()),
            conditional_variances: false,
            ..FitOptions::default()
        })?;
        if !fit.converged {
            return Err(Error::InvalidOption(format!(
                "the ML refit of `{}` did not converge; fit it with ML and another optimizer",
                self.formula()
            )));
        }
        Ok(fit.log_likelihood)
    }
}

/// lme4's `anova(m0, m1, ...)`: likelihood-ratio tests between nested models fitted to the
/// same rows. REML fits are refitted by ML first (and [`Anova::refit_ml`] says so).
///
/// ```
/// use mixedlm::{anova, lmer, read_table};
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sleepstudy.csv");
/// let data = read_table(path.as_ref(), None)?;
/// let m0 = lmer("Reaction ~ Days + (1 | Subject)", &data)?;
/// let m1 = lmer("Reaction ~ Days + (Days | Subject)", &data)?;
/// let a = anova(&[&m0, &m1])?;
/// assert!(a.refit_ml);
/// assert!((a.rows[1].chisq.unwrap() - 42.1393).abs() < 1e-3);   // lme4: 42.139
/// assert_eq!(a.rows[1].df, Some(2));
/// # Ok::<(), mixedlm::Error>(())
/// ```
pub fn anova(models: &[&MixedLMResults]) -> Result<Anova, Error> {
    let refit_ml = models.iter().any(|m| m.reml());
    let lrt: Vec<LrtModel> = models
        .iter()
        .map(|m| {
            Ok(LrtModel {
                name: m.spec().lme4_formula(),
                npar: m.npar(),
                loglik: m.ml_loglik()?,
                n_obs: m.nobs(),
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Anova {
        refit_ml,
        rows: likelihood_ratio_tests(&lrt)?,
    })
}
