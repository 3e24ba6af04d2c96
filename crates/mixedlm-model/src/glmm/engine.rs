//! [`EngineSystem`]: the PWLS system on the LMM engine's blocked factorization (term 1's
//! level blocks, then the dense or nested "rest"; see `crate::eval`), for models with more
//! than one grouping factor.
//!
//! An adapter onto today's engine, which forms its cross-products once from fixed rows:
//! each [`PwlsSystem::assemble`] builds the √W-scaled rows and re-forms the engine's
//! cross-products (its pattern analysis included), and the factor's workspaces are kept;
//! the sparse supernodal path, which copies C's values at its symbolic analysis, reads
//! them again (`SparseRest::refresh_values`). u alone (β fixed) is the engine's model
//! with no X columns. The sparse path is taken from [`SPARSE_FROM`] Z columns of the later
//! terms when it needs at most half the dense flops (the LMM waits for 256 columns: a GLMM
//! factors several times per evaluation).

use super::system::{PwlsSystem, Unknowns};
use super::ModelData;
use crate::crossprod::{CrossProducts, Rows};
use crate::eval::Factor;
use crate::sparse::{SparseRest, SPARSE_MAX_FLOP_RATIO};
use crate::terms::{kind, Term};
use crate::LinearMixedModel;
use faer::Mat;
use mixedlm_covariance::structure_for;
use mixedlm_design::{DenseMatrix, Design};
use std::sync::Arc;

/// Z columns of the later terms from which the sparse path is considered.
const SPARSE_FROM: usize = 64;

/// The engine's model for one kind of solve, built at its first use.
#[derive(Debug)]
struct Solver {
    lmm: LinearMixedModel,
}

/// The PWLS system on the engine.
#[derive(Debug)]
pub struct EngineSystem {
    data: Arc<ModelData>,
    unknowns: Unknowns,
    rows: Rows,
    modes: Option<Solver>,
    joint: Option<Solver>,
}

impl EngineSystem {
    /// A system for the model's data.
    pub fn new(data: Arc<ModelData>) -> Self {
        let design = &data.design;
        let codes = data
            .re
            .terms
            .iter()
            .map(|t| design.random[t.formula_index].codes.clone())
            .collect();
        let rows = Rows {
            n: design.n_obs(),
            codes,
            z: Vec::new(),
            x: Vec::new(),
            p: 0,
            y: Vec::new(),
        };
        EngineSystem {
            data,
            unknowns: Unknowns::Modes,
            rows,
            modes: None,
            joint: None,
        }
    }

    fn solver(&self) -> Option<&LinearMixedModel> {
        match self.unknowns {
            Unknowns::Modes => self.modes.as_ref().map(|s| &s.lmm),
            Unknowns::ModesAndFixed => self.joint.as_ref().map(|s| &s.lmm),
        }
    }

    fn solver_mut(&mut self) -> Option<&mut LinearMixedModel> {
        match self.unknowns {
            Unknowns::Modes => self.modes.as_mut().map(|s| &mut s.lmm),
            Unknowns::ModesAndFixed => self.joint.as_mut().map(|s| &mut s.lmm),
        }
    }
}

/// The engine's terms for the model's random effects (lme4's order; no checks on the
/// numbers of levels, which `GlmmModel::new` made as lme4's `glFormula` does).
fn engine_terms(data: &ModelData) -> Vec<Term> {
    let mut r_offset = 0;
    data.re
        .terms
        .iter()
        .enumerate()
        .map(|(pos, t)| {
            let rt = &data.design.random[t.formula_index];
            let term = Term {
                formula_index: t.formula_index,
                group: t.group.clone(),
                levels: t.levels.clone(),
                names: t.names.clone(),
                k: t.k,
                structure: structure_for(kind(rt.covariance), t.k),
                theta_offset: t.theta_offset,
                r_offset: if pos == 0 { 0 } else { r_offset },
            };
            if pos > 0 {
                r_offset += t.len();
            }
            term
        })
        .collect()
}

