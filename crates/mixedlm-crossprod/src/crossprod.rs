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

use crate::rows::Rows;
use crate::terms::Term;
use mixedlm_design::dot;
use rayon::prelude::*;

/// Column c of a column-major array with n rows, over `range`.
fn column(data: &[f64], n: usize, c: usize, range: std::ops::Range<usize>) -> &[f64] {
    &data[c * n..(c + 1) * n][range]
}

/// Rows in a run with the same level of every term from which the general pass sums the
/// run by column dot products (below it, row by row).
const RUN_MIN: usize = 4;

/// Above this many rows the pass runs in parallel over row chunks. Below it the pass is
/// about as short as a sleeping rayon worker's wake-up (see `mixedlm-model`'s `active_wait`), so a
/// second thread adds a heavier tail to cold fits and nothing to their median.
pub const PARALLEL_ROWS: usize = 200_000;

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

/// One chunk's sums. The single-term pass keeps C dense (it is (p + 1)²); the general
/// pass keeps C's entries by kind, so that a chunk holds no m_r × m_r matrix unless the
/// model has pairs of rows from two different later terms.
#[derive(Clone)]
struct Partial {
    d: Vec<f64>,
    b: Vec<f64>,
    /// Dense C, lower triangle (single term); or, in the general pass, the pairs of rows
    /// of two different later terms (empty with one later term): column-major, columns
    /// 0..[`Cross::ncols`] (every later term but the last), rows [`Cross::row0`]..q_R
    /// (every later term but the first), so that C's X/y part and the blocks of the
    /// first later term with itself take no room.
    c: Vec<f64>,
    /// General pass, per later term: per level and column a of its block, the block's
    /// column a, then its products with X and y (k + p + 1 values).
    blocks: Vec<Vec<f64>>,
    /// General pass: the X/y corner of C, (p + 1)², lower triangle, column-major.
    xy: Vec<f64>,
}

/// The rectangle of C that holds the general pass's pairs of two different later terms.
#[derive(Clone, Copy)]
struct Cross {
    /// First R-row of the second later term: the rectangle's first row.
    row0: usize,
    /// Rows: the later terms' columns from `row0` on.
    nrows: usize,
    /// Columns: the later terms' columns up to the last term's.
    ncols: usize,
}

impl Cross {
    fn of(cp: &CrossProducts, terms: &[Term]) -> Self {
        let row0 = terms.get(2).map_or(cp.qr, |t| t.r_offset);
        let ncols = terms.last().map_or(0, |t| t.r_offset);
        Cross {
            row0,
            nrows: cp.qr - row0,
            ncols,
        }
    }

    /// Position of the pair (R-row `row`, R-column `col`), col < row in earlier terms.
    #[inline]
    fn at(&self, col: usize, row: usize) -> usize {
        col * self.nrows + row - self.row0
    }
}

/// One row of the general pass: its later terms' R-rows and values (each term's first in
/// `first`), term 1's values and the row of [X y].
struct RowScratch {
    idx: Vec<usize>,
    val: Vec<f64>,
    first: Vec<usize>,
    z1: Vec<f64>,
    xy: Vec<f64>,
}

impl RowScratch {
    fn new(cp: &CrossProducts, n_terms: usize, p1: usize) -> Self {
        RowScratch {
            idx: Vec::with_capacity(cp.mr.min(64)),
            val: Vec::with_capacity(cp.mr.min(64)),
            first: Vec::with_capacity(n_terms + 1),
            z1: vec![0.0; cp.k1],
            xy: vec![0.0; p1],
        }
    }
}

impl Partial {
    fn zeros(cp: &CrossProducts) -> Self {
        Partial {
            d: vec![0.0; cp.d.len()],
            b: vec![0.0; cp.b.len()],
            c: vec![0.0; cp.mr * cp.mr],
            blocks: Vec::new(),
            xy: Vec::new(),
        }
    }

