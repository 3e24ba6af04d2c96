//! GLMM fits against lme4 1.1-31's `glmer`, one test per data set and model.
//!
//! The four public fits (`tests/data/reference/glmm/0[1-4]*.json`, lme4 with its default
//! controls) are checked at the issue's tolerances: −2 log-likelihood equal or lower
//! within 1e-6 relative, fixed effects within 1e-3 relative, standard errors and
//! random-effect SDs within 1e-2 relative, conditional modes within 1e-2 of their
//! conditional SD. Every model is also checked against lme4 refitted with its PIRLS run to
//! convergence (`tolPwrss = 1e-12`) and BOBYQA to `rhoend = 1e-12` (the `converged`
//! entries, `xtask/scripts/reference/glmm_reference.R`) at tighter tolerances.
//!
//! One documented exception: lme4's default PIRLS tolerance (1e-7) leaves its criterion
//! slightly rough, which moves its finite-difference Hessian and so its standard errors
//! by up to 1.3% on cbpp (Laplace). With PIRLS converged, lme4's SEs equal ours to 1e-6;
//! the public cbpp SEs are checked at 1.5%.

use mixedlm::{read_table, Glmm, GlmmResults, RecordBatch};
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn data(name: &str) -> RecordBatch {
    read_table(&root().join("glmm").join(format!("{name}.csv")), None).unwrap()
}

