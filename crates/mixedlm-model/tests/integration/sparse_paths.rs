//! The sparse path against the dense path: estimates read from the supernodal factor.
use mixedlm_fixtures::synthetic::{design_with_x, random_codes, random_term, uniform};
use mixedlm_model::{FitOptions, LinearMixedModel, ModelOptions};

/// `y ~ 1 + x + (1 [+ x] | a) + (1 | b) + (1 | c)` on random crossed levels: a with a
/// slope when `k1 = 2`, b and c scalar (the sparse path's later terms).
fn model(k1: usize, n: usize, levels: [usize; 3]) -> LinearMixedModel {
    let code = |salt: u64, m: usize| random_codes(n, salt, m);
    let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 7)).collect();
    let (a, b, c) = (code(1, levels[0]), code(2, levels[1]), code(3, levels[2]));
    let y: Vec<f64> = (0..n)
        .map(|i| {
            1.0 + 0.5 * x[i]
                + 0.8 * uniform(a[i] as usize, 11)
                + 0.6 * uniform(b[i] as usize, 12)
                + 0.4 * uniform(c[i] as usize, 13)
                + uniform(i, 14)
        })
        .collect();
    let first = if k1 == 1 {
        random_term("a", levels[0], a, vec![1.0; n], &["(Intercept)"])
    } else {
        let mut z = vec![1.0; n];
        z.extend_from_slice(&x);
        random_term("a", levels[0], a, z, &["(Intercept)", "x"])
    };
    let random = vec![
        first,
        random_term("b", levels[1], b, vec![1.0; n], &["(Intercept)"]),
        random_term("c", levels[2], c, vec![1.0; n], &["(Intercept)"]),
    ];
    LinearMixedModel::new(
        &design_with_x(y, &x, random, None),
        ModelOptions { reml: true },
    )
    .unwrap()
}

fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-300_f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-10 * scale,
            "{what}[{i}]: sparse {g}, dense {w}"
        );
    }
}

/// β, σ, Var(β), the modes and the conditional covariances read from the sparse factor
/// equal the dense factor's, at several θ.
fn check(k1: usize, n: usize, levels: [usize; 3]) {
    let mut dense = model(k1, n, levels);
    dense.set_sparse(false);
    let mut sparse = model(k1, n, levels);
    assert!(sparse.set_sparse(true));
    let n_theta = sparse.n_theta();
    for scale in [0.3, 1.0, 2.5] {
        let theta: Vec<f64> = (0..n_theta)
            .map(|i| scale * (0.6 + 0.3 * uniform(i, 21)))
            .collect();
        let mut theta = theta;
        if k1 == 2 {
            theta[1] = 0.2 * scale; // the correlation part of T1
        }
        assert!(dense.evaluate(&theta) && sparse.evaluate(&theta));
        assert!(sparse.uses_sparse(), "read from the sparse factor");
        close("beta", &sparse.beta(), &dense.beta());
        close("sigma", &[sparse.sigma()], &[dense.sigma()]);
        let (vs, vd) = (sparse.vcov_beta(), dense.vcov_beta());
        let flat = |m: &faer::Mat<f64>| -> Vec<f64> {
            (0..m.ncols())
                .flat_map(|j| (0..m.nrows()).map(move |i| (i, j)))
                .map(|(i, j)| m[(i, j)])
                .collect()
        };
        close("vcov", &flat(&vs), &flat(&vd));
        for (j, (s, d)) in sparse
            .conditional_modes()
            .iter()
            .zip(dense.conditional_modes())
            .enumerate()
        {
            close(&format!("modes of term {j}"), s, &d);
        }
        for explicit in [false, true] {
            let d = dense.conditional_covariances_via(explicit);
            for (j, (s, d)) in sparse.conditional_covariances().iter().zip(&d).enumerate() {
                close(&format!("condcov of term {j}"), s, d);
            }
        }
    }
}

#[test]
fn scalar_first_term_estimates_match_the_dense_factor() {
    check(1, 3000, [300, 120, 40]);
}

#[test]
fn slope_first_term_estimates_match_the_dense_factor() {
    check(2, 3000, [250, 150, 30]);
}

#[test]
fn a_fit_on_the_sparse_path_reads_its_estimates_from_the_sparse_factor() {
    let mut dense = model(1, 4000, [400, 200, 50]);
    dense.set_sparse(false);
    let mut sparse = model(1, 4000, [400, 200, 50]);
    assert!(sparse.set_sparse(true));
    let opts = FitOptions::default();
    let (fd, fs) = (dense.fit(&opts).unwrap(), sparse.fit(&opts).unwrap());
    assert!(sparse.uses_sparse());
    assert!((fd.objective - fs.objective).abs() < 1e-8 * fd.objective.abs());
    // θ agrees to the optimizer's accuracy, so the estimates to about 1e-5
    for (a, b) in fs.fixef.iter().zip(&fd.fixef) {
        assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "β {a} vs {b}");
    }
    for (ts, td) in fs.random.iter().zip(&fd.random) {
        for (a, b) in ts.condsd.iter().flatten().zip(td.condsd.iter().flatten()) {
            assert!((a - b).abs() < 1e-4 * b.abs(), "cond. SD {a} vs {b}");
        }
    }
}
