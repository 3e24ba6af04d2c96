//! Whole fits through the facade (`lmer`): design, cross-products, optimizer,
//! estimates. Bundled data sets and the simulated sets (a) 100k rows,
//! 1k groups, random slopes and (d) students in classes in schools.

use criterion::{criterion_group, criterion_main, Criterion};
use mixedlm::lmer;
use mixedlm_benches::{formula, load, MODELS};
use mixedlm_tests::scenarios::scenario;
use std::hint::black_box;
use std::time::Duration;

fn bundled(c: &mut Criterion) {
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    for (name, _) in MODELS {
        let batch = load(name);
        if name == "insteval" {
            group.measurement_time(Duration::from_secs(30));
        }
        group.bench_function(name, |b| {
            b.iter(|| lmer(formula(name), black_box(&batch)).expect("fit"))
        });
    }
    group.finish();
}

fn simulated(c: &mut Criterion) {
    let mut group = c.benchmark_group("fit_simulated");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for name in ["sim_a_100k", "sim_d_nested"] {
        let data = scenario(name, 20_261_125).expect("scenario").generate();
        let batch = data.to_record_batch().expect("batch");
        group.bench_function(name, |b| {
            b.iter(|| lmer(&data.formula, black_box(&batch)).expect("fit"))
        });
    }
    group.finish();
}

criterion_group!(benches, bundled, simulated);
criterion_main!(benches);
