//! BFGS with a Moré–Thuente line search as an argmin [`Solver`], restarted with a fresh
//! inverse Hessian from the best point until the projected gradient is small or progress
//! stops.

use crate::linesearch::MoreThuente;
use crate::tracker::{Adapter, Tracker};
use crate::{OptimOptions, SolverOutcome};
use argmin::core::{
    CostFunction, Error, Executor, Gradient, IterState, Problem, Solver, State, TerminationReason,
    TerminationStatus, KV,
};

type BfgsState = IterState<Vec<f64>, Vec<f64>, (), (), (), f64>;

/// Quasi-Newton BFGS with a Moré–Thuente line search (strong Wolfe conditions,
/// c1 = 1e-4, c2 = 0.9, first trial step 1).
///
/// The inverse Hessian approximation H (n × n, row-major, symmetric) lives in the solver
/// and is updated in place, H ← (I − ρ s y')H(I − ρ y s') + ρ s s' with ρ = 1 / y's,
/// which is H − ρ(s v' + v s') + (ρ + ρ² y'v) s s' for v = H y: an iteration costs
/// O(n²) arithmetic and allocates only the new point. The line search runs inside the
/// iteration on the solver's buffers, and its last gradient is the new gradient. The
/// update is skipped when y's is not positive (only possible when the line search ended
/// without meeting the curvature condition), which keeps H positive definite.
///
/// Stops when the gradient's norm is below `tol_grad` or an iteration changes the value
/// by less than `tol_cost`.
#[derive(Debug, Clone)]
pub struct Bfgs {
    h: Vec<f64>,
    tol_grad: f64,
    tol_cost: f64,
    line: MoreThuente,
    dir: Vec<f64>,
    hy: Vec<f64>,
}

impl Bfgs {
    /// A solver with these tolerances; H starts as the identity unless
    /// [`Self::with_inv_hessian`] gives it.
    pub fn new(tol_grad: f64, tol_cost: f64) -> Self {
        Bfgs {
            h: Vec::new(),
            tol_grad,
            tol_cost,
            line: MoreThuente::default(),
            dir: Vec::new(),
            hy: Vec::new(),
        }
    }

    /// Start from this inverse Hessian (n × n, row-major, symmetric positive definite);
    /// ignored unless it has n² entries for the n parameters of the start.
    pub fn with_inv_hessian(mut self, h: Vec<f64>) -> Self {
        self.h = h;
        self
    }

    /// The current inverse Hessian approximation (n × n, row-major).
    pub fn inv_hessian(&self) -> &[f64] {
        &self.h
    }

