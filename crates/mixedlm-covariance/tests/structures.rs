//! Tests of the built-in covariance structures.

use faer::Mat;
use mixedlm_covariance::{
    covariance_from_factor, structure_for, summarize, CovarianceError, CovarianceKind,
    CovarianceStructure, Diagonal, ScalarIdentity, Unstructured,
};
use proptest::prelude::*;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn unstructured_theta_is_column_major_lower_triangle() {
    let s = Unstructured { k: 3 };
    let t = s.factor(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let expected = [[1.0, 0.0, 0.0], [2.0, 4.0, 0.0], [3.0, 5.0, 6.0]];
    for (i, row) in expected.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            assert_eq!(t[(i, j)], *v, "entry ({i}, {j})");
        }
    }
}

#[test]
fn bounds_and_starts_have_lme4_shape() {
    let u = Unstructured { k: 2 };
    assert_eq!(u.n_theta(), 3);
    assert_eq!(u.lower_bounds(), vec![0.0, f64::NEG_INFINITY, 0.0]);
    assert_eq!(u.initial_theta(), vec![1.0, 0.0, 1.0]);
    assert_eq!(u.upper_bounds().len(), 3);
    let d = Diagonal { k: 3 };
    assert_eq!(d.lower_bounds(), vec![0.0; 3]);
    assert_eq!(d.initial_theta(), vec![1.0; 3]);
    let s = ScalarIdentity { k: 4 };
    assert_eq!((s.n_theta(), s.dim()), (1, 4));
    assert_eq!(s.lower_bounds(), vec![0.0]);
    for kind in CovarianceKind::ALL {
        for k in 1..5 {
            let st = structure_for(kind, k);
            assert_eq!(st.lower_bounds().len(), st.n_theta(), "{kind} k={k}");
            assert_eq!(st.initial_theta().len(), st.n_theta(), "{kind} k={k}");
            let t = st.factor(&st.initial_theta()).unwrap();
            assert_eq!(
                t,
                Mat::<f64>::identity(k, k),
                "{kind} k={k} start is identity"
            );
        }
    }
}

#[test]
fn kind_names_round_trip_and_unknown_lists_valid() {
    for kind in CovarianceKind::ALL {
        assert_eq!(kind.to_string().parse::<CovarianceKind>().unwrap(), kind);
    }
    let err = "toeplitz".parse::<CovarianceKind>().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("toeplitz") && msg.contains("unstructured, diagonal, scalar"),
        "{msg}"
    );
}

#[test]
fn theta_names_follow_lme4() {
    let u = Unstructured { k: 2 };
    let got = u
        .theta_names("Subject", &names(&["(Intercept)", "Days"]))
        .unwrap();
    assert_eq!(
        got,
        names(&[
            "Subject.(Intercept)",
            "Subject.Days.(Intercept)",
            "Subject.Days"
        ])
    );
    let d = Diagonal { k: 2 };
    let got = d
        .theta_names("Subject", &names(&["(Intercept)", "Days"]))
        .unwrap();
    assert_eq!(got, names(&["Subject.(Intercept)", "Subject.Days"]));
    let s = ScalarIdentity { k: 2 };
    let got = s.theta_names("g", &names(&["a", "b"])).unwrap();
    assert_eq!(got, names(&["g.scalar(a,b)"]));
    let s1 = ScalarIdentity { k: 1 };
    assert_eq!(
        s1.theta_names("g", &names(&["(Intercept)"])).unwrap(),
        names(&["g.(Intercept)"])
    );
    assert!(matches!(
        u.theta_names("g", &names(&["a"])),
        Err(CovarianceError::NamesLength {
            expected: 2,
            got: 1
        })
    ));
}

#[test]
fn derivative_matches_finite_differences() {
    let theta_u = [0.7, -0.3, 1.2, 0.4, 0.1, 0.9];
    for (st, theta) in [
        (
            structure_for(CovarianceKind::Unstructured, 3),
            theta_u.to_vec(),
        ),
        (
            structure_for(CovarianceKind::Diagonal, 3),
            vec![0.5, 1.5, 0.2],
        ),
        (structure_for(CovarianceKind::Scalar, 3), vec![0.8]),
    ] {
        let k = st.dim();
        let mut dt = Mat::zeros(k, k);
        for i in 0..st.n_theta() {
            st.fill_factor_derivative(i, &theta, dt.as_mut());
            let h = 1e-6;
            let (mut up, mut dn) = (theta.clone(), theta.clone());
            up[i] += h;
            dn[i] -= h;
            let (tu, td) = (st.factor(&up).unwrap(), st.factor(&dn).unwrap());
            for c in 0..k {
                for r in 0..k {
                    let fd = (tu[(r, c)] - td[(r, c)]) / (2.0 * h);
                    assert!(
                        (fd - dt[(r, c)]).abs() < 1e-8,
                        "{} d{i} ({r},{c})",
                        st.name()
                    );
                }
            }
        }
    }
}

