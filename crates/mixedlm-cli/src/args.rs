//! Command-line arguments (clap derive). Each subcommand's help ends with an example.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Fit linear mixed-effects models (lme4 formulas, statsmodels names) from CSV, Parquet or
/// Arrow data.
#[derive(Debug, Parser)]
#[command(name = "mixedlm", version, about, long_about = None)]
#[command(
    after_help = "Example:\n  mixedlm fit sleepstudy.csv --formula 'Reaction ~ Days + (Days | Subject)'"
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build and describe the model matrices (X, random-effects terms) without fitting.
    #[command(
        after_help = "Example:\n  mixedlm design sleepstudy.csv --formula 'Reaction ~ Days + (Days | Subject)' --format json"
    )]
    Design(DesignArgs),
    /// Fit a linear mixed model by REML (default) or ML, or with --family a generalized
    /// linear mixed model (binomial, poisson), and print the summary.
    #[command(after_help = "Examples:\n  \
        mixedlm fit sleepstudy.csv --formula 'Reaction ~ Days + (Days | Subject)'\n  \
        mixedlm fit pastes.csv --formula 'strength ~ 1 + (1 | batch/cask)' --ml --format json\n  \
        mixedlm fit scores.csv --formula 'test_score ~ study_hours' --groups school_id \\\n      \
        --re-formula '~study_hours' --vc class='0 + C(class_id)'\n  \
        cat sleepstudy.csv | mixedlm fit - --formula 'Reaction ~ Days + (1 | Subject)'\n  \
        mixedlm fit sleepstudy.csv --formula 'Reaction ~ Days + (Days | Subject)' --ddf kenward-roger \\\n      \
        --ci profile --ranef --format json\n  \
        mixedlm fit big.parquet --formula 'y ~ x1 + x2 + (1 + x1 | g)' --stream --batch-rows 100000\n  \
        mixedlm fit cbpp.csv --formula 'cbind(incidence, size - incidence) ~ period + (1 | herd)' \\\n      \
        --family binomial --nagq 25 --format json")]
    Fit(FitArgs),
    /// Compare nested models by likelihood-ratio tests (lme4's anova; REML fits refitted by ML).
    #[command(after_help = "Example:\n  \
        mixedlm compare sleepstudy.csv --formula 'Reaction ~ Days + (1 | Subject)' \\\n      \
        --formula 'Reaction ~ Days + (Days | Subject)' --format json")]
    Compare(crate::compare::CompareArgs),
    /// Fit a model and predict for new data (CSV to standard output, or --output FILE.csv|.parquet).
    #[command(after_help = "Examples:\n  \
        mixedlm predict sleepstudy.csv --formula 'Reaction ~ Days + (Days | Subject)' --newdata new.csv\n  \
        mixedlm predict sleepstudy.csv --formula 'Reaction ~ Days + (Days | Subject)' --newdata new.csv \\\n      \
        --level population --output predictions.parquet")]
    Predict(crate::predict::PredictArgs),
    /// Profile-likelihood confidence intervals (same as `fit --ci profile`, without the summary).
    #[command(after_help = "Example:\n  \
        mixedlm profile sleepstudy.csv --formula 'Reaction ~ Days + (Days | Subject)' --format json")]
    Profile(crate::profile::ProfileArgs),
    /// Parametric-bootstrap confidence intervals (same as `fit --ci bootstrap`), with a
    /// progress bar on a terminal.
    #[command(after_help = "Example:\n  \
        mixedlm bootstrap dyestuff.csv --formula 'Yield ~ 1 + (1 | Batch)' --nsim 1000 --seed 1")]
    Bootstrap(crate::profile::BootstrapArgs),
}

/// Where the data come from.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The data file (.csv, .parquet, .arrow/.feather/.ipc), or `-` for CSV on standard input.
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// The model formula in lme4 syntax, e.g. 'Reaction ~ Days + (Days | Subject)'.
    #[arg(short, long)]
    pub formula: String,
    /// The grouping column, statsmodels style: a random intercept per group (or the model of
    /// --re-formula); with --vc and no --re-formula, as statsmodels, only the components.
    #[arg(long, value_name = "COLUMN")]
    pub groups: Option<String>,
    /// statsmodels' re_formula: the random-effects model within --groups, e.g. '~Days'.
    #[arg(long, value_name = "FORMULA", requires = "groups")]
    pub re_formula: Option<String>,
    /// statsmodels' variance component NAME=FORMULA within --groups, e.g. class='0 + C(class_id)'
    /// (add --re-formula 1 to keep the groups' random intercept, as lme4's (1 | g/class)).
    #[arg(long, value_name = "NAME=FORMULA", requires = "groups")]
    pub vc: Vec<String>,
    /// Read DATA as this format whatever its extension.
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<InputFormatArg>,
}

