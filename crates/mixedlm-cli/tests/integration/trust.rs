//! Issue 28's cases on the command line, one named test each (`cargo test trust_`).

use crate::common::{data, ok_json, rel, run};
use serde_json::Value;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn trust_cli_vc_without_re_formula_warns_and_fits_statsmodels_model() {
    let args = [
        "fit",
        &data("pastes.csv"),
        "-f",
        "strength ~ 1",
        "--groups",
        "batch",
        "--vc",
        "cask=0 + C(cask)",
        "--format",
        "json",
    ];
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning: variance components (cask)"), "{err}");
    assert!(err.contains("--re-formula 1"), "{err}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 1);
    assert_eq!(json["lme4_formula"], "strength ~ 1 + (1 | batch:cask)");
    // statsmodels 0.15's log-likelihood for this model.
    assert!((f(&json["log_likelihood"]) - (-123.824_200_89)).abs() < 1e-6);
    // With --re-formula 1: lme4's nesting, no warning.
    let mut nested = args.to_vec();
    nested.extend(["--re-formula", "1"]);
    let out = run(&nested);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["warnings"].as_array().unwrap().is_empty());
    assert_eq!(
        json["lme4_formula"],
        "strength ~ 1 + (1 | batch) + (1 | batch:cask)"
    );
}

#[test]
fn trust_cli_groups_on_a_formula_random_factor_is_an_error() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
        "--groups",
        "Subject",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("(1 | Subject)") && err.contains("--groups Subject"),
        "{err}"
    );
}

#[test]
fn trust_cli_bse_re_is_statsmodels_and_variance_scale_se_stays() {
    let json = ok_json(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days",
        "--groups",
        "Subject",
        "--re-formula",
        "~Days",
        "--bse-re",
        "--format",
        "json",
    ]);
    let sm = json["bse_re"].as_array().unwrap();
    assert_eq!(sm[0]["parameter"], "Subject Var");
    // statsmodels 0.15: bse_re = [11.880898, 1.820516, 0.609527].
    assert!(rel(f(&sm[0]["std_error"]), 11.880_898) < 2e-4);
    assert!(rel(f(&sm[2]["std_error"]), 0.609_527) < 2e-4);
    let var = json["variance_component_se"].as_array().unwrap();
    assert_eq!(var[0]["parameter"], "var_(Intercept)|Subject");
    assert_eq!(var.last().unwrap()["parameter"], "var_Residual");
}

#[test]
fn trust_cli_compare_accepts_statsmodels_flags() {
    let json = ok_json(&[
        "compare",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days",
        "-f",
        "Reaction ~ Days",
        "--groups",
        "Subject",
        "--re-formula",
        "1",
        "--re-formula",
        "~Days",
        "--format",
        "json",
    ]);
    let lme4 = ok_json(&[
        "compare",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
        "-f",
        "Reaction ~ Days + (Days | Subject)",
        "--format",
        "json",
    ]);
    assert!(rel(f(&json["tests"][0]["chisq"]), f(&lme4["tests"][0]["chisq"])) < 1e-8);
    assert_eq!(
        json["models"][1]["formula"],
        "Reaction ~ Days + (1 + Days | Subject)"
    );
    // --vc for every model.
    let vc = ok_json(&[
        "compare",
        &data("pastes.csv"),
        "-f",
        "strength ~ 1",
        "-f",
        "strength ~ 1",
        "--groups",
        "batch",
        "--vc",
        "cask=0 + C(cask)",
        "--re-formula",
        "0",
        "--re-formula",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(vc["models"].as_array().unwrap().len(), 2);
    // A --re-formula count that is neither 1 nor the number of formulas is refused.
    let out = run(&[
        "compare",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days",
        "-f",
        "Reaction ~ Days",
        "-f",
        "Reaction ~ 1",
        "--groups",
        "Subject",
        "--re-formula",
        "1",
        "--re-formula",
        "~Days",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("once per formula"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn trust_cli_statsmodels_method_and_reml_point_to_the_right_options() {
    let base = [
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
    ];
    let mut method = base.to_vec();
    method.extend(["--method", "powell"]);
    let out = run(&method);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--optimizer powell"), "{err}");
    let mut nm = base.to_vec();
    nm.extend(["--method", "nm"]);
    assert!(stderr(&run(&nm)).contains("--optimizer nelder-mead"));
    for reml in [vec!["--reml", "false"], vec!["--reml=False"]] {
        let mut args = base.to_vec();
        args.extend(reml);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("--ml"), "{}", stderr(&out));
    }
    let mut bare = base.to_vec();
    bare.push("--reml");
    let out = run(&bare);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("REML is the default"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "compare",
        &data("sleepstudy.csv"),
        "-f",
        "Reaction ~ Days + (1 | Subject)",
        "-f",
        "Reaction ~ Days + (Days | Subject)",
        "--reml",
        "false",
    ]);
    assert!(stderr(&out).contains("--ml"), "{}", stderr(&out));
}
