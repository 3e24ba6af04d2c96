//! Kenward-Roger adjusted covariance of β̂ and denominator degrees of freedom.
//!
//! V = Σ_i γ_i G_i is linear in the variance components γ (the entries of each term's
//! covariance matrix, then σ²), so the second derivatives of V vanish and
//! Φ_A = Φ + 2Φ U Φ with U = Σ_ij W_ij (Q_ij − P_i Φ P_j), P_i = −X'V⁻¹G_iV⁻¹X,
//! Q_ij = X'V⁻¹G_iV⁻¹G_jV⁻¹X and W = 2 I_E⁻¹ the inverse expected REML information.
//! Every product is taken in the q-dimensional random-effects space via
//! V⁻¹ = (I − ZSZ')/σ², S = Λ(Λ'Z'ZΛ + I)⁻¹Λ' (Woodbury): nothing is N×N.

use crate::dense::{chol, symmetrize, DenseLmm};
use crate::error::InferenceError;
use crate::numdiff::pinv_symmetric;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Mat, Par, Scale};
use mixedlm_covariance::Component as Part;

/// One variance component γ_i: an entry (r, s) of a term's covariance, or σ².
#[derive(Clone, Copy, Debug, PartialEq)]
enum Component {
    Entry { term: usize, r: usize, s: usize },
    Scalar { term: usize },
    Residual,
}

/// The Kenward-Roger quantities of a REML fit.
#[derive(Clone, Debug)]
pub struct KenwardRoger {
    /// Φ = Var(β̂) unadjusted.
    pub vcov: Mat<f64>,
    /// Φ_A, the adjusted covariance.
    pub vcov_adj: Mat<f64>,
    /// P_i, one p×p matrix per variance component.
    p_mats: Vec<Mat<f64>>,
    /// W = 2 I_E⁻¹.
    w: Mat<f64>,
}

fn trace(m: &Mat<f64>) -> f64 {
    (0..m.nrows()).map(|i| m[(i, i)]).sum()
}

/// tr(AB) without forming the product.
fn trace_prod(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += a[(i, j)] * b[(j, i)];
        }
    }
    s
}

impl KenwardRoger {
    /// KR denominator df for the hypothesis Lβ = 0 (L: r×p of full row rank).
    pub fn df(&self, l: &Mat<f64>) -> Result<f64, InferenceError> {
        let phi = &self.vcov;
        let lpl = l * phi * l.transpose();
        let inv = chol(&lpl, "L Φ L'").map(|c| {
            let mut li = Mat::<f64>::identity(c.nrows(), c.nrows());
            solve_lower_triangular_in_place(c.as_ref(), li.as_mut(), Par::Seq);
            li.transpose() * &li
        })?;
        let theta = l.transpose() * inv * l;
        let tp = &theta * phi;
        let u: Vec<Mat<f64>> = self.p_mats.iter().map(|p| &tp * p * phi).collect();
        let (mut a1, mut a2) = (0.0, 0.0);
        for i in 0..u.len() {
            for j in 0..u.len() {
                a1 += self.w[(i, j)] * trace(&u[i]) * trace(&u[j]);
                a2 += self.w[(i, j)] * trace_prod(&u[i], &u[j]);
            }
        }
        Ok(kr_df_from(a1, a2, l.nrows() as f64))
    }

    /// KR df for fixed effect j alone.
    pub fn df_coef(&self, j: usize) -> f64 {
        let l = Mat::from_fn(1, self.vcov.nrows(), |_, c| if c == j { 1.0 } else { 0.0 });
        self.df(&l).unwrap_or(f64::NAN)
    }

    /// KR-adjusted standard error of fixed effect j.
    pub fn se_adj(&self, j: usize) -> f64 {
        self.vcov_adj[(j, j)].max(0.0).sqrt()
    }
}

