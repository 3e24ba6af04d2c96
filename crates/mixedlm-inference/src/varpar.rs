//! The deviance as a function of the variance parameters, and the σ-scaled SD/correlation
//! parametrization (lme4's `sd_…`, `cor_…`, `sigma`).

use crate::dense::{DenseLmm, TermLayout, ThetaPieces};
use crate::error::InferenceError;
use faer::Mat;
use mixedlm_covariance::Component;

/// Anything that gives the profiled-deviance pieces at θ (the dense evaluator, or an engine
/// adapter). Implementations must be usable from several threads.
pub trait EvalPieces: Sync {
    /// Number of observations N.
    fn n_obs(&self) -> usize;
    /// Number of fixed effects p.
    fn n_fixed(&self) -> usize;
    /// Length of θ.
    fn n_theta(&self) -> usize;
    /// The pieces at θ.
    fn pieces(&self, theta: &[f64]) -> Result<ThetaPieces, InferenceError>;
}

impl EvalPieces for DenseLmm {
    fn n_obs(&self) -> usize {
        DenseLmm::n_obs(self)
    }
    fn n_fixed(&self) -> usize {
        DenseLmm::n_fixed(self)
    }
    fn n_theta(&self) -> usize {
        DenseLmm::n_theta(self)
    }
    fn pieces(&self, theta: &[f64]) -> Result<ThetaPieces, InferenceError> {
        DenseLmm::pieces(self, theta)
    }
}

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// Degrees of freedom of the residual for the criterion: N (ML) or N − p (REML).
pub(super) fn resid_df(n: usize, p: usize, reml: bool) -> f64 {
    if reml {
        (n - p) as f64
    } else {
        n as f64
    }
}

/// Profiled deviance (ML) or REML criterion at the pieces.
pub(super) fn profiled_deviance(pc: &ThetaPieces, n: usize, p: usize, reml: bool) -> f64 {
    let nu = resid_df(n, p, reml);
    let base = pc.logdet_z + nu * (1.0 + LN_2PI + (pc.pwrss / nu).ln());
    if reml {
        base + pc.logdet_x
    } else {
        base
    }
}

/// σ̂ at the pieces.
pub(super) fn sigma_hat(pc: &ThetaPieces, n: usize, p: usize, reml: bool) -> f64 {
    (pc.pwrss / resid_df(n, p, reml)).sqrt()
}

/// The deviance (or REML criterion) at θ and a given σ (β at β̂(θ)), as lmerTest defines it.
pub(super) fn varpar_deviance(pc: &ThetaPieces, sigma: f64, n: usize, p: usize, reml: bool) -> f64 {
    let s2 = sigma * sigma;
    let nu = resid_df(n, p, reml);
    let base = pc.logdet_z + pc.pwrss / s2 + nu * (LN_2PI + s2.ln());
    if reml {
        base + pc.logdet_x
    } else {
        base
    }
}

/// Per term and effect, the grouping factor as lme4 labels it in `VarCorr` and `confint`:
/// the second and later terms on one factor get `.1`, `.2`, ... (`Subject`, `Subject.1`).
/// lme4 splits a diagonal term `(x || g)` into one term per effect, so each effect of a
/// diagonal term counts as a term.
pub fn lme4_group_labels(terms: &[TermLayout]) -> Vec<Vec<String>> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut next = |g: &str| -> String {
        let n = match seen.iter_mut().find(|(s, _)| *s == g) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                seen.push((g.to_string(), 0));
                0
            }
        };
        if n == 0 {
            g.to_string()
        } else {
            format!("{g}.{n}")
        }
    };
    terms
        .iter()
        .map(|t| {
            if t.structure().separate_effect_terms() {
                t.names.iter().map(|_| next(&t.group)).collect()
            } else {
                vec![next(&t.group); t.k.max(1)]
            }
        })
        .collect()
}

/// Parameter names as lme4's `confint(oldNames = FALSE)`: per term `sd_…|g` and
/// `cor_…|g` (column-major lower triangle of the covariance), then `sigma`; a grouping
/// factor repeated over terms is labelled as lme4 does ([`lme4_group_labels`]).
pub fn parameter_names(terms: &[TermLayout]) -> Vec<String> {
    let labels = lme4_group_labels(terms);
    let mut out = Vec::new();
    for (t, g) in terms.iter().zip(&labels) {
        for c in t.structure().components() {
            out.push(match c {
                Component::Variance(i) => format!("sd_{}|{}", t.names[i], g[i]),
                Component::Covariance(i, j) => {
                    format!("cor_{}.{}|{}", t.names[i], t.names[j], g[j])
                }
                Component::SharedVariance => {
                    format!("sd_{}|{}", t.names.first().map_or("", |s| s), g[0])
                }
            });
        }
    }
    out.push("sigma".into());
    out
}

/// θ and σ → SDs and correlations (in [`parameter_names`] order, σ last).
pub fn sdcor_from_theta(terms: &[TermLayout], theta: &[f64], sigma: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for t in terms {
        let f = t.factor(theta);
        let cov = &f * f.transpose();
        let sd = |i: usize| cov[(i, i)].max(0.0).sqrt();
        for c in t.structure().components() {
            out.push(match c {
                Component::Variance(i) => sigma * sd(i),
                Component::SharedVariance => sigma * sd(0),
                Component::Covariance(i, j) if sd(i) > 0.0 && sd(j) > 0.0 => {
                    cov[(i, j)] / (sd(i) * sd(j))
                }
                Component::Covariance(..) => 0.0,
            });
        }
    }
    out.push(sigma);
    out
}

/// SDs, correlations and σ (as [`sdcor_from_theta`] returns them) → θ. Correlation
/// matrices that are only semi-definite give a semi-definite factor.
pub fn theta_from_sdcor(terms: &[TermLayout], sdcor: &[f64]) -> Vec<f64> {
    let sigma = sdcor[sdcor.len() - 1];
    let mut theta = Vec::new();
    let mut values = sdcor.iter();
    for t in terms {
        let structure = t.structure();
        let (mut sds, mut cor) = (vec![0.0; t.k], Mat::<f64>::zeros(t.k, t.k));
        for c in structure.components() {
            let v = values.next().copied().unwrap_or(f64::NAN);
            match c {
                Component::Variance(i) => sds[i] = v / sigma,
                Component::SharedVariance => sds.iter_mut().for_each(|s| *s = v / sigma),
                Component::Covariance(i, j) => cor[(i, j)] = v,
            }
        }
        theta.extend(structure.theta_from_sd_cor(&sds, cor.as_ref()));
    }
    theta
}
