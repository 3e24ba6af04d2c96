//! [`ModelSpec`]: what model to fit, in either idiom, and how to build its design.

use crate::Error;
use arrow_array::RecordBatch;
use mixedlm_design::{CovarianceKind, Design, DesignBuilder, DesignSpec};
use mixedlm_formula::{parse_formula, parse_rhs, ModelFormula};

/// A model as the user wrote it: one lme4 formula (`Reaction ~ Days + (Days | Subject)`),
/// or statsmodels' pieces (a fixed-effects formula, `groups`, `re_formula`, variance
/// components). Both become the same random-effects terms in the design layer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ModelSpec {
    formula: String,
    groups: Option<String>,
    re_formula: Option<String>,
    vc: Vec<(String, String)>,
    /// `formula` parsed once (`None` when it does not parse: [`Self::builder`] parses it
    /// again and returns the error), so repeated fits skip the parser.
    parsed: Option<ModelFormula>,
}

impl ModelSpec {
    /// A model from a formula (lme4 syntax; random-effects terms optional when `groups` is set).
    pub fn new(formula: &str) -> Self {
        Self {
            formula: formula.to_string(),
            parsed: parse_formula(formula).ok(),
            ..Self::default()
        }
    }

    /// statsmodels' `groups`: the grouping column of the random effects.
    pub fn groups(mut self, column: &str) -> Self {
        self.groups = Some(column.to_string());
        self
    }

    /// statsmodels' `re_formula` (`"~Days"`, `"1 + Days"`, `"0"`); needs `groups`.
    pub fn re_formula(mut self, formula: &str) -> Self {
        self.re_formula = Some(formula.to_string());
        self
    }

    /// A statsmodels variance component (`vc_formula` entry): `("class", "0 + C(class_id)")`.
    pub fn vc(mut self, name: &str, formula: &str) -> Self {
        self.vc.push((name.to_string(), formula.to_string()));
        self
    }

    /// The formula as given.
    pub fn formula(&self) -> &str {
        &self.formula
    }

    /// The grouping column of the statsmodels idiom, if set.
    pub fn groups_column(&self) -> Option<&str> {
        self.groups.as_deref()
    }

    /// The model written as one lme4 formula: the formula itself in the lme4 idiom; in the
    /// statsmodels idiom, the fixed-effects formula plus one `(... | g)` term per random
    /// term (`||` marks a term whose effects share one variance, which lme4 cannot write).
    pub fn lme4_formula(&self) -> String {
        if self.groups.is_none() {
            return self.formula.clone();
        }
        let Ok(builder) = self.builder() else {
            return self.formula.clone();
        };
        let mut out = self.formula.trim().to_string();
        let own = self.parsed.as_ref().map_or(0, |f| f.random.len());
        for plan in builder.random_terms().iter().skip(own) {
            let mut parts = vec![if plan.model.intercept {
                "1".to_string()
            } else {
                "0".to_string()
            }];
            parts.extend(plan.model.labels());
            let k = usize::from(plan.model.intercept) + plan.model.terms.len();
            let bar = match plan.covariance {
                CovarianceKind::Unstructured => "|",
                CovarianceKind::Scalar if k == 1 => "|",
                _ => "||",
            };
            out.push_str(&format!(
                " + ({} {bar} {})",
                parts.join(" + "),
                plan.grouping.join(":")
            ));
        }
        out
    }

    /// Parse every formula and check the options fit together, without any data.
    pub fn validate(&self) -> Result<(), Error> {
        self.builder().map(|_| ())
    }

    /// The design builder for this model (lme4 or statsmodels route).
    pub fn builder(&self) -> Result<DesignBuilder, Error> {
        let fixed = match &self.parsed {
            Some(f) => f.clone(),
            None => parse_formula(&self.formula)?,
        };
        let Some(groups) = &self.groups else {
            if self.re_formula.is_some() || !self.vc.is_empty() {
                return Err(Error::InvalidOption(
                    "re_formula and variance components need a grouping column (groups / --groups)"
                        .into(),
                ));
            }
            return Ok(DesignBuilder::new(&fixed));
        };
        let re: Option<ModelFormula> = self.re_formula.as_deref().map(parse_rhs).transpose()?;
        let vc = self
            .vc
            .iter()
            .map(|(name, f)| parse_rhs(f).map(|m| (name.clone(), m)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DesignBuilder::statsmodels(&fixed, groups, re.as_ref(), &vc))
    }

    /// Build the design from data.
    pub fn design(&self, batch: &RecordBatch) -> Result<Design, Error> {
        Ok(self.build(batch)?.0)
    }

    /// Build the design and the learned encoding (for new data) from data.
    pub fn build(&self, batch: &RecordBatch) -> Result<(Design, DesignSpec), Error> {
        Ok(self.builder()?.build(batch)?)
    }
}
