//! PIRLS for one grouping factor, level by level. With a single random-effects term,
//! u given (θ, β) splits into one k-dimensional problem per level: minimize
//! Σ_{i in g} w_i d(y_i, μ_i) + |u_g|² with η_i = offset_i + x_i'β + z_i'T u_g. Each level
//! runs its own Fisher-scoring steps with step halving on its own rows (kept contiguous, in
//! level order), so no global system is formed, and levels run in parallel.
//!
//! One pass over a level's rows at a point gives its penalized deviance and the weighted
//! sums for the next step (Z'WZ and Z'W(Zb + r)), so each step costs one pass; iteration
//! stops when the next step, computed from those sums, is below [`STEP_TOL`], and
//! log|L_g|² is taken at the final point's weights.

use super::family::Family;
use super::link::Link;
use super::pirls_failure::{PirlsFailure, MAX_ITERATIONS, STEP_TOL};
use super::response::GlmResponse;
use mixedlm_design::Design;
use mixedlm_model::level_blocks;
use rayon::prelude::*;

/// Step halvings before a level's step is declared failed.
const MAX_HALVINGS: usize = 10;

/// From this many rows the levels are processed on rayon's threads.
const PARALLEL_ROWS: usize = 50_000;

/// The rows in level order and the per-level state of the last evaluation.
#[derive(Debug)]
pub(crate) struct OneFactor {
    k: usize,
    p: usize,
    /// Level g's rows are positions ptr[g]..ptr[g + 1].
    ptr: Vec<usize>,
    /// The original row of each position.
    perm: Vec<usize>,
    y: Vec<f64>,
    w: Vec<f64>,
    off: Vec<f64>,
    /// k per position.
    z: Vec<f64>,
    /// p per position.
    x: Vec<f64>,
    /// offset + x'β per position.
    base: Vec<f64>,
    /// Per level: w d summed over its rows at the last evaluation.
    pub(crate) dev: Vec<f64>,
    /// Per level: L_g (k × k column-major) at the last evaluation's weights.
    pub(crate) l: Vec<f64>,
}

/// One level's outcome.
struct LevelFit {
    dev: f64,
    logdet: f64,
    iterations: usize,
}

/// What one level's passes read.
struct Level<'a> {
    k: usize,
    y: &'a [f64],
    w: &'a [f64],
    z: &'a [f64],
    base: &'a [f64],
    t: &'a [f64],
    family: &'a dyn Family,
    link: &'a dyn Link,
}

/// Sums of one pass at a point: deviance, Z'WZ (lower, k × k column-major) and
/// Z'W (Z b + r) (k).
struct Sums {
    dev: f64,
    zwz: Vec<f64>,
    zwr: Vec<f64>,
}

