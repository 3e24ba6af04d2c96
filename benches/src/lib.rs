//! Shared helpers for the criterion benchmarks of package `mixedlm-benches`:
//! locating the bundled and simulated data sets and building models from them.
//! Depends on the `mixedlm` facade only (and, for simulated data, on the
//! simulator in `mixedlm-tests`).
