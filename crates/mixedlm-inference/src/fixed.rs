//! Tests of the fixed effects (Wald z, t with Satterthwaite or Kenward-Roger df) and Wald
//! confidence intervals.

use crate::dense::DenseLmm;
use crate::error::InferenceError;
use crate::kenward_roger::kenward_roger;
use crate::satterthwaite::satterthwaite;
use crate::varpar::sigma_hat;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The reference distribution of the fixed-effects tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Ddf {
    /// Normal reference (Wald z), no degrees of freedom.
    Z,
    /// t with Satterthwaite's degrees of freedom (lmerTest's default).
    Satterthwaite,
    /// t with Kenward-Roger's degrees of freedom and adjusted standard errors (REML fits).
    KenwardRoger,
}

/// One row of the fixed-effects table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FixedEffectTest {
    /// Fixed-effect name (`(Intercept)`, `Days`).
    pub name: String,
    /// β̂.
    pub estimate: f64,
    /// Standard error (Kenward-Roger-adjusted for [`Ddf::KenwardRoger`]).
    pub se: f64,
    /// estimate / se.
    pub statistic: f64,
    /// Degrees of freedom (None for z).
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// A confidence interval for one named parameter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfidenceInterval {
    /// Parameter name as lme4's `confint(oldNames = FALSE)`.
    pub name: String,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
}

/// Two-sided p-value of a statistic under N(0,1) (df None) or t(df).
pub fn two_sided_p(stat: f64, df: Option<f64>) -> f64 {
    let a = stat.abs();
    let sf = match df {
        None => Normal::standard().sf(a),
        Some(d) if d.is_finite() && d > 0.0 => match StudentsT::new(0.0, 1.0, d) {
            Ok(t) => t.sf(a),
            Err(_) => f64::NAN,
        },
        Some(_) => f64::NAN,
    };
    2.0 * sf
}

/// The fixed-effects table at θ (the fitted θ of `model`'s criterion `reml`).
///
/// [`Ddf::KenwardRoger`] requires a REML fit (`reml = true`), as pbkrtest does.
pub fn fixed_effect_tests(
    model: &DenseLmm,
    theta: &[f64],
    reml: bool,
    ddf: Ddf,
) -> Result<Vec<FixedEffectTest>, InferenceError> {
    let (n, p) = (model.n_obs(), model.n_fixed());
    let pc = model.pieces(theta)?;
    let s2 = sigma_hat(&pc, n, p, reml).powi(2);
    let se: Vec<f64> = (0..p).map(|j| (s2 * pc.xtwx_inv[(j, j)]).sqrt()).collect();
    let (se, df): (Vec<f64>, Vec<Option<f64>>) = match ddf {
        Ddf::Z => (se, vec![None; p]),
        Ddf::Satterthwaite => {
            let s = satterthwaite(model, theta, reml)?;
            (se, (0..p).map(|j| Some(s.df_coef(j))).collect())
        }
        Ddf::KenwardRoger => {
            if !reml {
                return Err(InferenceError::InvalidModel(
                    "Kenward-Roger needs a REML fit: refit with REML or use Satterthwaite".into(),
                ));
            }
            let kr = kenward_roger(model, theta)?;
            (
                (0..p).map(|j| kr.se_adj(j)).collect(),
                (0..p).map(|j| Some(kr.df_coef(j))).collect(),
            )
        }
    };
    Ok((0..p)
        .map(|j| {
            let statistic = pc.beta[j] / se[j];
            FixedEffectTest {
                name: model.x_names()[j].clone(),
                estimate: pc.beta[j],
                se: se[j],
                statistic,
                df: df[j],
                p_value: two_sided_p(statistic, df[j]),
            }
        })
        .collect())
}

/// Wald intervals β̂ ± z_{(1+level)/2}·SE.
pub fn wald_intervals(
    names: &[String],
    estimate: &[f64],
    se: &[f64],
    level: f64,
) -> Result<Vec<ConfidenceInterval>, InferenceError> {
    if !(level > 0.0 && level < 1.0) {
        return Err(InferenceError::Numerical(format!(
            "confidence level {level} must lie strictly between 0 and 1 (e.g. 0.95)"
        )));
    }
    let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
    Ok(names
        .iter()
        .zip(estimate.iter().zip(se))
        .map(|(nm, (&b, &s))| ConfidenceInterval {
            name: nm.clone(),
            lower: b - z * s,
            upper: b + z * s,
        })
        .collect())
}
