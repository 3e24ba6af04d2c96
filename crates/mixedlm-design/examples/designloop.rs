//! Repeated design builds of one data file, for profiling and before/after timings of the
//! design phase alone: `cargo run --release -p mixedlm-design --example designloop -- DATA
//! FORMULA [REPS]`. Prints the minimum and median over REPS of `DesignBuilder::build`.

use mixedlm_design::{read_table, DesignBuilder};
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (data, formula) = (&args[1], &args[2]);
    let reps: usize = args.get(3).map_or(20, |s| s.parse().expect("REPS"));
    let batch = read_table(Path::new(data), None).expect("read");
    let builder = DesignBuilder::new(&mixedlm_formula::parse_formula(formula).expect("formula"));
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            let built = builder.build(&batch).expect("design");
            let t = t0.elapsed().as_secs_f64();
            drop(built);
            t
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "design min {:.4} ms | median {:.4} ms",
        times[0] * 1e3,
        times[reps / 2] * 1e3
    );
}
