//! Complete and quasi-complete separation in a GLMM: a fixed effect whose maximum-likelihood
//! estimate is infinite (a level or a predictor's sign that predicts a binary response
//! perfectly, or a level of a Poisson model with only zero counts). The optimizer stops
//! wherever its steps become too small, so the estimate is a large but arbitrary number
//! with a far larger standard error (the Hauck-Donner signature); it is reported as running
//! off to ±∞ instead.

use mixedlm_design::DenseMatrix;

/// How far, in units of the linear predictor, an effect must move some row before it can
/// count as running off (e^15: odds or rates off by a factor of 3 million).
const REACH: f64 = 15.0;

/// A fixed effect that runs off to ±∞.
#[derive(Clone, Debug, PartialEq)]
pub struct SeparatedEffect {
    /// The fixed effect's name (lme4's).
    pub name: String,
    /// Where the estimate goes: `1.0` for +∞, `-1.0` for −∞.
    pub direction: f64,
    /// Where the optimizer stopped.
    pub estimate: f64,
    /// The standard error there.
    pub std_error: f64,
}

impl SeparatedEffect {
    /// One sentence on the finding and what to do.
    pub fn message(&self) -> String {
        let sign = if self.direction > 0.0 { "+" } else { "−" };
        format!(
            "complete separation: the estimate of `{}` runs off to {sign}∞ (it stopped at \
             {:.4e} with standard error {:.3e}): the response is at its bound on every row \
             that effect moves, so its maximum-likelihood estimate does not exist and its \
             estimate, standard error and test are meaningless; merge or drop that level or \
             predictor, or use a penalized fit",
            self.name, self.estimate, self.std_error
        )
    }
}

/// The fixed effects (columns of `x`, named `names`) that run off: each moves some row's
/// linear predictor by more than [`REACH`] while its standard error exceeds the estimate
/// itself.
pub(crate) fn separated_effects(
    names: &[String],
    beta: &[f64],
    std_errors: &[f64],
    x: &DenseMatrix,
) -> Vec<SeparatedEffect> {
    (0..beta.len().min(x.ncols))
        .filter_map(|j| {
            let (b, se) = (beta[j], std_errors.get(j).copied().unwrap_or(f64::NAN));
            let reach = x.col(j).iter().fold(0.0_f64, |m, v| m.max((b * v).abs()));
            let flat = !se.is_finite() || se > b.abs();
            (reach > REACH && flat).then(|| SeparatedEffect {
                name: names.get(j).cloned().unwrap_or_default(),
                direction: b.signum(),
                estimate: b,
                std_error: se,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(cols: &[&[f64]]) -> DenseMatrix {
        let nrows = cols[0].len();
        DenseMatrix {
            nrows,
            ncols: cols.len(),
            data: cols.iter().flat_map(|c| c.iter().copied()).collect(),
        }
    }

    #[test]
    fn a_large_estimate_with_a_larger_standard_error_runs_off() {
        let names = vec!["(Intercept)".to_string(), "trt2".to_string()];
        let m = x(&[&[1.0, 1.0, 1.0], &[0.0, 1.0, 0.0]]);
        let found = separated_effects(&names, &[-0.7, -7505.0], &[0.2, 2.8e9], &m);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "trt2");
        assert_eq!(found[0].direction, -1.0);
        assert!(found[0].message().contains("−∞"));
    }

    #[test]
    fn a_large_well_determined_effect_does_not() {
        // a covariate on a wide range with a precise slope moves η far but is estimable
        let names = vec!["(Intercept)".to_string(), "x".to_string()];
        let m = x(&[&[1.0, 1.0], &[0.0, 100.0]]);
        assert!(separated_effects(&names, &[16.0, 0.5], &[0.1, 0.01], &m).is_empty());
        // a vague effect that moves η little is not separation either
        assert!(separated_effects(&names, &[0.1, 0.01], &[0.1, 0.05], &m).is_empty());
    }
}
