//! `mixedlm fit --family`: the GLMM JSON contract (keys shared with the LMM, and `family`,
//! `link`, `nagq`), values against lme4, the text summary, and errors for bad input.

use crate::common::*;

const CBPP: &str = "cbind(incidence, size - incidence) ~ period + (1 | herd)";

#[test]
fn cbpp_json_has_the_lmm_keys_and_the_glmm_ones() {
    let cbpp = data("glmm/cbpp.csv");
    let j = ok_json(&[
        "fit",
        &cbpp,
        "--formula",
        CBPP,
        "--family",
        "binomial",
        "--nagq",
        "25",
        "--format",
        "json",
        "--ranef",
        "--ci",
        "wald",
    ]);
    for key in [
        "formula",
        "lme4_formula",
        "criterion",
        "n_obs",
        "n_dropped",
        "groups",
        "fixed_effects",
        "random_effects",
        "correlations",
        "theta",
        "log_likelihood",
        "objective",
        "aic",
        "bic",
        "npar",
        "converged",
        "singular",
        "optimizer",
        "timing",
        "family",
        "link",
        "nagq",
        "deviance",
        "vcov_source",
        "optimizer_stage1",
        "conditional_modes",
        "confidence_intervals",
        "diagnostics",
    ] {
        assert!(!j[key].is_null(), "missing {key}");
    }
    assert_eq!(j["family"], "binomial");
    assert_eq!(j["link"], "logit");
    assert_eq!(j["nagq"], 25);
    assert_eq!(j["vcov_source"], "hessian");
    let want = json("glmm/02_cbpp_binomial_agq25.json");
    let o = j["objective"].as_f64().unwrap();
    let wo = want["objective"].as_f64().unwrap();
    assert!(o <= wo + 1e-6 * wo, "{o} vs {wo}");
    let fe = j["fixed_effects"].as_array().unwrap();
    for entry in fe {
        let name = entry["term"].as_str().unwrap();
        let (e, w) = (
            entry["estimate"].as_f64().unwrap(),
            want["fixef"][name].as_f64().unwrap(),
        );
        assert!(rel(e, w) < 1e-4, "{name}: {e} vs {w}");
        assert!(entry["df"].is_null());
    }
    assert_eq!(j["conditional_modes"].as_array().unwrap().len(), 15);
    assert_eq!(j["confidence_intervals"].as_array().unwrap().len(), 4);
}

#[test]
fn summary_reads_like_lme4s() {
    let out = run(&[
        "fit",
        &data("glmm/cbpp.csv"),
        "--formula",
        CBPP,
        "--family",
        "binomial",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Laplace Approximation",
        "Family: binomial  ( logit )",
        "herd   (Intercept)",
        "Number of obs: 56, groups:  herd, 15",
        "period4",
    ] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
}

#[test]
fn bad_glmm_input_is_an_error_that_says_what_to_do() {
    let cbpp = data("glmm/cbpp.csv");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--formula", CBPP],
            "fit it as a generalized linear mixed model",
        ),
        (
            &[
                "--formula",
                "incidence ~ period + (1 | herd)",
                "--family",
                "poisson",
                "--link",
                "logit",
            ],
            "does not take the logit link",
        ),
        (
            &[
                "--formula",
                "I(incidence/size) ~ period + (1 | herd)",
                "--family",
                "binomial",
            ],
            "needs the number of trials",
        ),
        (
            &[
                "--formula",
                "I(incidence - 3) ~ period + (1 | herd)",
                "--family",
                "poisson",
            ],
            "whole number >= 0",
        ),
        (
            &["--formula", CBPP, "--family", "binomial", "--nagq", "30"],
            "nAGQ = 30",
        ),
        (
            &[
                "--formula",
                "cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | period)",
                "--family",
                "binomial",
                "--nagq",
                "5",
            ],
            "single random-effects term",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["fit", cbpp.as_str()];
        all.extend_from_slice(args);
        let out = run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