impl Level<'_> {
    fn pass(&self, u: &[f64], b: &mut [f64], sums: &mut Sums) {
        let k = self.k;
        level_blocks::lower_times(self.t, u, k, b);
        sums.dev = 0.0;
        sums.zwz.iter_mut().for_each(|v| *v = 0.0);
        sums.zwr.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..self.y.len() {
            let zi = &self.z[i * k..(i + 1) * k];
            let zb: f64 = zi.iter().zip(b.iter()).map(|(a, c)| a * c).sum();
            let eta = self.base[i] + zb;
            let (mu, d) = self.link.mu_and_derivative(eta);
            let w = self.w[i];
            if w <= 0.0 {
                continue;
            }
            sums.dev += w * self.family.unit_deviance(self.y[i], mu);
            let wt = w * d * d / self.family.variance(mu);
            let target = zb + (self.y[i] - mu) / d;
            for a in 0..k {
                let wa = wt * zi[a];
                for (c, zc) in zi.iter().enumerate().skip(a) {
                    sums.zwz[a * k + c] += wa * zc;
                }
                sums.zwr[a] += wa * target;
            }
        }
    }

    /// L = chol(T' Z'WZ T + I) and the Newton target L⁻ᵀ L⁻¹ T' Z'W(Zb + r) into `next`.
    fn step(&self, sums: &Sums, l: &mut [f64], tmp: &mut [f64], next: &mut [f64]) -> bool {
        let k = self.k;
        // full symmetric Z'WZ for the congruence
        let mut full = vec![0.0; k * k];
        for a in 0..k {
            for c in a..k {
                full[a * k + c] = sums.zwz[a * k + c];
                full[c * k + a] = sums.zwz[a * k + c];
            }
        }
        level_blocks::congruence(self.t, &full, k, tmp, l);
        for a in 0..k {
            l[a * k + a] += 1.0;
        }
        if !level_blocks::chol(l, k) {
            return false;
        }
        for (a, v) in next.iter_mut().enumerate() {
            *v = (a..k).map(|m| self.t[a * k + m] * sums.zwr[m]).sum();
        }
        // L⁻¹
        for i in 0..k {
            let mut s = next[i];
            for m in 0..i {
                s -= l[m * k + i] * next[m];
            }
            next[i] = s / l[i * k + i];
        }
        level_blocks::solve_lower_t(next, l, k);
        true
    }

    /// Scoring steps with halving from `u` (updated in place).
    fn fit(&self, u: &mut [f64], l: &mut [f64]) -> Result<LevelFit, PirlsFailure> {
        let k = self.k;
        let (mut b, mut tmp, mut next, mut trial) =
            (vec![0.0; k], vec![0.0; k * k], vec![0.0; k], vec![0.0; k]);
        let mut sums = Sums {
            dev: 0.0,
            zwz: vec![0.0; k * k],
            zwr: vec![0.0; k],
        };
        let mut trial_sums = Sums {
            dev: 0.0,
            zwz: vec![0.0; k * k],
            zwr: vec![0.0; k],
        };
        self.pass(u, &mut b, &mut sums);
        let mut pdev = sums.dev + norm2(u);
        for it in 1..=MAX_ITERATIONS {
            if !self.step(&sums, l, &mut tmp, &mut next) {
                return Err(PirlsFailure::NotPositiveDefinite);
            }
            let step = max_abs_diff(&next, u);
            if step < STEP_TOL {
                let logdet = 2.0 * (0..k).map(|a| l[a * k + a].ln()).sum::<f64>();
                return Ok(LevelFit {
                    dev: sums.dev,
                    logdet,
                    iterations: it,
                });
            }
            let mut frac = 1.0;
            let mut accepted = false;
            for _ in 0..=MAX_HALVINGS {
                for a in 0..k {
                    trial[a] = u[a] + frac * (next[a] - u[a]);
                }
                self.pass(&trial, &mut b, &mut trial_sums);
                let p = trial_sums.dev + norm2(&trial);
                if p.is_finite() && p <= pdev + 1e-12 * pdev.abs() {
                    pdev = p;
                    accepted = true;
                    break;
                }
                frac *= 0.5;
            }
            if !accepted {
                // no decrease at rounding level of the optimum: converged
                let p = trial_sums.dev + norm2(&trial);
                if (p - pdev).abs() <= 1e-10 * pdev.abs().max(1.0) {
                    let logdet = 2.0 * (0..k).map(|a| l[a * k + a].ln()).sum::<f64>();
                    return Ok(LevelFit {
                        dev: sums.dev,
                        logdet,
                        iterations: it,
                    });
                }
                return Err(PirlsFailure::StepHalving { before: pdev });
            }
            u.copy_from_slice(&trial);
            std::mem::swap(&mut sums, &mut trial_sums);
        }
        Err(PirlsFailure::NotConverged { change: f64::NAN })
    }
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The outcome over all levels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Modes {
    /// Σ w d + |u|².
    pub pdev: f64,
    /// Σ_g log|L_g|².
    pub logdet: f64,
    /// Scoring steps summed over levels.
    pub iterations: usize,
}

