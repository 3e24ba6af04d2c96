//! The engine as a PWLS solver (`src/pwls.rs`): reweighting equals building with the
//! weights, û(β) at a fixed β minimizes the penalized sum of squares, bad input is a typed
//! error; on every path.

use mixedlm_design::Design;
use mixedlm_fixtures::synthetic::{design_with_x, random_codes, random_term, uniform};
use mixedlm_model::{LinearMixedModel, ModelOptions};

/// `y ~ 1 + x + (1 + x | a) + (1 | b)` with a nested in b (`nested`) or crossed.
fn design(nested: bool) -> Design {
    let n = 600;
    let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 1)).collect();
    let a: Vec<u32> = (0..n).map(|i| (i / 10) as u32).collect();
    let b: Vec<u32> = if nested {
        a.iter().map(|&g| g / 6).collect()
    } else {
        random_codes(n, 2, 12)
    };
    let y = (0..n)
        .map(|i| 1.0 + x[i] + 0.7 * uniform(a[i] as usize, 3) + uniform(i, 4))
        .collect();
    let mut z = vec![1.0; n];
    z.extend_from_slice(&x);
    let levels_b = if nested { 10 } else { 12 };
    let random = vec![
        random_term("a", 60, a, z, &["(Intercept)", "x"]),
        random_term("b", levels_b, b, vec![1.0; n], &["(Intercept)"]),
    ];
    design_with_x(y, &x, random, None)
}

/// A model per path: dense (crossed, forced dense), nested, sparse (crossed, forced).
fn models(d: &Design) -> Vec<(&'static str, LinearMixedModel)> {
    let build = || LinearMixedModel::new(d, ModelOptions::default()).unwrap();
    let mut out = Vec::new();
    let mut m = build();
    m.set_sparse(false);
    out.push(("dense", m));
    let m = build();
    if m.uses_nested() {
        out.push(("nested", m));
    }
    let mut m = build();
    if !m.uses_nested() && m.set_sparse(true) {
        out.push(("sparse", m));
    }
    out
}

fn close(what: &str, a: &[f64], b: &[f64], rel: f64) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= rel * scale, "{what}: {a:?} vs {b:?}");
    }
}

/// Reweighting a model of the same rows gives the numbers of the model built with the
/// weights, response and offset, on every path.
#[test]
fn reweighting_gives_the_model_built_with_the_weights() {
    for nested in [false, true] {
        let plain = design(nested);
        let n = plain.y.len();
        let mut weighted = plain.clone();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + uniform(i, 5) + 0.5).collect();
        let o: Vec<f64> = (0..n).map(|i| 0.3 * uniform(i, 6)).collect();
        let z: Vec<f64> = plain.y.iter().map(|v| 2.0 * v - 1.0).collect();
        weighted.weights = Some(w.clone());
        weighted.offset = Some(o.clone());
        weighted.y = z.clone();
        let wanted = models(&weighted);
        let mut got = models(&plain);
        let paths: Vec<&str> = got.iter().map(|(p, _)| *p).collect();
        let other = if nested { "nested" } else { "sparse" };
        assert_eq!(paths, ["dense", other]);
        assert_eq!(wanted.len(), got.len());
        let thetas = [vec![0.8, 0.1, 0.4, 0.6], vec![0.3, -0.2, 0.9, 1.4]];
        for ((path, want), (_, model)) in wanted.into_iter().zip(got.iter_mut()) {
            let mut want = want;
            model.reweight(&w, &z, Some(&o)).unwrap();
            assert_eq!(model.design(), want.design(), "{path}");
            for theta in &thetas {
                let (a, b) = (model.objective(theta), want.objective(theta));
                assert!((a - b).abs() <= 1e-12 * b.abs(), "{path}: {a} vs {b}");
                close(path, &model.beta(), &want.beta(), 1e-12);
                close(
                    path,
                    &model.spherical_modes(),
                    &want.spherical_modes(),
                    1e-11,
                );
                close(
                    path,
                    &[model.logdet_z(), model.pwrss()],
                    &[want.logdet_z(), want.pwrss()],
                    1e-12,
                );
            }
        }
    }
}

/// PWRSS(u, β) = ‖W^½(y − o − Xβ − ZΛu)‖² + ‖u‖² from the rows.
fn direct_pwrss(m: &LinearMixedModel, u: &[f64], beta: &[f64]) -> f64 {
    let d = m.design();
    let effects = m.modes_to_effects(u);
    let n = d.y.len();
    let mut s = u.iter().map(|v| v * v).sum::<f64>();
    for i in 0..n {
        let mut f = d.offset.as_ref().map_or(0.0, |o| o[i]);
        f += (0..beta.len())
            .map(|c| d.x.get(i, c) * beta[c])
            .sum::<f64>();
        for (term, b) in m.terms().iter().zip(&effects) {
            let rt = &d.random[term.formula_index];
            let g = rt.codes[i] as usize;
            f += (0..term.k)
                .map(|a| rt.z.get(i, a) * b[g * term.k + a])
                .sum::<f64>();
        }
        let w = d.weights.as_ref().map_or(1.0, |w| w[i]);
        s += w * (d.y[i] - f).powi(2);
    }
    s
}

/// û(β) with β held fixed minimizes the penalized sum of squares over u, at β̂ it is
/// the joint solution, and PWRSS(û(β), β) is `pwrss_at(β)`: on every path.
#[test]
fn modes_at_a_fixed_beta_minimize_the_penalized_sum_of_squares() {
    for nested in [false, true] {
        let mut d = design(nested);
        let n = d.y.len();
        d.weights = Some((0..n).map(|i| 1.0 + uniform(i, 7)).collect());
        d.offset = Some((0..n).map(|i| 0.2 * uniform(i, 8)).collect());
        for (path, mut m) in models(&d) {
            assert!(m.evaluate(&[0.9, 0.2, 0.5, 0.7]));
            let beta_hat = m.beta();
            close(
                path,
                &m.spherical_modes_at(&beta_hat),
                &m.spherical_modes(),
                1e-9,
            );
            let at_hat = m.pwrss_at(&beta_hat);
            assert!((at_hat - m.pwrss()).abs() <= 1e-10 * m.pwrss(), "{path}");
            let beta = [beta_hat[0] + 0.3, beta_hat[1] - 0.2];
            let u = m.spherical_modes_at(&beta);
            let best = direct_pwrss(&m, &u, &beta);
            let want = m.pwrss_at(&beta);
            assert!(
                (best - want).abs() <= 1e-9 * want,
                "{path}: {best} vs {want}"
            );
            assert!(want > m.pwrss(), "{path}");
            for j in [0, 7, u.len() - 1] {
                let mut moved = u.clone();
                moved[j] += 1e-3;
                assert!(direct_pwrss(&m, &moved, &beta) > best, "{path}: u[{j}]");
            }
        }
    }
}

#[test]
fn invalid_reweighting_is_a_typed_error() {
    let d = design(false);
    let mut m = LinearMixedModel::new(&d, ModelOptions::default()).unwrap();
    let n = d.y.len();
    let (w, y) = (vec![1.0; n], d.y.clone());
    let mut bad = w.clone();
    bad[3] = 0.0;
    assert!(m.reweight(&bad, &y, None).is_err());
    assert!(m.reweight(&w[1..], &y, None).is_err());
    let mut nan = y.clone();
    nan[5] = f64::NAN;
    assert!(m.reweight(&w, &nan, None).is_err());
    assert!(m.reweight(&w, &y, None).is_ok());
    assert!(m.spherical_modes_at(&[1.0]).iter().all(|v| v.is_nan()));
}
