//! [`DesignBuilder`]: from a formula and a `RecordBatch` to a [`Design`] and its [`DesignSpec`].

use arrow_array::RecordBatch;
use mixedlm_formula::{ModelFormula, TermList, Variable};
use serde::Serialize;

use crate::alias::{aliased_columns, drop_columns_owned, RANK_TOL};
use crate::data::raw;
use crate::design::{CovarianceKind, Design, RandomTermDesign};
use crate::error::DesignError;
use crate::eval::{columns_of, Evaluator, Params};
use crate::grouping::group_factor;
use crate::label::label;
use crate::matrix::model_matrix;
use crate::rows::{used_rows, MissingPolicy};
use crate::spec::{offset_values, push_unique, DesignSpec, RandomSpec};

/// What to do with fixed-effects columns that are linear combinations of earlier ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
pub enum AliasPolicy {
    /// Drop them (keeping the earliest columns) and list them in `Design::aliased` (lme4).
    #[default]
    Drop,
    /// Refuse: [`DesignError::RankDeficient`].
    Error,
}

/// One random-effects term to build: the model inside the bar, the grouping, the covariance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RandomPlan {
    /// The model inside the bar.
    pub model: TermList,
    /// The grouping columns (`["batch", "cask"]` for `batch:cask`).
    pub grouping: Vec<String>,
    /// The covariance structure.
    pub covariance: CovarianceKind,
}

/// Builds a [`Design`] the way lme4's `lFormula` builds X, y and the random-effects terms.
///
/// ```ignore
/// let (design, spec) = DesignBuilder::new(&formula)
///     .missing(MissingPolicy::Drop)
///     .aliased(AliasPolicy::Drop)
///     .weights("w")
///     .build(&batch)?;
/// ```
#[derive(Clone, Debug)]
pub struct DesignBuilder {
    pub(crate) response: Option<Variable>,
    pub(crate) fixed: TermList,
    pub(crate) offsets: Vec<Variable>,
    pub(crate) random: Vec<RandomPlan>,
    missing: MissingPolicy,
    aliased: AliasPolicy,
    weights: Option<String>,
    offset: Option<String>,
    require_random: bool,
    rank_tol: f64,
    observation_level: bool,
}

impl DesignBuilder {
    /// A builder for an lme4 formula: `|` terms are unstructured, `||` terms diagonal.
    pub fn new(formula: &ModelFormula) -> Self {
        let random = formula
            .random
            .iter()
            .map(|r| RandomPlan {
                model: r.model.clone(),
                grouping: r.grouping.clone(),
                covariance: if r.correlated {
                    CovarianceKind::Unstructured
                } else {
                    CovarianceKind::Diagonal
                },
            })
            .collect();
        Self {
            response: formula.response.clone(),
            fixed: formula.fixed.clone(),
            offsets: formula.offsets.clone(),
            random,
            missing: MissingPolicy::Drop,
            aliased: AliasPolicy::Drop,
            weights: None,
            offset: None,
            require_random: true,
            rank_tol: RANK_TOL,
            observation_level: false,
        }
    }

    /// The missing-data policy (default: drop rows, as lme4's `na.omit`).
    pub fn missing(mut self, policy: MissingPolicy) -> Self {
        self.missing = policy;
        self
    }

    /// The rank-deficiency policy (default: drop aliased columns, as lme4).
    pub fn aliased(mut self, policy: AliasPolicy) -> Self {
        self.aliased = policy;
        self
    }

    /// Prior weights from a numeric column.
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// An offset from a numeric column (added to any `offset()` terms of the formula).
    pub fn offset(mut self, column: &str) -> Self {
        self.offset = Some(column.to_string());
        self
    }

    /// Whether a formula without random-effects terms is an error (default `true`).
    pub fn require_random(mut self, yes: bool) -> Self {
        self.require_random = yes;
        self
    }

    /// Whether a grouping factor may have one level per observation (default `false`).
    /// lme4's `glmer` allows it (an observation-level random effect models
    /// overdispersion); in a linear model it is confounded with the residual.
    pub fn observation_level(mut self, yes: bool) -> Self {
        self.observation_level = yes;
        self
    }

    /// The relative tolerance of rank detection (default 1e-7, as lme4).
    pub fn rank_tolerance(mut self, tol: f64) -> Self {
        self.rank_tol = tol;
        self
    }

