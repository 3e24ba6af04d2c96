//! The inference commands and options of `mixedlm` against lme4 / lmerTest / pbkrtest
//! reference values: `fit --ddf/--ranef/--ci`, `compare`, `predict`, `profile`,
//! `bootstrap`, the text summary, help texts and exit codes.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

const SLEEP: &str = "Reaction ~ Days + (Days | Subject)";

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn default_tests_are_satterthwaite_for_reml_and_match_lmertest() {
    let want = result("sleepstudy", true);
    let got = ok_json(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--format",
        "json",
    ]);
    assert_eq!(got["ddf"], "satterthwaite");
    for fe in got["fixed_effects"].as_array().unwrap() {
        let term = fe["term"].as_str().unwrap();
        let df = f(&want["satterthwaite_df"][term]);
        assert!(rel(f(&fe["df"]), df) < 1e-3, "{term}: {} vs {df}", fe["df"]);
        let p = f(&want["satterthwaite_p"][term]);
        assert!(
            rel(f(&fe["p_value"]), p) < 1e-2,
            "{term}: {} vs {p}",
            fe["p_value"]
        );
        assert!(rel(f(&fe["statistic"]), f(&want["t"][term])) < 1e-4);
    }
}

#[test]
fn ml_fits_default_to_z_with_null_df() {
    let got = ok_json(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--ml",
        "--format",
        "json",
    ]);
    assert_eq!(got["ddf"], "z");
    for fe in got["fixed_effects"].as_array().unwrap() {
        assert!(fe["df"].is_null(), "{fe}");
        let z = f(&fe["statistic"]);
        assert!(f(&fe["p_value"]) < 1e-6 && z.abs() > 5.0);
    }
}

#[test]
fn kenward_roger_df_and_se_match_pbkrtest() {
    let want = result("mathachieve", true);
    let formula = want["formula"].as_str().unwrap();
    let got = ok_json(&[
        "fit",
        &data("mathachieve.csv"),
        "-f",
        formula,
        "--ddf",
        "kenward-roger",
        "--format",
        "json",
    ]);
    assert_eq!(got["ddf"], "kenward-roger");
    for fe in got["fixed_effects"].as_array().unwrap() {
        let term = fe["term"].as_str().unwrap();
        let (df, se) = (
            f(&want["kenward_roger_df"][term]),
            f(&want["kenward_roger_se"][term]),
        );
        assert!(
            rel(f(&fe["df"]), df) < 1e-2,
            "{term}: df {} vs {df}",
            fe["df"]
        );
        assert!(rel(f(&fe["std_error_adjusted"]), se) < 1e-4, "{term}: se");
    }
}

#[test]
fn ranef_lists_conditional_modes_with_sds() {
    let want = result("pastes", true);
    let got = ok_json(&[
        "fit",
        &data("pastes.csv"),
        "-f",
        "strength ~ 1 + (1 | batch) + (1 | batch:cask)",
        "--ranef",
        "--format",
        "json",
    ]);
    let modes = got["conditional_modes"].as_array().unwrap();
    let re = &want["ranef"];
    assert_eq!(modes.len(), re["condval"].as_array().unwrap().len());
    for i in 0..modes.len() {
        let (g, l) = (
            re["grpvar"][i].as_str().unwrap(),
            re["grp"][i].as_str().unwrap(),
        );
        let m = modes
            .iter()
            .find(|m| m["group"] == g && m["level"] == l && m["term"] == "(Intercept)")
            .unwrap_or_else(|| panic!("no mode for {g} {l}"));
        let (v, s) = (f(&re["condval"][i]), f(&re["condsd"][i]));
        assert!(
            (f(&m["value"]) - v).abs() < 1e-4 * v.abs().max(s),
            "{g} {l}"
        );
        assert!(rel(f(&m["cond_sd"]), s) < 1e-4, "{g} {l}");
    }
}

