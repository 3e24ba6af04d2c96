//! Adapters from the engine's fit ([`LmmFit`], [`LinearMixedModel`]) to this crate's plain
//! inputs, and [`diagnose`], which runs every check on a fitted model.

mod subset;

pub use subset::{leave_group_out, subset_rows};

use crate::convergence::{check_convergence, ConvergenceCheck, ConvergenceInput};
use crate::convergence_messages::optimizer_advice;
use crate::design_checks::check_design;
use crate::influence::{cooks_distance, GroupInfluence};
use crate::plots::{PlotInput, PlotSource, RanefGroup, RanefTerm};
use crate::residuals::{marginal_fitted, ResidualSet};
use crate::{DiagError, Diagnostics, Message, MessageKind};
use mixedlm_design::Design;
use mixedlm_model::{FitOptions, LinearMixedModel, LmmFit};
use std::borrow::Cow;

/// Residuals and fitted values of a fit, both ways (`design` is the one the model was built
/// from: it supplies y, X, the offset and prior weights).
pub fn residual_set(fit: &LmmFit, design: &Design) -> Result<ResidualSet, DiagError> {
    let marginal = marginal_fitted(&design.x, &fit.fixef, design.offset.as_deref())?;
    ResidualSet::new(
        &design.y,
        fit.fitted.clone(),
        marginal,
        fit.sigma,
        design.weights.as_deref(),
    )
}

/// The random effects of a fit grouped by factor (terms sharing a factor are merged, in
/// the fit's order). Conditional SDs are NaN when the fit did not compute them.
pub fn ranef_groups(fit: &LmmFit) -> Vec<RanefGroup> {
    let mut groups: Vec<RanefGroup> = Vec::new();
    for term in &fit.random {
        let idx = match groups
            .iter()
            .position(|g| g.group == term.group && *g.levels == *term.levels)
        {
            Some(i) => i,
            None => {
                groups.push(RanefGroup {
                    group: term.group.clone(),
                    levels: term.levels.to_vec(),
                    terms: vec![],
                });
                groups.len() - 1
            }
        };
        for (j, name) in term.names.iter().enumerate() {
            let modes = term.condval.iter().map(|b| b[j]).collect();
            let cond_sd = if term.condsd.len() == term.levels.len() {
                term.condsd.iter().map(|s| s[j]).collect()
            } else {
                vec![f64::NAN; term.levels.len()]
            };
            groups[idx].terms.push(RanefTerm {
                name: name.clone(),
                modes,
                cond_sd,
            });
        }
    }
    groups
}

/// Plot data of a fit with its design (Pearson residuals use the prior weights).
pub fn plot_input(fit: &LmmFit, design: &Design) -> Result<PlotInput, DiagError> {
    let set = residual_set(fit, design)?;
    Ok(PlotInput {
        fitted: set.fitted,
        residuals: set.conditional,
        pearson: set.pearson,
        random_effects: ranef_groups(fit),
    })
}

/// Plot data from a fit alone: Pearson residuals are `r / σ̂`, which is exact for
/// unweighted fits (use [`plot_input`] with the design for weighted ones).
impl PlotSource for LmmFit {
    fn plot_input(&self) -> Result<Cow<'_, PlotInput>, DiagError> {
        let pearson = crate::residuals::pearson(&self.residuals, self.sigma, None)?;
        Ok(Cow::Owned(PlotInput {
            fitted: self.fitted.clone(),
            residuals: self.residuals.clone(),
            pearson,
            random_effects: ranef_groups(self),
        }))
    }
}

