//! Solver tests: classic test functions, bounds, budgets, logs, names.

use mixedlm_optim::{
    brent_minimize, minimize, BoundsHandling, Objective, OptimError, OptimOptions, OptimizerName,
};
use proptest::prelude::*;

/// A closure as an objective, counting calls.
struct Func<F: FnMut(&[f64]) -> f64> {
    n: usize,
    f: F,
    calls: usize,
}

impl<F: FnMut(&[f64]) -> f64> Objective for Func<F> {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        self.calls += 1;
        (self.f)(x)
    }
}

fn func<F: FnMut(&[f64]) -> f64>(n: usize, f: F) -> Func<F> {
    Func { n, f, calls: 0 }
}

fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

fn opts(name: OptimizerName) -> OptimOptions {
    OptimOptions {
        optimizer: name,
        ..OptimOptions::default()
    }
}

#[test]
fn rosenbrock_2d_all_solvers() {
    for name in OptimizerName::ALL {
        let mut obj = func(2, rosenbrock);
        let rec = minimize(&mut obj, &[-1.2, 1.0], &opts(name)).unwrap();
        assert!(rec.converged, "{name}: {}", rec.termination);
        assert!(rec.objective < 1e-9, "{name}: f = {:e}", rec.objective);
        for v in &rec.theta {
            assert!((v - 1.0).abs() < 1e-4, "{name}: {:?}", rec.theta);
        }
        assert_eq!(rec.evaluations, obj.calls, "{name}: honest count");
        assert_eq!(rec.bounds_handling, BoundsHandling::Unbounded);
    }
}

#[test]
fn rosenbrock_4d_all_solvers() {
    for name in OptimizerName::ALL {
        let mut obj = func(4, rosenbrock);
        let o = OptimOptions {
            max_evaluations: 40_000,
            ..opts(name)
        };
        let rec = minimize(&mut obj, &[-1.2, 1.0, -1.2, 1.0], &o).unwrap();
        assert!(rec.converged, "{name}: {}", rec.termination);
        assert!(
            rec.objective < 1e-8,
            "{name}: f = {:e} after {}",
            rec.objective,
            rec.evaluations
        );
    }
}

/// (x0 + 1)^2 + (x1 - 2)^2 on x0 >= 0, x1 <= 1.5: optimum (0, 1.5), f = 1.25.
fn bounded_quadratic(x: &[f64]) -> f64 {
    (x[0] + 1.0).powi(2) + (x[1] - 2.0).powi(2)
}

#[test]
fn bounded_quadratic_optimum_on_the_bound() {
    for name in OptimizerName::ALL {
        let mut obj = func(2, bounded_quadratic);
        let o = OptimOptions {
            lower: vec![0.0, f64::NEG_INFINITY],
            upper: vec![f64::INFINITY, 1.5],
            ..opts(name)
        };
        let rec = minimize(&mut obj, &[1.0, 0.0], &o).unwrap();
        assert!(rec.converged, "{name}: {}", rec.termination);
        assert!(
            rec.theta[0] >= 0.0 && rec.theta[1] <= 1.5,
            "{name}: infeasible {:?}",
            rec.theta
        );
        assert!(
            rec.theta[0] < 1e-6 && (rec.theta[1] - 1.5).abs() < 1e-6,
            "{name}: {:?}",
            rec.theta
        );
        assert!(
            (rec.objective - 1.25).abs() < 1e-9,
            "{name}: {}",
            rec.objective
        );
        // `auto` runs bobyqa here: the objective has no analytic gradient
        if name.resolve(false) == OptimizerName::Bobyqa {
            assert_eq!(rec.optimizer, OptimizerName::Bobyqa);
            assert_eq!(
                rec.theta,
                vec![0.0, 1.5],
                "bobyqa lands on the bound exactly"
            );
            assert_eq!(rec.bounds_handling, BoundsHandling::Native);
        } else {
            assert_eq!(rec.bounds_handling, BoundsHandling::Projection);
        }
    }
}

