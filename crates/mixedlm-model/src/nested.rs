//! The "rest" block M for two nested terms (classes within schools: every level of term 1
//! co-occurs with exactly one level of term 2): the objective's fast path.
//!
//! M = Λ_R' C Λ_R + I_z − Σ_g W_g W_g' (see [`crate::eval`]). When term 1 is nested in
//! term 2, each W_g touches one k2×k2 level block of term 2 and the X/y border, so the Z
//! part of M is block diagonal and M is an "arrow": G2 blocks of k2×k2 plus a dense
//! (p+1)×(p+1) border. Its Cholesky factor keeps that shape (no fill): per level l,
//! L_l = chol(M_ll) and F_l = M_xl L_l^{-T}; then Lxx = chol(M_xx − Σ_l F_l F_l'). An
//! evaluation costs O(G1 k1 (k2 + p)² + G2 (k2 + p)³) instead of the dense (qr + p)³ / 3,
//! and allocates nothing. It gives the log-determinants and r² only, as the sparse path;
//! the estimates come from the dense factor at the optimum.

use crate::crossprod::CrossProducts;
use crate::small;
use crate::terms::Term;

/// The nested arrow structure and its workspaces.
#[derive(Debug)]
pub struct NestedRest {
    /// Columns per level of term 2.
    k2: usize,
    /// For each level l of term 2 (in order), the levels g of term 1 within it:
    /// `members[members_ptr[l]..members_ptr[l + 1]]`.
    members_ptr: Vec<usize>,
    members: Vec<u32>,
    /// The factors L_l of the level blocks (k2×k2 column-major each, G2 of them).
    ls: Vec<f64>,
    /// The border rows F_l = M_xl L_l^{-T} of each level ((p+1)×k2 row-major each).
    fs: Vec<f64>,
    /// A level's unscaled block from C (k2×k2) and the congruence's temporary.
    c_ll: Vec<f64>,
    tmp: Vec<f64>,
    /// (p+1)×(p+1) trailing block, then its factor Lxx; column-major.
    mxx: Vec<f64>,
}

/// Entries of S = M_PP⁻¹ on the arrow pattern, where P is the level rows plus the first
/// `bp` border rows (the X rows under REML, none under ML): the level blocks S_ll, the
/// border rows S_xl and the corner S_xx. With M_PP = L L', L = [L_D 0; F_P L_P]:
/// S_xx = (L_P L_P')⁻¹, S_xl = −S_xx F_l L_l⁻¹, S_ll = L_l^{-T} (I + F_l' S_xx F_l) L_l⁻¹.
#[derive(Debug)]
pub(crate) struct ArrowInverse {
    /// Rows of the level blocks (q_R).
    qr: usize,
    k2: usize,
    bp: usize,
    /// G2 blocks k2×k2 column-major.
    sll: Vec<f64>,
    /// G2 blocks bp×k2 row-major.
    sxl: Vec<f64>,
    /// bp×bp column-major.
    sxx: Vec<f64>,
}

impl crate::gradient::Selected for ArrowInverse {
    fn gather(&self, rows: &[usize], out: &mut [f64]) {
        let n = rows.len();
        let (k2, bp, qr) = (self.k2, self.bp, self.qr);
        // the rows of a level of term 1: its level's block of k2 rows, then the border
        let nz = rows.partition_point(|&r| r < qr);
        if nz != k2 || rows[nz..].iter().zip(qr..).any(|(&r, i)| r != i) {
            for (b, &rb) in rows.iter().enumerate() {
                for (a, &ra) in rows.iter().enumerate() {
                    out[b * n + a] = self.at(ra, rb);
                }
            }
            return;
        }
        let l = rows[0] / k2;
        let sll = &self.sll[l * k2 * k2..(l + 1) * k2 * k2];
        let sxl = &self.sxl[l * bp * k2..(l + 1) * bp * k2];
        for b in 0..n {
            for a in 0..n {
                out[b * n + a] = match (a < k2, b < k2) {
                    (true, true) => sll[b * k2 + a],
                    (false, false) => self.sxx[(b - k2) * bp + a - k2],
                    (true, false) => sxl[(b - k2) * k2 + a],
                    (false, true) => sxl[(a - k2) * k2 + b],
                };
            }
        }
    }
}

