//! [`Glmm`]: generalized linear mixed models (binomial, Poisson) in both idioms, and
//! [`glmer`], lme4's call.
//!
//! ```
//! use mixedlm::{glmer, read_table};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/glmm/cbpp.csv");
//! let data = read_table(path.as_ref(), None)?;
//! let fit = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", &data, "binomial")?;
//! assert_eq!(fit.fe_names()[1], "period2");
//! assert!((fit.fixef()[1] - (-0.99233)).abs() < 1e-4);   // lme4 (converged PIRLS): -0.992333
//! assert!((fit.objective() - 184.05256).abs() < 1e-4);   // -2 log-likelihood
//! # Ok::<(), mixedlm::Error>(())
//! ```
//!
//! The statsmodels idiom builds the same model from a fixed-effects formula and `groups`:
//!
//! ```
//! use mixedlm::{Glmm, read_table};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/glmm/cbpp.csv");
//! let data = read_table(path.as_ref(), None)?;
//! let a = Glmm::new("cbind(incidence, size - incidence) ~ period", "binomial")
//!     .groups("herd")
//!     .fit_batch(&data)?;
//! let b = Glmm::from_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)")
//!     .family("binomial")
//!     .nagq(1)
//!     .fit_batch(&data)?;
//! assert!((a.objective() - b.objective()).abs() < 1e-9);
//! # Ok::<(), mixedlm::Error>(())
//! ```

use crate::glmm_results::GlmmResults;
use crate::{Error, ModelSpec};
use arrow_array::RecordBatch;
use mixedlm_design::read_table;
use mixedlm_formula::Variable;
use mixedlm_glmm::{
    family_by_name, link_by_name, GlmmModel, GlmmOptions, SystemChoice, FAMILY_NAMES, LINK_NAMES,
    MAX_NAGQ,
};
use std::path::Path;

/// A generalized linear mixed model to fit: a formula, a family, and optionally a link,
/// the number of quadrature points, prior weights and an offset column.
#[derive(Clone, Debug)]
pub struct Glmm {
    spec: ModelSpec,
    family: String,
    link: Option<String>,
    nagq: usize,
    weights: Option<String>,
    offset: Option<String>,
    data: Option<RecordBatch>,
}

impl Glmm {
    /// A model from a formula and a family name (`binomial`, `poisson`): a whole lme4
    /// formula, or a fixed-effects formula for the statsmodels idiom (then call
    /// [`groups`](Self::groups)).
    pub fn new(formula: &str, family: &str) -> Self {
        Self {
            spec: ModelSpec::new(formula),
            family: family.to_string(),
            link: None,
            nagq: 1,
            weights: None,
            offset: None,
            data: None,
        }
    }

    /// A model from an lme4 formula; the family defaults to binomial (set it with
    /// [`family`](Self::family)).
    pub fn from_formula(formula: &str) -> Self {
        Self::new(formula, "binomial")
    }

    /// A model from a [`ModelSpec`] and a family name.
    pub fn from_spec(spec: ModelSpec, family: &str) -> Self {
        Self {
            spec,
            ..Self::new("", family)
        }
    }

    /// The response family: `binomial` or `poisson`.
    pub fn family(mut self, name: &str) -> Self {
        self.family = name.to_string();
        self
    }

    /// The link (`logit`, `probit`, `cloglog` for binomial; `log` for Poisson); the
    /// family's canonical link when not set.
    pub fn link(mut self, name: &str) -> Self {
        self.link = Some(name.to_string());
        self
    }

    /// Quadrature points: 0 (fast: β from PIRLS), 1 (Laplace, the default), 2..=25
    /// (adaptive Gauss-Hermite; one scalar random-effects term only).
    pub fn nagq(mut self, n: usize) -> Self {
        self.nagq = n;
        self
    }

    /// Prior weights from a column (for a binomial proportion: the numbers of trials).
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// An offset column (added to any `offset()` terms of the formula).
    pub fn offset(mut self, column: &str) -> Self {
        self.offset = Some(column.to_string());
        self
    }

    /// statsmodels' `groups`: the grouping column.
    pub fn groups(mut self, column: &str) -> Self {
        self.spec = self.spec.groups(column);
        self
    }

