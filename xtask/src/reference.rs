//! `cargo xtask reference`: regenerates the reference data and JSON with R
//! (lme4, lmerTest, pbkrtest) and, if present, statsmodels.
//!
//! Writes to `target/reference/{data,results}` (or `--out DIR`); review the
//! differences, then copy into `tests/data/reference/` by hand.

use crate::{cmd, flag_value, root, target_dir};
use std::process::Command;

const R_PACKAGES: [&str; 4] = ["lme4", "lmerTest", "pbkrtest", "jsonlite"];
const INSTALL: &str =
    "apt-get update && apt-get install -y r-base-core r-cran-lme4 r-cran-jsonlite \
                       r-cran-lmertest r-cran-pbkrtest";

/// Runs the reference scripts in `xtask/scripts/reference/`.
pub fn run(args: &[String]) -> Result<(), String> {
    if !cmd::on_path("Rscript") {
        return Err(format!(
            "R is not installed; install it with:\n  {INSTALL}\nthen rerun cargo xtask reference"
        ));
    }
    let missing = missing_r_packages()?;
    if !missing.is_empty() {
        return Err(format!(
            "R lacks {}; install them with:\n  {INSTALL}",
            missing.join(", ")
        ));
    }
    let out = flag_value(args, "--out")
        .map(Into::into)
        .unwrap_or_else(|| target_dir().join("reference"));
    let scripts = root().join("xtask/scripts/reference");
    let out_s = out.display().to_string();
    cmd::status(
        Command::new("Rscript")
            .arg(scripts.join("lme4_reference.R"))
            .args(["public", &out_s]),
    )?;
    let data = out.join("data").display().to_string();
    let design = out.join("results/design_lme4.json").display().to_string();
    cmd::status(
        Command::new("Rscript")
            .arg(scripts.join("design_reference.R"))
            .args([&data, &design]),
    )?;
    let sm = out.join("results/statsmodels.json").display().to_string();
    let py = Command::new("python3")
        .arg(scripts.join("statsmodels_reference.py"))
        .args([&data, &sm])
        .status();
    if !py.is_ok_and(|s| s.success()) {
        eprintln!("statsmodels reference skipped (pip install statsmodels to produce it)");
    }
    println!(
        "reference written to {out_s}; compare with tests/data/reference/ and copy what changed"
    );
    Ok(())
}

fn missing_r_packages() -> Result<Vec<String>, String> {
    let probe = format!(
        "for (p in c({})) if (!requireNamespace(p, quietly=TRUE)) cat(p, '\\n')",
        R_PACKAGES
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let o = Command::new("Rscript")
        .args(["-e", &probe])
        .output()
        .map_err(|e| format!("cannot run Rscript: {e}"))?;
    Ok(String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(String::from)
        .collect())
}