impl ArrowInverse {
    /// The k2×k2 block S_ll of level l of term 2 (column-major).
    pub(crate) fn level_block(&self, l: usize) -> &[f64] {
        let kk = self.k2 * self.k2;
        &self.sll[l * kk..(l + 1) * kk]
    }

    /// S[a, b] for rows a, b of the P block that lie on the arrow pattern (the same level
    /// or the border); 0 for two different levels.
    #[inline]
    pub(crate) fn at(&self, a: usize, b: usize) -> f64 {
        let (k2, bp, qr) = (self.k2, self.bp, self.qr);
        match (a < qr, b < qr) {
            (true, true) => {
                let l = a / k2;
                if b / k2 != l {
                    return 0.0;
                }
                self.sll[l * k2 * k2 + (b % k2) * k2 + a % k2]
            }
            (false, false) => self.sxx[(b - qr) * bp + a - qr],
            (true, false) => self.sxl[(a / k2) * bp * k2 + (b - qr) * k2 + a % k2],
            (false, true) => self.sxl[(b / k2) * bp * k2 + (a - qr) * k2 + b % k2],
        }
    }
}

impl NestedRest {
    /// The nested structure of a two-term model whose first term is nested in the second
    /// (None otherwise).
    pub fn new(cp: &CrossProducts, terms: &[Term]) -> Option<Self> {
        if terms.len() != 2 {
            return None;
        }
        let k2 = terms[1].k;
        let g2 = terms[1].n_levels();
        let border = cp.p + 1;
        let mut level_of = Vec::with_capacity(cp.g1);
        for g in 0..cp.g1 {
            let (lo, hi) = (cp.rows_ptr[g], cp.rows_ptr[g + 1]);
            if hi - lo != k2 + border || cp.rows[lo] % k2 != 0 {
                return None;
            }
            level_of.push(cp.rows[lo] / k2);
        }
        let mut members_ptr = vec![0usize; g2 + 1];
        for &l in &level_of {
            members_ptr[l + 1] += 1;
        }
        for l in 0..g2 {
            members_ptr[l + 1] += members_ptr[l];
        }
        let mut next = members_ptr.clone();
        let mut members = vec![0u32; cp.g1];
        for (g, &l) in level_of.iter().enumerate() {
            members[next[l]] = g as u32;
            next[l] += 1;
        }
        Some(NestedRest {
            k2,
            members_ptr,
            members,
            ls: vec![0.0; g2 * k2 * k2],
            fs: vec![0.0; g2 * border * k2],
            c_ll: vec![0.0; k2 * k2],
            tmp: vec![0.0; k2 * k2],
            mxx: vec![0.0; border * border],
        })
    }

