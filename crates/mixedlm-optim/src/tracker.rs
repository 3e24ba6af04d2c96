//! The bookkeeping between a solver and the user's objective: evaluation budget and
//! counts, fixed coordinates, projection into the bounds, non-finite values, the best
//! point so far, the optional trace, and gradients (analytic or finite differences).

use crate::{Objective, OptimOptions, OptimizerName, NON_FINITE_PENALTY};
use std::cell::{Cell, RefCell};

/// Relative step of the central finite differences: about the cube root of machine
/// epsilon, which balances truncation and rounding error.
const FD_STEP: f64 = 6e-6;

/// Every evaluation (point, value), in order.
pub(crate) type Trace = Vec<(Vec<f64>, f64)>;

/// The evaluation budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exhausted;

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("evaluation budget exhausted")
    }
}

impl std::error::Error for Exhausted {}

/// Wraps the objective for the solvers. Methods take `&self` (interior mutability)
/// because argmin's problem traits do.
pub(crate) struct Tracker<'a> {
    obj: RefCell<&'a mut dyn Objective>,
    /// The full point handed to the objective (fixed coordinates stay at their value).
    full: RefCell<Vec<f64>>,
    grad_full: RefCell<Vec<f64>>,
    /// The last analytic gradient (free point, gradient): BFGS's restart test asks for the
    /// gradient at the best point, which its last line search has usually just computed.
    grad_cache: RefCell<(Vec<f64>, Vec<f64>)>,
    free: Vec<usize>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    project: bool,
    max_evals: usize,
    evals: Cell<usize>,
    grad_evals: Cell<usize>,
    analytic: Cell<Option<bool>>,
    exhausted: Cell<bool>,
    penalty_weight: Cell<f64>,
    best: RefCell<(Vec<f64>, f64)>,
    /// The last two (full point, value) pairs evaluated.
    memo: RefCell<Vec<(Vec<f64>, f64)>>,
    log: Option<RefCell<Trace>>,
}

impl<'a> Tracker<'a> {
    pub(crate) fn new(
        obj: &'a mut dyn Objective,
        x0: &[f64],
        lower: Vec<f64>,
        upper: Vec<f64>,
        opts: &OptimOptions,
    ) -> Self {
        let free = (0..x0.len()).filter(|&i| lower[i] < upper[i]).collect();
        Tracker {
            obj: RefCell::new(obj),
            full: RefCell::new(x0.to_vec()),
            grad_full: RefCell::new(vec![0.0; x0.len()]),
            grad_cache: RefCell::new((Vec::new(), Vec::new())),
            free,
            lower,
            upper,
            project: opts.optimizer != OptimizerName::Bobyqa,
            max_evals: opts.max_evaluations,
            evals: Cell::new(0),
            grad_evals: Cell::new(0),
            analytic: Cell::new(None),
            exhausted: Cell::new(false),
            penalty_weight: Cell::new(1.0),
            best: RefCell::new((x0.to_vec(), f64::INFINITY)),
            memo: RefCell::new(Vec::with_capacity(2)),
            log: opts.record_log.then(|| RefCell::new(Vec::new())),
        }
    }

    /// The number of free coordinates the solver works in.
    /// Evaluate trial points by projection from now on (for a gradient solver run after
    /// BOBYQA, whose own points never leave the box).
    pub(crate) fn project_from_now(&mut self) {
        self.project = true;
    }

    pub(crate) fn n_free(&self) -> usize {
        self.free.len()
    }

    /// The free coordinates of the full point `full`.
    pub(crate) fn free_part(&self, full: &[f64]) -> Vec<f64> {
        self.free.iter().map(|&i| full[i]).collect()
    }

    /// The free part of the current point (the start, until a solver evaluates).
    pub(crate) fn start(&self) -> Vec<f64> {
        self.free_part(&self.full.borrow())
    }

    /// The free part of the best point so far.
    pub(crate) fn best_free(&self) -> (Vec<f64>, f64) {
        let best = self.best.borrow();
        (self.free.iter().map(|&i| best.0[i]).collect(), best.1)
    }

    /// Replace the best point by the free point `x` (evaluated there, counted), so that
    /// solvers which start from the best point start from `x`; returns the previous best
    /// (full point and value) for [`Tracker::restore_best_if_better`].
    pub(crate) fn restart_from(&self, x: &[f64]) -> (Vec<f64>, f64) {
        let saved = self.best.borrow().clone();
        self.best.borrow_mut().1 = f64::INFINITY;
        // A finite value at `x` beats infinity, so `raw_value` records `x` as the best.
        if !self.raw_value(x).is_finite() {
            *self.best.borrow_mut() = saved.clone();
        }
        saved
    }

    /// Put `saved` back as the best point when it is better than the current best.
    pub(crate) fn restore_best_if_better(&self, saved: (Vec<f64>, f64)) {
        let mut best = self.best.borrow_mut();
        if saved.1 < best.1 {
            *best = saved;
        }
    }

