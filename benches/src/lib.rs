//! Shared helpers for the criterion benchmarks of package `mixedlm-benches`:
//! locating the bundled data sets, building designs and models from them, and
//! replicating a design's rows (same groups, N times the observations) to show
//! that an objective evaluation does not grow with N.
//! Depends on the `mixedlm` facade only (the benchmarks themselves also use the
//! simulator of `mixedlm-tests`).
#![warn(missing_docs)]

use mixedlm::design::DenseMatrix;
use mixedlm::model::{LinearMixedModel, ModelOptions};
use mixedlm::{Design, ModelSpec, RecordBatch};
use std::path::PathBuf;

/// The bundled models: (data set, lme4 formula).
pub const MODELS: [(&str, &str); 4] = [
    ("sleepstudy", "Reaction ~ 1 + Days + (1 + Days | Subject)"),
    ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    (
        "mathachieve",
        "MathAch ~ 1 + SES + MEANSES + Sex + Minority + (1 + SES | School)",
    ),
    (
        "insteval",
        "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)",
    ),
];

/// The lme4 formula of a bundled model by data set name.
pub fn formula(name: &str) -> &'static str {
    MODELS.iter().find(|m| m.0 == name).map_or("", |m| m.1)
}

/// Path of a bundled CSV (`tests/data/NAME.csv`).
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(format!("{name}.csv"))
}

/// Reads a bundled data set. Panics with the path if it cannot (benchmarks only).
pub fn load(name: &str) -> RecordBatch {
    let p = data_path(name);
    mixedlm::read_table(&p, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The design of `formula` on `batch`. Panics on a bad model (benchmarks only).
pub fn design(formula: &str, batch: &RecordBatch) -> Design {
    ModelSpec::new(formula)
        .design(batch)
        .unwrap_or_else(|e| panic!("{formula}: {e}"))
}

/// A REML model of a design (forms the cross-products).
pub fn model(design: &Design) -> LinearMixedModel {
    LinearMixedModel::new(design, ModelOptions { reml: true })
        .unwrap_or_else(|e| panic!("model: {e}"))
}

fn repeat_matrix(m: &DenseMatrix, times: usize) -> DenseMatrix {
    let data = (0..m.ncols).flat_map(|j| m.col(j).repeat(times)).collect();
    DenseMatrix {
        nrows: m.nrows * times,
        ncols: m.ncols,
        data,
    }
}

/// The design with every row repeated `times` times: same groups and columns,
/// `times` × N observations.
pub fn replicate(d: &Design, times: usize) -> Design {
    let mut out = d.clone();
    out.y = d.y.repeat(times);
    out.x = repeat_matrix(&d.x, times);
    for (r, src) in out.random.iter_mut().zip(&d.random) {
        r.codes = src.codes.repeat(times);
        r.z = repeat_matrix(&src.z, times);
    }
    out.weights = d.weights.as_ref().map(|w| w.repeat(times));
    out.offset = d.offset.as_ref().map(|o| o.repeat(times));
    out.row_index = (0..d.y.len() * times).collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicated_design_has_same_groups_and_more_rows() {
        let d = design(formula("sleepstudy"), &load("sleepstudy"));
        let r = replicate(&d, 3);
        assert_eq!(r.n_obs(), 3 * d.n_obs());
        assert_eq!(r.random[0].levels, d.random[0].levels);
        assert_eq!(r.x.get(d.n_obs() + 5, 1), d.x.get(5, 1));
        assert!(model(&r).n_theta() == model(&d).n_theta());
    }
}
