//! The engine as a penalized weighted least-squares (PWLS) solver, the interface a
//! penalized iteratively reweighted least-squares loop (PIRLS: a GLMM's Laplace
//! approximation) calls at each of its iterations:
//!
//! 1. [`LinearMixedModel::reweight`]: new weights (prior × working weights), working
//!    response and offset; the cross-products are formed again in one pass over the rows,
//!    and the term order, the pattern of B and each path's symbolic analysis are kept;
//! 2. [`LinearMixedModel::evaluate`] at θ factors Λ'Z'WZΛ + I with X and the response,
//!    on the model's path (dense, nested or sparse);
//! 3. then read the solution for (u, β) jointly ([`LinearMixedModel::spherical_modes`],
//!    [`LinearMixedModel::beta`]) or for u alone with β held fixed (Xβ an offset:
//!    [`LinearMixedModel::spherical_modes_at`]), and log|L_Z|² = log det(Λ'Z'WZΛ + I)
//!    ([`LinearMixedModel::logdet_z`]) with the penalized weighted residual sum of squares
//!    ([`LinearMixedModel::pwrss`], [`LinearMixedModel::pwrss_at`]).
//!
//! [`LinearMixedModel::for_pwls`] builds a model for this use: observation-level terms
//! allowed, and the sparse path taken sooner.
//!
//! For a linear mixed model with prior weights w and offset o, `reweight(w, y, o)` on a
//! model of the same rows gives the numbers of the model built with them (tests below).

use crate::rows::Rows;
use crate::terms::build_terms_with;
use crate::{LinearMixedModel, ModelError, ModelOptions};
use mixedlm_design::Design;

impl LinearMixedModel {
    /// A model (maximum likelihood) to serve as a GLMM's PWLS system: as
    /// [`Self::from_design`], but a grouping factor may have one level per observation
    /// (glmer's `allow.n`: an observation-level term models overdispersion), and the sparse
    /// path is taken from `sparse_from` Z columns of the later terms when it needs at most
    /// half the dense flops (PIRLS factors several times per evaluation, so sparsity pays
    /// on smaller blocks than for an LMM).
    ///
    /// Errors: as [`Self::from_design`] apart from the numbers of levels.
    pub fn for_pwls(design: Design, sparse_from: usize) -> Result<Self, ModelError> {
        let terms = build_terms_with(&design, true)?;
        let mut model = Self::from_terms(design, terms, ModelOptions { reml: false })?;
        model
            .factor
            .prefer_sparse_from(&model.cp, &model.terms, sparse_from);
        Ok(model)
    }

    /// Replace the weights (every w_i > 0), the response (a GLMM's working response) and
    /// the offset (`None`: none), and form the cross-products again: one pass over the rows
    /// in original order, with the term order, the pattern of B and the factor's symbolic
    /// analysis kept (only values change). The design the model holds takes them, so
    /// [`Self::design`] and the fitted values follow. The factor is stale until the next
    /// [`Self::evaluate`]. Σ log w enters the objective as for prior weights.
    ///
    /// Errors: a model built from cross-product sums (no rows), a length other than N,
    /// a non-finite value, or a weight ≤ 0.
    pub fn reweight(
        &mut self,
        weights: &[f64],
        response: &[f64],
        offset: Option<&[f64]>,
    ) -> Result<(), ModelError> {
        self.check_rows("reweighting", "weights", weights)?;
        self.check_rows("reweighting", "response", response)?;
        if let Some(o) = offset {
            self.check_rows("reweighting", "offset", o)?;
        }
        if let Some(row) = weights.iter().position(|&w| w <= 0.0) {
            return Err(ModelError::NonPositiveWeight {
                row,
                value: weights[row],
            });
        }
        self.design.weights = Some(weights.to_vec());
        self.design.y.copy_from_slice(response);
        self.design.offset = offset.map(<[f64]>::to_vec);
        let (rows, sum_log_w) = Rows::weighted(&mut self.design, &self.terms, &self.shift)?;
        self.cp.fill(&rows, &self.terms);
        rows.restore(&mut self.design, &self.terms);
        self.sum_log_w = sum_log_w;
        self.factor.data_changed(&self.cp);
        Ok(())
    }

