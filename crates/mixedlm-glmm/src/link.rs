//! Link functions g: the linear predictor η = g(μ) and its inverse.
//!
//! Each inverse keeps μ strictly inside the family's range and each derivative dμ/dη away
//! from zero (as R's `make.link` does, with the machine epsilon as the margin), so that
//! working weights and residuals stay finite for any finite η.

use std::fmt::Debug;

/// The machine epsilon: the margin R's links keep μ and dμ/dη from their limits.
const EPS: f64 = f64::EPSILON;

/// A link function. Implement it to add a link; the engine calls only these methods.
pub trait Link: Debug + Send + Sync {
    /// The name as R and the command line spell it (`logit`, `probit`, `cloglog`, `log`).
    fn name(&self) -> &'static str;
    /// η = g(μ).
    fn link(&self, mu: f64) -> f64;
    /// μ = g⁻¹(η), kept inside the family's range.
    fn inverse(&self, eta: f64) -> f64;
    /// dμ/dη at η, kept away from zero.
    fn mu_eta(&self, eta: f64) -> f64;
    /// (μ, dμ/dη) at η: what every PIRLS step needs per row (a link may share work
    /// between the two).
    fn mu_and_derivative(&self, eta: f64) -> (f64, f64) {
        (self.inverse(eta), self.mu_eta(eta))
    }
}

/// log(μ / (1 − μ)): the binomial family's canonical link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Logit;

/// Φ⁻¹(μ), the standard normal quantile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Probit;

/// log(−log(1 − μ)), the complementary log-log link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cloglog;

/// log(μ): the Poisson family's canonical link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Log;

/// Beyond |η| = 30 the logistic function is within ε of its limit (R's threshold).
const LOGIT_THRESH: f64 = 30.0;

impl Link for Logit {
    fn name(&self) -> &'static str {
        "logit"
    }
    fn link(&self, mu: f64) -> f64 {
        (mu / (1.0 - mu)).ln()
    }
    fn inverse(&self, eta: f64) -> f64 {
        let e = if eta < -LOGIT_THRESH {
            EPS
        } else if eta > LOGIT_THRESH {
            1.0 / EPS
        } else {
            eta.exp()
        };
        e / (1.0 + e)
    }
    fn mu_eta(&self, eta: f64) -> f64 {
        let opexp = 1.0 + eta.exp();
        if eta.abs() > LOGIT_THRESH {
            EPS
        } else {
            eta.exp() / (opexp * opexp)
        }
    }
    fn mu_and_derivative(&self, eta: f64) -> (f64, f64) {
        if eta.abs() > LOGIT_THRESH {
            return (self.inverse(eta), EPS);
        }
        let e = eta.exp();
        let opexp = 1.0 + e;
        (e / opexp, e / (opexp * opexp))
    }
}

/// −Φ⁻¹(ε): beyond it the normal distribution function is within ε of its limit.
const PROBIT_THRESH: f64 = 8.125890664701906;

impl Link for Probit {
    fn name(&self) -> &'static str {
        "probit"
    }
    fn link(&self, mu: f64) -> f64 {
        normal_quantile(mu)
    }
    fn inverse(&self, eta: f64) -> f64 {
        normal_cdf(eta.clamp(-PROBIT_THRESH, PROBIT_THRESH))
    }
    fn mu_eta(&self, eta: f64) -> f64 {
        normal_density(eta).max(EPS)
    }
}

impl Link for Cloglog {
    fn name(&self) -> &'static str {
        "cloglog"
    }
    fn link(&self, mu: f64) -> f64 {
        (-(-mu).ln_1p()).ln()
    }
    fn inverse(&self, eta: f64) -> f64 {
        (-(-eta.exp()).exp_m1()).clamp(EPS, 1.0 - EPS)
    }
    fn mu_eta(&self, eta: f64) -> f64 {
        let eta = eta.min(700.0);
        (eta.exp() * (-eta.exp()).exp()).max(EPS)
    }
}

impl Link for Log {
    fn name(&self) -> &'static str {
        "log"
    }
    fn link(&self, mu: f64) -> f64 {
        mu.ln()
    }
    fn inverse(&self, eta: f64) -> f64 {
        eta.exp().max(EPS)
    }
    fn mu_eta(&self, eta: f64) -> f64 {
        eta.exp().max(EPS)
    }
    fn mu_and_derivative(&self, eta: f64) -> (f64, f64) {
        let m = eta.exp().max(EPS);
        (m, m)
    }
}

/// The standard normal density φ(x).
pub(crate) fn normal_density(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal distribution function Φ(x), accurate in both tails.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Φ⁻¹(p) for 0 < p < 1 (±∞ at 0 and 1, NaN outside).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * p)
}

/// The link of a name (`logit`, `probit`, `cloglog`, `log`), case-insensitive.
pub fn link_by_name(name: &str) -> Option<Box<dyn Link>> {
    match name.trim().to_ascii_lowercase().as_str() {
        "logit" => Some(Box::new(Logit)),
        "probit" => Some(Box::new(Probit)),
        "cloglog" => Some(Box::new(Cloglog)),
        "log" => Some(Box::new(Log)),
        _ => None,
    }
}

/// The names [`link_by_name`] accepts.
pub const LINK_NAMES: [&str; 4] = ["logit", "probit", "cloglog", "log"];

#[cfg(test)]
mod tests {
    use super::*;

    /// g(g⁻¹(η)) = η and dμ/dη matches a central difference of g⁻¹, inside the range
    /// where the links are not clamped.
    #[test]
    fn inverse_and_derivative_agree_with_the_link() {
        let links: [Box<dyn Link>; 4] = [
            Box::new(Logit),
            Box::new(Probit),
            Box::new(Cloglog),
            Box::new(Log),
        ];
        for link in &links {
            for eta in [-3.0, -0.7, 0.0, 0.4, 2.5] {
                let mu = link.inverse(eta);
                assert!((link.link(mu) - eta).abs() < 1e-9, "{}: {eta}", link.name());
                let h = 1e-6;
                let fd = (link.inverse(eta + h) - link.inverse(eta - h)) / (2.0 * h);
                let d = link.mu_eta(eta);
                assert!((fd - d).abs() < 1e-7 * d.max(1.0), "{}: {eta}", link.name());
                let (m2, d2) = link.mu_and_derivative(eta);
                assert!((m2 - mu).abs() <= 1e-15 && (d2 - d).abs() <= 1e-15 * d.max(1e-300));
            }
        }
    }

    #[test]
    fn extreme_predictors_stay_inside_the_range() {
        for link in [&Logit as &dyn Link, &Probit, &Cloglog] {
            for eta in [-1e300, -800.0, -40.0, 40.0, 800.0, 1e300] {
                let mu = link.inverse(eta);
                assert!(mu > 0.0 && mu < 1.0, "{} at {eta}: {mu}", link.name());
                assert!(link.mu_eta(eta) > 0.0);
            }
        }
        assert!(Log.inverse(-1e4) > 0.0 && Log.mu_eta(-1e4) > 0.0);
    }

    #[test]
    fn normal_quantile_inverts_the_cdf() {
        for p in [1e-12, 0.025, 0.5, 0.9, 1.0 - 1e-9] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-12 * p.max(1e-3) / 1e-3);
        }
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-12);
    }
}
