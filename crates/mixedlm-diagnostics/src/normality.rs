//! Tests of normality: Shapiro-Wilk and Anderson-Darling.
//!
//! [`shapiro_wilk`] follows Royston's algorithm AS R94 (1995), the one behind R's
//! `shapiro.test`: approximate normal-score coefficients `a`, the statistic
//! `W = (Σ aᵢ (x₍ₙ₊₁₋ᵢ₎ − x₍ᵢ₎))² / Σ (xᵢ − x̄)²`, and a p-value from a normalizing
//! transformation of `W`. It is valid for 3 ≤ n ≤ 5000.
//!
//! [`anderson_darling`] is the composite Anderson-Darling test for normality (mean and SD
//! estimated), with the p-value of D'Agostino & Stephens (1986), as R's `nortest::ad.test`.
//! [`normality_test`] picks Shapiro-Wilk up to 5000 values and Anderson-Darling beyond, so the
//! whole sample is always used (no subsampling).

use crate::error::check_finite;
use crate::qq::{pnorm, qnorm};
use crate::DiagError;
use serde::Serialize;

/// The largest sample for which Shapiro-Wilk's p-value approximation is valid.
pub const SHAPIRO_MAX_N: usize = 5000;

/// The result of a normality test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NormalityTest {
    /// The test's name: `"Shapiro-Wilk"` or `"Anderson-Darling"`.
    pub test: String,
    /// The statistic: W (Shapiro-Wilk) or A² (Anderson-Darling).
    pub statistic: f64,
    /// The p-value under the null hypothesis of normality.
    pub p_value: f64,
    /// The sample size.
    #[serde(skip)]
    pub n: usize,
}

/// Shapiro-Wilk for 3 ≤ n ≤ 5000 values, Anderson-Darling (8 ≤ n) beyond.
pub fn normality_test(values: &[f64]) -> Result<NormalityTest, DiagError> {
    if values.len() <= SHAPIRO_MAX_N {
        shapiro_wilk(values)
    } else {
        anderson_darling(values)
    }
}

/// Sorted copy of finite, non-constant values (at least `min`).
fn sorted_sample(what: &'static str, values: &[f64], min: usize) -> Result<Vec<f64>, DiagError> {
    check_finite(what, values)?;
    if values.len() < min {
        return Err(DiagError::TooFewValues {
            what,
            min,
            got: values.len(),
        });
    }
    let mut x = values.to_vec();
    x.sort_by(f64::total_cmp);
    let range = x[x.len() - 1] - x[0];
    if range <= f64::EPSILON * x[0].abs().max(x[x.len() - 1].abs()) {
        return Err(DiagError::Constant { what });
    }
    Ok(x)
}

/// Horner evaluation of `c[0] + c[1] x + c[2] x² + …`.
fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ci| acc * x + ci)
}

/// Royston's approximate Shapiro-Wilk coefficients for the lower half (positive values,
/// `a[i]` multiplies `x₍ₙ₋ᵢ₎ − x₍ᵢ₊₁₎`).
fn shapiro_coefficients(n: usize) -> Vec<f64> {
    if n == 3 {
        return vec![std::f64::consts::FRAC_1_SQRT_2];
    }
    const C1: [f64; 6] = [0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056];
    const C2: [f64; 6] = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
    let nf = n as f64;
    // Expected normal order statistics of the lower half (negative): Blom-type scores.
    let m: Vec<f64> = (1..=n / 2)
        .map(|i| qnorm((i as f64 - 0.375) / (nf + 0.25)))
        .collect();
    let summ2 = 2.0 * m.iter().map(|v| v * v).sum::<f64>();
    let ssumm2 = summ2.sqrt();
    let u = 1.0 / nf.sqrt();
    let a1 = poly(&C1, u) - m[0] / ssumm2;
    let mut a: Vec<f64> = Vec::with_capacity(m.len());
    if n > 5 {
        let a2 = poly(&C2, u) - m[1] / ssumm2;
        let fac = ((summ2 - 2.0 * (m[0] * m[0] + m[1] * m[1])) / (1.0 - 2.0 * (a1 * a1 + a2 * a2)))
            .sqrt();
        a.extend([a1, a2]);
        a.extend(m[2..].iter().map(|v| -v / fac));
    } else {
        let fac = ((summ2 - 2.0 * m[0] * m[0]) / (1.0 - 2.0 * a1 * a1)).sqrt();
        a.push(a1);
        a.extend(m[1..].iter().map(|v| -v / fac));
    }
    a
}

