//! A final Newton polish on the analytic gradient, after a gradient solver converged.
//!
//! BFGS stops when the objective's predicted further decrease falls below `ftol_rel`; on a
//! flat optimum that leaves θ determined only to about the square root of that tolerance,
//! so two fits of the same data whose sums differ in the last bits (rows added in another
//! order, e.g. Spark partitions) stop at visibly different θ. Newton steps with a Hessian
//! from forward differences of the analytic gradient converge to where the gradient
//! vanishes, which rounding moves far less.

use crate::tracker::Tracker;

/// At most this many Newton steps.
const MAX_STEPS: usize = 4;
/// Stop once a step moves no coordinate by more than this (relative to max(1, |x|)): the
/// point is then where the gradient vanishes to within its rounding.
const STEP_TOL: f64 = 1e-10;
/// A polish step may move a coordinate by at most this (relative to max(1, |x|)): the
/// polish refines a converged point and never replaces the solver.
const MAX_MOVE: f64 = 1e-3;
/// The objective's rounding, relative to max(1, |f|): a REML criterion computed from sums
/// loses more than a few ulps to cancellation, so points this close in value are equal.
const OBJECTIVE_NOISE: f64 = 1e-12;
/// Relative step of the forward differences of the gradient.
const HESSIAN_STEP: f64 = 1e-6;
/// Coordinates this close to an edge (relative to max(1, |edge|)) are held: the objective
/// is not smooth across a boundary.
const EDGE_HOLD: f64 = 1e-4;
/// The polish needs this many Hessian columns at most; wider problems keep the solver's
/// point (the Hessian would cost as many gradients as the solver's whole run).
const MAX_DIM: usize = 32;

/// Polish the tracker's best point; returns a note for the termination text, or `None`
/// when nothing was tried. The best point becomes each accepted Newton iterate.
///
/// The Hessian is computed once, at the solver's point, and reused for every step (a
/// chord method): near the optimum it changes by far less than its own finite-difference
/// error, so each step still shrinks the distance to the optimum by orders of magnitude.
/// A step is taken whenever it does not raise the objective beyond its rounding (on a flat
/// optimum the objective cannot tell the points apart, the gradient can), and the polish
/// stops on the step's size, not on a gradient threshold that a flat surface meets early.
pub(crate) fn refine(tracker: &Tracker<'_>, edges: &[f64]) -> Option<String> {
    let (x0, _) = tracker.best_free();
    let (lo, hi) = tracker.free_bounds();
    let edges = tracker.free_edges(edges);
    let near = |x: f64, e: f64| e.is_finite() && (x - e).abs() <= EDGE_HOLD * e.abs().max(1.0);
    let moving: Vec<usize> = (0..x0.len())
        .filter(|&i| !near(x0[i], edges[i]) && !near(x0[i], lo[i]) && !near(x0[i], hi[i]))
        .collect();
    if moving.is_empty() || moving.len() > MAX_DIM {
        return None;
    }
    let mut g = gradient(tracker, &x0, &moving)?;
    let g_start = g.iter().fold(0.0, |m: f64, v| m.max(v.abs()));
    let Some(factor) = hessian_factor(tracker, &x0, &g, &moving) else {
        return Some(format!(
            "; Newton polish: no step (the Hessian is not positive definite; gradient \
             {g_start:.3e})"
        ));
    };
    let mut steps = 0;
    let mut last = 0.0;
    for _ in 0..MAX_STEPS {
        let (x, f) = tracker.best_free();
        let step = factor.solve(g.iter().map(|v| -v).collect());
        let size = relative_size(&x, &moving, &step);
        let mut trial = x.clone();
        for (&i, s) in moving.iter().zip(&step) {
            trial[i] += s;
        }
        let outside = trial
            .iter()
            .zip(lo.iter().zip(&hi))
            .any(|(t, (l, h))| t < l || t > h);
        if size > MAX_MOVE || outside || moving.iter().any(|&i| crosses(x[i], trial[i], edges[i])) {
            break;
        }
        let Ok(f_trial) = tracker.value(&trial) else {
            break;
        };
        // Near the optimum the objective changes by less than its rounding: a step that
        // does not raise it beyond rounding is taken, unless the quadratic model promised
        // a decrease above rounding, which must then show.
        let noise = OBJECTIVE_NOISE * f.abs().max(1.0);
        let promised = -0.5 * g.iter().zip(&step).map(|(a, b)| a * b).sum::<f64>();
        if (promised > noise && f_trial >= f) || f_trial > f + noise {
            break;
        }
        tracker.restart_from(&trial);
        steps += 1;
        last = size;
        if size <= STEP_TOL {
            break;
        }
        let Some(next) = gradient(tracker, &trial, &moving) else {
            break;
        };
        g = next;
    }
    Some(format!(
        "; Newton polish: {steps} step(s) (the last moved θ by {last:.1e}, relative), \
         gradient at the solver's point {g_start:.3e}"
    ))
}

