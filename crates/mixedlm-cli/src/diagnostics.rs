//! `mixedlm fit`'s diagnostics: options, the report in JSON and text, and the plots.
//!
//! The cheap checks (design, convergence, normality) always run; `--no-diagnostics` skips
//! them. Leave-one-group-out influence runs only with `--influence[=FACTOR]`, and only for a
//! factor with at most `--influence-max-levels` levels (one refit per level). `--plots DIR`
//! writes the plots (SVG unless `--plot-format png|both`).

use crate::error::CliError;
use clap::{Args, ValueEnum};
use mixedlm::diagnostics::{
    DiagError, Diagnostics, DiagnosticsOptions, PlotFormat, DEFAULT_MAX_INFLUENCE_LEVELS,
};
use mixedlm::MixedLMResults;
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

/// The diagnostics options of `mixedlm fit`.
#[derive(Debug, Args)]
pub struct DiagnosticsArgs {
    /// Write diagnostic plots into DIR (created if missing): resid_qq, resid_vs_fitted,
    /// scale_location, and per grouping factor qq_ranef_<factor>_<term> and
    /// caterpillar_<factor>.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// The plots' file format.
    #[arg(long, value_enum, default_value = "svg", value_name = "FORMAT")]
    pub plot_format: PlotFormatArg,
    /// Compute Cook's distance per group from leave-one-group-out refits (one refit per
    /// level) for FACTOR (default: --groups, else the factor with the fewest levels).
    #[arg(long, value_name = "FACTOR", num_args = 0..=1, require_equals = true,
          default_missing_value = "")]
    pub influence: Option<String>,
    /// Skip --influence (with a note) for a factor with more levels than this.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_INFLUENCE_LEVELS)]
    pub influence_max_levels: usize,
    /// Skip the diagnostics that otherwise always run: design checks, convergence checks
    /// (finite-difference gradient and Hessian: about 1 + 2n + 2n(n−1) objective evaluations
    /// for n covariance parameters) and normality tests.
    #[arg(long, conflicts_with = "influence")]
    pub no_diagnostics: bool,
}

/// `--plot-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlotFormatArg {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics (800×600 and larger).
    Png,
    /// Both SVG and PNG.
    Both,
}

impl From<PlotFormatArg> for PlotFormat {
    fn from(f: PlotFormatArg) -> Self {
        match f {
            PlotFormatArg::Svg => PlotFormat::Svg,
            PlotFormatArg::Png => PlotFormat::Png,
            PlotFormatArg::Both => PlotFormat::Both,
        }
    }
}

/// The `"diagnostics"` object of `mixedlm fit --format json`: the report's keys
/// (`messages`, `gradient_max_abs`, `hessian_min_eigenvalue`, `residual_normality`,
/// `random_effects_normality`, `influential_groups`) plus `plots` and `seconds`.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticsJson {
    /// The report.
    #[serde(flatten)]
    pub report: Diagnostics,
    /// The plot files written (empty without `--plots`).
    pub plots: Vec<String>,
    /// Seconds spent on diagnostics and plots.
    pub seconds: f64,
}

/// Run the diagnostics and write the plots as the options say; `None` with
/// `--no-diagnostics` and no `--plots`.
pub fn run(
    results: &mut MixedLMResults,
    args: &DiagnosticsArgs,
) -> Result<Option<DiagnosticsJson>, CliError> {
    if args.no_diagnostics && args.plots.is_none() {
        return Ok(None);
    }
    let start = Instant::now();
    let report = if args.no_diagnostics {
        Diagnostics::default()
    } else {
        results.diagnostics(&options(args)).map_err(|e| {
            diag_error(
                e,
                "--influence=FACTOR names one of the model's grouping factors",
            )
        })?
    };
    let plots = match &args.plots {
        Some(dir) => results
            .write_plots(dir, args.plot_format.into())
            .map_err(|e| diag_error(e, "check that DIR can be created and written"))?
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        None => Vec::new(),
    };
    Ok(Some(DiagnosticsJson {
        report,
        plots,
        seconds: start.elapsed().as_secs_f64(),
    }))
}

fn options(args: &DiagnosticsArgs) -> DiagnosticsOptions {
    let mut o = DiagnosticsOptions::default().max_influence_levels(args.influence_max_levels);
    match args.influence.as_deref() {
        Some("") => o = o.influence(true),
        Some(factor) => o = o.influence_group(factor),
        None => {}
    }
    o
}

fn diag_error(e: DiagError, hint: &str) -> CliError {
    CliError::usage(format!("diagnostics failed: {e}"), Some(hint.to_string()))
}

/// `summary` followed by a blank line and the diagnostics' [`text`], if any.
pub fn append(summary: String, d: Option<&DiagnosticsJson>) -> String {
    match d {
        Some(d) => format!("{}\n\n{}", summary.trim_end(), text(d)),
        None => summary,
    }
}

/// A number for people: plain decimals in the usual range, scientific notation outside it.
fn num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e5).contains(&v.abs()) {
        format!("{v:.4}")
    } else {
        format!("{v:.3e}")
    }
}

/// The text printed after the summary: each message with its advice, the influential
/// groups, and the plot files.
pub fn text(d: &DiagnosticsJson) -> String {
    let mut s = String::from("Diagnostics:\n");
    let r = &d.report;
    if r.messages.is_empty() {
        let _ = writeln!(s, "  no problems found");
    }
    for m in &r.messages {
        let _ = writeln!(s, "  {} [{}]: {}", m.severity, m.code, m.text);
        let _ = writeln!(s, "    advice: {}", m.advice);
    }
    let numbers = [
        ("max |gradient|", r.gradient_max_abs),
        ("min Hessian eigenvalue", r.hessian_min_eigenvalue),
    ];
    let shown: Vec<String> = numbers
        .iter()
        .filter_map(|(n, v)| v.map(|v| format!("{n} {}", num(v))))
        .chain(r.residual_normality.as_ref().map(|t| {
            format!(
                "residuals {} {:.4} (p = {:.3e})",
                t.test, t.statistic, t.p_value
            )
        }))
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(s, "  {}", shown.join("; "));
    }
    if let Some(i) = &r.influence {
        let top = match (&i.most_influential_level, i.max_cooks_distance) {
            (Some(l), Some(d)) => format!("largest Cook's distance {d:.3} ({} = {l})", i.group),
            _ => "no refit succeeded".to_string(),
        };
        let _ = writeln!(
            s,
            "  influence: {} refits leaving out each level of {}: {top}; flagged above 4/{} = {:.3}",
            i.levels, i.group, i.levels, i.cutoff
        );
    }
    for g in &r.influential_groups {
        let _ = writeln!(
            s,
            "  influential: {} = {} (Cook's distance {:.3})",
            g.group, g.level, g.cooks_distance
        );
    }
    if !d.plots.is_empty() {
        let _ = writeln!(s, "  plots written: {}", d.plots.join(", "));
    }
    s
}
