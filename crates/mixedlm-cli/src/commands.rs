//! The subcommands: read the data, build the model, write the output.

use crate::args::{Cli, Command, DataArgs, DesignArgs, FitArgs, InputFormatArg, OutputFormat};
use crate::error::CliError;
use crate::json::{DesignJson, FitJson};
use mixedlm::{InputFormat, MixedLM, ModelSpec, RecordBatch};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Run one command; `Ok` carries the exit code (1 for a non-converged `--strict` fit).
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Design(a) => design(&a),
        Command::Fit(a) => fit(&a),
        Command::Compare(a) => crate::compare::compare(&a),
        Command::Predict(a) => crate::predict::predict(&a),
        Command::Profile(a) => crate::profile::profile(&a),
        Command::Bootstrap(a) => crate::profile::bootstrap(&a),
    }
}

/// The model as the user gave it: one lme4 formula, or statsmodels' pieces.
fn spec(a: &DataArgs) -> Result<ModelSpec, CliError> {
    statsmodels_spec(
        &a.formula,
        a.groups.as_deref(),
        a.re_formula.as_deref(),
        &a.vc,
    )
}

/// `warning: ...` lines on standard error.
pub(crate) fn print_warnings(warnings: &[String]) {
    for w in warnings {
        crate::error::stderr_line(format!("warning: {w}"));
    }
}

/// A formula with statsmodels' `groups`, `re_formula` and `NAME=FORMULA` components.
pub(crate) fn statsmodels_spec(
    formula: &str,
    groups: Option<&str>,
    re_formula: Option<&str>,
    vcs: &[String],
) -> Result<ModelSpec, CliError> {
    let mut spec = ModelSpec::new(formula);
    if let Some(g) = groups {
        spec = spec.groups(g);
    }
    if let Some(r) = re_formula {
        spec = spec.re_formula(r);
    }
    for vc in vcs {
        let Some((name, formula)) = vc.split_once('=') else {
            return Err(CliError::usage(
                format!("--vc `{vc}` is not of the form NAME=FORMULA"),
                Some("write e.g. --vc class='0 + C(class_id)'".to_string()),
            ));
        };
        spec = spec.vc(name.trim(), formula.trim());
    }
    Ok(spec)
}

/// The model to fit: the data arguments' model, by REML or ML, with the named optimizer.
pub(crate) fn model(
    a: &DataArgs,
    ml: bool,
    solver: &crate::args::SolverArg,
) -> Result<MixedLM, CliError> {
    solver.check()?;
    Ok(MixedLM::from_spec(spec(a)?).reml(!ml).method(&solver.name))
}

/// Read the data, timing it.
pub(crate) fn read(a: &DataArgs) -> Result<(RecordBatch, f64), CliError> {
    let format = a.input_format.map(|f| match f {
        InputFormatArg::Csv => InputFormat::Csv,
        InputFormatArg::Parquet => InputFormat::Parquet,
        InputFormatArg::Arrow => InputFormat::Arrow,
    });
    let start = Instant::now();
    let batch = mixedlm::read_table(&a.data, format).map_err(mixedlm::Error::from)?;
    Ok((batch, start.elapsed().as_secs_f64()))
}

fn design(a: &DesignArgs) -> Result<ExitCode, CliError> {
    let spec = spec(&a.data)?;
    spec.validate()?;
    if let Some(out) = &a.output {
        refuse_overwrite(out, &[&a.data.data])?;
    }
    let (batch, read_seconds) = read(&a.data)?;
    print_warnings(&spec.warnings());
    print_warnings(&spec.data_warnings(&batch));
    let design = spec.design(&batch)?;
    let text = match a.format {
        OutputFormat::Json => to_json(&DesignJson::new(&a.data.formula, &design, read_seconds))?,
        OutputFormat::Text => mixedlm::describe_design(&design),
    };
    write_output(a.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn fit(a: &FitArgs) -> Result<ExitCode, CliError> {
    if a.glmm.family.is_some() {
        return crate::glmm::fit(a, spec(&a.data)?);
    }
    let model = model(&a.data, a.ml, &a.solver)?;
    model.validate()?;
    if let Some(out) = &a.output {
        refuse_overwrite(out, &[&a.data.data])?;
    }
    if a.stream {
        return crate::stream::fit(a, model);
    }
    let (batch, read_seconds) = read(&a.data)?;
    let progress = a.progress.then(spinner);
    let mut runs = Vec::with_capacity(a.repeat.max(1));
    let results = loop {
        let start = Instant::now();
        let results = model.fit_batch(&batch);
        runs.push(start.elapsed().as_secs_f64());
        if runs.len() >= a.repeat || results.is_err() {
            break results;
        }
    };
    let fit_seconds = runs[0];
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let mut results = results?;
    print_warnings(&results.warnings());
    let inf = crate::inference::run(&results, &a.inference)?;
    let diagnostics = crate::diagnostics::run(&mut results, &a.diagnostics)?;
    let text = match a.format {
        OutputFormat::Json => {
            let mut json = FitJson::new(&results, read_seconds, fit_seconds);
            if runs.len() > 1 {
                json.timing.fit_seconds_runs = Some(runs);
            }
            json.set_inference(inf);
            json.diagnostics = diagnostics;
            to_json(&json)?
        }
        OutputFormat::Text => {
            let extra = crate::inference::text(&inf, a.inference.level);
            let mut summary = results.summary().with_tests(inf.tests);
            for n in inf.json.inference_notes {
                summary = summary.with_note(n);
            }
            crate::diagnostics::append(format!("{summary}\n{extra}"), diagnostics.as_ref())
        }
    };
    write_output(a.output.as_deref(), &text)?;
    if a.strict && !results.converged() {
        crate::error::stderr_line(format!(
            "error: the fit did not converge (--strict): {}",
            results.convergence_failure().unwrap_or("")
        ));
        crate::error::stderr_line(
            "hint: see the diagnostics' advice: rescale the predictors, try another --optimizer, or simplify the random effects",
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn spinner() -> indicatif::ProgressBar {
    let p = indicatif::ProgressBar::new_spinner();
    p.set_message("fitting");
    p.enable_steady_tick(std::time::Duration::from_millis(100));
    p
}

/// Refuse an output path that is one of the input files (the same file by another name
/// too): writing it would destroy the data before or while they are read.
pub(crate) fn refuse_overwrite(output: &Path, inputs: &[&Path]) -> Result<(), CliError> {
    let Ok(out) = std::fs::metadata(output) else {
        return Ok(()); // a new file
    };
    for input in inputs {
        if input.as_os_str() == "-" {
            continue;
        }
        let Ok(inp) = std::fs::metadata(input) else {
            continue;
        };
        if same_file(&out, &inp)
            || std::fs::canonicalize(output).ok() == std::fs::canonicalize(input).ok()
        {
            return Err(CliError::usage(
                format!(
                    "--output `{}` is the input file `{}`; writing it would overwrite the data",
                    output.display(),
                    input.display()
                ),
                Some("give --output another file name".into()),
            ));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| CliError::usage(format!("cannot write JSON: {e}"), None))
}

pub(crate) fn write_output(path: Option<&Path>, text: &str) -> Result<(), CliError> {
    let text = if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    };
    match path {
        Some(p) => std::fs::write(p, text).map_err(|e| {
            CliError::usage(
                format!("cannot write `{}`: {e}", p.display()),
                Some("check that the directory exists and is writable".to_string()),
            )
        }),
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an error worth a message.
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(CliError::usage(format!("cannot write output: {e}"), None))
                }
                _ => Ok(()),
            }
        }
    }
}
