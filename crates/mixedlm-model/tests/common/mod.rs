//! Test support: a tiny CSV reader (quoted fields are factors), hand-built designs for the
//! ten reference models, and the lme4 reference results.
#![allow(dead_code)]

use mixedlm_design::{CovarianceKind, DenseMatrix, Design, RandomTermDesign};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// A CSV file: header and string columns.
pub struct Csv {
    header: Vec<String>,
    cols: Vec<Vec<String>>,
}

impl Csv {
    pub fn read(name: &str) -> Csv {
        let text = std::fs::read_to_string(data_dir().join(name)).expect("test data file");
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = split(lines.next().expect("header"));
        let mut cols = vec![Vec::new(); header.len()];
        for line in lines {
            for (c, v) in split(line).into_iter().enumerate() {
                cols[c].push(v);
            }
        }
        Csv { header, cols }
    }
    pub fn n(&self) -> usize {
        self.cols[0].len()
    }
    fn col(&self, name: &str) -> &[String] {
        let i = self.header.iter().position(|h| h == name).expect("column");
        &self.cols[i]
    }
    pub fn num(&self, name: &str) -> Vec<f64> {
        self.col(name)
            .iter()
            .map(|v| v.parse().expect("number"))
            .collect()
    }
    /// A factor (levels sorted as strings); several names make an interaction `a:b`.
    pub fn factor(&self, names: &[&str]) -> (Vec<String>, Vec<u32>) {
        let labels: Vec<String> = (0..self.n())
            .map(|i| {
                names
                    .iter()
                    .map(|n| self.col(n)[i].clone())
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .collect();
        let levels: Vec<String> = labels
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let codes = labels
            .iter()
            .map(|l| levels.binary_search(l).unwrap() as u32)
            .collect();
        (levels, codes)
    }
    /// Treatment-contrast dummies of a factor: (name, column) for every level but the first.
    pub fn dummies(&self, name: &str) -> Vec<(String, Vec<f64>)> {
        let (levels, codes) = self.factor(&[name]);
        (1..levels.len())
            .map(|l| {
                (
                    format!("{name}{}", levels[l]),
                    codes
                        .iter()
                        .map(|&c| f64::from(u8::from(c as usize == l)))
                        .collect(),
                )
            })
            .collect()
    }
}

fn split(line: &str) -> Vec<String> {
    line.split(',')
        .map(|f| f.trim().trim_matches('"').to_string())
        .collect()
}

pub fn matrix(cols: &[Vec<f64>]) -> DenseMatrix {
    let nrows = cols[0].len();
    DenseMatrix {
        nrows,
        ncols: cols.len(),
        data: cols.concat(),
    }
}

/// One random term from z columns ("1" is the intercept) and grouping columns.
pub fn term(csv: &Csv, z: &[&str], group: &[&str], kind: CovarianceKind) -> RandomTermDesign {
    let (levels, codes) = csv.factor(group);
    let cols: Vec<Vec<f64>> = z
        .iter()
        .map(|c| {
            if *c == "1" {
                vec![1.0; csv.n()]
            } else {
                csv.num(c)
            }
        })
        .collect();
    RandomTermDesign {
        group: group.join(":"),
        levels: levels.into(),
        codes,
        names: z
            .iter()
            .map(|c| {
                if *c == "1" {
                    "(Intercept)".to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
        z: matrix(&cols),
        covariance: kind,
    }
}

pub fn design(
    csv: &Csv,
    response: &str,
    fixed: Vec<(String, Vec<f64>)>,
    random: Vec<RandomTermDesign>,
) -> Design {
    let n = csv.n();
    let (x_names, cols): (Vec<String>, Vec<Vec<f64>>) = fixed.into_iter().unzip();
    Design {
        response: response.to_string(),
        y: csv.num(response),
        x: matrix(&cols),
        x_names,
        aliased: vec![],
        random,
        weights: None,
        offset: None,
        n_dropped: 0,
        row_index: (0..n).collect(),
    }
}

fn icpt(csv: &Csv) -> (String, Vec<f64>) {
    ("(Intercept)".to_string(), vec![1.0; csv.n()])
}

fn num(csv: &Csv, name: &str) -> (String, Vec<f64>) {
    (name.to_string(), csv.num(name))
}

/// The design of reference model `nn` (01 .. 10), hand-built as lme4 builds it.
pub fn model_design(nn: u32) -> Design {
    use CovarianceKind::Unstructured as U;
    match nn {
        1..=3 => {
            let c = Csv::read("sleepstudy.csv");
            let random = match nn {
                1 => vec![term(&c, &["1", "Days"], &["Subject"], U)],
                2 => vec![term(&c, &["1"], &["Subject"], U)],
                _ => vec![
                    term(&c, &["1"], &["Subject"], U),
                    term(&c, &["Days"], &["Subject"], U),
                ],
            };
            design(&c, "Reaction", vec![icpt(&c), num(&c, "Days")], random)
        }
        4 | 5 => {
            let c = Csv::read(if nn == 4 {
                "dyestuff.csv"
            } else {
                "dyestuff2.csv"
            });
            let random = vec![term(&c, &["1"], &["Batch"], U)];
            design(&c, "Yield", vec![icpt(&c)], random)
        }
        6 => {
            let c = Csv::read("penicillin.csv");
            let random = vec![
                term(&c, &["1"], &["plate"], U),
                term(&c, &["1"], &["sample"], U),
            ];
            design(&c, "diameter", vec![icpt(&c)], random)
        }
        7 => {
            let c = Csv::read("pastes.csv");
            let random = vec![
                term(&c, &["1"], &["batch"], U),
                term(&c, &["1"], &["batch", "cask"], U),
            ];
            design(&c, "strength", vec![icpt(&c)], random)
        }
        8 => {
            let c = Csv::read("insteval.csv");
            let mut fixed = vec![icpt(&c)];
            fixed.extend(c.dummies("service"));
            let random = vec![
                term(&c, &["1"], &["s"], U),
                term(&c, &["1"], &["d"], U),
                term(&c, &["1"], &["dept"], U),
            ];
            design(&c, "y", fixed, random)
        }
        9 => {
            let c = Csv::read("mathachieve.csv");
            let mut fixed = vec![icpt(&c), num(&c, "SES"), num(&c, "MEANSES")];
            fixed.extend(c.dummies("Sex"));
            fixed.extend(c.dummies("Minority"));
            design(
                &c,
                "MathAch",
                fixed,
                vec![term(&c, &["1", "SES"], &["School"], U)],
            )
        }
        10 => {
            let c = Csv::read("cake.csv");
            let temp = c.num("temp");
            let mut fixed = vec![icpt(&c)];
            let recipe = c.dummies("recipe");
            fixed.extend(recipe.clone());
            fixed.push(("temp".into(), temp.clone()));
            for (name, col) in recipe {
                fixed.push((
                    format!("{name}:temp"),
                    col.iter().zip(&temp).map(|(a, b)| a * b).collect(),
                ));
            }
            design(
                &c,
                "angle",
                fixed,
                vec![term(&c, &["1"], &["recipe", "replicate"], U)],
            )
        }
        _ => panic!("no reference model {nn}"),
    }
}

/// The lme4 reference result `NN_<data>_<reml|ml>.json`.
pub fn reference(nn: u32, reml: bool) -> Value {
    let dir = data_dir().join("reference");
    let prefix = format!("{nn:02}_");
    let suffix = if reml { "_reml.json" } else { "_ml.json" };
    let entry = std::fs::read_dir(&dir)
        .expect("reference dir")
        .filter_map(Result::ok)
        .find(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with(&prefix) && name.ends_with(suffix)
        })
        .expect("reference file");
    serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap()
}

/// A JSON number or array of numbers as a Vec.
pub fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_f64().expect("number")).collect(),
        other => vec![other.as_f64().expect("number")],
    }
}

pub fn assert_rel(what: &str, got: f64, want: f64, tol: f64) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        err <= tol,
        "{what}: got {got}, lme4 {want}, relative error {err:e} > {tol:e}"
    );
}

pub fn assert_close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    let err = (got - want).abs();
    assert!(
        err <= abs.max(rel * want.abs()),
        "{what}: got {got}, lme4 {want}, |error| {err:e}"
    );
}
