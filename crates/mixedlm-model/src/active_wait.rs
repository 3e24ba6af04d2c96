//! Running a large fit with rayon's other workers kept awake.
//!
//! A fit alternates short parallel sections (the cross-products, the sparse path's
//! assembly) with sequential ones (a factorization, the optimizer's step). Between two
//! parallel sections rayon's idle workers go to sleep, and on a virtual machine a sleeping
//! worker's CPU can take longer to wake than a short parallel section takes, so that the
//! section runs serially.
//!
//! [`run_awake`] runs a closure on one of rayon's workers while every other worker waits
//! for work by polling ([`rayon::yield_now`]) instead of sleeping, the policy OpenMP
//! runtimes call an active wait. The fit uses it for the optimizer's loop on the sparse
//! path only, where the evaluations' parallel sections (the assembly, faer's supernodal
//! factorization) pay; around a whole fit of a one-term model it made the short parallel
//! sections slower (benches/README.md, "Measurements behind the code").
//!
//! The cost is CPU time: while the closure runs, the other cores are busy even when they
//! have nothing to do. [`run_awake`] does nothing when called from inside a rayon pool
//! (the caller's parallelism, for example a `par_iter` over many models, already keeps
//! the workers busy), when the pool has one thread, or when the environment variable
//! [`WAIT_POLICY_VAR`] (`MIXEDLM_WAIT_POLICY`) is `passive`.

use std::sync::atomic::{AtomicBool, Ordering};

/// CPU pause hints between two polls of an idle worker (a few microseconds).
const POLL_PAUSES: usize = 64;

/// The environment variable that turns the active wait off: `passive` (as OpenMP's
/// `OMP_WAIT_POLICY`); any other value, or none, keeps it.
pub(crate) const WAIT_POLICY_VAR: &str = "MIXEDLM_WAIT_POLICY";

fn active_wait() -> bool {
    std::env::var(WAIT_POLICY_VAR).map_or(true, |v| !v.eq_ignore_ascii_case("passive"))
}

/// Run `f` on a worker of rayon's current pool with the other workers polling for work
/// until `f` returns (see the module notes). Returns `f`'s result; a panic in `f`
/// propagates.
pub(crate) fn run_awake<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let threads = rayon::current_num_threads();
    if threads < 2 || rayon::current_thread_index().is_some() || !active_wait() {
        return f();
    }
    let done = AtomicBool::new(false);
    rayon::scope(|s| {
        let home = rayon::current_thread_index();
        for _ in 1..threads {
            let done = &done;
            s.spawn(move |_| {
                // The worker running `f` can pick a poller up itself while it waits for
                // a stolen job: it must not poll, or `f` would never finish.
                if rayon::current_thread_index() == home {
                    return;
                }
                while !done.load(Ordering::Acquire) {
                    match rayon::yield_now() {
                        Some(rayon::Yield::Executed) => {}
                        _ => {
                            for _ in 0..POLL_PAUSES {
                                std::hint::spin_loop();
                            }
                        }
                    }
                }
            });
        }
        // Set `done` even if `f` panics, so that the pollers end and the panic reaches
        // the caller through the scope.
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let _done = Done(&done);
        f()
    })
}

#[cfg(test)]
mod tests {
    use super::run_awake;
    use rayon::prelude::*;

    #[test]
    fn returns_the_result_and_runs_parallel_work() {
        let sum: u64 = run_awake(|| (0..100_000u64).into_par_iter().sum());
        assert_eq!(sum, 100_000 * 99_999 / 2);
    }

    #[test]
    fn nested_calls_and_calls_from_a_worker_run_inline() {
        let v = run_awake(|| {
            let inner = run_awake(rayon::current_thread_index);
            (rayon::current_thread_index(), inner)
        });
        assert_eq!(v.0, v.1);
        let from_worker: Vec<usize> = (0..4)
            .into_par_iter()
            .map(|i| run_awake(move || i * 2))
            .collect();
        assert_eq!(from_worker, vec![0, 2, 4, 6]);
    }

    #[test]
    fn a_panic_reaches_the_caller_and_the_pool_stays_usable() {
        let r = std::panic::catch_unwind(|| run_awake(|| panic!("boom")));
        assert!(r.is_err());
        assert_eq!(run_awake(|| 7), 7);
    }

    /// The sparse path's factorization on a worker of rayon's pool (faer's parallel
    /// kernels, the other workers polling) gives the sequential one's objective.
    #[test]
    fn the_parallel_factorization_gives_the_sequential_objective() {
        use crate::{LinearMixedModel, ModelOptions};
        use mixedlm_fixtures::synthetic::{design_with_x, random_codes, random_term, uniform};
        let n = 6000;
        let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 7)).collect();
        let y = (0..n).map(|i| 1.0 + 0.5 * x[i] + uniform(i, 14)).collect();
        let random = [("a", 500), ("b", 400), ("c", 30)]
            .into_iter()
            .enumerate()
            .map(|(j, (name, levels))| {
                let codes = random_codes(n, j as u64 + 1, levels);
                random_term(name, levels, codes, vec![1.0; n], &["(Intercept)"])
            })
            .collect();
        let design = design_with_x(y, &x, random, None);
        let mut m = LinearMixedModel::new(&design, ModelOptions::default()).unwrap();
        assert!(m.set_sparse(true));
        let theta = [0.8, 0.5, 0.3];
        let seq = m.objective(&theta);
        let par = run_awake(|| m.objective(&theta));
        assert!(seq.is_finite());
        assert!((seq - par).abs() <= 1e-12 * seq.abs(), "{seq} vs {par}");
    }
}