/// The Shapiro-Wilk W statistic of sorted values.
fn shapiro_w(x: &[f64]) -> f64 {
    let n = x.len();
    let a = shapiro_coefficients(n);
    let mean = x.iter().sum::<f64>() / n as f64;
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    let num: f64 = a
        .iter()
        .enumerate()
        .map(|(i, ai)| ai * (x[n - 1 - i] - x[i]))
        .sum();
    (num * num / ss).min(1.0)
}

/// Royston's p-value for W from a sample of size n.
fn shapiro_p_value(w: f64, n: usize) -> f64 {
    let nf = n as f64;
    if n == 3 {
        // Exact: P(W ≤ w) = (6/π)(asin √w − asin √(3/4)).
        let p = 6.0 / std::f64::consts::PI * (w.sqrt().asin() - (0.75f64).sqrt().asin());
        return p.clamp(0.0, 1.0);
    }
    let w1 = (1.0 - w).ln();
    let (y, mean, sd) = if n <= 11 {
        let gamma = poly(&[-2.273, 0.459], nf);
        if w1 >= gamma {
            return 0.0;
        }
        let y = -(gamma - w1).ln();
        let mean = poly(&[0.544, -0.39978, 0.025054, -6.714e-4], nf);
        let sd = poly(&[1.3822, -0.77857, 0.062767, -0.0020322], nf).exp();
        (y, mean, sd)
    } else {
        let ln_n = nf.ln();
        let mean = poly(&[-1.5861, -0.31082, -0.083751, 0.0038915], ln_n);
        let sd = poly(&[-0.4803, -0.082676, 0.0030302], ln_n).exp();
        (w1, mean, sd)
    };
    1.0 - pnorm((y - mean) / sd)
}

/// Shapiro-Wilk test of normality (Royston's AS R94, as R's `shapiro.test`), 3 ≤ n ≤ 5000.
pub fn shapiro_wilk(values: &[f64]) -> Result<NormalityTest, DiagError> {
    if values.len() > SHAPIRO_MAX_N {
        return Err(DiagError::Invalid(format!(
            "Shapiro-Wilk is valid for at most {SHAPIRO_MAX_N} values (got {}); use the \
             Anderson-Darling test (normality_test picks it automatically)",
            values.len()
        )));
    }
    let x = sorted_sample("Shapiro-Wilk test", values, 3)?;
    let w = shapiro_w(&x);
    let p_value = shapiro_p_value(w, x.len());
    Ok(NormalityTest {
        test: "Shapiro-Wilk".into(),
        statistic: w,
        p_value,
        n: x.len(),
    })
}

/// log Φ(z), accurate far into the lower tail.
fn log_pnorm(z: f64) -> f64 {
    if z > -30.0 {
        pnorm(z).ln()
    } else {
        // Mills-ratio expansion: Φ(z) ≈ φ(z)/|z| · (1 − 1/z² + 3/z⁴).
        let z2 = z * z;
        -0.5 * z2 - (2.0 * std::f64::consts::PI).sqrt().ln() - (-z).ln()
            + (1.0 - 1.0 / z2 + 3.0 / (z2 * z2)).ln()
    }
}

/// Anderson-Darling test of normality (as R's `nortest::ad.test`), n ≥ 8.
pub fn anderson_darling(values: &[f64]) -> Result<NormalityTest, DiagError> {
    let x = sorted_sample("Anderson-Darling test", values, 8)?;
    let n = x.len();
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let sd = (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (nf - 1.0)).sqrt();
    let z: Vec<f64> = x.iter().map(|v| (v - mean) / sd).collect();
    let s: f64 = (0..n)
        .map(|i| (2.0 * i as f64 + 1.0) * (log_pnorm(z[i]) + log_pnorm(-z[n - 1 - i])))
        .sum();
    let a2 = -nf - s / nf;
    let p_value = anderson_darling_p(a2 * (1.0 + 0.75 / nf + 2.25 / (nf * nf)));
    Ok(NormalityTest {
        test: "Anderson-Darling".into(),
        statistic: a2,
        p_value,
        n,
    })
}