    fn zeros_general(cp: &CrossProducts, terms: &[Term]) -> Self {
        let p1 = cp.p + 1;
        let cross = terms.len() > 2;
        Partial {
            d: vec![0.0; cp.d.len()],
            b: vec![0.0; cp.b.len()],
            c: if cross {
                let x = Cross::of(cp, terms);
                vec![0.0; x.ncols * x.nrows]
            } else {
                Vec::new()
            },
            blocks: terms[1..]
                .iter()
                .map(|t| vec![0.0; t.n_levels() * t.k * (t.k + p1)])
                .collect(),
            xy: vec![0.0; p1 * p1],
        }
    }

    fn add(mut self, other: Partial) -> Partial {
        let pairs = [
            (&mut self.d, &other.d),
            (&mut self.b, &other.b),
            (&mut self.c, &other.c),
            (&mut self.xy, &other.xy),
        ];
        for (a, b) in pairs
            .into_iter()
            .chain(self.blocks.iter_mut().zip(&other.blocks))
        {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self
    }
}

impl CrossProducts {
    /// Analyze the pattern and accumulate all cross-products in one pass.
    pub fn new(rows: &Rows, terms: &[Term]) -> Self {
        let mut cp = Self::pattern(rows, terms);
        cp.fill(rows, terms);
        cp
    }

    /// The values of D, B and C from `rows` (one pass), keeping the pattern: for new
    /// weights or a new response on the same rows and levels.
    pub fn fill(&mut self, rows: &Rows, terms: &[Term]) {
        let part = if rows.n > PARALLEL_ROWS {
            let chunk = rows.n.div_ceil(rayon::current_num_threads().max(1));
            (0..rows.n)
                .into_par_iter()
                .step_by(chunk)
                .map(|start| self.accumulate(rows, terms, start..(start + chunk).min(rows.n)))
                .reduce_with(Partial::add)
        } else {
            None
        }
        .unwrap_or_else(|| self.accumulate(rows, terms, 0..rows.n));
        self.d = part.d;
        self.b = part.b;
        // the general pass always has the X/y corner (one term with k1 > 3 takes it too)
        if part.xy.is_empty() {
            self.c = part.c;
            self.symmetrize();
        } else {
            self.assemble_c(part.c, &part.blocks, &part.xy, terms);
        }
    }

    /// Whether every diagonal entry of D and C is finite. Each is a sum of squares of one
    /// column of the data (term 1's columns level by level in D; the later terms' columns,
    /// X and y in C), and every entry of the data enters one of them: a NaN or ±∞ anywhere
    /// makes one NaN or +∞. (So can finite values whose squares overflow, above ~1e154.)
    pub fn diagonals_finite(&self) -> bool {
        let (k1, mr) = (self.k1, self.mr);
        let d = self
            .d
            .chunks_exact(k1 * k1)
            .all(|block| (0..k1).all(|a| block[a * k1 + a].is_finite()));
        d && (0..mr).all(|i| self.c.get(i * mr + i).is_none_or(|v| v.is_finite()))
    }

