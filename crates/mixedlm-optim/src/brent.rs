//! Brent's one-dimensional minimization (golden section with parabolic steps) and a
//! downhill bracketing search, used by Powell's line searches.

use std::convert::Infallible;

/// 2 - golden ratio: the golden-section fraction.
const GOLDEN_SECTION: f64 = 0.381_966_011_250_105_1;
/// The golden ratio, for bracket expansion.
const GOLDEN_RATIO: f64 = 1.618_033_988_749_895;
/// Bracket expansions before giving up (the function keeps decreasing).
const MAX_EXPANSIONS: usize = 60;

/// The result of [`brent_minimize`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrentResult {
    /// The minimizer found.
    pub x: f64,
    /// The function there.
    pub fx: f64,
    /// Function evaluations used.
    pub evaluations: usize,
    /// True when the interval shrank below the tolerance (false: `max_iter` ran out).
    pub converged: bool,
}

/// Minimize `f` on the interval [a, b] (in either order) by Brent's method, to an
/// accuracy in x of `tol_rel * |x| + tol_abs`, in at most `max_iter` evaluations after
/// the first (at the golden-section point). Non-finite values count as +inf.
pub fn brent_minimize(
    mut f: impl FnMut(f64) -> f64,
    a: f64,
    b: f64,
    tol_rel: f64,
    tol_abs: f64,
    max_iter: usize,
) -> BrentResult {
    let (lo, hi) = (a.min(b), a.max(b));
    let x = lo + GOLDEN_SECTION * (hi - lo);
    let fx = finite(f(x));
    let mut g = |t: f64| Ok::<f64, Infallible>(finite(f(t)));
    let tol = (tol_rel, tol_abs, max_iter);
    match brent_core(&mut g, (lo, hi), (x, fx), tol) {
        Ok(mut r) => {
            r.evaluations += 1;
            r
        }
        Err(never) => match never {},
    }
}

fn finite(v: f64) -> f64 {
    if v.is_nan() {
        f64::INFINITY
    } else {
        v
    }
}

/// Brent's method on `interval` from an interior point `(x, fx)`.
pub(crate) fn brent_core<E>(
    f: &mut dyn FnMut(f64) -> Result<f64, E>,
    interval: (f64, f64),
    start: (f64, f64),
    (tol_rel, tol_abs, max_iter): (f64, f64, usize),
) -> Result<BrentResult, E> {
    let (mut a, mut b) = interval;
    let (mut x, mut fx) = start;
    let (mut w, mut fw, mut v, mut fv) = (x, fx, x, fx);
    let (mut d, mut e) = (0.0_f64, 0.0_f64);
    for iter in 0..max_iter {
        let m = 0.5 * (a + b);
        let tol1 = tol_rel * x.abs() + tol_abs;
        let tol2 = 2.0 * tol1;
        if (x - m).abs() <= tol2 - 0.5 * (b - a) {
            return Ok(BrentResult {
                x,
                fx,
                evaluations: iter,
                converged: true,
            });
        }
        let parabolic = if e.abs() > tol1 {
            parabolic_step(x, fx, w, fw, v, fv, e, a, b)
        } else {
            None
        };
        match parabolic {
            Some(p) => {
                e = d;
                d = p;
                let u = x + d;
                if u - a < tol2 || b - u < tol2 {
                    d = tol1.copysign(m - x);
                }
            }
            None => {
                e = if x >= m { a - x } else { b - x };
                d = GOLDEN_SECTION * e;
            }
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else {
            x + tol1.copysign(d)
        };
        let fu = f(u)?;
        if fu <= fx {
            if u >= x {
                a = x
            } else {
                b = x
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                a = u
            } else {
                b = u
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    Ok(BrentResult {
        x,
        fx,
        evaluations: max_iter,
        converged: false,
    })
}

/// The step to the minimum of the parabola through (x, w, v), when it is acceptable: it
/// falls inside (a, b) and is less than half the step before last (`e`).
#[allow(clippy::too_many_arguments)]
fn parabolic_step(
    x: f64,
    fx: f64,
    w: f64,
    fw: f64,
    v: f64,
    fv: f64,
    e: f64,
    a: f64,
    b: f64,
) -> Option<f64> {
    let r = (x - w) * (fx - fv);
    let q = (x - v) * (fx - fw);
    let mut p = (x - v) * q - (x - w) * r;
    let mut q = 2.0 * (q - r);
    if q > 0.0 {
        p = -p;
    } else {
        q = -q;
    }
    let ok = p.abs() < (0.5 * q * e).abs() && p > q * (a - x) && p < q * (b - x);
    ok.then(|| p / q)
}

/// A bracket (a, b, c) with b between a and c and f(b) <= min(f(a), f(c)), found by
/// walking downhill from 0 (value `f0`) with first step `step`. Returns the three points
/// and f(b); when the function keeps decreasing for [`MAX_EXPANSIONS`] steps, the last
/// (lowest) point is returned as b with a degenerate bracket.
pub(crate) fn bracket<E>(
    f: &mut dyn FnMut(f64) -> Result<f64, E>,
    f0: f64,
    step: f64,
) -> Result<([f64; 3], f64), E> {
    let f_step = f(step)?;
    // Walk downhill: b is the lower of the two first points.
    let (mut a, mut b, mut fb) = if f_step > f0 {
        (step, 0.0, f0)
    } else {
        (0.0, step, f_step)
    };
    let mut c = b + GOLDEN_RATIO * (b - a);
    let mut fc = f(c)?;
    let mut expansions = 0;
    while fc < fb {
        if expansions == MAX_EXPANSIONS {
            return Ok(([c, c, c], fc));
        }
        expansions += 1;
        (a, b, fb) = (b, c, fc);
        c = b + GOLDEN_RATIO * (b - a);
        fc = f(c)?;
    }
    Ok(([a, b, c], fb))
}