#[test]
fn sleepstudy_like_round_trip_and_summary() {
    // lme4's sleepstudy fit: SDs 24.74 and 5.92, correlation 0.066, sigma 25.59.
    let (sd0, sd1, rho, sigma) = (24.740_f64, 5.922_f64, 0.066_f64, 25.592_f64);
    let cov = Mat::from_fn(2, 2, |i, j| {
        let sd = [sd0, sd1];
        if i == j {
            sd[i] * sd[i]
        } else {
            rho * sd0 * sd1
        }
    });
    let u = Unstructured { k: 2 };
    let theta = u.theta_from_covariance(cov.as_ref(), sigma).unwrap();
    assert!((theta[0] - sd0 / sigma).abs() < 1e-12);
    assert!(theta[2] > 0.0);
    let summary = summarize(u.factor(&theta).unwrap().as_ref(), sigma);
    assert!((summary.std_devs[0] - sd0).abs() < 1e-9);
    assert!((summary.std_devs[1] - sd1).abs() < 1e-9);
    assert!((summary.correlation[0][1] - rho).abs() < 1e-12);
    assert_eq!(summary.correlation[1][1], 1.0);
    assert!((summary.variances[1] - sd1 * sd1).abs() < 1e-9);
}

#[test]
fn zero_sd_gives_nan_correlation_and_singular_flag() {
    let u = Unstructured { k: 2 };
    let theta = [0.9, 0.0, 0.0];
    assert!(u.is_singular(&theta, 1e-4));
    assert!(!u.is_singular(&[0.9, 0.0, 0.2], 1e-4));
    let s = summarize(u.factor(&theta).unwrap().as_ref(), 2.0);
    assert_eq!(s.std_devs, vec![1.8, 0.0]);
    assert!(s.correlation[0][1].is_nan() && s.correlation[1][0].is_nan());
    assert_eq!(s.correlation[0][0], 1.0);
    // A singular covariance converts back to a factor with a zero column.
    let cov = covariance_from_factor(u.factor(&theta).unwrap().as_ref(), 2.0);
    let back = u.theta_from_covariance(cov.as_ref(), 2.0).unwrap();
    assert!((back[0] - 0.9).abs() < 1e-12 && back[1].abs() < 1e-12 && back[2].abs() < 1e-12);
}

#[test]
fn sign_normalize_flips_negative_columns_only() {
    let u = Unstructured { k: 3 };
    let theta = [-0.5, 0.3, -0.2, 0.7, -0.4, -1.1];
    let fixed = u.sign_normalize(&theta).unwrap();
    assert_eq!(fixed, vec![0.5, -0.3, 0.2, 0.7, -0.4, 1.1]);
    let c0 = covariance_from_factor(u.factor(&theta).unwrap().as_ref(), 1.3);
    let c1 = covariance_from_factor(u.factor(&fixed).unwrap().as_ref(), 1.3);
    for i in 0..3 {
        for j in 0..3 {
            assert!((c0[(i, j)] - c1[(i, j)]).abs() < 1e-14);
        }
    }
    let d = Diagonal { k: 2 };
    assert_eq!(d.sign_normalize(&[-1.0, 2.0]).unwrap(), vec![1.0, 2.0]);
    let s = ScalarIdentity { k: 3 };
    assert_eq!(s.sign_normalize(&[-0.25]).unwrap(), vec![0.25]);
}

