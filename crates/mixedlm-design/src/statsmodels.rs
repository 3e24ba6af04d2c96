//! The statsmodels idiom (`groups=`, `re_formula=`, `vc_formula=`) as lme4 random-effects terms.
//!
//! - `re_formula` becomes `(re | groups)`, unstructured; a `re_formula` with neither
//!   intercept nor terms (`"0"`) adds no term. Without `re_formula` the term is a random
//!   intercept `(1 | groups)` when there are no variance components, and absent when there
//!   are (statsmodels' own default: `vc_formula` alone gives only the components).
//! - a variance component `0 + C(class)` becomes `(1 | groups:class)` (group name
//!   `groups:class`), one variance: the same model as lme4's nested term.
//! - any other variance component (numeric columns) becomes one term under `groups` whose
//!   columns share one variance ([`CovarianceKind::Scalar`]).
//!
//! So `vc_formula={"c": "0 + C(c)"}` alone is lme4's `(1 | g:c)`; add `re_formula="1"` for
//! lme4's nesting `(1 | g) + (1 | g:c)`.

use mixedlm_formula::{ModelFormula, Term, TermList, Variable};

use crate::builder::{DesignBuilder, RandomPlan};
use crate::design::CovarianceKind;

/// A builder for the statsmodels idiom; see the module docs for the mapping to lme4 terms.
///
/// `fixed` holds the response and the fixed effects (its random terms, if any, are kept too).
pub fn build_statsmodels(
    fixed: &ModelFormula,
    groups: &str,
    re_formula: Option<&ModelFormula>,
    vc: &[(String, ModelFormula)],
) -> DesignBuilder {
    DesignBuilder::statsmodels(fixed, groups, re_formula, vc)
}

impl DesignBuilder {
    /// The statsmodels idiom; same as [`build_statsmodels`].
    pub fn statsmodels(
        fixed: &ModelFormula,
        groups: &str,
        re_formula: Option<&ModelFormula>,
        vc: &[(String, ModelFormula)],
    ) -> Self {
        let mut b = DesignBuilder::new(fixed);
        // statsmodels: the default random intercept only when there are no components.
        let re = re_formula.map_or_else(
            || TermList {
                intercept: vc.is_empty(),
                terms: vec![],
            },
            |f| f.fixed.clone(),
        );
        if re.intercept || !re.terms.is_empty() {
            b.random.push(RandomPlan {
                model: re,
                grouping: vec![groups.to_string()],
                covariance: CovarianceKind::Unstructured,
            });
        }
        for (_, f) in vc {
            b.random.push(vc_plan(groups, &f.fixed));
        }
        b
    }
}

/// One variance component as a random-effects term.
fn vc_plan(groups: &str, tl: &TermList) -> RandomPlan {
    if let Some(class) = single_factor(tl) {
        return RandomPlan {
            model: TermList {
                intercept: true,
                terms: vec![],
            },
            grouping: vec![groups.to_string(), class],
            covariance: CovarianceKind::Scalar,
        };
    }
    RandomPlan {
        model: tl.clone(),
        grouping: vec![groups.to_string()],
        covariance: CovarianceKind::Scalar,
    }
}

/// `0 + C(class)` (or `0 + class`): the class column.
fn single_factor(tl: &TermList) -> Option<String> {
    match (tl.intercept, tl.terms.as_slice()) {
        (false, [Term { variables }]) => match variables.as_slice() {
            [Variable::Categorical { arg, .. }] => match arg.as_ref() {
                Variable::Column(c) => Some(c.clone()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}
