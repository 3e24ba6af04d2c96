//! One evaluation of the profiled REML criterion at a fixed θ, for bundled
//! models and for the same designs with every row repeated 10 times: the two
//! times should match, since an evaluation never touches the rows. InstEval also by
//! the sparse and the dense factorization of its later terms' block.

use criterion::{criterion_group, criterion_main, Criterion};
use mixedlm_benches::{design, formula, load, model, replicate};
use std::hint::black_box;

fn deviance(c: &mut Criterion) {
    let mut group = c.benchmark_group("deviance");
    for name in ["sleepstudy", "mathachieve", "insteval"] {
        let d = design(formula(name), &load(name));
        for (label, times) in [("x1", 1), ("x10", 10)] {
            let mut m = model(&replicate(&d, times));
            let theta: Vec<f64> = m.theta_start().iter().map(|t| 0.5 * t + 0.1).collect();
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| m.objective(black_box(&theta)))
            });
        }
    }
    group.finish();
}

/// InstEval's objective by the sparse path (default: AMD order, supernodal Cholesky of
/// the lecturer/department block) against the dense path (the block factored dense).
fn insteval_paths(c: &mut Criterion) {
    let mut group = c.benchmark_group("deviance_insteval_paths");
    group.sample_size(10);
    let d = design(formula("insteval"), &load("insteval"));
    for (label, sparse) in [("sparse", true), ("dense", false)] {
        let mut m = model(&d);
        m.set_sparse(sparse);
        let theta: Vec<f64> = m.theta_start().iter().map(|t| 0.5 * t + 0.1).collect();
        group.bench_function(label, |b| b.iter(|| m.objective(black_box(&theta))));
    }
    group.finish();
}

criterion_group!(benches, deviance, insteval_paths);
criterion_main!(benches);
