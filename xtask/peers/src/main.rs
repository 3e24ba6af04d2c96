//! Times the Rust crates glmm and lme-rs on one CSV file; prints one JSON line
//! like the lme4 and statsmodels scripts: seconds (median of the fit call
//! alone), objective on lme4's scale (REML criterion), evaluations.
//!
//! Usage: peers --engine glmm|lme-rs --data F.csv --formula F --factors a,b|- --reps N

use std::time::Instant;

struct Table {
    names: Vec<String>,
    cols: Vec<Vec<String>>,
}

fn read_csv(path: &str) -> Result<Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let names: Vec<String> = split(lines.next().unwrap_or(""));
    let mut cols = vec![Vec::new(); names.len()];
    for l in lines.filter(|l| !l.is_empty()) {
        for (c, v) in cols.iter_mut().zip(split(l)) {
            c.push(v);
        }
    }
    Ok(Table { names, cols })
}

fn split(line: &str) -> Vec<String> {
    line.split(',')
        .map(|f| f.trim().trim_matches('"').to_string())
        .collect()
}

fn numeric(v: &[String]) -> Vec<f64> {
    v.iter().map(|s| s.parse().unwrap_or(f64::NAN)).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn glmm(t: &Table, formula: &str, factors: &[String], reps: usize) -> Result<String, String> {
    use glmm::formula::{fit, Column, Table as GTable};
    let columns = t
        .names
        .iter()
        .zip(&t.cols)
        .map(|(n, c)| {
            let col = if factors.contains(n) {
                Column::factor_from_labels(c)
            } else {
                Column::Numeric(numeric(c))
            };
            (n.clone(), col)
        })
        .collect();
    let table = GTable {
        columns,
        n: t.cols.first().map_or(0, Vec::len),
    };
    let mut opts = glmm::FitOptions::default();
    opts.reml = Some(true);
    opts.satterthwaite = false;
    opts.condvar = false;
    let mut secs = Vec::new();
    let mut last = None;
    for _ in 0..reps {
        let t0 = Instant::now();
        let m = fit(formula, &table, glmm::Family::Gaussian, &opts)
            .map_err(|e| format!("glmm: {e}"))?;
        secs.push(t0.elapsed().as_secs_f64());
        last = Some(m);
    }
    let m = last.ok_or("no repetitions")?;
    let f = m.fit();
    Ok(format!(
        "{{\"seconds\": {}, \"seconds_all\": {:?}, \"objective\": {}, \"evaluations\": {}, \"converged\": {}, \"version\": \"glmm 0.8 (satterthwaite, condvar off)\"}}",
        median(secs.clone()), secs, -2.0 * f.loglik(), f.n_eval(), f.converged()
    ))
}

#[cfg(feature = "lme-rs")]
fn lme_rs(t: &Table, formula: &str, factors: &[String], reps: usize) -> Result<String, String> {
    use polars::prelude::*;
    let series: Vec<Column> = t
        .names
        .iter()
        .zip(&t.cols)
        .map(|(n, c)| {
            if factors.contains(n) {
                Series::new(n.as_str().into(), c.clone()).into()
            } else {
                Series::new(n.as_str().into(), numeric(c)).into()
            }
        })
        .collect();
    let df = DataFrame::new(series).map_err(|e| format!("polars: {e}"))?;
    let mut secs = Vec::new();
    let mut last = None;
    for _ in 0..reps {
        let t0 = Instant::now();
        let fit = lme_rs::lmer(formula, &df, true).map_err(|e| format!("lme-rs: {e}"))?;
        secs.push(t0.elapsed().as_secs_f64());
        last = Some(fit);
    }
    let fit = last.ok_or("no repetitions")?;
    let obj = fit.reml.or(fit.deviance).unwrap_or(f64::NAN);
    Ok(format!(
        "{{\"seconds\": {}, \"seconds_all\": {:?}, \"objective\": {}, \"evaluations\": {}, \"converged\": {}, \"version\": \"lme-rs 0.2.7\"}}",
        median(secs.clone()), secs, obj, fit.iterations.map_or("null".into(), |i| i.to_string()),
        fit.converged.map_or("null".into(), |c| c.to_string())
    ))
}

fn arg(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(engine), Some(data), Some(formula)) = (
        arg(&args, "--engine"),
        arg(&args, "--data"),
        arg(&args, "--formula"),
    ) else {
        eprintln!(
            "usage: peers --engine glmm|lme-rs --data F.csv --formula F --factors a,b --reps N"
        );
        std::process::exit(2);
    };
    let factors: Vec<String> = arg(&args, "--factors")
        .filter(|f| f != "-")
        .map(|f| f.split(',').map(String::from).collect())
        .unwrap_or_default();
    let reps: usize = arg(&args, "--reps")
        .and_then(|r| r.parse().ok())
        .unwrap_or(1)
        .max(1);
    let result = read_csv(&data).and_then(|t| match engine.as_str() {
        "glmm" => glmm(&t, &formula, &factors, reps),
        #[cfg(feature = "lme-rs")]
        "lme-rs" => lme_rs(&t, &formula, &factors, reps),
        #[cfg(not(feature = "lme-rs"))]
        "lme-rs" => Err("built without the lme-rs feature (cargo build --features lme-rs)".into()),
        other => Err(format!("unknown engine {other}")),
    });
    match result {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
