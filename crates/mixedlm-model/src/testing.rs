//! Helpers shared by the unit tests of several modules.

use mixedlm_design::{CovarianceKind, DenseMatrix, RandomTermDesign};

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
