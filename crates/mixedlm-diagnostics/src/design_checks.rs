//! Checks of the design before (or after) fitting: is the model supported by the data?
//!
//! - group sizes per grouping factor (min, median, max, number of singletons);
//! - a grouping factor with fewer than 5 levels (its variance is poorly estimated), or
//!   fewer than about 20 (the usual advice for a variance estimate: imprecise);
//! - a random slope on a factor whose levels have fewer than about 5 observations each
//!   (median), and many groups of size 1 under a random slope;
//! - more random effects than the data support (per level, or q ≥ n overall);
//! - fixed-effects columns with wildly different scales (ratio of spreads above 10⁴);
//! - fixed-effects columns dropped as linear combinations of earlier ones, one each.

use crate::convergence_messages::SIMPLIFY_ADVICE;
use crate::{Message, MessageKind};
use mixedlm_design::{Design, RandomTermDesign};
use serde::Serialize;

/// Fewer levels than this make a variance component unreliable.
pub const MIN_LEVELS: usize = 5;
/// Fewer levels than this make a variance estimate imprecise (the usual advice: at least
/// about 20 groups, better 30 or more).
pub const ADVISED_LEVELS: usize = 20;
/// A random slope needs about this many observations per level (median) to be estimated.
pub const ADVISED_SLOPE_OBS: f64 = 5.0;
/// Column spreads differing by more than this factor call for rescaling.
pub const MAX_SCALE_RATIO: f64 = 1e4;

/// Sizes of the levels of one grouping factor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupSizes {
    /// The grouping factor.
    pub group: String,
    /// Number of levels.
    pub n_levels: usize,
    /// Smallest group.
    pub min: usize,
    /// Median group size.
    pub median: f64,
    /// Largest group.
    pub max: usize,
    /// Number of levels with a single observation.
    pub singletons: usize,
}

/// The outcome of the design checks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesignReport {
    /// Group sizes per grouping factor (each factor once).
    pub groups: Vec<GroupSizes>,
    /// Findings with advice.
    pub messages: Vec<Message>,
}

/// Number of observations per level.
pub fn level_counts(codes: &[u32], n_levels: usize) -> Vec<usize> {
    let mut counts = vec![0usize; n_levels];
    for &c in codes {
        if let Some(slot) = counts.get_mut(c as usize) {
            *slot += 1;
        }
    }
    counts
}

impl GroupSizes {
    /// Summarize the level sizes of a factor.
    pub fn new(group: &str, codes: &[u32], n_levels: usize) -> Self {
        let mut counts = level_counts(codes, n_levels);
        counts.sort_unstable();
        let median = match counts.len() {
            0 => f64::NAN,
            m if m % 2 == 1 => counts[m / 2] as f64,
            m => (counts[m / 2 - 1] + counts[m / 2]) as f64 / 2.0,
        };
        Self {
            group: group.to_string(),
            n_levels,
            min: counts.first().copied().unwrap_or(0),
            median,
            max: counts.last().copied().unwrap_or(0),
            singletons: counts.iter().filter(|&&c| c == 1).count(),
        }
    }
}

/// Run every design check on a built design.
pub fn check_design(design: &Design) -> DesignReport {
    let mut groups: Vec<GroupSizes> = Vec::new();
    let mut messages = Vec::new();
    for term in &design.random {
        if !groups.iter().any(|g| g.group == term.group) {
            let sizes = GroupSizes::new(&term.group, &term.codes, term.levels.len());
            messages.extend(few_levels(&sizes));
            groups.push(sizes);
        }
    }
    for term in &design.random {
        if let Some(sizes) = groups.iter().find(|g| g.group == term.group) {
            messages.extend(small_groups(term, sizes));
            messages.extend(few_observations_for_slopes(term, sizes));
            messages.extend(per_level_overparameterized(term, sizes));
        }
    }
    messages.extend(design.aliased.iter().map(|c| aliased(c)));
    messages.extend(total_overparameterized(design));
    let columns: Vec<(&str, &[f64])> = design
        .x_names
        .iter()
        .enumerate()
        .map(|(j, n)| (n.as_str(), design.x.col(j)))
        .collect();
    messages.extend(scale_check(&columns));
    DesignReport { groups, messages }
}

/// A fixed-effects column dropped because it is a combination of earlier columns.
pub fn aliased(column: &str) -> Message {
    Message::new(
        MessageKind::Aliased,
        format!(
            "The fixed-effects column `{column}` is a linear combination of earlier columns \
             (X is rank deficient), so it was dropped: the model has no coefficient for it."
        ),
        format!(
            "Check why `{column}` repeats the information of other columns (a dummy together \
             with its complement, a total next to its parts, a variable constant within \
             another's levels), and remove it or the columns it repeats from the formula."
        ),
    )
}

/// A grouping factor with fewer than [`MIN_LEVELS`] levels, or fewer than
/// [`ADVISED_LEVELS`].
pub fn few_levels(sizes: &GroupSizes) -> Option<Message> {
    if (MIN_LEVELS..ADVISED_LEVELS).contains(&sizes.n_levels) {
        return Some(Message::new(
            MessageKind::FewLevels,
            format!(
                "Grouping factor `{}` has {} levels: a variance estimated from fewer than \
                 about {ADVISED_LEVELS} groups is imprecise (its standard error and interval \
                 are wide, and it may be estimated as 0).",
                sizes.group, sizes.n_levels
            ),
            format!(
                "Read its variance with its confidence interval (`--ci profile`); with few \
                 groups a fixed effect for `{0}` (add `{0}` to the fixed part) is an \
                 alternative when the groups themselves are of interest.",
                sizes.group
            ),
        ));
    }
    (sizes.n_levels < MIN_LEVELS).then(|| {
        Message::new(
            MessageKind::FewLevels,
            format!(
                "Grouping factor `{}` has only {} levels: estimates of its variance are \
                 unreliable with fewer than {MIN_LEVELS} levels.",
                sizes.group, sizes.n_levels
            ),
            format!(
                "Consider a fixed effect for `{0}` instead (add `{0}` to the fixed part and \
                 drop `(1 | {0})`).",
                sizes.group
            ),
        )
    })
}

