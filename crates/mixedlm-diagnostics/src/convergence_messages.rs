//! Turning convergence-check numbers into messages with advice.

use crate::convergence::{ConvergenceCheck, ConvergenceInput, ConvergenceSettings};
use crate::{Message, MessageKind};

/// Eigenvalues below `-NEGATIVE_TOL` count as negative (finite-difference noise aside).
const NEGATIVE_TOL: f64 = 1e-6;

/// Advice to refit with other optimizers: two of bobyqa, bfgs and nelder-mead, never the
/// one that just ran (`ran`, as the fit names it; empty when unknown).
pub fn optimizer_advice(ran: &str) -> String {
    let others: Vec<&str> = ["bobyqa", "bfgs", "nelder-mead"]
        .into_iter()
        .filter(|o| !ran.eq_ignore_ascii_case(o))
        .take(2)
        .collect();
    format!(
        "try another optimizer (`--optimizer {}` or `--optimizer {}`) and compare the estimates",
        others[0], others[1]
    )
}

pub(crate) const SIMPLIFY_ADVICE: &str = "simplify the random-effects structure: drop the term \
     with zero variance or its random slope, or use uncorrelated slopes `(x || g)`";

fn name(input: &ConvergenceInput, i: usize) -> String {
    match input.names.get(i) {
        Some(n) => format!("θ[{i}] ({n})"),
        None => format!("θ[{i}]"),
    }
}

/// All messages for a completed check.
pub(crate) fn convergence_messages(
    check: &ConvergenceCheck,
    input: &ConvergenceInput,
    settings: &ConvergenceSettings,
) -> Vec<Message> {
    let mut out = Vec::new();
    out.extend(singular_message(check, input));
    out.extend(gradient_message(check, input, settings));
    out.extend(hessian_message(check, input, settings));
    out.extend(max_eval_message(input));
    out
}

fn singular_message(check: &ConvergenceCheck, input: &ConvergenceInput) -> Option<Message> {
    if !check.singular {
        return None;
    }
    let names: Vec<String> = check.boundary.iter().map(|&i| name(input, i)).collect();
    Some(Message::new(
        MessageKind::Singular,
        format!(
            "Singular fit: {} on the boundary of the parameter space, so a random-effect \
             variance is estimated as 0 or a correlation as ±1.",
            names.join(", ") + if names.len() == 1 { " is" } else { " are" }
        ),
        format!(
            "The data do not support this random-effects structure; {SIMPLIFY_ADVICE}. If the \
             variance is genuinely negligible, the fixed effects are still usable, but standard \
             errors of the variance components are not."
        ),
    ))
}

fn gradient_message(
    check: &ConvergenceCheck,
    input: &ConvergenceInput,
    settings: &ConvergenceSettings,
) -> Option<Message> {
    if check.scaled_gradient_max_abs <= settings.gradient_tol {
        return None;
    }
    let worst = check
        .interior
        .iter()
        .copied()
        .max_by(|&a, &b| check.gradient[a].abs().total_cmp(&check.gradient[b].abs()))?;
    Some(Message::new(
        MessageKind::Gradient,
        format!(
            "The optimizer may not have converged: max|scaled gradient| = {:.3e} (tolerance {}), \
             max|gradient| = {:.3e}, largest at {}.",
            check.scaled_gradient_max_abs,
            settings.gradient_tol,
            check.gradient_max_abs,
            name(input, worst)
        ),
        format!(
            "Rescale or center predictors with large values, {}; if the problem persists, \
             {SIMPLIFY_ADVICE}.",
            optimizer_advice(&input.optimizer)
        ),
    ))
}

fn hessian_message(
    check: &ConvergenceCheck,
    input: &ConvergenceInput,
    settings: &ConvergenceSettings,
) -> Option<Message> {
    let advice = optimizer_advice(&input.optimizer);
    let ev = &check.hessian_eigenvalues;
    let (min, max) = (ev.first().copied()?, ev.last().copied()?);
    if ev.iter().any(|e| e.is_nan()) {
        return Some(Message::new(
            MessageKind::Hessian,
            "The Hessian of the objective could not be computed at the optimum.",
            format!("Check the data for extreme values, {advice}."),
        ));
    }
    let negative = ev.iter().filter(|&&e| e < -NEGATIVE_TOL).count();
    if negative > 0 {
        return Some(Message::new(
            MessageKind::Hessian,
            format!(
                "The Hessian has {negative} negative eigenvalue(s) (smallest {min:.3e}): the \
                 optimum found is not a minimum."
            ),
            format!("Refit: {advice}; if it persists, {SIMPLIFY_ADVICE}."),
        ));
    }
    if max > 0.0 && min / max < 1.0 / settings.max_eigen_ratio {
        return Some(Message::new(
            MessageKind::Hessian,
            format!(
                "The model is nearly unidentifiable: the Hessian's eigenvalues range from \
                 {min:.3e} to {max:.3e} (ratio above {:.0e}).",
                settings.max_eigen_ratio
            ),
            format!(
                "Rescale or center predictors so that they have similar spreads (e.g. \
                 standardize them), or {SIMPLIFY_ADVICE}."
            ),
        ));
    }
    None
}

fn max_eval_message(input: &ConvergenceInput) -> Option<Message> {
    let max = input.max_evaluations?;
    if input.evaluations < max {
        return None;
    }
    let optimizer = if input.optimizer.is_empty() {
        "the optimizer"
    } else {
        &input.optimizer
    };
    Some(Message::new(
        MessageKind::MaxEval,
        format!(
            "{optimizer} stopped after using all {max} objective evaluations, before meeting \
             its convergence criterion."
        ),
        format!(
            "Raise the evaluation limit, or {}; rescaling predictors and \
             simplifying the random effects also speed up convergence.",
            optimizer_advice(&input.optimizer)
        ),
    ))
}