#[test]
fn unrepresentable_and_invalid_inputs_are_typed_errors() {
    let d = Diagonal { k: 2 };
    let cov = Mat::from_fn(2, 2, |i, j| if i == j { 2.0 } else { 0.5 });
    assert!(matches!(
        d.theta_from_covariance(cov.as_ref(), 1.0),
        Err(CovarianceError::NotRepresentable {
            structure: "diagonal",
            ..
        })
    ));
    let s = ScalarIdentity { k: 2 };
    let unequal = Mat::from_fn(2, 2, |i, j| if i == j { 1.0 + i as f64 } else { 0.0 });
    assert!(s.theta_from_covariance(unequal.as_ref(), 1.0).is_err());
    let u = Unstructured { k: 2 };
    assert!(matches!(
        u.factor(&[1.0]),
        Err(CovarianceError::ThetaLength {
            expected: 3,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        u.factor(&[1.0, f64::NAN, 1.0]),
        Err(CovarianceError::NonFiniteTheta { index: 1 })
    ));
    let indefinite = Mat::from_fn(2, 2, |i, j| if i == j { 1.0 } else { 2.0 });
    assert!(matches!(
        u.theta_from_covariance(indefinite.as_ref(), 1.0),
        Err(CovarianceError::NotPositiveSemidefinite { .. })
    ));
    assert!(matches!(
        u.theta_from_covariance(Mat::<f64>::identity(3, 3).as_ref(), 1.0),
        Err(CovarianceError::Shape {
            expected: 2,
            rows: 3,
            cols: 3
        })
    ));
    assert!(matches!(
        u.theta_from_covariance(Mat::<f64>::identity(2, 2).as_ref(), 0.0),
        Err(CovarianceError::InvalidSigma { .. })
    ));
}

fn unstructured_theta(k: usize) -> impl Strategy<Value = Vec<f64>> {
    let u = Unstructured { k };
    let lower = u.lower_bounds();
    prop::collection::vec(-3.0f64..3.0, u.n_theta()).prop_map(move |mut v| {
        for (x, lb) in v.iter_mut().zip(&lower) {
            if *lb == 0.0 {
                *x = x.abs() + 0.05; // positive diagonal: the Cholesky factor is unique
            }
        }
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn prop_theta_cov_theta_round_trip(
        (k, theta) in (1usize..5).prop_flat_map(|k| (Just(k), unstructured_theta(k))),
        sigma in 0.1f64..10.0,
    ) {
        let u = Unstructured { k };
        let cov = covariance_from_factor(u.factor(&theta).unwrap().as_ref(), sigma);
        let back = u.theta_from_covariance(cov.as_ref(), sigma).unwrap();
        for (a, b) in theta.iter().zip(&back) {
            prop_assert!((a - b).abs() < 1e-8 * (1.0 + a.abs()), "{:?} vs {:?}", theta, back);
        }
    }

    #[test]
    fn prop_sign_normalize_keeps_covariance(
        (k, theta) in (1usize..5).prop_flat_map(|k| (Just(k), prop::collection::vec(-3.0f64..3.0, k * (k + 1) / 2))),
    ) {
        let u = Unstructured { k };
        let fixed = u.sign_normalize(&theta).unwrap();
        prop_assert!(u.lower_bounds().iter().zip(&fixed).all(|(lb, x)| *x >= *lb));
        let c0 = covariance_from_factor(u.factor(&theta).unwrap().as_ref(), 1.0);
        let c1 = covariance_from_factor(u.factor(&fixed).unwrap().as_ref(), 1.0);
        for i in 0..k {
            for j in 0..k {
                prop_assert!((c0[(i, j)] - c1[(i, j)]).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn components_follow_theta_order_and_name_the_free_entries_of_sigma() {
    use mixedlm_covariance::Component::{Covariance, SharedVariance, Variance};
    assert_eq!(
        Unstructured { k: 2 }.components(),
        [Variance(0), Covariance(1, 0), Variance(1)]
    );
    assert_eq!(
        Diagonal { k: 3 }.components(),
        [Variance(0), Variance(1), Variance(2)]
    );
    assert_eq!(ScalarIdentity { k: 2 }.components(), [SharedVariance]);
    assert_eq!(Covariance(1, 0).position(), (1, 0));
    let e = SharedVariance.pattern(2);
    assert_eq!((e[(0, 0)], e[(1, 1)], e[(1, 0)]), (1.0, 1.0, 0.0));
    let e = Covariance(1, 0).pattern(2);
    assert_eq!((e[(0, 1)], e[(1, 0)], e[(0, 0)]), (1.0, 1.0, 0.0));
    assert!(Diagonal { k: 2 }.separate_effect_terms());
    assert!(!Unstructured { k: 2 }.separate_effect_terms());
}

#[test]
fn relative_covariance_and_sd_cor_give_back_theta() {
    let un = Unstructured { k: 2 };
    let theta = [0.9, -0.3, 0.4];
    let t = un.factor(&theta).unwrap();
    let rel = &t * t.transpose();
    let back = un.theta_from_relative_covariance(rel.as_ref());
    for (a, b) in back.iter().zip(&theta) {
        assert!((a - b).abs() < 1e-12, "{back:?}");
    }
    let sd = [rel[(0, 0)].sqrt(), rel[(1, 1)].sqrt()];
    let mut cor = Mat::<f64>::zeros(2, 2);
    cor[(1, 0)] = rel[(1, 0)] / (sd[0] * sd[1]);
    let back = un.theta_from_sd_cor(&sd, cor.as_ref());
    for (a, b) in back.iter().zip(&theta) {
        assert!((a - b).abs() < 1e-12, "{back:?}");
    }
    // a singular covariance gives a zero column; a negative variance counts as zero
    let mut singular = Mat::<f64>::zeros(2, 2);
    singular[(0, 0)] = 4.0;
    singular[(1, 0)] = 2.0;
    singular[(1, 1)] = 1.0;
    assert_eq!(
        un.theta_from_relative_covariance(singular.as_ref()),
        [2.0, 1.0, 0.0]
    );
    let mut diag = Mat::<f64>::zeros(2, 2);
    diag[(0, 0)] = 0.25;
    diag[(1, 1)] = -1.0;
    assert_eq!(
        Diagonal { k: 2 }.theta_from_relative_covariance(diag.as_ref()),
        [0.5, 0.0]
    );
    assert_eq!(
        ScalarIdentity { k: 2 }.theta_from_relative_covariance(diag.as_ref()),
        [0.5]
    );
    assert_eq!(
        Diagonal { k: 2 }.theta_from_sd_cor(&[0.5, 2.0], cor.as_ref()),
        [0.5, 2.0]
    );
    assert_eq!(CovarianceKind::Diagonal.structure(3).n_theta(), 3);
}
