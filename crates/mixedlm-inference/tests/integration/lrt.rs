//! Likelihood-ratio tests against lme4's `anova()` (both models refitted with ML).

use crate::common::{design, reference, reference_design, rel, term, theta, Data};
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
    let m1 = DenseLmm::new(&reference_design(1), true).unwrap();
    let m0 = DenseLmm::new(&reference_design(2), true).unwrap();
    let a = lrt_model_ml(&m0, &theta(&reference(2, true)), "m0").unwrap();
    let b = lrt_model_ml(&m1, &theta(&reference(1, true)), "m1").unwrap();
    check(&lrt_entry(0), a, b);
}

#[test]
fn lrt_sleepstudy_fixed_slope() {
    let d = Data::read("sleepstudy");
    let (one, days, subj) = (vec![1.0; d.n], d.num("Days"), d.text("Subject"));
    let random = vec![term(
        "Subject",
        &subj,
        &["(Intercept)", "Days"],
        &[one.clone(), days],
    )];
    let d0 = design(d.num("Reaction"), vec![("(Intercept)", one)], random);
    let m0 = DenseLmm::new(&d0, true).unwrap();
    let m1 = DenseLmm::new(&reference_design(1), true).unwrap();
    let a = lrt_model_ml(&m0, &[1.0, 0.0, 1.0], "m0").unwrap();
    let b = lrt_model_ml(&m1, &theta(&reference(1, true)), "m1").unwrap();
    check(&lrt_entry(1), a, b);
}

#[test]
fn lrt_mathachieve() {
    let d = Data::read("mathachieve");
    let (one, ses) = (vec![1.0; d.n], d.num("SES"));
    let random = vec![term(
        "School",
        &d.text("School"),
        &["(Intercept)"],
        std::slice::from_ref(&one),
    )];
    let d0 = design(
        d.num("MathAch"),
        vec![("(Intercept)", one), ("SES", ses)],
        random,
    );
    let m0 = DenseLmm::new(&d0, false).unwrap();
    let m1 = DenseLmm::new(&reference_design(9), false).unwrap();
    let a = lrt_model_ml(&m0, &[0.4], "m0").unwrap();
    let b = lrt_model_ml(&m1, &theta(&reference(9, false)), "m1").unwrap();
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
