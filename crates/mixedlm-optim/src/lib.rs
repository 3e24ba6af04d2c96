//! mixedlm-optim: the optimizer layer, on argmin.
//!
//! An [`Objective`] maps a parameter vector to a value (and optionally a gradient) and
//! knows nothing of models. [`minimize`] runs one of four solvers, chosen by
//! [`OptimizerName`] in [`OptimOptions`], and returns an [`OptimRecord`]: plain data
//! (start, optimum, counts, why it stopped, whether it converged, optional trace).
//! Depends on argmin and bobyqa only.
//!
//! | solver        | derivatives       | bounds                               |
//! |---------------|-------------------|--------------------------------------|
//! | `auto`        | bfgs when the objective has an analytic gradient, else bobyqa | as the solver chosen |
//! | `bobyqa`      | none              | native (every evaluation is in the box) |
//! | `nelder-mead` | none              | projection (see below)               |
//! | `powell`      | none              | projection                           |
//! | `bfgs`        | analytic or central differences | projection             |
//!
//! **Bounds by projection.** The unbounded solvers minimize
//! g(x) = f(P(x)) + w |x - P(x)|², P clamping each coordinate into [lower, upper] and
//! w = max(1, |f(x0)|); g equals f on the box, grows outside it (no flat regions for a
//! simplex to collapse in), and its minimizers are f's minimizers on the box. Every
//! evaluation of f is at a feasible point and the reported point is feasible. Objectives symmetric under sign
//! changes (the LMM deviance depends on T T' only) can instead be run with infinite bounds
//! and the sign of θ normalized afterwards, which avoids the kink of g at the bound.
//!
//! **Fixed coordinates.** A coordinate with `lower == upper` is held at that value and the
//! solver works in the remaining dimensions (profiling).
//!
//! **Non-finite values.** Where the objective returns NaN or ±inf the solvers see
//! [`NON_FINITE_PENALTY`] (BOBYQA clamps it further to its own ceiling): such points are
//! never accepted as better, and the best finite point is reported.
#![warn(missing_docs)]

mod bfgs;
mod bobyqa_run;
mod brent;
mod error;
mod linesearch;
mod nelder_mead;
mod newton;
mod options;
mod powell;
mod record;
mod tracker;

pub use bfgs::Bfgs;
pub use brent::{brent_minimize, BrentResult};
pub use error::OptimError;
pub use options::{AlternativeStart, OptimOptions, OptimOptionsBuilder, OptimizerName};
pub use powell::Powell;
pub use record::{BoundsHandling, OptimRecord};

use std::time::Instant;
use tracker::Tracker;

/// The value the solvers see where the objective is NaN or infinite.
pub const NON_FINITE_PENALTY: f64 = 1e100;

/// A function to minimize. It knows nothing of models.
pub trait Objective {
    /// The number of parameters.
    fn dim(&self) -> usize;
    /// The objective at `x`. May return `f64::INFINITY` where it is undefined.
    fn value(&mut self, x: &[f64]) -> f64;
    /// Write the gradient at `x` into `grad` and return true, or return false when no
    /// analytic gradient is available (the solver then uses finite differences).
    fn gradient(&mut self, x: &[f64], grad: &mut [f64]) -> bool {
        let _ = (x, grad);
        false
    }
    /// Whether [`Self::gradient`] is analytic (it may still fail at some points). Decides
    /// what [`OptimizerName::Auto`] runs.
    fn has_gradient(&self) -> bool {
        false
    }
}

/// The outcome of one solver run inside [`minimize`].
#[derive(Debug)]
pub(crate) struct SolverOutcome {
    /// Why the solver stopped.
    pub termination: String,
    /// Whether that counts as convergence.
    pub converged: bool,
    /// Solver iterations (the solver's own notion).
    pub iterations: u64,
}

/// Minimize `obj` from `x0` with the solver and settings of `opts`.
///
/// Errors are for invalid input only (dimensions, bounds, options, a start where the
/// objective is not finite). A run that stops without converging (evaluation budget
/// exhausted, degenerate model, line-search failure away from a stationary point) is an
/// `Ok` record with `converged == false` and the reason in `termination`; its `theta` is
/// the best point evaluated.
pub fn minimize(
    obj: &mut dyn Objective,
    x0: &[f64],
    opts: &OptimOptions,
) -> Result<OptimRecord, OptimError> {
    let start = Instant::now();
    let resolved;
    let opts = if opts.optimizer == OptimizerName::Auto {
        resolved = OptimOptions {
            optimizer: opts.optimizer.resolve(obj.has_gradient()),
            ..opts.clone()
        };
        &resolved
    } else {
        opts
    };
    let n = obj.dim();
    let analytic_gradient = obj.has_gradient();
    let (lower, upper) = opts.validate_for(n, x0)?;
    let mut tracker = Tracker::new(obj, x0, lower.clone(), upper.clone(), opts);
    let f0 = tracker.evaluate_full_start();
    if !f0.is_finite() {
        return Err(OptimError::NonFiniteStart { value: f0 });
    }
    let chosen;
    let opts = match &opts.alternative_start {
        Some(alt) if tracker.prefer_alternative(&alt.x, f0) => {
            chosen = OptimOptions {
                initial_step: alt.initial_step.max(opts.final_step),
                ..opts.clone()
            };
            &chosen
        }
        _ => opts,
    };
    let free_x0: Vec<f64> = tracker.free_part(x0);
    let mut outcome = run_with_edge_restart(&mut tracker, opts, &lower, &upper, &free_x0);
    if opts.polish && analytic_gradient && opts.optimizer.is_derivative_free() {
        outcome = polish(&mut tracker, opts, outcome);
    }
    // A gradient solver's stopping rule leaves θ known to about sqrt(ftol_rel); Newton
    // steps on the analytic gradient pin it down (see `newton`).
    let gradient_run = opts.optimizer == OptimizerName::Bfgs || opts.polish;
    if analytic_gradient && gradient_run && outcome.converged {
        if let Some(note) = newton::refine(&tracker, &opts.edges) {
            outcome.termination.push_str(&note);
        }
    }
    let counts = tracker.counts();
    let (theta, objective) = tracker.best();
    Ok(OptimRecord {
        optimizer: opts.optimizer,
        initial: x0.to_vec(),
        initial_objective: f0,
        theta,
        objective,
        evaluations: counts.0,
        gradient_evaluations: counts.1,
        iterations: outcome.iterations,
        termination: outcome.termination,
        converged: outcome.converged,
        bounds_handling: record::bounds_handling(opts.optimizer, &lower, &upper),
        seconds: start.elapsed().as_secs_f64(),
        log: tracker.take_log(),
    })
}

