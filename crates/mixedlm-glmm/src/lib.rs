//! mixedlm-glmm: generalized linear mixed models (binomial and Poisson responses) as
//! lme4's `glmer` defines them: the Laplace approximation (nAGQ = 1) by penalized
//! iteratively reweighted least squares, the fast nAGQ = 0 criterion as the first stage,
//! and adaptive Gauss-Hermite quadrature (nAGQ up to 25) for one scalar random-effects
//! term.
//!
//! A layer on top of the LMM engine (`mixedlm-model`): PIRLS asks the engine only for
//! its penalized weighted least-squares interface (`LinearMixedModel::for_pwls`,
//! `reweight`, `evaluate`, the modes and the log-determinant), or, for one grouping
//! factor, solves the level blocks itself with the engine's `level_blocks` kernels.
//!
//! The map:
//! - [`family`] and [`link`]: the response distribution and the link, behind traits a later
//!   family implements without touching the engine;
//! - [`response`]: μ, working weights and residuals, deviance and log-likelihood for one η;
//! - [`random`]: the random-effects terms in lme4's order, b = Λ(θ) u and Z b;
//! - [`system`]: the penalized weighted least-squares system one PIRLS step solves, the
//!   only thing estimation asks of the linear algebra, with its implementations
//!   ([`dense`], [`grouped`], [`engine`]);
//! - [`pirls`]: PIRLS with step halving; [`model`]: the criteria (fast, Laplace,
//!   quadrature) at a point; [`quadrature`]: Gauss-Hermite rules;
//! - [`fit`]: the two optimization stages and the finite-difference derivatives
//!   ([`derivs`]); [`results`]: the fit as plain data.
#![warn(missing_docs)]

pub mod checks;
mod choose;
mod data;
pub mod dense;
pub mod derivs;
pub mod engine;
mod error;
pub mod family;
pub mod fit;
pub mod grouped;
pub mod link;
pub mod model;
mod onefactor;
mod options;
pub mod pirls;
pub mod pirls_failure;
pub mod quadrature;
pub mod random;
pub mod response;
pub mod results;
pub mod simulate;
pub mod system;
#[cfg(test)]
mod tests;

pub use checks::{GlmmChecks, Overdispersion};
pub use choose::SystemChoice;
pub use data::ModelData;
pub use error::GlmmError;
pub use family::{family_by_name, Binomial, Family, Poisson, FAMILY_NAMES};
pub use link::{link_by_name, Cloglog, Link, Log, Logit, Probit, LINK_NAMES};
pub use model::GlmmModel;
pub use options::GlmmOptions;
pub use quadrature::{GaussHermite, MAX_NAGQ};
pub use results::{GlmmFit, VcovSource};
pub use system::{PwlsSystem, Unknowns};