    /// The random-effects terms that will be built.
    pub fn random_terms(&self) -> &[RandomPlan] {
        &self.random
    }

    /// The rank-deficiency policy.
    pub fn alias_policy(&self) -> AliasPolicy {
        self.aliased
    }

    /// The missing-data policy.
    pub fn missing_policy(&self) -> MissingPolicy {
        self.missing
    }

    /// The weights column, if any.
    pub(crate) fn weights_column(&self) -> Option<&str> {
        self.weights.as_deref()
    }

    /// The offset column, if any.
    pub(crate) fn offset_column(&self) -> Option<&str> {
        self.offset.as_deref()
    }

    /// Every data column the model reads.
    pub(crate) fn used_columns(&self) -> Vec<String> {
        let mut cols = Vec::new();
        if let Some(r) = &self.response {
            columns_of(r, &mut cols);
        }
        self.fixed
            .terms
            .iter()
            .flat_map(|t| &t.variables)
            .for_each(|v| columns_of(v, &mut cols));
        for r in &self.random {
            r.model
                .terms
                .iter()
                .flat_map(|t| &t.variables)
                .for_each(|v| columns_of(v, &mut cols));
            r.grouping.iter().for_each(|g| push_unique(&mut cols, g));
        }
        self.offsets.iter().for_each(|v| columns_of(v, &mut cols));
        for c in self.weights.iter().chain(&self.offset) {
            push_unique(&mut cols, c);
        }
        cols
    }

    /// Build the design and the learned encoding from `batch`.
    pub fn build(&self, batch: &RecordBatch) -> Result<(Design, DesignSpec), DesignError> {
        let response = self.response.as_ref().ok_or(DesignError::NoResponse)?;
        if self.require_random && self.random.is_empty() {
            return Err(DesignError::NoRandomEffects);
        }
        check_response_type(batch, response)?;
        let used = used_rows(batch, &self.used_columns(), self.missing)?;
        if used.rows.is_empty() {
            return Err(DesignError::NoRows {
                dropped: used.dropped,
                total: batch.num_rows(),
            });
        }
        let mut params = Params::new();
        let mut ev = Evaluator {
            batch,
            rows: &used.rows,
            params: &mut params,
            learn: true,
        };
        let (y, trials) = response_values(&mut ev, response)?;
        let (x_full, x_columns_full) = model_matrix(&mut ev, &self.fixed)?;
        let aliased_index = aliased_columns(&x_full, self.rank_tol);
        let aliased: Vec<String> = aliased_index
            .iter()
            .map(|&j| x_columns_full[j].clone())
            .collect();
        if !aliased.is_empty() && self.aliased == AliasPolicy::Error {
            return Err(DesignError::RankDeficient { columns: aliased });
        }
        let x_names: Vec<String> = (0..x_full.ncols)
            .filter(|j| !aliased_index.contains(j))
            .map(|j| x_columns_full[j].clone())
            .collect();
        let x = drop_columns_owned(x_full, &aliased_index);
        let weights = match (trials, self.weight_values(&mut ev)?) {
            (Some(_), Some(_)) => {
                return Err(DesignError::BadCounts {
                    response: label(response),
                    message: "prior weights with a cbind() response are not supported: give \
                              the counts in cbind(successes, failures), or a proportion with \
                              the numbers of trials as weights"
                        .into(),
                })
            }
            (Some(t), None) => Some(t),
            (None, w) => w,
        };
        let offset = offset_values(&mut ev, self.offset.as_deref(), &self.offsets)?;
        let (random, random_specs) = self.random_terms_on(&mut ev)?;
        let design = Design {
            response: label(response),
            y,
            x,
            x_names: x_names.clone(),
            aliased: aliased.clone(),
            random,
            weights,
            offset,
            n_dropped: used.dropped,
            row_index: used.rows,
        };
        let spec = DesignSpec {
            response: Some(label(response)),
            response_variable: Some(response.clone()),
            fixed: self.fixed.clone(),
            x_columns_full,
            aliased_index,
            aliased,
            x_columns: x_names,
            random: random_specs,
            params,
            weights: self.weights.clone(),
            offset: self.offset.clone(),
            offsets: self.offsets.clone(),
            missing: self.missing,
        };
        Ok((design, spec))
    }

