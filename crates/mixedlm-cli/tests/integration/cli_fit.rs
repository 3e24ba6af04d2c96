//! `mixedlm fit`: JSON keys and values against lme4's reference results, text summary,
//! statsmodels flags, standard input, exit codes.

use crate::common::*;
use serde_json::Value;

fn fit_json(args: &[&str]) -> Value {
    let mut all = vec!["fit"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    ok_json(&all)
}

/// The fixed effects, objective, σ and variance components of `got` against lme4's `want`.
fn check_against_lme4(got: &Value, want: &Value) {
    let fixef = want["fixef"].as_object().unwrap();
    let fe = got["fixed_effects"].as_array().unwrap();
    assert_eq!(fe.len(), fixef.len());
    for (entry, (name, value)) in fe.iter().zip(fixef) {
        assert_eq!(entry["term"].as_str().unwrap(), name);
        let (e, w) = (entry["estimate"].as_f64().unwrap(), value.as_f64().unwrap());
        assert!(rel(e, w) < 1e-4, "{name}: {e} vs {w}");
        let (s, ws) = (
            entry["std_error"].as_f64().unwrap(),
            want["se"][name].as_f64().unwrap(),
        );
        assert!(rel(s, ws) < 1e-3, "se {name}: {s} vs {ws}");
    }
    let (o, wo) = (
        got["objective"].as_f64().unwrap(),
        want["objective"].as_f64().unwrap(),
    );
    assert!(o <= wo + 1e-6 * wo.abs(), "objective {o} vs lme4 {wo}");
    assert!(rel(o, wo) < 1e-6, "objective {o} vs lme4 {wo}");
    let (ll, wll) = (
        got["log_likelihood"].as_f64().unwrap(),
        want["logLik"].as_f64().unwrap(),
    );
    assert!(rel(ll, wll) < 1e-6);
    let (s, ws) = (
        got["residual_std_dev"].as_f64().unwrap(),
        want["sigma"].as_f64().unwrap(),
    );
    assert!(rel(s, ws) < 1e-4, "sigma {s} vs {ws}");
    assert!(rel(got["aic"].as_f64().unwrap(), want["AIC"].as_f64().unwrap()) < 1e-6);
    assert!(rel(got["bic"].as_f64().unwrap(), want["BIC"].as_f64().unwrap()) < 1e-6);
    assert_eq!(got["n_obs"], want["n_obs"]);
    assert_eq!(got["singular"], want["singular"]);
    for row in want["varcorr"].as_array().unwrap() {
        let grp = row["grp"].as_str().unwrap();
        if grp == "Residual" || !row["var2"].is_null() {
            continue;
        }
        // lme4's VarCorr disambiguates a repeated grouping factor as `Subject.1`; the
        // contract keeps the name as written (`Subject`).
        let grp = match grp.rsplit_once('.') {
            Some((base, n)) if n.chars().all(|c| c.is_ascii_digit()) => base,
            _ => grp,
        };
        let term = row["var1"].as_str().unwrap();
        let hit = got["random_effects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["group"] == grp && r["term"] == term)
            .unwrap_or_else(|| panic!("no random effect {grp} {term} in {got}"));
        let (sd, wsd) = (
            hit["std_dev"].as_f64().unwrap(),
            row["sdcor"].as_f64().unwrap(),
        );
        assert!(
            rel(sd, wsd) < 1e-3 || (sd - wsd).abs() < 1e-4,
            "{grp} {term}: {sd} vs {wsd}"
        );
    }
}

#[test]
fn sleepstudy_reml_json_matches_lme4() {
    let got = fit_json(&[
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days + (Days | Subject)",
    ]);
    let want = result("sleepstudy", true);
    check_against_lme4(&got, &want);
    for key in [
        "formula",
        "criterion",
        "n_obs",
        "n_dropped",
        "groups",
        "fixed_effects",
        "random_effects",
        "correlations",
        "residual_variance",
        "residual_std_dev",
        "theta",
        "log_likelihood",
        "objective",
        "aic",
        "bic",
        "converged",
        "singular",
        "optimizer",
        "timing",
    ] {
        assert!(got.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(got["criterion"], "REML");
    assert_eq!(got["formula"], "Reaction ~ Days + (Days | Subject)");
    assert_eq!(got["groups"]["Subject"], 18);
    assert_eq!(got["n_dropped"], 0);
    assert_eq!(got["converged"], true);
    let corr = &got["correlations"][0];
    assert_eq!(
        (
            corr["group"].as_str(),
            corr["term1"].as_str(),
            corr["term2"].as_str()
        ),
        (Some("Subject"), Some("(Intercept)"), Some("Days"))
    );
    assert!((corr["correlation"].as_f64().unwrap() - 0.0656).abs() < 1e-3);
    let theta: Vec<f64> = got["theta"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let want_theta: Vec<f64> = want["theta"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(theta.len(), want_theta.len());
    for (a, b) in theta.iter().zip(&want_theta) {
        assert!((a - b).abs() < 1e-3, "theta {theta:?} vs {want_theta:?}");
    }
    // the default `auto` runs BFGS on the analytic gradient for this (dense-path) model
    assert_eq!(got["optimizer"]["name"], "bfgs");
    assert!(got["optimizer"]["gradient_evaluations"].as_u64().unwrap() > 0);
    assert!(got["optimizer"]["evaluations"].as_u64().unwrap() > 0);
    assert!(got["timing"]["fit_seconds"].as_f64().unwrap() >= 0.0);
    assert!(got["timing"]["read_seconds"].as_f64().unwrap() >= 0.0);
}

#[test]
fn sleepstudy_ml_json_matches_lme4() {
    let got = fit_json(&[
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days + (Days | Subject)",
        "--ml",
    ]);
    assert_eq!(got["criterion"], "ML");
    check_against_lme4(&got, &result("sleepstudy", false));
}

#[test]
fn uncorrelated_terms_keep_their_group_name() {
    let got = fit_json(&[
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
    ]);
    check_against_lme4(&got, &result("sleepstudy_uncorrelated", true));
    let groups: Vec<&str> = got["random_effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["Subject", "Subject"]);
    assert!(got["correlations"].as_array().unwrap().is_empty());
    assert_eq!(got["groups"]["Subject"], 18);
}

#[test]
fn nested_groups_are_named_as_expanded() {
    let got = fit_json(&[
        &data("pastes.csv"),
        "--formula",
        "strength ~ 1 + (1 | batch/cask)",
    ]);
    check_against_lme4(&got, &result("pastes", true));
    assert_eq!(got["groups"]["batch:cask"], 30);
    assert_eq!(got["groups"]["batch"], 10);
}

#[test]
fn statsmodels_flags_build_the_lme4_model() {
    let got = fit_json(&[
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days",
        "--groups",
        "Subject",
        "--re-formula",
        "~Days",
    ]);
    check_against_lme4(&got, &result("sleepstudy", true));
    assert_eq!(
        got["lme4_formula"],
        "Reaction ~ Days + (1 + Days | Subject)"
    );
}

#[test]
fn text_summary_has_both_tables() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days + (Days | Subject)",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Model:",
        "MixedLM",
        "No. Observations:",
        "180",
        "No. Groups:",
        "18",
        "Dependent Variable:",
        "Reaction",
        "Method:",
        "REML",
        "Scale:",
        "Log-Likelihood:",
        "-871.8141",
        "Converged:",
        "Yes",
        "Coef.",
        "Std.Err.",
        "P>|t|", // Satterthwaite t tests by default for REML fits (lmerTest)
        " df ",
        "[0.025",
        "0.975]",
        "(Intercept)",
        "251.4",
        "Random effects:",
        "Groups",
        "Std.Dev.",
        "Corr",
        "Subject",
        "Residual",
        "AIC",
        "BIC",
        "REML criterion",
        "AIC/BIC from the REML log-likelihood",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in\n{text}");
    }
}

#[test]
fn ml_summary_says_deviance_and_singular_fits_get_a_note() {
    let out = run(&[
        "fit",
        &data("dyestuff2.csv"),
        "--formula",
        "Yield ~ 1 + (1 | Batch)",
        "--ml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("deviance") && text.contains("Method:") && text.contains("ML"),
        "{text}"
    );
    assert!(text.contains("singular"), "{text}");
}

#[test]
fn stdin_with_missing_values_counts_dropped_rows() {
    let csv = std::fs::read_to_string(data("sleepstudy.csv")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    let rest = lines[5].split_once(',').unwrap().1.to_string();
    lines[5] = format!("NA,{rest}"); // Reaction missing in one row
    let text = lines.join("\n") + "\n";
    let out = run_stdin(
        &[
            "fit",
            "-",
            "--formula",
            "Reaction ~ Days + (Days | Subject)",
            "--format",
            "json",
        ],
        text.as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n_obs"], 179);
    assert_eq!(v["n_dropped"], 1);
}

#[test]
fn output_file_and_optimizer_choice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fit.json");
    let out = run(&[
        "fit",
        &data("dyestuff.csv"),
        "--formula",
        "Yield ~ 1 + (1 | Batch)",
        "--optimizer",
        "nelder-mead",
        "--format",
        "json",
        "--output",
        &path.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(got["optimizer"]["name"], "nelder-mead");
    check_against_lme4(&got, &result("dyestuff", true));
}

#[test]
fn repeat_records_every_fit_time_and_keeps_the_results() {
    let path = data("sleepstudy.csv");
    let f = "Reaction ~ Days + (Days | Subject)";
    let once = fit_json(&[&path, "--formula", f]);
    let thrice = fit_json(&[&path, "--formula", f, "--repeat", "3"]);
    let runs = thrice["timing"]["fit_seconds_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|t| t.as_f64().unwrap() > 0.0));
    assert_eq!(runs[0], thrice["timing"]["fit_seconds"]);
    assert!(once["timing"].get("fit_seconds_runs").is_none());
    assert_eq!(once["objective"], thrice["objective"]);
}
