//! Starting values of θ from the cross-products: one-way ANOVA (method of moments)
//! estimates of each term's intercept variance relative to σ².
//!
//! lme4 starts every T_j at the identity (θ = 1 for a scalar term). When a variance
//! ratio is far from 1, BOBYQA spends many evaluations walking there with a small trust
//! region (InstEval's `(1 | dept:service)` has θ ≈ 0.09). The estimates here cost
//! O(levels · p) and read nothing but the cross-products, so they are free next to one
//! evaluation.
//!
//! For each term whose first column is an intercept, with OLS residuals e of y on X:
//! - per level l: n_l = Σ z², r_l = Σ z e (from D/B for term 1, from C for the others);
//! - SSB = Σ r_l² / n_l, SSW = e'e − SSB, G = levels with n_l > 0;
//! - σ_e² = SSW / (N − G), σ_j² = (SSB − (G − 1) σ_e²) / (N − Σ n_l² / N);
//!
//! and σ² = s² − Σ σ_j² (s² = e'e / (N − p), the total variance; at least s²/20). The
//! start sets T_j[0,0] = √(σ_j² / σ²), clamped to [`MIN_START`, `MAX_START`]; every other
//! entry of T_j stays as lme4's. Terms without an intercept column keep lme4's start, and
//! so does the whole model when the estimate cannot be formed (X'X not positive
//! definite, N ≤ p).
//!
//! The estimates ignore the other terms (a nested term's ANOVA also sees its parent's
//! variance) and random slopes (an intercept's level means also carry slope × mean of x),
//! so they can be far off on nested and slope models. That is why `fit` offers the
//! estimate to the optimizer as an
//! alternative start only: BOBYQA starts from whichever of lme4's start and this one has
//! the lower objective (one extra evaluation).

use crate::crossprod::CrossProducts;
use crate::kernels;
use crate::terms::Term;
use crate::LinearMixedModel;
use faer::Mat;

impl LinearMixedModel {
    /// The moment-based starting θ (lme4's order) and the initial trust-region radius to
    /// use from it, or `None` when the estimate cannot be formed (X'X not positive
    /// definite, N ≤ p + 1, no residual variance, or no term with an intercept).
    /// [`LinearMixedModel::fit`] offers it to BOBYQA as an alternative to lme4's start.
    pub fn theta_start_moments(&self) -> Option<(Vec<f64>, f64)> {
        moment_start(&self.cp, &self.terms, self.n)
    }

    /// The start [`LinearMixedModel::fit`] offers BFGS besides lme4's (the better of the
    /// two is used), or `None`:
    /// - one term with random slopes: every diagonal entry of T from per-level fits
    ///   ([`single_term_start`]);
    /// - two nested terms with intercepts (nested path): the intercepts' T_j[0,0] from the
    ///   nested ANOVA of the OLS residuals ([`nested_variances`]) and the outer term's
    ///   slope variances from per-level fits.
    ///
    /// Other entries are lme4's.
    pub fn theta_start_level_fits(&self) -> Option<Vec<f64>> {
        if self.terms.len() == 1 {
            return single_term_start(&self.cp, &self.terms, self.n);
        }
        let nested = self.factor.nested()?;
        let (cp, terms) = (&self.cp, &self.terms);
        if !terms[..2].iter().all(has_intercept) {
            return None;
        }
        let (beta, sse) = ols(cp)?;
        let inner = level_sums(cp, terms, 0, &beta);
        let outer = level_sums(cp, terms, 1, &beta);
        let members: Vec<&[u32]> = (0..outer.len()).map(|l| nested.members(l)).collect();
        let (v_inner, v_outer, v_e) =
            nested_variances(&inner, &outer, &members, sse, self.n as f64)?;
        let slopes = outer_slope_variances(cp, &terms[1], &beta, v_e);
        // the engine's term order is lme4's θ order
        let mut theta = Vec::with_capacity(self.n_theta());
        for (t, v) in terms.iter().zip([v_inner, v_outer]) {
            let mut diag = vec![v];
            if t.formula_index == terms[1].formula_index {
                diag.extend_from_slice(&slopes);
            }
            let scales: Vec<f64> = diag.iter().map(|&v| start_scale(v, v_e)).collect();
            theta.extend(with_diagonal(t, &scales)?);
        }
        theta.iter().all(|x| x.is_finite()).then_some(theta)
    }
}

