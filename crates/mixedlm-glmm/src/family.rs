//! Response distributions: the binomial and Poisson families, behind a trait a later
//! family (negative binomial, Gamma) implements without the engine changing.
//!
//! A binomial response is a proportion y in [0, 1] with the number of trials as prior
//! weight (a 0/1 response has weight 1; `cbind(successes, failures)` becomes the proportion
//! with weight successes + failures), as R's `binomial()` family stores it.

use super::link::{Link, Log, Logit};
use rand::RngCore;
use rand_distr::Distribution;
use statrs::function::gamma::ln_gamma;
use std::fmt::Debug;

/// An exponential-family response distribution with a known dispersion.
pub trait Family: Debug + Send + Sync {
    /// The name as R and the command line spell it (`binomial`, `poisson`).
    fn name(&self) -> &'static str;
    /// The canonical link, used when none is given.
    fn default_link(&self) -> Box<dyn Link>;
    /// Whether the family accepts this link (a Poisson mean must stay positive).
    fn accepts_link(&self, link: &dyn Link) -> bool;
    /// The variance function V(μ).
    fn variance(&self, mu: f64) -> f64;
    /// V'(μ), for the analytic gradient of the Laplace criterion (a central difference
    /// unless the family knows it).
    fn variance_derivative(&self, mu: f64) -> f64 {
        let h = 1e-6 * mu.abs().max(1e-3);
        (self.variance(mu + h) - self.variance(mu - h)) / (2.0 * h)
    }
    /// The unit deviance 2 [ℓ(y; y) − ℓ(y; μ)] of one observation of prior weight 1.
    fn unit_deviance(&self, y: f64, mu: f64) -> f64;
    /// log p(y | μ) of one observation with prior weight `weight`, constants included:
    /// the conditional log-likelihood whose sum lme4's Laplace deviance reports.
    fn log_density(&self, y: f64, mu: f64, weight: f64) -> f64;
    /// `Err(advice)` when the family cannot take the response `y` with weight `weight`.
    fn check_response(&self, y: f64, weight: f64) -> Result<(), String>;
    /// A starting mean for the response (R's `mustart`).
    fn initial_mu(&self, y: f64, weight: f64) -> f64;
    /// A random response with mean `mu` and prior weight `weight`, on the response's scale.
    fn sample(&self, mu: f64, weight: f64, rng: &mut dyn RngCore) -> f64;
    /// Whether Pearson's χ² over the residual degrees of freedom measures overdispersion
    /// for these prior weights (not for a 0/1 response, whose variance μ(1 − μ) is fixed).
    fn overdispersion_applies(&self, weights: &[f64]) -> bool;
}

/// The binomial family: proportions with the numbers of trials as prior weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Binomial;

/// The Poisson family: counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Poisson;

/// y log(y / μ), taken as 0 at y = 0.
fn y_log_y_over(y: f64, mu: f64) -> f64 {
    if y > 0.0 {
        y * (y / mu).ln()
    } else {
        0.0
    }
}

/// log C(n, k) for whole numbers 0 ≤ k ≤ n.
fn ln_choose(n: f64, k: f64) -> f64 {
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
}

impl Family for Binomial {
    fn name(&self) -> &'static str {
        "binomial"
    }
    fn default_link(&self) -> Box<dyn Link> {
        Box::new(Logit)
    }
    fn accepts_link(&self, link: &dyn Link) -> bool {
        matches!(link.name(), "logit" | "probit" | "cloglog")
    }
    fn variance(&self, mu: f64) -> f64 {
        mu * (1.0 - mu)
    }
    fn variance_derivative(&self, mu: f64) -> f64 {
        1.0 - 2.0 * mu
    }
    fn unit_deviance(&self, y: f64, mu: f64) -> f64 {
        2.0 * (y_log_y_over(y, mu) + y_log_y_over(1.0 - y, 1.0 - mu))
    }
    fn log_density(&self, y: f64, mu: f64, weight: f64) -> f64 {
        if weight <= 0.0 {
            return 0.0;
        }
        let m = weight.round();
        let k = (weight * y).round();
        let mut v = ln_choose(m, k);
        if k > 0.0 {
            v += k * mu.ln();
        }
        if m - k > 0.0 {
            v += (m - k) * (-mu).ln_1p();
        }
        v
    }
    fn check_response(&self, y: f64, weight: f64) -> Result<(), String> {
        if !(0.0..=1.0).contains(&y) {
            return Err(
                "a binomial response is 0/1, a proportion in [0, 1] with the numbers of \
                        trials as weights, or cbind(successes, failures) with both counts >= 0"
                    .into(),
            );
        }
        let successes = weight * y;
        if (successes - successes.round()).abs() > 1e-7 * weight.max(1.0) {
            return Err(if weight == 1.0 {
                "a proportion needs the number of trials as prior weights (weights / --weights), \
                 or write the response as cbind(successes, failures)"
                    .into()
            } else {
                format!(
                    "weight x proportion = {successes} is not a whole number of successes; the \
                     weights of a binomial proportion are the numbers of trials"
                )
            });
        }
        Ok(())
    }
    fn initial_mu(&self, y: f64, weight: f64) -> f64 {
        (weight * y + 0.5) / (weight + 1.0)
    }
    fn sample(&self, mu: f64, weight: f64, rng: &mut dyn RngCore) -> f64 {
        let n = weight.round();
        if n < 1.0 {
            return 0.0;
        }
        match rand_distr::Binomial::new(n as u64, mu.clamp(0.0, 1.0)) {
            Ok(d) => d.sample(rng) as f64 / n,
            Err(_) => f64::NAN,
        }
    }
    fn overdispersion_applies(&self, weights: &[f64]) -> bool {
        weights.iter().any(|w| *w > 1.0)
    }
}

