//! `mixedlm compare`: likelihood-ratio tests between nested models (lme4's `anova`).

use crate::args::{DataArgs, InputFormatArg, OutputFormat};
use crate::commands::{read, to_json, write_output};
use crate::error::CliError;
use clap::Args;
use mixedlm::{anova, Anova, MixedLM};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// `mixedlm compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The data file (.csv, .parquet, .arrow/.feather/.ipc), or `-` for CSV on standard input.
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// A model formula (lme4 syntax); give at least two, e.g. the smaller model first.
    #[arg(short, long, required = true, value_name = "FORMULA")]
    pub formula: Vec<String>,
    /// The grouping column, statsmodels style, for every model.
    #[arg(long, value_name = "COLUMN")]
    pub groups: Option<String>,
    /// statsmodels' re_formula within --groups: once for every model, or once per
    /// --formula (paired in order), e.g. --re-formula 1 --re-formula '~Days'.
    #[arg(long, value_name = "FORMULA", requires = "groups")]
    pub re_formula: Vec<String>,
    /// statsmodels' variance component NAME=FORMULA within --groups, for every model.
    #[arg(long, value_name = "NAME=FORMULA", requires = "groups")]
    pub vc: Vec<String>,
    /// Fit by ML (no refit needed); by default the models are fitted by REML and refitted
    /// by ML for the comparison, as lme4's anova does.
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
    /// Read DATA as this format whatever its extension.
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<InputFormatArg>,
}

/// The JSON of `mixedlm compare`.
#[derive(Debug, Serialize)]
pub struct CompareJson {
    /// Whether REML fits were refitted by ML for the tests.
    pub refit_ml: bool,
    /// The models, sorted by number of parameters.
    pub models: Vec<ModelJson>,
    /// One test per consecutive pair of models.
    pub tests: Vec<TestJson>,
}

/// One model of the comparison.
#[derive(Debug, Serialize)]
pub struct ModelJson {
    /// The formula (as one lme4 formula).
    pub formula: String,
    /// Number of parameters (fixed effects, θ, σ).
    pub npar: usize,
    /// ML log-likelihood.
    pub log_likelihood: f64,
    /// −2 log-likelihood.
    pub deviance: f64,
    /// AIC of the ML fit.
    pub aic: f64,
    /// BIC of the ML fit.
    pub bic: f64,
}

/// One likelihood-ratio test.
#[derive(Debug, Serialize)]
pub struct TestJson {
    /// Index (in `models`) of the smaller model.
    pub model0: usize,
    /// Index of the larger model.
    pub model1: usize,
    /// χ² = 2 ΔlogLik.
    pub chisq: f64,
    /// Difference in the number of parameters.
    pub df: usize,
    /// Upper-tail χ² p-value (null when df is 0).
    pub p_value: Option<f64>,
}

impl CompareJson {
    /// From the anova table.
    pub fn new(a: &Anova) -> Self {
        let models = a
            .rows
            .iter()
            .map(|r| ModelJson {
                formula: r.name.clone(),
                npar: r.npar,
                log_likelihood: r.loglik,
                deviance: r.deviance,
                aic: r.aic,
                bic: r.bic,
            })
            .collect();
        let tests = a
            .rows
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, r)| TestJson {
                model0: i - 1,
                model1: i,
                chisq: r.chisq.unwrap_or(0.0),
                df: r.df.unwrap_or(0),
                p_value: r.p_value,
            })
            .collect();
        Self {
            refit_ml: a.refit_ml,
            models,
            tests,
        }
    }

    /// lme4's anova table as text.
    pub fn text(&self) -> String {
        let mut s = String::new();
        if self.refit_ml {
            let _ = writeln!(s, "refitting model(s) with ML (instead of REML)");
        }
        for (i, m) in self.models.iter().enumerate() {
            let _ = writeln!(s, "m{i}: {}", m.formula);
        }
        let _ = writeln!(
            s,
            "    {:>5} {:>11} {:>11} {:>11} {:>11} {:>9} {:>4} {:>11}",
            "npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"
        );
        for (i, m) in self.models.iter().enumerate() {
            let test = self.tests.iter().find(|t| t.model1 == i);
            let (chisq, df, p) = match test {
                Some(t) => (
                    format!("{:.4}", t.chisq),
                    t.df.to_string(),
                    t.p_value.map_or("".into(), |p| format!("{p:.4e}")),
                ),
                None => Default::default(),
            };
            let line = format!(
                "m{i:<2} {:>5} {:>11.3} {:>11.3} {:>11.3} {:>11.3} {chisq:>9} {df:>4} {p:>11}",
                m.npar, m.aic, m.bic, m.log_likelihood, m.deviance
            );
            let _ = writeln!(s, "{}", line.trim_end());
        }
        s
    }
}

/// Run `mixedlm compare`.
pub fn compare(a: &CompareArgs) -> Result<ExitCode, CliError> {
    if a.formula.len() < 2 {
        return Err(CliError::usage(
            "compare needs at least two models",
            Some("give --formula twice, e.g. --formula 'y ~ 1 + (1 | g)' --formula 'y ~ x + (1 | g)'".into()),
        ));
    }
    a.solver.check()?;
    if let Some(out) = &a.output {
        crate::commands::refuse_overwrite(out, &[&a.data])?;
    }
    let models = models(a)?;
    for m in &models {
        m.validate()?;
    }
    let data = DataArgs {
        data: a.data.clone(),
        formula: String::new(),
        groups: None,
        re_formula: None,
        vc: Vec::new(),
        input_format: a.input_format,
    };
    let (batch, _) = read(&data)?;
    let fits = models
        .iter()
        .map(|m| m.fit_batch(&batch))
        .collect::<Result<Vec<_>, _>>()?;
    for f in &fits {
        crate::commands::print_warnings(&f.warnings());
    }
    let refs: Vec<_> = fits.iter().collect();
    let json = CompareJson::new(&anova(&refs)?);
    let text = match a.format {
        OutputFormat::Json => to_json(&json)?,
        OutputFormat::Text => json.text(),
    };
    write_output(a.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// The models to compare: each formula with the shared statsmodels options (`--re-formula`
/// once for all, or once per formula).
fn models(a: &CompareArgs) -> Result<Vec<MixedLM>, CliError> {
    let n = a.formula.len();
    if a.re_formula.len() > 1 && a.re_formula.len() != n {
        return Err(CliError::usage(
            format!(
                "{} --re-formula for {n} --formula: give it once (for every model) or once per formula",
                a.re_formula.len()
            ),
            Some("e.g. --formula 'y ~ x' --formula 'y ~ x' --groups g --re-formula 1 --re-formula '~x'".into()),
        ));
    }
    a.formula
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let re = match a.re_formula.as_slice() {
                [] => None,
                [one] => Some(one.as_str()),
                many => Some(many[i].as_str()),
            };
            let spec = crate::commands::statsmodels_spec(f, a.groups.as_deref(), re, &a.vc)?;
            Ok(MixedLM::from_spec(spec).reml(!a.ml).method(&a.solver.name))
        })
        .collect()
}