/// (σ²_inner, σ²_outer, σ²_e) of the nested one-way random-effects ANOVA of the residuals e
/// (N rows, e'e = `sse`), from the level sums (n, Σ e) of the inner factor (levels g) and
/// the outer one (levels l, `members[l]` its inner levels):
/// - SS_g = Σ_g r_g²/n_g, SS_l = Σ_l r_l²/n_l, σ²_e = (e'e − SS_g) / (N − G);
/// - σ²_inner = (SS_g − SS_l − (G − L) σ²_e) / (N − Σ_l Σ_{g∈l} n_g²/n_l);
/// - σ²_outer = (SS_l − (L − 1) σ²_e − (Σ_l Σ_{g∈l} n_g²/n_l − Σ_g n_g²/N) σ²_inner)
///   / (N − Σ_l n_l²/N),
///
/// the expected mean squares of the unbalanced nested design solved for the variances.
/// `None` when a denominator vanishes (no replication at some level of the design).
fn nested_variances(
    inner: &[(f64, f64)],
    outer: &[(f64, f64)],
    members: &[&[u32]],
    sse: f64,
    n: f64,
) -> Option<(f64, f64, f64)> {
    let ss = |sums: &[(f64, f64)]| -> f64 {
        sums.iter()
            .filter(|(nl, _)| *nl > 0.0)
            .map(|(nl, rl)| rl * rl / nl)
            .sum()
    };
    let (ss_g, ss_l) = (ss(inner), ss(outer));
    let (g, l) = (inner.len() as f64, outer.len() as f64);
    let within = (sse - ss_g).max(0.0) / (n - g);
    // Σ_l Σ_{g∈l} n_g² / n_l and Σ_g n_g² / N
    let nested_n2: f64 = members
        .iter()
        .zip(outer)
        .filter(|(_, (nl, _))| *nl > 0.0)
        .map(|(m, (nl, _))| m.iter().map(|&g| inner[g as usize].0.powi(2)).sum::<f64>() / nl)
        .sum();
    let inner_n2: f64 = inner.iter().map(|(ng, _)| ng * ng).sum::<f64>() / n;
    let outer_n2: f64 = outer.iter().map(|(nl, _)| nl * nl).sum::<f64>() / n;
    let (d_inner, d_outer) = (n - nested_n2, n - outer_n2);
    if n <= g || l < 2.0 || d_inner <= 0.0 || d_outer <= 0.0 || within <= 0.0 {
        return None;
    }
    let v_inner = (ss_g - ss_l - (g - l) * within) / d_inner;
    let v_outer = (ss_l - (l - 1.0) * within - (nested_n2 - inner_n2) * v_inner.max(0.0)) / d_outer;
    [v_inner, v_outer, within]
        .iter()
        .all(|v| v.is_finite())
        .then_some((v_inner, v_outer, within))
}

/// Smallest starting T_j[0,0]: a variance estimated at or below zero starts here, close
/// to the boundary but not on it.
pub(crate) const MIN_START: f64 = 0.05;
/// Largest starting T_j[0,0].
pub(crate) const MAX_START: f64 = 10.0;

/// A diagonal entry of T from a variance estimate: the standard deviation relative to the
/// residual one, √(max(v, 0) / σ²), clamped to [`MIN_START`, `MAX_START`].
fn start_scale(variance: f64, residual: f64) -> f64 {
    (variance.max(0.0) / residual)
        .sqrt()
        .clamp(MIN_START, MAX_START)
}

