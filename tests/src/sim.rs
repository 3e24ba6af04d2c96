//! Simulation of linear mixed-model data from known parameters.
//!
//! `y = X β + Σ_t Z_t b_t + ε`, with `b_t` per level of term t's grouping
//! factor drawn from `N(0, Σ_t)` and `ε ~ N(0, σ²)`. The [`Truth`] records
//! β, σ, each Σ_t and lme4's θ so tests can compare estimates with it.

use crate::layout::{FactorColumn, Layout};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use std::collections::HashMap;

/// A covariate column.
#[derive(Clone, Debug, PartialEq)]
pub enum Covariate {
    /// `N(mean, sd²)` per row.
    Normal {
        /// Column name.
        name: String,
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Uniform on `[low, high)` per row.
    Uniform {
        /// Column name.
        name: String,
        /// Lower end.
        low: f64,
        /// Upper end.
        high: f64,
    },
    /// A categorical column with the given level labels and probabilities.
    Categorical {
        /// Column name.
        name: String,
        /// Level labels (the first, in string order, is the reference level).
        levels: Vec<String>,
        /// Level probabilities (normalised; empty means equal).
        probs: Vec<f64>,
    },
    /// The same value on every row.
    Constant {
        /// Column name.
        name: String,
        /// Value.
        value: f64,
    },
}

impl Covariate {
    /// The column name.
    pub fn name(&self) -> &str {
        match self {
            Self::Normal { name, .. }
            | Self::Uniform { name, .. }
            | Self::Categorical { name, .. }
            | Self::Constant { name, .. } => name,
        }
    }
}

/// A column of the fixed-effects matrix X, with treatment coding.
#[derive(Clone, Debug, PartialEq)]
pub enum FixedTerm {
    /// The intercept.
    Intercept,
    /// A numeric covariate.
    Numeric(String),
    /// Indicator of `level` of categorical covariate `name` (lme4 names it `{name}{level}`).
    Level(String, String),
}

/// A column of a random-effects term's model matrix.
#[derive(Clone, Debug, PartialEq)]
pub enum RandomColumn {
    /// Random intercept.
    Intercept,
    /// Random slope of a numeric covariate.
    Numeric(String),
}

/// One random-effects term: `(columns | f1:f2:...)` with covariance `cov`.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomSpec {
    /// The grouping factors whose interaction forms the groups.
    pub factors: Vec<String>,
    /// The term's columns.
    pub columns: Vec<RandomColumn>,
    /// The k×k covariance of the effects, row-major (may be singular).
    pub cov: Vec<f64>,
    /// Write `(a || g)` instead of `(a | g)` in [`SimSpec::formula`].
    pub uncorrelated: bool,
}

/// Everything that defines a simulated data set.
#[derive(Clone, Debug, PartialEq)]
pub struct SimSpec {
    /// Seed of the random stream (`StdRng`, rand 0.9).
    pub seed: u64,
    /// The grouping structure.
    pub layout: Layout,
    /// The covariates.
    pub covariates: Vec<Covariate>,
    /// Fixed effects and their true coefficients.
    pub fixed: Vec<(FixedTerm, f64)>,
    /// Random-effects terms.
    pub random: Vec<RandomSpec>,
    /// Residual standard deviation.
    pub sigma: f64,
    /// Response column name.
    pub response: String,
    /// Shuffle the rows at the end.
    pub shuffle: bool,
}

/// The values of one column.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Numbers (NaN = missing).
    Numeric(Vec<f64>),
    /// Text as level codes into `labels`.
    Text {
        /// Level code of each row.
        codes: Vec<u32>,
        /// Level labels.
        labels: Vec<String>,
    },
}

/// A named column of simulated data.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Values.
    pub values: Values,
}

/// The true covariance of one random-effects term.
#[derive(Clone, Debug, PartialEq)]
pub struct TruthRandom {
    /// Grouping factor as lme4 names it (`school:class`).
    pub group: String,
    /// The k×k covariance, row-major.
    pub cov: Vec<f64>,
    /// Number of distinct groups present in the data.
    pub n_groups: usize,
}

/// The parameters the data were drawn from.
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    /// Fixed effects by lme4 name (`(Intercept)`, `x1`, `catB`).
    pub beta: Vec<(String, f64)>,
    /// Residual standard deviation.
    pub sigma: f64,
    /// Random-effects covariances, in spec order.
    pub random: Vec<TruthRandom>,
    /// lme4's θ: lower Cholesky factor of Σ_t / σ², column-major, per term.
    pub theta: Vec<f64>,
}

/// A simulated data set.
#[derive(Clone, Debug, PartialEq)]
pub struct SimData {
    /// The columns: grouping factors, covariates, then the response.
    pub columns: Vec<Column>,
    /// The true parameters.
    pub truth: Truth,
    /// The lme4 formula of the generating model.
    pub formula: String,
}

