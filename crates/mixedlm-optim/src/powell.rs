//! Powell's conjugate-direction method with Brent line searches, as an argmin [`Solver`].

use crate::brent::{bracket, brent_core};
use crate::tracker::{Adapter, Tracker};
use crate::{OptimOptions, SolverOutcome};
use argmin::core::{
    CostFunction, Error, Executor, IterState, Problem, Solver, State, TerminationReason,
    TerminationStatus, KV,
};

type PowellState = IterState<Vec<f64>, (), (), (), (), f64>;

/// Relative accuracy of the line searches (about √ε: a quadratic's minimizer cannot be
/// located more finely from function values).
const LINE_TOL_REL: f64 = 1.5e-8;
/// Brent iterations per line search.
const LINE_MAX_ITER: usize = 100;

/// Powell's derivative-free conjugate-direction method.
///
/// Each iteration minimizes along every direction of the current set in turn (Brent's
/// method after a downhill bracket), then along the overall displacement of the sweep,
/// which replaces the direction of largest decrease unless Powell's test says that would
/// make the set degenerate. It stops when a sweep lowers the objective by less than
/// `ftol_rel * (|f_start| + |f_end|) / 2` or moves no coordinate more than `xtol_abs`.
#[derive(Debug, Clone)]
pub struct Powell {
    directions: Vec<Vec<f64>>,
    ftol_rel: f64,
    xtol_abs: f64,
    step: f64,
    converged: bool,
}

impl Powell {
    /// A solver with the given tolerances and first bracketing step; the direction set
    /// starts as the coordinate axes.
    pub fn new(ftol_rel: f64, xtol_abs: f64, step: f64) -> Self {
        Powell {
            directions: Vec::new(),
            ftol_rel,
            xtol_abs,
            step,
            converged: false,
        }
    }

    /// Start from this direction set instead of the coordinate axes (ignored unless it
    /// holds one direction of the right length per parameter).
    pub fn with_directions(mut self, directions: Vec<Vec<f64>>) -> Self {
        self.directions = directions;
        self
    }

    /// Minimize along `dir` from `x` (value `fx`); returns the new point and value.
    fn line_min<O>(
        &self,
        problem: &mut Problem<O>,
        x: &[f64],
        fx: f64,
        dir: &[f64],
    ) -> Result<(Vec<f64>, f64), Error>
    where
        O: CostFunction<Param = Vec<f64>, Output = f64>,
    {
        let point =
            |t: f64| -> Vec<f64> { x.iter().zip(dir).map(|(xi, di)| xi + t * di).collect() };
        let mut phi = |t: f64| problem.cost(&point(t));
        let ([a, b, c], fb) = bracket(&mut phi, fx, self.step)?;
        let (t, ft) = if a == c {
            (b, fb)
        } else {
            let tol = (LINE_TOL_REL, self.xtol_abs, LINE_MAX_ITER);
            let r = brent_core(&mut phi, (a.min(c), a.max(c)), (b, fb), tol)?;
            (r.x, r.fx)
        };
        Ok(if ft < fx {
            (point(t), ft)
        } else {
            (x.to_vec(), fx)
        })
    }
}

impl<O> Solver<O, PowellState> for Powell
where
    O: CostFunction<Param = Vec<f64>, Output = f64>,
{
    fn name(&self) -> &str {
        "Powell"
    }

    fn init(
        &mut self,
        problem: &mut Problem<O>,
        mut state: PowellState,
    ) -> Result<(PowellState, Option<KV>), Error> {
        let x = state.take_param().ok_or_else(|| {
            Error::msg("Powell needs a starting point: configure the state's param")
        })?;
        let f = if state.get_cost().is_finite() {
            state.get_cost()
        } else {
            problem.cost(&x)?
        };
        let n = x.len();
        let given = self.directions.len() == n && self.directions.iter().all(|d| d.len() == n);
        if !given {
            self.directions = (0..n)
                .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
                .collect();
        }
        self.converged = false;
        Ok((state.param(x).cost(f), None))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        mut state: PowellState,
    ) -> Result<(PowellState, Option<KV>), Error> {
        let x0 = state
            .take_param()
            .ok_or_else(|| Error::msg("Powell: no parameter in state"))?;
        let f0 = state.get_cost();
        let (mut x, mut fx) = (x0.clone(), f0);
        let (mut biggest, mut ibig) = (0.0, 0);
        for i in 0..self.directions.len() {
            let before = fx;
            (x, fx) = self.line_min(problem, &x, fx, &self.directions[i])?;
            if before - fx > biggest {
                (biggest, ibig) = (before - fx, i);
            }
        }
        let moved = x
            .iter()
            .zip(&x0)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        if 2.0 * (f0 - fx) <= self.ftol_rel * (f0.abs() + fx.abs()) + 1e-300
            || moved <= self.xtol_abs
        {
            self.converged = true;
            return Ok((state.param(x).cost(fx), None));
        }
        (x, fx) = self.update_directions(problem, (&x0, f0), (x, fx), (biggest, ibig))?;
        Ok((state.param(x).cost(fx), None))
    }

    fn terminate(&mut self, _state: &PowellState) -> TerminationStatus {
        if self.converged {
            TerminationStatus::Terminated(TerminationReason::SolverConverged)
        } else {
            TerminationStatus::NotTerminated
        }
    }
}

