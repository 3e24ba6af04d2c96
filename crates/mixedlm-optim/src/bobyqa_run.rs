//! BOBYQA through the `bobyqa` crate (a port of PRIMA's), with native bounds.

use crate::tracker::Tracker;
use crate::{OptimOptions, SolverOutcome, NON_FINITE_PENALTY};
use bobyqa::{Bobyqa, Config, Status};

pub(crate) fn run(
    tracker: &mut Tracker<'_>,
    opts: &OptimOptions,
    _lower: &[f64],
    _upper: &[f64],
) -> SolverOutcome {
    let n = tracker.n_free();
    let (lo, hi) = tracker.free_bounds();
    // BOBYQA needs upper - lower >= 2 rho_begin in every coordinate.
    let min_width = lo
        .iter()
        .zip(&hi)
        .map(|(l, u)| u - l)
        .fold(f64::INFINITY, f64::min);
    let mut config = Config::new(n);
    config.rho_begin = opts.initial_step.min(min_width / 2.0);
    config.rho_end = opts.final_step.min(config.rho_begin);
    config.max_fun = tracker.remaining();
    if config.max_fun <= config.npt {
        return outcome(
            format!("evaluation budget {} too small for bobyqa's {} interpolation points; raise max_evaluations", opts.max_evaluations, config.npt),
            false,
        );
    }
    let mut solver = match Bobyqa::new(n, config) {
        Ok(s) => s,
        Err(status) => return outcome(format!("bobyqa rejected its settings: {status}"), false),
    };
    let mut x = tracker.start();
    let result = solver.minimize(
        |p: &[f64]| tracker.value(p).unwrap_or(NON_FINITE_PENALTY),
        &mut x,
        &lo,
        &hi,
    );
    if !result.found_finite() {
        return outcome(
            "bobyqa found no point where the objective is finite".into(),
            false,
        );
    }
    let converged = matches!(
        result.status,
        Status::Converged | Status::FtolReached | Status::TargetReached
    );
    let text = match result.status {
        Status::Converged => format!("trust-region radius reached rho_end = {:e}", config.rho_end),
        Status::MaxFunReached => format!(
            "maximum evaluations ({}) reached before convergence; raise max_evaluations",
            opts.max_evaluations
        ),
        other => format!("bobyqa: {other}"),
    };
    outcome(text, converged)
}

fn outcome(termination: String, converged: bool) -> SolverOutcome {
    SolverOutcome {
        termination,
        converged,
        iterations: 0,
    }
}
