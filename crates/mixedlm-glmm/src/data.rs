//! What every PWLS system reads of a GLMM.

use super::random::RandomEffects;
use mixedlm_design::Design;

/// What every PWLS system reads: the design (X, Z, codes) and the terms' layout.
#[derive(Debug)]
pub struct ModelData {
    /// The design (its response, weights and offset are read into [`GlmResponse`]).
    pub design: Design,
    /// The random-effects terms in lme4's order.
    pub re: RandomEffects,
}
