//! Keeping the factor of the best point while BOBYQA runs, so that the estimates need no
//! final factorization on large rest blocks.
//!
//! After the optimizer stops, [`LinearMixedModel::fit`] needs the factor at the best θ for
//! the estimates. BOBYQA's last evaluation is rarely its best, and on a large rest block
//! one more factorization costs as much as an evaluation. Here each evaluation that
//! improves on the best so far trades its factor buffers with a kept set (a swap of
//! vectors, no copy); the fit then takes the kept factor back when it belongs to the
//! final θ. The cost is one more copy of the factor in memory, so it is done only on the
//! sparse path (its values are a vector of L's non-zeros) and from [`KEEP_BEST_FROM`]
//! dense columns, and only for BOBYQA: BFGS asks for the gradient at the point it has
//! just evaluated, which needs the factor in place.

use crate::factor::KeptValues;
use crate::LinearMixedModel;
use mixedlm_optim::Objective;

/// Dense rest blocks of at least this many columns keep the best factor.
pub(crate) const KEEP_BEST_FROM: usize = 1024;

/// The factor buffers and value of the best evaluation so far.
#[derive(Default)]
struct Kept {
    theta: Vec<f64>,
    value: f64,
    values: KeptValues,
}

/// The model as an objective that keeps the factor of its best point (module docs).
pub(crate) struct BestFactorObjective<'a> {
    pub(crate) model: &'a mut LinearMixedModel,
    kept: Option<Kept>,
}

impl<'a> BestFactorObjective<'a> {
    pub(crate) fn new(model: &'a mut LinearMixedModel) -> Self {
        BestFactorObjective { model, kept: None }
    }

    /// Trade the model's factor buffers with the kept ones (sized the first time),
    /// recording θ and the value. The model's factor is then stale: it is marked invalid
    /// until the next evaluation overwrites it.
    fn keep(&mut self, theta: &[f64], value: f64) {
        let f = &mut self.model.factor;
        let kept = self.kept.get_or_insert_with(|| Kept {
            values: KeptValues {
                t: f.t.clone(),
                lg: vec![0.0; f.levels.lg.len()],
                w: vec![0.0; f.levels.w.len()],
                ..KeptValues::default()
            },
            ..Kept::default()
        });
        // the first swap leaves the dense M empty: the next factorization allocates it
        f.swap_values(&mut kept.values);
        f.pieces = None;
        kept.value = value;
        kept.theta.clear();
        kept.theta.extend_from_slice(theta);
    }

    /// Put the kept factor back into the model when it was computed at `theta`; returns
    /// whether it did (else the model must be evaluated at `theta`).
    pub(crate) fn restore(self, theta: &[f64]) -> bool {
        let Some(mut kept) = self.kept else {
            return false;
        };
        if kept.theta != theta {
            return false;
        }
        let model = self.model;
        model.factor.swap_values(&mut kept.values);
        model.theta.copy_from_slice(theta);
        model.factor.pieces.is_some()
    }
}

impl Objective for BestFactorObjective<'_> {
    fn dim(&self) -> usize {
        self.model.n_theta()
    }
    fn value(&mut self, x: &[f64]) -> f64 {
        let v = self.model.objective(x);
        let better = self.kept.as_ref().is_none_or(|k| v < k.value);
        if v.is_finite() && better && self.model.factor.pieces.is_some() {
            self.keep(x, v);
        }
        v
    }
    fn gradient(&mut self, _x: &[f64], _grad: &mut [f64]) -> bool {
        false
    }
    fn has_gradient(&self) -> bool {
        false
    }
}

impl LinearMixedModel {
    /// Whether a fit by `solver` keeps the factor of its best point (module docs): BOBYQA
    /// on the sparse path, or on the dense path with a rest block of at least
    /// [`KEEP_BEST_FROM`] columns.
    pub(crate) fn keeps_best_factor(&self, solver: mixedlm_optim::OptimizerName) -> bool {
        solver == mixedlm_optim::OptimizerName::Bobyqa
            && !self.uses_nested()
            && (self.uses_sparse() || self.cp.mr >= KEEP_BEST_FROM)
    }
}