/// A design with no rows: the engine's model only reads its cross-products and factor.
fn empty_design() -> Design {
    Design {
        response: String::new(),
        y: Vec::new(),
        x: DenseMatrix::default(),
        x_names: Vec::new(),
        aliased: Vec::new(),
        random: Vec::new(),
        weights: None,
        offset: None,
        n_dropped: 0,
        row_index: Vec::new(),
    }
}

impl PwlsSystem for EngineSystem {
    fn assemble(&mut self, weights: &[f64], response: &[f64], unknowns: Unknowns) {
        self.unknowns = unknowns;
        let design = &self.data.design;
        let n = design.n_obs();
        let sw: Vec<f64> = weights.iter().map(|w| w.max(0.0).sqrt()).collect();
        let scale = |col: &[f64]| -> Vec<f64> {
            col.chunks_exact(n)
                .flat_map(|c| c.iter().zip(&sw).map(|(v, s)| v * s))
                .collect()
        };
        self.rows.z = self
            .data
            .re
            .terms
            .iter()
            .map(|t| scale(&design.random[t.formula_index].z.data))
            .collect();
        let joint = unknowns == Unknowns::ModesAndFixed;
        self.rows.p = if joint { design.x.ncols } else { 0 };
        self.rows.x = if joint {
            scale(&design.x.data)
        } else {
            Vec::new()
        };
        self.rows.y = response.iter().zip(&sw).map(|(r, s)| r * s).collect();
        let terms = engine_terms(&self.data);
        let cp = CrossProducts::new(&self.rows, &terms);
        let slot = if joint {
            &mut self.joint
        } else {
            &mut self.modes
        };
        match slot {
            Some(s) => {
                if let Some(sparse) = s.lmm.factor.sparse.as_mut() {
                    sparse.refresh_values(&cp);
                }
                s.lmm.cp = cp;
                s.lmm.factor.ok = false;
            }
            None => {
                let mut factor = Factor::new(&cp, &terms);
                if factor.nested.is_none() && factor.sparse.is_none() {
                    factor.sparse =
                        SparseRest::build(&cp, &terms, SPARSE_FROM, SPARSE_MAX_FLOP_RATIO);
                }
                let theta = self.data.re.theta_start();
                let lmm = LinearMixedModel {
                    design: empty_design(),
                    terms,
                    rows: Rows {
                        n,
                        codes: Vec::new(),
                        z: Vec::new(),
                        x: Vec::new(),
                        p: self.rows.p,
                        y: Vec::new(),
                    },
                    cp,
                    factor,
                    reml: false,
                    sum_log_w: 0.0,
                    theta,
                    level_counts: None,
                };
                *slot = Some(Solver { lmm });
            }
        }
    }

    fn factor(&mut self, theta: &[f64]) -> bool {
        self.solver_mut().is_some_and(|m| m.evaluate(theta))
    }

    fn solve(&mut self, u: &mut [f64], beta: &mut [f64]) {
        let Some(m) = self.solver() else {
            return;
        };
        u.copy_from_slice(&m.spherical_modes());
        if self.unknowns == Unknowns::ModesAndFixed {
            beta.copy_from_slice(&m.beta());
        }
    }

    fn logdet(&self) -> f64 {
        self.solver().map_or(f64::NAN, |m| m.logdet_z())
    }

    fn pwrss(&self) -> f64 {
        self.solver().map_or(f64::NAN, |m| m.pwrss())
    }

    fn unscaled_vcov_beta(&self) -> Option<Mat<f64>> {
        if self.unknowns != Unknowns::ModesAndFixed {
            return None;
        }
        self.solver().map(|m| m.unscaled_vcov_beta())
    }

    fn conditional_covariances(&self) -> Vec<Vec<f64>> {
        let Some(m) = self.solver() else {
            return Vec::new();
        };
        // the engine scales by its σ̂² = r² / n
        let s2 = m.sigma().powi(2);
        let mut covs = m.conditional_covariances();
        covs.iter_mut()
            .flat_map(|c| c.iter_mut())
            .for_each(|v| *v /= s2);
        covs
    }
}
