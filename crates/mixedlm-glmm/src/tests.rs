//! The PWLS systems and PIRLS paths agree: the level-by-level path, the one-factor
//! system, the engine adapter (dense, nested and sparse rests) and the dense oracle give
//! the same criteria at the same (θ, β), for both families and every quadrature setting.

use super::*;
use mixedlm_design::Design;
use mixedlm_fixtures::synthetic::{design_with_x, random_codes, random_term, uniform};

/// Binary (or count) rows: `y ~ 1 + x + (1 + x | a)` (one factor, k = 2) or with a second
/// factor crossed with or nested around the first.
fn design(poisson: bool, second: Option<bool>) -> Design {
    let n = 400;
    let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 1)).collect();
    let a: Vec<u32> = (0..n).map(|i| (i / 8) as u32).collect();
    let eta: Vec<f64> = (0..n)
        .map(|i| {
            0.3 + 0.8 * x[i]
                + 1.2 * uniform(a[i] as usize, 3)
                + 0.5 * x[i] * uniform(a[i] as usize, 4)
        })
        .collect();
    let y = eta
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let u = uniform(i, 9) + 0.5;
            if poisson {
                // a small count from the mean by inversion of its first terms
                let m = e.exp();
                let (mut k, mut p, mut c) = (0.0, (-m).exp(), (-m).exp());
                while c < u && k < 30.0 {
                    k += 1.0;
                    p *= m / k;
                    c += p;
                }
                k
            } else if u < 1.0 / (1.0 + (-e).exp()) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let mut z = vec![1.0; n];
    z.extend_from_slice(&x);
    let mut random = vec![random_term("a", 50, a.clone(), z, &["(Intercept)", "x"])];
    match second {
        Some(true) => random.push(random_term(
            "b",
            10,
            a.iter().map(|g| g / 5).collect(),
            vec![1.0; n],
            &["(Intercept)"],
        )),
        Some(false) => random.push(random_term(
            "b",
            12,
            random_codes(n, 5, 12),
            vec![1.0; n],
            &["(Intercept)"],
        )),
        None => {}
    }
    design_with_x(y, &x, random, None)
}

fn model(d: &Design, poisson: bool, system: SystemChoice) -> GlmmModel {
    let family: Box<dyn Family> = if poisson {
        Box::new(Poisson)
    } else {
        Box::new(Binomial)
    };
    let link = family.default_link();
    GlmmModel::new(d.clone(), family, link, system).unwrap()
}

fn close(what: &str, a: f64, b: f64, tol: f64) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

#[test]
fn every_path_gives_the_dense_oracles_criteria() {
    for poisson in [false, true] {
        for second in [None, Some(true), Some(false)] {
            let d = design(poisson, second);
            let mut dense = model(&d, poisson, SystemChoice::Dense);
            let mut paths = vec![("auto", model(&d, poisson, SystemChoice::Auto))];
            if second.is_some() {
                paths.push(("sparse", model(&d, poisson, SystemChoice::EngineSparse)));
            }
            let nt = dense.n_theta();
            let thetas: Vec<Vec<f64>> = vec![
                vec![0.9; nt],
                (0..nt).map(|i| 0.4 + 0.1 * i as f64).collect(),
            ];
            for theta in &thetas {
                let b_fast = dense.fast_deviance(theta);
                let beta = dense.state().1.to_vec();
                for (path, fast) in paths.iter_mut() {
                    let what = format!("{path} poisson {poisson} second {second:?} θ {theta:?}");
                    close(
                        &format!("fast {what}"),
                        fast.fast_deviance(theta),
                        b_fast,
                        1e-10,
                    );
                    for shift in [0.0, 0.05] {
                        let beta: Vec<f64> = beta.iter().map(|v| v + shift).collect();
                        let (a, b) = (
                            fast.laplace_deviance(theta, &beta),
                            dense.laplace_deviance(theta, &beta),
                        );
                        close(&format!("laplace {what}"), a, b, 1e-10);
                    }
                }
            }
        }
    }
}

/// The engine adapter takes the path asked for: nested for a nested second factor,
/// sparse when forced on a crossed one, dense otherwise.
#[test]
fn the_engine_adapter_takes_each_path() {
    let nested = engine::EngineSystem::new(&data(&design(false, Some(true)))).unwrap();
    assert!(nested.uses_nested());
    let crossed = design(false, Some(false));
    let dense = engine::EngineSystem::new(&data(&crossed)).unwrap();
    assert!(!dense.uses_sparse() && !dense.uses_nested());
    let sparse = engine::EngineSystem::forced_sparse(&data(&crossed)).unwrap();
    assert!(sparse.uses_sparse());
}

fn data(d: &Design) -> ModelData {
    ModelData {
        design: d.clone(),
        re: random::RandomEffects::new(d),
    }
}

#[test]
fn the_level_path_and_the_global_pirls_agree_on_quadrature() {
    let n = 300;
    let x: Vec<f64> = (0..n).map(|i| uniform(i, 1)).collect();
    let a: Vec<u32> = (0..n).map(|i| (i / 6) as u32).collect();
    let y = (0..n)
        .map(|i| {
            f64::from(u8::from(
                uniform(i, 7) + 0.5 < 0.4 + 0.3 * uniform(a[i] as usize, 2),
            ))
        })
        .collect();
    let d = design_with_x(
        y,
        &x,
        vec![random_term("a", 50, a, vec![1.0; n], &["(Intercept)"])],
        None,
    );
    let mut fast = model(&d, false, SystemChoice::Auto);
    let mut dense = model(&d, false, SystemChoice::Dense);
    let rule = GaussHermite::new(9).unwrap();
    for theta in [0.3, 1.1] {
        let beta = [-0.2, 0.5];
        let (a, b) = (
            fast.agq_deviance(&[theta], &beta, &rule),
            dense.agq_deviance(&[theta], &beta, &rule),
        );
        close("agq", a, b, 1e-10);
    }
}

/// The analytic gradient of the Laplace criterion (one factor, canonical links) equals
/// central differences of the criterion.
#[test]
fn the_laplace_gradient_matches_finite_differences() {
    for poisson in [false, true] {
        let d = design(poisson, None);
        let mut m = model(&d, poisson, SystemChoice::Auto);
        assert!(m.has_laplace_gradient());
        let theta = [0.8, -0.2, 0.5];
        let beta = [0.2, 0.7];
        let mut g = vec![0.0; 5];
        assert!(m.laplace_gradient(&theta, &beta, &mut g));
        let f = |m: &mut GlmmModel, x: &[f64]| m.laplace_deviance(&x[..3], &x[3..]);
        let x0: Vec<f64> = theta.iter().chain(&beta).copied().collect();
        for i in 0..5 {
            let h = 1e-5;
            let (mut xp, mut xm) = (x0.clone(), x0.clone());
            xp[i] += h;
            xm[i] -= h;
            let fd = (f(&mut m, &xp) - f(&mut m, &xm)) / (2.0 * h);
            assert!(
                (g[i] - fd).abs() < 1e-5 * fd.abs().max(1.0),
                "poisson {poisson} component {i}: {} vs {fd}",
                g[i]
            );
        }
    }
}
