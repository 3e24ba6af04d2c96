//! Set (b) at any size, streamed to a CSV file row by row (never built in memory): the
//! scale demonstration of streamed fits (`cargo xtask simulate --rows 20000000`).
//!
//! `y = 10 + 2 x1 - 0.5 x2 + b0[g] + b1[g] x1 + 3 ε`, x1 ~ N(0, 1), x2 ~ N(5, 2),
//! (b0, b1) ~ N(0, [[4, 0.6], [0.6, 1]]), one group per 100 rows on average, each row's
//! group drawn uniformly (set (b) in memory draws unbalanced sizes; the model is the same).

use crate::sim::cholesky_psd;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The model of the big set (b).
pub const BIG_FORMULA: &str = "y ~ 1 + x1 + x2 + (1 + x1 | g)";

/// Write `rows` rows of set (b) to `path` (CSV, `g` quoted as a factor); returns the
/// number of groups.
pub fn write_big_slopes(path: &Path, seed: u64, rows: usize) -> std::io::Result<usize> {
    let groups = (rows / 100).max(2);
    let mut rng = StdRng::seed_from_u64(seed);
    let l = cholesky_psd(&[4.0, 0.6, 0.6, 1.0], 2);
    let b: Vec<[f64; 2]> = (0..groups)
        .map(|_| {
            let z: [f64; 2] = [rng.sample(StandardNormal), rng.sample(StandardNormal)];
            [l[0] * z[0], l[2] * z[0] + l[3] * z[1]]
        })
        .collect();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "g,x1,x2,y")?;
    let width = groups.to_string().len();
    for _ in 0..rows {
        let g = rng.random_range(0..groups);
        let x1: f64 = rng.sample(StandardNormal);
        let x2 = 5.0 + 2.0 * rng.sample::<f64, _>(StandardNormal);
        let e: f64 = rng.sample(StandardNormal);
        let y = 10.0 + 2.0 * x1 - 0.5 * x2 + b[g][0] + b[g][1] * x1 + 3.0 * e;
        writeln!(out, "\"g{g:0width$}\",{x1},{x2},{y}")?;
    }
    out.flush()?;
    Ok(groups)
}
