//! [`LmmFit`]: the estimates of a fitted model as plain data.

use crate::LinearMixedModel;
use faer::MatRef;
use mixedlm_covariance::{summarize, CovarianceSummary};
use mixedlm_optim::OptimRecord;
use rayon::iter::{IndexedParallelIterator, ParallelIterator};
use rayon::slice::ParallelSliceMut;
use serde::Serialize;

/// The fitting criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Criterion {
    /// Restricted maximum likelihood (lme4's default).
    #[serde(rename = "REML")]
    Reml,
    /// Maximum likelihood.
    #[serde(rename = "ML")]
    Ml,
}

/// One random-effects term of a fit. Terms are listed in lme4's order (by decreasing
/// number of levels, see [`crate::terms`]); `formula_index` gives the position in the
/// formula.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TermFit {
    /// The grouping factor (`Subject`, `batch:cask`).
    pub group: String,
    /// Position of the term in the formula.
    pub formula_index: usize,
    /// The term's effect names (`(Intercept)`, `Days`).
    pub names: Vec<String>,
    /// The covariance structure's name.
    pub structure: String,
    /// This term's θ entries (lme4's order).
    pub theta: Vec<f64>,
    /// Covariance σ² T T', variances, SDs and correlations of the k effects.
    pub covariance: CovarianceSummary,
    /// The grouping factor's levels.
    pub levels: mixedlm_design::Levels,
    /// Conditional modes (BLUPs) b̂, `[level][effect]`.
    pub condval: PerLevel,
    /// Conditional SDs of b given y (β at β̂, as lme4's `condVar`), `[level][effect]`;
    /// empty when not requested.
    pub condsd: PerLevel,
}

/// Values per level of a grouping factor, the same number (k, the term's effects) for each
/// level, in one flat level-major vector: `v[level]` is level's k values, and `v[level][a]`
/// its value of effect a. Serialized as a list of lists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PerLevel {
    k: usize,
    values: Vec<f64>,
}

impl PerLevel {
    /// `values` level by level, `k` per level. Panics when k is 0 or does not divide the
    /// length (a programming error, not a data one).
    pub fn new(k: usize, values: Vec<f64>) -> Self {
        assert!(
            k > 0 && values.len() % k == 0,
            "PerLevel: {} values are not whole levels of {k}",
            values.len()
        );
        PerLevel { k, values }
    }

    /// No levels, `k` per level (the conditional SDs of a fit that did not compute them).
    pub fn empty(k: usize) -> Self {
        PerLevel::new(k.max(1), Vec::new())
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.k).unwrap_or(0)
    }

    /// Whether there are no levels.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Values per level.
    pub fn k(&self) -> usize {
        self.k
    }

    /// One level's values, if there is such a level.
    pub fn get(&self, level: usize) -> Option<&[f64]> {
        let k = self.k;
        (level < self.len()).then(|| &self.values[level * k..(level + 1) * k])
    }

    /// The levels' values in order.
    pub fn iter(&self) -> std::slice::ChunksExact<'_, f64> {
        self.values.chunks_exact(self.k.max(1))
    }

    /// All values, level by level.
    pub fn as_slice(&self) -> &[f64] {
        &self.values
    }

    /// The values as one vector per level.
    pub fn to_nested(&self) -> Vec<Vec<f64>> {
        self.iter().map(<[f64]>::to_vec).collect()
    }
}

impl std::ops::Index<usize> for PerLevel {
    type Output = [f64];
    fn index(&self, level: usize) -> &[f64] {
        self.get(level)
            .unwrap_or_else(|| panic!("level {level} of {} levels", self.len()))
    }
}

impl<'a> IntoIterator for &'a PerLevel {
    type Item = &'a [f64];
    type IntoIter = std::slice::ChunksExact<'a, f64>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Serialize for PerLevel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Number of levels of one grouping factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupCount {
    /// The grouping factor.
    pub group: String,
    /// Its number of levels.
    pub levels: usize,
}