impl SimData {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, |c| match &c.values {
            Values::Numeric(v) => v.len(),
            Values::Text { codes, .. } => codes.len(),
        })
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A numeric column's values by name.
    pub fn numeric(&self, name: &str) -> Option<&[f64]> {
        match &self.column(name)?.values {
            Values::Numeric(v) => Some(v),
            Values::Text { .. } => None,
        }
    }
}

impl SimSpec {
    /// The lme4 formula of the model that generated the data.
    pub fn formula(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        if !self.fixed.iter().any(|f| f.0 == FixedTerm::Intercept) {
            parts.push("0".into());
        }
        for (t, _) in &self.fixed {
            let s = match t {
                FixedTerm::Intercept => "1".to_string(),
                FixedTerm::Numeric(n) | FixedTerm::Level(n, _) => n.clone(),
            };
            if !seen.contains(&s) {
                seen.push(s.clone());
                parts.push(s);
            }
        }
        for r in &self.random {
            parts.push(random_formula(r));
        }
        format!("{} ~ {}", self.response, parts.join(" + "))
    }

    /// Draws the data set.
    pub fn generate(&self) -> SimData {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let factors = self.layout.generate(&mut rng);
        let n = factors.first().map_or(0, |f| f.codes.len());
        let covs: Vec<Column> = self
            .covariates
            .iter()
            .map(|c| draw_covariate(c, n, &mut rng))
            .collect();
        let mut y = vec![0.0; n];
        self.add_fixed(&covs, &mut y);
        let mut random_truth = Vec::new();
        for r in &self.random {
            random_truth.push(add_random(r, &factors, &covs, &mut y, &mut rng));
        }
        for v in y.iter_mut() {
            *v += self.sigma * rng.sample::<f64, _>(StandardNormal);
        }
        let mut columns: Vec<Column> = factors.into_iter().map(factor_column).collect();
        columns.extend(covs);
        columns.push(Column {
            name: self.response.clone(),
            values: Values::Numeric(y),
        });
        if self.shuffle {
            shuffle_rows(&mut columns, n, &mut rng);
        }
        let truth = self.truth(random_truth);
        SimData {
            columns,
            truth,
            formula: self.formula(),
        }
    }

    fn add_fixed(&self, covs: &[Column], y: &mut [f64]) {
        for (t, b) in &self.fixed {
            for (i, yi) in y.iter_mut().enumerate() {
                *yi += b * fixed_value(t, covs, i);
            }
        }
    }

    fn truth(&self, random: Vec<TruthRandom>) -> Truth {
        let beta = self
            .fixed
            .iter()
            .map(|(t, b)| (fixed_name(t), *b))
            .collect();
        let mut theta = Vec::new();
        for r in &random {
            let k = (r.cov.len() as f64).sqrt() as usize;
            let l = cholesky_psd(&r.cov, k);
            for j in 0..k {
                theta.extend((j..k).map(|i| l[i * k + j] / self.sigma));
            }
        }
        Truth {
            beta,
            sigma: self.sigma,
            random,
            theta,
        }
    }
}

fn random_formula(r: &RandomSpec) -> String {
    let has_int = r.columns.contains(&RandomColumn::Intercept);
    let mut cols: Vec<String> = if has_int {
        vec!["1".into()]
    } else {
        vec!["0".into()]
    };
    for c in &r.columns {
        if let RandomColumn::Numeric(n) = c {
            cols.push(n.clone());
        }
    }
    let bar = if r.uncorrelated { "||" } else { "|" };
    format!("({} {bar} {})", cols.join(" + "), r.factors.join(":"))
}

/// lme4's name of a fixed-effects column.
pub fn fixed_name(t: &FixedTerm) -> String {
    match t {
        FixedTerm::Intercept => "(Intercept)".into(),
        FixedTerm::Numeric(n) => n.clone(),
        FixedTerm::Level(n, l) => format!("{n}{l}"),
    }
}

fn fixed_value(t: &FixedTerm, covs: &[Column], i: usize) -> f64 {
    let col = |n: &str| covs.iter().find(|c| c.name == n);
    match t {
        FixedTerm::Intercept => 1.0,
        FixedTerm::Numeric(n) => match col(n).map(|c| &c.values) {
            Some(Values::Numeric(v)) => v[i],
            _ => 0.0,
        },
        FixedTerm::Level(n, l) => match col(n).map(|c| &c.values) {
            Some(Values::Text { codes, labels }) => {
                f64::from(u8::from(labels[codes[i] as usize] == *l))
            }
            _ => 0.0,
        },
    }
}