impl OneFactor {
    /// The rows of a one-term design in level order.
    pub(crate) fn new(design: &Design, resp: &GlmResponse) -> Self {
        let rt = &design.random[0];
        let (n, k, p) = (design.n_obs(), rt.z.ncols, design.x.ncols);
        let g = rt.levels.len();
        let mut ptr = vec![0usize; g + 1];
        for &c in &rt.codes {
            ptr[c as usize + 1] += 1;
        }
        for l in 0..g {
            ptr[l + 1] += ptr[l];
        }
        let mut next = ptr.clone();
        let mut perm = vec![0usize; n];
        for (i, &c) in rt.codes.iter().enumerate() {
            perm[next[c as usize]] = i;
            next[c as usize] += 1;
        }
        let gather = |v: &[f64]| perm.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let rows = |m: &mixedlm_design::DenseMatrix, cols: usize| {
            let mut out = Vec::with_capacity(n * cols);
            for &i in &perm {
                out.extend((0..cols).map(|c| m.data[c * n + i]));
            }
            out
        };
        OneFactor {
            k,
            p,
            y: gather(&resp.y),
            w: gather(&resp.weights),
            off: gather(&resp.offset),
            z: rows(&rt.z, k),
            x: rows(&design.x, p),
            base: vec![0.0; n],
            dev: vec![0.0; g],
            l: vec![0.0; g * k * k],
            ptr,
            perm,
        }
    }

    /// The modes u (level-major, warm start in place) at (T, β).
    pub(crate) fn modes(
        &mut self,
        t: &[f64],
        beta: &[f64],
        u: &mut [f64],
        family: &dyn Family,
        link: &dyn Link,
    ) -> Result<Modes, PirlsFailure> {
        let (k, p) = (self.k, self.p);
        for (i, b) in self.base.iter_mut().enumerate() {
            let xi = &self.x[i * p..(i + 1) * p];
            *b = self.off[i] + xi.iter().zip(beta).map(|(a, c)| a * c).sum::<f64>();
        }
        let level = |g: usize| {
            let r = self.ptr[g]..self.ptr[g + 1];
            Level {
                k,
                y: &self.y[r.clone()],
                w: &self.w[r.clone()],
                z: &self.z[r.start * k..r.end * k],
                base: &self.base[r],
                t,
                family,
                link,
            }
        };
        let kk = k * k;
        let n = self.y.len();
        let results: Vec<Result<LevelFit, PirlsFailure>> = if n >= PARALLEL_ROWS {
            u.par_chunks_mut(k)
                .zip(self.l.par_chunks_mut(kk))
                .enumerate()
                .map(|(g, (ug, lg))| level(g).fit(ug, lg))
                .collect()
        } else {
            u.chunks_mut(k)
                .zip(self.l.chunks_mut(kk))
                .enumerate()
                .map(|(g, (ug, lg))| level(g).fit(ug, lg))
                .collect()
        };
        let mut out = Modes {
            pdev: norm2(u),
            logdet: 0.0,
            iterations: 0,
        };
        for (g, r) in results.into_iter().enumerate() {
            let r = r?;
            self.dev[g] = r.dev;
            out.pdev += r.dev;
            out.logdet += r.logdet;
            out.iterations = out.iterations.max(r.iterations);
        }
        Ok(out)
    }

    /// η in the original row order at (T, u) with the last β.
    pub(crate) fn eta(&self, t: &[f64], u: &[f64], eta: &mut [f64]) {
        let k = self.k;
        let mut b = vec![0.0; k];
        for g in 0..self.ptr.len() - 1 {
            level_blocks::lower_times(t, &u[g * k..(g + 1) * k], k, &mut b);
            for pos in self.ptr[g]..self.ptr[g + 1] {
                let zi = &self.z[pos * k..(pos + 1) * k];
                eta[self.perm[pos]] =
                    self.base[pos] + zi.iter().zip(&b).map(|(a, c)| a * c).sum::<f64>();
            }
        }
    }
}

