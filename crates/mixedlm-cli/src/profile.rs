//! `mixedlm profile` and `mixedlm bootstrap`: confidence intervals by profile likelihood or
//! parametric bootstrap (the same as `mixedlm fit --ci profile|bootstrap`, without the
//! summary).

use crate::args::{DataArgs, OutputFormat};
use crate::commands::{model, read, to_json, write_output};
use crate::error::CliError;
use crate::inference::{interval_table, intervals, CiArg, InferenceArgs, IntervalJson};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// `mixedlm profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Data and model.
    #[command(flatten)]
    pub data: DataArgs,
    /// Fit by maximum likelihood instead of REML (the profile is of the ML deviance either way).
    #[arg(long)]
    pub ml: bool,
    /// The optimizer (`--optimizer`).
    #[command(flatten)]
    pub solver: crate::args::SolverArg,
    /// Confidence level.
    #[arg(long, default_value_t = 0.95, value_name = "LEVEL")]
    pub level: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Write the output to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `mixedlm bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Data, model, level, output.
    #[command(flatten)]
    pub common: ProfileArgs,
    /// Number of replicates.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub nsim: usize,
    /// Seed; the same seed gives the same intervals.
    #[arg(long, default_value_t = 42, value_name = "S")]
    pub seed: u64,
}

/// The JSON of `profile` / `bootstrap`.
#[derive(Debug, Serialize)]
pub struct IntervalsJson {
    /// The formula as given.
    pub formula: String,
    /// `REML` or `ML` (of the fit; profiles are of the ML deviance).
    pub criterion: &'static str,
    /// Confidence level.
    pub level: f64,
    /// The intervals.
    pub confidence_intervals: Vec<IntervalJson>,
}

fn run(a: &ProfileArgs, method: CiArg, nsim: usize, seed: u64) -> Result<ExitCode, CliError> {
    let m = model(&a.data, a.ml, &a.solver)?;
    m.validate()?;
    if let Some(out) = &a.output {
        crate::commands::refuse_overwrite(out, &[&a.data.data])?;
    }
    let (batch, _) = read(&a.data)?;
    let fit = m.fit_batch(&batch)?;
    crate::commands::print_warnings(&fit.warnings());
    let ia = InferenceArgs {
        ddf: None,
        ranef: false,
        bse_re: false,
        ci: Some(method),
        level: a.level,
        nsim,
        seed,
    };
    let ci = intervals(&fit, method, &ia)?;
    let text = match a.format {
        OutputFormat::Json => to_json(&IntervalsJson {
            formula: a.data.formula.clone(),
            criterion: if fit.reml() { "REML" } else { "ML" },
            level: a.level,
            confidence_intervals: ci,
        })?,
        OutputFormat::Text => interval_table(&ci, a.level).trim_start().to_string(),
    };
    write_output(a.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// Run `mixedlm profile`.
pub fn profile(a: &ProfileArgs) -> Result<ExitCode, CliError> {
    run(a, CiArg::Profile, 0, 0)
}

/// Run `mixedlm bootstrap`.
pub fn bootstrap(a: &BootstrapArgs) -> Result<ExitCode, CliError> {
    run(&a.common, CiArg::Bootstrap, a.nsim, a.seed)
}