fn draw_covariate<R: Rng>(c: &Covariate, n: usize, rng: &mut R) -> Column {
    let values = match c {
        Covariate::Normal { mean, sd, .. } => Values::Numeric(
            (0..n)
                .map(|_| mean + sd * rng.sample::<f64, _>(StandardNormal))
                .collect(),
        ),
        Covariate::Uniform { low, high, .. } => Values::Numeric(
            (0..n)
                .map(|_| low + (high - low) * rng.random::<f64>())
                .collect(),
        ),
        Covariate::Constant { value, .. } => Values::Numeric(vec![*value; n]),
        Covariate::Categorical { levels, probs, .. } => categorical(levels, probs, n, rng),
    };
    Column {
        name: c.name().to_string(),
        values,
    }
}

fn categorical<R: Rng>(levels: &[String], probs: &[f64], n: usize, rng: &mut R) -> Values {
    let w: Vec<f64> = if probs.len() == levels.len() {
        probs.to_vec()
    } else {
        vec![1.0; levels.len()]
    };
    let total: f64 = w.iter().sum();
    let codes = (0..n)
        .map(|_| {
            let mut u = rng.random::<f64>() * total;
            let mut k = 0;
            while k + 1 < w.len() && u >= w[k] {
                u -= w[k];
                k += 1;
            }
            k as u32
        })
        .collect();
    Values::Text {
        codes,
        labels: levels.to_vec(),
    }
}

/// Group index of each row for the interaction of `factors`, and the count of groups.
fn group_codes(factors: &[String], cols: &[FactorColumn]) -> (Vec<usize>, usize) {
    let parts: Vec<&FactorColumn> = factors
        .iter()
        .filter_map(|f| cols.iter().find(|c| &c.name == f))
        .collect();
    let n = cols.first().map_or(0, |c| c.codes.len());
    let mut ids: HashMap<Vec<u32>, usize> = HashMap::new();
    let codes = (0..n)
        .map(|i| {
            let key: Vec<u32> = parts.iter().map(|p| p.codes[i]).collect();
            let next = ids.len();
            *ids.entry(key).or_insert(next)
        })
        .collect();
    (codes, ids.len())
}

fn add_random<R: Rng>(
    r: &RandomSpec,
    factors: &[FactorColumn],
    covs: &[Column],
    y: &mut [f64],
    rng: &mut R,
) -> TruthRandom {
    let k = r.columns.len();
    let (codes, m) = group_codes(&r.factors, factors);
    let l = cholesky_psd(&r.cov, k);
    let b: Vec<f64> = (0..m)
        .flat_map(|_| {
            let z: Vec<f64> = (0..k).map(|_| rng.sample(StandardNormal)).collect();
            (0..k)
                .map(|i| (0..=i).map(|j| l[i * k + j] * z[j]).sum::<f64>())
                .collect::<Vec<_>>()
        })
        .collect();
    for (i, yi) in y.iter_mut().enumerate() {
        for (j, c) in r.columns.iter().enumerate() {
            let t = match c {
                RandomColumn::Intercept => FixedTerm::Intercept,
                RandomColumn::Numeric(n) => FixedTerm::Numeric(n.clone()),
            };
            *yi += b[codes[i] * k + j] * fixed_value(&t, covs, i);
        }
    }
    TruthRandom {
        group: r.factors.join(":"),
        cov: r.cov.clone(),
        n_groups: m,
    }
}

/// Lower Cholesky factor (row-major) of a symmetric positive semi-definite
/// matrix; a non-positive pivot gives a zero column.
pub fn cholesky_psd(a: &[f64], k: usize) -> Vec<f64> {
    let mut l = vec![0.0; k * k];
    for j in 0..k {
        let d = a[j * k + j] - (0..j).map(|p| l[j * k + p] * l[j * k + p]).sum::<f64>();
        if d <= 1e-300 {
            continue;
        }
        let ljj = d.sqrt();
        l[j * k + j] = ljj;
        for i in j + 1..k {
            let s = a[i * k + j] - (0..j).map(|p| l[i * k + p] * l[j * k + p]).sum::<f64>();
            l[i * k + j] = s / ljj;
        }
    }
    l
}

fn factor_column(f: FactorColumn) -> Column {
    Column {
        name: f.name,
        values: Values::Text {
            codes: f.codes,
            labels: f.labels,
        },
    }
}

fn shuffle_rows<R: Rng>(cols: &mut [Column], n: usize, rng: &mut R) {
    use rand::seq::SliceRandom;
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(rng);
    for c in cols.iter_mut() {
        match &mut c.values {
            Values::Numeric(v) => *v = perm.iter().map(|&i| v[i]).collect(),
            Values::Text { codes, .. } => *codes = perm.iter().map(|&i| codes[i]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_of_known_matrix() {
        let l = cholesky_psd(&[4.0, 2.0, 2.0, 5.0], 2);
        assert_eq!(l, vec![2.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn singular_covariance_gives_zero_column() {
        let l = cholesky_psd(&[1.0, 0.0, 0.0, 0.0], 2);
        assert_eq!(l, vec![1.0, 0.0, 0.0, 0.0]);
    }
}
