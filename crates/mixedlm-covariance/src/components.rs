//! The covariance parameters of a term as its structure lays them out: which entries of
//! Σ = σ² T T' are free ([`Component`]), and the way back from Σ (or from standard
//! deviations and correlations) to θ. Inference (variance-component standard errors,
//! Kenward-Roger, profile intervals, lme4's `sd_`/`cor_` names) reads a term's
//! parameters only through these, so a new structure needs no change there.

use faer::{Mat, MatRef};

/// One free parameter of a term's covariance matrix Σ, in the structure's θ order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The variance of effect i (its standard deviation in the SD/correlation scale).
    Variance(usize),
    /// The covariance of effects i > j (their correlation in the SD/correlation scale).
    Covariance(usize, usize),
    /// One variance shared by every effect: Σ = v I.
    SharedVariance,
}

impl Component {
    /// The entry (row ≥ column) of Σ that carries the component's value; the shared
    /// variance is read at (0, 0).
    pub fn position(self) -> (usize, usize) {
        match self {
            Component::Variance(i) => (i, i),
            Component::Covariance(i, j) => (i, j),
            Component::SharedVariance => (0, 0),
        }
    }

    /// ∂Σ/∂γ for this component γ (k×k, symmetric, entries 0 or 1).
    pub fn pattern(self, k: usize) -> Mat<f64> {
        let mut e = Mat::zeros(k, k);
        match self {
            Component::Variance(i) => e[(i, i)] = 1.0,
            Component::Covariance(i, j) => {
                e[(i, j)] = 1.0;
                e[(j, i)] = 1.0;
            }
            Component::SharedVariance => (0..k).for_each(|i| e[(i, i)] = 1.0),
        }
        e
    }
}

/// The components of a structure with the given factor derivatives ∂T/∂θ_i: an entry on
/// the diagonal is a variance, one below it a covariance, several diagonal entries a
/// shared variance (the built-in structures are of these three kinds).
pub(crate) fn from_derivatives(
    k: usize,
    n_theta: usize,
    fill: impl Fn(usize, &mut Mat<f64>),
) -> Vec<Component> {
    let mut dt = Mat::zeros(k, k);
    (0..n_theta)
        .map(|i| {
            fill(i, &mut dt);
            let entries: Vec<(usize, usize)> = (0..k)
                .flat_map(|c| (c..k).map(move |r| (r, c)))
                .filter(|&(r, c)| dt[(r, c)] != 0.0)
                .collect();
            match entries.as_slice() {
                [(r, c)] if r == c => Component::Variance(*r),
                [(r, c)] => Component::Covariance(*r, *c),
                _ => Component::SharedVariance,
            }
        })
        .collect()
}

/// Cholesky factor of a symmetric positive semi-definite matrix (lower triangle read);
/// a column whose pivot is not positive (up to rounding) is zero.
pub fn semidefinite_cholesky(a: MatRef<'_, f64>) -> Mat<f64> {
    let k = a.nrows();
    let mut l = Mat::<f64>::zeros(k, k);
    for j in 0..k {
        let d = a[(j, j)] - (0..j).map(|m| l[(j, m)] * l[(j, m)]).sum::<f64>();
        if d <= 1e-14 * a[(j, j)].abs().max(f64::MIN_POSITIVE) {
            continue;
        }
        let djj = d.sqrt();
        l[(j, j)] = djj;
        for i in j + 1..k {
            let s = a[(i, j)] - (0..j).map(|m| l[(i, m)] * l[(j, m)]).sum::<f64>();
            l[(i, j)] = s / djj;
        }
    }
    l
}

/// The relative covariance D R D (lower triangle) of relative standard deviations `sd`
/// and correlations `cor` (lower triangle read).
pub(crate) fn from_sd_cor(sd: &[f64], cor: MatRef<'_, f64>) -> Mat<f64> {
    let k = sd.len();
    let mut rel = Mat::<f64>::zeros(k, k);
    for j in 0..k {
        rel[(j, j)] = sd[j] * sd[j];
        for i in j + 1..k {
            rel[(i, j)] = cor[(i, j)] * (sd[i] * sd[j]);
        }
    }
    rel
}
