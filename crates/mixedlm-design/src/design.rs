//! The design: what the engine sees. Plain data, no Arrow and no faer types.

use serde::Serialize;

/// A dense column-major matrix of f64 (`data[j * nrows + i]` is row i, column j).
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
pub struct DenseMatrix {
    /// Number of rows.
    pub nrows: usize,
    /// Number of columns.
    pub ncols: usize,
    /// Column-major values, `nrows * ncols` of them.
    pub data: Vec<f64>,
}

impl DenseMatrix {
    /// A matrix of zeros.
    pub fn zeros(nrows: usize, ncols: usize) -> Self {
        Self { nrows, ncols, data: vec![0.0; nrows * ncols] }
    }
    /// Column `j` as a slice.
    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.nrows..(j + 1) * self.nrows]
    }
    /// Column `j` as a mutable slice.
    pub fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.nrows..(j + 1) * self.nrows]
    }
    /// Entry (i, j).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[j * self.nrows + i]
    }
}

/// Covariance structure requested for a random-effects term (mapped to a
/// `mixedlm-covariance` structure by the engine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CovarianceKind {
    /// `(x | g)`: unstructured, k(k+1)/2 parameters.
    Unstructured,
    /// `(x || g)`: diagonal, k parameters.
    Diagonal,
    /// One variance shared by all k columns (statsmodels' variance components).
    ScalarIdentity,
}

/// One random-effects term as the engine sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RandomTermDesign {
    /// The grouping factor's name as written in the expanded formula (`Subject`, `batch:cask`).
    pub group: String,
    /// The level names of the grouping factor, in level order (sorted).
    pub levels: Vec<String>,
    /// For each used row, the index of its level in `levels`.
    pub codes: Vec<u32>,
    /// The term's column names as lme4 names them (`(Intercept)`, `Days`).
    pub names: Vec<String>,
    /// The term's per-row model columns (n x k).
    pub z: DenseMatrix,
    /// The covariance structure of the term's k effects.
    pub covariance: CovarianceKind,
}

/// Everything the engine needs, built from data and a formula.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Design {
    /// The response's label (`Reaction`, `log(y)`).
    pub response: String,
    /// The response, one value per used row.
    pub y: Vec<f64>,
    /// The fixed-effects matrix X (n x p), aliased columns already removed.
    pub x: DenseMatrix,
    /// The names of X's columns, as lme4 names them.
    pub x_names: Vec<String>,
    /// Columns dropped because they were linear combinations of earlier ones.
    pub aliased: Vec<String>,
    /// The random-effects terms, in formula order (the engine reorders for fill).
    pub random: Vec<RandomTermDesign>,
    /// Prior weights, if any (one per used row).
    pub weights: Option<Vec<f64>>,
    /// Offset, if any (one per used row).
    pub offset: Option<Vec<f64>>,
    /// Rows of the input dropped because a used column was missing.
    pub n_dropped: usize,
    /// The index in the input of each used row.
    pub row_index: Vec<usize>,
}

impl Design {
    /// Number of observations used.
    pub fn n_obs(&self) -> usize {
        self.y.len()
    }
}