    pub(crate) fn weight_values(
        &self,
        ev: &mut Evaluator<'_>,
    ) -> Result<Option<Vec<f64>>, DesignError> {
        let Some(w) = &self.weights else {
            return Ok(None);
        };
        let values = ev.numeric(&Variable::Column(w.clone()), "weights")?;
        if let Some(i) = values.iter().position(|v| *v < 0.0) {
            return Err(DesignError::NegativeWeight {
                column: w.clone(),
                row: ev.rows[i],
            });
        }
        Ok(Some(values))
    }

    fn random_terms_on(
        &self,
        ev: &mut Evaluator<'_>,
    ) -> Result<(Vec<RandomTermDesign>, Vec<RandomSpec>), DesignError> {
        let n = ev.rows.len();
        let mut terms = Vec::with_capacity(self.random.len());
        let mut specs = Vec::with_capacity(self.random.len());
        for plan in &self.random {
            let group = plan.grouping.join(":");
            let (levels, codes) = group_factor(ev.batch, ev.rows, &plan.grouping)?;
            let levels: crate::Levels = levels.into();
            if levels.len() < 2 {
                return Err(DesignError::OneLevel { group });
            }
            if levels.len() >= n && plan.model.intercept && !self.observation_level {
                return Err(DesignError::LevelsEqualObs {
                    group,
                    levels: levels.len(),
                    n,
                });
            }
            let (z, names) = model_matrix(ev, &plan.model)?;
            specs.push(RandomSpec {
                group: group.clone(),
                grouping: plan.grouping.clone(),
                levels: levels.clone(),
                model: plan.model.clone(),
                names: names.clone(),
                covariance: plan.covariance,
            });
            terms.push(RandomTermDesign {
                group,
                levels,
                codes,
                names,
                z,
                covariance: plan.covariance,
            });
        }
        Ok((terms, specs))
    }
}

/// The response on the used rows; for `cbind(successes, failures)` the proportion of
/// successes and, as its prior weights, the numbers of trials (as R's `binomial()` family
/// stores them; a row with no trials has proportion 0 and weight 0).
fn response_values(
    ev: &mut Evaluator<'_>,
    response: &Variable,
) -> Result<(Vec<f64>, Option<Vec<f64>>), DesignError> {
    let Variable::Counts {
        successes,
        failures,
    } = response
    else {
        return Ok((ev.numeric(response, "the response")?, None));
    };
    let s = ev.numeric(successes, "the successes of cbind()")?;
    let f = ev.numeric(failures, "the failures of cbind()")?;
    let bad = |i: usize, what: &str, v: f64| DesignError::BadCounts {
        response: label(response),
        message: format!(
            "the {what} at row {} is {v}; counts must be finite and >= 0 (check that the \
             failures are trials minus successes)",
            ev.rows[i]
        ),
    };
    let mut trials = Vec::with_capacity(s.len());
    let mut y = Vec::with_capacity(s.len());
    for i in 0..s.len() {
        if !(s[i].is_finite() && s[i] >= 0.0) {
            return Err(bad(i, "number of successes", s[i]));
        }
        if !(f[i].is_finite() && f[i] >= 0.0) {
            return Err(bad(i, "number of failures", f[i]));
        }
        let n = s[i] + f[i];
        trials.push(n);
        y.push(if n > 0.0 { s[i] / n } else { 0.0 });
    }
    Ok((y, Some(trials)))
}

/// A text or boolean response column is refused with a message saying why.
pub(crate) fn check_response_type(
    batch: &RecordBatch,
    response: &Variable,
) -> Result<(), DesignError> {
    if let Variable::Counts {
        successes,
        failures,
    } = response
    {
        check_response_type(batch, successes)?;
        return check_response_type(batch, failures);
    }
    let kind = match response {
        Variable::Column(c) => {
            let r = raw(batch, c)?;
            (!r.is_numeric()).then(|| r.kind())
        }
        Variable::Categorical { .. } => Some("categorical"),
        _ => None,
    };
    match kind {
        Some(kind) => Err(DesignError::NonNumericResponse {
            name: label(response),
            kind: kind.to_string(),
        }),
        None => Ok(()),
    }
}