/// Per-level sums of the gradient pass.
struct GradSums {
    /// Z'WZ (k × k, full, column-major).
    a: Vec<f64>,
    /// Σ w (y − μ) z (k).
    rho: Vec<f64>,
    /// Σ W' a_i z, a_i the leverage z'T H⁻¹ T'z (k).
    e: Vec<f64>,
    /// Z'WX (k × p column-major).
    c: Vec<f64>,
    /// The fixed effects' direct part of the gradient (p).
    beta: Vec<f64>,
}

impl OneFactor {
    /// The gradient of the Laplace criterion over (θ, β) at the state the last
    /// [`Self::modes`] left (canonical links, where Fisher scoring is Newton's method):
    /// the envelope theorem for Σ w d + |u|² and d log|H| / dφ with the modes' implicit
    /// derivative du/dφ = −H⁻¹ ∂(½∂f/∂u)/∂φ. `dt[m]` is ∂T/∂θ_m (k × k column-major).
    pub(crate) fn gradient(
        &self,
        t: &[f64],
        dt: &[Vec<f64>],
        u: &[f64],
        family: &dyn Family,
        link: &dyn Link,
        out: &mut [f64],
    ) {
        let p = self.p;
        let nt = dt.len();
        let g_count = self.ptr.len() - 1;
        let per_level = |g: usize| self.level_gradient(g, t, dt, u, family, link);
        let n = self.y.len();
        let total = if n >= PARALLEL_ROWS {
            (0..g_count)
                .into_par_iter()
                .map(per_level)
                .reduce(|| vec![0.0; nt + p], add)
        } else {
            (0..g_count).map(per_level).fold(vec![0.0; nt + p], add)
        };
        out.copy_from_slice(&total);
    }
}

impl OneFactor {
    /// Level g's sums of the gradient pass over its rows, with the fixed effects' direct
    /// part Σ x (−2 w (y − μ) + W' a_i) in `beta`.
    fn level_sums(
        &self,
        g: usize,
        t: &[f64],
        ug: &[f64],
        family: &dyn Family,
        link: &dyn Link,
    ) -> GradSums {
        let (k, p, kk) = (self.k, self.p, self.k * self.k);
        let lg = &self.l[g * kk..(g + 1) * kk];
        let mut b = vec![0.0; k];
        level_blocks::lower_times(t, ug, k, &mut b);
        let mut s = GradSums {
            a: vec![0.0; kk],
            rho: vec![0.0; k],
            e: vec![0.0; k],
            c: vec![0.0; k * p],
            beta: vec![0.0; p],
        };
        let mut v = vec![0.0; k];
        for pos in self.ptr[g]..self.ptr[g + 1] {
            let w = self.w[pos];
            if w <= 0.0 {
                continue;
            }
            let zi = &self.z[pos * k..(pos + 1) * k];
            let xi = &self.x[pos * p..(pos + 1) * p];
            let eta = self.base[pos] + zi.iter().zip(&b).map(|(a, c)| a * c).sum::<f64>();
            let (mu, d) = link.mu_and_derivative(eta);
            let wt = w * d * d / family.variance(mu);
            let dw = w * family.variance_derivative(mu) * d;
            let r = w * (self.y[pos] - mu);
            // leverage z'T H⁻¹ T'z = |L⁻¹ T'z|²
            for (a, va) in v.iter_mut().enumerate() {
                *va = (a..k).map(|m| t[a * k + m] * zi[m]).sum();
            }
            for i in 0..k {
                let mut acc = v[i];
                for m in 0..i {
                    acc -= lg[m * k + i] * v[m];
                }
                v[i] = acc / lg[i * k + i];
            }
            let si = dw * v.iter().map(|x| x * x).sum::<f64>();
            for a in 0..k {
                for c in 0..k {
                    s.a[c * k + a] += wt * zi[a] * zi[c];
                }
                s.rho[a] += r * zi[a];
                s.e[a] += si * zi[a];
                for (j, xj) in xi.iter().enumerate() {
                    s.c[j * k + a] += wt * zi[a] * xj;
                }
            }
            for (gb, xj) in s.beta.iter_mut().zip(xi) {
                *gb += xj * (-2.0 * r + si);
            }
        }
        s
    }

