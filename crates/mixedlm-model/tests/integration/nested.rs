//! The nested path against the dense path: objectives, gradients, estimates and fits.
use mixedlm_design::Design;
use mixedlm_fixtures::synthetic::{design_with_x, random_term};
use mixedlm_model::{LinearMixedModel, ModelOptions};

/// Students in classes in schools: `y ~ 1 + x + (1 + x | school) + (1 | school:class)`
/// with deterministic pseudo-random values (k2 = 2), or `(1 | school)` (k2 = 1).
fn nested_design(slopes: bool) -> Design {
    let (schools, classes, students) = (12, 5, 6);
    let n = schools * classes * students;
    let mut state = 12345u64;
    let mut unif = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (mut y, mut x, mut school, mut class) = (vec![], vec![], vec![], vec![]);
    for s in 0..schools {
        let (us, vs) = (2.0 * unif(), unif());
        for c in 0..classes {
            let uc = unif();
            for _ in 0..students {
                let xi = 3.0 * unif();
                x.push(xi);
                y.push(1.0 + 0.5 * xi + us + vs * xi + uc + 0.7 * unif());
                school.push(s as u32);
                class.push((s * classes + c) as u32);
            }
        }
    }
    let mut xdata = vec![1.0; n];
    xdata.extend_from_slice(&x);
    let school_term = if slopes {
        random_term("school", schools, school, xdata, &["(Intercept)", "x"])
    } else {
        random_term("school", schools, school, vec![1.0; n], &["(Intercept)"])
    };
    let class_term = random_term(
        "school:class",
        schools * classes,
        class,
        vec![1.0; n],
        &["(Intercept)"],
    );
    design_with_x(y, &x, vec![school_term, class_term], None)
}

#[test]
fn nested_path_matches_dense_path() {
    for (slopes, thetas) in [
        (
            true,
            vec![
                vec![0.8, 1.1, -0.3, 0.4],
                vec![0.2, 0.5, 0.0, 0.0],
                vec![1e-3, 2.0, 1.0, 0.5],
            ],
        ),
        (false, vec![vec![0.8, 1.1], vec![0.0, 0.3], vec![2.5, 1e-4]]),
    ] {
        let design = nested_design(slopes);
        for reml in [true, false] {
            let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
            assert!(
                nested.uses_nested(),
                "classes within schools take the nested path"
            );
            let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
            assert!(!dense.set_sparse(false));
            assert!(!dense.uses_nested());
            for theta in &thetas {
                let (a, b) = (nested.objective(theta), dense.objective(theta));
                assert!(
                    (a - b).abs() <= 1e-10 * b.abs(),
                    "theta {theta:?}: nested {a} dense {b}"
                );
            }
        }
    }
}

#[test]
fn nested_gradient_matches_dense_gradient_and_differences() {
    for (slopes, thetas) in [
        (
            true,
            vec![
                vec![0.8, 1.1, -0.3, 0.4],
                vec![0.2, 0.5, 0.1, 0.05],
                vec![1e-3, 2.0, 1.0, 0.5],
            ],
        ),
        (
            false,
            vec![vec![0.8, 1.1], vec![0.05, 0.3], vec![2.5, 1e-3]],
        ),
    ] {
        let design = nested_design(slopes);
        for reml in [true, false] {
            let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
            assert!(nested.uses_nested() && nested.has_gradient());
            let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
            dense.set_sparse(false);
            assert!(dense.has_gradient());
            let n = nested.n_theta();
            for theta in &thetas {
                let (mut gn, mut gd) = (vec![0.0; n], vec![0.0; n]);
                // once from a fresh factor, once after an evaluation elsewhere
                nested.objective(&vec![0.5; n]);
                assert!(nested.gradient(theta, &mut gn));
                assert!(dense.gradient(theta, &mut gd));
                let scale = gd.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                for i in 0..n {
                    assert!(
                        (gn[i] - gd[i]).abs() <= 1e-8 * scale,
                        "reml {reml} theta {theta:?}: nested {gn:?} dense {gd:?}"
                    );
                    let h = 1e-6;
                    let (mut up, mut down) = (theta.clone(), theta.clone());
                    up[i] += h;
                    down[i] -= h;
                    let fd = (nested.objective(&up) - nested.objective(&down)) / (2.0 * h);
                    assert!(
                        (fd - gn[i]).abs() <= 1e-4 * scale,
                        "reml {reml} theta {theta:?} [{i}]: difference {fd} gradient {}",
                        gn[i]
                    );
                }
                // the gradient at the current θ reuses the factor of `objective`
                nested.objective(theta);
                let mut again = vec![0.0; n];
                assert!(nested.gradient(theta, &mut again));
                assert_eq!(again, gn);
            }
        }
    }
}

