//! What the plots need, as plain owned data.

use crate::DiagError;
use serde::Serialize;
use std::borrow::Cow;

/// Conditional modes of one random-effects term, one value per level.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RanefTerm {
    /// The term's column name (`(Intercept)`, `Days`).
    pub name: String,
    /// Conditional modes (BLUPs), in level order.
    pub modes: Vec<f64>,
    /// Conditional standard deviations, in level order.
    pub cond_sd: Vec<f64>,
}

/// The random effects of one grouping factor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RanefGroup {
    /// The grouping factor's name.
    pub group: String,
    /// Its level names.
    pub levels: Vec<String>,
    /// One entry per random-effects column (intercept, slopes).
    pub terms: Vec<RanefTerm>,
}

/// Everything [`write_plots`](super::write_plots) draws.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PlotInput {
    /// Conditional fitted values (Xβ̂ + Zb̂).
    pub fitted: Vec<f64>,
    /// Conditional residuals (y − fitted).
    pub residuals: Vec<f64>,
    /// Pearson (standardized) residuals.
    pub pearson: Vec<f64>,
    /// Random effects per grouping factor.
    pub random_effects: Vec<RanefGroup>,
}

impl PlotInput {
    /// Check that lengths agree and values are finite.
    pub fn validate(&self) -> Result<(), DiagError> {
        use crate::error::{check_finite, check_len};
        let n = self.fitted.len();
        check_len("residuals", self.residuals.len(), n)?;
        check_len("Pearson residuals", self.pearson.len(), n)?;
        check_finite("fitted values", &self.fitted)?;
        check_finite("residuals", &self.residuals)?;
        check_finite("Pearson residuals", &self.pearson)?;
        for g in &self.random_effects {
            for t in &g.terms {
                check_len("conditional modes", t.modes.len(), g.levels.len())?;
                check_len("conditional SDs", t.cond_sd.len(), g.levels.len())?;
                check_finite("conditional modes", &t.modes)?;
            }
        }
        Ok(())
    }
}

/// Anything plots can be drawn from: a [`PlotInput`] or an engine fit.
pub trait PlotSource {
    /// The plot data.
    fn plot_input(&self) -> Result<Cow<'_, PlotInput>, DiagError>;
}

impl PlotSource for PlotInput {
    fn plot_input(&self) -> Result<Cow<'_, PlotInput>, DiagError> {
        Ok(Cow::Borrowed(self))
    }
}
