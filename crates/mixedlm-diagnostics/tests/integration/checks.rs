//! Convergence and design checks on real data sets: Dyestuff2 (singular), Dyestuff (clean),
//! sleepstudy with Days × 10⁶ (badly scaled), an overparameterized model; and the JSON report.

use crate::common::*;
use mixedlm_design::{CovarianceKind, DenseMatrix, Design, RandomTermDesign};
use mixedlm_diagnostics::convergence::{check_convergence, ConvergenceInput};
use mixedlm_diagnostics::design_checks::check_design;
use mixedlm_diagnostics::{Diagnostics, MessageKind};

/// Profiled ML deviance of the one-way model y_ij = μ + b_i + e_ij, b_i ~ N(0, σ²θ²):
/// `Σ log(1 + θ²nᵢ) + n (1 + log(2π r²/n))` with the GLS μ̂ and penalized RSS r².
fn one_way_deviance(y: &[f64], codes: &[u32], n_levels: usize, theta: f64) -> f64 {
    let t2 = theta * theta;
    let (mut cnt, mut sum) = (vec![0.0; n_levels], vec![0.0; n_levels]);
    for (&c, &v) in codes.iter().zip(y) {
        cnt[c as usize] += 1.0;
        sum[c as usize] += v;
    }
    let w: Vec<f64> = cnt.iter().map(|n| n / (1.0 + t2 * n)).collect();
    let mu = (0..n_levels).map(|i| w[i] * sum[i] / cnt[i]).sum::<f64>() / w.iter().sum::<f64>();
    let (mut s, mut t) = (vec![0.0; n_levels], vec![0.0; n_levels]);
    for (&c, &v) in codes.iter().zip(y) {
        s[c as usize] += (v - mu) * (v - mu);
        t[c as usize] += v - mu;
    }
    let r2: f64 = (0..n_levels)
        .map(|i| s[i] - t2 / (1.0 + t2 * cnt[i]) * t[i] * t[i])
        .sum();
    let logdet: f64 = cnt.iter().map(|n| (1.0 + t2 * n).ln()).sum();
    let n = y.len() as f64;
    logdet + n * (1.0 + (2.0 * std::f64::consts::PI * r2 / n).ln())
}

fn dyestuff(dataset: &str) -> (Vec<f64>, Vec<u32>, usize) {
    let (levels, codes) = factor(dataset, "Batch");
    (numeric(dataset, "Yield"), codes, levels.len())
}

fn theta_input(theta: f64) -> ConvergenceInput {
    ConvergenceInput {
        theta: vec![theta],
        lower: vec![0.0],
        names: vec!["Batch: (Intercept)".into()],
        evaluations: 20,
        max_evaluations: Some(10_000),
        optimizer: "bobyqa".into(),
        ..Default::default()
    }
}

#[test]
fn dyestuff2_is_singular_with_advice() {
    let reference = result("dyestuff2", false);
    let (y, codes, k) = dyestuff("dyestuff2");
    let f = |t: &[f64]| one_way_deviance(&y, &codes, k, t[0]);
    // The deviance function reproduces lme4's objective at its θ̂ = 0.
    let objective = reference["objective"].as_f64().unwrap();
    assert!(
        (f(&[0.0]) - objective).abs() < 1e-6 * objective,
        "{}",
        f(&[0.0])
    );
    let check = check_convergence(f, &theta_input(0.0), &Default::default()).unwrap();
    assert!(check.singular && check.interior.is_empty());
    assert!(
        check.gradient[0] > 0.0,
        "the deviance increases into the interior"
    );
    let kinds: Vec<MessageKind> = check.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, vec![MessageKind::Singular]);
    let m = &check.messages[0];
    assert!(m.text.contains("Batch: (Intercept)") && m.text.contains("estimated as 0"));
    assert!(m.advice.contains("simplify the random-effects structure"));
}

