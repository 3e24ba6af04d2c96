//! Simulation of responses from a fitted model: b ~ N(0, σ²ΛΛ'), ε ~ N(0, σ²/w).

use crate::dense::{term_layouts, TermLayout};
use crate::error::InferenceError;
use mixedlm_design::Design;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// The RNG of replicate `i` under master seed `seed` (independent of thread scheduling).
pub(super) fn replicate_rng(seed: u64, i: usize) -> StdRng {
    let mix = seed
        ^ (i as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    StdRng::seed_from_u64(mix)
}

fn check(
    design: &Design,
    beta: &[f64],
    theta: &[f64],
    sigma: f64,
) -> Result<Vec<TermLayout>, InferenceError> {
    if beta.len() != design.x.ncols {
        return Err(InferenceError::Dimension {
            what: "β",
            expected: design.x.ncols,
            got: beta.len(),
        });
    }
    let layouts = term_layouts(design);
    let nt: usize = layouts.iter().map(TermLayout::n_theta).sum();
    if theta.len() != nt {
        return Err(InferenceError::ThetaLength {
            expected: nt,
            got: theta.len(),
        });
    }
    if !(sigma.is_finite() && sigma >= 0.0) {
        return Err(InferenceError::Numerical(format!(
            "σ = {sigma} must be finite and ≥ 0"
        )));
    }
    Ok(layouts)
}

/// One simulated response vector.
pub(super) fn simulate_one(
    design: &Design,
    layouts: &[TermLayout],
    beta: &[f64],
    theta: &[f64],
    sigma: f64,
    rng: &mut StdRng,
) -> Vec<f64> {
    let n = design.n_obs();
    let mut y: Vec<f64> = (0..n)
        .map(|i| (0..beta.len()).map(|j| design.x.get(i, j) * beta[j]).sum())
        .collect();
    for t in layouts {
        let tf = t.factor(theta);
        let r = &design.random[t.design_index];
        let mut b = vec![0.0; t.n_levels() * t.k];
        for l in 0..t.n_levels() {
            let u: Vec<f64> = (0..t.k).map(|_| StandardNormal.sample(rng)).collect();
            for i in 0..t.k {
                b[l * t.k + i] = sigma * (0..=i).map(|j| tf[(i, j)] * u[j]).sum::<f64>();
            }
        }
        for (i, yi) in y.iter_mut().enumerate() {
            let code = r.codes[i] as usize;
            *yi += (0..t.k)
                .map(|c| r.z.get(i, c) * b[code * t.k + c])
                .sum::<f64>();
        }
    }
    for (i, yi) in y.iter_mut().enumerate() {
        let w = design.weights.as_ref().map_or(1.0, |w| w[i]);
        let e: f64 = StandardNormal.sample(rng);
        *yi += sigma * e / w.sqrt() + design.offset.as_ref().map_or(0.0, |o| o[i]);
    }
    y
}

/// `nsim` response vectors drawn from the model with parameters (β, θ, σ), reproducible
/// by `seed` (θ in lme4's term order).
pub fn simulate_responses(
    design: &Design,
    beta: &[f64],
    theta: &[f64],
    sigma: f64,
    nsim: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>, InferenceError> {
    let layouts = check(design, beta, theta, sigma)?;
    Ok((0..nsim)
        .map(|i| {
            simulate_one(
                design,
                &layouts,
                beta,
                theta,
                sigma,
                &mut replicate_rng(seed, i),
            )
        })
        .collect())
}

/// Validate simulation inputs and return the term layouts (for the bootstrap).
pub(super) fn checked_layouts(
    design: &Design,
    beta: &[f64],
    theta: &[f64],
    sigma: f64,
) -> Result<Vec<TermLayout>, InferenceError> {
    check(design, beta, theta, sigma)
}
