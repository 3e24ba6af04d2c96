//! [`EngineSystem`]: the PWLS system on the LMM engine's blocked factorization (term 1's
//! level blocks, then the dense, nested or sparse rest), for models with more than one
//! grouping factor, through the engine's PWLS interface (`mixedlm_model::LinearMixedModel::for_pwls` and its companions).
//!
//! Two engine models of the same rows: one with X for the joint solve of (u, β), one
//! without X for u alone (β fixed, Xβ already removed from the working response), so that
//! a nearly singular X'WX (separation) does not stop the modes' solve. Each
//! [`PwlsSystem::assemble`] reweights one of them. The sparse path is taken from
//! [`SPARSE_FROM`] Z columns of the later terms when it halves the flops.

use super::data::ModelData;
use super::system::{PwlsSystem, Unknowns};
use faer::Mat;
use mixedlm_design::{DenseMatrix, Design};
use mixedlm_model::{LinearMixedModel, ModelError};

/// Z columns of the later terms from which the sparse path is considered.
pub(crate) const SPARSE_FROM: usize = 64;

/// The PWLS system on the engine.
#[derive(Debug)]
pub struct EngineSystem {
    unknowns: Unknowns,
    /// u alone (no X columns).
    modes: LinearMixedModel,
    /// u and β jointly.
    joint: LinearMixedModel,
    /// Whether the last reweighting was refused (non-finite working values).
    failed: bool,
}

impl EngineSystem {
    /// A system for the model's data, its engine models built once (their structure and
    /// symbolic analyses are kept across reweightings).
    pub fn new(data: &ModelData) -> Result<Self, ModelError> {
        let mut design = data.design.clone();
        design.weights = None;
        design.offset = None;
        let no_x = without_x(&design);
        Ok(EngineSystem {
            unknowns: Unknowns::Modes,
            modes: LinearMixedModel::for_pwls(no_x, SPARSE_FROM)?,
            joint: LinearMixedModel::for_pwls(design, SPARSE_FROM)?,
            failed: false,
        })
    }

    /// [`Self::new`] on the sparse path whenever the structure allows it, whatever its
    /// size and fill (tests and benchmarks comparing the paths).
    pub fn forced_sparse(data: &ModelData) -> Result<Self, ModelError> {
        let mut system = Self::new(data)?;
        system.modes.set_sparse(true);
        system.joint.set_sparse(true);
        Ok(system)
    }

    /// Whether the engine models take the sparse path.
    pub fn uses_sparse(&self) -> bool {
        self.joint.uses_sparse()
    }

    /// Whether the engine models take the nested path.
    pub fn uses_nested(&self) -> bool {
        self.joint.uses_nested()
    }

    fn solver(&self) -> &LinearMixedModel {
        match self.unknowns {
            Unknowns::Modes => &self.modes,
            Unknowns::ModesAndFixed => &self.joint,
        }
    }
}

impl PwlsSystem for EngineSystem {
    fn assemble(&mut self, weights: &[f64], response: &[f64], unknowns: Unknowns) {
        self.unknowns = unknowns;
        // A zero working weight (a row with prior weight 0) is the smallest positive one:
        // the engine takes logs of the weights, and the row's contribution vanishes alike.
        let w: Vec<f64> = weights.iter().map(|w| w.max(f64::MIN_POSITIVE)).collect();
        let model = match unknowns {
            Unknowns::Modes => &mut self.modes,
            Unknowns::ModesAndFixed => &mut self.joint,
        };
        self.failed = model.reweight(&w, response, None).is_err();
    }

    fn factor(&mut self, theta: &[f64]) -> bool {
        if self.failed {
            return false;
        }
        match self.unknowns {
            Unknowns::Modes => self.modes.evaluate(theta),
            Unknowns::ModesAndFixed => self.joint.evaluate(theta),
        }
    }

    fn solve(&mut self, u: &mut [f64], beta: &mut [f64]) {
        let m = self.solver();
        u.copy_from_slice(&m.spherical_modes());
        if self.unknowns == Unknowns::ModesAndFixed {
            beta.copy_from_slice(&m.beta());
        }
    }

    fn logdet(&self) -> f64 {
        self.solver().logdet_z()
    }

    fn pwrss(&self) -> f64 {
        self.solver().pwrss()
    }

    fn unscaled_vcov_beta(&self) -> Option<Mat<f64>> {
        (self.unknowns == Unknowns::ModesAndFixed).then(|| self.joint.unscaled_vcov_beta())
    }

    fn conditional_covariances(&self) -> Vec<Vec<f64>> {
        let m = self.solver();
        // the engine scales by its σ̂² = r² / n
        let s2 = m.sigma().powi(2);
        let mut covs = m.conditional_covariances();
        covs.iter_mut()
            .flat_map(|c| c.iter_mut())
            .for_each(|v| *v /= s2);
        covs
    }
}

/// A design of the same rows with no fixed effects (for u alone).
fn without_x(design: &Design) -> Design {
    let mut d = design.clone();
    d.x = DenseMatrix {
        nrows: d.n_obs(),
        ncols: 0,
        data: Vec::new(),
    };
    d.x_names.clear();
    d
}
