//! A dense evaluator of the linear mixed model in the q-dimensional random-effects space.
//!
//! The data enter once through A = [Z X y]'[Z X y] (with prior weights and offset applied);
//! every evaluation at θ then costs O(q³ + q²p) and nothing in N.

use crate::error::InferenceError;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Mat, MatRef, Par, Side};
use mixedlm_covariance::{CovarianceKind, CovarianceStructure};
use mixedlm_design::Design;

/// One random-effects term laid out in the q-dimensional space (terms in θ order).
#[derive(Clone, Debug, PartialEq)]
pub struct TermLayout {
    /// The grouping factor (`Subject`, `batch:cask`).
    pub group: String,
    /// The term's column names (`(Intercept)`, `Days`).
    pub names: Vec<String>,
    /// Level names of the grouping factor.
    pub levels: mixedlm_design::Levels,
    /// Number of random effects per level.
    pub k: usize,
    /// First column of this term in Z (level-major: level l, effect c is `offset + l*k + c`).
    pub offset: usize,
    /// First index of this term's parameters in θ.
    pub theta_offset: usize,
    /// Covariance structure.
    pub kind: CovarianceKind,
    /// Index of the term in `Design::random`.
    pub design_index: usize,
}

impl TermLayout {
    /// The term's covariance structure: the owner of its θ layout.
    pub fn structure(&self) -> Box<dyn CovarianceStructure> {
        self.kind.structure(self.k)
    }

    /// Number of θ parameters of the term.
    pub fn n_theta(&self) -> usize {
        self.structure().n_theta()
    }

    /// Number of levels.
    pub fn n_levels(&self) -> usize {
        self.levels.len()
    }

    /// The term's part of θ.
    pub fn own<'a>(&self, theta: &'a [f64]) -> &'a [f64] {
        &theta[self.theta_offset..self.theta_offset + self.n_theta()]
    }

    /// The relative covariance factor T (k×k lower triangular) for the term's part of θ.
    pub fn factor(&self, theta: &[f64]) -> Mat<f64> {
        let mut t = Mat::zeros(self.k, self.k);
        self.structure().fill_factor(self.own(theta), t.as_mut());
        t
    }

    /// Lower bounds of the term's θ (0 on diagonals of T, −∞ elsewhere).
    pub fn lower_bounds(&self) -> Vec<f64> {
        self.structure().lower_bounds()
    }
}

/// Λθ as an operator: block diagonal, one k×k lower-triangular T per level of each term.
/// Products cost O(rows·q·k) instead of O(rows·q²).
#[derive(Clone, Debug)]
pub(super) struct Lambda {
    /// (first column, k, number of levels, T) per term.
    blocks: Vec<(usize, usize, usize, Mat<f64>)>,
}

