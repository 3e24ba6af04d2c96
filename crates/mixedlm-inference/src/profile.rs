//! Profile-likelihood confidence intervals, as lme4's `confint(method = "profile")`.
//!
//! As lme4, the profile is that of the ML deviance (a REML fit is refitted with ML first)
//! in the σ-scaled parametrization: SDs and correlations of the random effects, σ, and
//! the fixed effects. For each parameter, the signed root ζ(v) = sign(v − v̂)·√(D(v) − D̂),
//! D(v) the deviance minimized over all other parameters with this one fixed at v, is
//! solved for ζ = ±z_{(1+level)/2}. A limit that lies beyond a bound (SD 0, correlation ±1)
//! is reported as the bound.

use crate::dense::{pieces_from_crossprod, DenseLmm};
use crate::error::InferenceError;
use crate::fixed::ConfidenceInterval;
use crate::optimize::{fit_theta, minimize_box};
use crate::varpar::{
    parameter_names, sdcor_from_theta, sigma_hat, theta_from_sdcor, varpar_deviance,
};
use statrs::distribution::{ContinuousCDF, Normal};

/// Settings of [`profile_intervals`].
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileOptions {
    /// Confidence level (0.95).
    pub level: f64,
    /// Parameters to profile (names as [`ConfidenceInterval::name`]); None for all.
    pub parameters: Option<Vec<String>>,
    /// Tolerance on ζ at the limits.
    pub zeta_tol: f64,
    /// Maximum profile points per side.
    pub max_steps: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        Self {
            level: 0.95,
            parameters: None,
            zeta_tol: 1e-5,
            max_steps: 40,
        }
    }
}

/// What kind of parameter is profiled.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Sd,
    Cor,
    Sigma,
    Fixed(usize),
}

/// The ML optimum every profile starts from.
struct Optimum {
    theta: Vec<f64>,
    sdcor: Vec<f64>,
    beta: Vec<f64>,
    vcov_diag: Vec<f64>,
    dev: f64,
}

fn ml_optimum(model: &DenseLmm, start: &[f64]) -> Result<Optimum, InferenceError> {
    let (n, p) = (model.n_obs(), model.n_fixed());
    let (theta, dev) = fit_theta(model, model.crossprod(), p, start, false)?;
    let pc = model.pieces(&theta)?;
    let sigma = sigma_hat(&pc, n, p, false);
    let s2 = sigma * sigma;
    Ok(Optimum {
        sdcor: sdcor_from_theta(model.terms(), &theta, sigma),
        vcov_diag: (0..p).map(|j| s2 * pc.xtwx_inv[(j, j)]).collect(),
        beta: pc.beta,
        theta,
        dev,
    })
}

/// The kinds of the variance parameters in [`parameter_names`] order.
fn variance_kinds(names: &[String]) -> Vec<Kind> {
    names
        .iter()
        .map(|n| match n.as_str() {
            "sigma" => Kind::Sigma,
            s if s.starts_with("cor_") => Kind::Cor,
            _ => Kind::Sd,
        })
        .collect()
}

/// ML deviance at sdcor (β profiled), infinite where undefined.
fn sdcor_deviance(model: &DenseLmm, sdcor: &[f64]) -> f64 {
    let sigma = sdcor[sdcor.len() - 1];
    if sigma <= 0.0 {
        return f64::INFINITY;
    }
    let theta = theta_from_sdcor(model.terms(), sdcor);
    match model.pieces(&theta) {
        Ok(pc) => varpar_deviance(&pc, sigma, model.n_obs(), model.n_fixed(), false),
        Err(_) => f64::INFINITY,
    }
}