/// The initial trust-region radius from the moment start (lme4 starts from T = I with
/// 0.2). The estimate usually lands within a few hundredths of the optimum, so BOBYQA's
/// first interpolation points at 0.2 are far worse than the start and its model poor; 0.05
/// took the fewest evaluations on the large crossed sets (benches/README.md).
pub(crate) const MOMENT_STEP: f64 = 0.05;

/// Per level of one term: (n_l, r_l) for the term's first column.
type LevelSums = Vec<(f64, f64)>;

/// The moment-based start (lme4's order) and its initial step, or `None` to keep lme4's.
pub(crate) fn moment_start(
    cp: &CrossProducts,
    terms: &[Term],
    n_obs: usize,
) -> Option<(Vec<f64>, f64)> {
    let (beta, sse) = ols(cp)?;
    let p = cp.p;
    let n = n_obs as f64;
    if n_obs <= p + 1 || sse.is_nan() || sse <= 0.0 {
        return None;
    }
    let s2 = sse / (n - p as f64);
    let variances: Vec<Option<f64>> = terms
        .iter()
        .enumerate()
        .map(|(j, t)| {
            has_intercept(t)
                .then(|| level_sums(cp, terms, j, &beta))
                .and_then(|sums| one_way_variance(&sums, sse, n))
        })
        .collect();
    let total: f64 = variances.iter().flatten().map(|v| v.max(0.0)).sum();
    let sigma2 = (s2 - total).max(s2 / 20.0);
    let mut theta = Vec::with_capacity(terms.iter().map(Term::n_theta).sum());
    for (t, v) in terms.iter().zip(&variances) {
        let own = t.structure.initial_theta();
        let started = v.and_then(|v| with_first_diagonal(t, start_scale(v, sigma2)));
        theta.extend(started.unwrap_or(own));
    }
    let started = variances.iter().any(Option::is_some);
    let finite = theta.iter().all(|x| x.is_finite());
    (started && finite).then_some((theta, MOMENT_STEP))
}

/// Whether the term's first column is an intercept (its variance is what ANOVA measures).
fn has_intercept(t: &Term) -> bool {
    t.names.first().is_some_and(|n| n == "(Intercept)")
}

/// θ of the term with T = I except T[0,0] = `scale`, if the structure can express it.
fn with_first_diagonal(t: &Term, scale: f64) -> Option<Vec<f64>> {
    with_diagonal(t, &[scale])
}

/// θ of the term with T = I except its leading diagonal entries set to `scales`.
fn with_diagonal(t: &Term, scales: &[f64]) -> Option<Vec<f64>> {
    let mut m = Mat::<f64>::identity(t.k, t.k);
    for (i, &v) in scales.iter().enumerate().take(t.k) {
        m[(i, i)] = v;
    }
    t.structure.theta_from_factor(m.as_ref()).ok()
}

/// Per-level least-squares fits of the OLS residuals e on one term's columns:
/// b̂_l = K_l⁻¹ r_l with K_l = Z_l'Z_l and r_l = Z_l'e, over the levels whose K_l is
/// positive definite. If the term's covariance is Σ (relative to nothing: in data units),
/// the second moment of b̂_l is Σ + σ²_e K_l⁻¹, which gives the method-of-moments estimate
/// of Σ's diagonal ([`LevelFits::variances`]).
struct LevelFits {
    /// Σ_l b̂_l[a]².
    second: Vec<f64>,
    /// Σ_l K_l⁻¹[a, a].
    sampling: Vec<f64>,
    /// Σ_l r_l' b̂_l: the residual sum of squares the per-level fits explain.
    explained: f64,
    /// Levels fitted.
    levels: f64,
}

