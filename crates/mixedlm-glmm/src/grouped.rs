//! [`GroupedSystem`]: the PWLS system of a model with one grouping factor. Λ'Z'WZΛ + I is
//! then block diagonal, one k × k block per level, so u given β is a set of independent
//! k × k solves; with β estimated, the level blocks are eliminated into the p × p Schur
//! complement of X (an arrow factorization, as the engine's single-term path). Each step
//! costs one pass over the rows plus O(G k³ + G k p²).

use super::data::ModelData;
use super::system::{PwlsSystem, Unknowns};
use faer::Mat;
use mixedlm_model::level_blocks;
use std::sync::Arc;

/// The one-factor PWLS system and its workspaces.
#[derive(Debug)]
pub struct GroupedSystem {
    data: Arc<ModelData>,
    unknowns: Unknowns,
    g: usize,
    k: usize,
    p: usize,
    /// Per level: Z_g'W Z_g (k × k), then L_g after factoring.
    d: Vec<f64>,
    l: Vec<f64>,
    /// Per level: Z_g'W r_g (k), then L_g⁻¹ T' Z_g'W r_g.
    c: Vec<f64>,
    w: Vec<f64>,
    /// Per level: Z_g'W X_g (k × p column-major), then L_g⁻¹ T' Z_g'W X_g.
    bx: Vec<f64>,
    wx: Vec<f64>,
    /// X'WX (p × p column-major), then its Schur complement's factor L_X.
    xtx: Vec<f64>,
    lx: Vec<f64>,
    /// X'W r, then L_X⁻¹ (X'W r − Σ W_g' w_g).
    xtr: Vec<f64>,
    sx: Vec<f64>,
    rtr: f64,
    t: Vec<f64>,
    tmp: Vec<f64>,
    logdet: f64,
    pwrss: f64,
}

impl GroupedSystem {
    /// A system for a model with exactly one random-effects term.
    pub fn new(data: Arc<ModelData>) -> Self {
        let term = &data.re.terms[0];
        let (g, k, p) = (term.n_levels(), term.k, data.design.x.ncols);
        GroupedSystem {
            unknowns: Unknowns::Modes,
            g,
            k,
            p,
            d: vec![0.0; g * k * k],
            l: vec![0.0; g * k * k],
            c: vec![0.0; g * k],
            w: vec![0.0; g * k],
            bx: Vec::new(),
            wx: Vec::new(),
            xtx: vec![0.0; p * p],
            lx: vec![0.0; p * p],
            xtr: vec![0.0; p],
            sx: vec![0.0; p],
            rtr: 0.0,
            t: vec![0.0; k * k],
            tmp: vec![0.0; k * k],
            logdet: f64::NAN,
            pwrss: f64::NAN,
            data,
        }
    }

    fn joint(&self) -> bool {
        self.unknowns == Unknowns::ModesAndFixed
    }

    /// The fixed-effects block after the level blocks (`factor`'s second half): W_g, the
    /// Schur complement's factor Lx and its solve; the PWRSS reduction, or `None` when
    /// X'WX − Σ W_g'W_g is not positive definite.
    fn factor_fixed(&mut self) -> Option<f64> {
        let (k, p, kk) = (self.k, self.p, self.k * self.k);
        // W_g = L_g⁻¹ T' B_g; S = X'WX − Σ W_g'W_g; s = X'Wr − Σ W_g' w_g
        self.wx.clear();
        self.wx.resize(self.g * k * p, 0.0);
        let mut s = vec![0.0; p * p];
        for c in 0..p {
            for e in c..p {
                s[c * p + e] = self.xtx[c * p + e];
            }
        }
        self.sx.copy_from_slice(&self.xtr);
        let mut col = vec![0.0; k];
        for g in 0..self.g {
            let lg = &self.l[g * kk..(g + 1) * kk];
            let wxg = &mut self.wx[g * k * p..(g + 1) * k * p];
            for c in 0..p {
                lower_t_times(
                    &self.t,
                    &self.bx[g * k * p + c * k..g * k * p + (c + 1) * k],
                    k,
                    &mut col,
                );
                solve_lower(lg, &mut col, k);
                wxg[c * k..(c + 1) * k].copy_from_slice(&col);
            }
            let wg = &self.w[g * k..(g + 1) * k];
            for c in 0..p {
                let wc = &wxg[c * k..(c + 1) * k];
                for e in c..p {
                    let we = &wxg[e * k..(e + 1) * k];
                    s[c * p + e] -= dot(wc, we);
                }
                self.sx[c] -= dot(wc, wg);
            }
        }
        // s is column-major with the lower triangle in [c * p + e], e ≥ c
        if !level_blocks::chol(&mut s, p) {
            return None;
        }
        self.lx.copy_from_slice(&s);
        solve_lower(&self.lx, &mut self.sx, p);
        Some(self.sx.iter().map(|v| v * v).sum::<f64>())
    }
}