    /// Edge values of the free coordinates: `edges` (full length) when given, else the
    /// lower bounds; non-finite entries mean no edge.
    pub(crate) fn free_edges(&self, edges: &[f64]) -> Vec<f64> {
        let source = if edges.len() == self.lower.len() {
            edges
        } else {
            &self.lower
        };
        self.free.iter().map(|&i| source[i]).collect()
    }

    /// Bounds of the free coordinates.
    pub(crate) fn free_bounds(&self) -> (Vec<f64>, Vec<f64>) {
        (
            self.free.iter().map(|&i| self.lower[i]).collect(),
            self.free.iter().map(|&i| self.upper[i]).collect(),
        )
    }

    /// Evaluations still allowed.
    pub(crate) fn remaining(&self) -> usize {
        self.max_evals.saturating_sub(self.evals.get())
    }

    /// True once a request was refused for lack of budget.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.exhausted.get()
    }

    /// (evaluations, gradient evaluations).
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.evals.get(), self.grad_evals.get())
    }

    /// The best point (full) and its value.
    pub(crate) fn best(&self) -> (Vec<f64>, f64) {
        self.best.borrow().clone()
    }

    /// The trace, when one was recorded.
    pub(crate) fn take_log(&mut self) -> Trace {
        self.log
            .as_mut()
            .map(|l| std::mem::take(l.get_mut()))
            .unwrap_or_default()
    }

    /// Evaluate the full point `alt` (counted, logged) and make it the start when its value
    /// is below `f0`, the value at the current start; otherwise the start stays. Returns
    /// whether `alt` became the start.
    pub(crate) fn prefer_alternative(&self, alt: &[f64], f0: f64) -> bool {
        let start = self.full.borrow().clone();
        let free_alt = self.free_part(alt);
        let fixed_differ = (0..alt.len()).any(|i| !self.free.contains(&i) && alt[i] != start[i]);
        if fixed_differ {
            return false;
        }
        let f = self.raw_value(&free_alt);
        if f.is_finite() && f < f0 {
            return true;
        }
        self.full.borrow_mut().copy_from_slice(&start);
        false
    }

    /// Evaluate at the full starting point (counted, logged).
    /// Also fixes the weight of the out-of-box penalty to `max(1, |f(x0)|)`.
    pub(crate) fn evaluate_full_start(&self) -> f64 {
        let x = self.start();
        let f = self.raw_value(&x);
        self.penalty_weight.set(f.abs().max(1.0));
        f
    }

    /// The solver's view of the objective at the free point `x`: counted; non-finite
    /// values replaced by [`NON_FINITE_PENALTY`]; in projection mode f(P(x)) plus
    /// `w * |x - P(x)|^2` (w = `max(1, |f(x0)|)`), so the view is not flat outside the box
    /// and its minimizers are the box's; `Err` once the budget is spent.
    pub(crate) fn value(&self, x: &[f64]) -> Result<f64, Exhausted> {
        if self.remaining() == 0 {
            self.exhausted.set(true);
            return Err(Exhausted);
        }
        let f = self.raw_value(x);
        if !f.is_finite() {
            return Ok(NON_FINITE_PENALTY);
        }
        Ok(f + self.penalty_weight.get() * self.outside_distance2(x))
    }

    /// |x - P(x)|^2 in projection mode, else 0.
    fn outside_distance2(&self, x: &[f64]) -> f64 {
        if !self.project {
            return 0.0;
        }
        self.free
            .iter()
            .zip(x)
            .map(|(&i, &xi)| (xi - xi.clamp(self.lower[i], self.upper[i])).powi(2))
            .sum()
    }

    fn raw_value(&self, x: &[f64]) -> f64 {
        let mut full = self.full.borrow_mut();
        for (&i, &xi) in self.free.iter().zip(x) {
            full[i] = if self.project {
                xi.clamp(self.lower[i], self.upper[i])
            } else {
                xi
            };
        }
        // Solvers evaluate their start again (BOBYQA does, after `evaluate_full_start`):
        // the last two values are remembered, and a repeat is neither recomputed nor counted.
        let remembered = self
            .memo
            .borrow()
            .iter()
            .find(|(p, _)| *p == *full)
            .map(|m| m.1);
        let f = match remembered {
            Some(f) => f,
            None => {
                let f = self.obj.borrow_mut().value(&full);
                let mut memo = self.memo.borrow_mut();
                if memo.len() == 2 {
                    // the older entry's vector takes the new point (no allocation)
                    let mut old = memo.remove(0);
                    old.0.clone_from(&full);
                    old.1 = f;
                    memo.push(old);
                } else {
                    memo.push((full.clone(), f));
                }
                self.evals.set(self.evals.get() + 1);
                if let Some(log) = &self.log {
                    log.borrow_mut().push((full.clone(), f));
                }
                f
            }
        };
        let mut best = self.best.borrow_mut();
        if f.is_finite() && f < best.1 {
            best.0.copy_from_slice(&full);
            best.1 = f;
        }
        f
    }

    /// The gradient of the solver's view at the free point `x` (value `fx` there), from
    /// the objective when it provides one, else by finite differences (2 evaluations per
    /// coordinate; one-sided at a bound).
    pub(crate) fn gradient(
        &self,
        x: &[f64],
        fx: Option<f64>,
        g: &mut [f64],
    ) -> Result<(), Exhausted> {
        if self.analytic.get() == Some(true) {
            let cache = self.grad_cache.borrow();
            if cache.0 == x && cache.1.len() == g.len() {
                g.copy_from_slice(&cache.1);
                return Ok(());
            }
        }
        self.grad_evals.set(self.grad_evals.get() + 1);
        if self.analytic.get() != Some(false) && self.analytic_gradient(x, g) {
            let mut cache = self.grad_cache.borrow_mut();
            cache.0.clear();
            cache.0.extend_from_slice(x);
            cache.1.clear();
            cache.1.extend_from_slice(g);
            return Ok(());
        }
        if self.remaining() < 2 * x.len() {
            self.exhausted.set(true);
            return Err(Exhausted);
        }
        let mut xp = x.to_vec();
        let mut fx = fx;
        for (k, gk) in g.iter_mut().enumerate() {
            *gk = self.partial(&mut xp, k, &mut fx)?;
        }
        Ok(())
    }

    fn partial(&self, xp: &mut [f64], k: usize, fx: &mut Option<f64>) -> Result<f64, Exhausted> {
        let (lo, hi) = (self.lower[self.free[k]], self.upper[self.free[k]]);
        let x = xp[k];
        let h = FD_STEP * x.abs().max(1.0);
        let inside = !self.project || (x - h >= lo && x + h <= hi);
        let (a, b) = match (inside, x + h <= hi) {
            (true, _) => (x - h, x + h),
            (false, true) => (x, x + h),
            (false, false) => (x - h, x),
        };
        let fa = self.at(xp, k, a, x, fx)?;
        let fb = self.at(xp, k, b, x, fx)?;
        xp[k] = x;
        Ok((fb - fa) / (b - a))
    }

    /// The value with coordinate k at `v`; at `v == x` the cached value at x.
    fn at(
        &self,
        xp: &mut [f64],
        k: usize,
        v: f64,
        x: f64,
        fx: &mut Option<f64>,
    ) -> Result<f64, Exhausted> {
        xp[k] = v;
        if v != x {
            return self.value(xp);
        }
        match *fx {
            Some(f) => Ok(f),
            None => {
                let f = self.value(xp)?;
                *fx = Some(f);
                Ok(f)
            }
        }
    }

    /// The objective's analytic gradient at the free point `x` (counted), or false when
    /// the objective has none there.
    pub(crate) fn analytic_gradient_at(&self, x: &[f64], g: &mut [f64]) -> bool {
        if self.analytic.get() == Some(false) {
            return false;
        }
        self.grad_evals.set(self.grad_evals.get() + 1);
        self.analytic_gradient(x, g)
    }

    fn analytic_gradient(&self, x: &[f64], g: &mut [f64]) -> bool {
        let mut full = self.full.borrow_mut();
        for (&i, &xi) in self.free.iter().zip(x) {
            full[i] = if self.project {
                xi.clamp(self.lower[i], self.upper[i])
            } else {
                xi
            };
        }
        let mut gfull = self.grad_full.borrow_mut();
        let ok = self.obj.borrow_mut().gradient(&full, &mut gfull);
        self.analytic.set(Some(ok));
        if !ok {
            return false;
        }
        let w = self.penalty_weight.get();
        for ((gk, &i), &xi) in g.iter_mut().zip(&self.free).zip(x) {
            let p = if self.project {
                xi.clamp(self.lower[i], self.upper[i])
            } else {
                xi
            };
            *gk = if p != xi {
                2.0 * w * (xi - p)
            } else if gfull[i].is_finite() {
                gfull[i]
            } else {
                0.0
            };
        }
        true
    }

    /// The gradient at the best point and its projected largest magnitude: components
    /// pushing out of the box at an active bound count as zero (the KKT measure).
    pub(crate) fn projected_gradient(&self) -> Result<(Vec<f64>, f64), Exhausted> {
        let (x, f) = self.best_free();
        let (lo, hi) = self.free_bounds();
        let mut g = vec![0.0; x.len()];
        self.gradient(&x, Some(f), &mut g)?;
        let norm = g
            .iter()
            .zip(x.iter().zip(lo.iter().zip(&hi)))
            .map(|(gk, (xk, (l, u)))| {
                let outward = (*xk <= *l && *gk > 0.0) || (*xk >= *u && *gk < 0.0);
                if outward {
                    0.0
                } else {
                    gk.abs()
                }
            })
            .fold(0.0, f64::max);
        Ok((g, norm))
    }
}

/// argmin's view of a [`Tracker`]: cost and gradient of the free coordinates.
pub(crate) struct Adapter<'t, 'a> {
    /// The tracker.
    pub(crate) tracker: &'t Tracker<'a>,
}

impl argmin::core::CostFunction for Adapter<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, param: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.tracker.value(param)?)
    }
}

impl argmin::core::Gradient for Adapter<'_, '_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, param: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        let mut g = vec![0.0; param.len()];
        self.tracker.gradient(param, None, &mut g)?;
        Ok(g)
    }
}
