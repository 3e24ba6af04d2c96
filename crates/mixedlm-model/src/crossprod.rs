//! The cross-products, formed once in one pass over the rows.
//!
//! With term 1 (the term with most levels, G1 levels × k1 columns) and the "rest"
//! R = [Z_2 .. Z_m, X, y] (m_r columns), the data enter only through
//! - D  = the G1 diagonal k1×k1 blocks of Z1'Z1 (Z1'Z1 is block diagonal),
//! - B  = R'Z1, stored per level g of term 1 as a packed list of the rows of R that
//!   co-occur with g (whole level blocks of Z_j, then the p + 1 rows of X and y), k1
//!   values per row,
//! - C  = R'R, dense m_r × m_r (both triangles filled).
//!
//! Rows are scaled by √w (prior weights) and the offset is subtracted from y first.
//! Partial sums over disjoint row chunks simply add, so large inputs are summed in
//! parallel with rayon.

use crate::terms::Term;
use mixedlm_design::dot;
use rayon::prelude::*;

/// Above this many rows the pass runs in parallel over row chunks.
pub const PARALLEL_ROWS: usize = 50_000;

/// The row-wise inputs, already weighted: everything the pass reads.
#[derive(Debug, Clone)]
pub struct Rows {
    /// Number of rows.
    pub n: usize,
    /// Per engine-ordered term: level codes (n).
    pub codes: Vec<Vec<u32>>,
    /// Per engine-ordered term: √w-scaled model columns, column-major n × k.
    pub z: Vec<Vec<f64>>,
    /// √w-scaled X, column-major n × p.
    pub x: Vec<f64>,
    /// Number of X columns.
    pub p: usize,
    /// √w-scaled y − offset.
    pub y: Vec<f64>,
}

/// The cross-products and the fixed sparsity pattern of B.
#[derive(Debug, Clone)]
pub struct CrossProducts {
    /// Levels of term 1.
    pub g1: usize,
    /// Columns per level of term 1.
    pub k1: usize,
    /// Columns of Z_2 .. Z_m together.
    pub qr: usize,
    /// Columns of X.
    pub p: usize,
    /// Columns of R: qr + p + 1.
    pub mr: usize,
    /// D: g1 blocks of k1×k1, column-major.
    pub d: Vec<f64>,
    /// Start of level g's packed rows in `rows` / `b` (g1 + 1 entries).
    pub rows_ptr: Vec<usize>,
    /// Row of R of each packed row.
    pub rows: Vec<usize>,
    /// B values: k1 per packed row (row-major).
    pub b: Vec<f64>,
    /// C = R'R, column-major m_r × m_r, both triangles.
    pub c: Vec<f64>,
    /// For each of the qr rows of the Z part of R: its (engine-ordered) term.
    pub r_term: Vec<usize>,
}

#[derive(Clone)]
struct Partial {
    d: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
}

impl Partial {
    fn zeros(cp: &CrossProducts) -> Self {
        Partial {
            d: vec![0.0; cp.d.len()],
            b: vec![0.0; cp.b.len()],
            c: vec![0.0; cp.c.len()],
        }
    }
    fn add(mut self, other: Partial) -> Partial {
        for (a, b) in [
            (&mut self.d, &other.d),
            (&mut self.b, &other.b),
            (&mut self.c, &other.c),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self
    }
}

impl CrossProducts {
    /// Analyze the pattern and accumulate all cross-products in one pass.
    pub fn new(rows: &Rows, terms: &[Term]) -> Self {
        let mut cp = Self::pattern(rows, terms);
        let part = if rows.n > PARALLEL_ROWS {
            let chunk = rows.n.div_ceil(rayon::current_num_threads().max(1));
            (0..rows.n)
                .into_par_iter()
                .step_by(chunk)
                .map(|start| cp.accumulate(rows, terms, start..(start + chunk).min(rows.n)))
                .reduce_with(Partial::add)
                .unwrap_or_else(|| Partial::zeros(&cp))
        } else {
            cp.accumulate(rows, terms, 0..rows.n)
        };
        cp.d = part.d;
        cp.b = part.b;
        cp.c = part.c;
        cp.symmetrize();
        cp
    }

