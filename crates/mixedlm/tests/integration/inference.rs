//! The facade's inference against lme4 / lmerTest / pbkrtest reference values
//! (tests/data/reference): fixed-effects tests by ddf, conditional modes and SDs, profile
//! intervals, likelihood-ratio tests, prediction, simulation, bootstrap, variance-component SEs.

use mixedlm::{
    anova, read_table, CiMethod, ConfIntOptions, Ddf, Error, MixedLM, MixedLMResults,
    NewLevelPolicy, PredictLevel, PredictOptions, RecordBatch,
};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

fn root() -> PathBuf {
    mixedlm_fixtures::data_dir()
}

fn batch(name: &str) -> RecordBatch {
    read_table(&root().join(format!("{name}.csv")), None).unwrap()
}

fn reference(file: &str) -> Value {
    let text = std::fs::read_to_string(root().join("reference").join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fit(data: &str, formula: &str, reml: bool) -> MixedLMResults {
    MixedLM::from_formula(formula)
        .reml(reml)
        .fit_batch(&batch(data))
        .unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// (file stem, data set) of the reference models with lmerTest / pbkrtest values.
const MODELS: [(&str, &str); 8] = [
    ("01_sleepstudy", "sleepstudy"),
    ("02_sleepstudy", "sleepstudy"),
    ("03_sleepstudy", "sleepstudy"),
    ("04_dyestuff", "dyestuff"),
    ("06_penicillin", "penicillin"),
    ("07_pastes", "pastes"),
    ("09_mathachieve", "mathachieve"),
    ("10_cake", "cake"),
];

fn reference_fit(stem: &str, data: &str, reml: bool) -> (Value, MixedLMResults) {
    let suffix = if reml { "reml" } else { "ml" };
    let r = reference(&format!("{stem}_{suffix}.json"));
    let f = fit(data, r["formula"].as_str().unwrap(), reml);
    (r, f)
}

#[test]
fn satterthwaite_df_and_p_values_match_lmertest() {
    for (stem, data) in MODELS {
        let (r, f) = reference_fit(stem, data, true);
        let tests = f.fixed_effect_tests(Ddf::Satterthwaite).unwrap();
        for t in &tests {
            let df = r["satterthwaite_df"][&t.name].as_f64().unwrap();
            let p = r["satterthwaite_p"][&t.name].as_f64().unwrap();
            let got = t.df.unwrap();
            assert!(rel(got, df) < 1e-3, "{stem} {}: df {got} vs {df}", t.name);
            // p-values spread over many decades: compare on the log scale.
            assert!(
                (t.p_value.ln() - p.ln()).abs() < 1e-2 * p.ln().abs().max(1.0),
                "{stem} {}: p {} vs {p}",
                t.name,
                t.p_value
            );
            let se = r["se"][&t.name].as_f64().unwrap();
            assert!(
                rel(t.se, se) < 1e-4,
                "{stem} {}: se {} vs {se}",
                t.name,
                t.se
            );
        }
    }
}

#[test]
fn kenward_roger_df_and_se_match_pbkrtest() {
    for (stem, data) in MODELS {
        let (r, f) = reference_fit(stem, data, true);
        for t in f.fixed_effect_tests(Ddf::KenwardRoger).unwrap() {
            let df = r["kenward_roger_df"][&t.name].as_f64().unwrap();
            let se = r["kenward_roger_se"][&t.name].as_f64().unwrap();
            assert!(rel(t.df.unwrap(), df) < 1e-2, "{stem} {}: df", t.name);
            assert!(
                rel(t.se, se) < 1e-4,
                "{stem} {}: se {} vs {se}",
                t.name,
                t.se
            );
        }
    }
}

#[test]
fn kenward_roger_on_an_ml_fit_is_an_error_and_z_has_no_df() {
    let f = fit("sleepstudy", "Reaction ~ Days + (Days | Subject)", false);
    assert!(matches!(
        f.fixed_effect_tests(Ddf::KenwardRoger),
        Err(Error::Inference(_))
    ));
    assert_eq!(f.default_ddf(), Ddf::Z);
    let z = f.fixed_effect_tests(Ddf::Z).unwrap();
    assert!(z.iter().all(|t| t.df.is_none()));
    assert!((z[1].statistic - f.tvalues()[1]).abs() < 1e-12);
    assert!((z[1].p_value - f.pvalues()[1]).abs() < 1e-15);
}

/// Strip lme4's `.1` suffix of a repeated grouping factor.
fn base_group(g: &str) -> &str {
    match g.rsplit_once('.') {
        Some((b, s)) if s.chars().all(|c| c.is_ascii_digit()) => b,
        _ => g,
    }
}

/// Mathachieve's REML/ML optimum is flat: our θ̂ (objective 5.8e-8 below lme4's) differs
/// from lme4's by up to 4e-5 relative, which moves the SES slopes' modes by ~1.5e-4 relative
/// and the fitted values by ~2e-6 relative. The other models agree to 1e-4 / 1e-6.
fn tolerance(stem: &str, tight: f64) -> f64 {
    if stem == "09_mathachieve" {
        tight * 10.0
    } else {
        tight
    }
}

#[test]
fn conditional_modes_and_sds_match_ranef() {
    for (stem, data) in MODELS {
        for reml in [true, false] {
            let (r, f) = reference_fit(stem, data, reml);
            let re = &r["ranef"];
            let modes = f.conditional_modes();
            let n = re["condval"].as_array().unwrap().len();
            assert_eq!(modes.len(), n, "{stem}");
            for i in 0..n {
                let g = base_group(re["grpvar"][i].as_str().unwrap());
                let (term, level) = (
                    re["term"][i].as_str().unwrap(),
                    re["grp"][i].as_str().unwrap(),
                );
                let m = modes
                    .iter()
                    .find(|m| m.group == g && m.term == term && m.level == level)
                    .unwrap_or_else(|| panic!("{stem}: no mode for {g} {term} {level}"));
                let (v, s) = (
                    re["condval"][i].as_f64().unwrap(),
                    re["condsd"][i].as_f64().unwrap(),
                );
                let sd = m.cond_sd.unwrap();
                // 1e-4 relative, or 1e-4 of the conditional SD for values near 0.
                assert!(
                    (m.value - v).abs() < tolerance(stem, 1e-4) * v.abs().max(s),
                    "{stem} {reml} {g} {term} {level}: {} vs {v}",
                    m.value
                );
                assert!(
                    rel(sd, s) < tolerance(stem, 1e-4),
                    "{stem} {reml} {level}: sd {sd} vs {s}"
                );
            }
        }
    }
}

#[test]
fn profile_intervals_match_lme4_confint() {
    let refs = reference("inference_lme4.json");
    for p in refs["profile"].as_array().unwrap() {
        let data = p["dataset"].as_str().unwrap();
        let reml = p["reml"].as_bool().unwrap();
        let f = fit(data, p["formula"].as_str().unwrap(), reml);
        let ci = f.confint(&ConfIntOptions::new(CiMethod::Profile)).unwrap();
        let names = p["parameter"].as_array().unwrap();
        assert_eq!(ci.len(), names.len(), "{data}");
        for (i, name) in names.iter().enumerate() {
            let name = name.as_str().unwrap();
            let c = ci
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{data}: {name}"));
            let (lo, hi) = (
                p["lower"][i].as_f64().unwrap(),
                p["upper"][i].as_f64().unwrap(),
            );
            let width = hi - lo;
            assert!(
                (c.lower - lo).abs() < 1e-3 * width,
                "{data} {reml} {name}: lower {} vs {lo}",
                c.lower
            );
            assert!(
                (c.upper - hi).abs() < 1e-3 * width,
                "{data} {reml} {name}: upper {} vs {hi}",
                c.upper
            );
        }
    }
}

#[test]
fn wald_intervals_are_fixed_effects_at_the_normal_quantile() {
    let f = fit("sleepstudy", "Reaction ~ Days + (Days | Subject)", true);
    let ci = f.confint(&ConfIntOptions::new(CiMethod::Wald)).unwrap();
    assert_eq!(ci.len(), 2);
    let (b, se) = (f.fe_params()[1], f.bse_fe()[1]);
    assert!((ci[1].upper - (b + 1.959963984540054 * se)).abs() < 1e-9);
    let e = f.confint(&ConfIntOptions::new(CiMethod::Wald).level(1.5));
    assert!(e.is_err());
}

#[test]
fn likelihood_ratio_tests_match_lme4_anova() {
    let refs = reference("inference_lme4.json");
    for t in refs["lrt"].as_array().unwrap() {
        let data = t["dataset"].as_str().unwrap();
        let m0 = fit(data, t["formula0"].as_str().unwrap(), true);
        let m1 = fit(data, t["formula1"].as_str().unwrap(), true);
        // Given in either order, sorted by npar as lme4.
        let a = anova(&[&m1, &m0]).unwrap();
        assert!(a.refit_ml);
        for i in 0..2 {
            let row = &a.rows[i];
            assert_eq!(row.npar as u64, t["npar"][i].as_u64().unwrap());
            for (got, key) in [
                (row.loglik, "logLik"),
                (row.deviance, "deviance"),
                (row.aic, "AIC"),
                (row.bic, "BIC"),
            ] {
                let want = t[key][i].as_f64().unwrap();
                assert!(
                    (got - want).abs() < 1e-6 * want.abs().max(1.0),
                    "{data} {key}: {got} vs {want}"
                );
            }
        }
        let row = &a.rows[1];
        let chisq = t["chisq"].as_f64().unwrap();
        assert!(
            (row.chisq.unwrap() - chisq).abs() < 1e-5 * chisq.max(1.0),
            "{data}: {:?}",
            row.chisq
        );
        assert_eq!(row.df.unwrap() as u64, t["df"].as_u64().unwrap());
        let p = t["p_value"].as_f64().unwrap();
        assert!(
            rel(row.p_value.unwrap(), p) < 1e-4,
            "{data}: p {:?} vs {p}",
            row.p_value
        );
    }
}

#[test]
fn anova_needs_two_models_on_the_same_rows() {
    let m = fit("dyestuff", "Yield ~ 1 + (1 | Batch)", false);
    assert!(anova(&[&m]).is_err());
    let other = fit("dyestuff2", "Yield ~ 1 + (1 | Batch)", false);
    assert!(!anova(&[&m, &other]).unwrap().refit_ml);
}

#[test]
fn conditional_prediction_on_the_fitting_data_reproduces_fitted_values() {
    for (stem, data) in MODELS {
        let (r, f) = reference_fit(stem, data, true);
        let p = f.predict(&batch(data), &PredictOptions::default()).unwrap();
        assert!(p.std_error.is_none());
        let tol = tolerance(stem, 1e-6);
        for (i, want) in r["fitted_head"].as_array().unwrap().iter().enumerate() {
            let want = want.as_f64().unwrap();
            assert!(
                (p.values[i] - want).abs() < tol * want.abs().max(1.0),
                "{stem} row {i}: {} vs {want}",
                p.values[i]
            );
            assert!((f.fittedvalues()[i] - want).abs() < tol * want.abs().max(1.0));
            let resid = r["resid_head"][i].as_f64().unwrap();
            assert!(
                (f.resid()[i] - resid).abs() < tol * want.abs().max(1.0),
                "{stem} resid {i}"
            );
        }
    }
}

fn sleep_rows(csv: &str) -> RecordBatch {
    mixedlm::read_csv_str(csv).unwrap()
}

#[test]
fn population_prediction_has_standard_errors_and_new_levels_are_population() {
    let f = fit("sleepstudy", "Reaction ~ Days + (Days | Subject)", true);
    let new = sleep_rows("Reaction,Days,Subject\n0,0,308\n0,5,999\n0,3,\n");
    let pop = f
        .predict(
            &new,
            &PredictOptions {
                level: PredictLevel::Population,
                ..Default::default()
            },
        )
        .unwrap();
    let (b, v) = (f.fe_params(), f.cov_params());
    assert!((pop.values[0] - b[0]).abs() < 1e-9);
    assert!((pop.values[1] - (b[0] + 5.0 * b[1])).abs() < 1e-9);
    let se = pop.std_error.as_ref().unwrap();
    assert!((se[0] - f.bse_fe()[0]).abs() < 1e-9);
    let var5 = v[(0, 0)] + 25.0 * v[(1, 1)] + 10.0 * v[(0, 1)];
    assert!((se[1] - var5.sqrt()).abs() < 1e-9);
    // The row with a missing Subject is still predicted at the population level.
    assert_eq!(pop.row_index, [0, 1, 2]);

    let cond = f.predict(&new, &PredictOptions::default()).unwrap();
    assert_eq!(cond.row_index, [0, 1], "the row without Subject is dropped");
    assert_eq!(cond.n_dropped, 1);
    assert!((cond.values[0] - f.fittedvalues()[0]).abs() < 1e-9);
    assert!(
        (cond.values[1] - pop.values[1]).abs() < 1e-9,
        "unseen level -> population"
    );
    assert_eq!(cond.unseen_levels, ["Subject=999"]);

    let strict = PredictOptions {
        new_levels: NewLevelPolicy::Error,
        ..Default::default()
    };
    let e = f.predict(&new, &strict).unwrap_err().to_string();
    assert!(e.contains("999") && e.contains("Subject"), "{e}");

    let table = pop.append_to(&new).unwrap();
    assert_eq!(table.num_columns(), 5);
    assert_eq!(table.schema().field(3).name(), "prediction");
}

#[test]
fn simulate_is_seeded_and_centred_on_the_fixed_effects() {
    let f = fit("sleepstudy", "Reaction ~ Days + (Days | Subject)", true);
    let a = f.simulate(400, 7).unwrap();
    assert_eq!(a, f.simulate(400, 7).unwrap());
    assert_ne!(a[0], f.simulate(1, 8).unwrap()[0]);
    // Mean of row 0 (Days = 0) over replicates: β0, SD sqrt(σ_b0² + σ²)/√400 ≈ 1.8.
    let mean = a.iter().map(|y| y[0]).sum::<f64>() / a.len() as f64;
    assert!(
        (mean - f.fe_params()[0]).abs() < 4.0 * 35.6 / 20.0,
        "{mean}"
    );
}

#[test]
fn bootstrap_is_seeded_reports_progress_and_covers_the_estimates() {
    let f = fit("dyestuff", "Yield ~ 1 + (1 | Batch)", true);
    let calls = AtomicUsize::new(0);
    let opts = ConfIntOptions::new(CiMethod::Bootstrap).nsim(40).seed(3);
    let ci = f
        .confint_with_progress(&opts, &|_, total| {
            assert_eq!(total, 40);
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 40);
    let names: Vec<&str> = ci.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["sd_(Intercept)|Batch", "sigma", "(Intercept)"]);
    assert!(ci[1].lower < f.sigma() && f.sigma() < ci[1].upper);
    assert!(ci[2].lower < f.fe_params()[0] && f.fe_params()[0] < ci[2].upper);
    assert_eq!(ci, f.confint(&opts).unwrap(), "same seed, same intervals");
}

#[test]
fn variance_component_ses_match_the_balanced_one_way_formulas() {
    // Dyestuff: a = 6 batches of n = 5. At the (interior) REML optimum the estimates are
    // the ANOVA estimates, and the inverse REML information is
    // Var(σ̂²) = 2σ⁴/(N−a), Var(σ̂_b²) = (2/n²)[(σ² + nσ_b²)²/(a−1) + σ⁴/(N−a)].
    let f = fit("dyestuff", "Yield ~ 1 + (1 | Batch)", true);
    let se = f.variance_component_se().unwrap();
    assert_eq!(se[0].name, "var_(Intercept)|Batch");
    assert_eq!(se[1].name, "var_Residual");
    let (s2, sb2) = (se[1].estimate, se[0].estimate);
    let (a, n, nn) = (6.0, 5.0, 30.0);
    let want_e = (2.0 * s2 * s2 / (nn - a)).sqrt();
    let want_b = (2.0 / (n * n) * ((s2 + n * sb2).powi(2) / (a - 1.0) + s2 * s2 / (nn - a))).sqrt();
    assert!(rel(se[1].se, want_e) < 1e-3, "{} vs {want_e}", se[1].se);
    assert!(rel(se[0].se, want_b) < 1e-3, "{} vs {want_b}", se[0].se);
    assert!(rel(s2, f.scale()) < 1e-9);
}

#[test]
fn variance_component_ses_are_nan_on_the_boundary() {
    let f = fit("dyestuff2", "Yield ~ 1 + (1 | Batch)", true);
    assert!(f.singular());
    let se = f.variance_component_se().unwrap();
    assert!(se[0].se.is_nan(), "{:?}", se[0]);
    assert!(se[1].se.is_finite() && se[1].se > 0.0);
}

/// Prints the worst agreement with the references per quantity (run with --ignored
/// --nocapture; the asserting tests above hold the tolerances).
#[test]
#[ignore = "report only: prints measured agreement"]
fn report_agreement() {
    let (mut s_df, mut kr_df, mut kr_se, mut blup, mut csd, mut fitted) =
        (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    for (stem, data) in MODELS {
        let (r, f) = reference_fit(stem, data, true);
        for t in f.fixed_effect_tests(Ddf::Satterthwaite).unwrap() {
            s_df = s_df.max(rel(
                t.df.unwrap(),
                r["satterthwaite_df"][&t.name].as_f64().unwrap(),
            ));
        }
        for t in f.fixed_effect_tests(Ddf::KenwardRoger).unwrap() {
            kr_df = kr_df.max(rel(
                t.df.unwrap(),
                r["kenward_roger_df"][&t.name].as_f64().unwrap(),
            ));
            kr_se = kr_se.max(rel(t.se, r["kenward_roger_se"][&t.name].as_f64().unwrap()));
        }
        let re = &r["ranef"];
        let modes = f.conditional_modes();
        let (mut b, mut c) = (0f64, 0f64);
        for i in 0..re["condval"].as_array().unwrap().len() {
            let g = base_group(re["grpvar"][i].as_str().unwrap());
            let m = modes
                .iter()
                .find(|m| m.group == g && m.term == re["term"][i] && m.level == re["grp"][i])
                .unwrap();
            let (v, s) = (
                re["condval"][i].as_f64().unwrap(),
                re["condsd"][i].as_f64().unwrap(),
            );
            b = b.max((m.value - v).abs() / v.abs().max(s));
            c = c.max(rel(m.cond_sd.unwrap(), s));
        }
        let mut fv = 0f64;
        for (i, w) in r["fitted_head"].as_array().unwrap().iter().enumerate() {
            fv = fv.max(rel(f.fittedvalues()[i], w.as_f64().unwrap()));
        }
        eprintln!("{stem}: BLUP {b:.1e}, condsd {c:.1e}, fitted {fv:.1e}");
        blup = blup.max(b);
        csd = csd.max(c);
        fitted = fitted.max(fv);
    }
    eprintln!("max rel: satterthwaite df {s_df:.1e}, KR df {kr_df:.1e}, KR se {kr_se:.1e}, BLUP {blup:.1e}, condsd {csd:.1e}, fitted {fitted:.1e}");
    let refs = reference("inference_lme4.json");
    let mut worst = 0f64;
    for p in refs["profile"].as_array().unwrap() {
        let f = fit(
            p["dataset"].as_str().unwrap(),
            p["formula"].as_str().unwrap(),
            p["reml"].as_bool().unwrap(),
        );
        let ci = f.confint(&ConfIntOptions::new(CiMethod::Profile)).unwrap();
        for (i, name) in p["parameter"].as_array().unwrap().iter().enumerate() {
            let c = ci
                .iter()
                .find(|c| c.name == name.as_str().unwrap())
                .unwrap();
            let (lo, hi) = (
                p["lower"][i].as_f64().unwrap(),
                p["upper"][i].as_f64().unwrap(),
            );
            worst = worst.max((c.lower - lo).abs().max((c.upper - hi).abs()) / (hi - lo));
        }
    }
    eprintln!("profile: max |limit error| / width = {worst:.1e}");
    for t in refs["lrt"].as_array().unwrap() {
        let data = t["dataset"].as_str().unwrap();
        let m0 = fit(data, t["formula0"].as_str().unwrap(), true);
        let m1 = fit(data, t["formula1"].as_str().unwrap(), true);
        let a = anova(&[&m0, &m1]).unwrap();
        eprintln!(
            "lrt {data}: chisq {:.6} vs {}, p {:.4e} vs {}, logLik err {:.1e}",
            a.rows[1].chisq.unwrap(),
            t["chisq"],
            a.rows[1].p_value.unwrap(),
            t["p_value"],
            (a.rows[1].loglik - t["logLik"][1].as_f64().unwrap()).abs()
        );
    }
}

#[test]
fn a_grouping_factor_repeated_over_terms_is_labelled_as_lme4_in_interval_names() {
    // lme4: confint(oldNames = FALSE) names the second term on Subject `Subject.1`, also
    // when written with `||` (which lme4 splits into one term per effect).
    let want = [
        "sd_(Intercept)|Subject",
        "sd_Days|Subject.1",
        "sigma",
        "(Intercept)",
        "Days",
    ];
    for formula in [
        "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
        "Reaction ~ Days + (Days || Subject)",
    ] {
        let f = fit("sleepstudy", formula, true);
        let ci = f.confint(&ConfIntOptions::new(CiMethod::Profile)).unwrap();
        let names: Vec<&str> = ci.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, want, "{formula}");
        let se = f.variance_component_se().unwrap();
        assert_eq!(se[1].name, "var_Days|Subject.1", "{formula}");
    }
}
