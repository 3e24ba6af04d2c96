//! Which PWLS system evaluates a model.

use super::data::ModelData;
use super::dense::DenseSystem;
use super::engine::EngineSystem;
use super::error::GlmmError;
use super::grouped::GroupedSystem;
use super::system::PwlsSystem;
use std::sync::Arc;

/// Which PWLS system evaluates the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SystemChoice {
    /// The structured system the model allows (per-level blocks for one grouping factor,
    /// else the engine's blocked factorization).
    #[default]
    Auto,
    /// The dense system (any model; the test oracle).
    Dense,
    /// The engine's blocked factorization on its sparse path whenever the structure
    /// allows it, whatever its size (tests and benchmarks comparing the paths).
    EngineSparse,
}

/// The PWLS system for a model: per-level blocks for one grouping factor, else the
/// engine's blocked factorization.
pub(crate) fn choose_system(
    data: &Arc<ModelData>,
    choice: SystemChoice,
) -> Result<Box<dyn PwlsSystem>, GlmmError> {
    Ok(match choice {
        SystemChoice::Dense => Box::new(DenseSystem::new(data.clone())),
        SystemChoice::Auto if data.re.terms.len() == 1 => {
            Box::new(GroupedSystem::new(data.clone()))
        }
        SystemChoice::Auto => Box::new(EngineSystem::new(data)?),
        SystemChoice::EngineSparse => Box::new(EngineSystem::forced_sparse(data)?),
    })
}