impl Powell {
    /// Powell's rule: try the sweep's displacement as a new direction; keep it (dropping
    /// the direction of largest decrease) only when the extrapolated point is better and
    /// the test below says the set stays well conditioned.
    fn update_directions<O>(
        &mut self,
        problem: &mut Problem<O>,
        (x0, f0): (&[f64], f64),
        (x, fx): (Vec<f64>, f64),
        (biggest, ibig): (f64, usize),
    ) -> Result<(Vec<f64>, f64), Error>
    where
        O: CostFunction<Param = Vec<f64>, Output = f64>,
    {
        let extrapolated: Vec<f64> = x.iter().zip(x0).map(|(a, b)| 2.0 * a - b).collect();
        let fe = problem.cost(&extrapolated)?;
        if fe >= f0 {
            return Ok((x, fx));
        }
        let t =
            2.0 * (f0 - 2.0 * fx + fe) * (f0 - fx - biggest).powi(2) - biggest * (f0 - fe).powi(2);
        if t >= 0.0 {
            return Ok((x, fx));
        }
        let mut dir: Vec<f64> = x.iter().zip(x0).map(|(a, b)| a - b).collect();
        let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Ok((x, fx));
        }
        dir.iter_mut().for_each(|v| *v /= norm);
        let (x, fx) = self.line_min(problem, &x, fx, &dir)?;
        let last = self.directions.len() - 1;
        self.directions.swap(ibig, last);
        self.directions[last] = dir;
        Ok((x, fx))
    }
}

/// Rotated direction sets tried after the first run, while they lower the objective.
/// A point that is a minimum along every axis but not jointly (a saddle such as θ = 0 of
/// a profiled deviance, where each variance alone is best at zero but a correlated pair
/// is not) stops a run along the axes; a basis mixing the axes escapes it.
const ROTATIONS: usize = 4;

pub(crate) fn run(tracker: &mut Tracker<'_>, opts: &OptimOptions) -> SolverOutcome {
    let tracker = &*tracker;
    let mut outcome = run_once(tracker, opts, Vec::new());
    let mut iterations = outcome.iterations;
    let mut misses = 0;
    for k in 1..=ROTATIONS {
        if !outcome.converged || misses == 2 || tracker.n_free() < 2 {
            break;
        }
        let (_, f_before) = tracker.best_free();
        let next = run_once(tracker, opts, rotated_basis(tracker.n_free(), k));
        iterations += next.iterations;
        let (_, f_after) = tracker.best_free();
        if f_before - f_after > opts.ftol_rel * f_before.abs().max(1.0) {
            misses = 0;
            outcome = SolverOutcome {
                termination: format!(
                    "{}; a restart in a rotated basis lowered the objective",
                    next.termination
                ),
                ..next
            };
        } else {
            misses += 1;
        }
    }
    outcome.iterations = iterations;
    outcome
}

/// An orthonormal basis mixing every axis: the Householder reflection I - 2 v v' with
/// v ∝ (1, s, 1, s, ...), s = (-1)^k.
fn rotated_basis(n: usize, k: usize) -> Vec<Vec<f64>> {
    let s = if k % 2 == 0 { -1.0 } else { 1.0 };
    let norm = (n as f64).sqrt();
    let v: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { s } / norm)
        .collect();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| f64::from(u8::from(i == j)) - 2.0 * v[i] * v[j])
                .collect()
        })
        .collect()
}

fn run_once(
    tracker: &Tracker<'_>,
    opts: &OptimOptions,
    directions: Vec<Vec<f64>>,
) -> SolverOutcome {
    let (x, f) = tracker.best_free();
    let solver =
        Powell::new(opts.ftol_rel, opts.xtol_abs, opts.initial_step).with_directions(directions);
    let remaining = tracker.remaining() as u64;
    let result = Executor::new(Adapter { tracker }, solver)
        .configure(|s| s.param(x).cost(f).max_iters(remaining))
        .ctrlc(false)
        .run();
    match result {
        Ok(r) => {
            let iters = r.state.get_iter();
            match r.state.get_termination_reason() {
                Some(TerminationReason::SolverConverged) => SolverOutcome {
                    termination: "a sweep changed the objective by less than ftol_rel (or the point by less than xtol_abs)".into(),
                    converged: true,
                    iterations: iters,
                },
                other => SolverOutcome {
                    termination: format!("powell stopped without converging: {other:?}"),
                    converged: false,
                    iterations: iters,
                },
            }
        }
        Err(_) if tracker.is_exhausted() => SolverOutcome {
            termination: format!(
                "maximum evaluations ({}) reached before convergence; raise max_evaluations",
                opts.max_evaluations
            ),
            converged: false,
            iterations: 0,
        },
        Err(e) => SolverOutcome {
            termination: format!("powell failed: {e}"),
            converged: false,
            iterations: 0,
        },
    }
}