    /// statsmodels' `re_formula`, e.g. `"~x"`.
    pub fn re_formula(mut self, formula: &str) -> Self {
        self.spec = self.spec.re_formula(formula);
        self
    }

    /// A statsmodels variance component, e.g. `vc("class", "0 + C(class_id)")`.
    pub fn vc(mut self, name: &str, formula: &str) -> Self {
        self.spec = self.spec.vc(name, formula);
        self
    }

    /// The data, already in memory.
    pub fn data(mut self, batch: RecordBatch) -> Self {
        self.data = Some(batch);
        self
    }

    /// The model specification.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Check the formula, family, link and nAGQ without data.
    pub fn validate(&self) -> Result<(), Error> {
        self.spec.validate()?;
        self.options().map(|_| ())
    }

    /// The family, link and fit options, checked.
    fn options(&self) -> Result<(Family, GlmmOptions), Error> {
        let family = family_by_name(&self.family).ok_or_else(|| {
            Error::InvalidOption(format!(
                "unknown family `{}`; use one of: {}",
                self.family,
                FAMILY_NAMES.join(", ")
            ))
        })?;
        let link = match &self.link {
            Some(name) => link_by_name(name).ok_or_else(|| {
                Error::InvalidOption(format!(
                    "unknown link `{name}`; use one of: {}",
                    LINK_NAMES.join(", ")
                ))
            })?,
            None => family.default_link(),
        };
        if !family.accepts_link(link.as_ref()) {
            return Err(Error::InvalidOption(format!(
                "the {} family does not take the {} link; binomial takes logit, probit or \
                 cloglog, poisson takes log",
                family.name(),
                link.name()
            )));
        }
        if self.nagq > MAX_NAGQ {
            return Err(Error::InvalidOption(format!(
                "nAGQ = {} is not supported: use 0, 1 (Laplace, the default) or 2..={MAX_NAGQ}",
                self.nagq
            )));
        }
        let opts = GlmmOptions {
            nagq: self.nagq,
            ..GlmmOptions::default()
        };
        Ok(((family, link), opts))
    }

    /// Fit to the data given by [`data`](Self::data).
    pub fn fit(&self) -> Result<GlmmResults, Error> {
        match &self.data {
            Some(b) => self.fit_batch(b),
            None => Err(Error::InvalidOption(
                "no data: call .data(batch), or use fit_batch / fit_path".into(),
            )),
        }
    }

    /// Read a file (CSV, Parquet, Arrow IPC) and fit.
    pub fn fit_path(&self, path: impl AsRef<Path>) -> Result<GlmmResults, Error> {
        self.validate()?;
        self.fit_batch(&read_table(path.as_ref(), None)?)
    }

    /// Fit to a batch.
    pub fn fit_batch(&self, batch: &RecordBatch) -> Result<GlmmResults, Error> {
        let ((family, link), opts) = self.options()?;
        let mut builder = self.spec.builder()?.observation_level(true);
        if let Some(w) = &self.weights {
            builder = builder.weights(w);
        }
        if let Some(o) = &self.offset {
            builder = builder.offset(o);
        }
        let (design, design_spec) = builder.build(batch)?;
        let mut model = GlmmModel::new(design, family, link, SystemChoice::Auto)?;
        let fit = model.fit(&opts)?;
        Ok(GlmmResults::new(
            model,
            fit,
            design_spec,
            self.spec.clone(),
            opts,
        ))
    }
}

type Family = (Box<dyn mixedlm_glmm::Family>, Box<dyn mixedlm_glmm::Link>);

/// lme4's `glmer(formula, data, family)`: the Laplace approximation with the family's
/// canonical link.
pub fn glmer(formula: &str, batch: &RecordBatch, family: &str) -> Result<GlmmResults, Error> {
    Glmm::new(formula, family).fit_batch(batch)
}

/// Whether a parsed formula's response is `cbind(successes, failures)`: a binomial
/// response that a linear mixed model refuses.
pub(crate) fn is_counts_response(spec: &ModelSpec) -> bool {
    mixedlm_formula::parse_formula(spec.formula())
        .ok()
        .and_then(|f| f.response)
        .is_some_and(|r| matches!(r, Variable::Counts { .. }))
}
