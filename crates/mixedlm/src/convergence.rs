//! Whether a fit converged: the optimizer's own stopping test, and lme4's post-fit check
//! (`checkConv`: the scaled gradient and the Hessian of the criterion at θ̂, by finite
//! differences) on every fit. A derivative-free optimizer can stop on a flat valley away
//! from the optimum and still report convergence; the check catches it.

use mixedlm_diagnostics::convergence::{ConvergenceCheck, ConvergenceSettings};
use mixedlm_diagnostics::fit::check_fit_convergence;
use mixedlm_model::{FitOptions, LinearMixedModel, LmmFit};

/// Eigenvalues of the Hessian below minus this count as negative (finite-difference noise
/// aside), as in lme4's `check.conv.hess`.
const NEGATIVE_EIGENVALUE: f64 = 1e-6;

/// The verdict on a fit.
#[derive(Clone, Debug, Default)]
pub(crate) struct Convergence {
    /// The post-fit check, when it could run.
    pub check: Option<ConvergenceCheck>,
    /// Why the fit is not converged (`None`: converged).
    pub failure: Option<String>,
}

/// Run the post-fit check on `model` at the fit's θ̂ (the model is left evaluated there)
/// and decide.
pub(crate) fn assess(model: &mut LinearMixedModel, fit: &LmmFit) -> Convergence {
    let budget = FitOptions::default().max_evaluations;
    let check = check_fit_convergence(model, fit, Some(budget));
    let optimizer = fit.optim.optimizer.as_str();
    let failure = if !fit.converged {
        Some(format!(
            "the optimizer ({optimizer}) stopped without converging: {}",
            fit.optim.termination
        ))
    } else {
        match &check {
            Err(e) => Some(format!("the post-fit convergence check could not run: {e}")),
            Ok(c) => check_failure(c, optimizer),
        }
    };
    Convergence {
        check: check.ok(),
        failure,
    }
}

/// What the post-fit check finds wrong with a reported optimum, if anything: a scaled
/// gradient above lme4's tolerance, or a Hessian that is not that of a minimum.
fn check_failure(c: &ConvergenceCheck, optimizer: &str) -> Option<String> {
    let tol = ConvergenceSettings::default().gradient_tol;
    if c.scaled_gradient_max_abs > tol {
        return Some(format!(
            "the optimizer ({optimizer}) reported convergence, but at its estimates the \
             criterion's max |scaled gradient| is {:.3e} (tolerance {tol}; max |gradient| \
             {:.3e}): they are not at the optimum",
            c.scaled_gradient_max_abs, c.gradient_max_abs
        ));
    }
    let ev = &c.hessian_eigenvalues;
    if ev.iter().any(|e| e.is_nan()) {
        return Some("the Hessian of the criterion could not be computed at the estimates".into());
    }
    if c.hessian_min_eigenvalue < -NEGATIVE_EIGENVALUE {
        return Some(format!(
            "the Hessian of the criterion at the estimates has a negative eigenvalue \
             ({:.3e}): they are not at a minimum",
            c.hessian_min_eigenvalue
        ));
    }
    None
}
