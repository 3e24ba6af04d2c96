//! Helpers shared by the unit tests of several modules.

use mixedlm_design::{CovarianceKind, DenseMatrix, Design, RandomTermDesign};

/// An unstructured random term on `codes.len()` rows: levels named "0", "1", ..., and the
/// columns of `z` (column-major) named by `names`.
pub(crate) fn random_term(
    group: &str,
    levels: usize,
    codes: Vec<u32>,
    z: Vec<f64>,
    names: &[&str],
) -> RandomTermDesign {
    RandomTermDesign {
        group: group.into(),
        levels: (0..levels).map(|l| l.to_string()).collect(),
        names: names.iter().map(|s| s.to_string()).collect(),
        z: DenseMatrix {
            nrows: codes.len(),
            ncols: names.len(),
            data: z,
        },
        codes,
        covariance: CovarianceKind::Unstructured,
    }
}

/// A deterministic value in [−0.5, 0.5) from a row index and a salt (a multiplicative hash).
pub(crate) fn uniform(i: usize, salt: u64) -> f64 {
    let h = (i as u64 ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// `n` level codes in 0..levels, spread by [`uniform`] with `salt`.
pub(crate) fn random_codes(n: usize, salt: u64, levels: usize) -> Vec<u32> {
    (0..n)
        .map(|i| (((uniform(i, salt) + 0.5) * levels as f64) as u32).min(levels as u32 - 1))
        .collect()
}

/// The design of `y ~ 1 + x + random` (every row used, no weights).
pub(crate) fn design_with_x(
    y: Vec<f64>,
    x: &[f64],
    random: Vec<RandomTermDesign>,
    offset: Option<Vec<f64>>,
) -> Design {
    let n = x.len();
    let mut data = vec![1.0; n];
    data.extend_from_slice(x);
    Design {
        response: "y".into(),
        y,
        x: DenseMatrix {
            nrows: n,
            ncols: 2,
            data,
        },
        x_names: vec!["(Intercept)".into(), "x".into()],
        aliased: vec![],
        random,
        weights: None,
        offset,
        n_dropped: 0,
        row_index: (0..n).collect(),
    }
}
