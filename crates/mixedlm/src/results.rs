//! [`MixedLMResults`]: a fitted model with statsmodels' and lme4's accessor names.

use crate::summary::Summary;
use crate::ModelSpec;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use faer::Mat;
use mixedlm_design::{Design, DesignSpec};
use mixedlm_model::{LinearMixedModel, LmmFit, OptimRecord, PerLevel, TermFit};
use statrs::distribution::{ContinuousCDF, Normal};
use std::sync::Arc;

/// One random-effect variance (a row of lme4's `VarCorr`).
#[derive(Debug, Clone, PartialEq)]
pub struct VarianceEntry {
    /// The grouping factor as in the expanded formula (`batch:cask`).
    pub group: String,
    /// The effect's name (`(Intercept)`, `Days`).
    pub term: String,
    /// Its variance.
    pub variance: f64,
    /// Its standard deviation.
    pub std_dev: f64,
}

/// One correlation between two effects of a term with unstructured covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationEntry {
    /// The grouping factor.
    pub group: String,
    /// The first effect (earlier in the term).
    pub term1: String,
    /// The second effect.
    pub term2: String,
    /// The correlation.
    pub correlation: f64,
}

/// lme4's `VarCorr`: variances, SDs and correlations of the random effects, and σ².
#[derive(Debug, Clone, PartialEq)]
pub struct VarCorr {
    /// Variances, terms in lme4's order (most levels first), effects in term order.
    pub variances: Vec<VarianceEntry>,
    /// Correlations within unstructured terms.
    pub correlations: Vec<CorrelationEntry>,
    /// σ².
    pub residual_variance: f64,
    /// σ.
    pub residual_std_dev: f64,
}

/// The conditional modes (BLUPs) of one random-effects term.
#[derive(Debug, Clone)]
pub struct GroupEffects {
    /// The grouping factor.
    pub group: String,
    /// The effects' names (columns of `values`).
    pub names: Vec<String>,
    /// The levels (rows of `values`).
    pub levels: mixedlm_design::Levels,
    /// levels × effects.
    pub values: Mat<f64>,
}

/// A fitted linear mixed model.
///
/// statsmodels' names: [`fe_params`](Self::fe_params), [`bse_fe`](Self::bse_fe),
/// [`tvalues`](Self::tvalues), [`pvalues`](Self::pvalues), [`conf_int`](Self::conf_int),
/// [`cov_re`](Self::cov_re), [`vcomp`](Self::vcomp), [`scale`](Self::scale),
/// [`llf`](Self::llf), [`aic`](Self::aic), [`bic`](Self::bic),
/// [`random_effects`](Self::random_effects), [`fittedvalues`](Self::fittedvalues),
/// [`resid`](Self::resid), [`converged`](Self::converged), [`nobs`](Self::nobs).
/// lme4's names: [`fixef`](Self::fixef), [`ranef`](Self::ranef), [`varcorr`](Self::varcorr),
/// [`sigma`](Self::sigma), [`reml_criterion`](Self::reml_criterion),
/// [`deviance`](Self::deviance), [`theta`](Self::theta).
#[derive(Debug)]
pub struct MixedLMResults {
    pub(crate) model: LinearMixedModel,
    pub(crate) fit: LmmFit,
    pub(crate) design_spec: DesignSpec,
    pub(crate) spec: ModelSpec,
    pub(crate) streaming: Option<crate::StreamInfo>,
    /// Observations per level of statsmodels' `groups` when no random term is on it
    /// (variance components alone): statsmodels still counts its groups.
    pub(crate) groups_sizes: Option<Vec<usize>>,
    /// Warnings about the data found when the design was built ([`ModelSpec::data_warnings`]).
    pub(crate) data_warnings: Vec<String>,
    /// The optimizer's verdict and the post-fit check's.
    pub(crate) convergence: crate::convergence::Convergence,
}