/// More X columns than the unrolled level sums cover (k2 + p + 1 = 11 > 8) and prior
/// weights: the k1 = 1 path's objective and gradient still equal the dense path's.
#[test]
fn wide_border_and_weights_match_the_dense_path() {
    let mut design = nested_design(true);
    let n = design.y.len();
    let extra = 6;
    for c in 0..extra {
        let col = (0..n).map(|i| mixedlm_fixtures::synthetic::uniform(i, 77 + c as u64));
        design.x.data.extend(col);
        design.x_names.push(format!("z{c}"));
    }
    design.x.ncols += extra;
    design.weights = Some((0..n).map(|i| 0.5 + (i % 7) as f64 / 4.0).collect());
    matches_the_dense_path(
        &design,
        &[vec![0.8, 1.1, -0.3, 0.4], vec![0.05, 0.3, 0.2, 1.5]],
    );
}

/// On the nested path, under REML and ML: objective, gradient and β at each θ equal
/// the dense path's.
fn matches_the_dense_path(design: &Design, thetas: &[Vec<f64>]) {
    for reml in [true, false] {
        let mut nested = LinearMixedModel::new(design, ModelOptions { reml }).unwrap();
        assert!(nested.uses_nested() && nested.has_gradient());
        let mut dense = LinearMixedModel::new(design, ModelOptions { reml }).unwrap();
        dense.set_sparse(false);
        let k = nested.n_theta();
        for theta in thetas {
            let (a, b) = (nested.objective(theta), dense.objective(theta));
            assert!((a - b).abs() <= 1e-10 * b.abs(), "reml {reml}: {a} vs {b}");
            let (mut gn, mut gd) = (vec![0.0; k], vec![0.0; k]);
            assert!(nested.gradient(theta, &mut gn) && dense.gradient(theta, &mut gd));
            assert_all_close(&format!("reml {reml} {theta:?}"), &gn, &gd, 1e-8);
            assert_all_close("beta", &nested.beta(), &dense.beta(), 1e-10);
        }
    }
}

/// A first term with two columns per level (`(1 + x | school:class)`) takes the
/// general arrow path (not the k1 = 1 one): objective and gradient equal the dense
/// path's.
#[test]
fn a_first_term_with_slopes_matches_the_dense_path() {
    let mut design = nested_design(true);
    let n = design.y.len();
    let class = &mut design.random[1];
    let x = design.x.data[n..2 * n].to_vec();
    class.z.data.extend_from_slice(&x);
    class.z.ncols = 2;
    class.names.push("x".into());
    let model = LinearMixedModel::new(&design, ModelOptions::default()).unwrap();
    assert_eq!(model.n_theta(), 6);
    matches_the_dense_path(
        &design,
        &[
            vec![0.8, 1.1, -0.3, 0.4, 0.2, 0.3],
            vec![0.05, 0.3, 0.2, 1.5, -0.1, 0.7],
        ],
    );
}

