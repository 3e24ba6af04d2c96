//! statsmodels' `bse_re`: standard errors of the variance parameters on statsmodels' scale.
//!
//! statsmodels estimates the *relative* covariances τ = Ψ/σ² (its `params` after the fixed
//! effects), takes Cov(τ̂) from the Hessian of the σ-profiled log-likelihood, and reports
//! `bse_re = √σ̂² · SE(τ̂)` next to Ψ̂ in its summary. That is not the standard error of Ψ̂
//! (about σ̂² · SE(τ̂) plus a term from σ̂²); [`MixedLMResults::variance_component_se`] gives
//! that one. Here τ ↦ θ (Cholesky) ↦ the profiled criterion of the fit (REML or ML), whose
//! Hessian in τ by central differences gives Cov(τ̂) = 2 H⁻¹.

use crate::at_theta::AtTheta;
use crate::{Error, MixedLMResults};
use faer::linalg::solvers::Solve;
use faer::Mat;
use mixedlm_design::CovarianceKind;
use mixedlm_inference::{theta_from_sdcor, TermLayout, VarianceComponentSe};

/// Relative step of the finite differences (of the entry's own size, or of the SDs for a
/// covariance).
pub(crate) const STEP: f64 = 3e-3;

/// One statsmodels variance parameter: where it sits in a term's covariance.
#[derive(Clone, Debug)]
pub(crate) struct Param {
    /// Index of the term among the terms in θ order.
    term: usize,
    /// Row and column in the term's covariance (row ≥ column).
    row: usize,
    col: usize,
    pub(crate) name: String,
}

impl MixedLMResults {
    /// statsmodels' `bse_re`: for each random-effects variance and covariance, the standard
    /// error statsmodels prints next to it (`Subject Var`, `Subject x Days Cov`,
    /// `Days Var`, then one `NAME Var` per variance component). The main term (the
    /// `groups` term, or the formula's first term) comes first, its lower triangle row by
    /// row as statsmodels packs it, then the other terms in formula order; `estimate` is
    /// the variance or covariance itself (statsmodels' `cov_re` / `vcomp` entry).
    ///
    /// These are statsmodels' numbers: √σ̂² times the standard error of the relative
    /// covariance Ψ/σ², not the standard errors of the variances; for those (on the variance
    /// scale, with σ²) use [`variance_component_se`](Self::variance_component_se). A
    /// variance estimated at 0 gives NaN for it and its covariances.
    ///
    /// ```
    /// use mixedlm::{read_table, MixedLM};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sleepstudy.csv");
    /// let fit = MixedLM::from_formula("Reaction ~ Days").groups("Subject").re_formula("~Days")
    ///     .fit_batch(&read_table(path.as_ref(), None)?)?;
    /// let se = fit.bse_re()?;
    /// assert_eq!(se[0].name, "Subject Var");
    /// assert!((se[0].se - 11.8809).abs() < 1e-3);          // statsmodels 0.15: 11.880898
    /// assert_eq!(se[1].name, "Subject x Days Cov");
    /// # Ok::<(), mixedlm::Error>(())
    /// ```
    pub fn bse_re(&self) -> Result<Vec<VarianceComponentSe>, Error> {
        self.need_rows("statsmodels' bse_re")?;
        let at = AtTheta::new(self)?;
        let terms = at.terms();
        let theta = self.theta().to_vec();
        let (params, tau0, interior) = interior_params(self, terms);
        let criterion = |x: &[f64]| -> f64 {
            let mut tau = tau0.clone();
            for (&i, &v) in interior.iter().zip(x) {
                tau[i] = v;
            }
            at.pieces(&theta_of(terms, &params, &tau))
                .map_or(f64::NAN, |pc| at.criterion(&pc, pc.pwrss))
        };
        let x0: Vec<f64> = interior.iter().map(|&i| tau0[i]).collect();
        let all_steps = steps(terms, &theta, &params);
        let h: Vec<f64> = interior.iter().map(|&i| all_steps[i]).collect();
        let hh = hessian(&criterion, &x0, &h);
        let cov = invert_spd(&hh);
        let scale = self.scale();
        Ok(params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let var = interior
                    .iter()
                    .position(|&j| j == i)
                    .and_then(|k| cov.as_ref().map(|c| 2.0 * c[(k, k)]))
                    .unwrap_or(f64::NAN);
                VarianceComponentSe {
                    name: p.name.clone(),
                    estimate: scale * tau0[i],
                    se: if var >= 0.0 {
                        (scale * var).sqrt()
                    } else {
                        f64::NAN
                    },
                }
            })
            .collect())
    }

    /// The variance parameters in statsmodels' order with statsmodels' names.
    fn statsmodels_params(&self, terms: &[TermLayout]) -> Vec<Param> {
        let main = self.main_term().map(|t| t.formula_index);
        let mut order: Vec<usize> = (0..terms.len()).collect();
        order.sort_by_key(|&i| (Some(terms[i].design_index) != main, terms[i].design_index));
        let mut out = Vec::new();
        for i in order {
            let t = &terms[i];
            let is_main = Some(t.design_index) == main;
            let label = self.spec.vc_name(t.design_index);
            for row in 0..t.k {
                for col in 0..=row {
                    let on_diagonal = row == col;
                    let free = match t.kind {
                        CovarianceKind::Unstructured => true,
                        CovarianceKind::Diagonal => on_diagonal,
                        CovarianceKind::Scalar => row == 0 && col == 0,
                    };
                    if !free {
                        continue;
                    }
                    let name = param_name(t, row, col, is_main, label.as_deref());
                    out.push(Param {
                        term: i,
                        row,
                        col,
                        name,
                    });
                }
            }
        }
        out
    }
}

