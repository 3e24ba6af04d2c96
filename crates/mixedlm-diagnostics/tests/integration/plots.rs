//! Plots of sleepstudy and mathachieve built from lme4's reference estimates (fixed effects,
//! σ, conditional modes and SDs), checked against lme4's fitted values first.

use crate::common::*;
use mixedlm_design::DenseMatrix;
use mixedlm_diagnostics::plots::{RanefGroup, RanefTerm};
use mixedlm_diagnostics::residuals::{add_random_term, marginal_fitted, ResidualSet};
use mixedlm_diagnostics::{write_plots, PlotFormat, PlotInput};
use std::path::{Path, PathBuf};

/// X (with lme4's column names), the random-effects Z (intercept + one slope) and the
/// response of a data set.
struct Data {
    y: Vec<f64>,
    x_names: Vec<&'static str>,
    x: DenseMatrix,
    z: DenseMatrix,
    levels: Vec<String>,
    codes: Vec<u32>,
}

fn dense(cols: &[Vec<f64>]) -> DenseMatrix {
    let nrows = cols[0].len();
    DenseMatrix {
        nrows,
        ncols: cols.len(),
        data: cols.concat(),
    }
}

/// Residuals and plot input from the reference estimates of a random intercept + slope model.
fn build(
    data: &Data,
    reference: &serde_json::Value,
    group: &str,
    slope: &str,
) -> (ResidualSet, PlotInput) {
    let beta: Vec<f64> = data
        .x_names
        .iter()
        .map(|n| reference["fixef"][n].as_f64().unwrap())
        .collect();
    let sigma = reference["sigma"].as_f64().unwrap();
    let (levels, b0, s0) = ranef(reference, group, "(Intercept)");
    let (_, b1, s1) = ranef(reference, group, slope);
    assert_eq!(levels, data.levels, "level order differs from lme4's");
    let modes: Vec<f64> = b0.iter().zip(&b1).flat_map(|(a, b)| [*a, *b]).collect();
    let marginal = marginal_fitted(&data.x, &beta, None).unwrap();
    let mut fitted = marginal.clone();
    add_random_term(&mut fitted, &data.z, &data.codes, &modes).unwrap();
    let set = ResidualSet::new(&data.y, fitted, marginal, sigma, None).unwrap();
    let input = PlotInput {
        fitted: set.fitted.clone(),
        residuals: set.conditional.clone(),
        pearson: set.pearson.clone(),
        random_effects: vec![RanefGroup {
            group: group.into(),
            levels,
            terms: vec![
                RanefTerm {
                    name: "(Intercept)".into(),
                    modes: b0,
                    cond_sd: s0,
                },
                RanefTerm {
                    name: slope.into(),
                    modes: b1,
                    cond_sd: s1,
                },
            ],
        }],
    };
    (set, input)
}

fn assert_matches_lme4(set: &ResidualSet, reference: &serde_json::Value) {
    let (f, r) = (
        numbers(&reference["fitted_head"]),
        numbers(&reference["resid_head"]),
    );
    for i in 0..f.len() {
        assert!(
            (set.fitted[i] - f[i]).abs() < 1e-6 * f[i].abs().max(1.0),
            "fitted {i}"
        );
        assert!(
            (set.conditional[i] - r[i]).abs() < 1e-6 * f[i].abs().max(1.0),
            "resid {i}"
        );
    }
}

fn sleepstudy() -> Data {
    let dataset = "sleepstudy";
    let days = numeric(dataset, "Days");
    let (levels, codes) = factor(dataset, "Subject");
    let ones = vec![1.0; days.len()];
    Data {
        y: numeric(dataset, "Reaction"),
        x_names: vec!["(Intercept)", "Days"],
        x: dense(&[ones.clone(), days.clone()]),
        z: dense(&[ones, days]),
        levels,
        codes,
    }
}

fn mathachieve() -> Data {
    let dataset = "mathachieve";
    let ses = numeric(dataset, "SES");
    let (sex_levels, sex) = factor(dataset, "Sex");
    let (min_levels, minority) = factor(dataset, "Minority");
    assert_eq!(
        (sex_levels[1].as_str(), min_levels[1].as_str()),
        ("Male", "Yes")
    );
    let ones = vec![1.0; ses.len()];
    let dummy = |c: Vec<u32>| c.into_iter().map(f64::from).collect::<Vec<f64>>();
    let x = dense(&[
        ones.clone(),
        ses.clone(),
        numeric(dataset, "MEANSES"),
        dummy(sex),
        dummy(minority),
    ]);
    let (levels, codes) = factor(dataset, "School");
    let x_names = vec!["(Intercept)", "SES", "MEANSES", "SexMale", "MinorityYes"];
    Data {
        y: numeric(dataset, "MathAch"),
        x_names,
        x,
        z: dense(&[ones, ses]),
        levels,
        codes,
    }
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn assert_nonempty_files(files: &[PathBuf], min_bytes: u64) {
    for f in files {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len > min_bytes, "{} has only {len} bytes", f.display());
    }
}

/// The SVG's text with runs of whitespace collapsed to one space.
fn svg_text(dir: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn sleepstudy_plots_svg_and_png() {
    let reference = result("sleepstudy", true);
    let (set, input) = build(&sleepstudy(), &reference, "Subject", "Days");
    assert_matches_lme4(&set, &reference);
    let dir = plot_dir("sleepstudy");
    let files = write_plots(&dir, &input, PlotFormat::Both).unwrap();
    let expected = [
        "resid_qq",
        "resid_vs_fitted",
        "scale_location",
        "qq_ranef_Subject_Intercept",
        "qq_ranef_Subject_Days",
        "caterpillar_Subject",
    ];
    let got = names(&files);
    let want: Vec<String> = expected
        .iter()
        .flat_map(|s| [format!("{s}.svg"), format!("{s}.png")])
        .collect();
    assert_eq!(got, want);
    assert_nonempty_files(&files, 5_000);
    assert!(svg_text(&dir, "resid_vs_fitted.svg").contains("Residuals vs fitted"));
    let cat = svg_text(&dir, "caterpillar_Subject.svg");
    // 18 levels: every level is labelled, in the order of the intercepts (337 largest).
    let (low, high) = (
        cat.find("> 309 <").expect("309 labelled"),
        cat.find("> 337 <").expect("337 labelled"),
    );
    assert!(
        low < high,
        "levels sorted by intercept: 309 lowest, 337 highest"
    );
    assert!(cat.contains("Days"));
}

#[test]
fn mathachieve_plots_many_points_and_levels() {
    let reference = result("mathachieve", true);
    let (set, input) = build(&mathachieve(), &reference, "School", "SES");
    assert_matches_lme4(&set, &reference);
    assert_eq!(input.fitted.len(), 7185);
    let dir = plot_dir("mathachieve");
    let files = write_plots(&dir, &input, PlotFormat::Both).unwrap();
    assert_eq!(files.len(), 12);
    assert_nonempty_files(&files, 5_000);
    // 160 levels: no level labels (school 1224 is a level), thin bars instead.
    let cat = svg_text(&dir, "caterpillar_School.svg");
    assert!(!cat.contains("> 1224 <"));
    assert!(cat.contains("160 levels, sorted"));
}

#[test]
fn invalid_plot_input_is_an_error() {
    let input = PlotInput {
        fitted: vec![1.0, 2.0],
        residuals: vec![0.5],
        pearson: vec![0.1, 0.2],
        random_effects: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    assert!(write_plots(dir.path(), &input, PlotFormat::Svg).is_err());
}