/// lme4-style convergence checks of a fit on its model's profiled objective.
///
/// `max_evaluations` is the optimizer's budget, when known. The model is re-evaluated at
/// θ̂ afterwards, so its state is as after the fit.
pub fn check_fit_convergence(
    model: &mut LinearMixedModel,
    fit: &LmmFit,
    max_evaluations: Option<usize>,
) -> Result<ConvergenceCheck, DiagError> {
    let input = ConvergenceInput {
        theta: fit.theta.clone(),
        lower: model.theta_lower(),
        upper: Vec::new(),
        names: fit.theta_names.clone(),
        evaluations: fit.optim.evaluations,
        max_evaluations,
        optimizer: fit.optim.optimizer.to_string(),
    };
    let mut check = check_convergence(|t| model.objective(t), &input, &Default::default());
    model.evaluate(&fit.theta);
    let exhausted = max_evaluations.is_some_and(|m| fit.optim.evaluations >= m);
    if let (Ok(c), false, false) = (&mut check, fit.optim.converged, exhausted) {
        c.messages.push(Message::new(
            MessageKind::Gradient,
            format!(
                "The optimizer ({}) did not report convergence: {}.",
                fit.optim.optimizer, fit.optim.termination
            ),
            format!(
                "Rescale or center predictors with large values, or {}.",
                optimizer_advice(fit.optim.optimizer.as_str())
            ),
        ));
    }
    check
}

/// Cook's distance of every level of `group`, refitting the model without each level in
/// parallel (warm-started at θ̂, without conditional variances).
pub fn influence(
    model: &LinearMixedModel,
    fit: &LmmFit,
    group: &str,
    options: &FitOptions,
) -> Result<Vec<GroupInfluence>, DiagError> {
    let design = model.design();
    let levels = design
        .random
        .iter()
        .find(|t| t.group == group)
        .map(|t| t.levels.clone())
        .ok_or_else(|| {
            DiagError::Invalid(format!("no grouping factor named `{group}` in the model"))
        })?;
    let opts = FitOptions {
        start: Some(fit.theta.clone()),
        conditional_variances: false,
        ..options.clone()
    };
    let vcov: Vec<f64> = (0..fit.fixef.len())
        .flat_map(|j| fit.vcov_fixef.iter().map(move |row| row[j]))
        .collect();
    cooks_distance(group, &levels, &fit.fixef, &vcov, |g| {
        let reduced = leave_group_out(design, group, g)?;
        let mut m = model
            .rebuild(&reduced)
            .map_err(|e| DiagError::Invalid(e.to_string()))?;
        let refit = m
            .fit(&opts)
            .map_err(|e| DiagError::Invalid(e.to_string()))?;
        if refit.fixef_names != fit.fixef_names {
            return Err(DiagError::Invalid(
                "leaving the level out changes the fixed effects".into(),
            ));
        }
        Ok(refit.fixef)
    })
}

/// What [`diagnose`] should do beyond the default checks.
#[derive(Clone, Debug, Default)]
pub struct DiagnoseOptions {
    /// The convergence check of this fit, already computed by [`check_fit_convergence`]
    /// (it is then not computed again).
    pub convergence: Option<ConvergenceCheck>,
    /// The optimizer's evaluation budget, to report exhausted evaluations.
    pub max_evaluations: Option<usize>,
    /// Compute Cook's distances for this grouping factor (one refit per level).
    pub influence_group: Option<String>,
    /// Options for the influence refits.
    pub fit_options: FitOptions,
}

/// Every check on a fitted model: design, convergence, normality of residuals and random
/// effects, and (on request) influence of the levels of one factor.
pub fn diagnose(
    model: &mut LinearMixedModel,
    fit: &LmmFit,
    options: &DiagnoseOptions,
) -> Result<Diagnostics, DiagError> {
    let mut report = Diagnostics::default();
    report.add_design(&check_design(model.design()));
    let convergence = match &options.convergence {
        Some(c) => c.clone(),
        None => check_fit_convergence(model, fit, options.max_evaluations)?,
    };
    report.add_convergence(&convergence);
    let input = plot_input(fit, model.design())?;
    report.add_normality(&input.pearson, &input.random_effects);
    if let Some(group) = &options.influence_group {
        report.add_influence(&influence(model, fit, group, &options.fit_options)?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
