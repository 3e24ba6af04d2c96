//! The built-in structures and the by-kind constructor.

use crate::components::semidefinite_cholesky;
use crate::{CovarianceError, CovarianceStructure};
use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The built-in covariance structures, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CovarianceKind {
    /// A full lower-triangular T: `(1 + x | g)`.
    Unstructured,
    /// A diagonal T: `(1 + x || g)`.
    Diagonal,
    /// T = θ I: one variance shared by all effects (statsmodels' variance component).
    Scalar,
}

impl CovarianceKind {
    /// Every kind, in display order.
    pub const ALL: [CovarianceKind; 3] = [Self::Unstructured, Self::Diagonal, Self::Scalar];

    /// The structure of this kind for k effects per level.
    pub fn structure(self, k: usize) -> Box<dyn CovarianceStructure> {
        structure_for(self, k)
    }

    /// The kind's name: `unstructured`, `diagonal` or `scalar`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unstructured => "unstructured",
            Self::Diagonal => "diagonal",
            Self::Scalar => "scalar",
        }
    }
}

impl fmt::Display for CovarianceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CovarianceKind {
    type Err = CovarianceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == lower)
            .ok_or_else(|| CovarianceError::UnknownKind(s.to_string()))
    }
}

/// The structure of `kind` for k effects per level.
pub fn structure_for(kind: CovarianceKind, k: usize) -> Box<dyn CovarianceStructure> {
    match kind {
        CovarianceKind::Unstructured => Box::new(Unstructured { k }),
        CovarianceKind::Diagonal => Box::new(Diagonal { k }),
        CovarianceKind::Scalar => Box::new(ScalarIdentity { k }),
    }
}

/// A full lower-triangular T; θ is its lower triangle in column-major order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unstructured {
    /// The number of effects per level.
    pub k: usize,
}

impl Unstructured {
    /// The (row, column) of T that θ_i sets.
    pub fn position(&self, i: usize) -> (usize, usize) {
        let mut rest = i;
        for j in 0..self.k {
            let len = self.k - j;
            if rest < len {
                return (j + rest, j);
            }
            rest -= len;
        }
        (self.k, self.k)
    }

    fn is_diagonal_index(&self, i: usize) -> bool {
        let (r, c) = self.position(i);
        r == c
    }
}

impl CovarianceStructure for Unstructured {
    fn name(&self) -> &'static str {
        "unstructured"
    }
    fn dim(&self) -> usize {
        self.k
    }
    fn n_theta(&self) -> usize {
        self.k * (self.k + 1) / 2
    }
    fn lower_bounds(&self) -> Vec<f64> {
        (0..self.n_theta())
            .map(|i| {
                if self.is_diagonal_index(i) {
                    0.0
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect()
    }
    fn initial_theta(&self) -> Vec<f64> {
        (0..self.n_theta())
            .map(|i| f64::from(u8::from(self.is_diagonal_index(i))))
            .collect()
    }
    fn fill_factor(&self, theta: &[f64], mut t: MatMut<'_, f64>) {
        t.fill(0.0);
        let mut idx = 0;
        for j in 0..self.k {
            for i in j..self.k {
                t[(i, j)] = theta[idx];
                idx += 1;
            }
        }
    }
    fn fill_factor_derivative(&self, i: usize, _theta: &[f64], mut dt: MatMut<'_, f64>) {
        dt.fill(0.0);
        let (r, c) = self.position(i);
        dt[(r, c)] = 1.0;
    }
    fn theta_from_relative_covariance(&self, rel: MatRef<'_, f64>) -> Vec<f64> {
        let l = semidefinite_cholesky(rel);
        (0..self.n_theta()).map(|i| l[self.position(i)]).collect()
    }
}

/// A diagonal T; θ = diag(T).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diagonal {
    /// The number of effects per level.
    pub k: usize,
}

impl CovarianceStructure for Diagonal {
    fn name(&self) -> &'static str {
        "diagonal"
    }
    fn dim(&self) -> usize {
        self.k
    }
    fn n_theta(&self) -> usize {
        self.k
    }
    fn lower_bounds(&self) -> Vec<f64> {
        vec![0.0; self.k]
    }
    fn initial_theta(&self) -> Vec<f64> {
        vec![1.0; self.k]
    }
    fn fill_factor(&self, theta: &[f64], mut t: MatMut<'_, f64>) {
        t.fill(0.0);
        for (j, th) in theta.iter().enumerate().take(self.k) {
            t[(j, j)] = *th;
        }
    }
    fn fill_factor_derivative(&self, i: usize, _theta: &[f64], mut dt: MatMut<'_, f64>) {
        dt.fill(0.0);
        dt[(i, i)] = 1.0;
    }
    fn theta_from_relative_covariance(&self, rel: MatRef<'_, f64>) -> Vec<f64> {
        (0..self.k).map(|i| rel[(i, i)].max(0.0).sqrt()).collect()
    }
    fn theta_from_sd_cor(&self, sd: &[f64], _cor: MatRef<'_, f64>) -> Vec<f64> {
        sd.to_vec()
    }
    fn separate_effect_terms(&self) -> bool {
        true
    }
}

/// T = θ I_k: one relative standard deviation shared by all k effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalarIdentity {
    /// The number of effects per level.
    pub k: usize,
}

impl CovarianceStructure for ScalarIdentity {
    fn name(&self) -> &'static str {
        "scalar"
    }
    fn dim(&self) -> usize {
        self.k
    }
    fn n_theta(&self) -> usize {
        1
    }
    fn lower_bounds(&self) -> Vec<f64> {
        vec![0.0]
    }
    fn initial_theta(&self) -> Vec<f64> {
        vec![1.0]
    }
    fn fill_factor(&self, theta: &[f64], mut t: MatMut<'_, f64>) {
        t.fill(0.0);
        for j in 0..self.k {
            t[(j, j)] = theta[0];
        }
    }
    fn fill_factor_derivative(&self, _i: usize, _theta: &[f64], mut dt: MatMut<'_, f64>) {
        dt.fill(0.0);
        for j in 0..self.k {
            dt[(j, j)] = 1.0;
        }
    }
    fn theta_from_relative_covariance(&self, rel: MatRef<'_, f64>) -> Vec<f64> {
        vec![rel[(0, 0)].max(0.0).sqrt()]
    }
    fn theta_from_sd_cor(&self, sd: &[f64], _cor: MatRef<'_, f64>) -> Vec<f64> {
        vec![sd[0]]
    }
}
