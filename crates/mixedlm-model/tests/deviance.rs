//! The profiled objective at lme4's θ equals lme4's objective (REML criterion or ML
//! deviance) to 1e-8 relative: validates the deviance evaluation without any optimizer.

mod common;

use common::{assert_rel, model_design, numbers, reference};
use mixedlm_model::{LinearMixedModel, ModelOptions};

fn check(nn: u32, reml: bool) {
    let reference = reference(nn, reml);
    let theta = numbers(&reference["theta"]);
    let want = reference["objective"].as_f64().unwrap();
    let mut model = LinearMixedModel::new(&model_design(nn), ModelOptions { reml }).unwrap();
    let got = model.objective(&theta);
    assert_rel(
        &format!("model {nn:02} reml={reml} objective at lme4 θ"),
        got,
        want,
        1e-8,
    );
}

macro_rules! at_lme4_theta {
    ($($name:ident: $nn:expr, $reml:expr;)*) => {$(
        #[test]
        fn $name() {
            check($nn, $reml);
        }
    )*};
}

at_lme4_theta! {
    sleepstudy_slopes_reml: 1, true;
    sleepstudy_slopes_ml: 1, false;
    sleepstudy_intercept_reml: 2, true;
    sleepstudy_intercept_ml: 2, false;
    sleepstudy_uncorrelated_reml: 3, true;
    sleepstudy_uncorrelated_ml: 3, false;
    dyestuff_reml: 4, true;
    dyestuff_ml: 4, false;
    dyestuff2_reml: 5, true;
    dyestuff2_ml: 5, false;
    penicillin_reml: 6, true;
    penicillin_ml: 6, false;
    pastes_reml: 7, true;
    pastes_ml: 7, false;
    mathachieve_reml: 9, true;
    mathachieve_ml: 9, false;
    cake_reml: 10, true;
    cake_ml: 10, false;
}

#[test]
#[ignore = "InstEval has 73,421 rows: run with --release -- --ignored"]
fn insteval_reml() {
    check(8, true);
}

#[test]
#[ignore = "InstEval has 73,421 rows: run with --release -- --ignored"]
fn insteval_ml() {
    check(8, false);
}
