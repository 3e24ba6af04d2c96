//! Diagnostics of a fitted model: everything in the `mixedlm-diagnostics` crate, plus
//! [`MixedLMResults::diagnostics`], [`MixedLMResults::write_plots`] and the options
//! [`DiagnosticsOptions`].
//!
//! # When what runs
//!
//! [`MixedLMResults::diagnostics`] always runs the cheap checks, whose cost does not grow
//! with the number of groups beyond one pass over the data:
//! - design checks (group sizes, factors with fewer than 5 levels, size-1 groups under a
//!   slope, more random effects than observations, badly scaled predictors);
//! - lme4-style convergence checks (finite-difference gradient and Hessian of the profiled
//!   objective at θ̂: O(dim θ²) objective evaluations, each independent of the number of rows;
//!   θ on its boundary = singular fit; evaluations exhausted);
//! - normality tests of the Pearson residuals and of each term's conditional modes.
//!
//! Leave-one-group-out influence (Cook's distance) costs one refit per level, so it runs
//! only when asked ([`DiagnosticsOptions::influence`]) and only for a factor with at most
//! [`DiagnosticsOptions::max_influence_levels`] levels (default
//! [`DEFAULT_MAX_INFLUENCE_LEVELS`]); above the cap a note says how to raise it.
//!
//! # Example: a singular fit is reported with advice
//!
//! ```
//! use mixedlm::diagnostics::{DiagnosticsOptions, MessageKind, PlotFormat};
//! use mixedlm::{lmer, read_table};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/dyestuff2.csv");
//! let mut fit = lmer("Yield ~ 1 + (1 | Batch)", &read_table(path.as_ref(), None)?)?;
//! let report = fit.diagnostics(&DiagnosticsOptions::default())?;
//! let singular = report.messages.iter().find(|m| m.kind == MessageKind::Singular).unwrap();
//! assert!(singular.advice.contains("simplify the random-effects structure"));
//! let dir = std::env::temp_dir().join("mixedlm-doc-dyestuff2-plots");
//! let files = fit.write_plots(&dir, PlotFormat::Svg)?;
//! assert!(files.iter().any(|f| f.ends_with("caterpillar_Batch.svg")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use mixedlm_diagnostics::*;

use crate::MixedLMResults;
use mixedlm_diagnostics::fit::{diagnose, plot_input, DiagnoseOptions};
use mixedlm_model::FitOptions;
use std::path::{Path, PathBuf};

/// Influence is computed only for factors with at most this many levels unless
/// [`DiagnosticsOptions::max_influence_levels`] says otherwise.
pub const DEFAULT_MAX_INFLUENCE_LEVELS: usize = 200;

/// What [`MixedLMResults::diagnostics`] computes beyond the always-on cheap checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagnosticsOptions {
    /// Compute Cook's distances from leave-one-group-out refits (one refit per level).
    pub influence: bool,
    /// The factor whose levels are left out; `None` picks the statsmodels `groups` column,
    /// else the factor with the fewest levels (the outermost in nested designs).
    pub influence_group: Option<String>,
    /// Skip influence (with a note) for a factor with more levels than this.
    pub max_influence_levels: usize,
}

impl Default for DiagnosticsOptions {
    fn default() -> Self {
        Self {
            influence: false,
            influence_group: None,
            max_influence_levels: DEFAULT_MAX_INFLUENCE_LEVELS,
        }
    }
}

impl DiagnosticsOptions {
    /// Turn leave-one-group-out influence on or off.
    pub fn influence(mut self, yes: bool) -> Self {
        self.influence = yes;
        self
    }
    /// Compute influence for this factor (implies [`influence`](Self::influence)).
    pub fn influence_group(mut self, group: &str) -> Self {
        self.influence = true;
        self.influence_group = Some(group.to_string());
        self
    }
    /// The largest number of levels for which influence is computed.
    pub fn max_influence_levels(mut self, n: usize) -> Self {
        self.max_influence_levels = n;
        self
    }
}

