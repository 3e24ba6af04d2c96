//! Penalized iteratively reweighted least squares: the conditional modes u (and, for the
//! fast nAGQ = 0 criterion, β) that minimize the penalized deviance
//! Σ w d(y, μ) + |u|² at fixed θ (and β), by Fisher scoring steps on the PWLS system with
//! step halving, as lme4's `pwrssUpdate`.
//!
//! Each step: working weights and response at the current μ, one PWLS solve, then the
//! largest step of 1, ½, ¼ ... (ten halvings) toward its solution that does not increase
//! the penalized deviance. Iteration stops when the step is below [`STEP_TOL`] (so the
//! last factorization's weights are those of the final μ to that accuracy and the Laplace
//! criterion is smooth enough for finite differences) or the penalized deviance stops
//! changing at rounding level.

use super::model::GlmmModel;
use super::pirls_failure::{PirlsFailure, MAX_HALVINGS, MAX_ITERATIONS, STEP_TOL};
use super::system::Unknowns;

/// Relative change of the penalized deviance at which PIRLS stops though the step has not
/// reached [`STEP_TOL`] (rounding level).
const PDEV_TOL: f64 = 1e-15;

impl GlmmModel {
    /// Run PIRLS at the current θ: over u with β fixed ([`Unknowns::Modes`]) or over (u, β)
    /// ([`Unknowns::ModesAndFixed`]), from the current state (or R's starting means when
    /// there is none). On success the state holds the minimizer, the response its μ, and the
    /// system the factor at (to [`STEP_TOL`]) its weights; returns the iterations used.
    pub(crate) fn pirls(&mut self, unknowns: Unknowns) -> Result<usize, PirlsFailure> {
        let joint = unknowns == Unknowns::ModesAndFixed;
        let mut pdev_old;
        if self.started {
            self.update_xb_if(!joint);
            self.update_eta(joint);
            pdev_old = self.penalized_deviance();
        } else {
            // R's starting means; u = 0 and β = 0 are not consistent with them, so the first
            // step is taken whole
            self.eta = self.resp.initial_eta();
            self.resp.update(&self.eta);
            self.u.iter_mut().for_each(|v| *v = 0.0);
            if joint {
                self.beta.iter_mut().for_each(|v| *v = 0.0);
            }
            self.update_xb_if(!joint);
            pdev_old = f64::INFINITY;
        }
        let mut change = f64::NAN;
        for it in 1..=MAX_ITERATIONS {
            self.resp.working(&mut self.wts, &mut self.wres);
            for i in 0..self.wres.len() {
                let fixed = if joint { 0.0 } else { self.xb[i] };
                self.wres[i] += self.eta[i] - self.resp.offset[i] - fixed;
            }
            self.system.assemble(&self.wts, &self.wres, unknowns);
            if !self.system.factor(&self.theta) {
                self.started = false;
                return Err(PirlsFailure::NotPositiveDefinite);
            }
            self.u_old.copy_from_slice(&self.u);
            self.beta_old.copy_from_slice(&self.beta);
            self.system.solve(&mut self.u, &mut self.beta);
            let (pdev, step) = match self.halve(joint, pdev_old) {
                Some(v) => v,
                None => {
                    // a failed step at rounding level of the optimum is convergence
                    self.u.copy_from_slice(&self.u_old);
                    self.beta.copy_from_slice(&self.beta_old);
                    self.update_eta(joint);
                    let pdev = self.penalized_deviance();
                    if (pdev - pdev_old).abs() <= 1e-10 * pdev.abs().max(1.0) {
                        self.pdev = pdev;
                        return Ok(it);
                    }
                    self.started = false;
                    return Err(PirlsFailure::StepHalving { before: pdev_old });
                }
            };
            change = (pdev_old - pdev).abs();
            self.pdev = pdev;
            if step < STEP_TOL {
                // this step's factor is at weights within STEP_TOL of the final ones
                return Ok(it);
            }
            if change <= PDEV_TOL * pdev.abs() {
                // converged at rounding level with a step above STEP_TOL: the factor is
                // at the previous μ, refactor at the final one
                self.refactor(unknowns, joint);
                return Ok(it);
            }
            pdev_old = pdev;
        }
        Err(PirlsFailure::NotConverged { change })
    }

    /// From the old state toward the solve's solution (in `u`, `beta`): the first of the
    /// steps 1, ½, ¼ ... that does not increase the penalized deviance. Leaves the state,
    /// η and μ at the accepted point; returns its penalized deviance and the largest
    /// coordinate change, or `None` when every step increased it.
    fn halve(&mut self, joint: bool, pdev_old: f64) -> Option<(f64, f64)> {
        let mut frac = 1.0;
        for _ in 0..=MAX_HALVINGS {
            if frac < 1.0 {
                for (u, o) in self.u.iter_mut().zip(&self.u_old) {
                    *u = o + 0.5 * (*u - o);
                }
                if joint {
                    for (b, o) in self.beta.iter_mut().zip(&self.beta_old) {
                        *b = o + 0.5 * (*b - o);
                    }
                }
            }
            self.update_eta(joint);
            let pdev = self.penalized_deviance();
            if pdev.is_finite() && pdev <= pdev_old + 1e-12 * pdev_old.abs() {
                let du = max_abs_diff(&self.u, &self.u_old);
                let db = if joint {
                    max_abs_diff(&self.beta, &self.beta_old)
                } else {
                    0.0
                };
                return Some((pdev, du.max(db)));
            }
            frac *= 0.5;
        }
        None
    }

    /// Assemble and factor at the current μ (no solve): the log-determinant of the final
    /// state.
    fn refactor(&mut self, unknowns: Unknowns, joint: bool) {
        self.resp.working(&mut self.wts, &mut self.wres);
        for i in 0..self.wres.len() {
            let fixed = if joint { 0.0 } else { self.xb[i] };
            self.wres[i] += self.eta[i] - self.resp.offset[i] - fixed;
        }
        self.system.assemble(&self.wts, &self.wres, unknowns);
        self.system.factor(&self.theta);
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
