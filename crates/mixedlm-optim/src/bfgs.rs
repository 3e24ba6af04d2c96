//! BFGS through argmin (More-Thuente line search), restarted with a fresh inverse Hessian
//! from the best point until the projected gradient is small or progress stops.

use crate::tracker::{Adapter, Tracker};
use crate::{OptimOptions, SolverOutcome};
use argmin::core::{Executor, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::BFGS;

/// At most this many BFGS cycles (the first plus restarts).
const MAX_CYCLES: usize = 8;
/// When progress stops, a projected gradient below `ACCEPT_REL * max(1, |f|)` is still
/// accepted as convergence (finite-difference gradients are noisy at the optimum).
const ACCEPT_REL: f64 = 1e-5;

pub(crate) fn run(tracker: &mut Tracker<'_>, opts: &OptimOptions) -> SolverOutcome {
    let tracker = &*tracker;
    let mut iterations = 0;
    let mut last_h: Option<Vec<Vec<f64>>> = None;
    for _ in 0..MAX_CYCLES {
        let (x, f) = tracker.best_free();
        let scale = f.abs().max(1.0);
        let Ok((g, pg)) = tracker.projected_gradient() else {
            return exhausted(opts, iterations);
        };
        if pg <= opts.gtol_rel * scale {
            let text = format!("projected gradient norm {pg:e} below gtol_rel * max(1, |f|)");
            return done(text, true, iterations);
        }
        // The gradient of a large objective (|f| ~ N) cannot always reach gtol_rel: near
        // the optimum its rounding error is of that size. When the last cycle's inverse
        // Hessian H predicts a further decrease g'Hg / 2 below ftol_rel * max(1, |f|), a
        // restart (whose fresh first step leaves the optimum and costs a line search)
        // cannot gain anything the objective's tolerance would see.
        if let Some(h) = last_h.as_ref() {
            let decrease = 0.5 * quadratic_form(h, &g);
            if pg <= ACCEPT_REL * scale && (0.0..=opts.ftol_rel * scale).contains(&decrease) {
                let text = format!(
                    "predicted further decrease {decrease:e} below ftol_rel * max(1, |f|) \
                     (projected gradient norm {pg:e})"
                );
                return done(text, true, iterations);
            }
        }
        let (note, f_new) = match cycle(tracker, opts, (x, f), g) {
            Ok(end) => {
                iterations += end.iterations;
                last_h = end.inv_hessian;
                (String::from("a restart made no progress"), end.best)
            }
            Err(_) if tracker.is_exhausted() => return exhausted(opts, iterations),
            Err(e) => (e, tracker.best_free().1),
        };
        if f - f_new <= opts.ftol_rel * scale {
            return stalled(tracker, opts, &note, iterations);
        }
    }
    done(
        "bfgs kept improving after every restart; raise max_evaluations or try bobyqa".into(),
        false,
        iterations,
    )
}

/// g' H g for a square H given by rows (NaN if the sizes differ).
fn quadratic_form(h: &[Vec<f64>], g: &[f64]) -> f64 {
    if h.len() != g.len() || h.iter().any(|row| row.len() != g.len()) {
        return f64::NAN;
    }
    h.iter()
        .zip(g)
        .map(|(row, gi)| gi * row.iter().zip(g).map(|(a, b)| a * b).sum::<f64>())
        .sum()
}

/// How one BFGS cycle ended.
struct CycleEnd {
    /// argmin's iterations.
    iterations: u64,
    /// The best value it found.
    best: f64,
    /// Its final inverse Hessian approximation (rows).
    inv_hessian: Option<Vec<Vec<f64>>>,
}

/// One argmin BFGS run from (x, f) with gradient g, or the error text.
///
/// The cost is not handed to argmin's state: argmin would record it as both the current
/// and the previous cost and stop at once on its cost-change test.
fn cycle(
    tracker: &Tracker<'_>,
    opts: &OptimOptions,
    (x, f): (Vec<f64>, f64),
    g: Vec<f64>,
) -> Result<CycleEnd, String> {
    let gnorm = g
        .iter()
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    let s = opts.initial_step / gnorm;
    let h0: Vec<Vec<f64>> = (0..x.len())
        .map(|i| (0..x.len()).map(|j| if i == j { s } else { 0.0 }).collect())
        .collect();
    let scale = f.abs().max(1.0);
    let ls: MoreThuenteLineSearch<Vec<f64>, Vec<f64>, f64> = MoreThuenteLineSearch::new();
    let solver = BFGS::new(ls)
        .with_tolerance_grad(opts.gtol_rel * scale)
        .and_then(|b| b.with_tolerance_cost(opts.ftol_rel * scale))
        .map_err(|e| e.to_string())?;
    let result = Executor::new(Adapter { tracker }, solver)
        .configure(|st| {
            st.param(x)
                .gradient(g)
                .inv_hessian(h0)
                .max_iters(opts.max_evaluations as u64)
        })
        .ctrlc(false)
        .run()
        .map_err(|e| format!("argmin: {e}"))?;
    let mut state = result.state;
    Ok(CycleEnd {
        iterations: state.get_iter(),
        best: state.get_best_cost(),
        inv_hessian: state.take_inv_hessian(),
    })
}

/// Progress stopped: converged if the projected gradient is small enough.
fn stalled(
    tracker: &Tracker<'_>,
    opts: &OptimOptions,
    note: &str,
    iterations: u64,
) -> SolverOutcome {
    let (_, f) = tracker.best_free();
    let Ok((_, pg)) = tracker.projected_gradient() else {
        return exhausted(opts, iterations);
    };
    let ok = pg <= ACCEPT_REL * f.abs().max(1.0);
    let verdict = if ok {
        "accepted"
    } else {
        "too large: not a stationary point"
    };
    let text = format!("no further progress ({note}); projected gradient norm {pg:e} {verdict}");
    done(text, ok, iterations)
}

fn exhausted(opts: &OptimOptions, iterations: u64) -> SolverOutcome {
    let text = format!(
        "maximum evaluations ({}) reached before convergence; raise max_evaluations",
        opts.max_evaluations
    );
    done(text, false, iterations)
}

fn done(termination: String, converged: bool, iterations: u64) -> SolverOutcome {
    SolverOutcome {
        termination,
        converged,
        iterations,
    }
}
