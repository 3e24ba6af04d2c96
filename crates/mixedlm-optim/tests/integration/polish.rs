//! The gradient polish after derivative-free solvers (`OptimOptions::polish`), on a valley
//! as badly scaled as a random slope in seconds instead of hours.

use mixedlm_optim::{minimize, Objective, OptimOptions, OptimizerName};

/// Rosenbrock's valley with its second coordinate in millionths: f(a, b) =
/// 100 (b/s − a²)² + (1 − a)² + 100, s = 1e-6 (minimum 100 at a = 1, b = s), with its
/// analytic gradient; counts calls.
struct Valley {
    has_gradient: bool,
    values: usize,
}

const S: f64 = 1e-6;

impl Objective for Valley {
    fn dim(&self) -> usize {
        2
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        self.values += 1;
        let u = x[1] / S;
        100.0 * (u - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2) + 100.0
    }
    fn gradient(&mut self, x: &[f64], g: &mut [f64]) -> bool {
        if !self.has_gradient {
            return false;
        }
        let u = x[1] / S;
        g[0] = -400.0 * x[0] * (u - x[0] * x[0]) - 2.0 * (1.0 - x[0]);
        g[1] = 200.0 * (u - x[0] * x[0]) / S;
        true
    }
    fn has_gradient(&self) -> bool {
        self.has_gradient
    }
}

fn run(name: OptimizerName, polish: bool, has_gradient: bool) -> (f64, bool, usize, usize) {
    let mut obj = Valley {
        has_gradient,
        values: 0,
    };
    let opts = OptimOptions {
        optimizer: name,
        polish,
        lower: vec![0.0, 0.0],
        final_step: 1e-5,
        ..OptimOptions::default()
    };
    let r = minimize(&mut obj, &[0.5, 0.2e-6], &opts).unwrap();
    assert_eq!(r.evaluations, obj.values, "{name}: honest count");
    (
        r.objective - 100.0,
        r.converged,
        r.evaluations,
        r.gradient_evaluations,
    )
}

#[test]
fn trust_polish_finishes_what_derivative_free_solvers_leave() {
    for name in [
        OptimizerName::Bobyqa,
        OptimizerName::NelderMead,
        OptimizerName::Powell,
    ] {
        let (before, _, evals, grads) = run(name, false, true);
        let (after, converged, evals_p, grads_p) = run(name, true, true);
        eprintln!("{name}: excess {before:.3e} in {evals} evaluations ({grads} gradients); polished {after:.3e} in {evals_p} ({grads_p})");
        assert!(after < 1e-10, "{name}: polished excess {after:e}");
        assert!(after <= before, "{name}");
        assert!(converged, "{name}");
        // Without a gradient, or without asking, nothing changes.
        assert_eq!(run(name, true, false), run(name, false, false), "{name}");
        assert_eq!(grads, 0, "{name}: no polish, no gradient");
    }
    // (The model-level case where the derivative-free solvers stop far from the optimum,
    // a random slope in seconds, is tested in the facade: trust_converged_*.)
}

#[test]
fn trust_polish_is_not_applied_to_gradient_solvers() {
    for name in [OptimizerName::Bfgs, OptimizerName::Auto] {
        assert_eq!(run(name, true, true), run(name, false, true), "{name}");
    }
}
