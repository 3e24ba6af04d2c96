//! The random effects of a GLMM as the estimation sees them: terms in lme4's order (θ is
//! lme4's θ), the spherical effects u laid out term by term and level by level (k per
//! level), b = Λ(θ) u, and the per-row contribution Z b to the linear predictor.
//!
//! θ ↔ T_j belongs to each term's covariance structure (`mixedlm-covariance`); this module
//! only lays the terms out and applies the factors.

use mixedlm_covariance::CovarianceStructure;
use mixedlm_design::{Design, Levels};
use mixedlm_model::terms::lme4_order;

/// One random-effects term in lme4's order.
#[derive(Debug)]
pub struct ReTerm {
    /// Position of the term in the design (the formula's order).
    pub formula_index: usize,
    /// The grouping factor's name.
    pub group: String,
    /// The grouping factor's levels.
    pub levels: Levels,
    /// The term's column names.
    pub names: Vec<String>,
    /// Effects per level.
    pub k: usize,
    /// θ ↔ T.
    pub structure: Box<dyn CovarianceStructure>,
    /// The term's first entry in θ.
    pub theta_offset: usize,
    /// The term's first entry in u (and b).
    pub u_offset: usize,
}

impl ReTerm {
    /// Number of levels.
    pub fn n_levels(&self) -> usize {
        self.levels.len()
    }
    /// Number of θ entries.
    pub fn n_theta(&self) -> usize {
        self.structure.n_theta()
    }
    /// Number of effects (levels × k).
    pub fn len(&self) -> usize {
        self.k * self.n_levels()
    }
    /// Whether the term has no effects (never, for a valid design).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The random-effects terms of a design, in lme4's order.
#[derive(Debug)]
pub struct RandomEffects {
    /// The terms.
    pub terms: Vec<ReTerm>,
    /// q: the number of random effects.
    pub q: usize,
    /// Length of θ.
    pub n_theta: usize,
}

impl RandomEffects {
    /// The terms of `design` in lme4's order (decreasing number of levels).
    pub fn new(design: &Design) -> Self {
        let n_levels: Vec<usize> = design.random.iter().map(|t| t.levels.len()).collect();
        let mut terms = Vec::with_capacity(n_levels.len());
        let (mut theta_offset, mut u_offset) = (0, 0);
        for idx in lme4_order(&n_levels) {
            let rt = &design.random[idx];
            let k = rt.z.ncols;
            let term = ReTerm {
                formula_index: idx,
                group: rt.group.clone(),
                levels: rt.levels.clone(),
                names: rt.names.clone(),
                k,
                structure: rt.covariance.structure(k),
                theta_offset,
                u_offset,
            };
            theta_offset += term.n_theta();
            u_offset += term.len();
            terms.push(term);
        }
        RandomEffects {
            terms,
            q: u_offset,
            n_theta: theta_offset,
        }
    }

    /// lme4's starting θ (every T = I).
    pub fn theta_start(&self) -> Vec<f64> {
        self.terms
            .iter()
            .flat_map(|t| t.structure.initial_theta())
            .collect()
    }

    /// Lower bounds of θ.
    pub fn theta_lower(&self) -> Vec<f64> {
        self.terms
            .iter()
            .flat_map(|t| t.structure.lower_bounds())
            .collect()
    }

    /// lme4-style θ names (`herd.(Intercept)`).
    pub fn theta_names(&self) -> Vec<String> {
        self.terms
            .iter()
            .flat_map(|t| {
                t.structure
                    .theta_names(&t.group, &t.names)
                    .unwrap_or_else(|_| {
                        (0..t.n_theta())
                            .map(|i| format!("{}.theta{i}", t.group))
                            .collect()
                    })
            })
            .collect()
    }

    /// T_j per term (k×k column-major, lower triangular) at θ.
    pub fn factors(&self, theta: &[f64]) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = self.terms.iter().map(|t| vec![0.0; t.k * t.k]).collect();
        self.fill_factors(theta, &mut out);
        out
    }

    /// [`Self::factors`] into existing buffers.
    pub fn fill_factors(&self, theta: &[f64], out: &mut [Vec<f64>]) {
        for (t, buf) in self.terms.iter().zip(out.iter_mut()) {
            let th = &theta[t.theta_offset..t.theta_offset + t.n_theta()];
            t.structure
                .fill_factor(th, faer::MatMut::from_column_major_slice_mut(buf, t.k, t.k));
        }
    }

    /// b = Λ u (per level b_g = T u_g).
    pub fn lambda_times(&self, t: &[Vec<f64>], u: &[f64], b: &mut [f64]) {
        for (term, tj) in self.terms.iter().zip(t) {
            let k = term.k;
            let range = term.u_offset..term.u_offset + term.len();
            let (us, bs) = (&u[range.clone()], &mut b[range]);
            if k == 1 {
                let l = tj[0];
                bs.iter_mut().zip(us).for_each(|(b, u)| *b = l * u);
                continue;
            }
            for (bg, ug) in bs.chunks_exact_mut(k).zip(us.chunks_exact(k)) {
                mixedlm_model::level_blocks::lower_times(tj, ug, k, bg);
            }
        }
    }

    /// η[i] += (Z b)[i] for every row.
    pub fn add_zb(&self, design: &Design, b: &[f64], eta: &mut [f64]) {
        let n = eta.len();
        for term in &self.terms {
            let rt = &design.random[term.formula_index];
            let k = term.k;
            let bs = &b[term.u_offset..term.u_offset + term.len()];
            for c in 0..k {
                let z = &rt.z.data[c * n..(c + 1) * n];
                for ((e, &g), zi) in eta.iter_mut().zip(&rt.codes).zip(z) {
                    *e += zi * bs[g as usize * k + c];
                }
            }
        }
    }

    /// Whether the model is one term with one effect per level (what adaptive quadrature
    /// needs).
    pub fn is_single_scalar(&self) -> bool {
        self.terms.len() == 1 && self.terms[0].k == 1
    }
}
