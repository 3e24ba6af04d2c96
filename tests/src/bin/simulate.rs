//! Writes the benchmark data sets (a)–(e) as CSV and Parquet, deterministic by seed.
//!
//! Usage: `simulate [--out DIR] [--seed N] [--only NAME[,NAME...]] [--no-parquet] [--rows N]`
//! (`--rows N` writes only `sim_b_N.csv`, set (b) with N rows streamed to disk)
//! (what `cargo xtask simulate` runs). Also writes `NAME.truth.json` with the
//! generating parameters and formula.

use mixedlm_tests::scenarios::{scenario, SCENARIOS};
use mixedlm_tests::SimData;
use std::path::PathBuf;
use std::process::ExitCode;

struct Args {
    out: PathBuf,
    seed: u64,
    only: Vec<String>,
    parquet: bool,
    rows: Option<usize>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        out: PathBuf::from("target/sim"),
        seed: 20_261_125,
        only: Vec::new(),
        parquet: true,
        rows: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => a.out = PathBuf::from(value()?),
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--only" => a.only = value()?.split(',').map(String::from).collect(),
            "--no-parquet" => a.parquet = false,
            "--rows" => a.rows = Some(value()?.parse().map_err(|e| format!("--rows: {e}"))?),
            other => {
                return Err(format!(
                    "unknown argument {other}; use --out DIR, --seed N, --only NAMES, --no-parquet, --rows N"
                ))
            }
        }
    }
    Ok(a)
}

fn truth_json(name: &str, seed: u64, d: &SimData) -> serde_json::Value {
    let t = &d.truth;
    serde_json::json!({
        "name": name, "seed": seed, "formula": d.formula, "n_obs": d.n_rows(),
        "beta": t.beta.iter().map(|(n, b)| (n.clone(), serde_json::json!(b))).collect::<serde_json::Map<_, _>>(),
        "sigma": t.sigma, "theta": t.theta,
        "random": t.random.iter().map(|r| serde_json::json!({"group": r.group, "cov": r.cov, "n_groups": r.n_groups})).collect::<Vec<_>>(),
    })
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&a.out)?;
    if let Some(rows) = a.rows {
        let t0 = std::time::Instant::now();
        let path = a.out.join(format!("sim_b_{rows}.csv"));
        let groups = mixedlm_tests::big::write_big_slopes(&path, a.seed, rows)?;
        eprintln!(
            "{}: {rows} rows, {groups} groups, {} in {:.1}s",
            path.display(),
            mixedlm_tests::big::BIG_FORMULA,
            t0.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    for name in SCENARIOS
        .iter()
        .filter(|n| a.only.is_empty() || a.only.iter().any(|o| o == *n))
    {
        let t0 = std::time::Instant::now();
        let spec = scenario(name, a.seed).ok_or("unknown scenario")?;
        let data = spec.generate();
        data.write_csv_file(&a.out.join(format!("{name}.csv")))?;
        if a.parquet {
            data.write_parquet_file(&a.out.join(format!("{name}.parquet")))?;
        }
        let truth = serde_json::to_string_pretty(&truth_json(name, a.seed, &data))?;
        std::fs::write(a.out.join(format!("{name}.truth.json")), truth)?;
        eprintln!(
            "{name}: {} rows, {} in {:.1}s",
            data.n_rows(),
            data.formula,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("simulate: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simulate: {e}");
            ExitCode::FAILURE
        }
    }
}
