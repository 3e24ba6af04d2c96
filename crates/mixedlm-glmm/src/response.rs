//! The GLM response: y, prior weights and offset with the family and link, and what one
//! linear predictor η gives: the mean μ, dμ/dη, the working weights and residuals of
//! iteratively reweighted least squares, the deviance and the log-likelihood.

use super::error::GlmmError;
use super::family::Family;
use super::link::Link;

/// The response and its workspaces (one entry per observation).
#[derive(Debug)]
pub struct GlmResponse {
    /// The response distribution.
    pub family: Box<dyn Family>,
    /// The link function.
    pub link: Box<dyn Link>,
    /// The response (a proportion for the binomial family).
    pub y: Vec<f64>,
    /// Prior weights (numbers of trials for a binomial proportion), 1 when none.
    pub weights: Vec<f64>,
    /// The offset of the linear predictor (0 when none).
    pub offset: Vec<f64>,
    /// μ at the last [`Self::update`].
    pub mu: Vec<f64>,
    /// dμ/dη at the last [`Self::update`].
    pub mu_eta: Vec<f64>,
    /// Σ log p(y | μ = y): the saturated model's log-likelihood, so that
    /// Σ log p(y | μ) = saturated − deviance / 2 for any μ.
    pub saturated: f64,
}

impl GlmResponse {
    /// Check every response value and weight against the family.
    pub fn new(
        family: Box<dyn Family>,
        link: Box<dyn Link>,
        y: Vec<f64>,
        weights: Option<Vec<f64>>,
        offset: Option<Vec<f64>>,
    ) -> Result<Self, GlmmError> {
        let n = y.len();
        let weights = weights.unwrap_or_else(|| vec![1.0; n]);
        let offset = offset.unwrap_or_else(|| vec![0.0; n]);
        for (row, &w) in weights.iter().enumerate() {
            if !(w.is_finite() && w >= 0.0) {
                return Err(GlmmError::BadWeight { row, value: w });
            }
        }
        if weights.iter().all(|w| *w == 0.0) {
            return Err(GlmmError::NoInformation);
        }
        for (row, (&v, &w)) in y.iter().zip(&weights).enumerate() {
            if !v.is_finite() {
                return Err(mixedlm_model::ModelError::NonFinite {
                    what: "response".into(),
                    row,
                }
                .into());
            }
            if w > 0.0 {
                family
                    .check_response(v, w)
                    .map_err(|advice| GlmmError::BadResponse {
                        family: family.name(),
                        row,
                        value: v,
                        advice,
                    })?;
            }
        }
        if let Some(row) = offset.iter().position(|v| !v.is_finite()) {
            return Err(mixedlm_model::ModelError::NonFinite {
                what: "offset".into(),
                row,
            }
            .into());
        }
        let mut resp = GlmResponse {
            family,
            link,
            y,
            weights,
            offset,
            mu: vec![0.0; n],
            mu_eta: vec![0.0; n],
            saturated: 0.0,
        };
        // log p(y | y) = log p(y | μ) + w d(y, μ) / 2 at any μ inside the range
        resp.update(&resp.initial_eta());
        resp.saturated = resp.log_likelihood() + 0.5 * resp.deviance();
        Ok(resp)
    }

    /// Number of observations.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no observations.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The starting linear predictor g(μ_start) (R's `mustart`).
    pub fn initial_eta(&self) -> Vec<f64> {
        self.y
            .iter()
            .zip(&self.weights)
            .map(|(&y, &w)| self.link.link(self.family.initial_mu(y, w)))
            .collect()
    }

    /// μ and dμ/dη at the linear predictor η.
    pub fn update(&mut self, eta: &[f64]) {
        for ((m, d), &e) in self.mu.iter_mut().zip(self.mu_eta.iter_mut()).zip(eta) {
            (*m, *d) = self.link.mu_and_derivative(e);
        }
    }

    /// The working weights w (dμ/dη)² / V(μ) and the working residuals (y − μ) / (dμ/dη)
    /// at the last update.
    pub fn working(&self, weights: &mut [f64], residuals: &mut [f64]) {
        for i in 0..self.y.len() {
            let (mu, d) = (self.mu[i], self.mu_eta[i]);
            weights[i] = self.weights[i] * d * d / self.family.variance(mu);
            residuals[i] = (self.y[i] - mu) / d;
        }
    }

    /// Σ w d(y, μ): the deviance at the last update.
    pub fn deviance(&self) -> f64 {
        self.y
            .iter()
            .zip(&self.mu)
            .zip(&self.weights)
            .map(|((&y, &mu), &w)| {
                if w > 0.0 {
                    w * self.family.unit_deviance(y, mu)
                } else {
                    0.0
                }
            })
            .sum()
    }

    /// Σ log p(y | μ): the conditional log-likelihood at the last update.
    pub fn log_likelihood(&self) -> f64 {
        self.y
            .iter()
            .zip(&self.mu)
            .zip(&self.weights)
            .map(|((&y, &mu), &w)| self.family.log_density(y, mu, w))
            .sum()
    }

    /// The deviance residuals sign(y − μ) √(w d(y, μ)) at the last update.
    pub fn deviance_residuals(&self) -> Vec<f64> {
        (0..self.len())
            .map(|i| {
                let (y, mu, w) = (self.y[i], self.mu[i], self.weights[i]);
                let d = (w * self.family.unit_deviance(y, mu)).max(0.0).sqrt();
                if y >= mu {
                    d
                } else {
                    -d
                }
            })
            .collect()
    }

    /// The Pearson residuals (y − μ) √w / √V(μ) at the last update.
    pub fn pearson_residuals(&self) -> Vec<f64> {
        (0..self.len())
            .map(|i| {
                let (y, mu, w) = (self.y[i], self.mu[i], self.weights[i]);
                (y - mu) * w.sqrt() / self.family.variance(mu).sqrt()
            })
            .collect()
    }
}
