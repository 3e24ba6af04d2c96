//! Cost of one objective evaluation against one gradient at the same θ (REML):
//! `cargo run --release -p mixedlm-benches --example gradtime -- DATA FORMULA θ1,θ2,..`.
//! Prints the mean over 2000 calls of each and the gradient.

use mixedlm::model::{LinearMixedModel, ModelOptions};
use mixedlm::{read_table, ModelSpec};
use std::path::Path;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batch = read_table(Path::new(&args[1]), None).unwrap();
    let (design, _) = ModelSpec::new(&args[2]).build(&batch).unwrap();
    let mut model = LinearMixedModel::new(&design, ModelOptions { reml: true }).unwrap();
    let theta: Vec<f64> = args[3].split(',').map(|v| v.parse().unwrap()).collect();
    let mut g = vec![0.0; theta.len()];
    let n = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        model.objective(&theta);
    }
    let te = t.elapsed().as_secs_f64() / n as f64;
    let t = std::time::Instant::now();
    for _ in 0..n {
        model.gradient(&theta, &mut g);
    }
    let tg = t.elapsed().as_secs_f64() / n as f64;
    println!(
        "objective {:.2} us, gradient (factor current) {:.2} us, g {:?}",
        te * 1e6,
        tg * 1e6,
        g
    );
}