/// Kenward & Roger (1997), section 4: the scaled-F approximation's denominator df.
fn kr_df_from(a1: f64, a2: f64, q: f64) -> f64 {
    let b = (a1 + 6.0 * a2) / (2.0 * q);
    let g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2);
    let den = 3.0 * q + 2.0 * (1.0 - g);
    let (c1, c2, c3) = (g / den, (q - g) / den, (q + 2.0 - g) / den);
    let v0 = {
        let v = 1.0 + c1 * b;
        if v.abs() < 1e-10 {
            0.0
        } else {
            v
        }
    };
    let (v1, v2) = (1.0 - c2 * b, 1.0 - c3 * b);
    let num = 1.0 - a2 / q;
    let ratio = if num.abs() < 1e-14 && v1.abs() < 1e-14 {
        1.0
    } else {
        num / v1
    };
    let rho = ratio * ratio * v0 / (q * v2);
    4.0 + (q + 2.0) / (q * rho - 1.0)
}

fn components(model: &DenseLmm) -> Vec<Component> {
    let mut out = Vec::new();
    for (ti, t) in model.terms().iter().enumerate() {
        out.extend(t.structure().components().into_iter().map(|c| match c {
            Part::Variance(r) => Component::Entry { term: ti, r, s: r },
            Part::Covariance(r, s) => Component::Entry { term: ti, r, s },
            Part::SharedVariance => Component::Scalar { term: ti },
        }));
    }
    out.push(Component::Residual);
    out
}

/// D_i M for a Z-type component (D_i = I_levels ⊗ E, E symmetric 0/1 pattern).
fn apply_d(model: &DenseLmm, c: Component, m: &Mat<f64>) -> Mat<f64> {
    let mut out = Mat::zeros(m.nrows(), m.ncols());
    let copy_row = |out: &mut Mat<f64>, to: usize, from: usize| {
        for j in 0..m.ncols() {
            out[(to, j)] = m[(from, j)];
        }
    };
    match c {
        Component::Entry { term, r, s } => {
            let t = &model.terms()[term];
            for l in 0..t.n_levels() {
                let o = t.offset + l * t.k;
                copy_row(&mut out, o + r, o + s);
                copy_row(&mut out, o + s, o + r);
            }
        }
        Component::Scalar { term } => {
            let t = &model.terms()[term];
            for i in t.offset..t.offset + t.k * t.n_levels() {
                copy_row(&mut out, i, i);
            }
        }
        Component::Residual => {}
    }
    out
}

/// The q-space building blocks of V⁻¹ products, all in units of the relative V₀ = V/σ².
struct Blocks {
    c1: Mat<f64>,
    c2: Mat<f64>,
    b1: Mat<f64>,
    b2: Mat<f64>,
    xw2x: Mat<f64>,
    xw3x: Mat<f64>,
    tr_w2: f64,
}

fn blocks(model: &DenseLmm, theta: &[f64]) -> Result<Blocks, InferenceError> {
    let (q, p, n) = (model.n_random(), model.n_fixed(), model.n_obs());
    let a = model.crossprod();
    let k = a.submatrix(0, 0, q, q).to_owned();
    let f = a.submatrix(0, q, q, p).to_owned();
    let lam = model.lambda_op(theta)?;
    let mut m = lam.left_mul_t(lam.right_mul(k.as_ref()).as_ref());
    for i in 0..q {
        m[(i, i)] += 1.0;
    }
    let lz = chol(&m, "Λ'Z'ZΛ + I")?;
    let mut y = lam.left_mul_t(Mat::<f64>::identity(q, q).as_ref());
    solve_lower_triangular_in_place(lz.as_ref(), y.as_mut(), Par::Seq);
    let s = y.transpose() * &y;
    let r = Mat::<f64>::identity(q, q) - &k * &s;
    let mut c1 = &r * &k;
    symmetrize(&mut c1);
    let mut c2 = &c1 * r.transpose();
    symmetrize(&mut c2);
    let b1 = &r * &f;
    let b2 = &r * &b1;
    let xtx = a.submatrix(q, q, p, p).to_owned();
    let mut xw1x = xtx - f.transpose() * &s * &f;
    symmetrize(&mut xw1x);
    let mut xw2x = &xw1x - b1.transpose() * &s * &f;
    symmetrize(&mut xw2x);
    let mut xw3x = &xw2x - b1.transpose() * &s * &b1;
    symmetrize(&mut xw3x);
    let tr_w = n as f64 - trace_prod(&s, &k);
    let tr_w2 = tr_w - trace_prod(&s, &c1);
    Ok(Blocks {
        c1,
        c2,
        b1,
        b2,
        xw2x,
        xw3x,
        tr_w2,
    })
}

