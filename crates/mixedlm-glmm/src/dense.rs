//! [`DenseSystem`]: the PWLS system as one dense (q + p + 1)² matrix factored by faer.
//! Any model, O((q + p)³) per factorization: the oracle the structured systems are tested
//! against, and the route for models the others do not cover.

use super::data::ModelData;
use super::random::RandomEffects;
use super::system::{PwlsSystem, Unknowns};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::{Mat, MatMut, Par};
use std::sync::Arc;

/// The dense PWLS system.
#[derive(Debug)]
pub struct DenseSystem {
    data: Arc<ModelData>,
    unknowns: Unknowns,
    /// q + (p when β is estimated) + 1.
    dim: usize,
    /// Unscaled [Z X r]' W [Z X r], lower triangle, column-major.
    a: Vec<f64>,
    /// The scaled matrix, then its Cholesky factor (lower triangle).
    m: Vec<f64>,
    t: Vec<Vec<f64>>,
    logdet: f64,
    pwrss: f64,
}

impl DenseSystem {
    /// A system for the model's data.
    pub fn new(data: Arc<ModelData>) -> Self {
        let t = data.re.terms.iter().map(|t| vec![0.0; t.k * t.k]).collect();
        DenseSystem {
            data,
            unknowns: Unknowns::Modes,
            dim: 0,
            a: Vec::new(),
            m: Vec::new(),
            t,
            logdet: f64::NAN,
            pwrss: f64::NAN,
        }
    }

    fn p_used(&self) -> usize {
        match self.unknowns {
            Unknowns::Modes => 0,
            Unknowns::ModesAndFixed => self.data.design.x.ncols,
        }
    }

    fn l(&self, i: usize, j: usize) -> f64 {
        self.m[j * self.dim + i]
    }
}

impl PwlsSystem for DenseSystem {
    fn assemble(&mut self, weights: &[f64], response: &[f64], unknowns: Unknowns) {
        self.unknowns = unknowns;
        let design = &self.data.design;
        let re: &RandomEffects = &self.data.re;
        let (n, q) = (design.n_obs(), re.q);
        let p = self.p_used();
        let dim = q + p + 1;
        self.dim = dim;
        self.a.clear();
        self.a.resize(dim * dim, 0.0);
        let width = re.terms.iter().map(|t| t.k).sum::<usize>() + p + 1;
        let (mut idx, mut val) = (Vec::with_capacity(width), Vec::with_capacity(width));
        for i in 0..n {
            let w = weights[i];
            if w <= 0.0 {
                continue;
            }
            let sw = w.sqrt();
            idx.clear();
            val.clear();
            for term in &re.terms {
                let rt = &design.random[term.formula_index];
                let g = rt.codes[i] as usize;
                for c in 0..term.k {
                    idx.push(term.u_offset + g * term.k + c);
                    val.push(sw * rt.z.data[c * n + i]);
                }
            }
            for c in 0..p {
                idx.push(q + c);
                val.push(sw * design.x.data[c * n + i]);
            }
            idx.push(dim - 1);
            val.push(sw * response[i]);
            for (a, (&ca, &va)) in idx.iter().zip(&val).enumerate() {
                let col = &mut self.a[ca * dim..(ca + 1) * dim];
                for (&rb, &vb) in idx[a..].iter().zip(&val[a..]) {
                    col[rb] += va * vb;
                }
            }
        }
    }

