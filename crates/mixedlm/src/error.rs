//! The one error type of the facade: every layer's error, plus invalid options.

use mixedlm_design::{DesignError, ReadError};
use mixedlm_formula::FormulaError;
use mixedlm_inference::InferenceError;
use mixedlm_model::ModelError;

/// Anything that can go wrong between a file and a fitted model. Each message says what
/// to do; [`Error::hint`] adds a short next step for command-line users.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A formula could not be parsed (the message shows it with a caret under the position).
    #[error("malformed formula: {}", strip_error_prefix(&.0.to_string()))]
    Formula(#[from] FormulaError),
    /// The data do not fit the formula (unknown column, non-numeric response, ...).
    #[error(transparent)]
    Design(#[from] DesignError),
    /// The model could not be built or fitted.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A cross-products record could not be read (another version or model, or corrupt).
    #[error(transparent)]
    SumsRecord(#[from] mixedlm_model::SumsRecordError),
    /// A levels record could not be read (another version, or corrupt).
    #[error("{0}")]
    LevelsRecord(String),
    /// A generalized linear mixed model could not be built or fitted.
    #[error(transparent)]
    Glmm(#[from] mixedlm_glmm::GlmmError),
    /// An unknown optimizer name.
    #[error("unknown optimizer `{name}`; use one of: {}", valid.join(", "))]
    UnknownOptimizer {
        /// The name given.
        name: String,
        /// The names accepted.
        valid: Vec<String>,
    },
    /// An option that makes no sense (or no sense with the others).
    #[error("{0}")]
    InvalidOption(String),
    /// Inference (tests, intervals, prediction, comparison) failed.
    #[error(transparent)]
    Inference(#[from] InferenceError),
    /// The model is too large for the dense evaluator a method needs.
    #[error("{what} need a dense evaluator limited to {max} random effects; this model has {q}")]
    TooLarge {
        /// The method asked for.
        what: &'static str,
        /// The model's number of random effects.
        q: usize,
        /// The limit ([`crate::DENSE_MAX_Q`]).
        max: usize,
    },
}

/// `FormulaError` renders as `error: ... at column N\n  formula\n  ^`; drop its prefix.
fn strip_error_prefix(s: &str) -> &str {
    s.strip_prefix("error: ").unwrap_or(s)
}

impl Error {
    /// A one-line suggestion of what to do next, where there is a useful one.
    pub fn hint(&self) -> Option<String> {
        let h = match self {
            Error::Read(ReadError::NotFound { .. }) => "run `ls` to see the files here, or give an absolute path",
            Error::Read(ReadError::UnsupportedExtension { .. }) | Error::Read(ReadError::UnknownFormat { .. }) => {
                "mixedlm reads CSV, Parquet and Arrow IPC; pass --input-format csv|parquet|arrow"
            }
            Error::Read(ReadError::NotUtf8 { .. }) | Error::Read(ReadError::Malformed { .. }) => {
                "check the file's format; R's write.csv and pandas' to_csv/to_parquet write files mixedlm reads"
            }
            Error::Read(_) => "R's write.csv(df, file, row.names = FALSE) writes a CSV file mixedlm reads",
            Error::Formula(_) => "formulas look like 'y ~ x + (1 + x | g)'; see `mixedlm fit --help`",
            Error::Design(d) => return design_hint(d),
            Error::Model(ModelError::Optimizer(_)) | Error::Model(ModelError::NotPositiveDefinite { .. }) => {
                "try another --optimizer, rescale the covariates, or simplify the random-effects terms"
            }
            Error::Model(ModelError::NoRandomTerms) => {
                "add a term such as (1 | group), or fit a linear model with ordinary least squares (R's lm, statsmodels' OLS)"
            }
            Error::Model(_) => "a grouping factor needs several levels, each with several observations",
            Error::SumsRecord(_) | Error::LevelsRecord(_) => {
                "run the driver and the workers with the same mixedlm version and the same model"
            }
            Error::Glmm(_) => "see `mixedlm fit --help` for --family, --link and --nagq",
            Error::UnknownOptimizer { .. } => "auto (the default) or bobyqa, the most robust derivative-free choice",
            Error::InvalidOption(_) => "see `mixedlm fit --help`",
            Error::Inference(_) => "see `mixedlm fit --help` for the inference options",
            Error::TooLarge { .. } => {
                "use Wald tests (--ddf z) and Wald or bootstrap intervals (--ci wald|bootstrap) for models this large"
            }
        };
        Some(h.to_string())
    }
}

fn design_hint(d: &DesignError) -> Option<String> {
    let h = match d {
        DesignError::UnknownColumn { .. } => "column names are case-sensitive; quote unusual names with backquotes, e.g. `my col`",
        DesignError::NonNumericResponse { .. } => {
            "the response must hold numbers; a quoted column in a CSV file is read as text"
        }
        DesignError::NoRandomEffects => {
            "add a term such as (1 | group), or fit a linear model with ordinary least squares (R's lm, statsmodels' OLS)"
        }
        DesignError::OneLevel { .. } | DesignError::LevelsEqualObs { .. } => {
            "a grouping factor needs several levels, each with several observations"
        }
        DesignError::Infinite { .. } => "replace Inf values with NA to drop those rows, or fix them",
        _ => "`mixedlm design DATA --formula F` shows what a formula builds from the data",
    };
    Some(h.to_string())
}