/// statsmodels' variance parameters of the fit, their relative values τ at θ̂, and which
/// of them are free. A variance at 0 is on the boundary: the information says nothing about
/// it (nor about its covariances), so those stay fixed (and get NaN).
pub(crate) fn interior_params(
    fit: &MixedLMResults,
    terms: &[TermLayout],
) -> (Vec<Param>, Vec<f64>, Vec<usize>) {
    let params = fit.statsmodels_params(terms);
    let theta = fit.theta();
    let tau0 = relative_entries(terms, theta, &params);
    let interior = (0..params.len())
        .filter(|&i| !on_boundary(terms, theta, &params[i]))
        .collect();
    (params, tau0, interior)
}

/// statsmodels' names: `G Var`, `G x Days Cov`, `Days Var` for the main term (the intercept
/// named after the group), `NAME Var` for a variance component; lme4 terms beyond the main
/// one carry their group: `(Intercept)|plate Var`.
fn param_name(t: &TermLayout, row: usize, col: usize, main: bool, vc: Option<&str>) -> String {
    if let Some(name) = vc {
        return format!("{name} Var");
    }
    let effect = |i: usize| -> String {
        let n = &t.names[i];
        match (main, n.as_str()) {
            (true, "(Intercept)") => t.group.clone(),
            (true, _) => n.clone(),
            (false, _) => format!("{n}|{}", t.group),
        }
    };
    if row == col {
        format!("{} Var", effect(row))
    } else {
        format!("{} x {} Cov", effect(col), effect(row))
    }
}

/// Whether the parameter is a variance at 0, or a covariance of such a variance.
fn on_boundary(terms: &[TermLayout], theta: &[f64], p: &Param) -> bool {
    let rel = relative_covariance(&terms[p.term], theta);
    let zero = |j: usize| rel[(j, j)] <= 1e-10;
    zero(p.row) || zero(p.col)
}

/// The term's relative covariance T T'.
fn relative_covariance(t: &TermLayout, theta: &[f64]) -> Mat<f64> {
    let f = t.factor(theta);
    &f * f.transpose()
}