    /// Symbolic analysis: which level blocks of Z_2 .. Z_m co-occur with each level of term 1.
    fn pattern(rows: &Rows, terms: &[Term]) -> Self {
        let (g1, k1) = (terms[0].n_levels(), terms[0].k);
        let qr: usize = terms[1..].iter().map(|t| t.k * t.n_levels()).sum();
        let (p, mr) = (rows.p, qr + rows.p + 1);
        let mut r_term = vec![0; qr];
        for (j, t) in terms.iter().enumerate().skip(1) {
            r_term[t.r_offset..t.r_offset + t.k * t.n_levels()].fill(j);
        }
        let mut keys: Vec<(u32, u32, u32)> = Vec::with_capacity(rows.n * (terms.len() - 1));
        for i in 0..rows.n {
            let g = rows.codes[0][i];
            for (j, t) in terms.iter().enumerate().skip(1) {
                let start = t.r_offset + t.k * rows.codes[j][i] as usize;
                keys.push((g, start as u32, j as u32));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let mut rows_ptr = Vec::with_capacity(g1 + 1);
        let mut packed = Vec::with_capacity(keys.len() + g1 * (p + 1));
        let mut next = 0;
        for g in 0..g1 {
            rows_ptr.push(packed.len());
            while next < keys.len() && keys[next].0 as usize == g {
                let (_, start, j) = keys[next];
                packed.extend(start as usize..start as usize + terms[j as usize].k);
                next += 1;
            }
            packed.extend(qr..mr);
        }
        rows_ptr.push(packed.len());
        CrossProducts {
            g1,
            k1,
            qr,
            p,
            mr,
            d: vec![0.0; g1 * k1 * k1],
            b: vec![0.0; packed.len() * k1],
            rows: packed,
            rows_ptr,
            c: vec![0.0; mr * mr],
            r_term,
        }
    }

    /// Cross-products accumulated elsewhere (see [`crate::stats`]): `d`, the pattern
    /// `rows_ptr`/`rows` with values `b`, and `c` (both triangles), laid out as
    /// [`Self::new`] lays them out for `terms` and p fixed-effects columns.
    pub(crate) fn from_parts(
        terms: &[Term],
        p: usize,
        d: Vec<f64>,
        rows_ptr: Vec<usize>,
        rows: Vec<usize>,
        b: Vec<f64>,
        c: Vec<f64>,
    ) -> Self {
        let (g1, k1) = (terms[0].n_levels(), terms[0].k);
        let qr: usize = terms[1..].iter().map(|t| t.k * t.n_levels()).sum();
        let mut r_term = vec![0; qr];
        for (j, t) in terms.iter().enumerate().skip(1) {
            r_term[t.r_offset..t.r_offset + t.k * t.n_levels()].fill(j);
        }
        CrossProducts {
            g1,
            k1,
            qr,
            p,
            mr: qr + p + 1,
            d,
            rows_ptr,
            rows,
            b,
            c,
            r_term,
        }
    }

    /// Packed position of R-row `r` among level g's rows (binary search; r must be present).
    pub fn position(&self, g: usize, r: usize) -> usize {
        let (lo, hi) = (self.rows_ptr[g], self.rows_ptr[g + 1]);
        lo + self.rows[lo..hi].partition_point(|&x| x < r)
    }

    fn accumulate(&self, rows: &Rows, terms: &[Term], range: std::ops::Range<usize>) -> Partial {
        if terms.len() == 1 {
            return match self.k1 {
                1 => self.accumulate_single::<1>(rows, range),
                2 => self.accumulate_single::<2>(rows, range),
                3 => self.accumulate_single::<3>(rows, range),
                _ => self.accumulate_general(rows, terms, range),
            };
        }
        self.accumulate_general(rows, terms, range)
    }

    fn accumulate_general(
        &self,
        rows: &Rows,
        terms: &[Term],
        range: std::ops::Range<usize>,
    ) -> Partial {
        let mut part = Partial::zeros(self);
        let (k1, n, mr, qr, p) = (self.k1, rows.n, self.mr, self.qr, rows.p);
        self.add_xy_products(&mut part.c, rows, range.clone());
        let mut idx: Vec<usize> = Vec::with_capacity(mr.min(64));
        let mut val: Vec<f64> = Vec::with_capacity(mr.min(64));
        let mut z1 = vec![0.0; k1];
        // the packed position of each later term's block for the last (level, block) seen:
        // rows often come grouped, so most lookups skip the binary search
        let mut memo = vec![(usize::MAX, usize::MAX, 0usize); terms.len()];
        for i in range {
            let g = rows.codes[0][i] as usize;
            for (c, z) in z1.iter_mut().enumerate() {
                *z = rows.z[0][c * n + i];
            }
            let dg = &mut part.d[g * k1 * k1..(g + 1) * k1 * k1];
            for a in 0..k1 {
                for b in 0..k1 {
                    dg[b * k1 + a] += z1[a] * z1[b];
                }
            }
            idx.clear();
            val.clear();
            for (j, t) in terms.iter().enumerate().skip(1) {
                let start = t.r_offset + t.k * rows.codes[j][i] as usize;
                let m = &mut memo[j];
                if m.0 != g || m.1 != start {
                    *m = (g, start, self.position(g, start));
                }
                for a in 0..t.k {
                    let v = rows.z[j][a * n + i];
                    idx.push(start + a);
                    val.push(v);
                    let row = &mut part.b[(m.2 + a) * k1..(m.2 + a + 1) * k1];
                    row.iter_mut().zip(&z1).for_each(|(r, z)| *r += v * z);
                }
            }
            // X and y: the last p + 1 packed rows of level g
            let pos = self.rows_ptr[g + 1] - (p + 1);
            let bx = &mut part.b[pos * k1..(pos + p + 1) * k1];
            for (c, row) in bx.chunks_exact_mut(k1).enumerate() {
                let v = if c < p { rows.x[c * n + i] } else { rows.y[i] };
                row.iter_mut().zip(&z1).for_each(|(r, z)| *r += v * z);
            }
            // C: the Z columns of R against all of R (X and y against each other are
            // summed by columns in `add_xy_products`)
            let nz = idx.len();
            for a in 0..nz {
                let col = &mut part.c[idx[a] * mr..(idx[a] + 1) * mr];
                let va = val[a];
                for b in a..nz {
                    col[idx[b]] += va * val[b];
                }
                for c in 0..p {
                    col[qr + c] += va * rows.x[c * n + i];
                }
                col[mr - 1] += va * rows.y[i];
            }
        }
        part
    }

    /// The X/y corner of C (lower triangle) over `range`: column dot products in blocks of
    /// rows, so each block is read from cache by every pair.
    fn add_xy_products(&self, c: &mut [f64], rows: &Rows, range: std::ops::Range<usize>) {
        let (n, mr, qr) = (rows.n, self.mr, self.qr);
        let cols: Vec<&[f64]> = (0..rows.p)
            .map(|c| &rows.x[c * n..(c + 1) * n][range.clone()])
            .chain(std::iter::once(&rows.y[range.clone()]))
            .collect();
        let len = range.len();
        let mut start = 0;
        while start < len {
            let end = (start + 2048).min(len);
            for (a, ca) in cols.iter().enumerate() {
                for (b, cb) in cols.iter().enumerate().skip(a) {
                    c[(qr + a) * mr + qr + b] += dot(&ca[start..end], &cb[start..end]);
                }
            }
            start = end;
        }
    }

    /// [`Self::accumulate`] for a model with one random term: R = [X, y], so each level's
    /// packed rows of B are all of R in order and no lookup is needed.
    /// `K` = k1 (1, 2 or 3), known at compile time so the small loops unroll.
    /// C = R'R takes column dot products (vectorized); D and B one pass over the rows.
    fn accumulate_single<const K: usize>(
        &self,
        rows: &Rows,
        range: std::ops::Range<usize>,
    ) -> Partial {
        let mut part = Partial::zeros(self);
        let (n, mr, p) = (rows.n, self.mr, rows.p);
        fn column(data: &[f64], n: usize, c: usize, range: std::ops::Range<usize>) -> &[f64] {
            &data[c * n..(c + 1) * n][range]
        }
        let col = |data, c| column(data, n, c, range.clone());
        self.add_xy_products(&mut part.c, rows, range.clone());
        let cols: Vec<&[f64]> = (0..p)
            .map(|c| col(&rows.x, c))
            .chain(std::iter::once(&rows.y[range.clone()]))
            .collect();
        let z: [&[f64]; K] = std::array::from_fn(|c| col(&rows.z[0], c));
        let codes = &rows.codes[0][range.clone()];
        // D's and B's entries of a level side by side (one place in cache per row); level
        // g's packed rows of B are rows g·mr .. (g+1)·mr
        let stride = K * K + mr * K;
        let mut db = vec![0.0; self.g1 * stride];
        for (i, &g) in codes.iter().enumerate() {
            let g = g as usize;
            let z1: [f64; K] = std::array::from_fn(|c| z[c][i]);
            let (dg, bg) = db[g * stride..(g + 1) * stride].split_at_mut(K * K);
            for a in 0..K {
                for b in 0..K {
                    dg[b * K + a] += z1[a] * z1[b];
                }
            }
            // each value read from its column (a gathered row buffer stalled on store
            // forwarding)
            for (row, c) in bg.chunks_exact_mut(K).zip(&cols) {
                let v = c[i];
                for (r, z) in row.iter_mut().zip(&z1) {
                    *r += v * z;
                }
            }
        }
        for (g, level) in db.chunks_exact(stride).enumerate() {
            part.d[g * K * K..(g + 1) * K * K].copy_from_slice(&level[..K * K]);
            let pos = self.rows_ptr[g];
            part.b[pos * K..(pos + mr) * K].copy_from_slice(&level[K * K..]);
        }
        part
    }

    fn symmetrize(&mut self) {
        let mr = self.mr;
        for j in 0..mr {
            for i in j + 1..mr {
                self.c[i * mr + j] = self.c[j * mr + i];
            }
        }
    }

    /// Recompute only what depends on y (the y row of B, the y column of C) for a new
    /// weighted response `rows.y`. O(N).
    pub fn update_response(&mut self, rows: &Rows, terms: &[Term]) {
        let (k1, n, mr) = (self.k1, rows.n, self.mr);
        for g in 0..self.g1 {
            let pos = self.rows_ptr[g + 1] - 1;
            self.b[pos * k1..(pos + 1) * k1].fill(0.0);
        }
        let ycol = (mr - 1) * mr;
        self.c[ycol..ycol + mr].fill(0.0);
        for i in 0..n {
            let (g, y) = (rows.codes[0][i] as usize, rows.y[i]);
            let pos = self.rows_ptr[g + 1] - 1;
            for c in 0..k1 {
                self.b[pos * k1 + c] += y * rows.z[0][c * n + i];
            }
            for (j, t) in terms.iter().enumerate().skip(1) {
                let start = t.r_offset + t.k * rows.codes[j][i] as usize;
                for a in 0..t.k {
                    self.c[ycol + start + a] += y * rows.z[j][a * n + i];
                }
            }
            for c in 0..rows.p {
                self.c[ycol + self.qr + c] += y * rows.x[c * n + i];
            }
            self.c[ycol + mr - 1] += y * y;
        }
        for r in 0..mr {
            self.c[r * mr + mr - 1] = self.c[ycol + r];
        }
    }
}
