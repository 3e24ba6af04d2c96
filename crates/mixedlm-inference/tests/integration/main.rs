//! The integration tests of `mixedlm-inference`, in one test binary: degrees of freedom,
//! fixed-effects tests, likelihood-ratio tests, prediction and profile intervals against
//! lme4, lmerTest and pbkrtest at the reference models.

mod common;

mod ddf;
mod fixed;
mod lrt;
mod predict;
mod profile;