    /// C from the general pass's parts: the pairs of different later terms (their
    /// rectangle, see [`Cross`]; empty if none), each later term's level blocks with their X and y
    /// products, and the X/y corner; both triangles. With one later term nothing else is
    /// written, so most of C is never touched.
    fn assemble_c(&mut self, cross: Vec<f64>, blocks: &[Vec<f64>], xy: &[f64], terms: &[Term]) {
        let (mr, qr, p1) = (self.mr, self.qr, self.p + 1);
        let x = Cross::of(self, terms);
        self.c = vec![0.0; mr * mr];
        let c = &mut self.c;
        if !cross.is_empty() {
            // only the non-zero pairs are written: most of C is never touched
            for (col, vals) in cross.chunks_exact(x.nrows).enumerate() {
                for (e, &v) in vals.iter().enumerate() {
                    if v != 0.0 {
                        let row = x.row0 + e;
                        c[col * mr + row] = v;
                        c[row * mr + col] = v;
                    }
                }
            }
        }
        for (t, blk) in terms[1..].iter().zip(blocks) {
            let (k, stride) = (t.k, t.k + p1);
            for l in 0..t.n_levels() {
                let start = t.r_offset + l * k;
                for a in 0..k {
                    let col = start + a;
                    let vals = &blk[(l * k + a) * stride..(l * k + a + 1) * stride];
                    c[col * mr + start..col * mr + start + k].copy_from_slice(&vals[..k]);
                    for (e, &v) in vals[k..].iter().enumerate() {
                        c[col * mr + qr + e] = v;
                        c[(qr + e) * mr + col] = v;
                    }
                }
            }
        }
        for a in 0..p1 {
            for b in a..p1 {
                let v = xy[a * p1 + b];
                c[(qr + a) * mr + qr + b] = v;
                c[(qr + b) * mr + qr + a] = v;
            }
        }
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
        // the (block start, term) pairs of each level of term 1, bucketed by level with a
        // counting pass, then sorted and deduplicated level by level: O(N) plus small sorts
        // A row with the same levels as the row before adds nothing (rows sorted by level).
        let per_row = terms.len() - 1;
        let repeats = |i: usize| i > 0 && rows.same_levels(i, i - 1);
        let mut bucket = vec![0usize; g1 + 1];
        for (i, &g) in rows.codes[0].iter().enumerate() {
            if !repeats(i) {
                bucket[g as usize + 1] += per_row;
            }
        }
        for g in 0..g1 {
            bucket[g + 1] += bucket[g];
        }
        let mut fill = bucket.clone();
        let mut keys = vec![(0u32, 0u32); bucket[g1]];
        for i in 0..rows.n {
            if repeats(i) {
                continue;
            }
            let g = rows.codes[0][i] as usize;
            for (j, t) in terms.iter().enumerate().skip(1) {
                let start = t.r_offset + t.k * rows.codes[j][i] as usize;
                keys[fill[g]] = (start as u32, j as u32);
                fill[g] += 1;
            }
        }
        let mut rows_ptr = Vec::with_capacity(g1 + 1);
        let mut packed = Vec::with_capacity(g1 * (p + 1));
        for g in 0..g1 {
            rows_ptr.push(packed.len());
            let level = &mut keys[bucket[g]..bucket[g + 1]];
            level.sort_unstable();
            let mut last = None;
            for &(start, j) in level.iter() {
                if last != Some(start) {
                    packed.extend(start as usize..start as usize + terms[j as usize].k);
                    last = Some(start);
                }
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
            // the pass's parts make C (assemble_c), or become it
            c: Vec::new(),
            r_term,
        }
    }

    /// Cross-products accumulated elsewhere (see [`crate::sums`]): `d`, the pattern
    /// `rows_ptr`/`rows` with values `b`, and `c` (both triangles), laid out as
    /// [`Self::new`] lays them out for `terms` and p fixed-effects columns.
    pub fn from_parts(
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

    /// [`Self::position`] of level g's block starting at R-row `start`, remembered in
    /// `memo` (the last level, block and position seen): rows often come grouped, so most
    /// lookups skip the binary search.
    fn memo_position(&self, memo: &mut (usize, usize, usize), g: usize, start: usize) -> usize {
        if memo.0 != g || memo.1 != start {
            *memo = (g, start, self.position(g, start));
        }
        memo.2
    }

    /// Packed position of R-row `r` among level g's rows (binary search; r must be present).
    #[inline]
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
        let mut part = Partial::zeros_general(self, terms);
        let p1 = rows.p + 1;
        add_xy_products(&mut part.xy, 0, p1, rows, range.clone());
        let xr = Cross::of(self, terms);
        let mut row = RowScratch::new(self, terms.len(), p1);
        // the packed position of each later term's block for the last (level, block) seen:
        // rows often come grouped, so most lookups skip the binary search
        let mut memo = vec![(usize::MAX, usize::MAX, 0usize); terms.len()];
        let mut i = range.start;
        while i < range.end {
            // rows sorted by level (a frequent layout) come in runs with the same level of
            // every term: their sums are column dot products over the run
            let mut end = i + 1;
            while end < range.end && end - i < RUN_MIN && rows.same_levels(i, end) {
                end += 1;
            }
            if end - i == RUN_MIN {
                while end < range.end && rows.same_levels(i, end) {
                    end += 1;
                }
                self.add_run(&mut part, rows, terms, i..end, &mut memo, &xr);
                i = end;
                continue;
            }
            self.add_row(&mut part, rows, terms, i, &mut row, &mut memo, &xr);
            i += 1;
        }
        part
    }

    /// The general pass's sums of one row `i`: D, its packed rows of B, the level blocks of
    /// C with their X and y products, and C's pairs of two different later terms.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn add_row(
        &self,
        part: &mut Partial,
        rows: &Rows,
        terms: &[Term],
        i: usize,
        row: &mut RowScratch,
        memo: &mut [(usize, usize, usize)],
        xr: &Cross,
    ) {
        let (k1, n, p) = (self.k1, rows.n, rows.p);
        let p1 = p + 1;
        let g = rows.codes[0][i] as usize;
        for (c, z) in row.z1.iter_mut().enumerate() {
            *z = rows.z[0][c * n + i];
        }
        for (c, v) in row.xy.iter_mut().enumerate() {
            *v = if c < p { rows.x[c * n + i] } else { rows.y[i] };
        }
        let z1 = &row.z1;
        let dg = &mut part.d[g * k1 * k1..(g + 1) * k1 * k1];
        for a in 0..k1 {
            for b in 0..k1 {
                dg[b * k1 + a] += z1[a] * z1[b];
            }
        }
        row.idx.clear();
        row.val.clear();
        row.first.clear();
        for (j, t) in terms.iter().enumerate().skip(1) {
            let k = t.k;
            let level = rows.codes[j][i] as usize;
            let start = t.r_offset + k * level;
            let pos = self.memo_position(&mut memo[j], g, start);
            row.first.push(row.val.len());
            for a in 0..k {
                let v = rows.z[j][a * n + i];
                row.idx.push(start + a);
                row.val.push(v);
                let brow = &mut part.b[(pos + a) * k1..(pos + a + 1) * k1];
                brow.iter_mut().zip(z1).for_each(|(r, z)| *r += v * z);
            }
            // the level block of C and its X and y products
            let zj = &row.val[row.val.len() - k..];
            let stride = k + p1;
            let blk = &mut part.blocks[j - 1][level * k * stride..(level + 1) * k * stride];
            for (col, &va) in blk.chunks_exact_mut(stride).zip(zj) {
                let (within, outer) = col.split_at_mut(k);
                within.iter_mut().zip(zj).for_each(|(c, &vb)| *c += va * vb);
                outer
                    .iter_mut()
                    .zip(&row.xy)
                    .for_each(|(c, &v)| *c += va * v);
            }
        }
        // X and y: the last p + 1 packed rows of level g
        let pos = self.rows_ptr[g + 1] - p1;
        let bx = &mut part.b[pos * k1..(pos + p1) * k1];
        for (brow, &v) in bx.chunks_exact_mut(k1).zip(&row.xy) {
            brow.iter_mut().zip(z1).for_each(|(r, z)| *r += v * z);
        }
        // C: pairs of rows of two different later terms (lower triangle)
        if !part.c.is_empty() {
            let (idx, val, first) = (&row.idx, &row.val, &mut row.first);
            first.push(val.len());
            for t in 0..first.len() - 2 {
                for a in first[t]..first[t + 1] {
                    let col = &mut part.c[xr.at(idx[a], xr.row0)..][..xr.nrows];
                    let va = val[a];
                    for b in first[t + 1]..val.len() {
                        col[idx[b] - xr.row0] += va * val[b];
                    }
                }
            }
        }
    }