/// A fitted linear mixed model (plain data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LmmFit {
    /// REML or ML.
    pub criterion: Criterion,
    /// The REML criterion or the ML deviance at the optimum (lme4's `objective`).
    pub objective: f64,
    /// θ in lme4's order (terms by decreasing number of levels, within a term the
    /// structure's order: column-major lower triangle of T for unstructured terms).
    pub theta: Vec<f64>,
    /// lme4-style names of θ's entries.
    pub theta_names: Vec<String>,
    /// Fixed-effects names (the design's X columns).
    pub fixef_names: Vec<String>,
    /// β̂.
    pub fixef: Vec<f64>,
    /// Standard errors of β̂.
    pub se: Vec<f64>,
    /// Var(β̂) = σ̂² (Lxx Lxx')⁻¹, row-major.
    pub vcov_fixef: Vec<Vec<f64>>,
    /// Residual SD σ̂.
    pub sigma: f64,
    /// The random-effects terms, in lme4's order.
    pub random: Vec<TermFit>,
    /// Fitted values X β̂ + Z b̂ (+ offset), one per used row in the design's row order.
    pub fitted: Vec<f64>,
    /// Response residuals y − fitted.
    pub residuals: Vec<f64>,
    /// Log-likelihood (the REML log-likelihood for REML fits, as lme4): −objective / 2.
    pub log_likelihood: f64,
    /// AIC = objective + 2 npar (with the REML criterion under REML, as lme4).
    pub aic: f64,
    /// BIC = objective + npar log N.
    pub bic: f64,
    /// Number of parameters: p + n_theta + 1.
    pub npar: usize,
    /// Number of observations.
    pub n_obs: usize,
    /// Levels per grouping factor (each factor once, lme4's order).
    pub n_groups: Vec<GroupCount>,
    /// lme4's `isSingular`: some θ with lower bound 0 is below 1e-4.
    pub singular: bool,
    /// Whether the optimizer reported convergence.
    pub converged: bool,
    /// The optimizer's record (start, optimum, evaluations, termination, log).
    pub optim: OptimRecord,
}

/// Tolerance of lme4's `isSingular`.
pub const SINGULAR_TOL: f64 = 1e-4;

/// Build the [`LmmFit`] from a model just evaluated at the optimum.
pub(crate) fn extract(model: &LinearMixedModel, optim: OptimRecord, cond_var: bool) -> LmmFit {
    let theta = model.theta().to_vec();
    let objective = model.current_objective();
    let sigma = model.sigma();
    let fixef = model.beta();
    let vcov = model.vcov_beta();
    let p = fixef.len();
    let vcov_fixef: Vec<Vec<f64>> = (0..p)
        .map(|i| (0..p).map(|j| vcov[(i, j)]).collect())
        .collect();
    let se = (0..p).map(|i| vcov[(i, i)].sqrt()).collect();
    let mut modes = model.conditional_modes();
    let covs = if cond_var {
        model.conditional_covariances()
    } else {
        Vec::new()
    };
    let (fitted, residuals) = fitted_values(model, &fixef, &modes);
    let random = term_fits(model, &theta, sigma, &mut modes, &covs);
    let npar = p + theta.len() + 1;
    let n = model.n_obs();
    let n_groups = group_counts(model);
    let singular = model
        .terms
        .iter()
        .any(|t| t.structure.is_singular(t.theta(&theta), SINGULAR_TOL));
    LmmFit {
        criterion: if model.reml() {
            Criterion::Reml
        } else {
            Criterion::Ml
        },
        objective,
        theta_names: model.theta_names(),
        theta,
        fixef_names: model.design.x_names.clone(),
        fixef,
        se,
        vcov_fixef,
        sigma,
        random,
        fitted,
        residuals,
        log_likelihood: -objective / 2.0,
        aic: objective + 2.0 * npar as f64,
        bic: objective + npar as f64 * (n as f64).ln(),
        npar,
        n_obs: n,
        n_groups,
        singular,
        converged: optim.converged,
        optim,
    }
}

/// Each term's part of the fit, in the engine's order (`modes` are taken, `covs` are the
/// conditional covariance blocks or empty).
fn term_fits(
    model: &LinearMixedModel,
    theta: &[f64],
    sigma: f64,
    modes: &mut [Vec<f64>],
    covs: &[Vec<f64>],
) -> Vec<TermFit> {
    model
        .terms
        .iter()
        .enumerate()
        .map(|(j, term)| {
            let k = term.k;
            let t = &model.factor.t[j];
            let condsd = covs.get(j).map_or_else(
                || PerLevel::empty(k),
                |blocks| {
                    let sd = blocks
                        .chunks_exact(k * k)
                        .flat_map(|b| (0..k).map(move |a| b[a * k + a].max(0.0).sqrt()))
                        .collect();
                    PerLevel::new(k, sd)
                },
            );
            TermFit {
                group: term.group.clone(),
                formula_index: term.formula_index,
                names: term.names.clone(),
                structure: term.structure.name().to_string(),
                theta: term.theta(theta).to_vec(),
                covariance: summarize(MatRef::from_column_major_slice(t, k, k), sigma),
                levels: term.levels.clone(),
                condval: PerLevel::new(k, std::mem::take(&mut modes[j])),
                condsd,
            }
        })
        .collect()
}