    /// The rank-two update from step `s` and gradient change `y`.
    fn update(&mut self, s: &[f64], y: &[f64]) {
        let ys = dot(y, s);
        if !(ys > 0.0 && ys.is_finite()) {
            return;
        }
        let n = s.len();
        self.hy.clear();
        self.hy
            .extend(self.h.chunks_exact(n).map(|row| dot(row, y)));
        let rho = 1.0 / ys;
        let c = rho + rho * rho * dot(y, &self.hy);
        for ((row, &si), &vi) in self.h.chunks_exact_mut(n).zip(s).zip(&self.hy) {
            for ((hij, &sj), &vj) in row.iter_mut().zip(s).zip(&self.hy) {
                *hij += c * si * sj - rho * (si * vj + vi * sj);
            }
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// s I as an n × n row-major matrix.
fn scaled_identity(n: usize, s: f64) -> Vec<f64> {
    (0..n * n)
        .map(|k| if k % (n + 1) == 0 { s } else { 0.0 })
        .collect()
}

impl<O> Solver<O, BfgsState> for Bfgs
where
    O: CostFunction<Param = Vec<f64>, Output = f64>
        + Gradient<Param = Vec<f64>, Gradient = Vec<f64>>,
{
    fn name(&self) -> &str {
        "BFGS"
    }

    fn init(
        &mut self,
        problem: &mut Problem<O>,
        mut state: BfgsState,
    ) -> Result<(BfgsState, Option<KV>), Error> {
        let x = state.take_param().ok_or_else(|| {
            Error::msg("BFGS needs a starting point: configure the state's param")
        })?;
        let f = if state.get_cost().is_finite() {
            state.get_cost()
        } else {
            problem.cost(&x)?
        };
        let g = match state.take_gradient() {
            Some(g) if g.len() == x.len() => g,
            _ => problem.gradient(&x)?,
        };
        let n = x.len();
        if self.h.len() != n * n {
            self.h = scaled_identity(n, 1.0);
        }
        Ok((state.param(x).cost(f).gradient(g), None))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        mut state: BfgsState,
    ) -> Result<(BfgsState, Option<KV>), Error> {
        let (Some(x), Some(mut g)) = (state.take_param(), state.take_gradient()) else {
            return Err(Error::msg("BFGS: no point or gradient in the state"));
        };
        let f = state.get_cost();
        let n = x.len();
        // The direction −H g.
        let mut dir = std::mem::take(&mut self.dir);
        dir.clear();
        dir.extend(self.h.chunks_exact(n).map(|row| -dot(row, &g)));
        let dg0 = dot(&g, &dir);
        let mut point = x.clone();
        let mut g_new = Vec::new();
        let line = self.line;
        let searched = line.search(f, dg0, 1.0, |step| {
            for ((p, &xi), &di) in point.iter_mut().zip(&x).zip(&dir) {
                *p = xi + step * di;
            }
            let fs = problem.cost(&point)?;
            g_new = problem.gradient(&point)?;
            Ok((fs, dot(&g_new, &dir)))
        });
        let (_, f_new) = match searched {
            Ok(r) => r,
            Err(e) => {
                self.dir = dir;
                return Err(e);
            }
        };
        // s = point − x into `dir`, y = g_new − g into `g`.
        for ((d, &p), &xi) in dir.iter_mut().zip(&point).zip(&x) {
            *d = p - xi;
        }
        for (gi, &gn) in g.iter_mut().zip(&g_new) {
            *gi = gn - *gi;
        }
        self.update(&dir, &g);
        self.dir = dir;
        Ok((state.param(point).cost(f_new).gradient(g_new), None))
    }

    fn terminate(&mut self, state: &BfgsState) -> TerminationStatus {
        let gnorm = state
            .get_gradient()
            .map_or(f64::INFINITY, |g| dot(g, g).sqrt());
        if gnorm < self.tol_grad || (state.get_prev_cost() - state.get_cost()).abs() < self.tol_cost
        {
            TerminationStatus::Terminated(TerminationReason::SolverConverged)
        } else {
            TerminationStatus::NotTerminated
        }
    }
}

/// At most this many BFGS cycles (the first plus restarts).
const MAX_CYCLES: usize = 8;
/// When progress stops, a projected gradient below `ACCEPT_REL * max(1, |f|)` is still
/// accepted as convergence (finite-difference gradients are noisy at the optimum).
const ACCEPT_REL: f64 = 1e-5;

pub(crate) fn run(tracker: &mut Tracker<'_>, opts: &OptimOptions) -> SolverOutcome {
    let tracker = &*tracker;
    let mut iterations = 0;
    let mut last_h: Option<Vec<f64>> = None;
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
                last_h = Some(end.inv_hessian);
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

/// g' H g for a square H given row-major (NaN if the sizes differ).
fn quadratic_form(h: &[f64], g: &[f64]) -> f64 {
    if h.len() != g.len() * g.len() {
        return f64::NAN;
    }
    h.chunks_exact(g.len().max(1))
        .zip(g)
        .map(|(row, gi)| gi * dot(row, g))
        .sum()
}

/// How one BFGS cycle ended.
struct CycleEnd {
    /// argmin's iterations.
    iterations: u64,
    /// The best value it found.
    best: f64,
    /// Its final inverse Hessian approximation (row-major).
    inv_hessian: Vec<f64>,
}

/// One BFGS run (argmin executor, [`Bfgs`]) from (x, f) with gradient g, or the error text.
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
    let h0 = scaled_identity(x.len(), s);
    let scale = f.abs().max(1.0);
    let solver = Bfgs::new(opts.gtol_rel * scale, opts.ftol_rel * scale).with_inv_hessian(h0);
    let result = Executor::new(Adapter { tracker }, solver)
        .configure(|st| {
            st.param(x)
                .gradient(g)
                .max_iters(opts.max_evaluations as u64)
        })
        .ctrlc(false)
        .timer(false)
        .run()
        .map_err(|e| format!("argmin: {e}"))?;
    Ok(CycleEnd {
        iterations: result.state.get_iter(),
        best: result.state.get_best_cost(),
        inv_hessian: result.solver.h,
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Rosenbrock;

    impl CostFunction for Rosenbrock {
        type Param = Vec<f64>;
        type Output = f64;
        fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
            Ok((1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2))
        }
    }

    impl Gradient for Rosenbrock {
        type Param = Vec<f64>;
        type Gradient = Vec<f64>;
        fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
            let t = x[1] - x[0] * x[0];
            Ok(vec![-2.0 * (1.0 - x[0]) - 400.0 * x[0] * t, 200.0 * t])
        }
    }

    #[test]
    fn minimizes_rosenbrock_through_the_executor() {
        let r = Executor::new(Rosenbrock, Bfgs::new(1e-10, 0.0))
            .configure(|s| s.param(vec![-1.2, 1.0]).max_iters(200))
            .ctrlc(false)
            .run()
            .unwrap();
        let x = r.state.get_best_param().unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-7 && (x[1] - 1.0).abs() < 1e-7,
            "{x:?}"
        );
        assert!(r.state.get_iter() < 60, "{} iterations", r.state.get_iter());
        // The inverse Hessian approximates the true inverse at (1, 1): [[0.5, 1], [1, 2.005]].
        let h = r.solver.inv_hessian();
        for (a, b) in h.iter().zip([0.5, 1.0, 1.0, 2.005]) {
            assert!((a - b).abs() < 0.05 * b, "{h:?}");
        }
    }

    #[test]
    fn in_place_update_is_the_bfgs_formula() {
        let h0 = vec![2.0, 0.3, -0.1, 0.3, 1.0, 0.2, -0.1, 0.2, 0.5];
        let (s, y) = ([0.4, -0.2, 0.7], [1.1, 0.1, 0.9]);
        let mut b = Bfgs::new(0.0, 0.0).with_inv_hessian(h0.clone());
        b.update(&s, &y);
        let rho = 1.0 / dot(&s, &y);
        let at = |m: &[f64], i: usize, j: usize| m[3 * i + j];
        // (I − ρ s y') H (I − ρ y s') + ρ s s', element by element.
        let left: Vec<f64> = (0..9)
            .map(|k| f64::from(u8::from(k % 4 == 0)) - rho * s[k / 3] * y[k % 3])
            .collect();
        let mul = |a: &[f64], b: &[f64]| -> Vec<f64> {
            (0..9)
                .map(|k| (0..3).map(|l| at(a, k / 3, l) * at(b, l, k % 3)).sum())
                .collect()
        };
        let right: Vec<f64> = (0..9).map(|k| at(&left, k % 3, k / 3)).collect();
        let want: Vec<f64> = mul(&mul(&left, &h0), &right)
            .iter()
            .enumerate()
            .map(|(k, v)| v + rho * s[k / 3] * s[k % 3])
            .collect();
        for (a, w) in b.inv_hessian().iter().zip(&want) {
            assert!((a - w).abs() < 1e-12, "{:?} vs {want:?}", b.inv_hessian());
        }
        // A step with y's ≤ 0 leaves H as it was.
        let before = b.inv_hessian().to_vec();
        b.update(&s, &[-1.0, 0.0, 0.0]);
        assert_eq!(b.inv_hessian(), &before[..]);
    }
}
