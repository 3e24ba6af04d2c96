//! Prediction on new data: population level (Xβ̂, with standard errors) and conditional
//! on the random effects (Xβ̂ + Zb̂, BLUPs of the levels seen in the fit).

use crate::dense::DenseLmm;
use crate::error::InferenceError;
use crate::varpar::sigma_hat;
use faer::Mat;
use mixedlm_design::DenseMatrix;
use serde::Serialize;

/// What to do with a grouping level the fit has not seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
pub enum NewLevelPolicy {
    /// Predict at the population level for that term (its random effect is 0).
    #[default]
    Population,
    /// Fail with [`InferenceError::UnseenLevel`].
    Error,
}

/// The new rows' values for one random-effects term, in `Design::random` order.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTermRows {
    /// The term's columns for the new rows (n×k).
    pub z: DenseMatrix,
    /// Per row, the index of the level among the fitted levels, or None if unseen.
    pub codes: Vec<Option<u32>>,
    /// Per row, the level's label (for error messages); may be empty.
    pub labels: Vec<String>,
}

/// The new rows to predict for, as numbers: X and each random-effects term's columns and
/// level codes (the facade codes a table with the fit's `DesignSpec` into this).
#[derive(Clone, Debug, PartialEq)]
pub struct NewRows {
    /// X for the new rows (n×p, the fit's columns).
    pub x: DenseMatrix,
    /// One entry per random-effects term, in `Design::random` order.
    pub terms: Vec<NewTermRows>,
}

/// What prediction needs from a fit.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionInput {
    /// β̂.
    pub beta: Vec<f64>,
    /// Var(β̂) (p×p, column-major).
    pub vcov_beta: DenseMatrix,
    /// BLUPs per term in `Design::random` order: levels × k, row-major per level.
    pub ranef: Vec<DenseMatrix>,
    /// Grouping factor names, in the same order.
    pub groups: Vec<String>,
}

/// Predictions for the new rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// Xβ̂.
    pub population: Vec<f64>,
    /// Xβ̂ + Zb̂ (unseen levels contribute 0 under [`NewLevelPolicy::Population`]).
    pub conditional: Vec<f64>,
    /// sqrt(diag(X Var(β̂) X')): standard errors of the population predictions.
    pub se_population: Vec<f64>,
}

impl PredictionInput {
    /// From the dense evaluator at θ (σ̂ by the model's criterion).
    pub fn from_dense(model: &DenseLmm, theta: &[f64]) -> Result<Self, InferenceError> {
        let (n, p) = (model.n_obs(), model.n_fixed());
        let pc = model.pieces(theta)?;
        let s2 = sigma_hat(&pc, n, p, model.reml()).powi(2);
        let lambda = model.lambda_op(theta)?;
        let u = Mat::from_fn(pc.u.len(), 1, |i, _| pc.u[i]);
        let b = lambda.left_mul(u.as_ref());
        let mut terms: Vec<_> = model.terms().iter().collect();
        terms.sort_by_key(|t| t.design_index);
        let ranef = terms
            .iter()
            .map(|t| {
                // Stored as a levels×k matrix.
                let mut m = DenseMatrix::zeros(t.n_levels(), t.k);
                for l in 0..t.n_levels() {
                    for c in 0..t.k {
                        m.data[c * t.n_levels() + l] = b[(t.offset + l * t.k + c, 0)];
                    }
                }
                m
            })
            .collect();
        let mut vcov = DenseMatrix::zeros(p, p);
        for j in 0..p {
            for i in 0..p {
                vcov.data[j * p + i] = s2 * pc.xtwx_inv[(i, j)];
            }
        }
        Ok(Self {
            beta: pc.beta,
            vcov_beta: vcov,
            ranef,
            groups: terms.iter().map(|t| t.group.clone()).collect(),
        })
    }
}

fn check(input: &PredictionInput, new: &NewRows) -> Result<(), InferenceError> {
    let (n, p) = (new.x.nrows, input.beta.len());
    if new.x.ncols != p {
        return Err(InferenceError::Dimension {
            what: "new X columns",
            expected: p,
            got: new.x.ncols,
        });
    }
    if new.terms.len() != input.ranef.len() {
        return Err(InferenceError::Dimension {
            what: "random-effects terms of the new data",
            expected: input.ranef.len(),
            got: new.terms.len(),
        });
    }
    for (t, r) in new.terms.iter().zip(&input.ranef) {
        if t.z.nrows != n || t.codes.len() != n || t.z.ncols != r.ncols {
            return Err(InferenceError::Dimension {
                what: "new Z rows/columns",
                expected: n,
                got: t.z.nrows,
            });
        }
    }
    Ok(())
}

/// Predict for new rows.
pub fn predict(
    input: &PredictionInput,
    new: &NewRows,
    policy: NewLevelPolicy,
) -> Result<Prediction, InferenceError> {
    check(input, new)?;
    let (n, p) = (new.x.nrows, input.beta.len());
    let v = &input.vcov_beta;
    let mut population = vec![0.0; n];
    let mut se_population = vec![0.0; n];
    for (i, (pop, se)) in population
        .iter_mut()
        .zip(se_population.iter_mut())
        .enumerate()
    {
        let row: Vec<f64> = (0..p).map(|j| new.x.get(i, j)).collect();
        *pop = row.iter().zip(&input.beta).map(|(a, b)| a * b).sum();
        let mut q = 0.0;
        for (j, rj) in row.iter().enumerate() {
            for (k, rk) in row.iter().enumerate() {
                q += rj * v.get(j, k) * rk;
            }
        }
        *se = q.max(0.0).sqrt();
    }
    let mut conditional = population.clone();
    for (ti, (t, r)) in new.terms.iter().zip(&input.ranef).enumerate() {
        for (i, c) in conditional.iter_mut().enumerate() {
            match t.codes[i] {
                Some(code) if (code as usize) < r.nrows => {
                    *c += (0..r.ncols)
                        .map(|k| t.z.get(i, k) * r.get(code as usize, k))
                        .sum::<f64>();
                }
                _ if policy == NewLevelPolicy::Error => {
                    return Err(InferenceError::UnseenLevel {
                        row: i,
                        group: input.groups.get(ti).cloned().unwrap_or_default(),
                        level: t.labels.get(i).cloned().unwrap_or_else(|| "?".into()),
                    });
                }
                _ => {}
            }
        }
    }
    Ok(Prediction {
        population,
        conditional,
        se_population,
    })
}
