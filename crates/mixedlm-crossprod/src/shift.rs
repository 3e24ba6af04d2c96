//! Shifted cross-products: y and the columns of X enter the cross-product pass minus a
//! constant when their mean is far from zero compared with their spread.
//!
//! The profiled criterion reads r² off the factor of [Z X y]'[Z X y]. A column far from
//! the origin (a response in the hundred thousands, a year, a timestamp) makes those sums
//! large against what the factorization subtracts from them, and r² loses digits to
//! cancellation; the optimizer then minimizes rounding noise. Subtracting a constant from
//! y and from X's columns changes nothing in the model when X holds an intercept column:
//! the shift is absorbed by the intercept (β₀ moves, the other coefficients, the
//! variance parameters, the criterion and the conditional modes do not). With X = X̃ M⁻¹
//! (M the identity with −d in the intercept's row) the estimates on the original scale
//! are β = M β̃ + c e₀, Var(β) = M Var(β̃) M', and the Cholesky factor of X'V⁻¹X is
//! M⁻ᵀ L̃, still lower triangular because the intercept is the first column.

use mixedlm_design::{far_mean, Design};

/// The constants subtracted from y (after the offset) and from each column of X before
/// the cross-products are formed; all zero when nothing is shifted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shift {
    /// Subtracted from y − offset.
    pub y: f64,
    /// Subtracted from each column of X (0 for the intercept and unshifted columns).
    pub x: Vec<f64>,
}

impl Shift {
    /// No shift for a model with `p` fixed effects.
    pub fn none(p: usize) -> Self {
        Shift {
            y: 0.0,
            x: vec![0.0; p],
        }
    }

    /// The shift for `design`: its columns whose mean is far from zero, when its first X
    /// column is an intercept (all ones); none otherwise (the shift would change the model).
    pub fn for_design(design: &Design) -> Self {
        let n = design.n_obs();
        let p = design.x.ncols;
        let mut shift = Shift::none(p);
        if n < 2 || p == 0 || !design.x.data[..n].iter().all(|&v| v == 1.0) {
            return shift;
        }
        shift.y = match &design.offset {
            None => far_mean(&design.y),
            Some(o) => {
                let net: Vec<f64> = design.y.iter().zip(o).map(|(y, o)| y - o).collect();
                far_mean(&net)
            }
        };
        for (j, d) in shift.x.iter_mut().enumerate().skip(1) {
            *d = far_mean(&design.x.data[j * n..(j + 1) * n]);
        }
        shift
    }

    /// Whether nothing is shifted.
    pub fn is_none(&self) -> bool {
        self.y == 0.0 && self.x.iter().all(|&d| d == 0.0)
    }

    /// Whether any column of X is shifted.
    pub fn shifts_x(&self) -> bool {
        self.x.iter().any(|&d| d != 0.0)
    }

    /// β on the original scale from β̃ of the shifted columns, in place.
    pub fn beta_to_original(&self, beta: &mut [f64]) {
        if let Some(moved) = self.intercept_move(beta) {
            beta[0] += moved;
        }
    }

    /// β̃ of the shifted columns from β on the original scale, in place.
    pub fn beta_to_shifted(&self, beta: &mut [f64]) {
        if let Some(moved) = self.intercept_move(beta) {
            beta[0] -= moved;
        }
    }

    /// What the intercept gains from the shifted scale to the original one,
    /// c − Σ_j d_j β_j (the slopes are the same on both scales); `None` without a shift.
    fn intercept_move(&self, beta: &[f64]) -> Option<f64> {
        if self.is_none() || beta.is_empty() {
            return None;
        }
        let slopes: f64 = self.x.iter().zip(beta).skip(1).map(|(d, b)| d * b).sum();
        Some(self.y - slopes)
    }

    /// The lower Cholesky factor of X'V⁻¹X from L̃ of the shifted columns, in place: row j
    /// of the first column gains d_j L̃₀₀.
    pub fn lxx_to_original(&self, lxx: &mut faer::Mat<f64>) {
        if !self.shifts_x() || lxx.ncols() == 0 {
            return;
        }
        let l00 = lxx[(0, 0)];
        for (j, d) in self.x.iter().enumerate().skip(1) {
            lxx[(j, 0)] += d * l00;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    fn shift() -> Shift {
        Shift {
            y: 1e5,
            x: vec![0.0, 2e3, 0.0],
        }
    }

    #[test]
    fn beta_round_trips() {
        let s = shift();
        let mut b = vec![1.5, -0.25, 3.0];
        s.beta_to_original(&mut b);
        assert_eq!(b[0], 1.5 + 1e5 + 2e3 * 0.25);
        assert_eq!(&b[1..], &[-0.25, 3.0]);
        s.beta_to_shifted(&mut b);
        assert!((b[0] - 1.5).abs() < 1e-9);
    }

    #[test]
    fn lxx_stays_the_factor_of_the_transformed_information() {
        // L̃ of a small positive definite matrix; M⁻ᵀ L̃ L̃' M⁻¹ must equal the product of
        // the transformed factor with itself.
        let lt = Mat::from_fn(3, 3, |i, j| {
            if j > i {
                0.0
            } else {
                1.0 + (i * 3 + j) as f64 * 0.1
            }
        });
        let s = shift();
        let mut lo = lt.clone();
        s.lxx_to_original(&mut lo);
        let minv_t = Mat::from_fn(3, 3, |i, j| {
            if i == j {
                1.0
            } else if j == 0 {
                s.x[i]
            } else {
                0.0
            }
        });
        let want = &minv_t * &lt;
        for i in 0..3 {
            for j in 0..3 {
                assert_eq!(lo[(i, j)], want[(i, j)], "({i}, {j})");
            }
        }
    }
}
