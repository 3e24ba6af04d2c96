//! A real LMM profiled deviance (sleepstudy, `Reaction ~ Days + (Days | Subject)`, ML),
//! computed densely from A = [Z X y]'[Z X y] as in docs/MATH.md: every solver must reach
//! lme4's optimum (objective 1751.93934448899, lme4 1.1-31) within 1e-7 relative.

use mixedlm_optim::{minimize, Objective, OptimOptions, OptimizerName};

const LME4_DEVIANCE: f64 = 1_751.939_344_488_99;
const LME4_THETA: [f64; 3] = [
    0.929_190_605_278_248,
    0.018_165_754_720_412,
    0.222_643_205_612_618,
];

/// The ML profiled deviance of a random intercept and slope model.
struct Sleepstudy {
    /// A, (q + 3) x (q + 3), row-major; q = 2 * groups; columns Z, X (2), y.
    a: Vec<f64>,
    q: usize,
    n: f64,
    /// Scratch for Ω.
    omega: Vec<f64>,
}

impl Sleepstudy {
    fn load() -> Sleepstudy {
        let y = mixedlm_fixtures::numeric("sleepstudy", "Reaction");
        let days = mixedlm_fixtures::numeric("sleepstudy", "Days");
        let (subjects, codes) = mixedlm_fixtures::factor("sleepstudy", "Subject");
        let rows: Vec<(f64, f64, usize)> = (0..y.len())
            .map(|i| (y[i], days[i], codes[i] as usize))
            .collect();
        let q = 2 * subjects.len();
        let m = q + 3;
        let mut a = vec![0.0; m * m];
        for &(y, days, g) in &rows {
            let mut v = vec![0.0; m];
            (v[2 * g], v[2 * g + 1]) = (1.0, days);
            (v[q], v[q + 1], v[q + 2]) = (1.0, days, y);
            for i in 0..m {
                for j in 0..m {
                    a[i * m + j] += v[i] * v[j];
                }
            }
        }
        Sleepstudy {
            a,
            q,
            n: rows.len() as f64,
            omega: vec![0.0; m * m],
        }
    }
}

impl Objective for Sleepstudy {
    fn dim(&self) -> usize {
        3
    }

    fn value(&mut self, th: &[f64]) -> f64 {
        let (q, m) = (self.q, self.q + 3);
        // D = blockdiag(I ⊗ T, I_3); Ω = D' A D + blockdiag(I_q, 0).
        let d = |i: usize, j: usize| -> f64 {
            if i >= q || j >= q {
                return if i == j { 1.0 } else { 0.0 };
            }
            if i / 2 != j / 2 {
                return 0.0;
            }
            match (i % 2, j % 2) {
                (0, 0) => th[0],
                (1, 0) => th[1],
                (1, 1) => th[2],
                _ => 0.0,
            }
        };
        for r in 0..m {
            for c in 0..m {
                let mut s = 0.0;
                // D is block diagonal with 2x2 blocks: only nearby entries are non-zero.
                for k in (r / 2 * 2).min(r)..(r / 2 * 2 + 2).min(m) {
                    for l in (c / 2 * 2).min(c)..(c / 2 * 2 + 2).min(m) {
                        s += d(k, r) * self.a[k * m + l] * d(l, c);
                    }
                }
                self.omega[r * m + c] = s + if r == c && r < q { 1.0 } else { 0.0 };
            }
        }
        let Some(logdet_diag) = cholesky_in_place(&mut self.omega, m) else {
            return f64::INFINITY;
        };
        let log_det_z: f64 = logdet_diag[..q].iter().sum();
        let r2 = (logdet_diag[m - 1]).exp().powi(2);
        2.0 * log_det_z + self.n * (1.0 + (2.0 * std::f64::consts::PI * r2 / self.n).ln())
    }
}

/// Lower Cholesky of a row-major m x m matrix; returns log of the diagonal of L.
fn cholesky_in_place(a: &mut [f64], m: usize) -> Option<Vec<f64>> {
    let mut logs = vec![0.0; m];
    for j in 0..m {
        let d = a[j * m + j] - (0..j).map(|k| a[j * m + k].powi(2)).sum::<f64>();
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let ljj = d.sqrt();
        a[j * m + j] = ljj;
        logs[j] = ljj.ln();
        for i in j + 1..m {
            let s = a[i * m + j] - (0..j).map(|k| a[i * m + k] * a[j * m + k]).sum::<f64>();
            a[i * m + j] = s / ljj;
        }
    }
    Some(logs)
}

/// Flip the columns of T with a negative diagonal (T T' unchanged).
fn sign_normalize(t: &[f64]) -> Vec<f64> {
    let s0 = if t[0] < 0.0 { -1.0 } else { 1.0 };
    vec![s0 * t[0], s0 * t[1], t[2].abs()]
}

#[test]
fn deviance_at_lme4_theta_matches_lme4() {
    let f = Sleepstudy::load().value(&LME4_THETA);
    assert!((f - LME4_DEVIANCE).abs() < 1e-6, "{f} vs {LME4_DEVIANCE}");
}

#[test]
fn all_solvers_reach_lme4_optimum() {
    for name in OptimizerName::ALL {
        let bounded = name == OptimizerName::Bobyqa;
        let opts = OptimOptions {
            optimizer: name,
            lower: if bounded {
                vec![0.0, f64::NEG_INFINITY, 0.0]
            } else {
                Vec::new()
            },
            ..OptimOptions::default()
        };
        let mut obj = Sleepstudy::load();
        let rec = minimize(&mut obj, &[1.0, 0.0, 1.0], &opts).unwrap();
        assert!(rec.converged, "{name}: {}", rec.termination);
        let rel = (rec.objective - LME4_DEVIANCE) / LME4_DEVIANCE;
        assert!(
            rel.abs() < 1e-7,
            "{name}: {} vs {LME4_DEVIANCE} (rel {rel:e})",
            rec.objective
        );
        assert!(rel < 1e-10, "{name}: worse than lme4 by {rel:e}");
        for (a, b) in sign_normalize(&rec.theta).iter().zip(LME4_THETA) {
            assert!(
                (a - b).abs() < 1e-3,
                "{name}: theta {:?} vs {LME4_THETA:?}",
                rec.theta
            );
        }
        println!(
            "{name}: {} evaluations, f = {:.10}, theta {:?}",
            rec.evaluations, rec.objective, rec.theta
        );
    }
}