impl Lambda {
    /// M Λ.
    pub(super) fn right_mul(&self, m: MatRef<'_, f64>) -> Mat<f64> {
        let mut out = Mat::zeros(m.nrows(), m.ncols());
        for (off, k, levels, t) in &self.blocks {
            for l in 0..*levels {
                let o = off + l * k;
                for j in 0..*k {
                    for c in j..*k {
                        let tcj = t[(c, j)];
                        if tcj != 0.0 {
                            for r in 0..m.nrows() {
                                out[(r, o + j)] += m[(r, o + c)] * tcj;
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Λ' M.
    pub(super) fn left_mul_t(&self, m: MatRef<'_, f64>) -> Mat<f64> {
        self.right_mul(m.transpose()).transpose().to_owned()
    }

    /// Λ M.
    pub(super) fn left_mul(&self, m: MatRef<'_, f64>) -> Mat<f64> {
        let mut out = Mat::zeros(m.nrows(), m.ncols());
        for (off, k, levels, t) in &self.blocks {
            for l in 0..*levels {
                let o = off + l * k;
                for i in 0..*k {
                    for j in 0..=i {
                        let tij = t[(i, j)];
                        if tij != 0.0 {
                            for c in 0..m.ncols() {
                                out[(o + i, c)] += tij * m[(o + j, c)];
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// The pieces of the profiled deviance at one θ.
#[derive(Clone, Debug)]
pub struct ThetaPieces {
    /// log det(Λ'Z'ZΛ + I) = 2 log|Lzz|.
    pub logdet_z: f64,
    /// log det(X'V₀⁻¹X) = 2 log|Lxx| (V₀ = I + ZΛΛ'Z', the relative marginal covariance).
    pub logdet_x: f64,
    /// Penalized residual sum of squares r².
    pub pwrss: f64,
    /// Conditional estimate β̂(θ).
    pub beta: Vec<f64>,
    /// (X'V₀⁻¹X)⁻¹: Var(β̂) = σ² times this.
    pub xtwx_inv: Mat<f64>,
    /// Spherical random effects û (b = Λû).
    pub u: Vec<f64>,
}

/// Row-wise sparse storage of [Z X] (weights applied) for rebuilding A's y column.
#[derive(Clone, Debug)]
struct Rows {
    /// Per row, the Z columns touched (Σk per row).
    z_idx: Vec<usize>,
    /// Their values.
    z_val: Vec<f64>,
    /// X, row-major, √w applied.
    x: Vec<f64>,
    /// √w per row.
    sqrt_w: Vec<f64>,
    /// Offset per row.
    offset: Vec<f64>,
    /// Non-zeros of Z per row.
    nz: usize,
}

/// The model in the q-dimensional random-effects space (see the module docs).
#[derive(Clone, Debug)]
pub struct DenseLmm {
    terms: Vec<TermLayout>,
    n: usize,
    p: usize,
    q: usize,
    n_theta: usize,
    a: Mat<f64>,
    rows: Rows,
    x_names: Vec<String>,
    reml: bool,
}

/// Terms in lme4's order: by number of levels, largest first (stable).
pub fn term_layouts(design: &Design) -> Vec<TermLayout> {
    let mut order: Vec<usize> = (0..design.random.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(design.random[i].levels.len()));
    let (mut offset, mut theta_offset) = (0, 0);
    order
        .into_iter()
        .map(|i| {
            let r = &design.random[i];
            let t = TermLayout {
                group: r.group.clone(),
                names: r.names.clone(),
                levels: r.levels.clone(),
                k: r.z.ncols,
                offset,
                theta_offset,
                kind: r.covariance,
                design_index: i,
            };
            offset += t.k * t.n_levels();
            theta_offset += t.n_theta();
            t
        })
        .collect()
}

impl DenseLmm {
    /// Build from a design; `reml` chooses the criterion the model's default deviance uses.
    pub fn new(design: &Design, reml: bool) -> Result<Self, InferenceError> {
        let n = design.n_obs();
        let p = design.x.ncols;
        if design.random.is_empty() {
            return Err(InferenceError::InvalidModel(
                "the model has no random-effects term; use a linear model".into(),
            ));
        }
        if n <= p {
            return Err(InferenceError::InvalidModel(format!(
                "{n} observations for {p} fixed effects: need more observations"
            )));
        }
        let terms = term_layouts(design);
        let q = terms.iter().map(|t| t.k * t.n_levels()).sum();
        let n_theta = terms.iter().map(TermLayout::n_theta).sum();
        let rows = Self::rows(design, &terms)?;
        let mut model = Self {
            terms,
            n,
            p,
            q,
            n_theta,
            a: Mat::zeros(q + p + 1, q + p + 1),
            rows,
            x_names: design.x_names.clone(),
            reml,
        };
        model.accumulate_zx();
        model.set_response(&design.y)?;
        Ok(model)
    }

    fn rows(design: &Design, terms: &[TermLayout]) -> Result<Rows, InferenceError> {
        let n = design.n_obs();
        let p = design.x.ncols;
        let nz: usize = terms.iter().map(|t| t.k).sum();
        let sqrt_w: Vec<f64> = match &design.weights {
            Some(w) => w.iter().map(|v| v.max(0.0).sqrt()).collect(),
            None => vec![1.0; n],
        };
        let offset = design.offset.clone().unwrap_or_else(|| vec![0.0; n]);
        let (mut z_idx, mut z_val) = (Vec::with_capacity(n * nz), Vec::with_capacity(n * nz));
        let mut x = Vec::with_capacity(n * p);
        for (i, &sw) in sqrt_w.iter().enumerate() {
            for t in terms {
                let r = &design.random[t.design_index];
                let code = *r.codes.get(i).ok_or(InferenceError::Dimension {
                    what: "grouping codes",
                    expected: n,
                    got: r.codes.len(),
                })? as usize;
                if code >= t.n_levels() {
                    return Err(InferenceError::InvalidModel(format!(
                        "row {i}: level code {code} of `{}` out of range",
                        t.group
                    )));
                }
                for c in 0..t.k {
                    z_idx.push(t.offset + code * t.k + c);
                    z_val.push(r.z.get(i, c) * sw);
                }
            }
            x.extend((0..p).map(|j| design.x.get(i, j) * sw));
        }
        Ok(Rows {
            z_idx,
            z_val,
            x,
            sqrt_w,
            offset,
            nz,
        })
    }

    /// Accumulate the [Z X] part of A (lower triangle, then symmetrize).
    fn accumulate_zx(&mut self) {
        let (q, p, nz) = (self.q, self.p, self.rows.nz);
        let mut idx = vec![0usize; nz + p];
        let mut val = vec![0.0; nz + p];
        for i in 0..self.n {
            idx[..nz].copy_from_slice(&self.rows.z_idx[i * nz..(i + 1) * nz]);
            val[..nz].copy_from_slice(&self.rows.z_val[i * nz..(i + 1) * nz]);
            for j in 0..p {
                idx[nz + j] = q + j;
                val[nz + j] = self.rows.x[i * p + j];
            }
            for (a, (&ia, &va)) in idx.iter().zip(&val).enumerate() {
                for (&ib, &vb) in idx[..=a].iter().zip(&val[..=a]) {
                    let (r, c) = if ia >= ib { (ia, ib) } else { (ib, ia) };
                    self.a[(r, c)] += va * vb;
                }
            }
        }
        let m = q + p;
        for c in 0..m {
            for r in 0..c {
                self.a[(r, c)] = self.a[(c, r)];
            }
        }
    }

    /// Replace the response (same length as the design's; offset and weights re-applied).
    pub fn set_response(&mut self, y: &[f64]) -> Result<(), InferenceError> {
        if y.len() != self.n {
            return Err(InferenceError::Dimension {
                what: "response",
                expected: self.n,
                got: y.len(),
            });
        }
        let (q, p, nz) = (self.q, self.p, self.rows.nz);
        let ycol = q + p;
        for r in 0..=ycol {
            self.a[(ycol, r)] = 0.0;
        }
        for (i, &yi) in y.iter().enumerate() {
            let v = (yi - self.rows.offset[i]) * self.rows.sqrt_w[i];
            for (&zi, &zv) in self.rows.z_idx[i * nz..(i + 1) * nz]
                .iter()
                .zip(&self.rows.z_val[i * nz..(i + 1) * nz])
            {
                self.a[(ycol, zi)] += zv * v;
            }
            for j in 0..p {
                self.a[(ycol, q + j)] += self.rows.x[i * p + j] * v;
            }
            self.a[(ycol, ycol)] += v * v;
        }
        for r in 0..ycol {
            self.a[(r, ycol)] = self.a[(ycol, r)];
        }
        Ok(())
    }

    /// Number of observations.
    pub fn n_obs(&self) -> usize {
        self.n
    }
    /// Number of fixed effects p.
    pub fn n_fixed(&self) -> usize {
        self.p
    }
    /// Number of random effects q.
    pub fn n_random(&self) -> usize {
        self.q
    }
    /// Length of θ.
    pub fn n_theta(&self) -> usize {
        self.n_theta
    }
    /// The terms, in θ order.
    pub fn terms(&self) -> &[TermLayout] {
        &self.terms
    }
    /// Fixed-effects names.
    pub fn x_names(&self) -> &[String] {
        &self.x_names
    }
    /// Σ log w over the rows (0 without prior weights): the log-likelihood of a weighted
    /// model is −deviance/2 + Σ log(w)/2.
    pub fn sum_log_weights(&self) -> f64 {
        2.0 * self.rows.sqrt_w.iter().map(|s| s.ln()).sum::<f64>()
    }
    /// Whether the default criterion is REML.
    pub fn reml(&self) -> bool {
        self.reml
    }
    /// A copy using the other criterion.
    pub fn with_reml(&self, reml: bool) -> Self {
        Self {
            reml,
            ..self.clone()
        }
    }
    /// The cross-product A = [Z X y]'[Z X y].
    pub fn crossprod(&self) -> &Mat<f64> {
        &self.a
    }
    /// Lower bounds of θ.
    pub fn lower_bounds(&self) -> Vec<f64> {
        self.terms
            .iter()
            .flat_map(TermLayout::lower_bounds)
            .collect()
    }

    /// Λθ as a dense q×q block-diagonal matrix.
    pub fn lambda(&self, theta: &[f64]) -> Result<Mat<f64>, InferenceError> {
        self.check_theta(theta)?;
        let mut l = Mat::zeros(self.q, self.q);
        for t in &self.terms {
            let f = t.factor(theta);
            for lev in 0..t.n_levels() {
                let o = t.offset + lev * t.k;
                for j in 0..t.k {
                    for i in j..t.k {
                        l[(o + i, o + j)] = f[(i, j)];
                    }
                }
            }
        }
        Ok(l)
    }

    /// Λθ as a block operator.
    pub(super) fn lambda_op(&self, theta: &[f64]) -> Result<Lambda, InferenceError> {
        self.check_theta(theta)?;
        Ok(Lambda {
            blocks: self
                .terms
                .iter()
                .map(|t| (t.offset, t.k, t.n_levels(), t.factor(theta)))
                .collect(),
        })
    }

    fn check_theta(&self, theta: &[f64]) -> Result<(), InferenceError> {
        if theta.len() != self.n_theta {
            return Err(InferenceError::ThetaLength {
                expected: self.n_theta,
                got: theta.len(),
            });
        }
        Ok(())
    }

    /// The pieces of the profiled deviance at θ.
    pub fn pieces(&self, theta: &[f64]) -> Result<ThetaPieces, InferenceError> {
        pieces_from_crossprod(&self.a, self.q, self.p, &self.lambda_op(theta)?)
    }

    /// The cross-product of the model with fixed effect `j` held at `value`: X loses
    /// column j and y becomes y − x_j·value (used by the profile of a fixed effect).
    pub fn crossprod_without_fixed(&self, j: usize, value: f64) -> Mat<f64> {
        let (q, p) = (self.q, self.p);
        let m = q + p + 1;
        let keep: Vec<usize> = (0..m).filter(|&c| c != q + j).collect();
        let (xj, y) = (q + j, q + p);
        let mut out = Mat::zeros(m - 1, m - 1);
        for (oc, &c) in keep.iter().enumerate() {
            for (or, &r) in keep.iter().enumerate() {
                let mut v = self.a[(r, c)];
                if r == y && c == y {
                    v += -2.0 * value * self.a[(y, xj)] + value * value * self.a[(xj, xj)];
                } else if r == y {
                    v -= value * self.a[(xj, c)];
                } else if c == y {
                    v -= value * self.a[(r, xj)];
                }
                out[(or, oc)] = v;
            }
        }
        out
    }
}

/// Cholesky factor (lower) of a symmetric positive-definite matrix.
pub(super) fn chol(m: &Mat<f64>, what: &'static str) -> Result<Mat<f64>, InferenceError> {
    m.llt(Side::Lower)
        .map(|l| l.L().to_owned())
        .map_err(|_| InferenceError::NotPositiveDefinite { what })
}

fn logdet(l: &Mat<f64>) -> f64 {
    2.0 * (0..l.nrows()).map(|i| l[(i, i)].ln()).sum::<f64>()
}

/// Evaluate the profiled-deviance pieces from a cross-product A (q+p+1 square) and Λ.
pub(super) fn pieces_from_crossprod(
    a: &Mat<f64>,
    q: usize,
    p: usize,
    lambda: &Lambda,
) -> Result<ThetaPieces, InferenceError> {
    let k = a.submatrix(0, 0, q, q);
    let f = a.submatrix(0, q, q, p + 1); // [Z'X Z'y]
    let mut m = lambda.left_mul_t(lambda.right_mul(k).as_ref());
    for i in 0..q {
        m[(i, i)] += 1.0;
    }
    let lz = chol(&m, "Λ'Z'ZΛ + I")?;
    let mut r = lambda.left_mul_t(f); // Λ'[Z'X Z'y]
    solve_lower_triangular_in_place(lz.as_ref(), r.as_mut(), Par::Seq);
    let rzx = r.submatrix(0, 0, q, p);
    let rzy = r.col(p);
    let mut xtwx = a.submatrix(q, q, p, p).to_owned() - rzx.transpose() * rzx;
    symmetrize(&mut xtwx);
    let lxx = chol(&xtwx, "X'V⁻¹X")?;
    let mut cx = Mat::from_fn(p, 1, |i, _| a[(q + i, q + p)]) - rzx.transpose() * rzy.as_mat();
    solve_lower_triangular_in_place(lxx.as_ref(), cx.as_mut(), Par::Seq);
    let yty = a[(q + p, q + p)];
    let pwrss = (yty - rzy.squared_norm_l2() - cx.squared_norm_l2()).max(0.0);
    solve_upper_triangular_in_place(lxx.transpose(), cx.as_mut(), Par::Seq);
    let beta: Vec<f64> = (0..p).map(|i| cx[(i, 0)]).collect();
    let mut u = rzy.as_mat().to_owned() - rzx * &cx;
    solve_upper_triangular_in_place(lz.transpose(), u.as_mut(), Par::Seq);
    let mut linv = Mat::<f64>::identity(p, p);
    solve_lower_triangular_in_place(lxx.as_ref(), linv.as_mut(), Par::Seq);
    let xtwx_inv = linv.transpose() * &linv;
    Ok(ThetaPieces {
        logdet_z: logdet(&lz),
        logdet_x: logdet(&lxx),
        pwrss,
        beta,
        xtwx_inv,
        u: (0..q).map(|i| u[(i, 0)]).collect(),
    })
}

/// Make a numerically symmetric matrix exactly symmetric (average of both triangles).
pub(super) fn symmetrize(m: &mut Mat<f64>) {
    for j in 0..m.ncols() {
        for i in 0..j {
            let v = 0.5 * (m[(i, j)] + m[(j, i)]);
            m[(i, j)] = v;
            m[(j, i)] = v;
        }
    }
}