/// The gradient's moving coordinates at `x`, or `None` without a gradient.
fn gradient(tracker: &Tracker<'_>, x: &[f64], moving: &[usize]) -> Option<Vec<f64>> {
    let mut g = vec![0.0; x.len()];
    tracker.analytic_gradient_at(x, &mut g).then_some(())?;
    Some(moving.iter().map(|&i| g[i]).collect())
}

/// The Cholesky factor of the Hessian over the moving coordinates at `x` (forward
/// differences of the gradient `g` there), or `None` when a gradient is missing or the
/// Hessian is not positive definite.
fn hessian_factor(
    tracker: &Tracker<'_>,
    x: &[f64],
    g: &[f64],
    moving: &[usize],
) -> Option<Cholesky> {
    let m = moving.len();
    let mut h = vec![0.0; m * m];
    let mut xp = x.to_vec();
    for (col, &j) in moving.iter().enumerate() {
        let step = HESSIAN_STEP * x[j].abs().max(1.0);
        xp[j] = x[j] + step;
        let gp = gradient(tracker, &xp, moving);
        xp[j] = x[j];
        for (row, v) in gp?.iter().enumerate() {
            h[row * m + col] = (v - g[row]) / step;
        }
    }
    for r in 0..m {
        for c in 0..r {
            let mean = 0.5 * (h[r * m + c] + h[c * m + r]);
            h[r * m + c] = mean;
            h[c * m + r] = mean;
        }
    }
    Cholesky::new(h, m)
}

/// The lower Cholesky factor of a symmetric positive definite matrix (row-major).
struct Cholesky {
    l: Vec<f64>,
    m: usize,
}

impl Cholesky {
    /// Factor `h` (overwritten), or `None` when it is not positive definite.
    fn new(mut h: Vec<f64>, m: usize) -> Option<Self> {
        for j in 0..m {
            let d = h[j * m + j] - (0..j).map(|k| h[j * m + k].powi(2)).sum::<f64>();
            if !(d > 0.0 && d.is_finite()) {
                return None;
            }
            let d = d.sqrt();
            h[j * m + j] = d;
            for i in j + 1..m {
                let s = h[i * m + j] - (0..j).map(|k| h[i * m + k] * h[j * m + k]).sum::<f64>();
                h[i * m + j] = s / d;
            }
        }
        Some(Self { l: h, m })
    }

    /// Solve H s = b.
    fn solve(&self, mut b: Vec<f64>) -> Vec<f64> {
        let (h, m) = (&self.l, self.m);
        for i in 0..m {
            b[i] = (b[i] - (0..i).map(|k| h[i * m + k] * b[k]).sum::<f64>()) / h[i * m + i];
        }
        for i in (0..m).rev() {
            b[i] = (b[i] - (i + 1..m).map(|k| h[k * m + i] * b[k]).sum::<f64>()) / h[i * m + i];
        }
        b
    }
}

fn relative_size(x: &[f64], moving: &[usize], step: &[f64]) -> f64 {
    moving
        .iter()
        .zip(step)
        .map(|(&i, s)| s.abs() / x[i].abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Whether moving from `a` to `b` passes the edge `e` (a finite edge only).
fn crosses(a: f64, b: f64, e: f64) -> bool {
    e.is_finite() && (a - e) * (b - e) <= 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        let s = Cholesky::new(vec![4.0, 2.0, 2.0, 3.0], 2)
            .unwrap()
            .solve(vec![2.0, 1.0]);
        assert!((4.0 * s[0] + 2.0 * s[1] - 2.0).abs() < 1e-14);
        assert!((2.0 * s[0] + 3.0 * s[1] - 1.0).abs() < 1e-14);
        assert!(Cholesky::new(vec![1.0, 2.0, 2.0, 1.0], 2).is_none());
    }
}
