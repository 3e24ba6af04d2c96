//! The blocked Cholesky factor of Ω(θ) and its three paths (docs/MATH.md).
//!
//! With Λ = blockdiag(I_{G_j} ⊗ T_j) and the cross-products of [`CrossProducts`], the
//! factor of Ω(θ) = Λ'[Z X y]'W[Z X y]Λ + I_z has two parts:
//! - term 1's level blocks ([`levels`]): per level g, L_g = chol(T1' D_g T1 + I) and
//!   W_g = Λ_R' B_g T1 L_g^{-T};
//! - the rest block M = Λ_R' C Λ_R + I_z − Σ_g W_g W_g' and its factor, whose diagonal
//!   blocks are L_rr (the rest of Lzz), Lxx and Lyy. M is factored by one of three paths,
//!   chosen when the model is built ([`Rest`]): dense, nested arrow, or sparse supernodal.
//!
//! log|Lzz|² = Σ_g log|L_g|² + the Z part of M's, log|Lxx|² the X part's, and
//! r² = Lyy² is the penalized weighted residual sum of squares.

mod dense;
pub(crate) mod levels;
mod nested;
mod pieces;
mod schur;
mod sparse;

use crate::crossprod::CrossProducts;
use crate::gradient::parts::GradWork;
use crate::terms::Term;
use dense::DenseRest;
use faer::{Mat, MatMut};
use levels::LevelBlocks;
use nested::NestedRest;
pub(crate) use pieces::Pieces;
use sparse::SparseRest;

/// The rest block's factorization, one variant per path.
#[derive(Debug)]
pub(crate) enum Rest {
    /// Dense m_r × m_r (every model can take it).
    Dense(DenseRest),
    /// Term 1 nested in term 2: block-diagonal Z part with a dense border.
    Nested(NestedRest),
    /// Large crossed later terms with one column per level: sparse supernodal.
    Sparse(Box<SparseRest>),
}

/// The factor of Ω(θ): the T_j, term 1's level blocks and the rest block.
#[derive(Debug)]
pub(crate) struct Factor {
    /// T_j per term (k_j × k_j column-major).
    pub t: Vec<Vec<f64>>,
    pub levels: LevelBlocks,
    pub rest: Rest,
    /// The ingredients at the last evaluation; `None` before one, after a failed one, or
    /// once the factor no longer matches the data.
    pub pieces: Option<Pieces>,
    /// Workspaces of the analytic gradient.
    pub grad: GradWork,
}

impl Factor {
    /// The factor's workspaces for the cross-products `cp`, on the nested path when term 1
    /// is nested in term 2, the sparse one when it qualifies and pays, else dense.
    pub fn new(cp: &CrossProducts, terms: &[Term]) -> Self {
        let rest = match NestedRest::new(cp, terms) {
            Some(nested) => Rest::Nested(nested),
            None => match SparseRest::new(cp, terms) {
                Some(sparse) => Rest::Sparse(Box::new(sparse)),
                None => Rest::Dense(DenseRest::new(cp)),
            },
        };
        Factor {
            t: terms.iter().map(|t| vec![0.0; t.k * t.k]).collect(),
            levels: LevelBlocks::new(cp, terms.len()),
            rest,
            pieces: None,
            grad: GradWork::default(),
        }
    }

    /// Take the sparse path (`true`) whenever the structure allows it, whatever its size,
    /// or the dense path only (`false`). Returns whether the sparse path is in use.
    pub fn set_sparse(&mut self, cp: &CrossProducts, terms: &[Term], on: bool) -> bool {
        let sparse = if on {
            SparseRest::build(cp, terms, 1, f64::INFINITY)
        } else {
            None
        };
        self.rest = match sparse {
            Some(s) => Rest::Sparse(Box::new(s)),
            None if on => std::mem::replace(&mut self.rest, Rest::Dense(DenseRest::new(cp))),
            None => Rest::Dense(DenseRest::new(cp)),
        };
        self.pieces = None;
        matches!(self.rest, Rest::Sparse(_))
    }

