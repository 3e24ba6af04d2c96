//! [`MixedLM`]: the model builder of both idioms, and [`lmer`].

use crate::{Error, MixedLMResults, ModelSpec};
use arrow_array::RecordBatch;
use mixedlm_design::{read_table, InputFormat};
use mixedlm_model::{FitOptions, OptimizerName};
use std::path::{Path, PathBuf};

/// Where the data come from when [`MixedLM::fit`] is called.
#[derive(Clone, Debug)]
enum Data {
    Batch(RecordBatch),
    Path(PathBuf, Option<InputFormat>),
}

/// A linear mixed model to fit, in statsmodels' idiom
/// (`MixedLM::from_formula("y ~ x").groups("g").re_formula("~x")`, or a whole lme4
/// formula `MixedLM::from_formula("y ~ x + (x | g)")`); lme4's idiom is [`lmer`]. All
/// build the same model.
///
/// Options are checked by [`MixedLM::validate`] and again by every `fit`.
#[derive(Clone, Debug)]
pub struct MixedLM {
    spec: ModelSpec,
    reml: bool,
    method: String,
    max_evaluations: Option<usize>,
    start_theta: Option<Vec<f64>>,
    data: Option<Data>,
}

impl MixedLM {
    /// A model from a formula (statsmodels' `MixedLM.from_formula`): a fixed-effects
    /// formula (then call [`groups`](Self::groups)) or a whole lme4 formula with
    /// `(... | g)` terms, e.g. `"Reaction ~ Days + (Days | Subject)"`.
    pub fn from_formula(formula: &str) -> Self {
        Self::from_spec(ModelSpec::new(formula))
    }

    /// A model from a [`ModelSpec`].
    pub fn from_spec(spec: ModelSpec) -> Self {
        Self {
            spec,
            reml: true,
            method: OptimizerName::default().as_str().to_string(),
            max_evaluations: None,
            start_theta: None,
            data: None,
        }
    }

    /// statsmodels' `groups`: the grouping column.
    pub fn groups(mut self, column: &str) -> Self {
        self.spec = self.spec.groups(column);
        self
    }

    /// statsmodels' `re_formula`, e.g. `"~Days"`.
    pub fn re_formula(mut self, formula: &str) -> Self {
        self.spec = self.spec.re_formula(formula);
        self
    }

    /// A statsmodels variance component, e.g. `vc("class", "0 + C(class_id)")`.
    pub fn vc(mut self, name: &str, formula: &str) -> Self {
        self.spec = self.spec.vc(name, formula);
        self
    }

    /// REML (default, `true`) or maximum likelihood (`false`).
    pub fn reml(mut self, yes: bool) -> Self {
        self.reml = yes;
        self
    }

    /// The optimizer by name (statsmodels' `method`): `auto` (default: BFGS on the analytic
    /// gradient for one-term, nested and small crossed models, else BOBYQA), `bobyqa`,
    /// `bfgs`, `nelder-mead` or `powell` (case and `-`/`_` do not matter).
    pub fn method(mut self, name: &str) -> Self {
        self.method = name.to_string();
        self
    }

    /// The optimizer's budget of objective evaluations (statsmodels' `maxiter`); a fit that
    /// runs out of it is reported as not converged.
    pub fn max_evaluations(mut self, n: usize) -> Self {
        self.max_evaluations = Some(n);
        self
    }

    /// Start the optimizer from θ (lme4's order, e.g. an earlier fit's
    /// [`theta`](MixedLMResults::theta)) instead of the default start.
    pub fn start_theta(mut self, theta: Vec<f64>) -> Self {
        self.start_theta = Some(theta);
        self
    }

    /// The data, already in memory.
    pub fn data(mut self, batch: RecordBatch) -> Self {
        self.data = Some(Data::Batch(batch));
        self
    }

    /// The data, from a file (`.csv`, `.parquet`, `.arrow`) read when fitting.
    pub fn data_path(mut self, path: impl AsRef<Path>) -> Self {
        self.data = Some(Data::Path(path.as_ref().to_path_buf(), None));
        self
    }

    /// The model specification.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Whether the criterion is REML.
    pub fn is_reml(&self) -> bool {
        self.reml
    }

    /// The optimizer, or an error listing the valid names.
    pub fn optimizer_name(&self) -> Result<OptimizerName, Error> {
        self.method
            .parse::<OptimizerName>()
            .map_err(|_| Error::UnknownOptimizer {
                name: self.method.clone(),
                valid: OptimizerName::ALL
                    .iter()
                    .map(|o| o.as_str().to_string())
                    .collect(),
            })
    }

