//! Caterpillar plots: conditional modes ± 1.96 conditional SD per level, sorted, one panel
//! per random-effects term of a grouping factor.

use super::input::RanefGroup;
use super::style::{self, LABEL_SIZE, POINT, REFERENCE, TICK_SIZE, TITLE_SIZE};
use super::{font::FAMILY, Draw};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Level names are written only up to this many levels.
pub(crate) const MAX_LABELLED_LEVELS: usize = 40;
/// Above that, this many highest and lowest levels are named.
pub(crate) const EXTREMES: usize = 5;
/// Colour of intervals that exclude 0 (orange).
const EXCLUDES: (u8, u8, u8) = (230, 120, 20);

/// The caterpillar plot of one grouping factor.
#[derive(Debug)]
pub(crate) struct Caterpillar<'a> {
    pub group: &'a RanefGroup,
    /// Level indices sorted by the first term's conditional mode.
    pub order: Vec<usize>,
}

impl<'a> Caterpillar<'a> {
    pub(crate) fn new(group: &'a RanefGroup) -> Self {
        let mut order: Vec<usize> = (0..group.levels.len()).collect();
        if let Some(first) = group.terms.first() {
            order.sort_by(|&a, &b| first.modes[a].total_cmp(&first.modes[b]));
        }
        Self { group, order }
    }

    /// Width and height in pixels.
    pub(crate) fn size(&self) -> (u32, u32) {
        let levels = self.group.levels.len() as u32;
        let panels = self.group.terms.len().max(1) as u32;
        let height = if self.group.levels.len() <= MAX_LABELLED_LEVELS {
            (140 + 18 * levels).max(400)
        } else {
            (120 + 4 * levels).clamp(600, 1400)
        };
        ((100 + 380 * panels).max(720), height)
    }

    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        term: usize,
    ) -> Result<(), String> {
        let t = &self.group.terms[term];
        let n = self.order.len();
        let labelled = n <= MAX_LABELLED_LEVELS;
        let z = 1.959963984540054;
        let lo = t
            .modes
            .iter()
            .zip(&t.cond_sd)
            .map(|(m, s)| m - z * s.max(0.0))
            .filter(|v| v.is_finite());
        let hi = t
            .modes
            .iter()
            .zip(&t.cond_sd)
            .map(|(m, s)| m + z * s.max(0.0))
            .filter(|v| v.is_finite());
        let xr = style::range(lo.chain(hi), &[0.0]);
        let yr = -0.5..(n as f64 - 0.5);
        let y_area = if term == 0 && labelled {
            90
        } else if term == 0 {
            40
        } else {
            10
        };
        let mut chart = ChartBuilder::on(area)
            .caption(&t.name, (FAMILY, LABEL_SIZE))
            .margin(8)
            .x_label_area_size(45)
            .y_label_area_size(y_area)
            .build_cartesian_2d(xr.clone(), yr)
            .map_err(|e| e.to_string())?;
        let names = |y: &f64| -> String {
            let i = y.round();
            if !labelled || term > 0 || (y - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            self.order
                .get(i as usize)
                .map(|&l| self.group.levels[l].clone())
                .unwrap_or_default()
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("conditional mode ± 1.96 SD (orange: excludes 0)")
            .axis_desc_style((FAMILY, TICK_SIZE))
            .label_style((FAMILY, TICK_SIZE - 2))
            .y_label_formatter(&names)
            .x_label_formatter(&|v| style::tick(*v))
            .disable_y_mesh()
            .light_line_style(RGBAColor(0, 0, 0, 0.04))
            .bold_line_style(RGBAColor(0, 0, 0, 0.12));
        if labelled {
            mesh.y_labels(n);
        } else {
            mesh.y_labels(0);
            if term == 0 {
                mesh.y_desc(format!("{n} levels, sorted"));
            }
        }
        mesh.draw().map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, -0.5), (0.0, n as f64 - 0.5)],
                REFERENCE.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        let alpha = if labelled { 0.8 } else { 0.5 };
        let bar = |m: f64, s: f64| {
            if m.abs() > s {
                RGBAColor(EXCLUDES.0, EXCLUDES.1, EXCLUDES.2, alpha)
            } else {
                RGBAColor(POINT.0, POINT.1, POINT.2, alpha)
            }
        };
        let width = if n > 400 {
            1
        } else if labelled {
            2
        } else {
            1
        };
        chart
            .draw_series(self.order.iter().enumerate().map(|(row, &l)| {
                let (m, s) = (t.modes[l], z * t.cond_sd[l].max(0.0));
                PathElement::new(
                    [(m - s, row as f64), (m + s, row as f64)],
                    bar(m, s).stroke_width(width),
                )
            }))
            .map_err(|e| e.to_string())?;
        let radius = if labelled {
            3
        } else if n > 400 {
            1
        } else {
            2
        };
        chart
            .draw_series(self.order.iter().enumerate().map(|(row, &l)| {
                Circle::new(
                    (t.modes[l], row as f64),
                    radius,
                    RGBColor(POINT.0, POINT.1, POINT.2).filled(),
                )
            }))
            .map_err(|e| e.to_string())?;
        if !labelled && term == 0 {
            self.extremes(&mut chart, &xr, n)?;
        }
        Ok(())
    }

    /// Name the `EXTREMES` highest levels in the empty upper-left corner and the lowest in
    /// the lower-right corner (the rows are too dense for per-level names).
    fn extremes<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        xr: &std::ops::Range<f64>,
        n: usize,
    ) -> Result<(), String> {
        let t = &self.group.terms[0];
        let k = EXTREMES.min(n / 2);
        let rows_per_line = n as f64 * 16.0 / chart.plotting_area().dim_in_pixel().1.max(1) as f64;
        let pad = 0.02 * (xr.end - xr.start);
        let line = |l: usize| format!("{}  {:.3}", self.group.levels[l], t.modes[l]);
        let top = std::iter::once(format!("highest {}:", t.name))
            .chain(self.order.iter().rev().take(k).map(|&l| line(l)));
        let bottom = std::iter::once(format!("lowest {}:", t.name))
            .chain(self.order.iter().take(k).rev().map(|&l| line(l)));
        let left = TextStyle::from((FAMILY, TICK_SIZE - 2).into_font())
            .pos(Pos::new(HPos::Left, VPos::Center));
        let right = left.pos(Pos::new(HPos::Right, VPos::Center));
        let top_y = |i: usize| n as f64 - 1.0 - i as f64 * rows_per_line;
        let bottom_y = |i: usize| (k - i) as f64 * rows_per_line + 0.3 * rows_per_line;
        chart
            .draw_series(
                top.enumerate()
                    .map(|(i, s)| Text::new(s, (xr.start + pad, top_y(i)), left.clone())),
            )
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                bottom
                    .enumerate()
                    .map(|(i, s)| Text::new(s, (xr.end - pad, bottom_y(i)), right.clone())),
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Draw for Caterpillar<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let title = format!(
            "Random effects of {} (sorted by {})",
            self.group.group,
            self.group
                .terms
                .first()
                .map(|t| t.name.as_str())
                .unwrap_or("level")
        );
        let body = root
            .titled(&title, (FAMILY, TITLE_SIZE))
            .map_err(|e| e.to_string())?;
        let panels = body.split_evenly((1, self.group.terms.len().max(1)));
        for (term, area) in panels.iter().enumerate().take(self.group.terms.len()) {
            self.panel(area, term)?;
        }
        root.present().map_err(|e| e.to_string())
    }
}