    /// The general pass's sums over a run of rows that share the level of every term:
    /// each product is a dot product of two columns over the run (vectorized) instead of
    /// one update per row.
    fn add_run(
        &self,
        part: &mut Partial,
        rows: &Rows,
        terms: &[Term],
        run: std::ops::Range<usize>,
        memo: &mut [(usize, usize, usize)],
        xr: &Cross,
    ) {
        let (k1, n, p1) = (self.k1, rows.n, rows.p + 1);
        let i = run.start;
        let col = |data, c| column(data, n, c, run.clone());
        // column c of [X y] over the run
        let xy = |c: usize| {
            if c < rows.p {
                col(&rows.x, c)
            } else {
                &rows.y[run.clone()]
            }
        };
        let z1 = |a: usize| col(&rows.z[0], a);
        let g = rows.codes[0][i] as usize;
        let dg = &mut part.d[g * k1 * k1..(g + 1) * k1 * k1];
        for a in 0..k1 {
            for b in 0..k1 {
                dg[b * k1 + a] += dot(z1(a), z1(b));
            }
        }
        for (j, t) in terms.iter().enumerate().skip(1) {
            let k = t.k;
            let level = rows.codes[j][i] as usize;
            let start = t.r_offset + k * level;
            let pos = self.memo_position(&mut memo[j], g, start);
            let stride = k + p1;
            let blk = &mut part.blocks[j - 1][level * k * stride..(level + 1) * k * stride];
            for a in 0..k {
                let za = col(&rows.z[j], a);
                let row = &mut part.b[(pos + a) * k1..(pos + a + 1) * k1];
                for (b, r) in row.iter_mut().enumerate() {
                    *r += dot(za, z1(b));
                }
                let blk_col = &mut blk[a * stride..(a + 1) * stride];
                for (b, v) in blk_col.iter_mut().enumerate() {
                    *v += dot(za, if b < k { col(&rows.z[j], b) } else { xy(b - k) });
                }
            }
            // pairs with the rows of the later terms after j (lower triangle of C)
            if !part.c.is_empty() {
                for (u, tu) in terms.iter().enumerate().skip(j + 1) {
                    let su = tu.r_offset + tu.k * rows.codes[u][i] as usize;
                    for a in 0..k {
                        let za = col(&rows.z[j], a);
                        for b in 0..tu.k {
                            part.c[xr.at(start + a, su + b)] += dot(za, col(&rows.z[u], b));
                        }
                    }
                }
            }
        }
        // X and y: the last p + 1 packed rows of level g
        let pos = self.rows_ptr[g + 1] - p1;
        let bx = &mut part.b[pos * k1..(pos + p1) * k1];
        for (c, row) in bx.chunks_exact_mut(k1).enumerate() {
            for (b, r) in row.iter_mut().enumerate() {
                *r += dot(xy(c), z1(b));
            }
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
        let col = |data, c| column(data, n, c, range.clone());
        add_xy_products(&mut part.c, self.qr, self.mr, rows, range.clone());
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

/// The X/y corner of C over `range` into `c` (lower triangle, column-major with leading
/// dimension `stride`, corner at (`base`, `base`)): column dot products in blocks of rows,
/// so each block is read from cache by every pair.
fn add_xy_products(
    c: &mut [f64],
    base: usize,
    stride: usize,
    rows: &Rows,
    range: std::ops::Range<usize>,
) {
    let n = rows.n;
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
                c[(base + a) * stride + base + b] += dot(&ca[start..end], &cb[start..end]);
            }
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::{CrossProducts, PARALLEL_ROWS};
    use crate::{build_terms, Rows, Shift, Term};
    use mixedlm_design::Design;
    use mixedlm_fixtures::synthetic::{design_with_x, random_codes, random_term, uniform};

    /// `y ~ 1 + x + (1 + x | a) + (1 + x | b) + (1 | c) + (1 + x | d)` on random levels,
    /// with the first `terms` of the four random terms (2 to 4).
    /// `runs`: levels in blocks of consecutive rows instead (a changes every n/300 rows, b
    /// every 7, c every 11, d every 13), so that runs of rows share every level, of all
    /// lengths.
    fn design(n: usize, terms: usize, runs: bool) -> Design {
        let code = |salt: u64, m: usize| {
            if runs {
                let every = [0, n.div_ceil(m), 7, 11, 13][salt as usize];
                (0..n).map(|i| ((i / every) % m) as u32).collect()
            } else {
                random_codes(n, salt, m)
            }
        };
        let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 5)).collect();
        let y: Vec<f64> = (0..n).map(|i| x[i] + uniform(i, 6)).collect();
        let slope = || {
            let mut z = vec![1.0; n];
            z.extend_from_slice(&x);
            z
        };
        let mut random = vec![
            random_term("a", 300, code(1, 300), slope(), &["(Intercept)", "x"]),
            random_term("b", 40, code(2, 40), slope(), &["(Intercept)", "x"]),
        ];
        if terms > 2 {
            random.push(random_term(
                "c",
                15,
                code(3, 15),
                vec![1.0; n],
                &["(Intercept)"],
            ));
        }
        if terms > 3 {
            random.push(random_term(
                "d",
                9,
                code(4, 9),
                slope(),
                &["(Intercept)", "x"],
            ));
        }
        design_with_x(y, &x, random, None)
    }