impl MixedLMResults {
    /// Wrap an engine fit, and check it: the post-fit convergence check (lme4's
    /// `checkConv`: scaled gradient and Hessian of the criterion at θ̂) decides, with the
    /// optimizer's own test, what [`converged`](Self::converged) says.
    pub fn new(
        mut model: LinearMixedModel,
        fit: LmmFit,
        design_spec: DesignSpec,
        spec: ModelSpec,
    ) -> Self {
        let convergence = crate::convergence::assess(&mut model, &fit);
        Self {
            convergence,
            model,
            fit,
            design_spec,
            spec,
            streaming: None,
            groups_sizes: None,
            data_warnings: Vec::new(),
        }
    }

    /// How a streamed fit ([`crate::MixedLM::fit_streaming`]) read its data; `None` for
    /// a fit in memory. A streamed fit has no fitted values or residuals (empty), and
    /// inference that needs the rows returns an error.
    pub fn streaming(&self) -> Option<&crate::StreamInfo> {
        self.streaming.as_ref()
    }

    /// The engine's estimates as plain data.
    pub fn fit(&self) -> &LmmFit {
        &self.fit
    }
    /// The engine's model (for inference: profiles, bootstrap, ...).
    pub fn model(&self) -> &LinearMixedModel {
        &self.model
    }
    /// The design the model was fitted to.
    pub fn design(&self) -> &Design {
        self.model.design()
    }
    /// The learned encoding, to build designs for new data.
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
    /// The response's label (statsmodels' dependent variable).
    pub fn endog_name(&self) -> &str {
        &self.design().response
    }
    /// Whether the fit is by REML.
    pub fn reml(&self) -> bool {
        self.fit.criterion == mixedlm_model::Criterion::Reml
    }

    // ---- fixed effects ----

    /// Names of the fixed effects (lme4's names: `(Intercept)`, `SexMale`).
    pub fn fe_names(&self) -> &[String] {
        &self.fit.fixef_names
    }
    /// The fixed-effects estimates β̂ (statsmodels' `fe_params`).
    pub fn fe_params(&self) -> &[f64] {
        &self.fit.fixef
    }
    /// The fixed-effects estimates β̂ (lme4's `fixef`).
    pub fn fixef(&self) -> &[f64] {
        &self.fit.fixef
    }
    /// Standard errors of β̂.
    pub fn bse_fe(&self) -> &[f64] {
        &self.fit.se
    }
    /// Var(β̂) as a p×p matrix.
    pub fn cov_params(&self) -> Mat<f64> {
        let v = &self.fit.vcov_fixef;
        Mat::from_fn(v.len(), v.len(), |i, j| v[i][j])
    }
    /// Wald statistics β̂ / SE.
    pub fn tvalues(&self) -> Vec<f64> {
        self.fit
            .fixef
            .iter()
            .zip(&self.fit.se)
            .map(|(b, s)| b / s)
            .collect()
    }
    /// Two-sided p-values of the Wald statistics against the standard normal (as
    /// statsmodels; see the inference module for Satterthwaite / Kenward-Roger).
    pub fn pvalues(&self) -> Vec<f64> {
        let n = std_normal();
        self.tvalues().iter().map(|z| 2.0 * n.sf(z.abs())).collect()
    }
    /// Wald confidence intervals `(lower, upper)` at level 1 − `alpha` (normal quantiles).
    pub fn conf_int(&self, alpha: f64) -> Vec<(f64, f64)> {
        let q = std_normal().inverse_cdf(1.0 - alpha.clamp(1e-12, 1.0) / 2.0);
        self.fit
            .fixef
            .iter()
            .zip(&self.fit.se)
            .map(|(b, s)| (b - q * s, b + q * s))
            .collect()
    }

    // ---- variance components ----

