//! Scatter plots with a reference line: Q-Q plots, residuals vs fitted, scale-location.

use super::style::{self, LABEL_SIZE, REFERENCE, TICK_SIZE, TITLE_SIZE, TREND};
use super::{font::FAMILY, Draw};
use crate::qq::Line;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;

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
            .build_cartesian_2d(xr.clone(), yr.clone())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .x_label_formatter(&|v| style::tick(*v))
            .y_label_formatter(&|v| style::tick(*v))
            .axis_desc_style((FAMILY, LABEL_SIZE))
            .label_style((FAMILY, TICK_SIZE))
            .light_line_style(RGBAColor(0, 0, 0, 0.04))
            .bold_line_style(RGBAColor(0, 0, 0, 0.12))
            .draw()
            .map_err(|e| e.to_string())?;
        if self.x.len() > style::DENSE_POINTS {
            let cells = style::density_cells(self.x, self.y, &xr, &yr, (160, 120));
            chart
                .draw_series(
                    cells
                        .into_iter()
                        .map(|(a, b, c)| Rectangle::new([a, b], c.filled())),
                )
                .map_err(|e| e.to_string())?;
        } else {
            let (radius, color) = style::marker(self.x.len());
            chart
                .draw_series(
                    self.x
                        .iter()
                        .zip(self.y)
                        .map(|(&x, &y)| Circle::new((x, y), radius, color.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        let ends = match self.reference {
            Reference::Horizontal(h) => [(xr.start, h), (xr.end, h)],
            Reference::Line(l) => clip_line(l, &xr, &yr),
        };
        chart
            .draw_series(LineSeries::new(ends, REFERENCE.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        if self.trend {
            let bins = (self.x.len() / 30).clamp(4, 25);
            let trend = style::binned_trend(self.x, self.y, bins);
            chart
                .draw_series(LineSeries::new(trend, TREND.stroke_width(2)))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())
    }
}

/// The part of the line inside the plotting rectangle (plotters clamps coordinates outside
/// the ranges to the border, which would bend a line drawn between far-away end points).
pub(crate) fn clip_line(l: Line, xr: &Range<f64>, yr: &Range<f64>) -> [(f64, f64); 2] {
    let (mut x0, mut x1) = (xr.start, xr.end);
    if l.slope != 0.0 && l.slope.is_finite() {
        let a = (yr.start - l.intercept) / l.slope;
        let b = (yr.end - l.intercept) / l.slope;
        x0 = x0.max(a.min(b));
        x1 = x1.min(a.max(b));
    }
    if x0 > x1 {
        (x0, x1) = (xr.start, xr.start);
    }
    let y = |x: f64| l.intercept + l.slope * x;
    [(x0, y(x0)), (x1, y(x1))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_line_is_clipped_to_the_plot_not_bent() {
        let l = Line {
            intercept: 0.0,
            slope: 2.0,
        };
        let [(x0, y0), (x1, y1)] = clip_line(l, &(-3.0..3.0), &(-2.0..4.0));
        assert_eq!((x0, y0, x1, y1), (-1.0, -2.0, 2.0, 4.0));
        let flat = Line {
            intercept: 1.0,
            slope: 0.0,
        };
        assert_eq!(
            clip_line(flat, &(-3.0..3.0), &(-2.0..4.0)),
            [(-3.0, 1.0), (3.0, 1.0)]
        );
    }
}
