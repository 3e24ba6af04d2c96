//! The Moré–Thuente line search (ACM TOMS 20, 1994): a step along a descent direction
//! meeting the strong Wolfe conditions, found by safeguarded cubic and quadratic
//! interpolation. Written for [`crate::Bfgs`], which runs it inside its own iteration on
//! buffers it owns, so that a search allocates nothing but what the objective returns.

use argmin::core::Error;

/// A point on the line: step, value and directional derivative.
#[derive(Debug, Clone, Copy)]
struct Trial {
    step: f64,
    f: f64,
    dg: f64,
}

/// The parameters of the search.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MoreThuente {
    /// Sufficient decrease: f(α) ≤ f(0) + c1 α f'(0).
    pub(crate) c1: f64,
    /// Curvature: |f'(α)| ≤ c2 |f'(0)|.
    pub(crate) c2: f64,
    /// Stop when the interval of uncertainty is narrower than `xtol` times its right end.
    pub(crate) xtol: f64,
    /// Smallest and largest steps.
    pub(crate) step_min: f64,
    pub(crate) step_max: f64,
    /// At most this many evaluations in one search.
    pub(crate) max_evals: usize,
}

impl Default for MoreThuente {
    fn default() -> Self {
        MoreThuente {
            c1: 1e-4,
            c2: 0.9,
            xtol: 1e-10,
            step_min: f64::EPSILON.sqrt(),
            step_max: f64::INFINITY,
            max_evals: 40,
        }
    }
}

/// Extrapolation factors of the trial step before the minimizer is bracketed.
const EXTRAPOLATE_LOW: f64 = 1.1;
const EXTRAPOLATE_HIGH: f64 = 4.0;
/// When a bracket shrinks by less than this factor over two steps, bisect it.
const SHRINK: f64 = 0.66;

impl MoreThuente {
    /// Search from step 0 (value `f0`, directional derivative `dg0 < 0`) starting with
    /// `step`. `eval(α)` evaluates the objective at step α and returns the value and the
    /// directional derivative there; the caller keeps the point and gradient of the
    /// last call, which is the step returned here (with its value).
    pub(crate) fn search(
        &self,
        f0: f64,
        dg0: f64,
        step: f64,
        mut eval: impl FnMut(f64) -> Result<(f64, f64), Error>,
    ) -> Result<(f64, f64), Error> {
        if dg0.is_nan() || dg0 >= 0.0 {
            return Err(Error::msg(
                "line search: the search direction is not a descent direction",
            ));
        }
        let test = self.c1 * dg0;
        let mut stage1 = true;
        let mut bracketed = false;
        let mut width = self.step_max - self.step_min;
        let mut width_before = 2.0 * width;
        // x: the best step so far; y: the other end of the interval of uncertainty.
        let mut x = Trial {
            step: 0.0,
            f: f0,
            dg: dg0,
        };
        let mut y = x;
        let mut step = step.clamp(self.step_min, self.step_max);
        let (mut lo, mut hi) = (0.0, step + EXTRAPOLATE_HIGH * step);
        let mut last = (step, f64::NAN);
        for _ in 0..self.max_evals.max(1) {
            let (f, dg) = eval(step)?;
            last = (step, f);
            let ftest = f0 + step * test;
            if stage1 && f <= ftest && dg >= 0.0 {
                stage1 = false;
            }
            let converged = f <= ftest && dg.abs() <= self.c2 * -dg0;
            let stuck = (bracketed && self.cornered(step, lo, hi))
                || (step == self.step_max && f <= ftest && dg <= test)
                || (step == self.step_min && (f > ftest || dg >= test));
            if converged || stuck {
                return Ok((step, f));
            }
            let p = Trial { step, f, dg };
            let next = if stage1 && f <= x.f && f > ftest {
                // Until a step meets the sufficient decrease with a non-negative slope,
                // interpolate the function minus its sufficient-decrease line.
                let shift = |t: Trial| Trial {
                    f: t.f - t.step * test,
                    dg: t.dg - test,
                    ..t
                };
                let (mut xm, mut ym) = (shift(x), shift(y));
                let next = step_between(&mut xm, &mut ym, shift(p), &mut bracketed, (lo, hi));
                let unshift = |t: Trial| Trial {
                    f: t.f + t.step * test,
                    dg: t.dg + test,
                    ..t
                };
                (x, y) = (unshift(xm), unshift(ym));
                next
            } else {
                step_between(&mut x, &mut y, p, &mut bracketed, (lo, hi))
            };
            step = next;
            if bracketed {
                if (y.step - x.step).abs() >= SHRINK * width_before {
                    step = x.step + 0.5 * (y.step - x.step);
                }
                width_before = width;
                width = (y.step - x.step).abs();
                (lo, hi) = (x.step.min(y.step), x.step.max(y.step));
            } else {
                lo = step + EXTRAPOLATE_LOW * (step - x.step);
                hi = step + EXTRAPOLATE_HIGH * (step - x.step);
            }
            step = step.clamp(self.step_min, self.step_max);
            if bracketed && self.cornered(step, lo, hi) {
                // No progress is possible: end at the best step found.
                step = x.step;
            }
        }
        // Out of evaluations: the last trial stands (the caller holds its point).
        Ok(last)
    }