/// `--input-format` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InputFormatArg {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC (file/Feather or stream).
    Arrow,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON (keys are a stable contract).
    Json,
}

/// `mixedlm design`.
#[derive(Debug, Args)]
pub struct DesignArgs {
    /// Data and model.
    #[command(flatten)]
    pub data: DataArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Write the output to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `mixedlm fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Data and model.
    #[command(flatten)]
    pub data: DataArgs,
    /// Fit by maximum likelihood instead of REML.
    #[arg(long)]
    pub ml: bool,
    /// The optimizer (`--optimizer`).
    #[command(flatten)]
    pub solver: crate::args::SolverArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Write the output to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 when the optimizer did not converge.
    #[arg(long)]
    pub strict: bool,
    /// Show a progress spinner on standard error while fitting.
    #[arg(long)]
    pub progress: bool,
    /// Read DATA twice in batches with bounded memory (levels, then cross-products), for
    /// files larger than memory: same estimates as a fit in memory; no fitted values,
    /// residuals or diagnostics; fixed effects tested with Wald z; no scale()/poly().
    #[arg(long)]
    pub stream: bool,
    /// Rows per batch of --stream (the memory bound).
    #[arg(long, value_name = "N", default_value_t = 65_536, requires = "stream")]
    pub batch_rows: usize,
    /// Benchmarking: fit N times in this process (the data read once) and add every fit's
    /// time to the JSON as `timing.fit_seconds_runs`; results come from the last fit.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        hide = true,
        conflicts_with = "stream"
    )]
    pub repeat: usize,
    /// Diagnostics and plots.
    #[command(flatten)]
    pub diagnostics: crate::diagnostics::DiagnosticsArgs,
    /// Tests, intervals, conditional modes.
    #[command(flatten)]
    pub inference: crate::inference::InferenceArgs,
    /// Generalized linear mixed models.
    #[command(flatten)]
    pub glmm: crate::glmm::GlmmArgs,
}

/// `--optimizer`, shared by every command that fits.
#[derive(Debug, Clone, clap::Args)]
pub struct SolverArg {
    /// The optimizer: auto (default: bfgs on the analytic gradient for one-term, nested and
    /// small crossed models, else bobyqa), bobyqa, bfgs, nelder-mead or powell.
    #[arg(long = "optimizer", default_value = "auto", value_name = "NAME")]
    pub name: String,
    /// statsmodels' `method=` (hidden): answered with the option to use, --optimizer.
    #[arg(long = "method", hide = true, value_name = "NAME")]
    pub method: Option<String>,
    /// statsmodels' `reml=` (hidden): answered with the option to use, --ml.
    #[arg(long = "reml", hide = true, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub reml: Option<String>,
}

impl SolverArg {
    /// statsmodels' spellings (`--method powell`, `--reml false`) get the right option's
    /// name instead of clap's generic "unexpected argument".
    pub fn check(&self) -> Result<(), crate::error::CliError> {
        use crate::error::CliError;
        if let Some(m) = &self.method {
            let name = match m.to_ascii_lowercase().as_str() {
                "nm" | "nelder-mead" | "nelder_mead" | "neldermead" => "nelder-mead",
                "lbfgs" | "bfgs" | "cg" | "newton" => "bfgs",
                "powell" => "powell",
                "bobyqa" => "bobyqa",
                _ => "auto",
            };
            return Err(CliError::usage(
                format!("--method is statsmodels' name; mixedlm's option is --optimizer (`--method {m}`)"),
                Some(format!(
                    "use --optimizer {name} (one of auto, bobyqa, bfgs, nelder-mead, powell)"
                )),
            ));
        }
        if let Some(r) = &self.reml {
            let hint = match r.to_ascii_lowercase().as_str() {
                "false" | "0" | "no" | "f" => {
                    "fit by maximum likelihood with --ml (REML is the default)"
                }
                "true" | "1" | "yes" | "t" => {
                    "REML is the default: drop --reml (and --ml gives maximum likelihood)"
                }
                _ => "REML is the default; --ml fits by maximum likelihood",
            };
            return Err(CliError::usage(
                format!("--reml is statsmodels' name (`--reml {r}`); mixedlm fits by REML unless --ml is given"),
                Some(hint.to_string()),
            ));
        }
        Ok(())
    }
}