/// D'Agostino & Stephens' p-value for the size-adjusted A².
fn anderson_darling_p(aa: f64) -> f64 {
    let p = if aa < 0.2 {
        1.0 - (-13.436 + 101.14 * aa - 223.73 * aa * aa).exp()
    } else if aa < 0.34 {
        1.0 - (-8.318 + 42.796 * aa - 59.938 * aa * aa).exp()
    } else if aa < 0.6 {
        (0.9177 - 4.279 * aa - 1.38 * aa * aa).exp()
    } else if aa < 10.0 {
        (1.2937 - 5.709 * aa + 0.0186 * aa * aa).exp()
    } else {
        3.7e-24
    };
    p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MPG: [f64; 32] = [
        21.0, 21.0, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3, 15.2, 10.4,
        10.4, 14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2, 27.3, 26.0, 30.4, 15.8, 19.7,
        15.0, 21.4,
    ];

    fn check(x: &[f64], w: f64, p: f64, tol_w: f64, tol_p: f64) {
        let r = shapiro_wilk(x).unwrap();
        assert!((r.statistic - w).abs() < tol_w, "W {} vs {w}", r.statistic);
        assert!((r.p_value - p).abs() < tol_p, "p {} vs {p}", r.p_value);
    }

    #[test]
    fn shapiro_mtcars_mpg_matches_r() {
        // R: shapiro.test(mtcars$mpg) prints W = 0.94756, p-value = 0.1229.
        check(&MPG, 0.94756, 0.1229, 1e-5, 1e-4);
    }

    #[test]
    fn shapiro_small_samples_match_as_r94() {
        // Reference values from an independent AS R94 implementation (SciPy's swilk), which
        // agrees with R's shapiro.test: n = 10 (a = 3/8 branch), 11 and 12 (both p-value
        // branches), 4 and 5 (short normalization), 3 (exact p-value), 50.
        let x10 = [2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 4.9, 3.7, 4.1];
        check(&x10, 0.978677588, 0.957699339, 1e-7, 1e-6);
        let x12: Vec<f64> = (1..=12).map(|i| ((i * 37) % 101) as f64 / 10.0).collect();
        check(&x12, 0.973271858, 0.941877674, 1e-7, 1e-6);
        check(&x12[..11], 0.965714672, 0.840299271, 1e-7, 1e-6);
        check(&[1.0, 2.5, 2.7, 8.0], 0.834179603, 0.178964202, 1e-7, 1e-6);
        check(
            &[1.0, 2.5, 2.7, 3.1, 8.0],
            0.813445472,
            0.103820541,
            1e-7,
            1e-6,
        );
        check(&[1.0, 2.0, 4.0], 0.964285714, 0.636886845, 1e-7, 1e-6);
        let x50: Vec<f64> = (1..=50).map(|i| (i as f64 * 1.3).sin().exp()).collect();
        check(&x50, 0.870142391, 5.694888e-5, 1e-7, 1e-9);
    }

    #[test]
    fn shapiro_rejects_bad_input() {
        assert!(matches!(
            shapiro_wilk(&[1.0, 2.0]),
            Err(DiagError::TooFewValues { .. })
        ));
        assert!(matches!(
            shapiro_wilk(&[2.0; 5]),
            Err(DiagError::Constant { .. })
        ));
        assert!(matches!(
            shapiro_wilk(&[1.0, f64::NAN, 2.0]),
            Err(DiagError::NonFinite { .. })
        ));
        assert!(shapiro_wilk(&vec![1.0; 5001]).is_err());
    }

    #[test]
    fn anderson_darling_mtcars_matches_nortest() {
        // R: nortest::ad.test(mtcars$mpg) prints A = 0.57968, p-value = 0.1207.
        let r = anderson_darling(&MPG).unwrap();
        assert!((r.statistic - 0.57968).abs() < 1e-5, "{}", r.statistic);
        assert!((r.p_value - 0.1207).abs() < 1e-4, "{}", r.p_value);
    }

    #[test]
    fn large_samples_use_anderson_darling() {
        // Normal scores are as normal as a sample gets: A² tiny, p near 1.
        let normal: Vec<f64> = crate::qq::ppoints(6000).into_iter().map(qnorm).collect();
        let r = normality_test(&normal).unwrap();
        assert_eq!(r.test, "Anderson-Darling");
        assert!(r.p_value > 0.99, "{}", r.p_value);
        // A deterministic non-normal sample: SciPy's anderson gives A² = 26.463155690637.
        let x: Vec<f64> = (1..=6000)
            .map(|i| (i as f64 * 0.7).sin() + 0.001 * i as f64)
            .collect();
        let r = normality_test(&x).unwrap();
        assert!(
            (r.statistic - 26.463155690637).abs() < 1e-6,
            "{}",
            r.statistic
        );
        assert_eq!(r.p_value, 3.7e-24);
        assert_eq!(normality_test(&MPG).unwrap().test, "Shapiro-Wilk");
    }

    #[test]
    fn log_pnorm_tail_is_continuous() {
        let (a, b) = (log_pnorm(-30.0 + 1e-9), log_pnorm(-30.0 - 1e-9));
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        assert!((log_pnorm(-40.0) - (-804.608442013754)).abs() < 1e-6);
    }
}