/// Levels per grouping factor, each factor once, in the engine's order.
fn group_counts(model: &LinearMixedModel) -> Vec<GroupCount> {
    let mut n_groups: Vec<GroupCount> = Vec::new();
    for term in &model.terms {
        if !n_groups.iter().any(|g| g.group == term.group) {
            n_groups.push(GroupCount {
                group: term.group.clone(),
                levels: term.n_levels(),
            });
        }
    }
    n_groups
}

/// Rows per block of [`fitted_values`].
const FITTED_BLOCK: usize = 1024;
/// From this many rows the blocks of [`fitted_values`] are filled in parallel: the
/// cross-product pass's threshold, for the same reason (below it the fill is shorter than
/// a worker's wake-up).
const FITTED_PARALLEL: usize = crate::crossprod::PARALLEL_ROWS;

/// X β + Z b + offset and y − fitted, on the original (unweighted) rows, one O(N) pass in
/// blocks of rows (each block's sums stay in cache while every column is added); the
/// blocks are independent, so large designs fill them on rayon's threads.
pub(crate) fn fitted_values(
    model: &LinearMixedModel,
    beta: &[f64],
    modes: &[Vec<f64>],
) -> (Vec<f64>, Vec<f64>) {
    let n = model.design.n_obs();
    let (mut fitted, mut residuals) = (prefaulted_zeros(n), prefaulted_zeros(n));
    let fill = |(b, (f, e)): (usize, (&mut [f64], &mut [f64]))| {
        fitted_block(model, beta, modes, b * FITTED_BLOCK, f, e);
    };
    if n >= FITTED_PARALLEL {
        fitted
            .par_chunks_mut(FITTED_BLOCK)
            .zip(residuals.par_chunks_mut(FITTED_BLOCK))
            .enumerate()
            .for_each(fill);
    } else {
        fitted
            .chunks_mut(FITTED_BLOCK)
            .zip(residuals.chunks_mut(FITTED_BLOCK))
            .enumerate()
            .for_each(fill);
    }
    (fitted, residuals)
}

/// n zeros written by the allocating thread, for a vector every entry of which is written
/// soon. Not `vec![0.0; n]`, whose zeroed allocation takes fresh pages from the kernel
/// untouched and leaves each page to fault at its first write inside the fit; an
/// ordinary allocation is the one a program's allocator may back with huge pages (the
/// CLI's does for large blocks).
pub(crate) fn prefaulted_zeros(n: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(n);
    v.extend(std::iter::repeat_n(0.0, n));
    v
}

/// [`fitted_values`] on the rows `start..start + f.len()`.
fn fitted_block(
    model: &LinearMixedModel,
    beta: &[f64],
    modes: &[Vec<f64>],
    start: usize,
    f: &mut [f64],
    e: &mut [f64],
) {
    let d = &model.design;
    let r = start..start + f.len();
    if let Some(o) = &d.offset {
        f.copy_from_slice(&o[r.clone()]);
    }
    for (c, b) in beta.iter().enumerate() {
        f.iter_mut()
            .zip(&d.x.col(c)[r.clone()])
            .for_each(|(f, x)| *f += b * x);
    }
    for (term, b) in model.terms.iter().zip(modes) {
        let rt = &d.random[term.formula_index];
        let codes = &rt.codes[r.clone()];
        let z = |a: usize| &rt.z.col(a)[r.clone()];
        match term.k {
            1 => add_modes::<1>(f, codes, [z(0)], b),
            2 => add_modes::<2>(f, codes, [z(0), z(1)], b),
            3 => add_modes::<3>(f, codes, [z(0), z(1), z(2)], b),
            k => {
                for a in 0..k {
                    for ((f, z), &g) in f.iter_mut().zip(z(a)).zip(codes) {
                        *f += z * b[g as usize * k + a];
                    }
                }
            }
        }
    }
    e.iter_mut()
        .zip(&d.y[r])
        .zip(f.iter())
        .for_each(|((e, y), f)| *e = y - f);
}