    /// The one pass over `design`'s rows, unshifted, as the engine forms it.
    fn products(mut design: Design) -> (CrossProducts, Vec<Term>, Design) {
        let terms = build_terms(&design).unwrap();
        let shift = Shift::none(design.x.ncols);
        let (rows, _) = Rows::weighted(&mut design, &terms, &shift).unwrap();
        let cp = CrossProducts::new(&rows, &terms);
        rows.restore(&mut design, &terms);
        (cp, terms, design)
    }

    /// One term with four columns per level: the general pass with no later term.
    #[test]
    fn one_wide_term_takes_the_general_pass() {
        let n = 2_000;
        let code: Vec<u32> = (0..n).map(|i| (i % 50) as u32).collect();
        let x: Vec<f64> = (0..n).map(|i| 2.0 * uniform(i, 5)).collect();
        let y: Vec<f64> = (0..n).map(|i| x[i] + uniform(i, 6)).collect();
        let mut z = vec![1.0; n];
        for s in 7..10 {
            z.extend((0..n).map(|i| uniform(i, s)));
        }
        let random = vec![random_term(
            "a",
            50,
            code,
            z,
            &["(Intercept)", "u", "v", "w"],
        )];
        check(products(design_with_x(y, &x, random, None)));
    }

    /// D, B and C of the one pass equal sums over the rows of R = [Z_2 .. Z_m, X, y]
    /// formed row by row, with no pairs of two later terms, with the pairs of two and of
    /// three later terms (their rectangle of C holds a term's rows and columns both), in
    /// one chunk and in parallel chunks, with random levels and with runs of rows sharing
    /// every level (summed by column dot products).
    #[test]
    fn the_pass_equals_the_row_by_row_products() {
        for n in [5_000, PARALLEL_ROWS + 10_000] {
            for terms in [2, 3, 4] {
                for runs in [false, true] {
                    check(products(design(n, terms, runs)));
                }
            }
        }
    }