#[test]
fn one_dimensional_problem() {
    for name in OptimizerName::ALL {
        let mut obj = func(1, |x: &[f64]| (x[0] - 0.3).powi(2) + 2.0);
        let o = OptimOptions {
            lower: vec![0.0],
            ..opts(name)
        };
        let rec = minimize(&mut obj, &[1.0], &o).unwrap();
        assert!(rec.converged, "{name}: {}", rec.termination);
        assert!((rec.theta[0] - 0.3).abs() < 1e-5, "{name}: {:?}", rec.theta);
        assert!((rec.objective - 2.0).abs() < 1e-10, "{name}");
    }
}

#[test]
fn fixed_coordinates_are_held() {
    for name in OptimizerName::ALL {
        let mut obj = func(3, |x: &[f64]| {
            (x[0] - 1.0).powi(2) + (x[1] - x[2]).powi(2) + x[2] * x[2]
        });
        let o = OptimOptions {
            lower: vec![0.0, 0.7, -5.0],
            upper: vec![5.0, 0.7, 5.0],
            ..opts(name)
        };
        let rec = minimize(&mut obj, &[0.5, 0.7, 0.0], &o).unwrap();
        assert!(rec.converged, "{name}: {}", rec.termination);
        assert_eq!(rec.theta[1], 0.7, "{name}");
        assert!(
            (rec.theta[2] - 0.35).abs() < 1e-5,
            "{name}: {:?}",
            rec.theta
        );
    }
}

#[test]
fn exhausted_budget_is_not_converged() {
    for name in OptimizerName::ALL {
        let mut obj = func(4, rosenbrock);
        let o = OptimOptions {
            max_evaluations: 30,
            ..opts(name)
        };
        let rec = minimize(&mut obj, &[-1.2, 1.0, -1.2, 1.0], &o).unwrap();
        assert!(!rec.converged, "{name}");
        assert!(
            rec.termination.contains("maximum evaluations"),
            "{name}: {}",
            rec.termination
        );
        assert!(
            rec.evaluations <= 30 && obj.calls <= 30,
            "{name}: {} evaluations",
            rec.evaluations
        );
        assert!(rec.objective <= rec.initial_objective, "{name}");
    }
}

#[test]
fn log_records_every_evaluation() {
    for name in OptimizerName::ALL {
        let mut obj = func(2, rosenbrock);
        let o = OptimOptions {
            record_log: true,
            ..opts(name)
        };
        let rec = minimize(&mut obj, &[-1.2, 1.0], &o).unwrap();
        assert_eq!(rec.log.len(), rec.evaluations, "{name}");
        let best = rec.log.iter().map(|e| e.1).fold(f64::INFINITY, f64::min);
        assert_eq!(best, rec.objective, "{name}");
        assert_eq!(
            rec.log[0].0,
            vec![-1.2, 1.0],
            "{name}: first entry is the start"
        );
        let rec2 = minimize(&mut func(2, rosenbrock), &[-1.2, 1.0], &opts(name)).unwrap();
        assert!(rec2.log.is_empty(), "{name}: no log unless asked");
    }
}

#[test]
fn non_finite_regions_are_avoided() {
    // Undefined (NaN) for x0 < 0.2: the solvers must stay out and still find (0.5, 0.5).
    for name in OptimizerName::ALL {
        let mut obj = func(2, |x: &[f64]| {
            if x[0] < 0.2 {
                f64::NAN
            } else {
                (x[0] - 0.5).powi(2) + (x[1] - 0.5).powi(2)
            }
        });
        let rec = minimize(&mut obj, &[1.0, 1.0], &opts(name)).unwrap();
        assert!(
            rec.objective.is_finite() && rec.objective < 1e-9,
            "{name}: {}",
            rec.objective
        );
    }
}