    /// σ̂² (statsmodels' `scale`).
    pub fn scale(&self) -> f64 {
        self.fit.sigma * self.fit.sigma
    }
    /// σ̂ (lme4's `sigma`).
    pub fn sigma(&self) -> f64 {
        self.fit.sigma
    }
    /// θ in lme4's order.
    pub fn theta(&self) -> &[f64] {
        &self.fit.theta
    }
    /// lme4's `VarCorr`.
    pub fn varcorr(&self) -> VarCorr {
        varcorr_of(&self.fit.random, self.scale())
    }
    /// The main term of the model: the `(re | groups)` term of the statsmodels idiom (none
    /// when variance components stand alone), else the first random-effects term of the
    /// formula.
    pub(crate) fn main_term(&self) -> Option<&TermFit> {
        if let Some(g) = self.spec.groups_column() {
            if !self.spec.has_group_term() {
                return None;
            }
            return self
                .fit
                .random
                .iter()
                .filter(|t| t.group == g)
                .min_by_key(|t| t.formula_index);
        }
        self.fit.random.iter().min_by_key(|t| t.formula_index)
    }
    /// statsmodels' `cov_re`: the covariance matrix of the main term's random effects.
    pub fn cov_re(&self) -> Mat<f64> {
        match self.main_term() {
            Some(t) => {
                let c = &t.covariance.covariance;
                Mat::from_fn(c.len(), c.len(), |i, j| c[i][j])
            }
            None => Mat::zeros(0, 0),
        }
    }
    /// statsmodels' `vcomp`: the variances of the other terms (variance components), in
    /// formula order.
    pub fn vcomp(&self) -> Vec<f64> {
        let main = self.main_term().map(|t| t.formula_index);
        let mut terms: Vec<&TermFit> = self
            .fit
            .random
            .iter()
            .filter(|t| Some(t.formula_index) != main)
            .collect();
        terms.sort_by_key(|t| t.formula_index);
        terms
            .iter()
            .flat_map(|t| t.covariance.variances.iter().copied())
            .collect()
    }

    // ---- likelihood ----

    /// The log-likelihood (the REML log-likelihood for REML fits, as lme4 and statsmodels).
    pub fn llf(&self) -> f64 {
        self.fit.log_likelihood
    }
    /// AIC (from the REML log-likelihood for REML fits, as lme4).
    pub fn aic(&self) -> f64 {
        self.fit.aic
    }
    /// BIC (from the REML log-likelihood for REML fits, as lme4).
    pub fn bic(&self) -> f64 {
        self.fit.bic
    }
    /// The optimized criterion: REML criterion or ML deviance (−2 log-likelihood).
    pub fn objective(&self) -> f64 {
        self.fit.objective
    }
    /// lme4's `REMLcrit`: the REML criterion, for REML fits.
    pub fn reml_criterion(&self) -> Option<f64> {
        self.reml().then_some(self.fit.objective)
    }
    /// The deviance −2 log-likelihood, for ML fits (refit with `reml(false)` otherwise).
    pub fn deviance(&self) -> Option<f64> {
        (!self.reml()).then_some(self.fit.objective)
    }
    /// Number of parameters (fixed effects, θ, σ).
    pub fn npar(&self) -> usize {
        self.fit.npar
    }

    // ---- random effects, fitted values ----

    fn effects(&self, f: impl Fn(&TermFit) -> &PerLevel) -> Vec<GroupEffects> {
        effects_of(&self.fit.random, f)
    }
    /// The conditional modes (BLUPs) per term, lme4's order.
    pub fn random_effects(&self) -> Vec<GroupEffects> {
        self.effects(|t| &t.condval)
    }
    /// Same as [`random_effects`](Self::random_effects) (lme4's `ranef`).
    pub fn ranef(&self) -> Vec<GroupEffects> {
        self.random_effects()
    }
    /// The conditional variances of the random effects (diagonals of statsmodels'
    /// `random_effects_cov`), per term: levels × effects.
    pub fn random_effects_cov(&self) -> Vec<GroupEffects> {
        let mut e = self.effects(|t| &t.condsd);
        for g in &mut e {
            g.values = Mat::from_fn(g.values.nrows(), g.values.ncols(), |i, j| {
                g.values[(i, j)].powi(2)
            });
        }
        e
    }
    /// Fitted values X β̂ + Z b̂ (conditional), one per used row.
    pub fn fittedvalues(&self) -> &[f64] {
        &self.fit.fitted
    }
    /// Residuals y − fitted.
    pub fn resid(&self) -> &[f64] {
        &self.fit.residuals
    }

    // ---- bookkeeping ----