/// Compute the Kenward-Roger quantities at θ (REML estimate; σ² = r²/(N − p)).
pub fn kenward_roger(model: &DenseLmm, theta: &[f64]) -> Result<KenwardRoger, InferenceError> {
    let (n, p) = (model.n_obs(), model.n_fixed());
    let pc = model.pieces(theta)?;
    let s = pc.pwrss / (n - p) as f64;
    let bl = blocks(model, theta)?;
    let comps = components(model);
    let g = comps.len();
    let e: Vec<Mat<f64>> = comps.iter().map(|&c| apply_d(model, c, &bl.b1)).collect();
    let dc: Vec<Mat<f64>> = comps.iter().map(|&c| apply_d(model, c, &bl.c1)).collect();
    let phi = &pc.xtwx_inv * Scale(s);
    let p_mats: Vec<Mat<f64>> = comps
        .iter()
        .zip(&e)
        .map(|(&c, ei)| {
            let m = if c == Component::Residual {
                bl.xw2x.clone()
            } else {
                bl.b1.transpose() * ei
            };
            &m * Scale(-1.0 / (s * s))
        })
        .collect();
    let q_mat = |i: usize, j: usize| -> Mat<f64> {
        let m = match (comps[i], comps[j]) {
            (Component::Residual, Component::Residual) => bl.xw3x.clone(),
            (Component::Residual, _) => bl.b2.transpose() * &e[j],
            (_, Component::Residual) => e[i].transpose() * &bl.b2,
            _ => e[i].transpose() * &bl.c1 * &e[j],
        };
        &m * Scale(1.0 / (s * s * s))
    };
    let tr_vgvg = |i: usize, j: usize| -> f64 {
        let t = match (comps[i], comps[j]) {
            (Component::Residual, Component::Residual) => bl.tr_w2,
            (Component::Residual, c) | (c, Component::Residual) => {
                trace(&apply_d(model, c, &bl.c2))
            }
            _ => trace_prod(&dc[i], &dc[j]),
        };
        t / (s * s)
    };
    let mut info = Mat::zeros(g, g);
    let mut qs = vec![vec![Mat::zeros(0, 0); g]; g];
    for i in 0..g {
        for j in 0..g {
            qs[i][j] = q_mat(i, j);
            info[(i, j)] = tr_vgvg(i, j) - 2.0 * trace_prod(&phi, &qs[i][j])
                + trace_prod(&(&phi * &p_mats[i]), &(&phi * &p_mats[j]));
        }
    }
    symmetrize(&mut info);
    let w = &pinv_symmetric(&info, 1e-10)? * Scale(2.0);
    let mut u = Mat::zeros(p, p);
    for i in 0..g {
        for j in 0..g {
            u += &(&qs[i][j] - &p_mats[i] * &phi * &p_mats[j]) * Scale(w[(i, j)]);
        }
    }
    let mut vcov_adj = &phi + &(&phi * &u * &phi) * Scale(2.0);
    symmetrize(&mut vcov_adj);
    Ok(KenwardRoger {
        vcov: phi,
        vcov_adj,
        p_mats,
        w,
    })
}