    /// Check the formulas and options without data.
    pub fn validate(&self) -> Result<(), Error> {
        self.optimizer_name()?;
        self.spec.validate()
    }

    /// Fit to the data given by [`data`](Self::data) or [`data_path`](Self::data_path).
    pub fn fit(&self) -> Result<MixedLMResults, Error> {
        match &self.data {
            Some(Data::Batch(b)) => self.fit_batch(b),
            Some(Data::Path(p, f)) => {
                self.validate()?;
                self.fit_batch(&read_table(p, *f)?)
            }
            None => Err(Error::InvalidOption(
                "no data: call .data(batch) or .data_path(path), or use fit_batch / fit_path"
                    .into(),
            )),
        }
    }

    /// Read a file and fit.
    pub fn fit_path(&self, path: impl AsRef<Path>) -> Result<MixedLMResults, Error> {
        self.validate()?;
        self.fit_batch(&read_table(path.as_ref(), None)?)
    }

    /// Fit to a file read twice in batches of bounded size (for data larger than memory):
    /// the same estimates and objective as [`fit_path`](Self::fit_path), without fitted
    /// values and residuals. See [`crate::StreamOptions`] and the module notes of
    /// `stream.rs` for what a streamed fit gives and refuses (`scale()`, `poly()`).
    ///
    /// ```
    /// use mixedlm::{MixedLM, StreamOptions};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sleepstudy.csv");
    /// let model = MixedLM::from_formula("Reaction ~ Days + (Days | Subject)");
    /// let opts = StreamOptions { batch_rows: 25, ..Default::default() };
    /// let streamed = model.fit_streaming(path, &opts)?;
    /// let in_memory = model.fit_path(path)?;
    /// assert_eq!(streamed.streaming().unwrap().batches, 8);      // 180 rows, 25 per batch
    /// assert!((streamed.objective() - in_memory.objective()).abs() < 1e-8);
    /// assert!((streamed.fe_params()[1] - in_memory.fe_params()[1]).abs() < 1e-6);
    /// assert!(streamed.fittedvalues().is_empty());                // needs the rows
    /// # Ok::<(), mixedlm::Error>(())
    /// ```
    pub fn fit_streaming(
        &self,
        path: impl AsRef<Path>,
        opts: &crate::StreamOptions,
    ) -> Result<MixedLMResults, Error> {
        self.validate()?;
        crate::stream::fit(
            &self.spec,
            self.reml,
            self.fit_options()?,
            path.as_ref(),
            opts,
        )
    }

    /// Fit to a batch.
    pub fn fit_batch(&self, batch: &RecordBatch) -> Result<MixedLMResults, Error> {
        if crate::glmm_builder::is_counts_response(&self.spec) {
            return Err(Error::InvalidOption(
                "cbind(successes, failures) is a binomial response: fit it as a generalized \
                 linear mixed model (Glmm / glmer; on the command line --family binomial)"
                    .into(),
            ));
        }
        let opts = self.fit_options()?;
        let (design, dspec) = self.spec.build(batch)?;
        let sizes = crate::engine::statsmodels_group_sizes(&self.spec, batch, &design);
        let mut results = crate::engine::fit_design(&self.spec, design, dspec, self.reml, opts)?;
        results.groups_sizes = sizes;
        results.data_warnings = self.spec.data_warnings(batch);
        Ok(results)
    }

    /// The engine's options: the optimizer, its budget and its start.
    pub(crate) fn fit_options(&self) -> Result<FitOptions, Error> {
        let defaults = FitOptions::default();
        let optimizer = self.optimizer_name()?;
        Ok(FitOptions {
            optimizer,
            max_evaluations: self.max_evaluations.unwrap_or(defaults.max_evaluations),
            start: self.start_theta.clone(),
            // A derivative-free optimizer the user chose finishes with BFGS where the model
            // has an analytic gradient; `auto` is left as it is.
            polish: optimizer.is_derivative_free(),
            ..defaults
        })
    }
}

/// lme4's `lmer(formula, data)`: fit by REML with the default optimizer.
pub fn lmer(formula: &str, batch: &RecordBatch) -> Result<MixedLMResults, Error> {
    MixedLM::from_formula(formula).fit_batch(batch)
}
