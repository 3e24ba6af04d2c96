//! Test support for the inference tests: a tiny CSV reader, hand-built designs for the
//! reference models and the reference JSON.
#![allow(dead_code)]

use mixedlm_design::{CovarianceKind, DenseMatrix, Design, RandomTermDesign};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The workspace's `tests/data` (override with `MIXEDLM_TEST_DATA`).
fn root() -> PathBuf {
    std::env::var_os("MIXEDLM_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data"))
}

/// A data set as string columns.
pub struct Data {
    pub cols: BTreeMap<String, Vec<String>>,
    pub n: usize,
}

impl Data {
    pub fn read(name: &str) -> Data {
        let text = std::fs::read_to_string(root().join(format!("{name}.csv"))).unwrap();
        let mut lines = text.lines();
        let unq = |s: &str| s.trim().trim_matches('"').to_string();
        let header: Vec<String> = lines.next().unwrap().split(',').map(unq).collect();
        let mut cols: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut n = 0;
        for line in lines.filter(|l| !l.trim().is_empty()) {
            for (h, v) in header.iter().zip(line.split(',')) {
                cols.entry(h.clone()).or_default().push(unq(v));
            }
            n += 1;
        }
        Data { cols, n }
    }
    pub fn num(&self, c: &str) -> Vec<f64> {
        self.cols[c].iter().map(|v| v.parse().unwrap()).collect()
    }
    pub fn text(&self, c: &str) -> Vec<String> {
        self.cols[c].clone()
    }
    /// Interaction factor `a:b` as strings.
    pub fn inter(&self, a: &str, b: &str) -> Vec<String> {
        self.cols[a]
            .iter()
            .zip(&self.cols[b])
            .map(|(x, y)| format!("{x}:{y}"))
            .collect()
    }
}

/// Levels sorted as strings, and codes.
pub fn factor(v: &[String]) -> (Vec<String>, Vec<u32>) {
    let mut levels: Vec<String> = v.to_vec();
    levels.sort();
    levels.dedup();
    let codes = v
        .iter()
        .map(|s| levels.binary_search(s).unwrap() as u32)
        .collect();
    (levels, codes)
}

pub fn dense(cols: &[Vec<f64>]) -> DenseMatrix {
    let nrows = cols.first().map_or(0, Vec::len);
    DenseMatrix {
        nrows,
        ncols: cols.len(),
        data: cols.concat(),
    }
}

pub fn term(group: &str, g: &[String], names: &[&str], z: &[Vec<f64>]) -> RandomTermDesign {
    let (levels, codes) = factor(g);
    RandomTermDesign {
        group: group.into(),
        levels: levels.into(),
        codes,
        names: names.iter().map(|s| s.to_string()).collect(),
        z: dense(z),
        covariance: CovarianceKind::Unstructured,
    }
}

pub fn design(y: Vec<f64>, x: Vec<(&str, Vec<f64>)>, random: Vec<RandomTermDesign>) -> Design {
    let n = y.len();
    Design {
        response: "y".into(),
        x_names: x.iter().map(|(nm, _)| nm.to_string()).collect(),
        x: dense(&x.into_iter().map(|(_, c)| c).collect::<Vec<_>>()),
        y,
        aliased: vec![],
        random,
        weights: None,
        offset: None,
        n_dropped: 0,
        row_index: (0..n).collect(),
    }
}

pub fn indicator_col(v: &[String], level: &str) -> Vec<f64> {
    v.iter().map(|s| f64::from(u8::from(s == level))).collect()
}