#[test]
fn names_parse_and_errors_list_valid_names() {
    for name in OptimizerName::ALL {
        assert_eq!(name.to_string().parse::<OptimizerName>().unwrap(), name);
    }
    assert_eq!(
        "Nelder_Mead".parse::<OptimizerName>().unwrap(),
        OptimizerName::NelderMead
    );
    assert_eq!(
        "BOBYQA".parse::<OptimizerName>().unwrap(),
        OptimizerName::Bobyqa
    );
    let err = "lbfgsb".parse::<OptimizerName>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown optimizer 'lbfgsb'; valid names are bobyqa, bfgs, nelder-mead, powell"
    );
}

#[test]
fn invalid_input_is_a_typed_error() {
    let mut obj = func(2, rosenbrock);
    let e = minimize(&mut obj, &[1.0], &OptimOptions::default()).unwrap_err();
    assert!(matches!(
        e,
        OptimError::Dimension {
            what: "x0",
            expected: 2,
            got: 1
        }
    ));
    let o = OptimOptions {
        lower: vec![0.0, 0.0],
        ..OptimOptions::default()
    };
    let e = minimize(&mut obj, &[-1.0, 1.0], &o).unwrap_err();
    assert!(
        matches!(e, OptimError::StartOutsideBounds { index: 0, .. }),
        "{e}"
    );
    let o = OptimOptions {
        lower: vec![1.0, 0.0],
        upper: vec![0.0, 1.0],
        ..OptimOptions::default()
    };
    assert!(matches!(
        minimize(&mut obj, &[0.5, 0.5], &o),
        Err(OptimError::InvalidBounds { index: 0, .. })
    ));
    let mut inf = func(1, |_: &[f64]| f64::INFINITY);
    assert!(matches!(
        minimize(&mut inf, &[0.0], &OptimOptions::default()),
        Err(OptimError::NonFiniteStart { .. })
    ));
    let b = OptimOptions::builder()
        .initial_step(-1.0)
        .build()
        .unwrap_err();
    assert!(
        b.to_string().contains("initial_step") && b.to_string().contains("positive"),
        "{b}"
    );
    let b = OptimOptions::builder()
        .max_evaluations(1)
        .build()
        .unwrap_err();
    assert!(b.to_string().contains("max_evaluations"), "{b}");
    let ok = OptimOptions::builder()
        .optimizer(OptimizerName::Powell)
        .bounds(vec![0.0], vec![1.0])
        .record_log(true)
        .build()
        .unwrap();
    assert_eq!(ok.optimizer, OptimizerName::Powell);
}

#[test]
fn brent_finds_a_one_dimensional_minimum() {
    let r = brent_minimize(
        |x| (x - 1.234).powi(2) + 0.1 * (x - 1.234).powi(4),
        -3.0,
        5.0,
        1e-10,
        1e-12,
        200,
    );
    assert!(r.converged);
    assert!((r.x - 1.234).abs() < 1e-7, "{}", r.x);
    let r = brent_minimize(|x| x.cos(), 0.0, 6.0, 1e-10, 1e-12, 200);
    assert!((r.x - std::f64::consts::PI).abs() < 1e-7, "{}", r.x);
}

/// A profiled-deviance-shaped objective: θ -> log det(I + V'V) + n log(rss(θ)), with V
/// depending on θ = (a, b, c) like a 2×2 relative factor; smooth, with a unique interior
/// minimum in θ_diag >= 0.
fn profile_like(t: &[f64]) -> f64 {
    let (a, b, c) = (t[0], t[1], t[2]);
    // TT' entries for T = [[a, 0], [b, c]] scaled by a data-like Gram matrix.
    let (s11, s12, s22) = (a * a, a * b, b * b + c * c);
    let (g11, g12, g22) = (4.0, 1.0, 3.0);
    let m11 = 1.0 + g11 * s11 + g12 * s12;
    let m22 = 1.0 + g22 * s22 + g12 * s12;
    let m12 = g12 * (s11 + s22) * 0.5 + g11 * s12 * 0.25;
    let logdet = (m11 * m22 - m12 * m12).ln();
    let rss = 2.0 + 5.0 / m11 + 3.0 / m22 + 0.5 * (a - 0.8).powi(2) + 0.3 * (b + 0.2).powi(2);
    logdet + 40.0 * (rss / 40.0).ln() + 40.0
}

