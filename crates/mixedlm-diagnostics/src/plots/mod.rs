//! Diagnostic plots as SVG and/or PNG, drawn with plotters and the bundled DejaVu Sans font.
//!
//! [`write_plots`] writes, into a directory:
//! - `resid_qq`: normal Q-Q plot of the Pearson residuals with R's `qqline` reference line;
//! - `resid_vs_fitted`: conditional residuals against conditional fitted values, y = 0 line
//!   and a binned-mean trend;
//! - `scale_location`: √|Pearson residual| against fitted values with a binned-mean trend;
//! - `qq_ranef_<factor>_<term>`: normal Q-Q plot of each term's conditional modes;
//! - `caterpillar_<factor>`: conditional modes ± 1.96 conditional SD, sorted, one panel per term.
//!
//! Markers shrink and become transparent as the number of points grows; above 20,000 points
//! the scatter plots shade a 2-D histogram (log counts) instead. Caterpillar plots name every
//! level up to 40 levels; above that they draw thin bars and name only the 5 highest and 5
//! lowest levels. Intervals that exclude 0 are drawn in a darker colour.

mod caterpillar;
mod font;
mod input;
mod scatter;
mod style;

pub use input::{PlotInput, PlotSource, RanefGroup, RanefTerm};

use crate::qq::qq_data;
use crate::DiagError;
use caterpillar::Caterpillar;
use plotters::coord::Shift;
use plotters::prelude::*;
use scatter::{Reference, Scatter};
use std::path::{Path, PathBuf};

/// Which file formats to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotFormat {
    /// Scalable vector graphics (`.svg`).
    Svg,
    /// Portable network graphics (`.png`).
    Png,
    /// Both.
    Both,
}

impl PlotFormat {
    fn extensions(self) -> &'static [&'static str] {
        match self {
            PlotFormat::Svg => &["svg"],
            PlotFormat::Png => &["png"],
            PlotFormat::Both => &["svg", "png"],
        }
    }
}

/// Something drawable on any plotters backend.
pub(crate) trait Draw {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Render `plot` to `dir/stem.{svg,png}`; returns the files written.
fn render<D: Draw>(
    dir: &Path,
    stem: &str,
    format: PlotFormat,
    size: (u32, u32),
    plot: &D,
) -> Result<Vec<PathBuf>, DiagError> {
    let mut written = Vec::new();
    for ext in format.extensions() {
        let path = dir.join(format!("{stem}.{ext}"));
        let result = if *ext == "svg" {
            plot.draw(&SVGBackend::new(&path, size).into_drawing_area())
        } else {
            plot.draw(&BitMapBackend::new(&path, size).into_drawing_area())
        };
        result.map_err(|message| DiagError::Plot {
            path: path.clone(),
            message,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Write every diagnostic plot of `source` (a [`PlotInput`] or a fit) into `dir` (created if
/// missing). Returns the paths written, in a fixed order.
pub fn write_plots<S: PlotSource + ?Sized>(
    dir: impl AsRef<Path>,
    source: &S,
    format: PlotFormat,
) -> Result<Vec<PathBuf>, DiagError> {
    let dir = dir.as_ref();
    let input = source.plot_input()?;
    input.validate()?;
    font::ensure_font()?;
    std::fs::create_dir_all(dir).map_err(|source| DiagError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = residual_plots(dir, &input, format)?;
    for group in &input.random_effects {
        written.extend(ranef_plots(dir, group, format)?);
    }
    Ok(written)
}

fn residual_plots(
    dir: &Path,
    input: &PlotInput,
    format: PlotFormat,
) -> Result<Vec<PathBuf>, DiagError> {
    let n = input.fitted.len();
    let mut written = Vec::new();
    if n >= 2 {
        let qq = qq_data(&input.pearson)?;
        let plot = Scatter {
            title: format!("Normal Q-Q plot of residuals (n = {n}{})", dense_note(n)),
            x_desc: "theoretical normal quantiles",
            y_desc: "standardized (Pearson) residuals",
            x: &qq.theoretical,
            y: &qq.sample,
            reference: Reference::Line(qq.line),
            trend: false,
        };
        written.extend(render(dir, "resid_qq", format, style::SIZE, &plot)?);
    }
    let dense = dense_note(n);
    let plot = Scatter {
        title: format!("Residuals vs fitted (n = {n}{dense})"),
        x_desc: "fitted values (fixed + random effects)",
        y_desc: "residuals",
        x: &input.fitted,
        y: &input.residuals,
        reference: Reference::Horizontal(0.0),
        trend: true,
    };
    written.extend(render(dir, "resid_vs_fitted", format, style::SIZE, &plot)?);
    let root_abs: Vec<f64> = input.pearson.iter().map(|r| r.abs().sqrt()).collect();
    let plot = Scatter {
        title: format!("Scale-location (n = {n}{dense})"),
        x_desc: "fitted values (fixed + random effects)",
        y_desc: "√|standardized residual|",
        x: &input.fitted,
        y: &root_abs,
        reference: Reference::Horizontal(0.822_179_6), // E√|Z| for Z ~ N(0, 1)
        trend: true,
    };
    written.extend(render(dir, "scale_location", format, style::SIZE, &plot)?);
    Ok(written)
}

fn ranef_plots(
    dir: &Path,
    group: &RanefGroup,
    format: PlotFormat,
) -> Result<Vec<PathBuf>, DiagError> {
    let mut written = Vec::new();
    let gname = style::file_safe(&group.group);
    for term in &group.terms {
        if term.modes.len() < 2 {
            continue;
        }
        let qq = qq_data(&term.modes)?;
        let plot = Scatter {
            title: format!(
                "Normal Q-Q plot of {} | {} ({} levels)",
                term.name,
                group.group,
                term.modes.len()
            ),
            x_desc: "theoretical normal quantiles",
            y_desc: "conditional modes (BLUPs)",
            x: &qq.theoretical,
            y: &qq.sample,
            reference: Reference::Line(qq.line),
            trend: false,
        };
        let stem = format!("qq_ranef_{gname}_{}", style::file_safe(&term.name));
        written.extend(render(dir, &stem, format, style::SIZE, &plot)?);
    }
    if !group.terms.is_empty() && !group.levels.is_empty() {
        let cat = Caterpillar::new(group);
        written.extend(render(
            dir,
            &format!("caterpillar_{gname}"),
            format,
            cat.size(),
            &cat,
        )?);
    }
    Ok(written)
}

fn dense_note(n: usize) -> &'static str {
    if n > style::DENSE_POINTS {
        ", shaded by density"
    } else {
        ""
    }
}