    fn check((cp, terms, design): (CrossProducts, Vec<Term>, Design)) {
        let (n, mr, qr, k1) = (design.y.len(), cp.mr, cp.qr, cp.k1);
        // term j's codes and model columns (column-major n × k), from the design
        let term = |j: usize| {
            let dt = &design.random[terms[j].formula_index];
            (&dt.codes, &dt.z.data)
        };
        let mut c = vec![0.0; mr * mr];
        let mut d = vec![0.0; cp.d.len()];
        let mut b = vec![0.0; cp.b.len()];
        let mut r: Vec<(usize, f64)> = Vec::new();
        for i in 0..n {
            r.clear();
            for (j, t) in terms.iter().enumerate().skip(1) {
                let (codes, z) = term(j);
                let start = t.r_offset + t.k * codes[i] as usize;
                r.extend((0..t.k).map(|a| (start + a, z[a * n + i])));
            }
            r.extend((0..cp.p).map(|c| (qr + c, design.x.data[c * n + i])));
            r.push((mr - 1, design.y[i]));
            for &(u, vu) in &r {
                for &(v, vv) in &r {
                    c[u * mr + v] += vu * vv;
                }
            }
            let (codes, z) = term(0);
            let g = codes[i] as usize;
            let z1: Vec<f64> = (0..k1).map(|a| z[a * n + i]).collect();
            for a in 0..k1 {
                for e in 0..k1 {
                    d[g * k1 * k1 + e * k1 + a] += z1[a] * z1[e];
                }
            }
            for &(u, vu) in &r {
                let pos = cp.position(g, u);
                assert_eq!(cp.rows[pos], u);
                for a in 0..k1 {
                    b[pos * k1 + a] += vu * z1[a];
                }
            }
        }
        let close = |what: &str, got: &[f64], want: &[f64]| {
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-9 * (1.0 + w.abs()),
                    "{what}[{i}]: {g} vs {w}"
                );
            }
        };
        close("C", &cp.c, &c);
        close("D", &cp.d, &d);
        close("B", &cp.b, &b);
    }
}