    /// Warnings about the model and its data that are not errors ([`ModelSpec::warnings`],
    /// [`ModelSpec::data_warnings`]), one sentence each: the command line prints them,
    /// Python raises them as `UserWarning`.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = self.spec.warnings();
        w.extend(self.data_warnings.iter().cloned());
        w
    }
    /// Whether the fit converged: the optimizer stopped by its convergence test **and** the
    /// post-fit check passed (the criterion's scaled gradient at θ̂ within lme4's 0.002, its
    /// Hessian that of a minimum). [`convergence_failure`](Self::convergence_failure) says
    /// why not.
    pub fn converged(&self) -> bool {
        self.convergence.failure.is_none()
    }
    /// Why the fit did not converge (`None` when it did): the optimizer's termination, or
    /// what the post-fit check found.
    pub fn convergence_failure(&self) -> Option<&str> {
        self.convergence.failure.as_deref()
    }
    /// The post-fit convergence check (gradient, scaled gradient, Hessian eigenvalues, the
    /// parameters on their boundary), when it could run.
    pub fn convergence_check(&self) -> Option<&mixedlm_diagnostics::ConvergenceCheck> {
        self.convergence.check.as_ref()
    }
    /// Whether the fit is singular (lme4's `isSingular`).
    pub fn singular(&self) -> bool {
        self.fit.singular
    }
    /// Observations used.
    pub fn nobs(&self) -> usize {
        self.fit.n_obs
    }
    /// Input rows dropped for missing values.
    pub fn n_dropped(&self) -> usize {
        self.design().n_dropped
    }
    /// Levels per grouping factor (each factor once, lme4's order).
    pub fn n_groups(&self) -> Vec<(String, usize)> {
        self.fit
            .n_groups
            .iter()
            .map(|g| (g.group.clone(), g.levels))
            .collect()
    }
    /// Observations per level of the main grouping factor.
    pub fn group_sizes(&self) -> Vec<usize> {
        if let Some(sizes) = &self.groups_sizes {
            return sizes.clone();
        }
        let Some(t) = self.main_term() else {
            return Vec::new();
        };
        self.model
            .level_counts()
            .get(t.formula_index)
            .cloned()
            .unwrap_or_default()
    }
    /// The optimizer's record.
    pub fn optim(&self) -> &OptimRecord {
        &self.fit.optim
    }
    /// The fixed-effects columns dropped as linear combinations of earlier ones (lme4's
    /// rank-deficiency drop), by name; they have no coefficient.
    pub fn aliased(&self) -> &[String] {
        &self.design_spec.aliased
    }
    /// lme4's note on dropped aliased columns, if any.
    pub fn rank_message(&self) -> Option<String> {
        let a = self.aliased();
        let s = if a.len() == 1 { "" } else { "s" };
        (!a.is_empty()).then(|| {
            format!(
                "fixed-effect model matrix is rank deficient so dropping {} column{s} / coefficient{s}: {}",
                a.len(),
                a.join(", ")
            )
        })
    }
    /// The printed summary (`Display`).
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            results: self,
            tests: None,
            notes: Vec::new(),
        }
    }
    /// The printed summary with the fixed-effects tests of `ddf` (t, df and P>|t| for
    /// Satterthwaite or Kenward-Roger; see [`MixedLMResults::fixed_effect_tests`]).
    pub fn summary_with(&self, ddf: mixedlm_inference::Ddf) -> Result<Summary<'_>, crate::Error> {
        Ok(self.summary().with_tests(self.fixed_effect_tests(ddf)?))
    }

    // ---- Arrow ----

    /// β̂ as an Arrow array.
    pub fn fe_params_arrow(&self) -> Float64Array {
        Float64Array::from(self.fit.fixef.clone())
    }
    /// Fitted values as an Arrow array.
    pub fn fittedvalues_arrow(&self) -> Float64Array {
        Float64Array::from(self.fit.fitted.clone())
    }
    /// Residuals as an Arrow array.
    pub fn resid_arrow(&self) -> Float64Array {
        Float64Array::from(self.fit.residuals.clone())
    }
    /// The coefficient table: `term`, `estimate`, `std_error`, `z`, `p_value`, `ci_lower`,
    /// `ci_upper` (95 %).
    pub fn fe_table(&self) -> RecordBatch {
        let ci = self.conf_int(0.05);
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "term",
                Arc::new(StringArray::from(self.fit.fixef_names.clone())),
            ),
            ("estimate", Arc::new(self.fe_params_arrow())),
            (
                "std_error",
                Arc::new(Float64Array::from(self.fit.se.clone())),
            ),
            ("z", Arc::new(Float64Array::from(self.tvalues()))),
            ("p_value", Arc::new(Float64Array::from(self.pvalues()))),
            (
                "ci_lower",
                Arc::new(Float64Array::from_iter_values(ci.iter().map(|c| c.0))),
            ),
            (
                "ci_upper",
                Arc::new(Float64Array::from_iter_values(ci.iter().map(|c| c.1))),
            ),
        ];
        table(cols)
    }
    /// The random effects as a long table: `group`, `term`, `level`, `condval`, `condsd`.
    pub fn ranef_table(&self) -> RecordBatch {
        let (mut g, mut t, mut l, mut v, mut s) = (vec![], vec![], vec![], vec![], vec![]);
        for term in &self.fit.random {
            for (j, name) in term.names.iter().enumerate() {
                for (i, level) in term.levels.iter().enumerate() {
                    g.push(term.group.clone());
                    t.push(name.clone());
                    l.push(level.clone());
                    v.push(
                        term.condval
                            .get(i)
                            .and_then(|r| r.get(j))
                            .copied()
                            .unwrap_or(f64::NAN),
                    );
                    s.push(term.condsd.get(i).and_then(|r| r.get(j)).copied());
                }
            }
        }
        table(vec![
            ("group", Arc::new(StringArray::from(g))),
            ("term", Arc::new(StringArray::from(t))),
            ("level", Arc::new(StringArray::from(l))),
            ("condval", Arc::new(Float64Array::from(v))),
            ("condsd", Arc::new(Float64Array::from(s))),
        ])
    }
}

