//! The record of one optimization run, as plain data.

use crate::OptimizerName;
use serde::{Deserialize, Serialize};

/// How a run honoured the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoundsHandling {
    /// Every bound was infinite: nothing to enforce.
    Unbounded,
    /// The solver itself keeps every evaluation inside the box (bobyqa).
    Native,
    /// The objective was evaluated at the projection of each trial point into the box,
    /// the solver seeing a quadratic penalty on the distance outside (nelder-mead, powell,
    /// bfgs; see the crate docs); every evaluated and reported point is feasible.
    Projection,
}

/// What happened in one [`crate::minimize`] call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimRecord {
    /// The solver used.
    pub optimizer: OptimizerName,
    /// The starting point.
    pub initial: Vec<f64>,
    /// The objective at the starting point.
    pub initial_objective: f64,
    /// The best point evaluated (the optimum when `converged`).
    pub theta: Vec<f64>,
    /// The objective at `theta`.
    pub objective: f64,
    /// Objective evaluations, finite-difference ones included.
    pub evaluations: usize,
    /// Gradient requests (analytic or by finite differences).
    pub gradient_evaluations: usize,
    /// Solver iterations, in the solver's own sense (0 for bobyqa, which does not report them).
    pub iterations: u64,
    /// Why the solver stopped, in words.
    pub termination: String,
    /// True only when the solver's convergence test passed; false when the budget ran
    /// out or the solver failed (`termination` says which).
    pub converged: bool,
    /// How the bounds were enforced.
    pub bounds_handling: BoundsHandling,
    /// Wall time of the run.
    pub seconds: f64,
    /// Every evaluation (point, value) in order, when `record_log` was set; else empty.
    pub log: Vec<(Vec<f64>, f64)>,
}

impl OptimRecord {
    /// True when finite bounds were given and enforced (natively by bobyqa, by projection
    /// otherwise); false when every bound was infinite and there was nothing to enforce.
    /// The reported point always satisfies the bounds.
    pub fn bounds_enforced(&self) -> bool {
        self.bounds_handling != BoundsHandling::Unbounded
    }
}

pub(crate) fn bounds_handling(name: OptimizerName, lower: &[f64], upper: &[f64]) -> BoundsHandling {
    let bounded = lower.iter().chain(upper).any(|b| b.is_finite());
    match (bounded, name) {
        (false, _) => BoundsHandling::Unbounded,
        (true, OptimizerName::Bobyqa) => BoundsHandling::Native,
        (true, _) => BoundsHandling::Projection,
    }
}