#[test]
fn profile_like_reached_by_all_solvers() {
    let lower = vec![0.0, f64::NEG_INFINITY, 0.0];
    let reference = {
        let o = OptimOptions {
            lower: lower.clone(),
            final_step: 1e-10,
            ..opts(OptimizerName::Bobyqa)
        };
        minimize(&mut func(3, profile_like), &[1.0, 0.0, 1.0], &o).unwrap()
    };
    assert!(reference.converged);
    for name in OptimizerName::ALL {
        let o = OptimOptions {
            lower: lower.clone(),
            ..opts(name)
        };
        let rec = minimize(&mut func(3, profile_like), &[1.0, 0.0, 1.0], &o).unwrap();
        assert!(rec.converged, "{name}: {}", rec.termination);
        let rel = (rec.objective - reference.objective).abs() / reference.objective.abs();
        assert!(
            rel < 1e-7,
            "{name}: {} vs {} (rel {rel:e})",
            rec.objective,
            reference.objective
        );
        assert!(rec.objective >= reference.objective - 1e-9 * reference.objective.abs());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Random convex quadratics 0.5 (x - m)' A (x - m) + c with A = B B' + I/2.
    #[test]
    fn prop_convex_quadratics_minimized_by_all(
        (n, b, m) in (1usize..5).prop_flat_map(|n| (
            Just(n),
            prop::collection::vec(-1.0f64..1.0, n * n),
            prop::collection::vec(-2.0f64..2.0, n),
        )),
        c in -5.0f64..5.0,
    ) {
        let a: Vec<f64> = (0..n * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum::<f64>() + if i == j { 0.5 } else { 0.0 }
            })
            .collect();
        let q = |x: &[f64]| -> f64 {
            let d: Vec<f64> = x.iter().zip(&m).map(|(xi, mi)| xi - mi).collect();
            0.5 * (0..n).map(|i| (0..n).map(|j| d[i] * a[i * n + j] * d[j]).sum::<f64>()).sum::<f64>() + c
        };
        for name in OptimizerName::ALL {
            let rec = minimize(&mut func(n, q), &vec![0.0; n], &opts(name)).unwrap();
            prop_assert!(rec.converged, "{}: {}", name, rec.termination);
            prop_assert!((rec.objective - c).abs() < 1e-6, "{}: {} vs {}", name, rec.objective, c);
        }
    }
}

/// Rosenbrock with its analytic gradient.
struct RosenbrockWithGradient {
    gradient_calls: usize,
}

impl Objective for RosenbrockWithGradient {
    fn dim(&self) -> usize {
        2
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        rosenbrock(x)
    }
    fn gradient(&mut self, x: &[f64], grad: &mut [f64]) -> bool {
        self.gradient_calls += 1;
        grad[0] = -400.0 * x[0] * (x[1] - x[0] * x[0]) - 2.0 * (1.0 - x[0]);
        grad[1] = 200.0 * (x[1] - x[0] * x[0]);
        true
    }
}

#[test]
fn bfgs_uses_an_analytic_gradient() {
    let mut obj = RosenbrockWithGradient { gradient_calls: 0 };
    let rec = minimize(&mut obj, &[-1.2, 1.0], &opts(OptimizerName::Bfgs)).unwrap();
    assert!(rec.converged, "{}", rec.termination);
    assert!(rec.objective < 1e-12, "{:e}", rec.objective);
    assert_eq!(rec.gradient_evaluations, obj.gradient_calls);
    let fd = minimize(
        &mut func(2, rosenbrock),
        &[-1.2, 1.0],
        &opts(OptimizerName::Bfgs),
    )
    .unwrap();
    assert!(
        rec.evaluations < fd.evaluations,
        "{} vs {}",
        rec.evaluations,
        fd.evaluations
    );
}

