//! Likelihood-ratio tests against lme4's `anova()` (both models refitted with ML).

use crate::common::{design, reference_design, rel, result, theta};
use mixedlm_inference::{likelihood_ratio_tests, lrt_model_ml, DenseLmm, LrtModel};
use serde_json::Value;

fn check(entry: &Value, m0: LrtModel, m1: LrtModel) {
    let rows = likelihood_ratio_tests(&[m1, m0]).unwrap();
    let num = |k: &str, i: usize| entry[k][i].as_f64().unwrap();
    for (i, r) in rows.iter().enumerate() {
        eprintln!(
            "{}: npar {} logLik {} dev {} AIC {} BIC {}",
            r.name, r.npar, r.loglik, r.deviance, r.aic, r.bic
        );
        assert_eq!(r.npar as f64, num("npar", i));
        assert!(rel(r.loglik, num("logLik", i)) < 1e-6);
        assert!(rel(r.deviance, num("deviance", i)) < 1e-6);
        assert!(rel(r.aic, num("AIC", i)) < 1e-6);
        assert!(rel(r.bic, num("BIC", i)) < 1e-6);
    }
    let last = &rows[1];
    let (chisq, p) = (last.chisq.unwrap(), last.p_value.unwrap());
    eprintln!("chisq {chisq} df {:?} p {p}", last.df);
    assert!(rel(chisq, entry["chisq"].as_f64().unwrap()) < 1e-5);
    assert_eq!(last.df.unwrap() as f64, entry["df"].as_f64().unwrap());
    assert!(rel(p, entry["p_value"].as_f64().unwrap()) < 1e-4);
    assert!(rows[0].chisq.is_none());
}

fn lrt_entry(i: usize) -> Value {
    crate::common::inference_reference()["lrt"][i].clone()
}

#[test]
fn lrt_sleepstudy_random_slope() {
    let m1 = DenseLmm::new(&reference_design("sleepstudy"), true).unwrap();
    let m0 = DenseLmm::new(&reference_design("sleepstudy_intercept"), true).unwrap();
    let a = lrt_model_ml(&m0, &theta(&result("sleepstudy_intercept", true)), "m0").unwrap();
    let b = lrt_model_ml(&m1, &theta(&result("sleepstudy", true)), "m1").unwrap();
    check(&lrt_entry(0), a, b);
}

#[test]
fn lrt_sleepstudy_fixed_slope() {
    let d0 = design("sleepstudy", "Reaction ~ 1 + (1 + Days | Subject)");
    let m0 = DenseLmm::new(&d0, true).unwrap();
    let m1 = DenseLmm::new(&reference_design("sleepstudy"), true).unwrap();
    let a = lrt_model_ml(&m0, &[1.0, 0.0, 1.0], "m0").unwrap();
    let b = lrt_model_ml(&m1, &theta(&result("sleepstudy", true)), "m1").unwrap();
    check(&lrt_entry(1), a, b);
}

#[test]
fn lrt_mathachieve() {
    let d0 = design("mathachieve", "MathAch ~ 1 + SES + (1 | School)");
    let m0 = DenseLmm::new(&d0, false).unwrap();
    let m1 = DenseLmm::new(&reference_design("mathachieve"), false).unwrap();
    let a = lrt_model_ml(&m0, &[0.4], "m0").unwrap();
    let b = lrt_model_ml(&m1, &theta(&result("mathachieve", false)), "m1").unwrap();
    check(&lrt_entry(2), a, b);
}

#[test]
fn lrt_needs_two_models() {
    let m = LrtModel {
        name: "a".into(),
        npar: 3,
        loglik: -10.0,
        n_obs: 10,
    };
    assert!(likelihood_ratio_tests(&[m]).is_err());
}