    /// The spherical modes û(β) at the last evaluation for a given β held fixed (Xβ
    /// treated as an offset): the minimizer over u of ‖W^½(y − o − Xβ − ZΛu)‖² + ‖u‖²,
    /// Lzz^{-T} (L_yz' − L_xz' β), in the engine's Z order (as
    /// [`Self::spherical_modes`], which is û(β̂)). NaN entries without a valid evaluation
    /// or when β has the wrong length.
    pub fn spherical_modes_at(&self, beta: &[f64]) -> Vec<f64> {
        let cp = &self.cp;
        if self.factor.pieces.is_none() || beta.len() != cp.p {
            return vec![f64::NAN; cp.g1 * cp.k1 + cp.qr];
        }
        let mut shifted = beta.to_vec();
        self.shift.beta_to_shifted(&mut shifted);
        let ur = self.factor.rest_modes(cp, &shifted);
        let mut u = Vec::new();
        self.factor.levels.modes_into(cp, &ur, &shifted, &mut u);
        u
    }

    /// The penalized weighted residual sum of squares at (û(β), β):
    /// r² + ‖Lxx'(β − β̂)‖², r² = [`Self::pwrss`] its minimum over β. NaN without a valid
    /// evaluation or when β has the wrong length.
    pub fn pwrss_at(&self, beta: &[f64]) -> f64 {
        if self.factor.pieces.is_none() || beta.len() != self.cp.p {
            return f64::NAN;
        }
        let lxx = self.lxx();
        let d: Vec<f64> = beta.iter().zip(self.beta()).map(|(b, h)| b - h).collect();
        let quad: f64 = (0..d.len())
            .map(|c| {
                (c..d.len())
                    .map(|r| lxx[(r, c)] * d[r])
                    .sum::<f64>()
                    .powi(2)
            })
            .sum();
        self.pwrss() + quad
    }
}

#[cfg(test)]
mod tests {
    use crate::{LinearMixedModel, ModelOptions};
    use mixedlm_design::Design;
    use mixedlm_fixtures::synthetic::{design_with_x, random_codes, random_term, uniform};

