use super::*;
use crate::MessageKind;

fn input(theta: &[f64], lower: &[f64]) -> ConvergenceInput {
    ConvergenceInput {
        theta: theta.to_vec(),
        lower: lower.to_vec(),
        evaluations: 40,
        max_evaluations: Some(1000),
        optimizer: "bobyqa".into(),
        ..Default::default()
    }
}

fn kinds(c: &ConvergenceCheck) -> Vec<MessageKind> {
    c.messages.iter().map(|m| m.kind).collect()
}

fn quadratic(t: &[f64]) -> f64 {
    let (a, b) = (t[0] - 1.0, t[1] - 2.0);
    a * a + 10.0 * b * b + a * b
}

#[test]
fn clean_optimum_has_no_messages() {
    let c = check_convergence(
        quadratic,
        &input(&[1.0, 2.0], &[0.0, 0.0]),
        &Default::default(),
    )
    .unwrap();
    assert!(c.messages.is_empty(), "{:?}", c.messages);
    assert!(c.gradient_max_abs < 1e-8);
    // Hessian [[2, 1], [1, 20]]: eigenvalues 11 ∓ √82.
    let expected = [11.0 - 82f64.sqrt(), 11.0 + 82f64.sqrt()];
    for (e, x) in c.hessian_eigenvalues.iter().zip(expected) {
        assert!((e - x).abs() < 1e-5, "{e} vs {x}");
    }
    assert!((c.hessian[1] - 1.0).abs() < 1e-5 && (c.hessian[2] - 1.0).abs() < 1e-5);
    assert!(c.positive_definite && !c.singular);
}

#[test]
fn off_optimum_reports_gradient_with_advice() {
    let c = check_convergence(
        quadratic,
        &input(&[1.01, 2.0], &[0.0, 0.0]),
        &Default::default(),
    )
    .unwrap();
    // g = (2·0.01, 0.01) = (0.02, 0.01); H⁻¹g = (0.01, 0).
    assert!((c.gradient[0] - 0.02).abs() < 1e-7 && (c.gradient[1] - 0.01).abs() < 1e-7);
    let s = c.scaled_gradient.clone().unwrap();
    assert!((s[0] - 0.01).abs() < 1e-6 && s[1].abs() < 1e-6);
    assert!((c.scaled_gradient_max_abs - 0.01).abs() < 1e-6);
    assert_eq!(kinds(&c), vec![MessageKind::Gradient]);
    // bobyqa ran: the advice names the others, never bobyqa itself.
    let advice = &c.messages[0].advice;
    assert!(!advice.contains("--optimizer bobyqa"), "{advice}");
    assert!(advice.contains("--optimizer bfgs") && advice.contains("--optimizer nelder-mead"));
    assert!(advice.contains("Rescale or center"));
}

#[test]
fn trust_advice_never_names_the_optimizer_that_ran() {
    for ran in ["bobyqa", "bfgs", "nelder-mead", "powell", ""] {
        let mut inp = input(&[1.01, 2.0], &[0.0, 0.0]);
        inp.optimizer = ran.into();
        inp.evaluations = 1000; // also the budget message
        let c = check_convergence(quadratic, &inp, &Default::default()).unwrap();
        assert!(c.messages.len() >= 2, "{:?}", c.messages);
        for m in &c.messages {
            let named = format!("--optimizer {ran}`");
            assert!(
                ran.is_empty() || !m.advice.contains(&named),
                "{ran}: {}",
                m.advice
            );
            assert!(m.advice.matches("--optimizer").count() >= 2, "{}", m.advice);
        }
    }
}

#[test]
fn boundary_parameter_is_singular_and_excluded_from_gradient_test() {
    // The unconstrained minimum is at θ0 = -1: at the bound 0 the slope is 2, as in a
    // variance component estimated at zero.
    let f = |t: &[f64]| (t[0] + 1.0).powi(2) + (t[1] - 0.5).powi(2);
    let mut inp = input(&[0.0, 0.5], &[0.0, f64::NEG_INFINITY]);
    inp.names = vec!["Batch: (Intercept)".into(), "corr".into()];
    let c = check_convergence(f, &inp, &Default::default()).unwrap();
    assert_eq!(c.boundary, vec![0]);
    assert_eq!(c.interior, vec![1]);
    assert!(
        (c.gradient[0] - 2.0).abs() < 1e-3,
        "one-sided gradient {}",
        c.gradient[0]
    );
    assert_eq!(kinds(&c), vec![MessageKind::Singular]);
    assert!(c.messages[0].text.contains("Batch: (Intercept)"));
    assert!(c.messages[0].advice.contains("(x || g)"));
}

#[test]
fn saddle_point_reports_negative_eigenvalue() {
    let f = |t: &[f64]| t[0] * t[0] - t[1] * t[1];
    let c = check_convergence(
        f,
        &input(&[0.0, 0.0], &[f64::NEG_INFINITY; 2]),
        &Default::default(),
    )
    .unwrap();
    assert!(!c.positive_definite);
    assert!((c.hessian_min_eigenvalue + 2.0).abs() < 1e-5);
    assert_eq!(kinds(&c), vec![MessageKind::Hessian]);
    assert!(c.messages[0].text.contains("1 negative eigenvalue"));
}

#[test]
fn badly_scaled_parameters_report_unidentifiable() {
    let f = |t: &[f64]| 1e4 * t[0] * t[0] + 1e-5 * t[1] * t[1];
    let c = check_convergence(
        f,
        &input(&[0.0, 0.0], &[f64::NEG_INFINITY; 2]),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(kinds(&c), vec![MessageKind::Hessian]);
    assert!(c.messages[0].advice.contains("Rescale"));
}

#[test]
fn exhausted_evaluations_are_reported() {
    let mut inp = input(&[1.0, 2.0], &[0.0, 0.0]);
    inp.evaluations = 1000;
    let c = check_convergence(quadratic, &inp, &Default::default()).unwrap();
    assert_eq!(kinds(&c), vec![MessageKind::MaxEval]);
    assert!(c.messages[0]
        .text
        .contains("bobyqa stopped after using all 1000"));
}

#[test]
fn invalid_inputs_are_errors() {
    let inp = input(&[1.0, 2.0], &[0.0]);
    assert!(check_convergence(quadratic, &inp, &Default::default()).is_err());
    let inp = input(&[1.0, 2.0], &[0.0, 0.0]);
    assert!(check_convergence(|_: &[f64]| f64::NAN, &inp, &Default::default()).is_err());
}

#[test]
fn each_point_is_evaluated_once() {
    // 2 interior parameters: θ̂, 4 gradient points (reused by the Hessian's diagonal) and 4
    // cross points = 9 evaluations, not 13.
    let mut count = 0;
    let c = check_convergence(
        |t: &[f64]| {
            count += 1;
            quadratic(t)
        },
        &input(&[1.0, 2.0], &[0.0, 0.0]),
        &Default::default(),
    )
    .unwrap();
    assert!(c.positive_definite);
    assert_eq!(count, 9);
}
