//! The analytic gradient of the profiled objective (docs/MATH.md, "The gradient").
//!
//! With Ω_P the leading rows of the augmented system whose log-determinant enters the
//! objective (the Z rows under ML, the Z and X rows under REML) and d = N (ML) or
//! N − p (REML), objective(θ) = log det Ω_P + d · log r² + const, and for a parameter
//! θ_j of term t with ∂T_t/∂θ_j = E (constant: the structures are linear in θ)
//! ∂objective/∂θ_j = 2 Σ_{r,c} E[r,c] (G_t − (d / r²) H_t)[c,r], where G_t sums blocks of
//! the selected inverse Ω_P⁻¹ D'M and H_t = Σ_l û_l (Z_l'e)' (envelope theorem). The
//! path of the factor supplies G_t and H_t ([`parts`] holds what the dense and nested
//! paths share); the sparse path offers no gradient. The cost is about one evaluation
//! plus the inverse of the leading dense block, so the dense path offers it only while
//! that block is at most 512 columns wide.

pub(crate) mod parts;

use crate::LinearMixedModel;
use faer::MatMut;

/// The widest leading dense block (columns of Z_2 .. Z_m, plus X under REML) for which the
/// gradient is offered: its inverse costs about two factorizations of the block, more
/// than a derivative-free step saves on large crossed models.
const MAX_GRADIENT_BLOCK: usize = 512;

impl LinearMixedModel {
    /// Whether [`Self::gradient`] is available for this model: the nested path, or the
    /// dense path with a leading dense block of at most 512 columns (not the sparse path).
    pub fn has_gradient(&self) -> bool {
        !self.uses_sparse() && (self.uses_nested() || self.gradient_block() <= MAX_GRADIENT_BLOCK)
    }

    /// Width of the leading dense block whose inverse the gradient needs.
    pub(crate) fn gradient_block(&self) -> usize {
        if self.reml {
            self.cp.qr + self.cp.p
        } else {
            self.cp.qr
        }
    }

    /// The gradient of [`Self::objective`] at θ, written into `grad` (length
    /// [`Self::n_theta`]). Factors Ω(θ) unless the last evaluation was at θ. Returns false,
    /// leaving `grad` unspecified, when the gradient is not available
    /// ([`Self::has_gradient`]), θ is invalid, or Ω(θ) is not positive definite.
    pub fn gradient(&mut self, theta: &[f64], grad: &mut [f64]) -> bool {
        if !self.has_gradient() || grad.len() != self.n_theta() {
            return false;
        }
        let current = self.factor.pieces.is_some() && self.theta.as_slice() == theta;
        if !current && !self.evaluate(theta) {
            return false;
        }
        let np = self.gradient_block();
        if !self.factor.gradient_parts(&self.cp, &self.terms, np) {
            return false;
        }
        let pwrss = self.pwrss();
        let scale = self.residual_dof() / pwrss;
        let mut ok = pwrss > 0.0 && pwrss.is_finite();
        for j in 0..self.terms.len() {
            let offset = self.terms[j].theta_offset;
            ok &= self.term_gradient(j, theta, scale, &mut grad[offset..]);
        }
        ok
    }

    /// Term j's entries of the gradient, 2 Σ E ∘ (G_j − scale · H_j)' per parameter, into
    /// the start of `grad`; false if one is not finite.
    fn term_gradient(&mut self, j: usize, theta: &[f64], scale: f64, grad: &mut [f64]) -> bool {
        let term = &self.terms[j];
        let w = &mut self.factor.grad;
        let k = term.k;
        let own = term.theta(theta);
        let mut ok = true;
        let dt = &mut w.small[3];
        dt.resize(k * k, 0.0);
        for (i, g) in grad.iter_mut().enumerate().take(term.n_theta()) {
            term.structure.fill_factor_derivative(
                i,
                own,
                MatMut::from_column_major_slice_mut(dt, k, k),
            );
            let mut acc = 0.0;
            for c in 0..k {
                for r in 0..k {
                    let e = dt[c * k + r];
                    if e != 0.0 {
                        acc += e * (w.gm[j][r * k + c] - scale * w.h[j][r * k + c]);
                    }
                }
            }
            *g = 2.0 * acc;
            ok &= acc.is_finite();
        }
        ok
    }
}
