use super::*;
use mixedlm_design::{CovarianceKind, DenseMatrix, RandomTermDesign};

/// Six rows, factor a (levels x, y, z) and a nested factor b whose level "q" lives only in
/// level y of a.
fn design() -> Design {
    let term = |group: &str, levels: &[&str], codes: Vec<u32>| RandomTermDesign {
        group: group.into(),
        levels: levels.iter().map(|s| s.to_string()).collect(),
        codes,
        names: vec!["(Intercept)".into()],
        z: DenseMatrix {
            nrows: 6,
            ncols: 1,
            data: vec![1.0; 6],
        },
        covariance: CovarianceKind::Unstructured,
    };
    Design {
        response: "y".into(),
        y: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        x: DenseMatrix {
            nrows: 6,
            ncols: 2,
            data: [vec![1.0; 6], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]].concat(),
        },
        x_names: vec!["(Intercept)".into(), "t".into()],
        aliased: vec![],
        random: vec![
            term("a", &["x", "y", "z"], vec![0, 0, 1, 1, 2, 2]),
            term("b", &["p", "q", "r"], vec![0, 2, 1, 1, 0, 2]),
        ],
        weights: Some(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        offset: None,
        n_dropped: 0,
        row_index: vec![10, 11, 12, 13, 14, 15],
    }
}

#[test]
fn leave_group_out_drops_rows_and_unused_levels() {
    let d = leave_group_out(&design(), "a", 1).unwrap();
    assert_eq!(d.y, vec![1.0, 2.0, 5.0, 6.0]);
    assert_eq!(d.x.col(1), &[0.0, 1.0, 4.0, 5.0]);
    assert_eq!(*d.random[0].levels, ["x", "z"]);
    assert_eq!(d.random[0].codes, vec![0, 0, 1, 1]);
    // b's level q appeared only in a = y: dropped, r renumbered.
    assert_eq!(*d.random[1].levels, ["p", "r"]);
    assert_eq!(d.random[1].codes, vec![0, 1, 0, 1]);
    assert_eq!(d.weights, Some(vec![1.0, 2.0, 5.0, 6.0]));
    assert_eq!(d.row_index, vec![10, 11, 14, 15]);
    assert_eq!(d.random[1].z.nrows, 4);
}

#[test]
fn leave_group_out_rejects_unknown_factor_or_level() {
    assert!(leave_group_out(&design(), "nope", 0).is_err());
    assert!(leave_group_out(&design(), "a", 3).is_err());
}
