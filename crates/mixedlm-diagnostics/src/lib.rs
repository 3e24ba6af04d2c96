//! mixedlm-diagnostics: is the fitted linear mixed model trustworthy?
//!
//! This crate owns everything that looks at a fit after the engine is done:
//!
//! - [`residuals`]: conditional (`y − Xβ̂ − Zb̂`), marginal (`y − Xβ̂`) and Pearson residuals,
//!   fitted values both ways, per-group summaries;
//! - [`qq`]: normal Q-Q coordinates with R's `ppoints` rule and a `qqline` reference line;
//! - [`normality`]: Shapiro-Wilk (Royston's AS R94, as R's `shapiro.test`) for 3 ≤ n ≤ 5000 and
//!   Anderson-Darling (as `nortest::ad.test`) beyond;
//! - [`convergence`]: lme4-style `checkConv` on the profiled objective (finite-difference gradient,
//!   scaled gradient, Hessian eigenvalues, boundary/singular parameters, exhausted evaluations);
//! - [`design_checks`]: group sizes, too few levels, badly scaled predictors, overparameterization;
//! - [`influence`]: Cook's distance per group from leave-one-group-out refits (in parallel);
//! - [`plots`]: Q-Q, residuals vs fitted, scale-location and caterpillar plots as SVG/PNG, with a
//!   font shipped in the repository so no system font library is needed;
//! - [`report`]: the serializable [`Diagnostics`] report the CLI prints as JSON.
//!
//! Every finding is a [`Message`] with a kind, a text and concrete advice. The building blocks
//! take plain slices and small structs; thin adapters in [`fit`] read an engine fit.
//! Depends on mixedlm-model (and through it mixedlm-design), faer, statrs, rayon, plotters.

#![warn(missing_docs)]

pub mod convergence;
mod convergence_messages;
pub mod design_checks;
mod error;
pub mod fit;
pub mod influence;
mod message;
pub mod normality;
pub mod plots;
pub mod qq;
pub mod report;
pub mod residuals;

pub use convergence::{check_convergence, ConvergenceCheck, ConvergenceInput};
pub use error::DiagError;
pub use message::{Message, MessageKind, Severity};
pub use normality::{normality_test, NormalityTest};
pub use plots::{write_plots, PlotFormat, PlotInput};
pub use report::{Diagnostics, InfluenceSummary};