/// Run the solver; when it converges with free coordinates at their edges (the finite
/// lower bounds, or `OptimOptions::edges`), run it once more from that point with those
/// coordinates moved half way back to their starting values, and keep the better optimum (lme4's `restart_edge`, applied to every solver). A boundary
/// optimum (a singular fit) is often a local minimum reached on the way in; the restart
/// costs evaluations only for such fits.
///
/// `x0` is the caller's start (free part), also when the run began from
/// `OptimOptions::alternative_start`: an estimate near a boundary would put the restart
/// back next to it (a 3-group random-slope fit then kept the worse boundary optimum).
fn run_with_edge_restart(
    tracker: &mut Tracker<'_>,
    opts: &OptimOptions,
    lower: &[f64],
    upper: &[f64],
    x0: &[f64],
) -> SolverOutcome {
    let first = run_solver(tracker, opts, lower, upper);
    if !first.converged {
        return first;
    }
    let edges = tracker.free_edges(&opts.edges);
    let (best, f_best) = tracker.best_free();
    let near = |x: f64, e: f64, tol: f64| (x - e).abs() <= tol * e.abs().max(1.0);
    let on_edge: Vec<usize> = (0..best.len())
        .filter(|&i| edges[i].is_finite())
        .filter(|&i| near(best[i], edges[i], EDGE_TOL) && !near(x0[i], edges[i], 10.0 * EDGE_TOL))
        .collect();
    if on_edge.is_empty() || tracker.remaining() < 4 * (best.len() + 2) {
        return first;
    }
    let mut restart = best;
    for &i in &on_edge {
        restart[i] = edges[i] + 0.5 * (x0[i] - edges[i]);
    }
    let saved = tracker.restart_from(&restart);
    let second = run_solver(tracker, opts, lower, upper);
    tracker.restore_best_if_better(saved);
    let (_, f_after) = tracker.best_free();
    if f_after < f_best {
        SolverOutcome {
            termination: format!(
                "{}; a restart off the boundary found a lower objective (by {:.3e})",
                second.termination,
                f_best - f_after
            ),
            converged: second.converged,
            iterations: first.iterations + second.iterations,
        }
    } else {
        SolverOutcome {
            termination: format!(
                "{}; a restart off the boundary confirmed the boundary optimum",
                first.termination
            ),
            converged: true,
            iterations: first.iterations + second.iterations,
        }
    }
}

/// BFGS on the analytic gradient from the best point a derivative-free solver found
/// ([`OptimOptions::polish`]). The run converged if BFGS's gradient test passes, or if the
/// first solver had converged and BFGS stopped before the budget ran out: it then found no
/// descent from its best point (on a badly scaled valley the gradient can stay above
/// BFGS's test where the objective no longer moves). Callers with a post-fit check (the
/// model's) judge that point further.
fn polish(tracker: &mut Tracker<'_>, opts: &OptimOptions, first: SolverOutcome) -> SolverOutcome {
    if tracker.n_free() == 0 || tracker.remaining() < 2 * (tracker.n_free() + 2) {
        return first;
    }
    let (_, before) = tracker.best_free();
    tracker.project_from_now();
    let second = bfgs::run(tracker, opts);
    let (_, after) = tracker.best_free();
    let gain = before - after;
    SolverOutcome {
        termination: format!(
            "{}; then bfgs on the gradient: {} (objective lowered by {gain:.3e})",
            first.termination, second.termination
        ),
        converged: second.converged || (first.converged && !tracker.is_exhausted()),
        iterations: first.iterations + second.iterations,
    }
}

/// A coordinate within this (relative) distance of its edge is on the edge.
const EDGE_TOL: f64 = 1e-6;

fn run_solver(
    tracker: &mut Tracker<'_>,
    opts: &OptimOptions,
    lower: &[f64],
    upper: &[f64],
) -> SolverOutcome {
    if tracker.n_free() == 0 {
        return SolverOutcome {
            termination: "no free parameters: every coordinate is fixed (lower == upper)".into(),
            converged: true,
            iterations: 0,
        };
    }
    match opts.optimizer {
        // `minimize` resolves `Auto` before any solver runs.
        OptimizerName::Bobyqa | OptimizerName::Auto => bobyqa_run::run(tracker, opts, lower, upper),
        OptimizerName::NelderMead => nelder_mead::run(tracker, opts),
        OptimizerName::Bfgs => bfgs::run(tracker, opts),
        OptimizerName::Powell => powell::run(tracker, opts),
    }
}
