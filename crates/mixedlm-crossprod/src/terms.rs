//! The random-effects terms as the engine orders and parameterizes them.
//!
//! Terms are reordered as lme4 does (`mkReTrms`): when the numbers of levels are not
//! already non-increasing, the order is the reverse of a stable ascending sort by number
//! of levels (so ties come out in reverse formula order). θ is laid out term by term in
//! this order, within a term in the structure's order (lme4's column-major lower
//! triangle for unstructured terms): the engine's θ is exactly lme4's `getME(m, "theta")`.

use crate::ModelError;
use mixedlm_covariance::CovarianceStructure;
use mixedlm_design::{Design, RandomTermDesign};

/// One random-effects term, in the engine's (lme4's) order.
#[derive(Debug)]
pub struct Term {
    /// Position of this term in the formula (the design's `random` order).
    pub formula_index: usize,
    /// The grouping factor's name.
    pub group: String,
    /// The grouping factor's level names (shared with the design).
    pub levels: mixedlm_design::Levels,
    /// The term's column names (`(Intercept)`, `Days`).
    pub names: Vec<String>,
    /// k: effects per level.
    pub k: usize,
    /// The covariance structure (θ ↔ T).
    pub structure: Box<dyn CovarianceStructure>,
    /// Offset of this term's parameters in θ.
    pub theta_offset: usize,
    /// Offset of this term's first column in the "rest" block R = [Z_2 .. Z_m, X, y]
    /// (0 for the first term, which is not part of R).
    pub r_offset: usize,
}

impl Term {
    /// Number of levels of the grouping factor.
    pub fn n_levels(&self) -> usize {
        self.levels.len()
    }
    /// Number of θ entries of this term.
    pub fn n_theta(&self) -> usize {
        self.structure.n_theta()
    }
    /// The term's slice of a full θ vector.
    pub fn theta<'a>(&self, theta: &'a [f64]) -> &'a [f64] {
        &theta[self.theta_offset..self.theta_offset + self.n_theta()]
    }
}

/// lme4's term order: indices into `n_levels` (formula order).
pub fn lme4_order(n_levels: &[usize]) -> Vec<usize> {
    let increasing = n_levels.windows(2).any(|w| w[1] > w[0]);
    let mut order: Vec<usize> = (0..n_levels.len()).collect();
    if increasing {
        order.sort_by_key(|&i| n_levels[i]);
        order.reverse();
    }
    order
}

/// Build the engine's terms from the design, validating levels and codes.
pub fn build_terms(design: &Design) -> Result<Vec<Term>, ModelError> {
    build_terms_with(design, false)
}

/// [`build_terms`], allowing (`per_observation`) a grouping factor with as many levels as
/// observations and more random effects than observations, as glmer's `allow.n`: in a
/// GLMM an observation-level term models overdispersion.
pub fn build_terms_with(design: &Design, per_observation: bool) -> Result<Vec<Term>, ModelError> {
    if design.random.is_empty() {
        return Err(ModelError::NoRandomTerms);
    }
    let n = design.n_obs();
    for rt in &design.random {
        check_term(rt, n, per_observation)?;
    }
    let n_levels: Vec<usize> = design.random.iter().map(|t| t.levels.len()).collect();
    let mut terms = Vec::with_capacity(n_levels.len());
    let (mut theta_offset, mut r_offset) = (0, 0);
    for (pos, idx) in lme4_order(&n_levels).into_iter().enumerate() {
        let rt = &design.random[idx];
        let k = rt.z.ncols;
        let structure = rt.covariance.structure(k);
        let term = Term {
            formula_index: idx,
            group: rt.group.clone(),
            levels: rt.levels.clone(),
            names: rt.names.clone(),
            k,
            structure,
            theta_offset,
            r_offset: if pos == 0 { 0 } else { r_offset },
        };
        theta_offset += term.n_theta();
        if pos > 0 {
            r_offset += k * term.n_levels();
        }
        terms.push(term);
    }
    Ok(terms)
}

fn check_term(rt: &RandomTermDesign, n: usize, per_observation: bool) -> Result<(), ModelError> {
    let levels = rt.levels.len();
    if levels < 2 {
        return Err(ModelError::TooFewLevels {
            group: rt.group.clone(),
            levels,
        });
    }
    if levels >= n && !per_observation {
        return Err(ModelError::TooManyLevels {
            group: rt.group.clone(),
            levels,
            n,
        });
    }
    let k = rt.z.ncols;
    if k * levels > n && !per_observation {
        return Err(ModelError::TooManyRandomEffects {
            group: rt.group.clone(),
            q: k * levels,
            n,
        });
    }
    if rt.codes.len() != n || rt.z.nrows != n || rt.z.data.len() != n * k || k == 0 {
        return Err(ModelError::DimensionMismatch {
            what: format!("random term `{}`", rt.group),
            expected: n,
            found: rt.codes.len(),
        });
    }
    if rt.names.len() != k {
        return Err(ModelError::DimensionMismatch {
            what: format!("names of random term `{}`", rt.group),
            expected: k,
            found: rt.names.len(),
        });
    }
    // the largest code first (a vectorized pass), the offending row only if there is one
    let largest = rt.codes.iter().fold(0u32, |m, &c| m.max(c));
    let bad = largest as usize >= levels;
    if let Some(row) = bad
        .then(|| rt.codes.iter().position(|&c| c as usize >= levels))
        .flatten()
    {
        return Err(ModelError::BadLevelCode {
            group: rt.group.clone(),
            row,
            code: rt.codes[row],
            levels,
        });
    }
    // Non-finite entries of z are found by the model's cross-product pass.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lme4_order;

    #[test]
    fn order_keeps_non_increasing_input() {
        assert_eq!(lme4_order(&[18, 18]), vec![0, 1]);
        assert_eq!(lme4_order(&[24, 6]), vec![0, 1]);
    }

    #[test]
    fn order_reverses_stable_ascending_sort() {
        assert_eq!(lme4_order(&[10, 30]), vec![1, 0]);
        // ties come out in reverse formula order, as in lme4's rev(order(nl))
        assert_eq!(lme4_order(&[20, 20, 30]), vec![2, 1, 0]);
    }
}
