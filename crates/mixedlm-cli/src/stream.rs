//! `mixedlm fit --stream`: a file read twice in batches with bounded memory.
//!
//! The JSON has the keys of a normal fit for everything a streamed fit computes (fixed
//! effects with Wald z tests, variances, objective, logLik, AIC, BIC, θ, optimizer,
//! timing, `--ranef` conditional modes, `--ci wald`), `diagnostics` null, and
//! `"streaming": {"batches", "batch_rows", "passes", ...}`. What needs the rows is refused
//! with a message: Satterthwaite/Kenward-Roger tests, profile/bootstrap intervals,
//! `--bse-re`, diagnostics and plots. Fitted values and residuals are not computed.

use crate::args::{FitArgs, InputFormatArg, OutputFormat};
use crate::commands::{to_json, write_output};
use crate::error::CliError;
use crate::inference::{CiArg, DdfArg, InferenceArgs};
use crate::json::FitJson;
use mixedlm::{InputFormat, MixedLM, StreamOptions};
use std::process::ExitCode;
use std::time::Instant;

/// Options that need the rows, refused with --stream.
fn refuse(a: &FitArgs) -> Result<(), CliError> {
    let inf = &a.inference;
    let bad = if matches!(inf.ddf, Some(DdfArg::Satterthwaite | DdfArg::KenwardRoger)) {
        Some("--ddf satterthwaite/kenward-roger")
    } else if matches!(inf.ci, Some(CiArg::Profile | CiArg::Bootstrap)) {
        Some("--ci profile/bootstrap")
    } else if inf.bse_re {
        Some("--bse-re")
    } else if a.diagnostics.plots.is_some() {
        Some("--plots")
    } else if a.diagnostics.influence.is_some() {
        Some("--influence")
    } else {
        None
    };
    match bad {
        Some(opt) => Err(CliError::usage(
            format!("{opt} needs the data rows in memory, which --stream does not keep"),
            Some("drop the option, or fit without --stream".into()),
        )),
        None => Ok(()),
    }
}

/// `mixedlm fit DATA --stream`.
pub fn fit(a: &FitArgs, model: MixedLM) -> Result<ExitCode, CliError> {
    refuse(a)?;
    if a.batch_rows == 0 {
        return Err(CliError::usage(
            "--batch-rows must be at least 1",
            Some("e.g. --batch-rows 65536".into()),
        ));
    }
    let opts = StreamOptions {
        batch_rows: a.batch_rows,
        format: a.data.input_format.map(|f| match f {
            InputFormatArg::Csv => InputFormat::Csv,
            InputFormatArg::Parquet => InputFormat::Parquet,
            InputFormatArg::Arrow => InputFormat::Arrow,
        }),
    };
    let start = Instant::now();
    let results = model.fit_streaming(&a.data.data, &opts)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    crate::commands::print_warnings(&results.warnings());
    let info = results.streaming().cloned();
    let inf_args = InferenceArgs {
        ddf: Some(DdfArg::Z),
        ranef: a.inference.ranef,
        bse_re: false,
        ci: a.inference.ci,
        level: a.inference.level,
        nsim: a.inference.nsim,
        seed: a.inference.seed,
    };
    let inf = crate::inference::run(&results, &inf_args)?;
    let note = info.as_ref().map(|s| {
        format!(
            "streamed fit: {} batches of at most {} rows, {} passes over the data; fitted values, residuals and diagnostics are not computed",
            s.batches, s.batch_rows, s.passes
        )
    });
    let text = match a.format {
        OutputFormat::Json => {
            let read_seconds = info.as_ref().map_or(0.0, |s| s.scan_seconds);
            let mut json = FitJson::new(&results, read_seconds, fit_seconds);
            json.set_inference(inf);
            json.streaming = info;
            to_json(&json)?
        }
        OutputFormat::Text => {
            let extra = crate::inference::text(&inf, a.inference.level);
            let mut summary = results.summary().with_tests(inf.tests);
            for n in inf.json.inference_notes.into_iter().chain(note) {
                summary = summary.with_note(n);
            }
            format!("{summary}\n{extra}")
        }
    };
    write_output(a.output.as_deref(), &text)?;
    if a.strict && !results.converged() {
        crate::error::stderr_line(format!(
            "error: the fit did not converge (--strict): {}",
            results.convergence_failure().unwrap_or("")
        ));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