    /// log det(L_rr)² (the term-2 part of Lzz), log det(Lxx)² and r² = Lyy² from the
    /// factors T_j (`t`) and W (`w`, k1 values per packed row of B, already Λ_R'-scaled).
    /// None when M is not positive definite.
    pub fn factor(
        &mut self,
        cp: &CrossProducts,
        t: &[Vec<f64>],
        w: &[f64],
    ) -> Option<(f64, f64, f64)> {
        let (k1, k2, mr, qr) = (cp.k1, self.k2, cp.mr, cp.qr);
        let border = cp.p + 1;
        let t2 = &t[1];
        self.load_border(cp);
        let kk = k2 * k2;
        for l in 0..self.members_ptr.len() - 1 {
            let s = l * k2;
            let a = &mut self.ls[l * kk..(l + 1) * kk];
            let e = &mut self.fs[l * border * k2..(l + 1) * border * k2];
            for c in 0..k2 {
                for r in 0..k2 {
                    self.c_ll[c * k2 + r] = cp.c[(s + c) * mr + s + r];
                }
            }
            small::congruence(t2, &self.c_ll, k2, &mut self.tmp, a);
            for i in 0..k2 {
                a[i * k2 + i] += 1.0;
            }
            // E = C_xl T2 (rows x of the border, columns of level l)
            for x in 0..border {
                let row = &mut e[x * k2..(x + 1) * k2];
                for (c, v) in row.iter_mut().enumerate() {
                    *v = cp.c[(s + c) * mr + qr + x];
                }
                small::row_times_lower(row, t2, k2);
            }
            for &g in &self.members[self.members_ptr[l]..self.members_ptr[l + 1]] {
                let lo = cp.rows_ptr[g as usize];
                let wz = &w[lo * k1..(lo + k2) * k1];
                let wx = &w[(lo + k2) * k1..(lo + k2 + border) * k1];
                subtract_gram(a, wz, wz, k1, k2, k2);
                subtract_cross(e, wx, wz, k1, k2);
            }
            if !small::chol(a, k2) {
                return None;
            }
            for row in e.chunks_exact_mut(k2) {
                small::row_solve_lower_t(row, a, k2);
            }
            // M_xx -= F F' (lower triangle)
            for c in 0..border {
                for r in c..border {
                    let dot: f64 = (0..k2).map(|m| e[r * k2 + m] * e[c * k2 + m]).sum();
                    self.mxx[c * border + r] -= dot;
                }
            }
        }
        // M_xx -= Σ_g W_gx W_gx'
        for g in 0..cp.g1 {
            let lo = cp.rows_ptr[g] + k2;
            let wx = &w[lo * k1..(lo + border) * k1];
            subtract_gram(&mut self.mxx, wx, wx, k1, border, border);
        }
        if !small::chol(&mut self.mxx, border) {
            return None;
        }
        let ld_r = small::sum_ln(
            self.ls
                .chunks_exact(kk)
                .flat_map(|a| a.iter().step_by(k2 + 1).copied()),
        );
        let diag = |i: usize| self.mxx[i * border + i];
        let ld_x = small::sum_ln((0..cp.p).map(diag));
        let lyy = diag(cp.p);
        Some((2.0 * ld_r, 2.0 * ld_x, lyy * lyy))
    }

    /// β̂ and the spherical modes of the level rows (q_R values) from the factor of the
    /// last successful [`Self::factor`]: back-substitution with the y row of the factor.
    pub(crate) fn solve(&self, p: usize) -> (Vec<f64>, Vec<f64>) {
        let (k2, border) = (self.k2, p + 1);
        let lxx = |i: usize, j: usize| self.mxx[j * border + i];
        let mut beta = vec![0.0; p];
        for c in (0..p).rev() {
            let mut s = lxx(p, c);
            for (d, b) in beta.iter().enumerate().skip(c + 1) {
                s -= lxx(d, c) * b;
            }
            beta[c] = s / lxx(c, c);
        }
        let g2 = self.members_ptr.len() - 1;
        let mut ur = vec![0.0; g2 * k2];
        for (l, u) in ur.chunks_exact_mut(k2).enumerate() {
            let f = &self.fs[l * border * k2..(l + 1) * border * k2];
            u.copy_from_slice(&f[p * k2..(p + 1) * k2]);
            for (x, b) in beta.iter().enumerate() {
                for (c, v) in u.iter_mut().enumerate() {
                    *v -= f[x * k2 + c] * b;
                }
            }
            small::solve_lower_t(u, &self.ls[l * k2 * k2..(l + 1) * k2 * k2], k2);
        }
        (beta, ur)
    }

