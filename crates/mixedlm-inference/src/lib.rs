//! Inference beyond the point estimates: fixed-effects tests (Wald z, Satterthwaite,
//! Kenward-Roger), confidence intervals (Wald, profile likelihood, parametric bootstrap),
//! likelihood-ratio tests, prediction on new data, simulation and standard errors of the
//! variance components.
//!
//! Everything here works from public data: the [`Design`](mixedlm_design::Design) and the
//! covariance parameters θ. [`DenseLmm`] is a compact evaluator of the model in the
//! q-dimensional random-effects space (dense q×q algebra, O(q²) memory): it gives, at any
//! θ, the pieces of the profiled deviance, Var(β̂) and the BLUPs. It is meant for the small
//! and medium models inference needs (q up to a few thousand); the engine remains the
//! place for fitting large models.

mod bootstrap;
mod dense;
mod engine;
mod error;
mod fixed;
mod kenward_roger;
mod lrt;
mod numdiff;
mod optimize;
mod predict;
mod profile;
mod satterthwaite;
mod simulate;
mod varcomp;
mod varpar;

pub use bootstrap::{bootstrap, BootstrapOptions, BootstrapResult, DenseRefit, Refit};
pub use dense::{term_layouts, DenseLmm, TermLayout, ThetaPieces};
pub use engine::EngineRefit;
pub use error::InferenceError;
pub use fixed::{
    fixed_effect_tests, two_sided_p, wald_intervals, ConfidenceInterval, Ddf, FixedEffectTest,
};
pub use kenward_roger::{kenward_roger, KenwardRoger};
pub use lrt::{likelihood_ratio_tests, lrt_model_ml, LrtModel, LrtRow};
pub use predict::{predict, NewLevelPolicy, NewRows, NewTermRows, Prediction, PredictionInput};
pub use profile::{ml_deviance, profile_intervals, ProfileOptions};
pub use satterthwaite::{satterthwaite, Satterthwaite};
pub use simulate::simulate_responses;
pub use varcomp::{variance_component_se, VarianceComponentSe};
pub use varpar::{
    lme4_group_labels, parameter_names, sdcor_from_theta, theta_from_sdcor, EvalPieces,
};