/// τ: the relative covariance entries of `params` at θ.
fn relative_entries(terms: &[TermLayout], theta: &[f64], params: &[Param]) -> Vec<f64> {
    params
        .iter()
        .map(|p| relative_covariance(&terms[p.term], theta)[(p.row, p.col)])
        .collect()
}

/// Finite-difference steps: relative to a variance, or to the product of SDs for a
/// covariance (a covariance near 0 still gets a step on its natural scale).
pub(crate) fn steps(terms: &[TermLayout], theta: &[f64], params: &[Param]) -> Vec<f64> {
    params
        .iter()
        .map(|p| {
            let rel = relative_covariance(&terms[p.term], theta);
            let size = (rel[(p.row, p.row)] * rel[(p.col, p.col)]).max(0.0).sqrt();
            STEP * size.max(1e-8)
        })
        .collect()
}

/// θ for relative covariances τ (entries of `params`; a scalar term's shared variance set
/// once, a diagonal term's covariances 0).
pub(crate) fn theta_of(terms: &[TermLayout], params: &[Param], tau: &[f64]) -> Vec<f64> {
    let mut sdcor = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        let mut rel = Mat::<f64>::zeros(t.k, t.k);
        for (p, &v) in params.iter().zip(tau) {
            if p.term == i {
                rel[(p.row, p.col)] = v;
                rel[(p.col, p.row)] = v;
            }
        }
        if t.kind == CovarianceKind::Scalar {
            let v = rel[(0, 0)];
            for j in 0..t.k {
                rel[(j, j)] = v;
            }
        }
        let sd = |j: usize| rel[(j, j)].max(0.0).sqrt();
        match t.kind {
            CovarianceKind::Unstructured => {
                for j in 0..t.k {
                    for r in j..t.k {
                        sdcor.push(if r == j {
                            sd(j)
                        } else if sd(r) > 0.0 && sd(j) > 0.0 {
                            rel[(r, j)] / (sd(r) * sd(j))
                        } else {
                            0.0
                        });
                    }
                }
            }
            CovarianceKind::Diagonal => sdcor.extend((0..t.k).map(sd)),
            CovarianceKind::Scalar => sdcor.push(sd(0)),
        }
    }
    sdcor.push(1.0);
    theta_from_sdcor(terms, &sdcor)
}

/// Central-difference Hessian of `f` at `x` with per-coordinate steps.
pub(crate) fn hessian(f: &dyn Fn(&[f64]) -> f64, x: &[f64], h: &[f64]) -> Mat<f64> {
    let m = x.len();
    let at = |moves: &[(usize, f64)]| {
        let mut y = x.to_vec();
        for &(i, d) in moves {
            y[i] += d;
        }
        f(&y)
    };
    let f0 = f(x);
    let mut out = Mat::<f64>::zeros(m, m);
    for i in 0..m {
        let (fp, fm) = (at(&[(i, h[i])]), at(&[(i, -h[i])]));
        out[(i, i)] = (fp - 2.0 * f0 + fm) / (h[i] * h[i]);
        for j in 0..i {
            let v = (at(&[(i, h[i]), (j, h[j])])
                - at(&[(i, h[i]), (j, -h[j])])
                - at(&[(i, -h[i]), (j, h[j])])
                + at(&[(i, -h[i]), (j, -h[j])]))
                / (4.0 * h[i] * h[j]);
            out[(i, j)] = v;
            out[(j, i)] = v;
        }
    }
    out
}

/// The inverse of a symmetric positive-definite matrix; `None` when it is not (or holds
/// non-finite entries: a parameter on the boundary).
pub(crate) fn invert_spd(h: &Mat<f64>) -> Option<Mat<f64>> {
    let m = h.nrows();
    if (0..m).any(|i| (0..m).any(|j| !h[(i, j)].is_finite())) {
        return None;
    }
    if m == 0 {
        return Some(Mat::zeros(0, 0));
    }
    let llt = h.llt(faer::Side::Lower).ok()?;
    Some(llt.solve(Mat::<f64>::identity(m, m)))
}
