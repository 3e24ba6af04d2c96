//! Test support: data and lme4 reference results from the repository's tests/data.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository's tests/data directory.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// Read a CSV with a header into (header, rows of raw strings with quotes stripped).
pub fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(data_dir().join(name)).expect("test data present");
    let mut lines = text.lines();
    let split = |l: &str| -> Vec<String> {
        l.split(',')
            .map(|s| s.trim_matches('"').to_string())
            .collect()
    };
    let header = split(lines.next().expect("header"));
    (header, lines.filter(|l| !l.is_empty()).map(split).collect())
}

/// A numeric column.
pub fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let j = header
        .iter()
        .position(|h| h == name)
        .expect("column present");
    rows.iter()
        .map(|r| r[j].parse().expect("numeric"))
        .collect()
}

/// A categorical column as (sorted levels, codes).
pub fn factor(header: &[String], rows: &[Vec<String>], name: &str) -> (Vec<String>, Vec<u32>) {
    let j = header
        .iter()
        .position(|h| h == name)
        .expect("column present");
    let mut levels: Vec<String> = rows.iter().map(|r| r[j].clone()).collect();
    levels.sort();
    levels.dedup();
    let codes = rows
        .iter()
        .map(|r| levels.binary_search(&r[j]).expect("level") as u32)
        .collect();
    (levels, codes)
}

/// An lme4 reference result.
pub fn reference(name: &str) -> serde_json::Value {
    let path = data_dir().join("reference").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference present")).expect("json")
}

/// Numbers of a JSON array.
pub fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Strings of a JSON array.
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_string())
        .collect()
}

/// Where tests leave plots for a human to look at.
pub fn plot_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("diagnostics-plots")
        .join(name)
}

/// lme4's conditional modes of one (factor, term) in the reference's level order:
/// (levels, condval, condsd).
pub fn ranef(
    reference: &serde_json::Value,
    group: &str,
    term: &str,
) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let r = &reference["ranef"];
    let (g, t, lv) = (
        strings(&r["grpvar"]),
        strings(&r["term"]),
        strings(&r["grp"]),
    );
    let (cv, cs) = (numbers(&r["condval"]), numbers(&r["condsd"]));
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..g.len() {
        if g[i] == group && t[i] == term {
            out.0.push(lv[i].clone());
            out.1.push(cv[i]);
            out.2.push(cs[i]);
        }
    }
    out
}