#[cfg(test)]
mod tests {
    use super::{BestFactorObjective, KEEP_BEST_FROM};
    use crate::{FitOptions, LinearMixedModel, ModelOptions, OptimizerName};
    use mixedlm_fixtures::synthetic::{design_with_x, random_term, uniform};
    use mixedlm_optim::Objective;

    /// Crossed scalar intercepts, `y ~ 1 + x + (1 | a) + (1 | b)`, with `b` wide enough
    /// (1,100 levels) that the dense rest block keeps the best factor.
    fn crossed_model(sparse: bool) -> LinearMixedModel {
        let (n, na, nb) = (12_000, 2_500, 1_100);
        let a: Vec<u32> = (0..n).map(|i| (i % na) as u32).collect();
        let b: Vec<u32> = (0..n).map(|i| ((i * 7919 + i / na) % nb) as u32).collect();
        let effect = |l: u32, salt: u64| uniform(l as usize, salt);
        let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 1)).collect();
        let y = (0..n)
            .map(|i| 1.0 + x[i] + 0.8 * effect(a[i], 2) + 0.5 * effect(b[i], 3) + uniform(i, 4))
            .collect();
        let random = vec![
            random_term("a", na, a, vec![1.0; n], &["(Intercept)"]),
            random_term("b", nb, b, vec![1.0; n], &["(Intercept)"]),
        ];
        let design = design_with_x(y, &x, random, None);
        let mut model = LinearMixedModel::new(&design, ModelOptions { reml: true }).unwrap();
        assert_eq!(model.set_sparse(sparse), sparse);
        assert!(model.cp.mr >= KEEP_BEST_FROM);
        assert!(model.keeps_best_factor(OptimizerName::Bobyqa));
        assert!(!model.keeps_best_factor(OptimizerName::Bfgs));
        model
    }

    fn estimates(model: &LinearMixedModel) -> Vec<f64> {
        let mut v = model.beta();
        v.push(model.sigma());
        v.push(model.current_objective());
        v.extend(model.conditional_modes().concat());
        v
    }

    fn assert_same(what: &str, got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1e-300),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    /// The kept factor is the best evaluation's, and it is given back only for its θ.
    #[test]
    fn the_best_evaluations_factor_is_kept_and_restored_for_its_theta() {
        for sparse in [false, true] {
            kept_and_restored(sparse);
        }
    }

    fn kept_and_restored(sparse: bool) {
        let mut model = crossed_model(sparse);
        let (best, worse) = ([0.8, 0.5], [3.0, 0.1]);
        assert!(model.evaluate(&best));
        let want = estimates(&model);
        let mut obj = BestFactorObjective::new(&mut model);
        let f_best = obj.value(&best);
        let f_worse = obj.value(&worse);
        assert!(f_best < f_worse, "{f_best} vs {f_worse}");
        assert!(
            obj.model.factor.pieces.is_some(),
            "the worse point's factor stays in place"
        );
        assert!(obj.restore(&best));
        assert_same("restored estimates", &estimates(&model), &want);
        let mut obj = BestFactorObjective::new(&mut model);
        obj.value(&best);
        assert!(
            !obj.restore(&worse),
            "a kept factor is given back only for its own θ"
        );
    }

    /// A whole BOBYQA fit that keeps the best factor gives the estimates of a fresh
    /// factorization at its θ.
    #[test]
    fn a_fit_with_the_kept_factor_equals_a_refactorization() {
        for sparse in [false, true] {
            fit_equals_refactorization(sparse);
        }
    }

    fn fit_equals_refactorization(sparse: bool) {
        let mut model = crossed_model(sparse);
        let opts = FitOptions {
            optimizer: OptimizerName::Bobyqa,
            ..FitOptions::default()
        };
        let fit = model.fit(&opts).unwrap();
        assert!(fit.converged, "{}", fit.optim.termination);
        let kept = estimates(&model);
        let covs = model.conditional_covariances().concat();
        assert_eq!(model.uses_sparse(), sparse, "the kept factor's path");
        assert!(model.factor.pieces.is_some());
        assert!(model.evaluate(&fit.theta));
        assert_same("estimates", &kept, &estimates(&model));
        assert_same(
            "conditional covariances",
            &covs,
            &model.conditional_covariances().concat(),
        );
    }
}