#[test]
fn dyestuff_optimum_passes_all_checks() {
    let reference = result("dyestuff", false);
    let (y, codes, k) = dyestuff("dyestuff");
    let f = |t: &[f64]| one_way_deviance(&y, &codes, k, t[0]);
    let theta = reference["theta"].as_f64().unwrap();
    let objective = reference["objective"].as_f64().unwrap();
    assert!((f(&[theta]) - objective).abs() < 1e-6 * objective);
    let check = check_convergence(f, &theta_input(theta), &Default::default()).unwrap();
    assert!(check.messages.is_empty(), "{:?}", check.messages);
    assert!(check.gradient_max_abs < 1e-3 && check.positive_definite);
    // Off the optimum by 0.05 the gradient test fires.
    let check = check_convergence(f, &theta_input(theta + 0.05), &Default::default()).unwrap();
    assert_eq!(check.messages[0].kind, MessageKind::Gradient);
}

/// sleepstudy's design for `Reaction ~ 1 + days + (1 + days | Subject)`, Days scaled by `scale`.
fn sleepstudy_design(scale: f64) -> Design {
    let dataset = "sleepstudy";
    let days: Vec<f64> = numeric(dataset, "Days").iter().map(|d| d * scale).collect();
    let (levels, codes) = factor(dataset, "Subject");
    let n = days.len();
    let xz = DenseMatrix {
        nrows: n,
        ncols: 2,
        data: [vec![1.0; n], days].concat(),
    };
    Design {
        response: "Reaction".into(),
        y: numeric(dataset, "Reaction"),
        x: xz.clone(),
        x_names: vec!["(Intercept)".into(), "Days".into()],
        aliased: vec![],
        random: vec![RandomTermDesign {
            group: "Subject".into(),
            levels: levels.into(),
            codes,
            names: vec!["(Intercept)".into(), "Days".into()],
            z: xz,
            covariance: CovarianceKind::Unstructured,
        }],
        weights: None,
        offset: None,
        n_dropped: 0,
        row_index: (0..n).collect(),
    }
}

#[test]
fn sleepstudy_design_has_a_few_levels_note_and_days_times_a_million_needs_rescaling() {
    // 18 subjects: only the note that a variance from fewer than ~20 groups is imprecise.
    let report = check_design(&sleepstudy_design(1.0));
    let kinds: Vec<MessageKind> = report.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [MessageKind::FewLevels], "{:?}", report.messages);
    assert_eq!((report.groups[0].min, report.groups[0].max), (10, 10));
    let report = check_design(&sleepstudy_design(1e6));
    assert_eq!(report.messages.len(), 2);
    let scale = report
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::Scale)
        .unwrap();
    assert!(
        scale.advice.contains("divide `Days` by 1e6"),
        "{}",
        scale.advice
    );
}

#[test]
fn per_observation_random_effects_are_overparameterized() {
    // (1 + Days | obs): one level per observation, 2 effects each.
    let mut d = sleepstudy_design(1.0);
    let n = d.y.len();
    d.random[0].group = "obs".into();
    d.random[0].levels = (0..n).map(|i| i.to_string()).collect();
    d.random[0].codes = (0..n as u32).collect();
    let report = check_design(&d);
    let kinds: Vec<MessageKind> = report.messages.iter().map(|m| m.kind).collect();
    assert!(kinds.contains(&MessageKind::Overparameterized), "{kinds:?}");
    assert!(kinds.contains(&MessageKind::SmallGroups), "{kinds:?}");
    assert!(report
        .messages
        .iter()
        .any(|m| m.text.contains("360 random effects for 180 observations")));
}

#[test]
fn report_serializes_with_the_cli_keys() {
    let (y, codes, k) = dyestuff("dyestuff2");
    let check = check_convergence(
        |t: &[f64]| one_way_deviance(&y, &codes, k, t[0]),
        &theta_input(0.0),
        &Default::default(),
    )
    .unwrap();
    let mut report = Diagnostics::default();
    report.add_convergence(&check);
    report.add_normality(&y, &[]);
    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "messages",
        "gradient_max_abs",
        "hessian_min_eigenvalue",
        "residual_normality",
        "influential_groups",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["messages"][0]["kind"], "singular");
    assert!(json["messages"][0]["advice"]
        .as_str()
        .unwrap()
        .contains("(x || g)"));
    assert_eq!(json["residual_normality"]["test"], "Shapiro-Wilk");
    assert!(json["residual_normality"]["p_value"].as_f64().unwrap() > 0.0);
    assert!(
        json["hessian_min_eigenvalue"].is_null(),
        "no interior parameter"
    );
}