    /// The selected inverse of M_PP ([`ArrowInverse`]) from the factor of the last
    /// successful [`Self::factor`]; `bp` is the number of border rows in P.
    pub(crate) fn arrow_inverse(&self, qr: usize, p: usize, bp: usize) -> ArrowInverse {
        let (k2, border) = (self.k2, p + 1);
        let kk = k2 * k2;
        let g2 = self.members_ptr.len() - 1;
        let mut inv = ArrowInverse {
            qr,
            k2,
            bp,
            sll: vec![0.0; g2 * kk],
            sxl: vec![0.0; g2 * bp * k2],
            sxx: vec![0.0; bp * bp],
        };
        // S_xx = L_P^{-T} L_P^{-1}
        let mut lp = vec![0.0; bp * bp];
        for c in 0..bp {
            for r in 0..bp {
                lp[c * bp + r] = self.mxx[c * border + r];
            }
        }
        let mut lp_inv = vec![0.0; bp * bp];
        small::lower_inverse(&lp, bp, &mut lp_inv);
        let mut eye = vec![0.0; bp * bp];
        for i in 0..bp {
            eye[i * bp + i] = 1.0;
        }
        small::congruence(&lp_inv, &eye, bp, &mut lp, &mut inv.sxx);
        let (mut l_inv, mut kmat, mut tmp) = (vec![0.0; kk], vec![0.0; kk], vec![0.0; kk]);
        for l in 0..g2 {
            let f = &self.fs[l * border * k2..l * border * k2 + bp * k2];
            let y = &mut inv.sxl[l * bp * k2..(l + 1) * bp * k2];
            // Y = S_xx F_P (bp×k2 row-major)
            for x in 0..bp {
                for c in 0..k2 {
                    y[x * k2 + c] = (0..bp).map(|z| inv.sxx[z * bp + x] * f[z * k2 + c]).sum();
                }
            }
            // K = I + F_P' Y
            for c in 0..k2 {
                for r in 0..k2 {
                    let s: f64 = (0..bp).map(|x| f[x * k2 + r] * y[x * k2 + c]).sum();
                    kmat[c * k2 + r] = s + f64::from(u8::from(r == c));
                }
            }
            small::lower_inverse(&self.ls[l * kk..(l + 1) * kk], k2, &mut l_inv);
            small::congruence(
                &l_inv,
                &kmat,
                k2,
                &mut tmp,
                &mut inv.sll[l * kk..(l + 1) * kk],
            );
            // S_xl = −Y L_l⁻¹
            for row in y.chunks_exact_mut(k2) {
                small::row_times_lower(row, &l_inv, k2);
                row.iter_mut().for_each(|v| *v = -*v);
            }
        }
        inv
    }

    /// Entry (i, j), i ≥ j, of the border factor Lxx ((p+1)×(p+1): X rows, then y).
    pub(crate) fn lxx(&self, p: usize, i: usize, j: usize) -> f64 {
        self.mxx[j * (p + 1) + i]
    }

    /// M_xx ← C_xx (the X/y corner of C; X and y are not scaled by Λ).
    fn load_border(&mut self, cp: &CrossProducts) {
        let (mr, qr, border) = (cp.mr, cp.qr, cp.p + 1);
        for c in 0..border {
            for r in 0..border {
                self.mxx[c * border + r] = cp.c[(qr + c) * mr + qr + r];
            }
        }
    }
}

/// out (column-major n×n, lower triangle) −= U V' where U, V hold n rows of k1 values.
fn subtract_gram(out: &mut [f64], u: &[f64], v: &[f64], k1: usize, n: usize, ld: usize) {
    if k1 == 1 {
        for (c, vc) in v.iter().enumerate().take(n) {
            let col = &mut out[c * ld + c..c * ld + n];
            col.iter_mut()
                .zip(&u[c..n])
                .for_each(|(o, ur)| *o -= ur * vc);
        }
        return;
    }
    for c in 0..n {
        let vc = &v[c * k1..(c + 1) * k1];
        for r in c..n {
            let ur = &u[r * k1..(r + 1) * k1];
            let dot: f64 = ur.iter().zip(vc).map(|(a, b)| a * b).sum();
            out[c * ld + r] -= dot;
        }
    }
}