/// The design of reference model `id` (the `NN` of `NN_<dataset>_<crit>.json`).
pub fn reference_design(id: u32) -> Design {
    match id {
        1..=3 => {
            let d = Data::read("sleepstudy");
            let (one, days, subj) = (vec![1.0; d.n], d.num("Days"), d.text("Subject"));
            let x = vec![("(Intercept)", one.clone()), ("Days", days.clone())];
            let random = match id {
                1 => vec![term(
                    "Subject",
                    &subj,
                    &["(Intercept)", "Days"],
                    &[one, days],
                )],
                2 => vec![term("Subject", &subj, &["(Intercept)"], &[one])],
                _ => vec![
                    term("Subject", &subj, &["(Intercept)"], &[one]),
                    term("Subject", &subj, &["Days"], &[days]),
                ],
            };
            design(d.num("Reaction"), x, random)
        }
        4 | 5 => {
            let d = Data::read(if id == 4 { "dyestuff" } else { "dyestuff2" });
            let one = vec![1.0; d.n];
            let random = vec![term(
                "Batch",
                &d.text("Batch"),
                &["(Intercept)"],
                std::slice::from_ref(&one),
            )];
            design(d.num("Yield"), vec![("(Intercept)", one)], random)
        }
        6 => {
            let d = Data::read("penicillin");
            let one = vec![1.0; d.n];
            let random = vec![
                term(
                    "plate",
                    &d.text("plate"),
                    &["(Intercept)"],
                    std::slice::from_ref(&one),
                ),
                term(
                    "sample",
                    &d.text("sample"),
                    &["(Intercept)"],
                    std::slice::from_ref(&one),
                ),
            ];
            design(d.num("diameter"), vec![("(Intercept)", one)], random)
        }
        7 => {
            let d = Data::read("pastes");
            let one = vec![1.0; d.n];
            let random = vec![
                term(
                    "batch",
                    &d.text("batch"),
                    &["(Intercept)"],
                    std::slice::from_ref(&one),
                ),
                term(
                    "batch:cask",
                    &d.inter("batch", "cask"),
                    &["(Intercept)"],
                    std::slice::from_ref(&one),
                ),
            ];
            design(d.num("strength"), vec![("(Intercept)", one)], random)
        }
        9 => {
            let d = Data::read("mathachieve");
            let (one, ses) = (vec![1.0; d.n], d.num("SES"));
            let x = vec![
                ("(Intercept)", one.clone()),
                ("SES", ses.clone()),
                ("MEANSES", d.num("MEANSES")),
                ("SexMale", indicator_col(&d.text("Sex"), "Male")),
                ("MinorityYes", indicator_col(&d.text("Minority"), "Yes")),
            ];
            let random = vec![term(
                "School",
                &d.text("School"),
                &["(Intercept)", "SES"],
                &[one, ses],
            )];
            design(d.num("MathAch"), x, random)
        }
        10 => {
            let d = Data::read("cake");
            let (one, temp, recipe) = (vec![1.0; d.n], d.num("temp"), d.text("recipe"));
            let (b, c) = (indicator_col(&recipe, "B"), indicator_col(&recipe, "C"));
            let bt: Vec<f64> = b.iter().zip(&temp).map(|(u, v)| u * v).collect();
            let ct: Vec<f64> = c.iter().zip(&temp).map(|(u, v)| u * v).collect();
            let x = vec![
                ("(Intercept)", one.clone()),
                ("recipeB", b),
                ("recipeC", c),
                ("temp", temp),
                ("recipeB:temp", bt),
                ("recipeC:temp", ct),
            ];
            let g = d.inter("recipe", "replicate");
            let random = vec![term("recipe:replicate", &g, &["(Intercept)"], &[one])];
            design(d.num("angle"), x, random)
        }
        _ => panic!("no reference model {id}"),
    }
}

/// The reference JSON of model `id` and criterion.
pub fn reference(id: u32, reml: bool) -> Value {
    let dir = root().join("reference");
    let prefix = format!("{id:02}_");
    let suffix = if reml { "_reml.json" } else { "_ml.json" };
    let entry = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with(&prefix) && n.ends_with(suffix)
        })
        .unwrap();
    serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap()
}

pub fn inference_reference() -> Value {
    let text = std::fs::read_to_string(root().join("reference/inference_lme4.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// θ of a reference fit.
pub fn theta(v: &Value) -> Vec<f64> {
    match &v["theta"] {
        Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
        x => vec![x.as_f64().unwrap()],
    }
}

/// A per-fixed-effect field (`satterthwaite_df`, …) in X's column order.
pub fn by_name(v: &Value, field: &str, names: &[String]) -> Vec<f64> {
    names
        .iter()
        .map(|n| v[field][n].as_f64().unwrap())
        .collect()
}

pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}
