//! Optimality: random perturbations of θ around the reported optimum never
//! lower the objective (beyond the optimizer's stopping tolerance).

use mixedlm::lmer;
use mixedlm::model::{LinearMixedModel, ModelOptions};
use mixedlm_tests::strategies::{config, nested_spec, slope_spec};
use mixedlm_tests::SimData;
use proptest::prelude::*;

/// Checks f(θ̂ + δ) ≥ f(θ̂) − tol for each perturbation, projected on θ's lower bounds.
fn check_perturbations(
    d: &SimData,
    formula: &str,
    deltas: &[Vec<f64>],
) -> Result<(), TestCaseError> {
    let batch = d.to_record_batch().expect("batch");
    let r = lmer(formula, &batch).unwrap_or_else(|e| panic!("{formula}: {e}"));
    let mut model = LinearMixedModel::new(r.design(), ModelOptions { reml: true }).expect("model");
    let theta = r.theta().to_vec();
    let lower = model.theta_lower();
    let best = model.objective(&theta);
    prop_assert!(
        (best - r.objective()).abs() <= 1e-9 * best.abs().max(1.0),
        "re-evaluation {best} vs {}",
        r.objective()
    );
    let tol = 1e-7 * best.abs().max(1.0);
    for delta in deltas {
        let t: Vec<f64> = theta
            .iter()
            .zip(delta.iter().cycle())
            .zip(&lower)
            .map(|((x, d), lo)| (x + d).max(*lo))
            .collect();
        let f = model.objective(&t);
        prop_assert!(
            f >= best - tol,
            "objective {f} at {t:?} below optimum {best} at {theta:?}"
        );
    }
    Ok(())
}

fn deltas(scale: f64) -> impl Strategy<Value = Vec<Vec<f64>>> {
    proptest::collection::vec(proptest::collection::vec(-scale..scale, 3), 1..12)
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn prop_optimality_slopes_small_perturbations(spec in slope_spec(3..8, 3..7), d in deltas(1e-2)) {
        check_perturbations(&spec.generate(), "y ~ 1 + x + (1 + x | g)", &d)?;
    }

    #[test]
    fn prop_optimality_slopes_large_perturbations(spec in slope_spec(3..8, 3..7), d in deltas(1.0)) {
        check_perturbations(&spec.generate(), "y ~ 1 + x + (1 + x | g)", &d)?;
    }

    #[test]
    fn prop_optimality_nested_perturbations(spec in nested_spec(), d in deltas(0.3)) {
        check_perturbations(&spec.generate(), "y ~ 1 + (1 | a) + (1 | a:b)", &d)?;
    }
}
