//! Grouping structures: which rows belong to which levels of which factors.
//!
//! A [`Layout`] turns into one [`FactorColumn`] per grouping factor. Nested
//! layouts label inner levels locally (`c01` in every school), so the
//! interaction `school:class` is what identifies a class, as in lme4's
//! `(1 | school/class)`.

use rand::seq::SliceRandom;
use rand::Rng;

/// How many rows each level of a grouping factor gets.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupSizes {
    /// Every group gets the same number of rows.
    Balanced(usize),
    /// Sizes drawn uniformly from `min..=max`.
    Uniform {
        /// Smallest size.
        min: usize,
        /// Largest size.
        max: usize,
    },
    /// Sizes from a Pareto law `min * u^(-1/alpha)`, capped at `max`.
    PowerLaw {
        /// Tail exponent (smaller = heavier tail).
        alpha: f64,
        /// Smallest size.
        min: usize,
        /// Largest size.
        max: usize,
    },
    /// Explicit sizes, one per group (zero makes an empty group).
    Explicit(Vec<usize>),
}

impl GroupSizes {
    /// Draws one size per group.
    pub fn draw<R: Rng>(&self, groups: usize, rng: &mut R) -> Vec<usize> {
        match self {
            Self::Balanced(n) => vec![*n; groups],
            Self::Uniform { min, max } => (0..groups)
                .map(|_| rng.random_range(*min..=(*max).max(*min)))
                .collect(),
            Self::PowerLaw { alpha, min, max } => (0..groups)
                .map(|_| pareto(rng, *alpha, *min, *max))
                .collect(),
            Self::Explicit(v) => (0..groups)
                .map(|i| v.get(i).copied().unwrap_or(0))
                .collect(),
        }
    }
}

fn pareto<R: Rng>(rng: &mut R, alpha: f64, min: usize, max: usize) -> usize {
    let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
    let x = min.max(1) as f64 * u.powf(-1.0 / alpha.max(1e-3));
    (x.floor() as usize).clamp(min, max.max(min))
}

/// Rescales `sizes` so they add up to exactly `total` (largest remainders
/// get the rounding), keeping every non-empty group at one row or more when
/// `total` allows.
pub fn rescale(sizes: &[usize], total: usize) -> Vec<usize> {
    let sum: usize = sizes.iter().sum();
    if sum == 0 || sizes.is_empty() {
        return sizes.to_vec();
    }
    let f = total as f64 / sum as f64;
    let exact: Vec<f64> = sizes.iter().map(|&s| s as f64 * f).collect();
    let mut out: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let short = total.saturating_sub(out.iter().sum());
    for &i in order.iter().cycle().take(short) {
        out[i] += 1;
    }
    out
}

/// A factor that is crossed with the primary one: each row draws its level
/// from Zipf weights `1 / rank^zipf` (0 = uniform), ranks shuffled over labels.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossedFactor {
    /// Column name.
    pub name: String,
    /// Number of levels.
    pub levels: usize,
    /// Zipf exponent of level popularity.
    pub zipf: f64,
}

/// The grouping structure of a simulated data set.
#[derive(Clone, Debug, PartialEq)]
pub enum Layout {
    /// One grouping factor with `groups` levels.
    Single {
        /// Column name.
        factor: String,
        /// Number of levels.
        groups: usize,
        /// Rows per level.
        sizes: GroupSizes,
        /// If set, sizes are rescaled to this many rows in all.
        total: Option<usize>,
    },
    /// Factors nested left to right: `(name, levels per parent)`; `sizes`
    /// gives the rows per innermost group.
    Nested {
        /// Names and numbers of levels within each parent level.
        factors: Vec<(String, usize)>,
        /// Rows per innermost group.
        sizes: GroupSizes,
    },
    /// A primary factor whose level counts follow `sizes` (rescaled to
    /// `n_rows`), crossed with further factors drawn per row.
    Crossed {
        /// Number of rows.
        n_rows: usize,
        /// The primary factor: name, levels, rows per level.
        primary: (String, usize, GroupSizes),
        /// The crossed factors.
        others: Vec<CrossedFactor>,
    },
}