/// e (row-major rows × k2) −= Wx Wz' where Wx holds the border rows and Wz the k2 block
/// rows, k1 values each.
fn subtract_cross(e: &mut [f64], wx: &[f64], wz: &[f64], k1: usize, k2: usize) {
    if k1 == 1 {
        for (row, ux) in e.chunks_exact_mut(k2).zip(wx) {
            row.iter_mut().zip(wz).for_each(|(v, uz)| *v -= ux * uz);
        }
        return;
    }
    for (row, ux) in e.chunks_exact_mut(k2).zip(wx.chunks_exact(k1)) {
        for (v, uz) in row.iter_mut().zip(wz.chunks_exact(k1)) {
            *v -= ux.iter().zip(uz).map(|(a, b)| a * b).sum::<f64>();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{design_with_x, random_term};
    use crate::{LinearMixedModel, ModelOptions};
    use mixedlm_design::Design;

    /// Students in classes in schools: `y ~ 1 + x + (1 + x | school) + (1 | school:class)`
    /// with deterministic pseudo-random values (k2 = 2), or `(1 | school)` (k2 = 1).
    fn nested_design(slopes: bool) -> Design {
        let (schools, classes, students) = (12, 5, 6);
        let n = schools * classes * students;
        let mut state = 12345u64;
        let mut unif = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let (mut y, mut x, mut school, mut class) = (vec![], vec![], vec![], vec![]);
        for s in 0..schools {
            let (us, vs) = (2.0 * unif(), unif());
            for c in 0..classes {
                let uc = unif();
                for _ in 0..students {
                    let xi = 3.0 * unif();
                    x.push(xi);
                    y.push(1.0 + 0.5 * xi + us + vs * xi + uc + 0.7 * unif());
                    school.push(s as u32);
                    class.push((s * classes + c) as u32);
                }
            }
        }
        let mut xdata = vec![1.0; n];
        xdata.extend_from_slice(&x);
        let school_term = if slopes {
            random_term("school", schools, school, xdata, &["(Intercept)", "x"])
        } else {
            random_term("school", schools, school, vec![1.0; n], &["(Intercept)"])
        };
        let class_term = random_term(
            "school:class",
            schools * classes,
            class,
            vec![1.0; n],
            &["(Intercept)"],
        );
        design_with_x(y, &x, vec![school_term, class_term], None)
    }

    #[test]
    fn nested_path_matches_dense_path() {
        for (slopes, thetas) in [
            (
                true,
                vec![
                    vec![0.8, 1.1, -0.3, 0.4],
                    vec![0.2, 0.5, 0.0, 0.0],
                    vec![1e-3, 2.0, 1.0, 0.5],
                ],
            ),
            (false, vec![vec![0.8, 1.1], vec![0.0, 0.3], vec![2.5, 1e-4]]),
        ] {
            let design = nested_design(slopes);
            for reml in [true, false] {
                let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                assert!(
                    nested.uses_nested(),
                    "classes within schools take the nested path"
                );
                let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                assert!(!dense.set_sparse(false));
                assert!(!dense.uses_nested());
                for theta in &thetas {
                    let (a, b) = (nested.objective(theta), dense.objective(theta));
                    assert!(
                        (a - b).abs() <= 1e-10 * b.abs(),
                        "theta {theta:?}: nested {a} dense {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn nested_gradient_matches_dense_gradient_and_differences() {
        for (slopes, thetas) in [
            (
                true,
                vec![
                    vec![0.8, 1.1, -0.3, 0.4],
                    vec![0.2, 0.5, 0.1, 0.05],
                    vec![1e-3, 2.0, 1.0, 0.5],
                ],
            ),
            (
                false,
                vec![vec![0.8, 1.1], vec![0.05, 0.3], vec![2.5, 1e-3]],
            ),
        ] {
            let design = nested_design(slopes);
            for reml in [true, false] {
                let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                assert!(nested.uses_nested() && nested.has_gradient());
                let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                dense.set_sparse(false);
                assert!(dense.has_gradient());
                let n = nested.n_theta();
                for theta in &thetas {
                    let (mut gn, mut gd) = (vec![0.0; n], vec![0.0; n]);
                    // once from a fresh factor, once after an evaluation elsewhere
                    nested.objective(&vec![0.5; n]);
                    assert!(nested.gradient(theta, &mut gn));
                    assert!(dense.gradient(theta, &mut gd));
                    let scale = gd.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                    for i in 0..n {
                        assert!(
                            (gn[i] - gd[i]).abs() <= 1e-8 * scale,
                            "reml {reml} theta {theta:?}: nested {gn:?} dense {gd:?}"
                        );
                        let h = 1e-6;
                        let (mut up, mut down) = (theta.clone(), theta.clone());
                        up[i] += h;
                        down[i] -= h;
                        let fd = (nested.objective(&up) - nested.objective(&down)) / (2.0 * h);
                        assert!(
                            (fd - gn[i]).abs() <= 1e-4 * scale,
                            "reml {reml} theta {theta:?} [{i}]: difference {fd} gradient {}",
                            gn[i]
                        );
                    }
                    // the gradient at the current θ reuses the factor of `objective`
                    nested.objective(theta);
                    let mut again = vec![0.0; n];
                    assert!(nested.gradient(theta, &mut again));
                    assert_eq!(again, gn);
                }
            }
        }
    }

    fn assert_all_close(what: &str, a: &[f64], b: &[f64], rel: f64) {
        assert_eq!(a.len(), b.len(), "{what}");
        let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= rel * scale, "{what}: {a:?} vs {b:?}");
        }
    }

    /// β̂, Lxx, the spherical modes and the conditional covariances read from the arrow
    /// factor (after the nested path's objective) equal those of the dense factor.
    #[test]
    fn estimates_from_the_arrow_factor_match_the_dense_factor() {
        for (slopes, theta) in [(true, vec![0.8, 1.1, -0.3, 0.4]), (false, vec![0.7, 1.3])] {
            let design = nested_design(slopes);
            for reml in [true, false] {
                let mut nested = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                let mut dense = LinearMixedModel::new(&design, ModelOptions { reml }).unwrap();
                dense.set_sparse(false);
                assert!(nested.objective(&theta).is_finite());
                assert!(dense.evaluate(&theta));
                let tag = format!("slopes {slopes} reml {reml}");
                assert_all_close(&tag, &nested.beta(), &dense.beta(), 1e-11);
                let (ln, ld) = (nested.lxx(), dense.lxx());
                for j in 0..ln.ncols() {
                    for i in 0..ln.nrows() {
                        assert!((ln[(i, j)] - ld[(i, j)]).abs() <= 1e-10 * ld[(0, 0)].abs());
                    }
                }
                let modes = nested.spherical_modes();
                assert_all_close(&tag, &modes, &dense.spherical_modes(), 1e-10);
                let (cn, cd) = (
                    nested.conditional_covariances(),
                    dense.conditional_covariances(),
                );
                assert_eq!(cn.len(), 2);
                for (a, b) in cn.iter().zip(&cd) {
                    assert_all_close(&tag, a, b, 1e-10);
                }
                // and a whole fit: estimates from the arrow factor, same as the dense path
                let (fa, fb) = (
                    nested.fit(&Default::default()).unwrap(),
                    dense
                        .fit(&crate::FitOptions {
                            start: Some(nested.theta().to_vec()),
                            ..Default::default()
                        })
                        .unwrap(),
                );
                assert!((fa.objective - fb.objective).abs() <= 1e-9 * fb.objective.abs());
                assert_all_close(&tag, &fa.se, &fb.se, 1e-5);
            }
        }
    }

    #[test]
    fn crossed_terms_do_not_take_the_nested_path() {
        let mut design = nested_design(false);
        // classes 0..4 recur in every school: crossed with school, not nested
        for c in &mut design.random[1].codes {
            *c %= 5;
        }
        design.random[1].levels.truncate(5);
        let model = LinearMixedModel::new(&design, ModelOptions::default()).unwrap();
        assert!(!model.uses_nested());
    }
}
