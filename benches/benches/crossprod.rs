//! Forming the model: validating the design and the one pass over the rows
//! that builds the cross-products A = [Z X y]'[Z X y] and the factor's storage.

use criterion::{criterion_group, criterion_main, Criterion};
use mixedlm_benches::{design, formula, load, model, replicate};
use std::hint::black_box;

fn crossprod(c: &mut Criterion) {
    let mut group = c.benchmark_group("crossprod");
    group.sample_size(20);
    for name in ["sleepstudy", "mathachieve", "insteval"] {
        let d = design(formula(name), &load(name));
        group.bench_function(name, |b| b.iter(|| model(black_box(&d))));
        let d10 = replicate(&d, 10);
        group.bench_function(format!("{name}/x10"), |b| b.iter(|| model(black_box(&d10))));
    }
    group.finish();
}

criterion_group!(benches, crossprod);
criterion_main!(benches);