    /// Take the sparse path from `min_columns` Z columns of the later terms when it needs
    /// at most half the dense flops, if the model is on the dense path (the nested path is
    /// kept). Returns whether the sparse path is now in use.
    pub fn prefer_sparse_from(
        &mut self,
        cp: &CrossProducts,
        terms: &[Term],
        min_columns: usize,
    ) -> bool {
        if matches!(self.rest, Rest::Dense(_)) {
            if let Some(s) =
                SparseRest::build(cp, terms, min_columns, sparse::SPARSE_MAX_FLOP_RATIO)
            {
                self.rest = Rest::Sparse(Box::new(s));
                self.pieces = None;
            }
        }
        matches!(self.rest, Rest::Sparse(_))
    }

    /// Factor Ω(θ) (θ of the model's length, finite); false when Ω is not numerically
    /// positive definite.
    pub fn evaluate(&mut self, cp: &CrossProducts, terms: &[Term], theta: &[f64]) -> bool {
        self.fill_t(terms, theta);
        let levels = &mut self.levels;
        let rest = match &mut self.rest {
            Rest::Nested(nested) => nested.factor(cp, &self.t, levels),
            Rest::Dense(dense) => levels
                .factor(cp, &self.t)
                .then(|| dense.factor(cp, terms, &self.t, &levels.w))
                .flatten(),
            Rest::Sparse(sparse) => levels
                .factor(cp, &self.t)
                .then(|| sparse.factor(&self.t, &levels.w))
                .flatten(),
        };
        self.pieces = rest.map(|r| Pieces {
            logdet_z: self.levels.logdet(cp.k1) + r.logdet_z,
            logdet_x: r.logdet_x,
            pwrss: r.pwrss,
        });
        self.pieces.is_some()
    }

    fn fill_t(&mut self, terms: &[Term], theta: &[f64]) {
        for (t, buf) in terms.iter().zip(self.t.iter_mut()) {
            let k = t.k;
            t.structure.fill_factor(
                t.theta(theta),
                MatMut::from_column_major_slice_mut(buf, k, k),
            );
        }
    }

    /// The nested path's structure, if the model takes it.
    pub fn nested(&self) -> Option<&NestedRest> {
        match &self.rest {
            Rest::Nested(nested) => Some(nested),
            _ => None,
        }
    }

    /// Whether the model takes the sparse path.
    pub fn is_sparse(&self) -> bool {
        matches!(self.rest, Rest::Sparse(_))
    }

    /// β̂ at the last evaluation into `beta` (the dense path reuses its allocation).
    pub fn beta_into(&self, cp: &CrossProducts, beta: &mut Vec<f64>) {
        match &self.rest {
            Rest::Dense(dense) => dense.beta_into(cp, beta),
            Rest::Nested(nested) => *beta = nested.beta(cp.p),
            Rest::Sparse(sparse) => *beta = sparse.solve().0,
        }
    }

    /// β̂ and the spherical modes of terms 2..m (R's row order) at the last evaluation.
    pub fn solve(&self, cp: &CrossProducts) -> (Vec<f64>, Vec<f64>) {
        match &self.rest {
            Rest::Sparse(sparse) => sparse.solve(),
            _ => {
                let mut beta = Vec::new();
                self.beta_into(cp, &mut beta);
                let ur = self.rest_modes(cp, &beta);
                (beta, ur)
            }
        }
    }

    /// The spherical modes of terms 2..m (R's row order) at a given β: the penalized
    /// least-squares solution for u with Xβ held fixed.
    pub fn rest_modes(&self, cp: &CrossProducts, beta: &[f64]) -> Vec<f64> {
        match &self.rest {
            Rest::Dense(dense) => {
                let mut ur = Vec::with_capacity(cp.qr);
                dense.rest_modes_into(cp, beta, &mut ur);
                ur
            }
            Rest::Nested(nested) => nested.rest_modes(cp.p, beta),
            Rest::Sparse(sparse) => sparse.rest_modes(beta),
        }
    }

