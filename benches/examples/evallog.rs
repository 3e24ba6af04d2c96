//! The optimizer's path on one model: every evaluation (θ, objective − final objective):
//! `cargo run --release -p mixedlm-benches --example evallog -- DATA FORMULA [ml|reml] [START] [--summary]`.
//! START is `default` (the fit's own choice), `lme4` (every T_j = I), `moments` (the
//! intercept variances' moment estimate) or a comma-separated θ.
//! `--summary` prints only the first line (evaluations, objective, θ).

use mixedlm::model::{FitOptions, LinearMixedModel, ModelOptions};
use mixedlm::{read_table, ModelSpec};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (data, formula) = (&args[1], &args[2]);
    let reml = args.get(3).is_none_or(|s| s != "ml");
    let start_arg = args.get(4).map_or("default", String::as_str);
    let summary = args.iter().any(|a| a == "--summary");
    let batch = read_table(Path::new(data), None).expect("read");
    let (design, _) = ModelSpec::new(formula).build(&batch).expect("design");
    let mut model = LinearMixedModel::new(&design, ModelOptions { reml }).expect("model");
    let start = match start_arg {
        "default" => None,
        "lme4" => Some(model.theta_start()),
        "moments" => Some(model.theta_start_moments().expect("no moment start").0),
        list => Some(
            list.split(',')
                .map(|v| v.parse().expect("START: comma-separated numbers"))
                .collect(),
        ),
    };
    let opts = FitOptions {
        record_log: true,
        start,
        ..FitOptions::default()
    };
    let fit = model.fit(&opts).expect("fit");
    println!(
        "evals {} objective {:.10} theta {:?} optimizer {}",
        fit.optim.evaluations,
        fit.objective,
        fit.theta,
        fit.optim.optimizer.as_str()
    );
    if summary {
        return;
    }
    let mut best = f64::INFINITY;
    for (i, (x, f)) in fit.optim.log.iter().enumerate() {
        best = best.min(*f);
        println!(
            "{i:4} {:+.3e} best {:+.3e} {x:?}",
            f - fit.objective,
            best - fit.objective
        );
    }
}