/// The nested ANOVA start lands near the optimum (intercepts and the slope), the
/// default fit (BFGS, offered that start) reaches the optimum of a fit from lme4's
/// start, and models that are not nested get no such start.
#[test]
fn the_nested_start_is_near_the_optimum() {
    let design = nested_design(true);
    let mut model = LinearMixedModel::new(&design, ModelOptions::default()).unwrap();
    let start = model.theta_start_level_fits().expect("a nested start");
    let fit = model.fit(&Default::default()).unwrap();
    let lme4_start = model
        .fit(&mixedlm_model::FitOptions {
            start: Some(vec![1.0, 1.0, 0.0, 1.0]),
            ..Default::default()
        })
        .unwrap();
    assert!((fit.objective - lme4_start.objective).abs() <= 1e-8 * fit.objective.abs());
    // θ = (class, school intercept, covariance, school slope); the off-diagonal starts at 0
    for i in [0, 1, 3] {
        let (s, o) = (start[i], fit.theta[i].abs());
        assert!(s > 0.5 * o && s < 2.0 * o, "θ[{i}]: start {s} optimum {o}");
    }
    assert_eq!(start[2], 0.0);
    let mut crossed = nested_design(false);
    for c in &mut crossed.random[1].codes {
        *c %= 5;
    }
    crossed.random[1].levels = crossed.random[1].levels[..5].into();
    let model = LinearMixedModel::new(&crossed, ModelOptions::default()).unwrap();
    assert!(model.theta_start_level_fits().is_none());
}

fn assert_all_close(what: &str, a: &[f64], b: &[f64], rel: f64) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= rel * scale, "{what}: {a:?} vs {b:?}");
    }
}

/// β̂, Lxx, the spherical modes and the conditional covariances read from the arrow
/// factor (after the nested path's objective) equal those of the dense factor.
#[test]
fn estimates_from_the_arrow_factor_match_the_dense_factor() {
    for (slopes, theta) in [(true, vec![0.8, 1.1, -0.3, 0.4]), (false, vec![0.7, 1.3])] {
        let design = nested_design(slopes);
        for reml in [true, false] {
            let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
            let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
            dense.set_sparse(false);
            assert!(nested.objective(&theta).is_finite());
            assert!(dense.evaluate(&theta));
            let tag = format!("slopes {slopes} reml {reml}");
            assert_all_close(&tag, &nested.beta(), &dense.beta(), 1e-11);
            let (ln, ld) = (nested.lxx(), dense.lxx());
            for j in 0..ln.ncols() {
                for i in 0..ln.nrows() {
                    assert!((ln[(i, j)] - ld[(i, j)]).abs() <= 1e-10 * ld[(0, 0)].abs());
                }
            }
            let modes = nested.spherical_modes();
            assert_all_close(&tag, &modes, &dense.spherical_modes(), 1e-10);
            let (cn, cd) = (
                nested.conditional_covariances(),
                dense.conditional_covariances(),
            );
            assert_eq!(cn.len(), 2);
            for (a, b) in cn.iter().zip(&cd) {
                assert_all_close(&tag, a, b, 1e-10);
            }
            // and a whole fit: estimates from the arrow factor, same as the dense path
            let (fa, fb) = (
                nested.fit(&Default::default()).unwrap(),
                dense
                    .fit(&mixedlm_model::FitOptions {
                        start: Some(nested.theta().to_vec()),
                        ..Default::default()
                    })
                    .unwrap(),
            );
            assert!((fa.objective - fb.objective).abs() <= 1e-9 * fb.objective.abs());
            assert_all_close(&tag, &fa.se, &fb.se, 1e-5);
        }
    }
}

#[test]
fn crossed_terms_do_not_take_the_nested_path() {
    let mut design = nested_design(false);
    // classes 0..4 recur in every school: crossed with school, not nested
    for c in &mut design.random[1].codes {
        *c %= 5;
    }
    design.random[1].levels = design.random[1].levels[..5].into();
    let model = LinearMixedModel::new(&design, ModelOptions::default()).unwrap();
    assert!(!model.uses_nested());
}
