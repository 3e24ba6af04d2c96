//! mixedlm-optim: the optimizer layer, on argmin.
//!
//! An [`Objective`] maps a parameter vector to a value (and optionally a gradient) and
//! knows nothing of models. Depends on argmin and bobyqa only.

/// A function to minimize. It knows nothing of models.
pub trait Objective {
    /// The number of parameters.
    fn dim(&self) -> usize;
    /// The objective at `x`. May return `f64::INFINITY` where it is undefined.
    fn value(&mut self, x: &[f64]) -> f64;
    /// Write the gradient at `x` into `grad` and return true, or return false when no
    /// analytic gradient is available (the solver then uses finite differences).
    fn gradient(&mut self, x: &[f64], grad: &mut [f64]) -> bool {
        let _ = (x, grad);
        false
    }
}
