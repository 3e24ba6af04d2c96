//! Shifted sums (see [`crate::shift`]): the statistics subtract, from y and from X's
//! columns, their means over the first batch a worker accumulates, so that large-valued
//! columns lose no digits to cancellation. Workers fix their shifts independently; the
//! merge moves one set of sums onto the other's shift by the same column operation
//! (subtract δ times the intercept column), whose terms are of the data's spread, not of
//! their distance from zero.

use mixedlm_design::Design;

use super::CrossProductSums;
use crate::shift::Shift;

/// The name of the intercept column, which absorbs the shift.
const INTERCEPT: &str = "(Intercept)";

impl CrossProductSums {
    /// The shift the first batch fixes: the batch's means of y − offset and of every X
    /// column after the intercept, when X's first column is the intercept; none otherwise.
    pub(super) fn shift_for_batch(&self, design: &Design) -> Shift {
        let n = design.n_obs();
        let mut shift = Shift::none(self.pf);
        if n == 0 || self.layout.x_names.first().map(String::as_str) != Some(INTERCEPT) {
            return shift;
        }
        let mean = |v: &mut dyn Iterator<Item = f64>| v.sum::<f64>() / n as f64;
        shift.y = match &design.offset {
            None => mean(&mut design.y.iter().copied()),
            Some(o) => mean(&mut design.y.iter().zip(o).map(|(y, o)| y - o)),
        };
        for (j, d) in shift.x.iter_mut().enumerate().skip(1) {
            *d = mean(&mut design.x.data[j * n..(j + 1) * n].iter().copied());
        }
        if !shift.y.is_finite() || shift.x.iter().any(|d| !d.is_finite()) {
            // Non-finite data: left for the model's own check to report.
            return Shift::none(self.pf);
        }
        shift
    }

    /// Move the sums onto `to`: every X column j and y become v − δ·(intercept column),
    /// δ = to − current shift, in the X and y rows of B and in R'R.
    pub(super) fn reshift(&mut self, to: &Shift) {
        let from = self.shift.clone().unwrap_or_else(|| Shift::none(self.pf));
        let (qr, pf) = (self.qr, self.pf);
        let m = qr + pf + 1;
        let delta: Vec<f64> = (0..m)
            .map(|i| match i {
                _ if i <= qr => 0.0,
                _ if i < qr + pf => to.x[i - qr] - from.x[i - qr],
                _ => to.y - from.y,
            })
            .collect();
        self.reshift_bxy(&delta[qr..]);
        self.reshift_c(&delta);
        self.shift = Some(to.clone());
    }

    /// The X and y rows of B per level of term 1: row r −= δ_r · row 0 (the intercept).
    fn reshift_bxy(&mut self, delta: &[f64]) {
        let k1 = self.layout.terms[self.order[0]].k();
        for level in self.bxy.chunks_exact_mut((self.pf + 1) * k1) {
            let (intercept, rest) = level.split_at_mut(k1);
            for (row, &d) in rest.chunks_exact_mut(k1).zip(&delta[1..]) {
                row.iter_mut()
                    .zip(&*intercept)
                    .for_each(|(v, i)| *v -= d * i);
            }
        }
    }

    /// R'R (upper triangle, row-major): entry (i, j) becomes
    /// C_ij − δ_j C_iu − δ_i C_uj + δ_i δ_j C_uu, u the intercept's index.
    fn reshift_c(&mut self, delta: &[f64]) {
        let (qr, m) = (self.qr, delta.len());
        let at = |i: usize, j: usize| i.min(j) * m + i.max(j);
        let cu: Vec<f64> = (0..m).map(|i| self.c[at(i, qr)]).collect();
        let cuu = cu[qr];
        for i in 0..m {
            for j in i.max(qr)..m {
                let (di, dj) = (delta[i], delta[j]);
                if di != 0.0 || dj != 0.0 {
                    self.c[i * m + j] += -dj * cu[i] - di * cu[j] + di * dj * cuu;
                }
            }
        }
    }
}