/// f_i += Σ_a z_a,i b[g_i, a] for a term of K effects: one pass over the rows, each row's
/// K modes read together (the adds in the order a = 0, 1, ..., as a pass per column would).
/// `codes` and the columns of `z` have the block's rows (as in the loop for larger K) and
/// the codes are below the number of levels (checked when the model was built).
fn add_modes<const K: usize>(f: &mut [f64], codes: &[u32], z: [&[f64]; K], b: &[f64]) {
    let n = f.len();
    let z = z.map(|c| &c[..n]);
    for (i, (fi, &g)) in f.iter_mut().zip(&codes[..n]).enumerate() {
        let bl = &b[g as usize * K..][..K];
        let mut acc = *fi;
        for (za, ba) in z.iter().zip(bl) {
            acc += za[i] * ba;
        }
        *fi = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::{fitted_values, FITTED_PARALLEL};
    use crate::{LinearMixedModel, ModelOptions};
    use mixedlm_design::Design;
    use mixedlm_fixtures::synthetic::{design_with_x, random_term, uniform};

    /// A design above the parallel threshold: `y ~ 1 + x + (1 + x | g) + (1 | h)` with an
    /// offset and deterministic pseudo-random values.
    fn large_design() -> Design {
        let n = FITTED_PARALLEL + 4321;
        let x: Vec<f64> = (0..n).map(|i| 3.0 * uniform(i, 1)).collect();
        let mut z = vec![1.0; n];
        z.extend_from_slice(&x);
        let g = random_term(
            "g",
            300,
            (0..n).map(|i| (i * 7 % 300) as u32).collect(),
            z,
            &["(Intercept)", "x"],
        );
        let h = random_term(
            "h",
            40,
            (0..n).map(|i| (i * 13 % 40) as u32).collect(),
            vec![1.0; n],
            &["(Intercept)"],
        );
        // Terms of three and four effects, so that every arm of `fitted_block` runs.
        let wide = |name: &str, levels: usize, k: usize, step: usize| {
            let z: Vec<f64> = (0..k * n)
                .map(|j| uniform(j % n, 4 + (j / n) as u64) - 0.5)
                .collect();
            let names: Vec<String> = (0..k).map(|a| format!("w{a}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let codes = (0..n).map(|i| (i * step % levels) as u32).collect();
            random_term(name, levels, codes, z, &names)
        };
        let (w3, w4) = (wide("u", 25, 3, 11), wide("v", 12, 4, 5));
        let y = (0..n).map(|i| 1.0 + x[i] + uniform(i, 2)).collect();
        let offset = (0..n).map(|i| uniform(i, 3)).collect();
        design_with_x(y, &x, vec![g, h, w3, w4], Some(offset))
    }

    /// The blocked (here parallel) pass equals the row-by-row formula exactly.
    #[test]
    fn parallel_fitted_values_equal_the_row_formula() {
        let design = large_design();
        let model = LinearMixedModel::new(&design, ModelOptions { reml: true }).unwrap();
        let beta = [0.7, -1.3];
        let modes: Vec<Vec<f64>> = model
            .terms
            .iter()
            .map(|t| {
                (0..t.n_levels() * t.k)
                    .map(|i| (i as f64 * 0.37).sin())
                    .collect()
            })
            .collect();
        let (fitted, residuals) = fitted_values(&model, &beta, &modes);
        let d = &model.design;
        for i in 0..d.n_obs() {
            let mut f = d.offset.as_ref().unwrap()[i];
            f += beta[0] * d.x.col(0)[i];
            f += beta[1] * d.x.col(1)[i];
            for (term, b) in model.terms.iter().zip(&modes) {
                let rt = &d.random[term.formula_index];
                let g = rt.codes[i] as usize;
                for a in 0..term.k {
                    f += rt.z.col(a)[i] * b[g * term.k + a];
                }
            }
            assert_eq!(fitted[i], f, "row {i}");
            assert_eq!(residuals[i], d.y[i] - f, "row {i}");
        }
    }
}
