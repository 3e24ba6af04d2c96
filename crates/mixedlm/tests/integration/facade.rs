//! The facade: both idioms give the same model; options are validated; results accessors
//! agree with each other and with lme4's reference.

use mixedlm::{lmer, read_table, Error, MixedLM, ModelSpec};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    mixedlm_fixtures::data_dir().join(name)
}

#[test]
fn unknown_optimizer_is_an_error_listing_valid_names() {
    let m = MixedLM::from_formula("Reaction ~ Days + (Days | Subject)").method("adam");
    let e = m.validate().unwrap_err();
    assert!(matches!(e, Error::UnknownOptimizer { .. }));
    let msg = e.to_string();
    for name in ["adam", "bobyqa", "bfgs", "nelder-mead", "powell"] {
        assert!(msg.contains(name), "{msg}");
    }
    assert!(MixedLM::from_formula("y ~ x + (1 | g)")
        .method("Nelder_Mead")
        .validate()
        .is_ok());
}

#[test]
fn re_formula_without_groups_is_an_error() {
    let e = ModelSpec::new("Reaction ~ Days")
        .re_formula("~Days")
        .validate()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidOption(_)), "{e}");
    assert!(e.to_string().contains("groups"));
}

#[test]
fn malformed_formula_reports_a_caret() {
    let e = MixedLM::from_formula("Reaction ~ Days + ")
        .validate()
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("malformed formula"), "{msg}");
    assert!(msg.lines().any(|l| l.trim() == "^"), "{msg}");
}

#[test]
fn fit_without_data_says_how_to_give_it() {
    let e = MixedLM::from_formula("y ~ x + (1 | g)").fit().unwrap_err();
    assert!(e.to_string().contains("data_path"), "{e}");
}

#[test]
fn statsmodels_variance_component_equals_lme4_nesting() {
    let batch = read_table(&data("pastes.csv"), None).unwrap();
    let sm = MixedLM::from_formula("strength ~ 1")
        .groups("batch")
        .re_formula("1")
        .vc("cask", "0 + C(cask)")
        .data(batch.clone())
        .fit()
        .unwrap();
    let lme4 = lmer("strength ~ 1 + (1 | batch) + (1 | batch:cask)", &batch).unwrap();
    assert!((sm.objective() - lme4.objective()).abs() < 1e-6 * lme4.objective());
    // lme4 reference: REML criterion 246.990745853486.
    assert!((lme4.objective() - 246.990745853486).abs() < 1e-4);
    // statsmodels' names: cov_re is the `batch` intercept variance, vcomp the cask one.
    assert_eq!(sm.cov_re().nrows(), 1);
    assert_eq!(sm.vcomp().len(), 1);
    assert_eq!(
        sm.spec().lme4_formula(),
        "strength ~ 1 + (1 | batch) + (1 | batch:cask)"
    );
}

#[test]
fn accessors_agree_with_each_other_and_lme4() {
    let fit = MixedLM::from_formula("Reaction ~ Days + (Days | Subject)")
        .reml(false)
        .fit_path(data("sleepstudy.csv"))
        .unwrap();
    // lme4 ML reference (01_sleepstudy_ml.json): deviance 1751.93934448899.
    assert!((fit.deviance().unwrap() - 1751.93934448899).abs() < 1e-3);
    assert!(fit.reml_criterion().is_none());
    assert!((fit.llf() * -2.0 - fit.objective()).abs() < 1e-9);
    assert_eq!(fit.fe_params(), fit.fixef());
    assert!((fit.scale() - fit.sigma().powi(2)).abs() < 1e-9);
    let z = fit.tvalues();
    let p = fit.pvalues();
    assert!(z[1] > 6.0 && p[1] < 1e-8);
    let ci = fit.conf_int(0.05);
    assert!(ci[1].0 < fit.fe_params()[1] && fit.fe_params()[1] < ci[1].1);
    let half = (ci[1].1 - ci[1].0) / 2.0;
    assert!((half / fit.bse_fe()[1] - 1.959964).abs() < 1e-5);
    let fitted = fit.fittedvalues();
    let resid = fit.resid();
    let y0 = fitted[0] + resid[0];
    assert!((y0 - 249.56).abs() < 1e-9);
    assert_eq!(fit.nobs(), 180);
    assert_eq!(fit.group_sizes(), vec![10; 18]);
    let re = fit.random_effects();
    assert_eq!(re[0].values.nrows(), 18);
    assert_eq!(re[0].values.ncols(), 2);
    assert_eq!(fit.fe_table().num_rows(), 2);
    assert_eq!(fit.ranef_table().num_rows(), 36);
    assert_eq!(fit.fe_params_arrow().len(), 2);
}