/// A large objective (|f| = 1e7, so gtol_rel * |f| = 0.1) whose reported gradient carries
/// an error of ±0.5 in its first entry that changes sign from call to call, as rounding
/// errors do in the gradients of large LMM objectives: the gradient never meets gtol_rel
/// near the optimum, but the quadratic model predicts no decrease the objective's
/// tolerance (ftol_rel * |f| = 1e-5) would see.
struct NoisyBowl {
    calls: usize,
}

impl Objective for NoisyBowl {
    fn dim(&self) -> usize {
        3
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        1e7 + 0.5 * (1e5 * x[0] * x[0] + 1e3 * (x[1] - 1.0).powi(2) + 1e2 * x[2] * x[2])
    }
    fn gradient(&mut self, x: &[f64], grad: &mut [f64]) -> bool {
        self.calls += 1;
        let noise = if self.calls % 2 == 0 { 0.5 } else { -0.5 };
        grad[0] = 1e5 * x[0] + noise;
        grad[1] = 1e3 * (x[1] - 1.0);
        grad[2] = 1e2 * x[2];
        true
    }
}

#[test]
fn bfgs_stops_when_no_visible_decrease_is_left() {
    let mut obj = NoisyBowl { calls: 0 };
    let rec = minimize(&mut obj, &[0.3, 0.2, -0.4], &opts(OptimizerName::Bfgs)).unwrap();
    assert!(rec.converged, "{}", rec.termination);
    assert!(
        rec.termination.starts_with("predicted further decrease"),
        "{}",
        rec.termination
    );
    assert!(rec.objective - 1e7 < 1e-4, "{}", rec.objective - 1e7);
    assert!((rec.theta[1] - 1.0).abs() < 1e-3 && rec.theta[2].abs() < 1e-2);
}

#[test]
fn record_serializes_with_kebab_case_names() {
    let o = OptimOptions {
        record_log: true,
        ..opts(OptimizerName::NelderMead)
    };
    let rec = minimize(&mut func(1, |x: &[f64]| x[0] * x[0]), &[1.0], &o).unwrap();
    let json = serde_json::to_value(&rec).unwrap();
    assert_eq!(json["optimizer"], "nelder-mead");
    assert_eq!(json["bounds_handling"], "unbounded");
    assert_eq!(json["converged"], true);
    assert_eq!(json["log"].as_array().map(Vec::len), Some(rec.evaluations));
    let back: mixedlm_optim::OptimRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, rec);
}

/// Powell is an ordinary argmin solver: drive it with argmin's Executor directly.
#[test]
fn powell_runs_under_argmin_executor() {
    use argmin::core::{CostFunction, Error, Executor, State, TerminationReason};
    struct Booth;
    impl CostFunction for Booth {
        type Param = Vec<f64>;
        type Output = f64;
        fn cost(&self, p: &Vec<f64>) -> Result<f64, Error> {
            Ok((p[0] + 2.0 * p[1] - 7.0).powi(2) + (2.0 * p[0] + p[1] - 5.0).powi(2))
        }
    }
    let result = Executor::new(Booth, mixedlm_optim::Powell::new(1e-14, 1e-10, 0.5))
        .configure(|s| s.param(vec![0.0, 0.0]).max_iters(100))
        .run()
        .unwrap();
    assert_eq!(
        result.state.get_termination_reason(),
        Some(&TerminationReason::SolverConverged)
    );
    let best = result.state.get_best_param().unwrap();
    assert!(
        (best[0] - 1.0).abs() < 1e-6 && (best[1] - 3.0).abs() < 1e-6,
        "{best:?}"
    );
}

