//! The diagnostics report, serialized into the CLI's JSON output.
//!
//! ```json
//! {"messages": [{"kind": "singular", "text": "...", "advice": "..."}],
//!  "gradient_max_abs": 1.2e-5, "hessian_min_eigenvalue": 3.1,
//!  "residual_normality": {"test": "Shapiro-Wilk", "statistic": 0.98, "p_value": 0.12},
//!  "random_effects_normality": [...], "influential_groups": [...]}
//! ```

use crate::convergence::ConvergenceCheck;
use crate::design_checks::DesignReport;
use crate::influence::{influence_message, GroupInfluence};
use crate::normality::{normality_test, NormalityTest};
use crate::plots::RanefGroup;
use crate::{Message, MessageKind};
use serde::Serialize;

/// At most this many influential groups are listed.
pub const MAX_INFLUENTIAL_LISTED: usize = 20;
/// p-values below this produce a normality message.
pub const NORMALITY_ALPHA: f64 = 1e-3;

/// Normality of one random-effects term's conditional modes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TermNormality {
    /// The grouping factor.
    pub group: String,
    /// The term's column name.
    pub term: String,
    /// The test result.
    #[serde(flatten)]
    pub result: NormalityTest,
}

/// What the leave-one-group-out influence computation covered (present only when it ran).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InfluenceSummary {
    /// The grouping factor whose levels were left out.
    pub group: String,
    /// Number of levels (refits).
    pub levels: usize,
    /// Refits that failed (their distance is unknown).
    pub failed: usize,
    /// The flagging cutoff 4 / levels.
    pub cutoff: f64,
    /// The largest Cook's distance and its level.
    pub max_cooks_distance: Option<f64>,
    /// The level with the largest Cook's distance.
    pub most_influential_level: Option<String>,
}

/// All diagnostics of one fit.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Every finding, each with advice.
    pub messages: Vec<Message>,
    /// max |gradient| of the objective over interior parameters at θ̂.
    pub gradient_max_abs: Option<f64>,
    /// Smallest eigenvalue of the objective's Hessian over interior parameters.
    pub hessian_min_eigenvalue: Option<f64>,
    /// Normality test of the Pearson residuals.
    pub residual_normality: Option<NormalityTest>,
    /// Normality tests of each random-effects term's conditional modes (≥ 3 levels).
    pub random_effects_normality: Vec<TermNormality>,
    /// Groups flagged by Cook's distance, most influential first.
    pub influential_groups: Vec<GroupInfluence>,
    /// What the influence computation covered; `None` when it did not run.
    pub influence: Option<InfluenceSummary>,
}

impl Diagnostics {
    /// Add the convergence checks' numbers and messages.
    pub fn add_convergence(&mut self, check: &ConvergenceCheck) {
        self.gradient_max_abs = Some(check.gradient_max_abs);
        self.hessian_min_eigenvalue = check
            .hessian_min_eigenvalue
            .is_finite()
            .then_some(check.hessian_min_eigenvalue);
        self.messages.extend(check.messages.iter().cloned());
    }

    /// Add the design checks' messages.
    pub fn add_design(&mut self, report: &DesignReport) {
        self.messages.extend(report.messages.iter().cloned());
    }

    /// Test the residuals and each term's conditional modes for normality.
    pub fn add_normality(&mut self, pearson: &[f64], ranef: &[RanefGroup]) {
        if let Ok(t) = normality_test(pearson) {
            self.messages.extend(normality_message("residuals", &t));
            self.residual_normality = Some(t);
        }
        for g in ranef {
            for term in &g.terms {
                if let Ok(t) = normality_test(&term.modes) {
                    let what = format!("conditional modes of {} | {}", term.name, g.group);
                    self.messages.extend(normality_message(&what, &t));
                    self.random_effects_normality.push(TermNormality {
                        group: g.group.clone(),
                        term: term.name.clone(),
                        result: t,
                    });
                }
            }
        }
    }

    /// Add leave-one-group-out influence results (as returned by `cooks_distance`).
    pub fn add_influence(&mut self, influence: &[GroupInfluence]) {
        let top = influence.iter().find(|g| g.cooks_distance.is_finite());
        if let Some(first) = influence.first() {
            self.influence = Some(InfluenceSummary {
                group: first.group.clone(),
                levels: influence.len(),
                failed: influence.iter().filter(|g| g.error.is_some()).count(),
                cutoff: 4.0 / influence.len() as f64,
                max_cooks_distance: top.map(|g| g.cooks_distance),
                most_influential_level: top.map(|g| g.level.clone()),
            });
        }
        self.messages.extend(influence_message(influence, 10));
        self.influential_groups.extend(
            influence
                .iter()
                .filter(|g| g.influential)
                .take(MAX_INFLUENTIAL_LISTED)
                .cloned(),
        );
        self.influential_groups
            .sort_by(|a, b| b.cooks_distance.total_cmp(&a.cooks_distance));
    }
}

fn normality_message(what: &str, t: &NormalityTest) -> Option<Message> {
    (t.p_value < NORMALITY_ALPHA).then(|| {
        Message::new(
            MessageKind::Normality,
            format!(
                "The {what} depart from normality ({} statistic {:.4}, p = {:.2e}, n = {}).",
                t.test, t.statistic, t.p_value, t.n
            ),
            "Look at the Q-Q plot (`resid_qq` / `qq_ranef_*`): heavy tails or a few outliers \
             call for checking those observations, skewness for transforming the response \
             (e.g. log). Fixed-effect estimates are robust to mild non-normality; with large n \
             even negligible departures are significant.",
        )
    })
}