/// A grouping column: level codes per row plus the level labels.
#[derive(Clone, Debug, PartialEq)]
pub struct FactorColumn {
    /// Column name.
    pub name: String,
    /// Level index of each row.
    pub codes: Vec<u32>,
    /// Level labels (zero-padded so string order equals index order).
    pub labels: Vec<String>,
}

fn labels(prefix: &str, n: usize) -> Vec<String> {
    let width = n.max(1).to_string().len();
    (1..=n).map(|i| format!("{prefix}{i:0width$}")).collect()
}

fn prefix(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

impl Layout {
    /// Draws the grouping columns.
    pub fn generate<R: Rng>(&self, rng: &mut R) -> Vec<FactorColumn> {
        match self {
            Self::Single {
                factor,
                groups,
                sizes,
                total,
            } => {
                let mut s = sizes.draw(*groups, rng);
                if let Some(t) = total {
                    s = rescale(&s, *t);
                }
                vec![repeat_codes(factor, &s)]
            }
            Self::Nested { factors, sizes } => nested(factors, sizes, rng),
            Self::Crossed {
                n_rows,
                primary,
                others,
            } => crossed(*n_rows, primary, others, rng),
        }
    }
}

fn repeat_codes(name: &str, sizes: &[usize]) -> FactorColumn {
    let codes = sizes
        .iter()
        .enumerate()
        .flat_map(|(g, &n)| std::iter::repeat_n(g as u32, n))
        .collect();
    FactorColumn {
        name: name.to_string(),
        codes,
        labels: labels(&prefix(name), sizes.len()),
    }
}

fn nested<R: Rng>(
    factors: &[(String, usize)],
    sizes: &GroupSizes,
    rng: &mut R,
) -> Vec<FactorColumn> {
    let inner: usize = factors.iter().map(|f| f.1).product();
    let rows = sizes.draw(inner, rng);
    let mut cols: Vec<FactorColumn> = factors
        .iter()
        .map(|(n, k)| FactorColumn {
            name: n.clone(),
            codes: Vec::new(),
            labels: labels(&prefix(n), *k),
        })
        .collect();
    for (g, &n) in rows.iter().enumerate() {
        let mut rest = g;
        for (j, (_, k)) in factors.iter().enumerate().rev() {
            let code = (rest % k) as u32;
            rest /= k;
            cols[j].codes.extend(std::iter::repeat_n(code, n));
        }
    }
    cols
}

fn crossed<R: Rng>(
    n_rows: usize,
    primary: &(String, usize, GroupSizes),
    others: &[CrossedFactor],
    rng: &mut R,
) -> Vec<FactorColumn> {
    let sizes = rescale(&primary.2.draw(primary.1, rng), n_rows);
    let mut cols = vec![repeat_codes(&primary.0, &sizes)];
    for f in others {
        let cum = zipf_cumulative(f.levels, f.zipf);
        let mut perm: Vec<u32> = (0..f.levels as u32).collect();
        perm.shuffle(rng);
        let codes = (0..n_rows)
            .map(|_| {
                let u: f64 = rng.random::<f64>() * cum.last().copied().unwrap_or(0.0);
                perm[cum.partition_point(|&c| c <= u).min(f.levels - 1)]
            })
            .collect();
        cols.push(FactorColumn {
            name: f.name.clone(),
            codes,
            labels: labels(&prefix(&f.name), f.levels),
        });
    }
    cols
}

fn zipf_cumulative(n: usize, s: f64) -> Vec<f64> {
    let mut acc = 0.0;
    (1..=n)
        .map(|r| {
            acc += (r as f64).powf(-s);
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rescale_hits_total_exactly() {
        assert_eq!(rescale(&[1, 1, 2], 8).iter().sum::<usize>(), 8);
        assert_eq!(rescale(&[3, 7, 11, 13], 1000).iter().sum::<usize>(), 1000);
    }

    #[test]
    fn nested_codes_cycle_inner_levels() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let l = Layout::Nested {
            factors: vec![("school".into(), 2), ("class".into(), 3)],
            sizes: GroupSizes::Balanced(2),
        };
        let cols = l.generate(&mut rng);
        assert_eq!(cols[0].codes, vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
        assert_eq!(cols[1].codes, vec![0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
        assert_eq!(cols[1].labels, vec!["c1", "c2", "c3"]);
    }
}
