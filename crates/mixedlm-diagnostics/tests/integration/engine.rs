//! Diagnostics of real engine fits: sleepstudy, Dyestuff2 (singular), mathachieve (many
//! points and levels), sleepstudy with Days × 10⁶; InstEval ignored by default.

use crate::common::*;
use mixedlm_design::{Design, DesignBuilder};
use mixedlm_diagnostics::fit::{diagnose, influence, leave_group_out, plot_input, DiagnoseOptions};
use mixedlm_diagnostics::{write_plots, MessageKind, PlotFormat};
use mixedlm_model::{FitOptions, LinearMixedModel, LmmFit, ModelOptions};

fn fitted(file: &str, formula: &str, reml: bool) -> (LinearMixedModel, LmmFit) {
    let batch = data(file);
    let formula = mixedlm_formula::parse_formula(formula).unwrap();
    let (design, _) = DesignBuilder::new(&formula).build(&batch).unwrap();
    fit_design(&design, reml)
}

fn fit_design(design: &Design, reml: bool) -> (LinearMixedModel, LmmFit) {
    let mut model = LinearMixedModel::new(design, ModelOptions { reml }).unwrap();
    let fit = model.fit(&FitOptions::default()).unwrap();
    (model, fit)
}

fn kinds(d: &mixedlm_diagnostics::Diagnostics) -> Vec<MessageKind> {
    d.messages.iter().map(|m| m.kind).collect()
}

#[test]
fn sleepstudy_fit_is_clean_and_plots() {
    let (mut model, fit) = fitted(
        "sleepstudy",
        "Reaction ~ 1 + Days + (1 + Days | Subject)",
        true,
    );
    let report = diagnose(&mut model, &fit, &DiagnoseOptions::default()).unwrap();
    let k = kinds(&report);
    assert!(
        !k.iter().any(|k| matches!(
            k,
            MessageKind::Singular | MessageKind::Gradient | MessageKind::Hessian
        )),
        "{:?}",
        report.messages
    );
    assert!(report.gradient_max_abs.unwrap() < 2e-3);
    assert!(report.hessian_min_eigenvalue.unwrap() > 0.0);
    assert_eq!(report.random_effects_normality.len(), 2);
    let input = plot_input(&fit, model.design()).unwrap();
    let reference = result("sleepstudy", true);
    let head = numbers(&reference["resid_head"]);
    for (a, b) in input.residuals.iter().zip(&head) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
    let files = write_plots(plot_dir("sleepstudy_fit"), &fit, PlotFormat::Png).unwrap();
    assert_eq!(files.len(), 6);
}

#[test]
fn dyestuff2_fit_is_singular_with_advice() {
    let (mut model, fit) = fitted("dyestuff2", "Yield ~ 1 + (1 | Batch)", false);
    let report = diagnose(&mut model, &fit, &DiagnoseOptions::default()).unwrap();
    let singular: Vec<_> = report
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::Singular)
        .collect();
    assert_eq!(singular.len(), 1, "{:?}", report.messages);
    assert!(singular[0]
        .advice
        .contains("simplify the random-effects structure"));
    assert!(
        report.hessian_min_eigenvalue.is_none(),
        "θ on its bound: no interior parameter"
    );
}

#[test]
fn sleepstudy_days_times_a_million_gets_rescale_advice() {
    let batch = data("sleepstudy");
    let formula =
        mixedlm_formula::parse_formula("Reaction ~ 1 + Days + (1 + Days | Subject)").unwrap();
    let (mut design, _) = DesignBuilder::new(&formula).build(&batch).unwrap();
    for v in design
        .x
        .col_mut(1)
        .iter_mut()
        .chain(design.random[0].z.col_mut(1))
    {
        *v *= 1e6;
    }
    let (mut model, fit) = fit_design(&design, true);
    let report = diagnose(&mut model, &fit, &DiagnoseOptions::default()).unwrap();
    let scale = report
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::Scale)
        .expect("scale message");
    assert!(
        scale.advice.contains("divide `Days` by 1e6"),
        "{}",
        scale.advice
    );
}

