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
        Self {
            nrows,
            ncols,
            data: vec![0.0; nrows * ncols],
        }
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

/// The covariance structure of a random-effects term (`|`: unstructured, `||`: diagonal,
/// a statsmodels variance component: scalar). `mixedlm-covariance` owns what each means.
pub use mixedlm_covariance::CovarianceKind;

/// The level names of a grouping factor, in level order: one allocation shared by the
/// design, its spec, the model and the fit (cloning it copies a pointer).
pub type Levels = std::sync::Arc<[String]>;

/// One random-effects term as the engine sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RandomTermDesign {
    /// The grouping factor's name as written in the expanded formula (`Subject`, `batch:cask`).
    pub group: String,
    /// The level names of the grouping factor, in level order (sorted); shared with the
    /// design spec and the fit (one copy of the names).
    pub levels: Levels,
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

impl RandomTermDesign {
    /// Number of columns k of the term.
    pub fn k(&self) -> usize {
        self.z.ncols
    }

    /// Number of covariance parameters (θ's length) of the term.
    pub fn theta_len(&self) -> usize {
        self.covariance.structure(self.k()).n_theta()
    }

    /// Number of observations in each level.
    pub fn group_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0usize; self.levels.len()];
        for &c in &self.codes {
            if let Some(s) = sizes.get_mut(c as usize) {
                *s += 1;
            }
        }
        sizes
    }
}

/// One random-effects term as `mixedlm design` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RandomTermSummary {
    /// The grouping factor.
    pub group: String,
    /// Number of levels.
    pub levels: usize,
    /// The term's column names.
    pub terms: Vec<String>,
    /// The covariance structure.
    pub covariance: CovarianceKind,
}

/// What `mixedlm design` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesignSummary {
    /// The response's label.
    pub response: String,
    /// Column names of X.
    pub x_columns: Vec<String>,
    /// Observations used.
    pub n_obs: usize,
    /// Rows dropped for missing values.
    pub n_dropped: usize,
    /// Aliased columns dropped from X.
    pub aliased: Vec<String>,
    /// The random-effects terms.
    pub random_terms: Vec<RandomTermSummary>,
    /// Columns of Z (sum over terms of levels × k).
    pub z_columns: usize,
    /// Length of θ.
    pub theta_length: usize,
}

impl Design {
    /// Observations per level, for each random-effects term.
    pub fn group_sizes(&self) -> Vec<Vec<usize>> {
        self.random
            .iter()
            .map(RandomTermDesign::group_sizes)
            .collect()
    }

    /// Number of columns of Z: sum over terms of levels × k.
    pub fn z_columns(&self) -> usize {
        self.random.iter().map(|r| r.levels.len() * r.k()).sum()
    }

    /// Length of θ: sum over terms of the covariance parameters.
    pub fn theta_length(&self) -> usize {
        self.random.iter().map(RandomTermDesign::theta_len).sum()
    }

    /// The lme4-style message for dropped aliased columns, if any.
    pub fn rank_message(&self) -> Option<String> {
        (!self.aliased.is_empty()).then(|| {
            format!(
                "fixed-effect model matrix is rank deficient so dropping {} column{} / coefficient{}: {}",
                self.aliased.len(),
                if self.aliased.len() == 1 { "" } else { "s" },
                if self.aliased.len() == 1 { "" } else { "s" },
                self.aliased.join(", ")
            )
        })
    }

    /// A summary of the design (what `mixedlm design` prints).
    pub fn describe(&self) -> DesignSummary {
        DesignSummary {
            response: self.response.clone(),
            x_columns: self.x_names.clone(),
            n_obs: self.n_obs(),
            n_dropped: self.n_dropped,
            aliased: self.aliased.clone(),
            random_terms: self
                .random
                .iter()
                .map(|r| RandomTermSummary {
                    group: r.group.clone(),
                    levels: r.levels.len(),
                    terms: r.names.clone(),
                    covariance: r.covariance,
                })
                .collect(),
            z_columns: self.z_columns(),
            theta_length: self.theta_length(),
        }
    }
}
