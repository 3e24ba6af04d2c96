//! The printed summary against stored expected text (tests/expected/*.txt): statsmodels'
//! header and coefficient table, lme4's random-effects table and criteria, notes.
//!
//! The expected files were written by `mixedlm fit` and checked by hand against lme4's
//! and lmerTest's printouts (estimates, SEs, Satterthwaite df 17.00 for the balanced
//! sleepstudy slopes model, REML criterion 1743.6283, AIC 1755.6283).

use mixedlm::{read_table, Ddf, MixedLM};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn expected(name: &str) -> String {
    let text = std::fs::read_to_string(root().join("tests/expected").join(name)).unwrap();
    text.trim_end().to_string()
}

fn fit(data: &str, formula: &str, reml: bool) -> mixedlm::MixedLMResults {
    let path = mixedlm_fixtures::data_dir().join(data);
    MixedLM::from_formula(formula)
        .reml(reml)
        .fit_batch(&read_table(&path, None).unwrap())
        .unwrap()
}

/// Layout exactly (same lines, same widths, same words); numbers to 1e-5 relative, so
/// that the last printed digit of a quantity at a flat optimum (σ² = 654.9410 or
/// 654.9411; lme4 prints 654.9400) does not fail the layout test.
fn assert_same(got: &str, want: &str) {
    let (g_lines, w_lines): (Vec<&str>, Vec<&str>) =
        (got.lines().collect(), want.lines().collect());
    assert_eq!(
        g_lines.len(),
        w_lines.len(),
        "different number of lines:\n{got}"
    );
    for (i, (g, w)) in g_lines.iter().zip(&w_lines).enumerate() {
        let same = g.len() == w.len()
            && g.split_whitespace().count() == w.split_whitespace().count()
            && g.split_whitespace()
                .zip(w.split_whitespace())
                .all(|(a, b)| match (a.parse::<f64>(), b.parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() <= 1e-5 * y.abs().max(1.0),
                    _ => a == b,
                });
        assert!(
            same,
            "line {}:\n got: {g:?}\nwant: {w:?}\n\nfull output:\n{got}",
            i + 1
        );
    }
}

#[test]
fn sleepstudy_summary_with_satterthwaite_tests() {
    let f = fit("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", true);
    let got = f.summary_with(Ddf::Satterthwaite).unwrap().to_string();
    assert_same(&got, &expected("sleepstudy_summary.txt"));
}

#[test]
fn sleepstudy_summary_with_wald_z_tests() {
    let f = fit("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", true);
    assert_same(
        &f.summary().to_string(),
        &expected("sleepstudy_summary_z.txt"),
    );
}

#[test]
fn singular_ml_summary_says_deviance_and_notes_the_boundary() {
    let f = fit("dyestuff2.csv", "Yield ~ 1 + (1 | Batch)", false);
    assert_same(
        &f.summary().to_string(),
        &expected("dyestuff2_ml_summary.txt"),
    );
}

#[test]
fn rule_lines_share_one_width_and_headers_sit_over_their_numbers() {
    let f = fit("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", true);
    let text = f.summary_with(Ddf::Satterthwaite).unwrap().to_string();
    let rules: Vec<usize> = text
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| c == '=' || c == '-'))
        .map(str::len)
        .collect();
    assert_eq!(rules.len(), 4, "{text}");
    assert!(rules.iter().all(|&w| w == rules[0]), "{rules:?}");
    // Each column header ends where the numbers below it end (right-aligned).
    let lines: Vec<&str> = text.lines().collect();
    let head = lines.iter().position(|l| l.contains("Coef.")).unwrap();
    let row = lines[head + 2];
    for col in ["Coef.", "Std.Err.", "t", "df", "P>|t|", "[0.025", "0.975]"] {
        let end = lines[head]
            .find(&format!("{col} "))
            .map_or(lines[head].len(), |i| i + col.len());
        let before = row.as_bytes()[end - 1];
        let after = row.as_bytes().get(end).copied().unwrap_or(b' ');
        assert!(
            before != b' ' && after == b' ',
            "column {col} misaligned:\n{}\n{row}",
            lines[head]
        );
    }
}
