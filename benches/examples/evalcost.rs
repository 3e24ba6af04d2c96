//! Cost of one objective evaluation and one gradient at the fitted θ, for profiling:
//! `cargo run --release -p mixedlm-benches --example evalcost -- DATA FORMULA [REPS] [ml|reml]`.
//! Prints the minimum over REPS of an objective at a fresh θ and of a gradient at that θ.

use mixedlm::model::{FitOptions, LinearMixedModel, ModelOptions};
use mixedlm::{read_table, ModelSpec};
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (data, formula) = (&args[1], &args[2]);
    let reps: usize = args.get(3).map_or(200, |s| s.parse().expect("REPS"));
    let reml = args.get(4).is_none_or(|s| s != "ml");
    let batch = read_table(Path::new(data), None).expect("read");
    let (design, _) = ModelSpec::new(formula).build(&batch).expect("design");
    let mut model = LinearMixedModel::from_design(design, ModelOptions { reml }).expect("model");
    let fit = model
        .fit(&FitOptions {
            record_log: std::env::var_os("EVALCOST_LOG").is_some(),
            start: std::env::var_os("EVALCOST_MOMENTS")
                .and_then(|_| model.theta_start_moments())
                .map(|(x, _)| x)
                .or_else(|| {
                    let s = std::env::var("EVALCOST_START").ok()?;
                    Some(
                        s.split(',')
                            .map(|v| v.parse().expect("EVALCOST_START"))
                            .collect(),
                    )
                }),
            ..FitOptions::default()
        })
        .expect("fit");
    for (i, (x, v)) in fit.optim.log.iter().enumerate() {
        println!("{i:3} {v:.10} {x:?}");
    }
    println!(
        "gradients {} iterations {} ({}) start {:?} -> {:?}",
        fit.optim.gradient_evaluations,
        fit.optim.iterations,
        fit.optim.termination,
        fit.optim.initial,
        fit.theta
    );
    let theta = fit.theta.clone();
    let mut grad = vec![0.0; theta.len()];
    if std::env::var_os("EVALCOST_LOG").is_some() {
        let (design, _) = ModelSpec::new(formula).build(&batch).expect("design");
        let mut dense =
            LinearMixedModel::from_design(design, ModelOptions { reml }).expect("model");
        dense.set_sparse(false);
        let mut gd = vec![0.0; theta.len()];
        model.gradient(&theta, &mut grad);
        dense.gradient(&theta, &mut gd);
        println!("gradient at the optimum {grad:?}, dense path {gd:?}");
    }
    let (mut best_obj, mut best_grad) = (f64::INFINITY, f64::INFINITY);
    for i in 0..reps {
        // move θ a little so that each objective call factors afresh
        let t: Vec<f64> = theta
            .iter()
            .map(|v| v * (1.0 + 1e-6 * (i % 7) as f64))
            .collect();
        let t0 = Instant::now();
        let v = model.objective(&t);
        let t1 = Instant::now();
        let ok = model.gradient(&t, &mut grad);
        let t2 = Instant::now();
        assert!(v.is_finite() && ok);
        best_obj = best_obj.min((t1 - t0).as_secs_f64());
        best_grad = best_grad.min((t2 - t1).as_secs_f64());
    }
    println!(
        "objective {:.1} µs | gradient after it {:.1} µs | evals in fit {} | gradient path {}",
        best_obj * 1e6,
        best_grad * 1e6,
        fit.optim.evaluations,
        model.has_gradient()
    );
}
