//! mixedlm-formula: the formula grammar (pest) for Wilkinson notation plus lme4's
//! random-effects terms, a typed AST, and its expansion into terms.
//!
//! This crate knows nothing of Arrow, faer or models: it turns text into [`ModelFormula`].

mod terms;
pub use terms::*;