/// The profiled deviance with parameter `kind` (index `i` among the variance parameters)
/// held at `v`; `warm` is updated with the optimum of the other parameters.
fn profiled_at(
    model: &DenseLmm,
    opt: &Optimum,
    kinds: &[Kind],
    i: usize,
    kind: Kind,
    v: f64,
    warm: &mut Vec<f64>,
) -> Result<f64, InferenceError> {
    match kind {
        Kind::Fixed(j) => {
            let a = model.crossprod_without_fixed(j, v);
            let (th, dev) = fit_theta(model, &a, model.n_fixed() - 1, warm, false)?;
            *warm = th;
            Ok(dev)
        }
        Kind::Sigma => {
            let (n, p) = (model.n_obs(), model.n_fixed());
            let lower = model.lower_bounds();
            let upper = vec![f64::INFINITY; lower.len()];
            let f = |th: &[f64]| match model.pieces(th) {
                Ok(pc) => varpar_deviance(&pc, v, n, p, false),
                Err(_) => f64::INFINITY,
            };
            let (th, dev) = minimize_box(f, warm, &lower, &upper)?;
            *warm = th;
            Ok(dev)
        }
        Kind::Sd | Kind::Cor => {
            let scale: Vec<f64> = opt
                .sdcor
                .iter()
                .zip(kinds)
                .map(|(s, k)| {
                    if *k == Kind::Cor || *s <= 0.0 {
                        1.0
                    } else {
                        *s
                    }
                })
                .collect();
            let mut lower: Vec<f64> = kinds
                .iter()
                .map(|k| match k {
                    Kind::Cor => -1.0,
                    Kind::Sigma => 1e-8,
                    _ => 0.0,
                })
                .collect();
            let mut upper: Vec<f64> = kinds
                .iter()
                .map(|k| if *k == Kind::Cor { 1.0 } else { f64::INFINITY })
                .collect();
            lower[i] = v;
            upper[i] = v;
            let low: Vec<f64> = lower.iter().zip(&scale).map(|(l, s)| l / s).collect();
            let up: Vec<f64> = upper.iter().zip(&scale).map(|(u, s)| u / s).collect();
            let mut x0: Vec<f64> = warm.iter().zip(&scale).map(|(w, s)| w / s).collect();
            x0[i] = v / scale[i];
            let f = |x: &[f64]| {
                let sdcor: Vec<f64> = x.iter().zip(&scale).map(|(a, s)| a * s).collect();
                sdcor_deviance(model, &sdcor)
            };
            let (x, dev) = minimize_box(f, &x0, &low, &up)?;
            *warm = x.iter().zip(&scale).map(|(a, s)| a * s).collect();
            warm[i] = v;
            Ok(dev)
        }
    }
}

/// One profiled parameter: its kind, index among the variance parameters, estimate,
/// bounds and a first step.
struct Target {
    kind: Kind,
    index: usize,
    estimate: f64,
    bounds: (f64, f64),
    step: f64,
}

fn targets(opt: &Optimum, kinds: &[Kind]) -> Vec<Target> {
    let sigma = opt.sdcor[opt.sdcor.len() - 1];
    let mut out: Vec<Target> = kinds
        .iter()
        .enumerate()
        .map(|(i, &kind)| {
            let v = opt.sdcor[i];
            let (bounds, step) = match kind {
                Kind::Cor => ((-1.0, 1.0), 0.2),
                Kind::Sigma => ((0.0, f64::INFINITY), 0.1 * v),
                _ => (
                    (0.0, f64::INFINITY),
                    if v > 0.0 { 0.25 * v } else { 0.25 * sigma },
                ),
            };
            Target {
                kind,
                index: i,
                estimate: v,
                bounds,
                step,
            }
        })
        .collect();
    out.extend(opt.beta.iter().enumerate().map(|(j, &b)| Target {
        kind: Kind::Fixed(j),
        index: j,
        estimate: b,
        bounds: (f64::NEG_INFINITY, f64::INFINITY),
        step: opt.vcov_diag[j].sqrt(),
    }));
    out
}

/// Solve |ζ(v)| = z on one side (`side` = ±1) of the estimate.
fn limit(
    model: &DenseLmm,
    opt: &Optimum,
    kinds: &[Kind],
    t: &Target,
    side: f64,
    z: f64,
    opts: &ProfileOptions,
) -> Result<f64, InferenceError> {
    let mut warm = match t.kind {
        Kind::Fixed(_) | Kind::Sigma => opt.theta.clone(),
        _ => opt.sdcor.clone(),
    };
    let bound = if side < 0.0 { t.bounds.0 } else { t.bounds.1 };
    let mut zeta = |v: f64, warm: &mut Vec<f64>| -> Result<f64, InferenceError> {
        let d = profiled_at(model, opt, kinds, t.index, t.kind, v, warm)?;
        Ok((d - opt.dev).max(0.0).sqrt())
    };
    let (mut lo, mut lo_z) = (t.estimate, 0.0);
    let mut dist = t.step.max(1e-8);
    let mut hi = None;
    for _ in 0..opts.max_steps {
        let mut v = t.estimate + side * dist;
        let at_bound = if side * (v - bound) >= 0.0 {
            v = bound;
            true
        } else {
            false
        };
        let m = zeta(v, &mut warm)?;
        if m >= z {
            hi = Some((v, m));
            break;
        }
        if at_bound {
            return Ok(bound);
        }
        (lo, lo_z) = (v, m);
        let d = (v - t.estimate).abs();
        let grow = if m > 0.0 {
            (z / m * 1.05).clamp(1.2, 4.0)
        } else {
            4.0
        };
        dist = d * grow;
    }
    let (mut hi, mut hi_z) = hi.ok_or_else(|| {
        InferenceError::Numerical(format!(
            "profile did not reach ζ = {z:.3} within {} steps: the likelihood is flat in this parameter",
            opts.max_steps
        ))
    })?;
    refine(
        &mut zeta,
        &mut warm,
        (&mut lo, &mut lo_z),
        (&mut hi, &mut hi_z),
        z,
        opts,
    )
}