impl PwlsSystem for GroupedSystem {
    fn assemble(&mut self, weights: &[f64], response: &[f64], unknowns: Unknowns) {
        self.unknowns = unknowns;
        let (k, p) = (self.k, self.p);
        let design = &self.data.design;
        let rt = &design.random[self.data.re.terms[0].formula_index];
        let n = design.n_obs();
        let joint = self.joint();
        self.d.iter_mut().for_each(|v| *v = 0.0);
        self.c.iter_mut().for_each(|v| *v = 0.0);
        self.rtr = 0.0;
        if joint {
            self.bx.clear();
            self.bx.resize(self.g * k * p, 0.0);
            self.xtx.iter_mut().for_each(|v| *v = 0.0);
            self.xtr.iter_mut().for_each(|v| *v = 0.0);
        }
        let z = &rt.z.data;
        let x = &design.x.data;
        let mut zi = vec![0.0; k];
        for i in 0..n {
            let wi = weights[i];
            if wi <= 0.0 {
                continue;
            }
            let g = rt.codes[i] as usize;
            let r = response[i];
            self.rtr += wi * r * r;
            for (a, v) in zi.iter_mut().enumerate() {
                *v = z[a * n + i];
            }
            let dg = &mut self.d[g * k * k..(g + 1) * k * k];
            for a in 0..k {
                let wa = wi * zi[a];
                for b in a..k {
                    let v = wa * zi[b];
                    dg[a * k + b] += v;
                    if b != a {
                        dg[b * k + a] += v;
                    }
                }
                self.c[g * k + a] += wa * r;
            }
            if joint {
                let bg = &mut self.bx[g * k * p..(g + 1) * k * p];
                for c in 0..p {
                    let xc = wi * x[c * n + i];
                    for a in 0..k {
                        bg[c * k + a] += zi[a] * xc;
                    }
                    for e in c..p {
                        self.xtx[c * p + e] += xc * x[e * n + i];
                    }
                    self.xtr[c] += xc * r;
                }
            }
        }
    }

    fn factor(&mut self, theta: &[f64]) -> bool {
        let (k, kk) = (self.k, self.k * self.k);
        let re = &self.data.re;
        re.terms[0].structure.fill_factor(
            &theta[..re.n_theta],
            faer::MatMut::from_column_major_slice_mut(&mut self.t, k, k),
        );
        let mut logdet = 0.0;
        let mut pwrss = self.rtr;
        for g in 0..self.g {
            let lg = &mut self.l[g * kk..(g + 1) * kk];
            if k == 1 {
                let v = self.t[0] * self.t[0] * self.d[g] + 1.0;
                lg[0] = v.sqrt();
            } else {
                level_blocks::congruence(
                    &self.t,
                    &self.d[g * kk..(g + 1) * kk],
                    k,
                    &mut self.tmp,
                    lg,
                );
                for a in 0..k {
                    lg[a * k + a] += 1.0;
                }
                if !level_blocks::chol(lg, k) {
                    return false;
                }
            }
            for a in 0..k {
                logdet += 2.0 * lg[a * k + a].ln();
            }
            // w_g = L_g⁻¹ T' c_g
            let wg = &mut self.w[g * k..(g + 1) * k];
            lower_t_times(&self.t, &self.c[g * k..(g + 1) * k], k, wg);
            solve_lower(lg, wg, k);
            pwrss -= wg.iter().map(|v| v * v).sum::<f64>();
        }
        if self.joint() {
            let Some(fixed) = self.factor_fixed() else {
                return false;
            };
            pwrss -= fixed;
        }
        self.logdet = logdet;
        self.pwrss = pwrss.max(0.0);
        true
    }

    fn solve(&mut self, u: &mut [f64], beta: &mut [f64]) {
        let (k, p, kk) = (self.k, self.p, self.k * self.k);
        let joint = self.joint();
        if joint {
            beta.copy_from_slice(&self.sx);
            solve_lower_transposed(&self.lx, beta, p);
        }
        for g in 0..self.g {
            let ug = &mut u[g * k..(g + 1) * k];
            ug.copy_from_slice(&self.w[g * k..(g + 1) * k]);
            if joint {
                let wxg = &self.wx[g * k * p..(g + 1) * k * p];
                for (c, bc) in beta.iter().enumerate() {
                    for a in 0..k {
                        ug[a] -= wxg[c * k + a] * bc;
                    }
                }
            }
            level_blocks::solve_lower_t(ug, &self.l[g * kk..(g + 1) * kk], k);
        }
    }

    fn logdet(&self) -> f64 {
        self.logdet
    }

    fn pwrss(&self) -> f64 {
        self.pwrss
    }

    fn unscaled_vcov_beta(&self) -> Option<Mat<f64>> {
        if !self.joint() {
            return None;
        }
        let p = self.p;
        let l = Mat::from_fn(p, p, |i, j| if i >= j { self.lx[j * p + i] } else { 0.0 });
        Some(super::dense::inverse_of_product(&l))
    }

    fn conditional_covariances(&self) -> Vec<Vec<f64>> {
        let (k, kk) = (self.k, self.k * self.k);
        let mut out = vec![0.0; self.g * kk];
        let (mut inv, mut v) = (vec![0.0; kk], vec![0.0; kk]);
        for g in 0..self.g {
            level_blocks::lower_inverse(&self.l[g * kk..(g + 1) * kk], k, &mut inv);
            // (L L')⁻¹ = L⁻ᵀ L⁻¹
            for a in 0..k {
                for b in 0..k {
                    v[b * k + a] = (0..k).map(|m| inv[a * k + m] * inv[b * k + m]).sum();
                }
            }
            super::dense::congruence_t(&self.t, &v, k, &mut out[g * kk..(g + 1) * kk]);
        }
        vec![out]
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// y = T' x for a lower-triangular k × k column-major T.
fn lower_t_times(t: &[f64], x: &[f64], k: usize, y: &mut [f64]) {
    for (a, ya) in y.iter_mut().enumerate().take(k) {
        *ya = (a..k).map(|m| t[a * k + m] * x[m]).sum();
    }
}

/// x ← L⁻¹ x for a lower-triangular k × k column-major L.
fn solve_lower(l: &[f64], x: &mut [f64], k: usize) {
    for i in 0..k {
        let mut s = x[i];
        for m in 0..i {
            s -= l[m * k + i] * x[m];
        }
        x[i] = s / l[i * k + i];
    }
}

/// x ← L⁻ᵀ x.
fn solve_lower_transposed(l: &[f64], x: &mut [f64], k: usize) {
    level_blocks::solve_lower_t(x, l, k);
}