    /// Lxx (p × p, lower triangular) at the last evaluation.
    pub fn lxx(&self, cp: &CrossProducts) -> Mat<f64> {
        match &self.rest {
            Rest::Dense(dense) => dense.lxx(cp),
            Rest::Nested(nested) => {
                let p = cp.p;
                Mat::from_fn(p, p, |i, j| {
                    if i >= j {
                        nested.lxx_entry(p, i, j)
                    } else {
                        0.0
                    }
                })
            }
            Rest::Sparse(sparse) => sparse.lxx(),
        }
    }

    /// The diagonal blocks of (Lzz Lzz')⁻¹ per term (unscaled, k × k column-major per
    /// level). `explicit_inverse` chooses the dense path's route (tests compare them).
    pub fn conditional_blocks(
        &self,
        cp: &CrossProducts,
        terms: &[Term],
        explicit_inverse: Option<bool>,
    ) -> Vec<Vec<f64>> {
        match &self.rest {
            Rest::Dense(dense) => {
                dense.conditional_blocks(cp, terms, &self.levels, explicit_inverse)
            }
            Rest::Nested(nested) => nested.conditional_blocks(cp, &self.levels),
            Rest::Sparse(sparse) => {
                let mut out = sparse.conditional_forms(cp.g1, terms);
                self.levels.conditional_from_forms(cp.k1, &mut out[0]);
                out
            }
        }
    }

    /// G_t and H_t of the gradient (docs/MATH.md) into `self.grad`, at the last
    /// evaluation, with P the leading `np` rows of R. False on the sparse path, which
    /// offers no gradient.
    pub fn gradient_parts(&mut self, cp: &CrossProducts, terms: &[Term], np: usize) -> bool {
        let mut w = std::mem::take(&mut self.grad);
        let (t, levels) = (&self.t, &self.levels);
        let ok = match &self.rest {
            Rest::Dense(dense) => {
                dense.gradient_parts(cp, terms, t, levels, np, &mut w);
                true
            }
            Rest::Nested(nested) => {
                nested.gradient_parts(cp, terms, t, levels, np, &mut w);
                true
            }
            Rest::Sparse(_) => false,
        };
        self.grad = w;
        ok
    }

    /// The factor buffers a kept best point trades (see [`crate::best_factor`]): the
    /// T_j, L_g, W, and the rest block's values (dense M, or the sparse factor's values
    /// with its list-ordered W). None on the nested path.
    pub fn swap_values(&mut self, kept: &mut KeptValues) {
        std::mem::swap(&mut kept.t, &mut self.t);
        std::mem::swap(&mut kept.lg, &mut self.levels.lg);
        std::mem::swap(&mut kept.w, &mut self.levels.w);
        match &mut self.rest {
            Rest::Dense(dense) => dense.swap_values(&mut kept.m),
            Rest::Sparse(sparse) => sparse.swap_values(&mut kept.l_vals, &mut kept.ws),
            Rest::Nested(_) => {}
        }
        std::mem::swap(&mut kept.pieces, &mut self.pieces);
    }

    /// After new cross-products with the same pattern (new weights or response): the
    /// sparse path reloads C's values; every path's factor is stale.
    pub fn data_changed(&mut self, cp: &CrossProducts) {
        if let Rest::Sparse(sparse) = &mut self.rest {
            sparse.load_c(cp);
        }
        self.pieces = None;
    }
}

/// Factor buffers held outside the model (see [`Factor::swap_values`]).
#[derive(Debug, Default)]
pub(crate) struct KeptValues {
    pub t: Vec<Vec<f64>>,
    pub lg: Vec<f64>,
    pub w: Vec<f64>,
    pub m: Vec<f64>,
    pub l_vals: Vec<f64>,
    pub ws: Vec<f64>,
    pub pieces: Option<Pieces>,
}
