//! The estimates at the last evaluation, read from the factor of Ω(θ) on whichever path
//! the model takes: β̂, σ̂, Var(β̂), the spherical modes û, the conditional modes b̂ = Λû
//! and the conditional covariances of b given y.
//!
//! Conditional covariance: Var(b | y) = σ² Λ (Lzz Lzz')⁻¹ Λ' (β fixed at β̂, as lme4's
//! `condVar`); each path gives the diagonal blocks of (Lzz Lzz')⁻¹ from its factor, so a
//! fit needs no final dense factorization.

use crate::kernels;
use crate::LinearMixedModel;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Mat, Par};

impl LinearMixedModel {
    /// β̂(θ) at the last successful evaluation (NaN entries if it failed).
    pub fn beta(&self) -> Vec<f64> {
        let mut beta = Vec::new();
        self.beta_into(&mut beta);
        beta
    }

    /// [`Self::beta`] written to `beta` (the dense path reuses its allocation).
    pub(crate) fn beta_into(&self, beta: &mut Vec<f64>) {
        if self.factor.pieces.is_none() {
            beta.clear();
            beta.resize(self.cp.p, f64::NAN);
            return;
        }
        self.factor.beta_into(&self.cp, beta);
        self.shift.beta_to_original(beta);
    }

    /// σ̂(θ) = √(r² / d), d = N (ML) or N − p (REML), at the last evaluation.
    pub fn sigma(&self) -> f64 {
        (self.pwrss() / self.residual_dof()).sqrt()
    }

    /// r²(θ): the penalized weighted residual sum of squares at (û, β̂), at the last
    /// evaluation.
    pub fn pwrss(&self) -> f64 {
        self.factor.pieces.map_or(f64::NAN, |p| p.pwrss)
    }

    /// log det(Lzz)² = log det(Λ'Z'WZΛ + I) at the last evaluation (`ldL2` in lme4).
    pub fn logdet_z(&self) -> f64 {
        self.factor.pieces.map_or(f64::NAN, |p| p.logdet_z)
    }

    /// log det(Lxx)² at the last evaluation (`ldRX2` in lme4).
    pub fn logdet_x(&self) -> f64 {
        self.factor.pieces.map_or(f64::NAN, |p| p.logdet_x)
    }

    /// Lxx (p × p, lower triangular) at the last evaluation: Lxx Lxx' = X'V⁻¹X / σ² up to
    /// the profiling, so Var(β̂) = σ² (Lxx Lxx')⁻¹.
    pub fn lxx(&self) -> Mat<f64> {
        if self.factor.pieces.is_none() {
            let p = self.cp.p;
            return Mat::from_fn(p, p, |_, _| f64::NAN);
        }
        let mut lxx = self.factor.lxx(&self.cp);
        self.shift.lxx_to_original(&mut lxx);
        lxx
    }

    /// (Lxx Lxx')⁻¹ at the last evaluation: Var(β̂) / σ².
    pub fn unscaled_vcov_beta(&self) -> Mat<f64> {
        let p = self.cp.p;
        let mut inv = Mat::<f64>::identity(p, p);
        solve_lower_triangular_in_place(self.lxx().as_ref(), inv.as_mut(), Par::Seq);
        inv.transpose() * &inv
    }

    /// Var(β̂) = σ̂² (Lxx Lxx')⁻¹ at the last evaluation.
    pub fn vcov_beta(&self) -> Mat<f64> {
        let s2 = self.sigma().powi(2);
        let v = self.unscaled_vcov_beta();
        Mat::from_fn(v.nrows(), v.ncols(), |i, j| s2 * v[(i, j)])
    }

    /// Spherical modes û at the last evaluation, in the engine's Z order: term 1 level
    /// by level (k1 per level), then terms 2..m likewise.
    pub fn spherical_modes(&self) -> Vec<f64> {
        if self.factor.pieces.is_none() {
            return vec![f64::NAN; self.cp.g1 * self.cp.k1 + self.cp.qr];
        }
        let (beta, ur) = self.factor.solve(&self.cp);
        let mut u = Vec::new();
        self.factor.levels.modes_into(&self.cp, &ur, &beta, &mut u);
        u
    }

    /// Conditional modes b̂ = Λû per engine-ordered term: `levels × k` values, level-major.
    pub fn conditional_modes(&self) -> Vec<Vec<f64>> {
        self.modes_to_effects(&self.spherical_modes())
    }

    /// b = Λu per engine-ordered term (`levels × k` values, level-major) for spherical
    /// modes `u` in the engine's Z order, such as [`Self::spherical_modes_at`] gives.
    pub fn modes_to_effects(&self, u: &[f64]) -> Vec<Vec<f64>> {
        let mut start = 0;
        self.terms
            .iter()
            .zip(&self.factor.t)
            .map(|(term, t)| {
                let k = term.k;
                let len = k * term.n_levels();
                let mut b = vec![0.0; len];
                for l in 0..term.n_levels() {
                    let s = start + l * k;
                    kernels::lower_times(t, &u[s..s + k], k, &mut b[l * k..(l + 1) * k]);
                }
                start += len;
                b
            })
            .collect()
    }

    /// Conditional covariance blocks Var(b_g | y) per engine-ordered term, `levels` blocks
    /// of k × k (column-major), scaled by σ̂².
    pub fn conditional_covariances(&self) -> Vec<Vec<f64>> {
        self.conditional_blocks(None)
    }

    /// [`Self::conditional_covariances`] on the dense path through the explicit
    /// (Lrr Lrr')⁻¹ or not (the two routes agree; tests compare them).
    #[doc(hidden)]
    pub fn conditional_covariances_via(&self, explicit_inverse: bool) -> Vec<Vec<f64>> {
        self.conditional_blocks(Some(explicit_inverse))
    }

    fn conditional_blocks(&self, explicit_inverse: Option<bool>) -> Vec<Vec<f64>> {
        if self.factor.pieces.is_none() {
            return self
                .terms
                .iter()
                .map(|t| vec![f64::NAN; t.n_levels() * t.k * t.k])
                .collect();
        }
        let mut out = self
            .factor
            .conditional_blocks(&self.cp, &self.terms, explicit_inverse);
        self.scale_conditional(&mut out);
        out
    }

    /// Each block V of (Lzz Lzz')⁻¹ (per term, level by level) ← σ̂² T V T'.
    fn scale_conditional(&self, out: &mut [Vec<f64>]) {
        let s2 = self.sigma().powi(2);
        for (term_blocks, t) in out.iter_mut().zip(&self.factor.t) {
            let k = t.len().isqrt();
            let (mut tmp, mut tv) = (vec![0.0; k * k], vec![0.0; k * k]);
            for block in term_blocks.chunks_exact_mut(k * k) {
                // tv = T V T' = (T V) T'
                for c in 0..k {
                    for r in 0..k {
                        tmp[c * k + r] = (0..=r).map(|m| t[m * k + r] * block[c * k + m]).sum();
                    }
                }
                for c in 0..k {
                    for r in 0..k {
                        tv[c * k + r] = (0..=c).map(|m| tmp[m * k + r] * t[m * k + c]).sum();
                    }
                }
                block.iter_mut().zip(&tv).for_each(|(b, v)| *b = s2 * v);
            }
        }
    }
}
