//! `mixedlm predict`: predictions for new data, written as CSV or Parquet.

use crate::args::DataArgs;
use crate::commands::{model, read};
use crate::error::CliError;
use clap::{Args, ValueEnum};
use mixedlm::inference::InferenceError;
use mixedlm::{NewLevelPolicy, PredictLevel, PredictOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// `--level` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// Fixed effects only (lme4's re.form = NA), with a `std_error` column.
    Population,
    /// With the conditional modes of the groups seen in fitting (lme4's default).
    Conditional,
}

/// `--new-levels` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewLevelsArg {
    /// A level not seen in fitting gets the population prediction (its effect is 0).
    Population,
    /// A level not seen in fitting is an error.
    Error,
}

/// `mixedlm predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Data and model to fit.
    #[command(flatten)]
    pub data: DataArgs,
    /// The new data to predict for (.csv, .parquet, .arrow); needs the formula's columns
    /// (the grouping columns only with --level conditional).
    #[arg(long, value_name = "FILE")]
    pub newdata: PathBuf,
    /// Population (fixed effects only) or conditional (with the groups' modes).
    #[arg(long, value_enum, default_value = "conditional")]
    pub level: LevelArg,
    /// What a grouping level not seen in fitting gets.
    #[arg(long, value_enum, default_value = "population")]
    pub new_levels: NewLevelsArg,
    /// Fit by maximum likelihood instead of REML.
    #[arg(long)]
    pub ml: bool,
    /// The optimizer (`--optimizer`).
    #[command(flatten)]
    pub solver: crate::args::SolverArg,
    /// Write the new data with a `prediction` column (and `std_error` at the population
    /// level) to FILE: .csv or .parquet. Without it, CSV goes to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Run `mixedlm predict`.
pub fn predict(a: &PredictArgs) -> Result<ExitCode, CliError> {
    let m = model(&a.data, a.ml, &a.solver)?;
    m.validate()?;
    if let Some(out) = &a.output {
        let ext = out
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("csv" | "parquet")) {
            return Err(CliError::usage(
                format!("cannot tell the output format of `{}`", out.display()),
                Some("name the --output file .csv or .parquet".into()),
            ));
        }
    }
    if let Some(out) = &a.output {
        crate::commands::refuse_overwrite(out, &[&a.data.data, &a.newdata])?;
    }
    let newdata = mixedlm::read_table(&a.newdata, None).map_err(mixedlm::Error::from)?;
    // The output repeats the new data's columns with their types as written (an int64 ID
    // stays exact, a zip code `02134` stays text), not as the model reads them.
    let as_written =
        mixedlm::read_table_as_written(&a.newdata, None).map_err(mixedlm::Error::from)?;
    let (batch, _) = read(&a.data)?;
    let fit = m.fit_batch(&batch)?;
    crate::commands::print_warnings(&fit.warnings());
    let opts = PredictOptions {
        level: match a.level {
            LevelArg::Population => PredictLevel::Population,
            LevelArg::Conditional => PredictLevel::Conditional,
        },
        new_levels: match a.new_levels {
            NewLevelsArg::Population => NewLevelPolicy::Population,
            NewLevelsArg::Error => NewLevelPolicy::Error,
        },
    };
    let pred = fit.predict(&newdata, &opts).map_err(|e| match e {
        mixedlm::Error::Inference(InferenceError::UnseenLevel { row, group, level }) => {
            CliError::usage(
                format!(
                    "row {} of --newdata: level `{level}` of `{group}` was not in the fitted data",
                    row + 1
                ),
                Some(
                    "pass --new-levels population to predict such rows at the population level"
                        .into(),
                ),
            )
        }
        e => e.into(),
    })?;
    if !pred.unseen_levels.is_empty() && a.new_levels == NewLevelsArg::Population {
        crate::error::stderr_line(format!(
            "note: levels not seen in fitting get the population prediction: {}",
            pred.unseen_levels.join(", ")
        ));
    }
    if pred.n_dropped > 0 {
        crate::error::stderr_line(format!(
            "note: {} row(s) of the new data have missing values and no prediction",
            pred.n_dropped
        ));
    }
    let table = pred.append_to(&as_written)?;
    match &a.output {
        Some(path) => mixedlm::write_table(&table, path)?,
        None => {
            let mut out = std::io::stdout().lock();
            mixedlm::write_csv(&table, &mut out)
                .map_err(|e| CliError::usage(format!("cannot write output: {e}"), None))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