fn reference(file: &str) -> Value {
    let text = std::fs::read_to_string(root().join("reference/glmm").join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fit(r: &Value) -> GlmmResults {
    let s = |k: &str| r[k].as_str().unwrap().to_string();
    let mut m = Glmm::new(&s("formula"), &s("family")).nagq(r["nAGQ"].as_u64().unwrap() as usize);
    if let Some(link) = r["link"].as_str() {
        m = m.link(link);
    }
    if let Some(w) = r["weights"].as_str() {
        m = m.weights(w);
    }
    m.fit_batch(&data(&s("dataset"))).unwrap()
}

/// Whether two grouping-factor names are the same interaction: lme4 names the inner
/// factor of `(1 | a/b)` `b:a`, mixedlm `a:b`.
fn same_group(a: &str, b: &str) -> bool {
    let parts = |s: &str| {
        let mut v: Vec<String> = s.split(':').map(str::to_string).collect();
        v.sort();
        v
    };
    parts(a) == parts(b)
}

/// Whether our level `ours` of group `ours_group` is lme4's level `theirs` of its group
/// `theirs_group` (interaction levels list their parts in the group's order).
fn same_level(ours_group: &str, ours: &str, theirs_group: &str, theirs: &str) -> bool {
    let (gp, lp): (Vec<&str>, Vec<&str>) =
        (ours_group.split(':').collect(), ours.split(':').collect());
    let (gt, lt): (Vec<&str>, Vec<&str>) = (
        theirs_group.split(':').collect(),
        theirs.split(':').collect(),
    );
    if gp.len() != lp.len() || gt.len() != lt.len() || gp.len() != gt.len() {
        return ours == theirs;
    }
    gp.iter()
        .zip(&lp)
        .all(|(g, l)| gt.iter().position(|x| x == g).is_some_and(|i| lt[i] == *l))
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// Tolerances of one comparison.
#[derive(Clone, Copy)]
struct Tol {
    objective: f64,
    fixef: f64,
    se: f64,
    sd: f64,
    modes: f64,
}

/// The issue's tolerances (lme4 at its default controls).
const ISSUE: Tol = Tol {
    objective: 1e-6,
    fixef: 1e-3,
    se: 1e-2,
    sd: 1e-2,
    modes: 1e-2,
};

/// Against lme4 with PIRLS and BOBYQA converged.
const CONVERGED: Tol = Tol {
    objective: 1e-8,
    fixef: 2e-4,
    se: 2e-3,
    sd: 1e-3,
    modes: 2e-3,
};

fn check_objective(name: &str, f: &GlmmResults, reference: f64, tol: f64) {
    assert!(
        f.objective() <= reference + tol * reference.abs(),
        "{name}: -2 logLik {} above lme4's {reference}",
        f.objective()
    );
}

fn check_fixef(name: &str, f: &GlmmResults, fixef: &Value, se: &Value, tol: Tol) {
    for (i, n) in f.fe_names().iter().enumerate() {
        let b = fixef[n]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: no {n}"));
        assert!(
            rel(f.fixef()[i], b) < tol.fixef,
            "{name} {n}: {} vs {b}",
            f.fixef()[i]
        );
        let s = se[n].as_f64().unwrap();
        assert!(
            rel(f.bse_fe()[i], s) < tol.se,
            "{name} SE {n}: {} vs {s}",
            f.bse_fe()[i]
        );
    }
}

/// Conditional modes by (group, term, level) within `tol` of their conditional SD, and the
/// conditional SDs within `tol` relative. `re` names the modes (`grpvar`, `term`, `grp`);
/// `val` and `sd` are the wanted modes and conditional SDs in its order.
fn check_modes(name: &str, f: &GlmmResults, re: &Value, val: &Value, sd: &Value, tol: f64) {
    let (grp, term, level) = (&re["grpvar"], &re["term"], &re["grp"]);
    let (ranef, sds) = (f.ranef(), f.ranef_sd());
    let n = val.as_array().unwrap().len();
    for i in 0..n {
        let (g, t, l) = (
            grp[i].as_str().unwrap(),
            term[i].as_str().unwrap(),
            level[i].as_str().unwrap(),
        );
        let (e, s) = ranef
            .iter()
            .zip(&sds)
            .find(|(e, _)| same_group(&e.group, g))
            .unwrap_or_else(|| panic!("{name}: no group {g}"));
        let c = e.names.iter().position(|x| x == t).unwrap();
        let r = e
            .levels
            .iter()
            .position(|x| same_level(&e.group, x, g, l))
            .unwrap_or_else(|| panic!("{name}: no level {l} of {g}"));
        let (v, csd) = (val[i].as_f64().unwrap(), sd[i].as_f64().unwrap());
        assert!(
            (e.values[(r, c)] - v).abs() < tol * csd,
            "{name} mode {g}/{t}/{l}: {} vs {v} (sd {csd})",
            e.values[(r, c)]
        );
        assert!(
            rel(s.values[(r, c)], csd) < tol,
            "{name} cond. SD {g}/{t}/{l}: {} vs {csd}",
            s.values[(r, c)]
        );
    }
}

fn check_sds(name: &str, f: &GlmmResults, varcorr: &Value, tol: f64) {
    let vc = f.varcorr();
    for entry in varcorr.as_array().unwrap() {
        let (g, t) = (
            entry["grp"].as_str().unwrap(),
            entry["var1"].as_str().unwrap(),
        );
        if !entry["var2"].is_null() {
            let other = entry["var2"].as_str().unwrap();
            let c = vc
                .correlations
                .iter()
                .find(|c| {
                    same_group(&c.group, g)
                        && ((c.term1 == t && c.term2 == other)
                            || (c.term1 == other && c.term2 == t))
                })
                .unwrap();
            let r = entry["sdcor"].as_f64().unwrap();
            assert!(
                (c.correlation - r).abs() < tol.max(1e-2 * (1.0 - r * r)),
                "{name} corr {g}: {} vs {r}",
                c.correlation
            );
            continue;
        }
        let v = vc
            .variances
            .iter()
            .find(|v| same_group(&v.group, g) && v.term == t)
            .unwrap();
        let s = entry["sdcor"].as_f64().unwrap();
        // an SD estimated at 0 (a singular fit) is compared absolutely
        assert!(
            (v.std_dev - s).abs() < tol * s.max(0.05),
            "{name} SD {g}/{t}: {} vs {s}",
            v.std_dev
        );
    }
}

/// Checks at the issue's tolerances against the public fit, and at tight ones against the
/// converged refit (`se_public` widens the public SE check; see the module notes).
fn check_public(file: &str, se_public: f64) -> GlmmResults {
    let r = reference(file);
    let c = reference(&format!("converged/{file}"));
    let f = fit(&r);
    let name = file;
    assert!(f.converged(), "{name}: not converged");
    check_objective(name, &f, r["objective"].as_f64().unwrap(), ISSUE.objective);
    check_objective(
        name,
        &f,
        c["objective"].as_f64().unwrap(),
        CONVERGED.objective,
    );
    let tol = Tol {
        se: se_public,
        ..ISSUE
    };
    check_fixef(name, &f, &r["fixef"], &r["se"], tol);
    check_sds(name, &f, &r["varcorr"], ISSUE.sd);
    let re = &r["ranef"];
    check_modes(name, &f, re, &re["condval"], &re["condsd"], ISSUE.modes);
    // where the converged refit reached the lower optimum, match it tightly
    if c["objective"].as_f64().unwrap() <= r["objective"].as_f64().unwrap() {
        check_fixef(name, &f, &c["fixef"], &c["se"], CONVERGED);
        check_modes(name, &f, re, &c["condval"], &c["condsd"], CONVERGED.modes);
    }
    assert_eq!(f.nobs() as u64, r["n_obs"].as_u64().unwrap());
    assert_eq!(f.npar() as u64, r["npar"].as_u64().unwrap());
    f
}

/// An extra model: the converged refit is the reference (the default fit is kept in the
/// file for comparison).
fn check_extra(file: &str) -> GlmmResults {
    let r = reference(file);
    let c = &r["converged"];
    let f = fit(&r);
    let name = file;
    assert!(f.converged(), "{name}: not converged");
    check_objective(name, &f, r["objective"].as_f64().unwrap(), ISSUE.objective);
    check_objective(
        name,
        &f,
        c["objective"].as_f64().unwrap(),
        CONVERGED.objective,
    );
    check_fixef(name, &f, &c["fixef"], &c["se"], CONVERGED);
    check_sds(name, &f, &r["varcorr"], ISSUE.sd);
    let re = &r["ranef"];
    check_modes(name, &f, re, &c["condval"], &c["condsd"], CONVERGED.modes);
    assert_eq!(f.npar() as u64, r["npar"].as_u64().unwrap());
    f
}

#[test]
fn cbpp_laplace() {
    let f = check_public("01_cbpp_binomial_agq1.json", 1.5e-2);
    // lme4's deviance(): the conditional deviance at the modes
    let c = reference("converged/01_cbpp_binomial_agq1.json");
    let d = c["lme4_deviance"].as_f64().unwrap();
    assert!(rel(f.deviance(), d) < 1e-6, "{} vs {d}", f.deviance());
}

#[test]
fn cbpp_agq25() {
    check_public("02_cbpp_binomial_agq25.json", ISSUE.se);
}

#[test]
fn grouseticks_three_terms() {
    let f = check_public("03_grouseticks_poisson_agq1.json", ISSUE.se);
    // the observation-level term absorbs the overdispersion
    let c = f.checks();
    assert!(c.overdispersion.unwrap().ratio < 1.5);
    assert!(c.messages.is_empty(), "{:?}", c.messages);
}

#[test]
fn verbagg_crossed() {
    let f = check_public("04_verbagg_binomial_agq1.json", ISSUE.se);
    // a converged, regular fit of a 0/1 response: nothing to report
    let c = f.checks();
    assert!(c.messages.is_empty(), "{:?}", c.messages);
    assert!(c.scaled_gradient_max < 2e-3);
    assert!(c.overdispersion.is_none());
}

#[test]
fn cbpp_probit() {
    check_extra("05_cbpp_binomial_probit_agq1.json");
}

#[test]
fn cbpp_cloglog_agq9() {
    check_extra("06_cbpp_binomial_cloglog_agq9.json");
}

#[test]
fn bacteria_week_comparison() {
    check_extra("07_bacteria_binomial_logit_agq1.json");
}

#[test]
fn bacteria_agq12() {
    check_extra("08_bacteria_binomial_logit_agq12.json");
}

#[test]
fn bacteria_random_slope_singular() {
    let f = check_extra("09_bacteria_binomial_logit_agq1.json");
    assert!(f.singular());
    assert!(f.checks().messages.iter().any(|m| m.contains("singular")));
}

#[test]
fn grouseticks_two_nested_terms() {
    // without the observation-level term the ticks are overdispersed, and we say so
    let f = check_extra("10_grouseticks_poisson_log_agq1.json");
    let o = f.checks().overdispersion.unwrap();
    assert!(o.ratio > 1.5 && o.p_value < 1e-6, "{o:?}");
    assert!(f.checks().messages.iter().any(|m| m.contains("(1 | obs)")));
}

#[test]
fn contraception_random_slope() {
    check_extra("11_contraception_binomial_logit_agq1.json");
}

#[test]
fn epil_poisson() {
    check_extra("12_epil_poisson_log_agq1.json");
}

#[test]
fn epil_agq10() {
    check_extra("13_epil_poisson_log_agq10.json");
}

#[test]
fn counts_offset_random_slope() {
    check_extra("14_counts_poisson_log_agq1.json");
}

#[test]
fn proportions_crossed_with_weights() {
    check_extra("15_proportions_binomial_logit_agq1.json");
}

#[test]
fn grouseticks_agq11() {
    check_extra("16_grouseticks_poisson_log_agq11.json");
}