impl MixedLMResults {
    /// Check the fit: design, convergence (gradient, Hessian, singularity), normality, and on
    /// request influence (see the [module docs](crate::diagnostics) for what runs when).
    ///
    /// Takes `&mut self` because the convergence checks evaluate the model's objective
    /// around θ̂; the model is left evaluated at θ̂, so every accessor returns what it did.
    pub fn diagnostics(&mut self, options: &DiagnosticsOptions) -> Result<Diagnostics, DiagError> {
        self.need_rows_for_diagnostics()?;
        let mut skipped = None;
        let influence_group = if options.influence {
            let (group, levels) = self.influence_factor(options.influence_group.as_deref())?;
            if levels <= options.max_influence_levels {
                Some(group)
            } else {
                skipped = Some(skipped_influence(&group, levels, options));
                None
            }
        } else {
            None
        };
        let fit_options = FitOptions {
            optimizer: self.fit.optim.optimizer,
            ..FitOptions::default()
        };
        let diag_options = DiagnoseOptions {
            convergence: self.convergence.check.clone(),
            max_evaluations: Some(fit_options.max_evaluations),
            influence_group,
            fit_options,
        };
        let mut report = diagnose(&mut self.model, &self.fit, &diag_options)?;
        report.messages.extend(skipped);
        Ok(report)
    }

    /// The data the plots are drawn from (fitted values, residuals, conditional modes).
    pub fn plot_input(&self) -> Result<PlotInput, DiagError> {
        self.need_rows_for_diagnostics()?;
        plot_input(&self.fit, self.model.design())
    }

    /// A streamed fit holds no rows, so it has no residuals to check or plot.
    fn need_rows_for_diagnostics(&self) -> Result<(), DiagError> {
        if self.model.has_rows() {
            return Ok(());
        }
        Err(DiagError::Invalid(
            "a streamed fit keeps no rows, so it has no residuals to check or plot; \
             fit in memory (without --stream / fit_streaming) for diagnostics"
                .into(),
        ))
    }

    /// Write the diagnostic plots into `dir` (created if missing): `resid_qq`,
    /// `resid_vs_fitted`, `scale_location`, and per grouping factor `qq_ranef_<factor>_<term>`
    /// and `caterpillar_<factor>`. Returns the files written.
    pub fn write_plots(
        &self,
        dir: impl AsRef<Path>,
        format: PlotFormat,
    ) -> Result<Vec<PathBuf>, DiagError> {
        write_plots(dir, &self.plot_input()?, format)
    }

    /// The factor for influence and its number of levels.
    fn influence_factor(&self, requested: Option<&str>) -> Result<(String, usize), DiagError> {
        let factors = self.n_groups();
        let wanted = requested.or(self.spec.groups_column());
        if let Some(name) = wanted {
            return factors.into_iter().find(|(g, _)| g == name).ok_or_else(|| {
                let names: Vec<String> = self.n_groups().into_iter().map(|g| g.0).collect();
                DiagError::Invalid(format!(
                    "no grouping factor `{name}` for influence; the model's factors are: {}",
                    names.join(", ")
                ))
            });
        }
        factors
            .into_iter()
            .min_by_key(|(_, n)| *n)
            .ok_or_else(|| DiagError::Invalid("the model has no grouping factor".into()))
    }
}

fn skipped_influence(group: &str, levels: usize, options: &DiagnosticsOptions) -> Message {
    Message::new(
        MessageKind::Influence,
        format!(
            "Influence was not computed: `{group}` has {levels} levels, above the limit of {} \
             leave-one-group-out refits.",
            options.max_influence_levels
        ),
        format!(
            "Raise the limit (`--influence-max-levels {levels}` on the command line, \
             `DiagnosticsOptions::max_influence_levels` in Rust) if {levels} refits are \
             affordable, or choose a factor with fewer levels (`--influence=FACTOR`)."
        ),
    )
}
