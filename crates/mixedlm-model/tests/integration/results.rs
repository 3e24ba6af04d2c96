//! The fit's plain-data types.
use mixedlm_model::PerLevel;

#[test]
fn per_level_values_index_iterate_and_serialize_as_lists() {
    let v = PerLevel::new(2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!((v.len(), v.k(), v.is_empty()), (3, 2, false));
    assert_eq!(&v[1], &[3.0, 4.0]);
    assert_eq!(v[2][0], 5.0);
    assert_eq!(v.get(2), Some(&[5.0, 6.0][..]));
    assert_eq!(v.get(3), None);
    let firsts: Vec<f64> = v.iter().map(|l| l[0]).collect();
    assert_eq!(firsts, [1.0, 3.0, 5.0]);
    assert_eq!(
        v.to_nested(),
        vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]
    );
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        "[[1.0,2.0],[3.0,4.0],[5.0,6.0]]"
    );
    let none = PerLevel::empty(2);
    assert_eq!((none.len(), none.is_empty(), none.get(0)), (0, true, None));
    assert_eq!(serde_json::to_string(&none).unwrap(), "[]");
    assert_eq!(PerLevel::default().len(), 0);
    assert_eq!(PerLevel::default().get(0), None);
    assert_eq!(PerLevel::default().iter().count(), 0);
}
