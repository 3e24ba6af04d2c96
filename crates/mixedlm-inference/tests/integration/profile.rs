//! Profile-likelihood intervals against lme4's `confint(method = "profile")`.

use crate::common::{inference_reference, reference_design, result, theta};
use mixedlm_inference::{profile_intervals, DenseLmm, ProfileOptions};
use serde_json::Value;

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Check one reference model's intervals (REML and ML references) within 1e-3 of each
/// width.
fn check(id: &str) {
    let refs = inference_reference();
    let design = reference_design(id);
    let dataset = mixedlm_fixtures::reference(id).dataset;
    for reml in [true, false] {
        let entry = refs["profile"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["dataset"] == dataset && e["reml"] == reml)
            .unwrap();
        let model = DenseLmm::new(&design, reml).unwrap();
        let got = profile_intervals(
            &model,
            &theta(&result(id, reml)),
            &ProfileOptions::default(),
        )
        .unwrap();
        let names: Vec<String> = entry["parameter"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        let (lower, upper) = (f64s(&entry["lower"]), f64s(&entry["upper"]));
        for (k, name) in names.iter().enumerate() {
            let ci = got
                .iter()
                .find(|c| &c.name == name)
                .unwrap_or_else(|| panic!("missing {name}"));
            let width = upper[k] - lower[k];
            eprintln!(
                "{dataset} reml={reml} {name}: [{}, {}] vs [{}, {}]",
                ci.lower, ci.upper, lower[k], upper[k]
            );
            assert!(
                (ci.lower - lower[k]).abs() <= 1e-3 * width,
                "{dataset} {name} lower {} vs {}",
                ci.lower,
                lower[k]
            );
            assert!(
                (ci.upper - upper[k]).abs() <= 1e-3 * width,
                "{dataset} {name} upper {} vs {}",
                ci.upper,
                upper[k]
            );
        }
    }
}

#[test]
fn profile_sleepstudy() {
    check("sleepstudy");
}

#[test]
fn profile_dyestuff() {
    check("dyestuff");
}

#[test]
fn profile_penicillin() {
    check("penicillin");
}

#[test]
fn profile_pastes() {
    check("pastes");
}

#[test]
fn profile_rejects_unknown_parameter() {
    let model = DenseLmm::new(&reference_design("dyestuff"), true).unwrap();
    let opts = ProfileOptions {
        parameters: Some(vec!["sd_Days|Batch".into()]),
        ..ProfileOptions::default()
    };
    assert!(profile_intervals(&model, &theta(&result("dyestuff", true)), &opts).is_err());
}