fn has_slope(term: &RandomTermDesign) -> bool {
    term.names.iter().any(|n| n != "(Intercept)")
}

/// Many singleton groups under a random slope: a slope needs at least 2 observations per level.
fn small_groups(term: &RandomTermDesign, sizes: &GroupSizes) -> Option<Message> {
    if !has_slope(term) || sizes.n_levels == 0 || sizes.singletons * 10 < sizes.n_levels {
        return None;
    }
    Some(Message::new(
        MessageKind::SmallGroups,
        format!(
            "{} of the {} levels of `{}` have a single observation, which carries no \
             information about the random slope(s) {}.",
            sizes.singletons,
            sizes.n_levels,
            sizes.group,
            term.names
                .iter()
                .filter(|n| *n != "(Intercept)")
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "Check that `{}` identifies the intended clusters; if most clusters are this \
             small, drop the random slope (keep `(1 | {0})`).",
            sizes.group
        ),
    ))
}

/// A random slope on a factor whose median level has fewer than [`ADVISED_SLOPE_OBS`]
/// observations: each level's slope rests on a handful of points.
fn few_observations_for_slopes(term: &RandomTermDesign, sizes: &GroupSizes) -> Option<Message> {
    if !has_slope(term) || sizes.n_levels == 0 || sizes.median >= ADVISED_SLOPE_OBS {
        return None;
    }
    // Many singletons, or no more observations than effects per level, get their own
    // (stronger) message.
    if sizes.singletons * 10 >= sizes.n_levels || term.names.len() as f64 >= sizes.median {
        return None;
    }
    let slopes: Vec<&str> = term
        .names
        .iter()
        .filter(|n| *n != "(Intercept)")
        .map(String::as_str)
        .collect();
    Some(Message::new(
        MessageKind::SmallGroups,
        format!(
            "The random slope(s) {} vary over `{}`, whose levels have a median of {} \
             observations (smallest {}, largest {}): a slope per group needs about {} \
             observations per group to be estimated.",
            slopes.join(", "),
            sizes.group,
            sizes.median,
            sizes.min,
            sizes.max,
            ADVISED_SLOPE_OBS
        ),
        format!(
            "Expect the slope variance to be imprecise or estimated as 0; if it is, keep the \
             random intercept only (`(1 | {})`) or collect more observations per group.",
            sizes.group
        ),
    ))
}

/// k effects per level but typically no more than k observations per level.
fn per_level_overparameterized(term: &RandomTermDesign, sizes: &GroupSizes) -> Option<Message> {
    let k = term.names.len();
    if k < 2 || (k as f64) < sizes.median {
        return None;
    }
    Some(Message::new(
        MessageKind::Overparameterized,
        format!(
            "The term for `{}` has {k} random effects per level ({}) but the median level \
             has only {} observations.",
            sizes.group,
            term.names.join(", "),
            sizes.median
        ),
        format!("The data cannot separate these effects from the residual; {SIMPLIFY_ADVICE}."),
    ))
}

/// q ≥ n: more random effects than observations.
fn total_overparameterized(design: &Design) -> Option<Message> {
    let n = design.n_obs();
    let q: usize = design
        .random
        .iter()
        .map(|t| t.levels.len() * t.names.len())
        .sum();
    (n > 0 && q >= n).then(|| {
        Message::new(
            MessageKind::Overparameterized,
            format!(
                "The model has {q} random effects for {n} observations: the random-effects \
                 variances and the residual variance are not identifiable."
            ),
            format!("Remove a term whose grouping factor has about one level per observation, or {SIMPLIFY_ADVICE}."),
        )
    })
}

/// The spread of a column: its SD, or its absolute value when constant (the intercept: 1).
/// `None` for an all-zero column.
pub fn column_scale(values: &[f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sd = if n > 1 {
        (ss / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let scale = if sd > 1e-12 * mean.abs().max(1.0) {
        sd
    } else {
        mean.abs()
    };
    (scale.is_finite() && scale > 0.0).then_some(scale)
}

/// Columns whose spreads (see [`column_scale`]) differ by more than [`MAX_SCALE_RATIO`].
pub fn scale_check(columns: &[(&str, &[f64])]) -> Option<Message> {
    let scales: Vec<(&str, f64)> = columns
        .iter()
        .filter_map(|(n, v)| column_scale(v).map(|s| (*n, s)))
        .collect();
    let max = scales.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    let min = scales.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    if max.1 / min.1 <= MAX_SCALE_RATIO {
        return None;
    }
    Some(Message::new(
        MessageKind::Scale,
        format!(
            "Predictors are on very different scales: `{}` has spread {:.3e} but `{}` has \
             spread {:.3e} (ratio {:.1e}).",
            max.0,
            max.1,
            min.0,
            min.1,
            max.1 / min.1
        ),
        format!(
            "Rescale the predictors (for example divide `{}` by {:.0e}, or center and \
             standardize it) so that their spreads are within a factor of about 100; badly \
             scaled predictors cause convergence failures and spurious singular fits.",
            max.0,
            10f64
                .powi((max.1 / min.1.max(1.0)).log10().floor() as i32)
                .max(10.0)
        ),
    ))
}

#[cfg(test)]
mod tests;