impl LevelFits {
    /// `fill(l, K, r)` writes level l's K_l (k×k column-major) and r_l.
    fn new(k: usize, n_levels: usize, mut fill: impl FnMut(usize, &mut [f64], &mut [f64])) -> Self {
        let mut fits = LevelFits {
            second: vec![0.0; k],
            sampling: vec![0.0; k],
            explained: 0.0,
            levels: 0.0,
        };
        let (mut kl, mut inv) = (vec![0.0; k * k], vec![0.0; k * k]);
        let (mut r, mut b) = (vec![0.0; k], vec![0.0; k]);
        for l in 0..n_levels {
            fill(l, &mut kl, &mut r);
            if !kernels::chol(&mut kl, k) {
                continue;
            }
            b.copy_from_slice(&r);
            kernels::row_solve_lower_t(&mut b, &kl, k);
            kernels::solve_lower_t(&mut b, &kl, k);
            kernels::lower_inverse(&kl, k, &mut inv);
            for a in 0..k {
                fits.second[a] += b[a] * b[a];
                // K⁻¹[a, a] = Σ_m (L⁻¹[m, a])²
                fits.sampling[a] += (a..k).map(|m| inv[a * k + m].powi(2)).sum::<f64>();
            }
            fits.explained += r.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>();
            fits.levels += 1.0;
        }
        fits
    }

    /// The variance of each column (mean of b̂[a]² less σ²_e times the mean of K⁻¹[a, a]);
    /// empty with fewer than two levels fitted.
    fn variances(&self, v_e: f64) -> Vec<f64> {
        if self.levels < 2.0 {
            return Vec::new();
        }
        self.second
            .iter()
            .zip(&self.sampling)
            .map(|(s, k)| (s - v_e * k) / self.levels)
            .collect()
    }
}

/// The variances of a later term's columns after the first (random slopes), from the
/// per-level fits of its C blocks ([`LevelFits`]). Empty for a scalar term or when fewer
/// than two levels can be fitted.
fn outer_slope_variances(cp: &CrossProducts, t: &Term, beta: &[f64], v_e: f64) -> Vec<f64> {
    let (mr, qr, p, k) = (cp.mr, cp.qr, cp.p, t.k);
    if k < 2 {
        return Vec::new();
    }
    let fits = LevelFits::new(k, t.n_levels(), |l, kl, r| {
        let s = t.r_offset + l * k;
        for c in 0..k {
            let col = &cp.c[(s + c) * mr..(s + c + 1) * mr];
            kl[c * k..(c + 1) * k].copy_from_slice(&col[s..s + k]);
            r[c] = col[mr - 1] - (0..p).map(|x| col[qr + x] * beta[x]).sum::<f64>();
        }
    });
    fits.variances(v_e).into_iter().skip(1).collect()
}

/// The start of a one-term model with random slopes: every diagonal entry of T from the
/// per-level fits of term 1 ([`LevelFits`], from D and B), with σ²_e the residual
/// variance left by those fits; the off-diagonal entries as lme4's (0). `None` for other
/// models or when the estimate cannot be formed.
fn single_term_start(cp: &CrossProducts, terms: &[Term], n_obs: usize) -> Option<Vec<f64>> {
    let (k, p) = (cp.k1, cp.p);
    if terms.len() != 1 || k < 2 {
        return None;
    }
    let (beta, sse) = ols(cp)?;
    let fits = LevelFits::new(k, cp.g1, |g, kl, r| {
        kl.copy_from_slice(&cp.d[g * k * k..(g + 1) * k * k]);
        // the level's last p + 1 packed rows are X's columns, then y
        let end = cp.rows_ptr[g + 1];
        let row = |i: usize| &cp.b[(end - p - 1 + i) * k..(end - p + i) * k];
        for (a, v) in r.iter_mut().enumerate() {
            *v = row(p)[a] - (0..p).map(|x| row(x)[a] * beta[x]).sum::<f64>();
        }
    });
    let dof = n_obs as f64 - p as f64 - k as f64 * fits.levels;
    let v_e = (sse - fits.explained) / dof;
    if dof <= 0.0 || v_e <= 0.0 || !v_e.is_finite() {
        return None;
    }
    let scales: Vec<f64> = fits
        .variances(v_e)
        .iter()
        .map(|&v| start_scale(v, v_e))
        .collect();
    if scales.len() != k {
        return None;
    }
    let theta = with_diagonal(&terms[0], &scales)?;
    theta.iter().all(|x| x.is_finite()).then_some(theta)
}