#[test]
fn sleepstudy_influence_matches_a_manual_refit() {
    let (model, fit) = fitted(
        "sleepstudy",
        "Reaction ~ 1 + Days + (1 + Days | Subject)",
        true,
    );
    let infl = influence(&model, &fit, "Subject", &FitOptions::default()).unwrap();
    assert_eq!(infl.len(), 18);
    assert!(infl
        .iter()
        .all(|g| g.error.is_none() && g.cooks_distance > 0.0));
    assert!(infl
        .windows(2)
        .all(|w| w[0].cooks_distance >= w[1].cooks_distance));
    // Recompute the top level's distance by hand.
    let top = &infl[0];
    let level = model.design().random[0]
        .levels
        .iter()
        .position(|l| *l == top.level)
        .unwrap();
    let (_, refit) = fit_design(
        &leave_group_out(model.design(), "Subject", level).unwrap(),
        true,
    );
    let d: Vec<f64> = refit
        .fixef
        .iter()
        .zip(&fit.fixef)
        .map(|(a, b)| a - b)
        .collect();
    let v = &fit.vcov_fixef;
    let det = v[0][0] * v[1][1] - v[0][1] * v[1][0];
    let q = (v[1][1] * d[0] * d[0] - 2.0 * v[0][1] * d[0] * d[1] + v[0][0] * d[1] * d[1]) / det;
    assert!(
        (top.cooks_distance - q / 2.0).abs() < 1e-3 * q,
        "{} vs {}",
        top.cooks_distance,
        q / 2.0
    );
}

#[test]
fn mathachieve_fit_plots() {
    let (mut model, fit) = fitted(
        "mathachieve",
        "MathAch ~ 1 + SES + MEANSES + Sex + Minority + (1 + SES | School)",
        true,
    );
    let report = diagnose(&mut model, &fit, &DiagnoseOptions::default()).unwrap();
    assert!(report
        .residual_normality
        .as_ref()
        .is_some_and(|t| t.test == "Anderson-Darling"));
    let input = plot_input(&fit, model.design()).unwrap();
    let files = write_plots(plot_dir("mathachieve_fit"), &input, PlotFormat::Png).unwrap();
    assert_eq!(files.len(), 6);
}

#[test]
#[ignore = "InstEval: 73k rows, 3 factors with up to 2,972 levels; about 1 min in the test \
            profile. Run with `cargo test --release -p mixedlm-diagnostics --test integration \
            engine:: -- --ignored --nocapture`"]
fn insteval_fit_diagnostics_and_plots() {
    let start = std::time::Instant::now();
    let (mut model, fit) = fitted(
        "insteval",
        "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)",
        true,
    );
    let fitted_at = start.elapsed().as_secs_f64();
    let report = diagnose(&mut model, &fit, &DiagnoseOptions::default()).unwrap();
    let diagnosed_at = start.elapsed().as_secs_f64();
    // lme4: REML criterion 237733.8 (08_insteval_reml.json); the checks leave θ̂ in place.
    assert!((model.current_objective() - 237733.8).abs() < 0.5);
    assert!(report.gradient_max_abs.is_some_and(|g| g < 0.05));
    assert!(report.hessian_min_eigenvalue.is_some_and(|e| e > 0.0));
    assert!(!kinds(&report).contains(&MessageKind::Singular));
    let files = write_plots(plot_dir("insteval_fit"), &fit, PlotFormat::Png).unwrap();
    let plotted_at = start.elapsed().as_secs_f64();
    for name in [
        "caterpillar_s.png",
        "caterpillar_d.png",
        "caterpillar_dept.png",
    ] {
        assert!(files.iter().any(|f| f.ends_with(name)), "{name}");
    }
    assert_eq!(files.len(), 9);
    eprintln!(
        "InstEval: fit {fitted_at:.2} s, diagnostics {:.2} s, 9 PNG plots {:.2} s -> {}",
        diagnosed_at - fitted_at,
        plotted_at - diagnosed_at,
        plot_dir("insteval_fit").display()
    );
}
