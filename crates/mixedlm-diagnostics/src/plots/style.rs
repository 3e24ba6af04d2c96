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