#[test]
fn narrow_box_narrower_than_the_initial_step() {
    // Width 0.1 < 2 * initial_step: bobyqa's rho_begin is reduced to fit the box.
    for name in OptimizerName::ALL {
        let o = OptimOptions {
            lower: vec![0.0, 0.0],
            upper: vec![0.1, 0.1],
            ..opts(name)
        };
        let rec = minimize(&mut func(2, rosenbrock), &[0.05, 0.05], &o).unwrap();
        assert!(rec.converged, "{name}: {}", rec.termination);
        // On the box the minimum is at x0 = 0.1, x1 = 0.01 (the valley x1 = x0^2).
        assert!((rec.theta[0] - 0.1).abs() < 1e-6, "{name}: {:?}", rec.theta);
        assert!(
            (rec.theta[1] - 0.01).abs() < 1e-5,
            "{name}: {:?}",
            rec.theta
        );
    }
}

/// A quadratic with its minimum at (0.3, 2.0).
fn bowl(x: &[f64]) -> f64 {
    (x[0] - 0.3).powi(2) + 0.5 * (x[1] - 2.0).powi(2)
}

#[test]
fn alternative_start_is_taken_only_when_better() {
    use mixedlm_optim::AlternativeStart;
    let alt = |x: Vec<f64>| OptimOptions {
        optimizer: OptimizerName::Bobyqa,
        lower: vec![0.0, 0.0],
        record_log: true,
        alternative_start: Some(AlternativeStart {
            x,
            initial_step: 0.05,
        }),
        ..OptimOptions::default()
    };
    // better: evaluated second, and the solver's first point is it (no re-evaluation)
    let mut obj = func(2, bowl);
    let rec = minimize(&mut obj, &[1.0, 1.0], &alt(vec![0.35, 1.9])).unwrap();
    assert!(rec.converged, "{}", rec.termination);
    assert!(rec.objective < 1e-12, "{}", rec.objective);
    assert_eq!(rec.log[1].0, vec![0.35, 1.9]);
    assert_eq!(rec.evaluations, obj.calls, "honest count");
    assert_eq!(rec.log.len(), rec.evaluations);
    let dup = rec.log.iter().filter(|(x, _)| *x == [0.35, 1.9]).count();
    assert_eq!(dup, 1, "the chosen start is evaluated once");
    let first_step = (rec.log[2].0[0] - 0.35)
        .abs()
        .max((rec.log[2].0[1] - 1.9).abs());
    assert!(
        first_step <= 0.05 + 1e-12,
        "alternative's step: {first_step}"
    );
    // worse: evaluated, then ignored; the run matches one without it, plus one evaluation
    let mut plain = func(2, bowl);
    let base = OptimOptions {
        alternative_start: None,
        ..alt(vec![0.0, 0.0])
    };
    let without = minimize(&mut plain, &[1.0, 1.0], &base).unwrap();
    let mut obj = func(2, bowl);
    let with = minimize(&mut obj, &[1.0, 1.0], &alt(vec![5.0, 9.0])).unwrap();
    assert_eq!(with.evaluations, without.evaluations + 1);
    assert_eq!(with.theta, without.theta);
    assert_eq!(with.log[1].0, vec![5.0, 9.0]);
    assert_eq!(with.log[2..], without.log[1..]);
}

#[test]
fn alternative_start_is_validated() {
    use mixedlm_optim::AlternativeStart;
    let bad = |x: Vec<f64>, initial_step: f64| OptimOptions {
        optimizer: OptimizerName::Bobyqa,
        lower: vec![0.0, 0.0],
        alternative_start: Some(AlternativeStart { x, initial_step }),
        ..OptimOptions::default()
    };
    let run = |o: OptimOptions| minimize(&mut func(2, bowl), &[1.0, 1.0], &o);
    assert!(matches!(
        run(bad(vec![1.0], 0.1)),
        Err(OptimError::Dimension { .. })
    ));
    assert!(matches!(
        run(bad(vec![-1.0, 1.0], 0.1)),
        Err(OptimError::StartOutsideBounds { index: 0, .. })
    ));
    assert!(matches!(
        run(bad(vec![1.0, 1.0], 0.0)),
        Err(OptimError::InvalidOption { .. })
    ));
}