#[test]
fn profile_intervals_have_lme4_names_and_values() {
    let refs = json("inference_lme4.json");
    let want = &refs["profile"][0];
    assert_eq!(
        want["formula"],
        "Reaction ~ 1 + Days + (1 + Days | Subject)"
    );
    let got = ok_json(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--ci",
        "profile",
        "--format",
        "json",
    ]);
    let ci = got["confidence_intervals"].as_array().unwrap();
    let names: Vec<&str> = ci
        .iter()
        .map(|c| c["parameter"].as_str().unwrap())
        .collect();
    let want_names: Vec<&str> = want["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, want_names);
    for (i, c) in ci.iter().enumerate() {
        assert_eq!(c["method"], "profile");
        let (lo, hi) = (f(&want["lower"][i]), f(&want["upper"][i]));
        assert!(
            (f(&c["lower"]) - lo).abs() < 1e-3 * (hi - lo),
            "{}",
            names[i]
        );
        assert!(
            (f(&c["upper"]) - hi).abs() < 1e-3 * (hi - lo),
            "{}",
            names[i]
        );
    }
}

#[test]
fn profile_subcommand_prints_the_same_intervals_as_text() {
    let out = run(&[
        "profile",
        &data("dyestuff.csv"),
        "-f",
        "Yield ~ 1 + (1 | Batch)",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    // lme4: sd_(Intercept)|Batch 12.1985 .. 84.0630 (REML fit, ML profile).
    let line = text
        .lines()
        .find(|l| l.contains("sd_(Intercept)|Batch"))
        .unwrap();
    let nums: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    assert!((nums[0] - 12.1985).abs() < 1e-3 * 72.0, "{line}");
    assert!((nums[1] - 84.0630).abs() < 1e-3 * 72.0, "{line}");
    assert!(text.contains("2.5 %") && text.contains("97.5 %"), "{text}");
}

#[test]
fn bootstrap_is_seeded_and_quiet_off_a_terminal() {
    let args = [
        "bootstrap",
        &data("dyestuff.csv"),
        "-f",
        "Yield ~ 1 + (1 | Batch)",
        "--nsim",
        "30",
        "--seed",
        "5",
        "--format",
        "json",
    ];
    let a = run(&args);
    assert_eq!(a.status.code(), Some(0));
    assert!(
        a.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let b = run(&args);
    assert_eq!(a.stdout, b.stdout, "same seed, same intervals");
    let v: Value = serde_json::from_slice(&a.stdout).unwrap();
    let ci = v["confidence_intervals"].as_array().unwrap();
    assert_eq!(ci[2]["parameter"], "(Intercept)");
    assert_eq!(ci[2]["method"], "bootstrap");
    assert!(f(&ci[2]["lower"]) < 1527.5 && 1527.5 < f(&ci[2]["upper"]));
}

#[test]
fn wald_intervals_via_fit() {
    let got = ok_json(&[
        "fit",
        &data("dyestuff.csv"),
        "-f",
        "Yield ~ 1 + (1 | Batch)",
        "--ci",
        "wald",
        "--level",
        "0.9",
        "--format",
        "json",
    ]);
    let ci = &got["confidence_intervals"][0];
    let (b, se) = (
        f(&got["fixed_effects"][0]["estimate"]),
        f(&got["fixed_effects"][0]["std_error"]),
    );
    assert!((f(&ci["upper"]) - (b + 1.6448536269514722 * se)).abs() < 1e-8);
}

#[test]
fn compare_matches_lme4_anova() {
    let refs = json("inference_lme4.json");
    let want = &refs["lrt"][0];
    let got = ok_json(&[
        "compare",
        &data("sleepstudy.csv"),
        "--formula",
        want["formula0"].as_str().unwrap(),
        "--formula",
        want["formula1"].as_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(got["refit_ml"], true);
    for (i, m) in got["models"].as_array().unwrap().iter().enumerate() {
        assert_eq!(m["npar"], want["npar"][i]);
        for (key, wkey) in [
            ("log_likelihood", "logLik"),
            ("deviance", "deviance"),
            ("aic", "AIC"),
            ("bic", "BIC"),
        ] {
            assert!(rel(f(&m[key]), f(&want[wkey][i])) < 1e-8, "{key}");
        }
    }
    let t = &got["tests"][0];
    assert!(rel(f(&t["chisq"]), f(&want["chisq"])) < 1e-6);
    assert_eq!(t["df"], want["df"]);
    assert!(rel(f(&t["p_value"]), f(&want["p_value"])) < 1e-5);
}

#[test]
fn compare_text_says_models_were_refitted_and_one_model_is_an_error() {
    let out = run(&[
        "compare",
        &data("sleepstudy.csv"),
        "--formula",
        "Reaction ~ Days + (1 | Subject)",
        "--formula",
        SLEEP,
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("refitting model(s) with ML"), "{text}");
    assert!(
        text.contains("Pr(>Chisq)") && text.contains("42.1393"),
        "{text}"
    );
    let out = run(&["compare", &data("sleepstudy.csv"), "--formula", SLEEP]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least two models"));
}

fn newdata(dir: &Path) -> String {
    let p = dir.join("new.csv");
    std::fs::write(&p, "Days,Subject\n0,308\n5,999\n3,\n").unwrap();
    p.display().to_string()
}

#[test]
fn predict_writes_csv_to_stdout_with_population_fallback_for_new_levels() {
    let dir = tempfile::tempdir().unwrap();
    let new = newdata(dir.path());
    let fitted = result("sleepstudy", true)["fitted_head"][0].clone();
    let out = run(&[
        "predict",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--newdata",
        &new,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["Days", "Subject", "prediction"]);
    // Subject 308 on day 0: the fitted value of the first row.
    let p0: f64 = rows[1][2].parse().unwrap();
    assert!(rel(p0, f(&fitted)) < 1e-6, "{p0} vs {fitted}");
    // Unseen subject: population prediction β0 + 5 β1.
    let p1: f64 = rows[2][2].parse().unwrap();
    assert!((p1 - (251.405105 + 5.0 * 10.467286)).abs() < 1e-4, "{p1}");
    assert_eq!(rows[3][2], "", "missing Subject: no conditional prediction");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Subject=999"), "{err}");
}

#[test]
fn predict_population_to_parquet_and_unseen_levels_on_request_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let new = newdata(dir.path());
    let target = dir.path().join("p.parquet");
    let out = run(&[
        "predict",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--newdata",
        &new,
        "--level",
        "population",
        "--output",
        target.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&target).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    // Read it back as new data: its prediction and std_error columns come through, and
    // the appended columns are renamed rather than duplicated.
    let out = run(&[
        "predict",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--newdata",
        target.to_str().unwrap(),
        "--level",
        "population",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "Days",
            "Subject",
            "prediction",
            "std_error",
            ".prediction",
            ".std_error"
        ]
    );
    assert_eq!(rows.len(), 4);
    for r in &rows[1..] {
        assert_eq!(r[2], r[4]);
        assert_eq!(r[3], r[5]);
    }
    let se0: f64 = rows[1][3].parse().unwrap();
    assert!(rel(se0, 6.824597) < 1e-5, "SE of the intercept: {se0}");

    let out = run(&[
        "predict",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--newdata",
        &new,
        "--new-levels",
        "error",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("999") && err.contains("--new-levels population"),
        "{err}"
    );

    let out = run(&[
        "predict",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--newdata",
        &new,
        "--output",
        "p.xlsx",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".csv or .parquet"));
}

#[test]
fn large_models_fall_back_to_z_and_refuse_profiles() {
    // 1100 groups of 2: q = 1100 random effects, above the dense limit of 1000.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut csv = String::from("y,x,g\n");
    for g in 0..1100u32 {
        for i in 0..2u32 {
            let x = f64::from((g * 7 + i * 3) % 11) / 10.0;
            let noise = f64::from((g * 13 + i * 5) % 17) / 8.0 - 1.0;
            let b = f64::from(g % 9) / 4.0 - 1.0;
            csv.push_str(&format!("{},{x},g{g}\n", 1.0 + 2.0 * x + b + noise));
        }
    }
    std::fs::write(&path, csv).unwrap();
    let p = path.to_str().unwrap();
    let got = ok_json(&["fit", p, "-f", "y ~ x + (1 | g)", "--format", "json"]);
    assert_eq!(got["ddf"], "z");
    let note = got["inference_notes"][0].as_str().unwrap();
    assert!(
        note.contains("1000") && note.contains("1100") && note.contains("Wald z"),
        "{note}"
    );
    assert!(got["fixed_effects"][0]["df"].is_null());

    let out = run(&["fit", p, "-f", "y ~ x + (1 | g)", "--ci", "profile"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("profile") && err.contains("--ci wald|bootstrap"),
        "{err}"
    );
}

#[test]
fn kenward_roger_on_ml_and_bad_levels_are_usage_errors() {
    let ds = data("dyestuff.csv");
    let cases: [&[&str]; 3] = [
        &[
            "fit",
            &ds,
            "-f",
            "Yield ~ 1 + (1 | Batch)",
            "--ml",
            "--ddf",
            "kenward-roger",
        ],
        &[
            "fit",
            &ds,
            "-f",
            "Yield ~ 1 + (1 | Batch)",
            "--ci",
            "wald",
            "--level",
            "1.5",
        ],
        &[
            "fit",
            &ds,
            "-f",
            "Yield ~ 1 + (1 | Batch)",
            "--ci",
            "bootstrap",
            "--nsim",
            "1",
        ],
    ];
    for (args, needle) in cases.iter().zip(["REML", "--level", "--nsim"]) {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn text_output_matches_the_stored_summary() {
    let out = run(&[
        "fit",
        &data("sleepstudy.csv"),
        "-f",
        SLEEP,
        "--no-diagnostics",
    ]);
    let want = std::fs::read_to_string(
        root().join("crates/mixedlm/tests/expected/sleepstudy_summary.txt"),
    )
    .unwrap();
    let got = String::from_utf8(out.stdout).unwrap();
    // Layout exactly; numbers to 1e-5 relative (the last digit of σ² at a flat optimum).
    let (g_lines, w_lines): (Vec<&str>, Vec<&str>) =
        (got.lines().collect(), want.lines().collect());
    assert_eq!(g_lines.len(), w_lines.len(), "{got}");
    for (g, w) in g_lines.iter().zip(&w_lines) {
        assert_eq!(g.len(), w.len(), "{g:?} vs {w:?}");
        for (a, b) in g.split_whitespace().zip(w.split_whitespace()) {
            match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => {
                    assert!((x - y).abs() <= 1e-5 * y.abs().max(1.0), "{g:?} vs {w:?}")
                }
                _ => assert_eq!(a, b, "{g:?} vs {w:?}"),
            }
        }
    }
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for cmd in [
        "design",
        "fit",
        "compare",
        "predict",
        "profile",
        "bootstrap",
    ] {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Example"), "{cmd}: {text}");
        assert!(text.contains(&format!("mixedlm {cmd} ")), "{cmd}: {text}");
    }
}

#[test]
fn bse_re_gives_variance_component_standard_errors() {
    let got = ok_json(&[
        "fit",
        &data("dyestuff.csv"),
        "-f",
        "Yield ~ 1 + (1 | Batch)",
        "--bse-re",
        "--format",
        "json",
    ]);
    let vc = got["variance_component_se"].as_array().unwrap();
    assert_eq!(vc[0]["parameter"], "var_(Intercept)|Batch");
    assert_eq!(vc[1]["parameter"], "var_Residual");
    // Balanced one-way REML: SE(σ̂²) = σ̂² √(2/(N − a)), N = 30, a = 6.
    let s2 = f(&vc[1]["estimate"]);
    assert!(rel(s2, f(&got["residual_variance"])) < 1e-9);
    assert!(rel(f(&vc[1]["std_error"]), s2 * (2.0f64 / 24.0).sqrt()) < 1e-3);
}
