//! Repeated whole fits of one data file, for profiling and before/after timings:
//! `cargo run --release -p mixedlm-benches --example fitloop -- DATA FORMULA [REPS] [ml|reml] [OPTIMIZER]`.
//! Prints the minimum over REPS of each phase (design, model setup, optimizer, estimates)
//! and of the whole `fit_batch` (what the CLI reports as `timing.fit_seconds`). Setup is
//! `LinearMixedModel::from_design`, as in `fit_batch` (the design is moved, not copied).

use mixedlm::model::{FitOptions, LinearMixedModel, ModelOptions, OptimizerName};
use mixedlm::{read_table, MixedLM, ModelSpec};
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (data, formula) = (&args[1], &args[2]);
    let reps: usize = args.get(3).map_or(5, |s| s.parse().expect("REPS"));
    let reml = args.get(4).is_none_or(|s| s != "ml");
    let optimizer = args
        .get(5)
        .map_or(Ok(OptimizerName::Auto), |s| s.parse())
        .expect("OPTIMIZER: auto, bobyqa, bfgs, nelder-mead or powell");
    let method = optimizer.as_str();
    let batch = read_table(Path::new(data), None).expect("read");
    let spec = ModelSpec::new(formula);
    let mut best = [f64::INFINITY; 5];
    let (mut evals, mut objective) = (0, 0.0);
    for _ in 0..reps {
        let t0 = Instant::now();
        let (design, _) = spec.build(&batch).expect("design");
        let t1 = Instant::now();
        let mut model =
            LinearMixedModel::from_design(design, ModelOptions { reml }).expect("model");
        let t2 = Instant::now();
        let opts = FitOptions {
            optimizer,
            ..FitOptions::default()
        };
        let fit = model.fit(&opts).expect("fit");
        let t3 = Instant::now();
        let whole = MixedLM::from_formula(formula)
            .reml(reml)
            .method(method)
            .fit_batch(&batch);
        let t4 = Instant::now();
        drop(whole);
        let opt = fit.optim.seconds;
        let phases = [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            opt,
            (t3 - t2).as_secs_f64() - opt,
            (t4 - t3).as_secs_f64(),
        ];
        for (b, v) in best.iter_mut().zip(phases) {
            *b = b.min(v);
        }
        evals = fit.optim.evaluations;
        objective = fit.objective;
    }
    let ms = |v: f64| v * 1e3;
    println!(
        "design {:.4} ms | setup {:.4} ms | optimizer {:.4} ms ({evals} evals, {:.4} ms/eval) | estimates {:.4} ms | fit_batch {:.4} ms | objective {objective:.10}",
        ms(best[0]),
        ms(best[1]),
        ms(best[2]),
        ms(best[2]) / evals as f64,
        ms(best[3]),
        ms(best[4]),
    );
}