fn std_normal() -> Normal {
    Normal::standard()
}

fn table(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), *a.data_type() != DataType::Utf8))
        .collect();
    let arrays = cols.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .unwrap_or_else(|_| RecordBatch::new_empty(Arc::new(Schema::empty())))
}

/// lme4's `VarCorr` of fitted terms, with the residual variance given (1 for the
/// binomial and Poisson families).
pub(crate) fn varcorr_of(random: &[TermFit], residual_variance: f64) -> VarCorr {
    let mut variances = Vec::new();
    let mut correlations = Vec::new();
    for t in random {
        let c = &t.covariance;
        for (i, name) in t.names.iter().enumerate() {
            variances.push(VarianceEntry {
                group: t.group.clone(),
                term: name.clone(),
                variance: c.variances[i],
                std_dev: c.std_devs[i],
            });
        }
        if t.structure == "unstructured" {
            for j in 0..t.names.len() {
                for i in j + 1..t.names.len() {
                    correlations.push(CorrelationEntry {
                        group: t.group.clone(),
                        term1: t.names[j].clone(),
                        term2: t.names[i].clone(),
                        correlation: c.correlation[i][j],
                    });
                }
            }
        }
    }
    VarCorr {
        variances,
        correlations,
        residual_variance,
        residual_std_dev: residual_variance.sqrt(),
    }
}

/// One value per level and effect of each fitted term (`f` picks condval or condsd).
pub(crate) fn effects_of(
    random: &[TermFit],
    f: impl Fn(&TermFit) -> &PerLevel,
) -> Vec<GroupEffects> {
    random
        .iter()
        .map(|t| {
            let v = f(t);
            let k = t.names.len();
            let values = Mat::from_fn(v.len(), k, |i, j| v[i].get(j).copied().unwrap_or(f64::NAN));
            GroupEffects {
                group: t.group.clone(),
                names: t.names.clone(),
                levels: t.levels.clone(),
                values,
            }
        })
        .collect()
}
