//! Scatter plots with a reference line: Q-Q plots, residuals vs fitted, scale-location.

use super::style::{self, LABEL_SIZE, REFERENCE, TICK_SIZE, TITLE_SIZE, TREND};
use super::{font::FAMILY, Draw};
use crate::qq::Line;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The reference drawn over the points.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reference {
    /// A horizontal line at this y.
    Horizontal(f64),
    /// A straight line (the Q-Q reference line).
    Line(Line),
}

/// A scatter plot with title, axis labels, a reference line and an optional trend.
#[derive(Debug)]
pub(crate) struct Scatter<'a> {
    pub title: String,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub reference: Reference,
    /// Draw a binned-mean trend line (R's plot.lm draws a lowess smooth).
    pub trend: bool,
}

impl Draw for Scatter<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let extra = match self.reference {
            Reference::Horizontal(h) => vec![h],
            Reference::Line(_) => vec![],
        };
        let xr = style::range(self.x.iter().copied(), &[]);
        let yr = style::range(self.y.iter().copied(), &extra);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, TITLE_SIZE))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(xr.clone(), yr)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .axis_desc_style((FAMILY, LABEL_SIZE))
            .label_style((FAMILY, TICK_SIZE))
            .light_line_style(RGBAColor(0, 0, 0, 0.04))
            .bold_line_style(RGBAColor(0, 0, 0, 0.12))
            .draw()
            .map_err(|e| e.to_string())?;
        let (radius, color) = style::marker(self.x.len());
        chart
            .draw_series(
                self.x
                    .iter()
                    .zip(self.y)
                    .map(|(&x, &y)| Circle::new((x, y), radius, color.filled())),
            )
            .map_err(|e| e.to_string())?;
        let ends = match self.reference {
            Reference::Horizontal(h) => [(xr.start, h), (xr.end, h)],
            Reference::Line(l) => [
                (xr.start, l.intercept + l.slope * xr.start),
                (xr.end, l.intercept + l.slope * xr.end),
            ],
        };
        chart
            .draw_series(LineSeries::new(ends, REFERENCE.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        if self.trend {
            let trend = style::binned_trend(self.x, self.y, 20);
            chart
                .draw_series(LineSeries::new(trend, TREND.stroke_width(2)))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())
    }
}