    /// Within a bracket [lo, hi], no further progress: the step is at or outside an end,
    /// or the bracket is narrower than `xtol` allows.
    fn cornered(&self, step: f64, lo: f64, hi: f64) -> bool {
        step <= lo || step >= hi || hi - lo <= self.xtol * hi
    }
}

/// One safeguarded step (Moré and Thuente's four cases): the next trial step, with the
/// interval end points `x` (best) and `y` updated by the trial `p`. Steps outside the
/// bracket go no further than `lo` or `hi`, the current limits of extrapolation.
fn step_between(
    x: &mut Trial,
    y: &mut Trial,
    p: Trial,
    bracketed: &mut bool,
    (lo, hi): (f64, f64),
) -> f64 {
    let sign = p.dg * x.dg.signum();
    let next = if p.f > x.f {
        // Case 1: a higher value. The minimizer is bracketed; take the cubic step
        // when it is closer to x than the quadratic one, else their midpoint.
        *bracketed = true;
        let c = cubic_step(x, &p, false);
        let q =
            x.step + 0.5 * (x.dg / ((x.f - p.f) / (p.step - x.step) + x.dg)) * (p.step - x.step);
        if (c - x.step).abs() < (q - x.step).abs() {
            c
        } else {
            c + 0.5 * (q - c)
        }
    } else if sign < 0.0 {
        // Case 2: the derivatives have opposite signs: bracketed; the step farther
        // from p of the cubic and the secant steps.
        *bracketed = true;
        let c = cubic_step(&p, x, false);
        let s = secant_step(&p, x);
        if (c - p.step).abs() > (s - p.step).abs() {
            c
        } else {
            s
        }
    } else if p.dg.abs() < x.dg.abs() {
        // Case 3: the slope shrinks in magnitude. The cubic step only when it lies
        // beyond p on the right side, else the bound that way.
        let c = cubic_step(&p, x, true);
        let c = if c.is_finite() {
            c
        } else if p.step > x.step {
            hi
        } else {
            lo
        };
        let s = secant_step(&p, x);
        if *bracketed {
            let t = if (c - p.step).abs() < (s - p.step).abs() {
                c
            } else {
                s
            };
            let limit = p.step + SHRINK * (y.step - p.step);
            if p.step > x.step {
                t.min(limit)
            } else {
                t.max(limit)
            }
        } else {
            let t = if (c - p.step).abs() > (s - p.step).abs() {
                c
            } else {
                s
            };
            t.clamp(lo, hi)
        }
    } else if *bracketed {
        // Case 4: the slope does not shrink: the cubic step between p and y.
        cubic_step(&p, y, false)
    } else if p.step > x.step {
        hi
    } else {
        lo
    };
    if p.f > x.f {
        *y = p;
    } else {
        if sign < 0.0 {
            *y = *x;
        }
        *x = p;
    }
    next
}

