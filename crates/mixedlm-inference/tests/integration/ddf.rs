//! Satterthwaite and Kenward-Roger degrees of freedom against lmerTest / pbkrtest, at lme4's θ̂.

use crate::common::{by_name, reference_design, rel, result, theta};
use mixedlm_inference::{kenward_roger, satterthwaite, DenseLmm};

const MODELS: [&str; 9] = [
    "sleepstudy",
    "sleepstudy_intercept",
    "sleepstudy_uncorrelated",
    "dyestuff",
    "dyestuff2",
    "penicillin",
    "pastes",
    "mathachieve",
    "cake",
];

fn check_satterthwaite(id: &str) {
    let r = result(id, true);
    let model = DenseLmm::new(&reference_design(id), true).unwrap();
    let s = satterthwaite(&model, &theta(&r), true).unwrap();
    let want = by_name(&r, "satterthwaite_df", model.x_names());
    for (j, w) in want.iter().enumerate() {
        let got = s.df_coef(j);
        eprintln!(
            "model {id} {}: satterthwaite df {got} vs {w}",
            model.x_names()[j]
        );
        assert!(rel(got, *w) < 1e-3, "model {id} coef {j}: {got} vs {w}");
    }
}

fn check_kenward_roger(id: &str) {
    let r = result(id, true);
    let model = DenseLmm::new(&reference_design(id), true).unwrap();
    let kr = kenward_roger(&model, &theta(&r)).unwrap();
    let want_df = by_name(&r, "kenward_roger_df", model.x_names());
    let want_se = by_name(&r, "kenward_roger_se", model.x_names());
    for j in 0..want_df.len() {
        let (df, se) = (kr.df_coef(j), kr.se_adj(j));
        eprintln!(
            "model {id} {}: KR df {df} vs {}, se {se} vs {}",
            model.x_names()[j],
            want_df[j],
            want_se[j]
        );
        assert!(
            rel(df, want_df[j]) < 1e-2,
            "model {id} coef {j}: df {df} vs {}",
            want_df[j]
        );
        assert!(
            rel(se, want_se[j]) < 1e-4,
            "model {id} coef {j}: se {se} vs {}",
            want_se[j]
        );
    }
}

#[test]
fn satterthwaite_matches_lmertest() {
    for id in MODELS {
        check_satterthwaite(id);
    }
}

#[test]
fn kenward_roger_matches_pbkrtest() {
    for id in MODELS {
        check_kenward_roger(id);
    }
}