/// Illinois regula falsi on |ζ(v)| − z inside a bracket.
fn refine<F>(
    zeta: &mut F,
    warm: &mut Vec<f64>,
    lo: (&mut f64, &mut f64),
    hi: (&mut f64, &mut f64),
    z: f64,
    opts: &ProfileOptions,
) -> Result<f64, InferenceError>
where
    F: FnMut(f64, &mut Vec<f64>) -> Result<f64, InferenceError>,
{
    let (lo, mut flo) = (lo.0, *lo.1 - z);
    let (hi, mut fhi) = (hi.0, *hi.1 - z);
    let mut last = 0i8;
    for _ in 0..opts.max_steps {
        let v = *lo + (*hi - *lo) * (-flo) / (fhi - flo);
        let fv = zeta(v, warm)? - z;
        if fv.abs() < opts.zeta_tol {
            return Ok(v);
        }
        if fv < 0.0 {
            (*lo, flo) = (v, fv);
            if last == -1 {
                fhi *= 0.5;
            }
            last = -1;
        } else {
            (*hi, fhi) = (v, fv);
            if last == 1 {
                flo *= 0.5;
            }
            last = 1;
        }
    }
    Ok(*lo + (*hi - *lo) * (-flo) / (fhi - flo))
}

/// Profile-likelihood intervals for the variance parameters (`sd_…`, `cor_…`, `sigma`)
/// and the fixed effects, from θ (the REML or ML estimate: the ML optimum is refitted
/// from it).
pub fn profile_intervals(
    model: &DenseLmm,
    theta: &[f64],
    opts: &ProfileOptions,
) -> Result<Vec<ConfidenceInterval>, InferenceError> {
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(InferenceError::Numerical(format!(
            "confidence level {} must lie strictly between 0 and 1 (e.g. 0.95)",
            opts.level
        )));
    }
    let z = Normal::standard().inverse_cdf(0.5 + opts.level / 2.0);
    let opt = ml_optimum(model, theta)?;
    let vnames = parameter_names(model.terms());
    let kinds = variance_kinds(&vnames);
    let names: Vec<String> = vnames.iter().chain(model.x_names()).cloned().collect();
    if let Some(wanted) = &opts.parameters {
        if let Some(bad) = wanted.iter().find(|w| !names.contains(w)) {
            return Err(InferenceError::UnknownParameter(bad.clone()));
        }
    }
    targets(&opt, &kinds)
        .iter()
        .zip(&names)
        .filter(|(_, n)| opts.parameters.as_ref().is_none_or(|w| w.contains(n)))
        .map(|(t, n)| {
            Ok(ConfidenceInterval {
                name: n.clone(),
                lower: limit(model, &opt, &kinds, t, -1.0, z, opts)?,
                upper: limit(model, &opt, &kinds, t, 1.0, z, opts)?,
            })
        })
        .collect()
}

/// The ML deviance at θ for the full model (used by tests and diagnostics).
pub fn ml_deviance(model: &DenseLmm, theta: &[f64]) -> Result<f64, InferenceError> {
    let lambda = model.lambda_op(theta)?;
    let pc = pieces_from_crossprod(
        model.crossprod(),
        model.n_random(),
        model.n_fixed(),
        &lambda,
    )?;
    Ok(crate::varpar::profiled_deviance(
        &pc,
        model.n_obs(),
        model.n_fixed(),
        false,
    ))
}