impl Family for Poisson {
    fn name(&self) -> &'static str {
        "poisson"
    }
    fn default_link(&self) -> Box<dyn Link> {
        Box::new(Log)
    }
    fn accepts_link(&self, link: &dyn Link) -> bool {
        link.name() == "log"
    }
    fn variance(&self, mu: f64) -> f64 {
        mu
    }
    fn variance_derivative(&self, _mu: f64) -> f64 {
        1.0
    }
    fn unit_deviance(&self, y: f64, mu: f64) -> f64 {
        2.0 * (y_log_y_over(y, mu) - (y - mu))
    }
    fn log_density(&self, y: f64, mu: f64, weight: f64) -> f64 {
        let v = if y > 0.0 { y * mu.ln() } else { 0.0 } - mu - ln_gamma(y + 1.0);
        weight * v
    }
    fn check_response(&self, y: f64, _weight: f64) -> Result<(), String> {
        if y < 0.0 || y.fract() != 0.0 {
            return Err(
                "a Poisson response is a count (a whole number >= 0); for rates, model the count \
                 with offset(log(exposure))"
                    .into(),
            );
        }
        Ok(())
    }
    fn initial_mu(&self, y: f64, _weight: f64) -> f64 {
        y + 0.1
    }
    fn sample(&self, mu: f64, _weight: f64, rng: &mut dyn RngCore) -> f64 {
        if mu <= 0.0 {
            return 0.0;
        }
        match rand_distr::Poisson::new(mu) {
            Ok(d) => d.sample(rng),
            Err(_) => f64::NAN,
        }
    }
    fn overdispersion_applies(&self, _weights: &[f64]) -> bool {
        true
    }
}

/// The family of a name (`binomial`, `poisson`), case-insensitive.
pub fn family_by_name(name: &str) -> Option<Box<dyn Family>> {
    match name.trim().to_ascii_lowercase().as_str() {
        "binomial" => Some(Box::new(Binomial)),
        "poisson" => Some(Box::new(Poisson)),
        _ => None,
    }
}

/// The names [`family_by_name`] accepts.
pub const FAMILY_NAMES: [&str; 2] = ["binomial", "poisson"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The deviance is twice the log-likelihood ratio to the saturated model (μ = y).
    #[test]
    fn deviance_is_twice_the_distance_to_the_saturated_log_likelihood() {
        let cases: [(&dyn Family, f64, f64, f64); 4] = [
            (&Binomial, 0.25, 0.4, 8.0),
            (&Binomial, 1.0, 0.7, 1.0),
            (&Poisson, 3.0, 2.2, 1.0),
            (&Poisson, 0.0, 0.5, 1.0),
        ];
        for (f, y, mu, w) in cases {
            let d = w * f.unit_deviance(y, mu);
            let sat = match f.name() {
                "poisson" if y == 0.0 => 0.0,
                "poisson" => f.log_density(y, y, w),
                _ => f.log_density(y, y.clamp(1e-300, 1.0 - 1e-16), w),
            };
            let lr = 2.0 * (sat - f.log_density(y, mu, w));
            assert!((d - lr).abs() < 1e-9, "{}: {d} vs {lr}", f.name());
        }
    }

    #[test]
    fn log_densities_match_r() {
        // dbinom(2, 8, 0.4, log = TRUE), dpois(3, 2.2, log = TRUE)
        assert!((Binomial.log_density(0.25, 0.4, 8.0) - (-1.56533069616905)).abs() < 1e-10);
        assert!((Poisson.log_density(3.0, 2.2, 1.0) - (-1.62638738813524)).abs() < 1e-10);
    }

    #[test]
    fn responses_are_checked() {
        assert!(Binomial.check_response(0.3, 1.0).is_err());
        assert!(Binomial.check_response(0.3, 10.0).is_ok());
        assert!(Binomial.check_response(1.2, 1.0).is_err());
        assert!(Binomial.check_response(-0.0, 1.0).is_ok());
        assert!(Poisson.check_response(-1.0, 1.0).is_err());
        assert!(Poisson.check_response(2.5, 1.0).is_err());
        assert!(Poisson.check_response(7.0, 1.0).is_ok());
    }
}
