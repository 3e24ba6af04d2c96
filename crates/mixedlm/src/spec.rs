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

    /// Whether the statsmodels idiom gives a `(re | groups)` term: `re_formula` with an
    /// intercept or terms, or no `re_formula` and no variance components (statsmodels'
    /// default random intercept).
    pub fn has_group_term(&self) -> bool {
        if self.groups.is_none() {
            return false;
        }
        match &self.re_formula {
            None => self.vc.is_empty(),
            Some(r) => parse_rhs(r).is_ok_and(|f| f.fixed.intercept || !f.fixed.terms.is_empty()),
        }
    }

    /// The variance component's name for the design's random term `design_index` (the
    /// formula's own terms, then the `groups` term, then the components), if it is one.
    pub(crate) fn vc_name(&self, design_index: usize) -> Option<String> {
        self.groups.as_ref()?;
        let own = self.parsed.as_ref().map_or(0, |f| f.random.len());
        let first = own + usize::from(self.has_group_term());
        let k = design_index.checked_sub(first)?;
        self.vc.get(k).map(|(name, _)| name.clone())
    }

    /// Things about the model worth knowing that are not errors, one sentence each (the
    /// command line prints them as `warning:`; Python raises them as `UserWarning`).
    ///
    /// Variance components without `re_formula` give statsmodels' model, which has no
    /// random intercept for the groups; the warning says how to add it.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(g), None, false) = (&self.groups, &self.re_formula, self.vc.is_empty()) {
            let names: Vec<&str> = self.vc.iter().map(|(n, _)| n.as_str()).collect();
            out.push(format!(
                "variance components ({}) without re_formula: as in statsmodels, the model has \
                 no random intercept for the groups `{g}`, only the components; to add it, pass \
                 re_formula=\"1\" (--re-formula 1), i.e. lme4's `{}`",
                names.join(", "),
                self.clone().re_formula("1").lme4_formula()
            ));
        }
        out
    }

    /// Warnings about how the data serve this model: a covariate that the CSV reader made
    /// text because its numbers are (partly) quoted enters the model as a factor; the
    /// warning names the column and says how to read it as numbers.
    pub fn data_warnings(&self, batch: &RecordBatch) -> Vec<String> {
        use mixedlm_design::QUOTED_NUMBERS_KEY;
        let Ok(builder) = self.builder() else {
            return Vec::new();
        };
        let terms_columns = |tl: &mixedlm_formula::TermList| {
            ModelFormula {
                response: None,
                fixed: tl.clone(),
                random: vec![],
                offsets: vec![],
            }
            .columns()
        };
        let mut covariates = Vec::new();
        if let Some(f) = &self.parsed {
            covariates.extend(terms_columns(&f.fixed));
        }
        for plan in builder.random_terms() {
            covariates.extend(terms_columns(&plan.model));
        }
        let schema = batch.schema();
        let mut out = Vec::new();
        for c in covariates {
            let Ok(field) = schema.field_with_name(&c) else {
                continue;
            };
            let text = match field.metadata().get(QUOTED_NUMBERS_KEY).map(String::as_str) {
                Some("some") => format!(
                    "column `{c}` holds numbers, some of them in quotes, so the whole column \
                     was read as text and enters the model as a factor; remove the quotes in \
                     the file to use it as a number"
                ),
                Some(_) => format!(
                    "column `{c}` holds numbers in quotes (R's write.csv quotes factors), so it \
                     enters the model as a factor; write it without quotes to use it as a number"
                ),
                None => continue,
            };
            if !out.contains(&text) {
                out.push(text);
            }
        }
        out
    }

    /// A random term of the formula on the `groups` factor itself: the statsmodels idiom
    /// would add a second term on that factor (the intercept fitted twice).
    fn check_groups_not_in_formula(&self, fixed: &ModelFormula, groups: &str) -> Result<(), Error> {
        let Some(term) = fixed
            .random
            .iter()
            .find(|r| r.grouping.len() == 1 && r.grouping[0] == groups)
        else {
            return Ok(());
        };
        Err(Error::InvalidOption(format!(
            "the formula's random term `{}` and groups `{groups}` (--groups {groups}) both put \
             random effects on `{groups}`; give the model once: either the lme4 formula alone \
             (drop groups), or the fixed effects in the formula with groups and re_formula",
            term
        )))
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
        self.check_groups_not_in_formula(&fixed, groups)?;
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
