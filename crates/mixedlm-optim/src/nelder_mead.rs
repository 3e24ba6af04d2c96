//! Nelder-Mead through argmin, restarted from the best vertex until a restart stops
//! improving the objective. argmin stops on the spread of the vertex values only, which a
//! simplex straddling the minimum symmetrically satisfies early; each restart therefore
//! uses a smaller simplex (edge factor [`RESTART_SHRINK`]^r), breaking such symmetry.

use crate::tracker::{Adapter, Tracker};
use crate::{OptimOptions, SolverOutcome};
use argmin::core::{Executor, State, TerminationReason};
use argmin::solver::neldermead::NelderMead;

/// At most this many runs (the first plus restarts).
const MAX_RUNS: usize = 6;
/// The initial simplex edge shrinks by this factor at each restart.
const RESTART_SHRINK: f64 = 0.37;

pub(crate) fn run(tracker: &mut Tracker<'_>, opts: &OptimOptions) -> SolverOutcome {
    let tracker = &*tracker;
    let mut iterations = 0;
    let mut previous = f64::INFINITY;
    for run in 0..MAX_RUNS {
        let (x, f) = tracker.best_free();
        if previous.is_finite() && previous - f <= opts.ftol_rel * f.abs().max(1.0) {
            return done(
                "the simplex converged and a restart did not improve it",
                true,
                iterations,
            );
        }
        previous = f;
        // The simplex needs n + 1 evaluations before argmin can stop it.
        if tracker.remaining() <= x.len() + 1 {
            return exhausted(opts, iterations);
        }
        let step = opts.initial_step * RESTART_SHRINK.powi(run as i32);
        match one_run(tracker, opts, x, f, step) {
            Ok(iters) => iterations += iters,
            Err(text) if tracker.is_exhausted() => {
                let _ = text;
                return exhausted(opts, iterations);
            }
            Err(text) => return done(&format!("nelder-mead failed: {text}"), false, iterations),
        }
    }
    done(
        "nelder-mead kept improving after every restart; raise max_evaluations or try bobyqa",
        false,
        iterations,
    )
}

fn one_run(
    tracker: &Tracker<'_>,
    opts: &OptimOptions,
    x: Vec<f64>,
    f: f64,
    step: f64,
) -> Result<u64, String> {
    let simplex = initial_simplex(tracker, step, &x);
    let tol = opts.ftol_rel * f.abs().max(1.0);
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(tol)
        .map_err(|e| e.to_string())?;
    let result = Executor::new(Adapter { tracker }, solver)
        .configure(|s| s.max_iters(opts.max_evaluations as u64))
        .ctrlc(false)
        .run()
        .map_err(|e| e.to_string())?;
    match result.state.get_termination_reason() {
        Some(TerminationReason::SolverConverged) => Ok(result.state.get_iter()),
        other => Err(format!("stopped early: {other:?}")),
    }
}

/// x0 plus one vertex per coordinate, stepped by `step * max(1, |x_i|)` toward the side
/// with more room, and at most half way to that bound (so the simplex starts inside the
/// box, where the projected objective is not flat).
fn initial_simplex(tracker: &Tracker<'_>, step: f64, x: &[f64]) -> Vec<Vec<f64>> {
    let (lo, hi) = tracker.free_bounds();
    let mut simplex = vec![x.to_vec()];
    for i in 0..x.len() {
        let mut v = x.to_vec();
        let h = step * x[i].abs().max(1.0);
        let (up, down) = (hi[i] - x[i], x[i] - lo[i]);
        v[i] = if up >= down {
            x[i] + h.min(0.5 * up)
        } else {
            x[i] - h.min(0.5 * down)
        };
        simplex.push(v);
    }
    simplex
}

fn exhausted(opts: &OptimOptions, iterations: u64) -> SolverOutcome {
    done(
        &format!(
            "maximum evaluations ({}) reached before convergence; raise max_evaluations",
            opts.max_evaluations
        ),
        false,
        iterations,
    )
}

fn done(text: &str, converged: bool, iterations: u64) -> SolverOutcome {
    SolverOutcome {
        termination: text.to_string(),
        converged,
        iterations,
    }
}
