//! Simulating responses from a fitted GLMM: new spherical random effects u ~ N(0, I),
//! η = X β̂ + Z Λ(θ̂) u + offset, and a response drawn from the family at μ = g⁻¹(η)
//! (lme4's `simulate` with `use.u = FALSE`).

use super::model::GlmmModel;
use super::results::GlmmFit;
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

/// One simulated response vector (the response's scale: proportions for a binomial).
pub fn draw(model: &GlmmModel, fit: &GlmmFit, rng: &mut dyn RngCore) -> Vec<f64> {
    let re = model.random_effects();
    let design = model.design();
    let resp = model.response();
    let n = model.n_obs();
    let u: Vec<f64> = (0..re.q).map(|_| StandardNormal.sample(rng)).collect();
    let t = re.factors(&fit.theta);
    let mut b = vec![0.0; re.q];
    re.lambda_times(&t, &u, &mut b);
    let mut eta = resp.offset.clone();
    let x = &design.x;
    for (c, bc) in fit.fixef.iter().enumerate() {
        for (e, xi) in eta.iter_mut().zip(&x.data[c * n..(c + 1) * n]) {
            *e += bc * xi;
        }
    }
    re.add_zb(design, &b, &mut eta);
    eta.iter()
        .zip(&resp.weights)
        .map(|(&e, &w)| resp.family.sample(resp.link.inverse(e), w, rng))
        .collect()
}
