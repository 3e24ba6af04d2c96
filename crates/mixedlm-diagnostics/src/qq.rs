//! Normal Q-Q coordinates, as R's `qqnorm` and `qqline`.
//!
//! The i-th smallest of n values is plotted against `Φ⁻¹(p_i)` with R's `ppoints` rule
//! `p_i = (i − a)/(n + 1 − 2a)`, `a = 3/8` for n ≤ 10 and `a = 1/2` otherwise. The reference
//! line passes through the first and third quartiles of the sample (type-7 quantiles) and of
//! the standard normal distribution.

use crate::error::check_finite;
use crate::DiagError;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// Standard normal quantile Φ⁻¹(p).
pub(crate) fn qnorm(p: f64) -> f64 {
    // The standard normal always exists: mean 0, sd 1.
    Normal::standard().inverse_cdf(p)
}

/// Standard normal distribution function Φ(x).
pub(crate) fn pnorm(x: f64) -> f64 {
    Normal::standard().cdf(x)
}

/// R's `ppoints(n)`: plotting positions `(i − a)/(n + 1 − 2a)`, i = 1..n.
pub fn ppoints(n: usize) -> Vec<f64> {
    let a = if n <= 10 { 3.0 / 8.0 } else { 0.5 };
    let denom = n as f64 + 1.0 - 2.0 * a;
    (1..=n).map(|i| (i as f64 - a) / denom).collect()
}

/// The type-7 sample quantile (R's default) of already sorted values, 0 ≤ p ≤ 1.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let h = last as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(last);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// A straight line `y = intercept + slope · x`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Line {
    /// Intercept.
    pub intercept: f64,
    /// Slope.
    pub slope: f64,
}

/// Normal Q-Q coordinates of a sample and its reference line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QqData {
    /// Theoretical standard normal quantiles, increasing.
    pub theoretical: Vec<f64>,
    /// The sample, sorted increasingly (pairs with `theoretical`).
    pub sample: Vec<f64>,
    /// The reference line through the quartiles (R's `qqline`).
    pub line: Line,
}

/// Normal Q-Q coordinates of `values` (at least 2 finite values).
pub fn qq_data(values: &[f64]) -> Result<QqData, DiagError> {
    check_finite("Q-Q sample", values)?;
    if values.len() < 2 {
        return Err(DiagError::TooFewValues {
            what: "a Q-Q plot",
            min: 2,
            got: values.len(),
        });
    }
    let mut sample = values.to_vec();
    sample.sort_by(f64::total_cmp);
    let theoretical = ppoints(sample.len()).into_iter().map(qnorm).collect();
    let line = qq_line(&sample);
    Ok(QqData {
        theoretical,
        sample,
        line,
    })
}

/// R's `qqline` for a sorted sample: through the (0.25, 0.75) quantiles of sample and N(0, 1).
pub fn qq_line(sorted: &[f64]) -> Line {
    let (y1, y2) = (quantile_sorted(sorted, 0.25), quantile_sorted(sorted, 0.75));
    let (x1, x2) = (qnorm(0.25), qnorm(0.75));
    let slope = (y2 - y1) / (x2 - x1);
    Line {
        intercept: y1 - slope * x1,
        slope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppoints_follows_r() {
        // R: ppoints(5) = (1:5 - 3/8) / (5 + 1/4); ppoints(12) = (1:12 - 1/2) / 12.
        let p5 = ppoints(5);
        let expected5 = [
            0.119047619047619,
            0.309523809523810,
            0.5,
            0.690476190476190,
            0.880952380952381,
        ];
        for (a, b) in p5.iter().zip(expected5) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
        let p12 = ppoints(12);
        assert!((p12[0] - 1.0 / 24.0).abs() < 1e-15 && (p12[11] - 23.0 / 24.0).abs() < 1e-15);
        assert_eq!(ppoints(10)[0], 0.625 / 10.25);
    }

    #[test]
    fn qnorm_known_values() {
        // Φ⁻¹(0.975) = 1.959963984540054, Φ⁻¹(0.75) = 0.6744897501960817 (tables / R qnorm).
        assert!((qnorm(0.975) - 1.959963984540054).abs() < 1e-12);
        assert!((qnorm(0.75) - 0.6744897501960817).abs() < 1e-12);
        assert!((qnorm(0.5)).abs() < 1e-15);
    }

    #[test]
    fn qq_of_ten_values() {
        // R: qqnorm(x) for x below: the smallest value pairs with qnorm(0.625/10.25)
        // = -1.546635, the middle ones with ±qnorm(4.625/10.25)... ; qqline slope
        // = (q75 - q25) / (2 * 0.6744898) with type-7 quartiles 2.925 and 4.325.
        let x = [2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 4.9, 3.7, 4.1];
        let qq = qq_data(&x).unwrap();
        assert_eq!(qq.sample[0], 1.9);
        assert_eq!(qq.sample[9], 5.6);
        assert!(
            (qq.theoretical[0] + 1.546635).abs() < 1e-6,
            "{}",
            qq.theoretical[0]
        );
        assert!((qq.theoretical[9] - 1.546635).abs() < 1e-6);
        assert!((quantile_sorted(&qq.sample, 0.25) - 2.925).abs() < 1e-12);
        assert!((quantile_sorted(&qq.sample, 0.75) - 4.325).abs() < 1e-12);
        let slope = (4.325 - 2.925) / (2.0 * 0.6744897501960817);
        assert!((qq.line.slope - slope).abs() < 1e-12);
        assert!((qq.line.intercept - 3.625).abs() < 1e-12); // symmetric quartiles: midpoint
    }

    #[test]
    fn qq_rejects_bad_input() {
        assert!(qq_data(&[1.0]).is_err());
        assert!(qq_data(&[1.0, f64::NAN]).is_err());
    }
}