/// β of the ordinary least-squares fit of y on X and its residual sum of squares
/// y'y − β'X'y, from C's X'X, X'y and y'y.
fn ols(cp: &CrossProducts) -> Option<(Vec<f64>, f64)> {
    let (mr, p, qr) = (cp.mr, cp.p, cp.qr);
    let mut xtx = vec![0.0; p * p];
    for j in 0..p {
        for i in 0..p {
            xtx[j * p + i] = cp.c[(qr + j) * mr + qr + i];
        }
    }
    let mut beta: Vec<f64> = (0..p).map(|i| cp.c[(mr - 1) * mr + qr + i]).collect();
    if !kernels::chol(&mut xtx, p) {
        return None;
    }
    kernels::row_solve_lower_t(&mut beta, &xtx, p);
    kernels::solve_lower_t(&mut beta, &xtx, p);
    let xy = &cp.c[(mr - 1) * mr + qr..(mr - 1) * mr + qr + p];
    let sse = cp.c[mr * mr - 1] - beta.iter().zip(xy).map(|(b, v)| b * v).sum::<f64>();
    beta.iter().all(|b| b.is_finite()).then_some((beta, sse))
}

/// (n_l, r_l) per level of engine term `j`'s first column: n_l = Σ z², r_l = Σ z (y − Xβ).
fn level_sums(cp: &CrossProducts, terms: &[Term], j: usize, beta: &[f64]) -> LevelSums {
    let (mr, p, qr, k1) = (cp.mr, cp.p, cp.qr, cp.k1);
    let residual = |zy: f64, zx: &mut dyn Iterator<Item = f64>| {
        zy - zx.zip(beta).map(|(v, b)| v * b).sum::<f64>()
    };
    if j == 0 {
        return (0..cp.g1)
            .map(|g| {
                let n = cp.d[g * k1 * k1];
                // the level's last p + 1 packed rows are X's columns, then y
                let end = cp.rows_ptr[g + 1];
                let row = |i: usize| cp.b[(end - p - 1 + i) * k1];
                (n, residual(row(p), &mut (0..p).map(row)))
            })
            .collect();
    }
    let t = &terms[j];
    (0..t.n_levels())
        .map(|l| {
            let r = t.r_offset + t.k * l;
            let col = &cp.c[r * mr..(r + 1) * mr];
            (
                col[r],
                residual(col[mr - 1], &mut col[qr..qr + p].iter().copied()),
            )
        })
        .collect()
}

/// σ_j² of the one-way random-effects ANOVA of the residuals on one factor (see the
/// module docs), or `None` when it is undefined (one level, or every row its own level).
fn one_way_variance(sums: &[(f64, f64)], sse: f64, n: f64) -> Option<f64> {
    let (mut ssb, mut levels, mut sum_n2) = (0.0, 0usize, 0.0);
    for &(nl, rl) in sums {
        if nl > 0.0 {
            ssb += rl * rl / nl;
            levels += 1;
            sum_n2 += nl * nl;
        }
    }
    let g = levels as f64;
    let ssw = (sse - ssb).max(0.0);
    let denom = n - sum_n2 / n;
    if levels < 2 || n <= g || denom <= 0.0 {
        return None;
    }
    let within = ssw / (n - g);
    let v = (ssb - (g - 1.0) * within) / denom;
    v.is_finite().then_some(v)
}
