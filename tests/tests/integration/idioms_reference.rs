//! The statsmodels idiom (fixed formula + `groups` + `re_formula` + `vc_formula`) and the
//! lme4 formula give identical estimates on every reference model both can express:
//! random intercepts (sleepstudy, Dyestuff, Dyestuff2), random slopes (sleepstudy,
//! MathAchieve) and nesting through a variance component (Pastes). REML and ML.
//!
//! "Identical" means the same model reaches the same optimum: objective to 1e-10
//! relative, fixed effects and their SEs to 1e-7 relative, σ and every variance to 1e-6.

use mixedlm::{read_table, MixedLM, MixedLMResults};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    mixedlm_fixtures::data_dir().join(name)
}

struct Case {
    data: &'static str,
    lme4: &'static str,
    fixed: &'static str,
    groups: &'static str,
    re_formula: Option<&'static str>,
    vc: Option<(&'static str, &'static str)>,
}

const CASES: [Case; 6] = [
    Case {
        data: "sleepstudy.csv",
        lme4: "Reaction ~ Days + (Days | Subject)",
        fixed: "Reaction ~ Days",
        groups: "Subject",
        re_formula: Some("~Days"),
        vc: None,
    },
    Case {
        data: "sleepstudy.csv",
        lme4: "Reaction ~ Days + (1 | Subject)",
        fixed: "Reaction ~ Days",
        groups: "Subject",
        re_formula: None,
        vc: None,
    },
    Case {
        data: "dyestuff.csv",
        lme4: "Yield ~ 1 + (1 | Batch)",
        fixed: "Yield ~ 1",
        groups: "Batch",
        re_formula: None,
        vc: None,
    },
    Case {
        data: "dyestuff2.csv",
        lme4: "Yield ~ 1 + (1 | Batch)",
        fixed: "Yield ~ 1",
        groups: "Batch",
        re_formula: None,
        vc: None,
    },
    Case {
        data: "pastes.csv",
        lme4: "strength ~ 1 + (1 | batch/cask)",
        fixed: "strength ~ 1",
        groups: "batch",
        re_formula: Some("1"),
        vc: Some(("cask", "0 + C(cask)")),
    },
    Case {
        data: "mathachieve.csv",
        lme4: "MathAch ~ SES + MEANSES + Sex + Minority + (1 + SES | School)",
        fixed: "MathAch ~ SES + MEANSES + Sex + Minority",
        groups: "School",
        re_formula: Some("~SES"),
        vc: None,
    },
];

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

fn assert_identical(case: &Case, reml: bool, a: &MixedLMResults, b: &MixedLMResults) {
    let what = format!("{} (reml {reml})", case.lme4);
    assert!(
        close(a.objective(), b.objective(), 1e-10),
        "{what}: objective {} vs {}",
        a.objective(),
        b.objective()
    );
    assert_eq!(a.fe_names(), b.fe_names(), "{what}");
    for i in 0..a.fe_params().len() {
        assert!(
            close(a.fe_params()[i], b.fe_params()[i], 1e-7),
            "{what}: beta[{i}]"
        );
        assert!(close(a.bse_fe()[i], b.bse_fe()[i], 1e-7), "{what}: se[{i}]");
    }
    assert!(close(a.scale(), b.scale(), 1e-6), "{what}: scale");
    let (va, vb) = (a.varcorr(), b.varcorr());
    assert_eq!(va.variances.len(), vb.variances.len(), "{what}");
    let mut sds_a: Vec<f64> = va.variances.iter().map(|v| v.std_dev).collect();
    let mut sds_b: Vec<f64> = vb.variances.iter().map(|v| v.std_dev).collect();
    sds_a.sort_by(f64::total_cmp);
    sds_b.sort_by(f64::total_cmp);
    for (x, y) in sds_a.iter().zip(&sds_b) {
        assert!(
            (x - y).abs() <= 1e-6 * y.max(1.0),
            "{what}: SDs {sds_a:?} vs {sds_b:?}"
        );
    }
}

#[test]
fn statsmodels_and_lme4_idioms_give_identical_estimates_on_the_reference_models() {
    for case in &CASES {
        let batch = read_table(&data(case.data), None).expect("bundled data");
        for reml in [true, false] {
            let lme4 = MixedLM::from_formula(case.lme4)
                .reml(reml)
                .fit_batch(&batch)
                .unwrap_or_else(|e| panic!("{}: {e}", case.lme4));
            let mut sm = MixedLM::from_formula(case.fixed)
                .groups(case.groups)
                .reml(reml);
            if let Some(r) = case.re_formula {
                sm = sm.re_formula(r);
            }
            if let Some((name, f)) = case.vc {
                sm = sm.vc(name, f);
            }
            let sm = sm
                .fit_batch(&batch)
                .unwrap_or_else(|e| panic!("{} (statsmodels idiom): {e}", case.fixed));
            assert_identical(case, reml, &sm, &lme4);
        }
    }
}