/// The zero of the slope's secant through `p` and `x`.
fn secant_step(p: &Trial, x: &Trial) -> f64 {
    p.step + (p.dg / (p.dg - x.dg)) * (x.step - p.step)
}

/// The minimizer of the cubic interpolating values and slopes at `a` and `b`, measured
/// from `a`. With `beyond`, the root is taken only when the cubic's minimizer lies on
/// the far side of `a` from `b` (case 3); otherwise NaN.
fn cubic_step(a: &Trial, b: &Trial, beyond: bool) -> f64 {
    let theta = 3.0 * (b.f - a.f) / (a.step - b.step) + b.dg + a.dg;
    let s = theta.abs().max(b.dg.abs()).max(a.dg.abs());
    let disc = (theta / s).powi(2) - (b.dg / s) * (a.dg / s);
    let mut gamma = s * if beyond { disc.max(0.0) } else { disc }.sqrt();
    if a.step > b.step {
        gamma = -gamma;
    }
    let p = (gamma - a.dg) + theta;
    let q = if beyond {
        (gamma + (b.dg - a.dg)) + gamma
    } else {
        ((gamma - a.dg) + gamma) + b.dg
    };
    let r = p / q;
    if beyond && !(r < 0.0 && gamma != 0.0) {
        return f64::NAN;
    }
    a.step + r * (b.step - a.step)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search on φ(α) = f(x + α d) of a one-dimensional function given by value
    /// and derivative, returning the accepted step and the number of evaluations.
    fn run(f: impl Fn(f64) -> (f64, f64), d: f64, step: f64) -> (f64, f64, usize) {
        let (f0, g0) = f(0.0);
        let mut n = 0;
        let (s, v) = MoreThuente::default()
            .search(f0, g0 * d, step, |a| {
                n += 1;
                let (v, g) = f(a * d);
                Ok((v, g * d))
            })
            .unwrap();
        (s, v, n)
    }

    fn strong_wolfe(f: impl Fn(f64) -> (f64, f64), d: f64, s: f64) -> bool {
        let ls = MoreThuente::default();
        let (f0, g0) = f(0.0);
        let (fs, gs) = f(s * d);
        fs <= f0 + ls.c1 * s * g0 * d && (gs * d).abs() <= ls.c2 * (g0 * d).abs()
    }

    #[test]
    fn quadratic_unit_step_is_accepted_at_once() {
        // f(x) = (x - 3)^2 from 0 along d = 3: the unit step is the minimizer.
        let f = |x: f64| ((x - 3.0).powi(2), 2.0 * (x - 3.0));
        let (s, v, n) = run(f, 3.0, 1.0);
        assert_eq!((s, v, n), (1.0, 0.0, 1));
    }

    #[test]
    fn too_long_and_too_short_steps_end_at_a_wolfe_point() {
        let f = |x: f64| ((x - 3.0).powi(2), 2.0 * (x - 3.0));
        for step in [1e-6, 1e-3, 0.01, 5.0, 100.0, 1e6] {
            let (s, _, n) = run(f, 3.0, step);
            assert!(strong_wolfe(f, 3.0, s), "step {step}: ended at {s}");
            assert!(n < 40, "step {step}: {n} evaluations");
        }
        // A quartic with its minimizer at 2 and a flat start.
        let g = |x: f64| ((x - 2.0).powi(4) + x * 0.1, 4.0 * (x - 2.0).powi(3) + 0.1);
        for step in [1e-4, 0.5, 1.0, 3.0, 50.0] {
            let (s, _, _) = run(g, 1.0, step);
            assert!(
                strong_wolfe(g, 1.0, s),
                "quartic, step {step}: ended at {s}"
            );
        }
    }

    #[test]
    fn ascent_direction_is_an_error() {
        let r = MoreThuente::default().search(1.0, 0.5, 1.0, |_| Ok((0.0, 0.0)));
        assert!(r.is_err());
    }
}
