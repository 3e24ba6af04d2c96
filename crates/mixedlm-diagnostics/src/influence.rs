//! Influence of whole groups: Cook's distance from leave-one-group-out refits.
//!
//! For each level g of a grouping factor the model is refitted without g's observations,
//! giving β̂₍₋g₎, and `D_g = (β̂₍₋g₎ − β̂)' Var(β̂)⁻¹ (β̂₍₋g₎ − β̂) / p`. The refits run in
//! parallel (rayon). A level with `D_g > 4 / G` (G levels) is flagged as influential.

use crate::{DiagError, Message, MessageKind};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Display;

/// The influence of one level of a grouping factor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupInfluence {
    /// The grouping factor.
    pub group: String,
    /// The level left out.
    pub level: String,
    /// Cook's distance (NaN when the refit failed).
    pub cooks_distance: f64,
    /// Whether `D > 4 / G`.
    pub influential: bool,
    /// β̂₍₋g₎ − β̂ (empty when the refit failed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub beta_change: Vec<f64>,
    /// Why the refit failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Cook's distance per level, sorted from most to least influential (failed refits last).
///
/// `refit(level_index)` returns β̂ refitted without that level; `vcov` is Var(β̂), p × p,
/// column-major. A failed refit is recorded in its row, not fatal.
pub fn cooks_distance<E, F>(
    group: &str,
    levels: &[String],
    beta: &[f64],
    vcov: &[f64],
    refit: F,
) -> Result<Vec<GroupInfluence>, DiagError>
where
    E: Display,
    F: Fn(usize) -> Result<Vec<f64>, E> + Sync,
{
    let p = beta.len();
    crate::error::check_len("Var(β̂) entries", vcov.len(), p * p)?;
    let v = Mat::from_fn(p, p, |i, j| vcov[j * p + i]);
    let llt = v
        .llt(Side::Lower)
        .map_err(|_| DiagError::NotPositiveDefinite)?;
    let cutoff = 4.0 / levels.len().max(1) as f64;
    let mut out: Vec<GroupInfluence> = (0..levels.len())
        .into_par_iter()
        .map(|g| {
            let (d, change, error) = match refit(g) {
                Ok(b) if b.len() == p => {
                    let delta: Vec<f64> = b.iter().zip(beta).map(|(a, b)| a - b).collect();
                    let rhs = Mat::from_fn(p, 1, |i, _| delta[i]);
                    let sol = llt.solve(&rhs);
                    let q: f64 = (0..p).map(|i| delta[i] * sol[(i, 0)]).sum();
                    (q / p as f64, delta, None)
                }
                Ok(b) => (
                    f64::NAN,
                    Vec::new(),
                    Some(format!(
                        "refit returned {} fixed effects, expected {p}",
                        b.len()
                    )),
                ),
                Err(e) => (f64::NAN, Vec::new(), Some(e.to_string())),
            };
            GroupInfluence {
                group: group.to_string(),
                level: levels[g].clone(),
                cooks_distance: d,
                influential: d > cutoff,
                beta_change: change,
                error,
            }
        })
        .collect();
    out.sort_by(
        |a, b| match (a.cooks_distance.is_nan(), b.cooks_distance.is_nan()) {
            (false, false) => b.cooks_distance.total_cmp(&a.cooks_distance),
            (x, y) => x.cmp(&y),
        },
    );
    Ok(out)
}

/// One message listing the influential levels (at most `max_listed` named).
pub fn influence_message(influence: &[GroupInfluence], max_listed: usize) -> Option<Message> {
    let flagged: Vec<&GroupInfluence> = influence.iter().filter(|g| g.influential).collect();
    let first = flagged.first()?;
    let listed: Vec<String> = flagged
        .iter()
        .take(max_listed)
        .map(|g| format!("{} (D = {:.3})", g.level, g.cooks_distance))
        .collect();
    Some(Message::new(
        MessageKind::Influence,
        format!(
            "{} level(s) of `{}` change the fixed effects strongly when left out \
             (Cook's distance above 4/{}): {}.",
            flagged.len(),
            first.group,
            influence.len(),
            listed.join(", ")
        ),
        "Inspect these groups for data errors or unusual behaviour, and report whether \
         conclusions change when they are excluded; do not drop them without a reason outside \
         the data.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooks_distance_by_hand() {
        // Var(β̂) = diag(4, 1): D = (Δ₁²/4 + Δ₂²) / 2.
        let levels: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let beta = [1.0, 2.0];
        let vcov = [4.0, 0.0, 0.0, 1.0];
        let refit = |g: usize| -> Result<Vec<f64>, String> {
            match g {
                0 => Ok(vec![3.0, 2.0]), // D = (4/4)/2 = 0.5
                1 => Ok(vec![1.0, 3.0]), // D = 1/2 = 0.5... tie broken by order
                2 => Ok(vec![1.0, 5.0]), // D = 9/2 = 4.5
                3 => Err("singular refit".to_string()),
                _ => Ok(vec![1.0, 2.1]), // D = 0.01/2 = 0.005
            }
        };
        let r = cooks_distance("g", &levels, &beta, &vcov, refit).unwrap();
        let got: Vec<(&str, f64)> = r
            .iter()
            .map(|g| (g.level.as_str(), g.cooks_distance))
            .collect();
        assert_eq!(got[0], ("c", 4.5));
        assert!((got[1].1 - 0.5).abs() < 1e-12 && (got[2].1 - 0.5).abs() < 1e-12);
        assert!((got[3].1 - 0.005).abs() < 1e-12);
        assert_eq!(got[4].0, "d");
        assert_eq!(r[4].error.as_deref(), Some("singular refit"));
        // Cutoff 4/5 = 0.8: only c.
        assert_eq!(r.iter().filter(|g| g.influential).count(), 1);
        let m = influence_message(&r, 5).unwrap();
        assert!(m.text.contains("c (D = 4.500)"), "{}", m.text);
    }

    #[test]
    fn non_positive_definite_vcov_is_an_error() {
        let r = cooks_distance("g", &["a".to_string()], &[1.0], &[0.0], |_| {
            Ok::<_, String>(vec![1.0])
        });
        assert!(matches!(r, Err(DiagError::NotPositiveDefinite)));
    }
}
