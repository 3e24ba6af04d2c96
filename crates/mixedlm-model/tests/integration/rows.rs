//! Rows in, cross-products out: non-finite data named, rows given back, a new response.
use mixedlm_design::Design;
use mixedlm_fixtures::synthetic::{design_with_x, random_term, uniform};
use mixedlm_model::{LinearMixedModel, ModelError, ModelOptions};

/// A NaN or ±∞ in y, X, term 1's z or a later term's z is reported with its column
/// and row, though only the cross-product pass reads clean data; with several, the
/// first in the order y, X, z.
#[test]
fn non_finite_data_is_named_after_the_cross_product_pass() {
    let n = 300;
    let x: Vec<f64> = (0..n).map(|i| uniform(i, 1)).collect();
    let design = || {
        let mut z = vec![1.0; n];
        z.extend_from_slice(&x);
        let g = (0..n).map(|i| (i % 30) as u32).collect();
        let g = random_term("g", 30, g, z, &["(Intercept)", "x"]);
        let h = (0..n).map(|i| (i % 7) as u32).collect();
        let h = random_term("h", 7, h, vec![1.0; n], &["(Intercept)"]);
        let y = (0..n).map(|i| x[i] + uniform(i, 2)).collect();
        design_with_x(y, &x, vec![g, h], None)
    };
    let opts = ModelOptions { reml: true };
    assert!(LinearMixedModel::from_design(design(), opts).is_ok());
    type Spoil<'a> = &'a dyn Fn(&mut Design);
    let cases: [(Spoil<'_>, &str, usize); 5] = [
        (&|d| d.y[17] = f64::NAN, "response", 17),
        (
            &|d| d.x.data[n + 250] = f64::INFINITY,
            "fixed-effects column 1",
            250,
        ),
        (
            &|d| d.random[0].z.data[n + 3] = f64::NEG_INFINITY,
            "`x` of `g`",
            3,
        ),
        (
            &|d| d.random[1].z.data[299] = f64::NAN,
            "`(Intercept)` of `h`",
            299,
        ),
        (
            &|d| {
                d.random[1].z.data[5] = f64::NAN;
                d.y[40] = f64::INFINITY;
            },
            "response",
            40,
        ),
    ];
    for (spoil, what, at) in cases {
        let mut d = design();
        spoil(&mut d);
        match LinearMixedModel::from_design(d, opts) {
            Err(ModelError::NonFinite { what: w, row }) => {
                assert!(w.contains(what), "{w} should name {what}");
                assert_eq!(row, at, "{what}");
            }
            other => panic!("{what}: expected NonFinite, got {:?}", other.err()),
        }
    }
}

/// `y ~ 1 + x + (1 | a) + (1 + x | b)`: two crossed terms (so the engine reorders them),
/// weights and offset optional.
fn design(weights: bool, offset: bool) -> Design {
    let n = 60;
    let x: Vec<f64> = (0..n).map(|i| ((i * 7) % 11) as f64 / 3.0).collect();
    let y = (0..n)
        .map(|i| 2.0 + x[i] + ((i * 13) % 5) as f64 - 0.3 * (i % 4) as f64)
        .collect();
    let mut z = vec![1.0; n];
    z.extend_from_slice(&x);
    let a = (0..n).map(|i| (i % 3) as u32).collect();
    let b = (0..n).map(|i| ((i / 2) % 6) as u32).collect();
    let random = vec![
        random_term("a", 3, a, vec![1.0; n], &["(Intercept)"]),
        random_term("b", 6, b, z, &["(Intercept)", "x"]),
    ];
    let mut d = design_with_x(y, &x, random, None);
    d.weights = weights.then(|| (0..n).map(|i| 0.5 + (i % 3) as f64).collect());
    d.offset = offset.then(|| (0..n).map(|i| 0.1 * (i % 5) as f64).collect());
    d
}

#[test]
fn moved_rows_are_given_back_and_set_response_matches_a_new_model() {
    let theta = [0.7, 0.2, 0.5, 0.9];
    for (w, o) in [(false, false), (true, false), (false, true), (true, true)] {
        let d = design(w, o);
        let mut a = LinearMixedModel::from_design(d.clone(), ModelOptions::default()).unwrap();
        assert_eq!(a.design(), &d, "weights {w} offset {o}");
        assert!(a.has_rows());
        let mut b = LinearMixedModel::new(&d, ModelOptions::default()).unwrap();
        assert_eq!(a.objective(&theta), b.objective(&theta));
        let mut other = d.clone();
        other
            .y
            .iter_mut()
            .enumerate()
            .for_each(|(i, y)| *y += (i % 7) as f64);
        a.set_response(&other.y).unwrap();
        assert_eq!(a.design(), &other);
        let fresh = LinearMixedModel::new(&other, ModelOptions::default())
            .unwrap()
            .objective(&theta);
        let got = a.objective(&theta);
        assert!(
            (got - fresh).abs() <= 1e-10 * fresh.abs(),
            "{got} vs {fresh}"
        );
        b.set_response(&other.y).unwrap();
        assert_eq!(b.objective(&theta), got);
    }
}