    fn factor(&mut self, theta: &[f64]) -> bool {
        let dim = self.dim;
        let re = &self.data.re;
        re.fill_factors(theta, &mut self.t);
        // full symmetric copy of A
        self.m.clear();
        self.m.resize(dim * dim, 0.0);
        for c in 0..dim {
            for r in c..dim {
                let v = self.a[c * dim + r];
                self.m[c * dim + r] = v;
                self.m[r * dim + c] = v;
            }
        }
        // M ← Λ̃' M Λ̃ with Λ̃ = blockdiag(Λ, I)
        for (term, tj) in re.terms.iter().zip(&self.t) {
            let k = term.k;
            for l in 0..term.n_levels() {
                let s = term.u_offset + l * k;
                for i in 0..dim {
                    for c in 0..k {
                        let v: f64 = (c..k)
                            .map(|r| self.m[(s + r) * dim + i] * tj[c * k + r])
                            .sum();
                        self.m[(s + c) * dim + i] = v;
                    }
                }
                for col in 0..dim {
                    let base = col * dim + s;
                    for a in 0..k {
                        let v: f64 = (a..k).map(|r| tj[a * k + r] * self.m[base + r]).sum();
                        self.m[base + a] = v;
                    }
                }
            }
        }
        for i in 0..re.q {
            self.m[i * dim + i] += 1.0;
        }
        let par = Par::Seq;
        let mut buf = MemBuffer::new(cholesky_in_place_scratch::<f64>(
            dim,
            par,
            Default::default(),
        ));
        let mat = MatMut::from_column_major_slice_mut(&mut self.m, dim, dim);
        let ok = cholesky_in_place(
            mat,
            Default::default(),
            par,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .is_ok();
        if !ok {
            self.logdet = f64::NAN;
            self.pwrss = f64::NAN;
            return false;
        }
        self.logdet = 2.0 * (0..re.q).map(|i| self.l(i, i).ln()).sum::<f64>();
        let lyy = self.l(dim - 1, dim - 1);
        self.pwrss = lyy * lyy;
        true
    }

    fn solve(&mut self, u: &mut [f64], beta: &mut [f64]) {
        let (dim, q) = (self.dim, self.data.re.q);
        let mut x = vec![0.0; dim - 1];
        for i in (0..dim - 1).rev() {
            let mut s = self.l(dim - 1, i);
            for (h, xh) in x.iter().enumerate().skip(i + 1) {
                s -= self.l(h, i) * xh;
            }
            x[i] = s / self.l(i, i);
        }
        u.copy_from_slice(&x[..q]);
        if self.unknowns == Unknowns::ModesAndFixed {
            beta.copy_from_slice(&x[q..]);
        }
    }

    fn logdet(&self) -> f64 {
        self.logdet
    }

    fn pwrss(&self) -> f64 {
        self.pwrss
    }

    fn unscaled_vcov_beta(&self) -> Option<Mat<f64>> {
        if self.unknowns != Unknowns::ModesAndFixed {
            return None;
        }
        let (q, p) = (self.data.re.q, self.p_used());
        let lxx = Mat::from_fn(p, p, |i, j| if i >= j { self.l(q + i, q + j) } else { 0.0 });
        Some(inverse_of_product(&lxx))
    }

    fn conditional_covariances(&self) -> Vec<Vec<f64>> {
        let q = self.data.re.q;
        let lzz = Mat::from_fn(q, q, |i, j| if i >= j { self.l(i, j) } else { 0.0 });
        let v = inverse_of_product(&lzz);
        self.data
            .re
            .terms
            .iter()
            .zip(&self.t)
            .map(|(term, t)| {
                let k = term.k;
                let mut out = vec![0.0; term.len() * k];
                let mut block = vec![0.0; k * k];
                for l in 0..term.n_levels() {
                    let s = term.u_offset + l * k;
                    for a in 0..k {
                        for b in 0..k {
                            block[b * k + a] = v[(s + a, s + b)];
                        }
                    }
                    congruence_t(t, &block, k, &mut out[l * k * k..(l + 1) * k * k]);
                }
                out
            })
            .collect()
    }
}

/// out = T V T' for a lower-triangular T and symmetric V (k × k column-major).
pub(crate) fn congruence_t(t: &[f64], v: &[f64], k: usize, out: &mut [f64]) {
    for a in 0..k {
        for b in 0..k {
            let mut s = 0.0;
            for c in 0..=a {
                for d in 0..=b {
                    s += t[c * k + a] * v[d * k + c] * t[d * k + b];
                }
            }
            out[b * k + a] = s;
        }
    }
}

/// (L L')⁻¹ for a lower-triangular L.
pub(crate) fn inverse_of_product(l: &Mat<f64>) -> Mat<f64> {
    let n = l.nrows();
    let mut inv = Mat::<f64>::identity(n, n);
    faer::linalg::triangular_solve::solve_lower_triangular_in_place(
        l.as_ref(),
        inv.as_mut(),
        Par::Seq,
    );
    inv.transpose() * &inv
}
