//! Shared look: sizes, colours, markers, axis ranges.

use plotters::style::RGBAColor;

/// Width × height of single-panel plots, in pixels.
pub(crate) const SIZE: (u32, u32) = (800, 600);
/// Point colour (a muted blue).
pub(crate) const POINT: (u8, u8, u8) = (31, 119, 180);
/// Reference-line colour (red).
pub(crate) const REFERENCE: RGBAColor = RGBAColor(214, 39, 40, 0.9);
/// Trend-line colour (dark grey).
pub(crate) const TREND: RGBAColor = RGBAColor(40, 40, 40, 0.85);
/// Caption font size.
pub(crate) const TITLE_SIZE: u32 = 24;
/// Axis description font size.
pub(crate) const LABEL_SIZE: u32 = 18;
/// Tick label font size.
pub(crate) const TICK_SIZE: u32 = 14;

/// Marker radius and opacity for n points: smaller and more transparent as n grows.
pub(crate) fn marker(n: usize) -> (u32, RGBAColor) {
    let (r, alpha) = match n {
        0..=500 => (3, 0.7),
        501..=5_000 => (2, 0.4),
        5_001..=50_000 => (2, 0.2),
        _ => (1, 0.15),
    };
    (r, RGBAColor(POINT.0, POINT.1, POINT.2, alpha))
}

/// Above this many points, scatter plots shade a 2-D histogram (log counts) instead of
/// drawing points, which would merge into one blot.
pub(crate) const DENSE_POINTS: usize = 20_000;

/// A cell of a 2-D histogram: corners and fill colour.
pub(crate) type Cell = ((f64, f64), (f64, f64), RGBAColor);

/// The non-empty cells of a `grid.0 × grid.1` histogram of (x, y) over the ranges, darker
/// with more points (opacity grows with log count, so single points stay visible).
pub(crate) fn density_cells(
    x: &[f64],
    y: &[f64],
    xr: &std::ops::Range<f64>,
    yr: &std::ops::Range<f64>,
    grid: (usize, usize),
) -> Vec<Cell> {
    let (nx, ny) = grid;
    let (w, h) = (
        (xr.end - xr.start) / nx as f64,
        (yr.end - yr.start) / ny as f64,
    );
    let mut counts = vec![0u32; nx * ny];
    for (&a, &b) in x.iter().zip(y) {
        let i = ((a - xr.start) / w).floor();
        let j = ((b - yr.start) / h).floor();
        if (0.0..nx as f64).contains(&i) && (0.0..ny as f64).contains(&j) {
            counts[j as usize * nx + i as usize] += 1;
        }
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(k, &c)| {
            let (i, j) = ((k % nx) as f64, (k / nx) as f64);
            let alpha = 0.12 + 0.88 * (1.0 + c as f64).ln() / (1.0 + max).ln();
            (
                (xr.start + i * w, yr.start + j * h),
                (xr.start + (i + 1.0) * w, yr.start + (j + 1.0) * h),
                RGBAColor(POINT.0, POINT.1, POINT.2, alpha),
            )
        })
        .collect()
}

/// A padded range covering `values` (and `extra`), never empty.
pub(crate) fn range(values: impl IntoIterator<Item = f64>, extra: &[f64]) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values
        .into_iter()
        .chain(extra.iter().copied())
        .filter(|v| v.is_finite())
    {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return -1.0..1.0;
    }
    let pad = if hi > lo {
        0.04 * (hi - lo)
    } else {
        0.5 * lo.abs().max(1.0)
    };
    (lo - pad)..(hi + pad)
}

/// A binned-mean trend of y against x (about `bins` bins of equal counts), for guiding the eye.
pub(crate) fn binned_trend(x: &[f64], y: &[f64], bins: usize) -> Vec<(f64, f64)> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let per = (x.len() / bins.max(1)).max(10);
    if x.len() < 2 * per {
        return Vec::new();
    }
    idx.chunks(per)
        .filter(|c| c.len() * 2 >= per)
        .map(|c| {
            let m = c.len() as f64;
            (
                c.iter().map(|&i| x[i]).sum::<f64>() / m,
                c.iter().map(|&i| y[i]).sum::<f64>() / m,
            )
        })
        .collect()
}

/// A file-name-safe version of a factor or term name (`(Intercept)` → `Intercept`,
/// `batch:cask` → `batch_cask`).
pub(crate) fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .filter(|c| !matches!(c, '(' | ')'))
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "term".into()
    } else {
        s
    }
}

/// A tick label without a trailing `.0` (`100`, `2.5`, `0.25`, `1e6`).
pub(crate) fn tick(v: f64) -> String {
    // Ticks sit at round numbers: anything this close to 0 is 0 plus rounding error.
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ticks_drop_trailing_zeros() {
        let t: Vec<String> = [100.0, 2.5, -0.25, 0.0, 1e7, 0.1 + 0.2, -2.2e-16]
            .iter()
            .map(|&v| super::tick(v))
            .collect();
        assert_eq!(t, ["100", "2.5", "-0.25", "0", "1.0e7", "0.3", "0"]);
    }

    #[test]
    fn density_cells_count_points_and_shade_by_log_count() {
        // 2 × 2 grid over [0, 2) × [0, 2): three points in the lower-left cell, one upper-right.
        let x = [0.1, 0.5, 0.9, 1.5];
        let y = [0.2, 0.4, 0.6, 1.9];
        let cells = super::density_cells(&x, &y, &(0.0..2.0), &(0.0..2.0), (2, 2));
        assert_eq!(cells.len(), 2);
        let ((x0, y0), (x1, y1), dark) = cells[0];
        assert_eq!((x0, y0, x1, y1), (0.0, 0.0, 1.0, 1.0));
        assert!((dark.3 - 1.0).abs() < 1e-12, "the fullest cell is opaque");
        let light = cells[1].2 .3;
        let expected = 0.12 + 0.88 * 2f64.ln() / 4f64.ln();
        assert!((light - expected).abs() < 1e-12, "{light}");
    }
}