    /// Level g's part of [`Self::gradient`] (θ then β).
    fn level_gradient(
        &self,
        g: usize,
        t: &[f64],
        dt: &[Vec<f64>],
        u: &[f64],
        family: &dyn Family,
        link: &dyn Link,
    ) -> Vec<f64> {
        let (k, p, kk) = (self.k, self.p, self.k * self.k);
        let nt = dt.len();
        let lg = &self.l[g * kk..(g + 1) * kk];
        let ug = &u[g * k..(g + 1) * k];
        let s = self.level_sums(g, t, ug, family, link);
        let mut grad = vec![0.0; nt + p];
        grad[nt..].copy_from_slice(&s.beta);
        // q = H⁻¹ T'e
        let mut q = vec![0.0; k];
        for (a, qa) in q.iter_mut().enumerate() {
            *qa = (a..k).map(|m| t[a * k + m] * s.e[m]).sum();
        }
        solve_llt(lg, &mut q, k);
        // β: − q' T' C[:, j]
        for j in 0..p {
            let cj = &s.c[j * k..(j + 1) * k];
            let tc: Vec<f64> = (0..k)
                .map(|a| (a..k).map(|m| t[a * k + m] * cj[m]).sum())
                .collect();
            grad[nt + j] -= q.iter().zip(&tc).map(|(x, y)| x * y).sum::<f64>();
        }
        // θ_m
        let mut hinv_ta = vec![0.0; kk];
        // H⁻¹ T'A, column by column
        for c in 0..k {
            let col: Vec<f64> = (0..k).map(|r| s.a[c * k + r]).collect();
            let mut x: Vec<f64> = (0..k)
                .map(|a| (a..k).map(|m| t[a * k + m] * col[m]).sum())
                .collect();
            solve_llt(lg, &mut x, k);
            hinv_ta[c * k..(c + 1) * k].copy_from_slice(&x);
        }
        for (m, gm) in dt.iter().enumerate() {
            let mut gu = vec![0.0; k];
            level_blocks::lower_times(gm, ug, k, &mut gu);
            // −2 ρ'Gû + e'Gû
            let mut val: f64 = (0..k).map(|a| (s.e[a] - 2.0 * s.rho[a]) * gu[a]).sum();
            // 2 tr(H⁻¹ T'A G)
            let mut tr = 0.0;
            for c in 0..k {
                for r in 0..k {
                    tr += hinv_ta[r * k + c] * gm[c * k + r];
                }
            }
            val += 2.0 * tr;
            // − q'(T'A G û − G'ρ)
            let agu: Vec<f64> = (0..k)
                .map(|r| (0..k).map(|c| s.a[c * k + r] * gu[c]).sum())
                .collect();
            for a in 0..k {
                let tagu: f64 = (a..k).map(|m| t[a * k + m] * agu[m]).sum();
                let grho: f64 = (a..k).map(|m| gm[a * k + m] * s.rho[m]).sum();
                val -= q[a] * (tagu - grho);
            }
            grad[m] += val;
        }
        grad
    }
}

fn add(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
    a
}

/// x ← (L L')⁻¹ x.
fn solve_llt(l: &[f64], x: &mut [f64], k: usize) {
    for i in 0..k {
        let mut s = x[i];
        for m in 0..i {
            s -= l[m * k + i] * x[m];
        }
        x[i] = s / l[i * k + i];
    }
    level_blocks::solve_lower_t(x, l, k);
}