    /// `y ~ 1 + x + (1 + x | a) + (1 | b)` with a nested in b (`nested`) or crossed.
    fn design(nested: bool) -> Design {
        let n = 600;
        let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 1)).collect();
        let a: Vec<u32> = (0..n).map(|i| (i / 10) as u32).collect();
        let b: Vec<u32> = if nested {
            a.iter().map(|&g| g / 6).collect()
        } else {
            random_codes(n, 2, 12)
        };
        let y = (0..n)
            .map(|i| 1.0 + x[i] + 0.7 * uniform(a[i] as usize, 3) + uniform(i, 4))
            .collect();
        let mut z = vec![1.0; n];
        z.extend_from_slice(&x);
        let levels_b = if nested { 10 } else { 12 };
        let random = vec![
            random_term("a", 60, a, z, &["(Intercept)", "x"]),
            random_term("b", levels_b, b, vec![1.0; n], &["(Intercept)"]),
        ];
        design_with_x(y, &x, random, None)
    }

    /// A model per path: dense (crossed, forced dense), nested, sparse (crossed, forced).
    fn models(d: &Design) -> Vec<(&'static str, LinearMixedModel)> {
        let build = || LinearMixedModel::new(d, ModelOptions::default()).unwrap();
        let mut out = Vec::new();
        let mut m = build();
        m.set_sparse(false);
        out.push(("dense", m));
        let m = build();
        if m.uses_nested() {
            out.push(("nested", m));
        }
        let mut m = build();
        if !m.uses_nested() && m.set_sparse(true) {
            out.push(("sparse", m));
        }
        out
    }

    fn close(what: &str, a: &[f64], b: &[f64], rel: f64) {
        assert_eq!(a.len(), b.len(), "{what}");
        let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= rel * scale, "{what}: {a:?} vs {b:?}");
        }
    }

    /// Reweighting a model of the same rows gives the numbers of the model built with the
    /// weights, response and offset, on every path.
    #[test]
    fn reweighting_gives_the_model_built_with_the_weights() {
        for nested in [false, true] {
            let plain = design(nested);
            let n = plain.y.len();
            let mut weighted = plain.clone();
            let w: Vec<f64> = (0..n).map(|i| 0.5 + uniform(i, 5) + 0.5).collect();
            let o: Vec<f64> = (0..n).map(|i| 0.3 * uniform(i, 6)).collect();
            let z: Vec<f64> = plain.y.iter().map(|v| 2.0 * v - 1.0).collect();
            weighted.weights = Some(w.clone());
            weighted.offset = Some(o.clone());
            weighted.y = z.clone();
            let wanted = models(&weighted);
            let mut got = models(&plain);
            let paths: Vec<&str> = got.iter().map(|(p, _)| *p).collect();
            let other = if nested { "nested" } else { "sparse" };
            assert_eq!(paths, ["dense", other]);
            assert_eq!(wanted.len(), got.len());
            let thetas = [vec![0.8, 0.1, 0.4, 0.6], vec![0.3, -0.2, 0.9, 1.4]];
            for ((path, want), (_, model)) in wanted.into_iter().zip(got.iter_mut()) {
                let mut want = want;
                model.reweight(&w, &z, Some(&o)).unwrap();
                assert_eq!(model.design(), want.design(), "{path}");
                for theta in &thetas {
                    let (a, b) = (model.objective(theta), want.objective(theta));
                    assert!((a - b).abs() <= 1e-12 * b.abs(), "{path}: {a} vs {b}");
                    close(path, &model.beta(), &want.beta(), 1e-12);
                    close(
                        path,
                        &model.spherical_modes(),
                        &want.spherical_modes(),
                        1e-11,
                    );
                    close(
                        path,
                        &[model.logdet_z(), model.pwrss()],
                        &[want.logdet_z(), want.pwrss()],
                        1e-12,
                    );
                }
            }
        }
    }

    /// PWRSS(u, β) = ‖W^½(y − o − Xβ − ZΛu)‖² + ‖u‖² from the rows.
    fn direct_pwrss(m: &LinearMixedModel, u: &[f64], beta: &[f64]) -> f64 {
        let d = m.design();
        let effects = m.modes_to_effects(u);
        let n = d.y.len();
        let mut s = u.iter().map(|v| v * v).sum::<f64>();
        for i in 0..n {
            let mut f = d.offset.as_ref().map_or(0.0, |o| o[i]);
            f += (0..beta.len())
                .map(|c| d.x.get(i, c) * beta[c])
                .sum::<f64>();
            for (term, b) in m.terms().iter().zip(&effects) {
                let rt = &d.random[term.formula_index];
                let g = rt.codes[i] as usize;
                f += (0..term.k)
                    .map(|a| rt.z.get(i, a) * b[g * term.k + a])
                    .sum::<f64>();
            }
            let w = d.weights.as_ref().map_or(1.0, |w| w[i]);
            s += w * (d.y[i] - f).powi(2);
        }
        s
    }

    /// û(β) with β held fixed minimizes the penalized sum of squares over u, at β̂ it is
    /// the joint solution, and PWRSS(û(β), β) is `pwrss_at(β)`: on every path.
    #[test]
    fn modes_at_a_fixed_beta_minimize_the_penalized_sum_of_squares() {
        for nested in [false, true] {
            let mut d = design(nested);
            let n = d.y.len();
            d.weights = Some((0..n).map(|i| 1.0 + uniform(i, 7)).collect());
            d.offset = Some((0..n).map(|i| 0.2 * uniform(i, 8)).collect());
            for (path, mut m) in models(&d) {
                assert!(m.evaluate(&[0.9, 0.2, 0.5, 0.7]));
                let beta_hat = m.beta();
                close(
                    path,
                    &m.spherical_modes_at(&beta_hat),
                    &m.spherical_modes(),
                    1e-9,
                );
                let at_hat = m.pwrss_at(&beta_hat);
                assert!((at_hat - m.pwrss()).abs() <= 1e-10 * m.pwrss(), "{path}");
                let beta = [beta_hat[0] + 0.3, beta_hat[1] - 0.2];
                let u = m.spherical_modes_at(&beta);
                let best = direct_pwrss(&m, &u, &beta);
                let want = m.pwrss_at(&beta);
                assert!(
                    (best - want).abs() <= 1e-9 * want,
                    "{path}: {best} vs {want}"
                );
                assert!(want > m.pwrss(), "{path}");
                for j in [0, 7, u.len() - 1] {
                    let mut moved = u.clone();
                    moved[j] += 1e-3;
                    assert!(direct_pwrss(&m, &moved, &beta) > best, "{path}: u[{j}]");
                }
            }
        }
    }

    #[test]
    fn invalid_reweighting_is_a_typed_error() {
        let d = design(false);
        let mut m = LinearMixedModel::new(&d, ModelOptions::default()).unwrap();
        let n = d.y.len();
        let (w, y) = (vec![1.0; n], d.y.clone());
        let mut bad = w.clone();
        bad[3] = 0.0;
        assert!(m.reweight(&bad, &y, None).is_err());
        assert!(m.reweight(&w[1..], &y, None).is_err());
        let mut nan = y.clone();
        nan[5] = f64::NAN;
        assert!(m.reweight(&w, &nan, None).is_err());
        assert!(m.reweight(&w, &y, None).is_ok());
        assert!(m.spherical_modes_at(&[1.0]).iter().all(|v| v.is_nan()));
    }
}
