//! Columns far from zero compared with their spread: the model shifts them by their mean
//! before forming cross-products (`mixedlm-crossprod`'s `shift.rs`), and the rank test measures
//! them after that shift, so that both see the same column.

/// A column is far from zero when |mean| exceeds this many standard deviations: below it
/// the cancellation in its raw sums of squares costs less than two digits.
pub const SHIFT_FROM_SD: f64 = 8.0;

/// The mean of `v` when it lies more than [`SHIFT_FROM_SD`] standard deviations from zero,
/// else 0 (also for non-finite data, which later checks report).
pub fn far_mean(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss: f64 = v.iter().map(|x| (x - mean).powi(2)).sum();
    let sd = (ss / (n - 1.0)).sqrt();
    if mean.is_finite() && sd.is_finite() && mean.abs() > SHIFT_FROM_SD * sd {
        mean
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::far_mean;

    #[test]
    fn only_far_columns_are_shifted() {
        assert_eq!(far_mean(&[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(far_mean(&[1e6 + 1.0, 1e6 + 2.0, 1e6 + 3.0]), 1e6 + 2.0);
        assert_eq!(far_mean(&[5.0, 5.0]), 5.0);
        assert_eq!(far_mean(&[f64::NAN, 1e6]), 0.0);
    }
}
