//! The versioned byte record of [`CrossProductSums`]: what one worker (a Spark partition,
//! a Dask chunk) sends to the process that merges and fits.
//!
//! Layout (all integers and floats little-endian):
//! - magic `MXLMSUMS` (8 bytes), format version (u32), layout fingerprint (u64: FNV-1a
//!   over the response, X's column names, and per random term its group, column names,
//!   covariance kind, number and names of levels; the same for REML and ML);
//! - N (u64), rows dropped (u64), Σ log w (f64);
//! - the shift subtracted from y and from each X column (f64, 1 + p values; zeros for a
//!   record of no rows);
//! - D, the X and y rows of B (f64, lengths fixed by the coding);
//! - the upper triangle of R'R row by row (f64, (m + 1) m / 2 for m = qr + p + 1);
//! - the later terms' blocks of B: a count (u64), then per block the level of the first
//!   term (u32), its first R row (u32) and its k_j × k_1 values (f64);
//! - observations per level of each term, formula order (u64).
//!
//! The receiver knows the coding (it froze the levels), so the record carries only numbers;
//! a record of another format version or another model is refused with a
//! [`SumsRecordError`], and so is a truncated or corrupt one.

use super::{CrossProductSums, Layout, SumsRecordError};
use crate::shift::Shift;

const MAGIC: &[u8; 8] = b"MXLMSUMS";

/// The record format this version writes and reads.
pub const SUMS_FORMAT_VERSION: u32 = 1;

/// FNV-1a, 64 bits: a stable hash (std's hasher may change between Rust releases).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// A length-prefixed string, so that ("ab", "c") and ("a", "bc") differ.
    fn text(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }
}

/// The fingerprint of a coding (see the module notes).
pub(super) fn fingerprint(l: &Layout) -> u64 {
    let mut h = Fnv::new();
    h.text(&l.response);
    h.bytes(&(l.x_names.len() as u64).to_le_bytes());
    l.x_names.iter().for_each(|n| h.text(n));
    h.bytes(&(l.terms.len() as u64).to_le_bytes());
    for t in &l.terms {
        h.text(&t.group);
        h.bytes(&(t.names.len() as u64).to_le_bytes());
        t.names.iter().for_each(|n| h.text(n));
        h.text(&format!("{:?}", t.covariance));
        h.bytes(&(t.levels.len() as u64).to_le_bytes());
        t.levels.iter().for_each(|n| h.text(n));
    }
    h.0
}

fn put_f64s(out: &mut Vec<u8>, v: &[f64]) {
    out.reserve(v.len() * 8);
    v.iter()
        .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
}

impl CrossProductSums {
    /// The fingerprint of this model's coding, written into every record.
    pub fn layout_fingerprint(&self) -> u64 {
        fingerprint(&self.layout)
    }

    /// The statistics as a versioned byte record (see the module notes of `sums/record.rs`
    /// and docs/SPARK.md); read back with [`CrossProductSums::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SUMS_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.layout_fingerprint().to_le_bytes());
        out.extend_from_slice(&(self.n as u64).to_le_bytes());
        out.extend_from_slice(&(self.n_dropped as u64).to_le_bytes());
        out.extend_from_slice(&self.sum_log_w.to_le_bytes());
        let shift = self.shift.clone().unwrap_or_else(|| Shift::none(self.pf));
        out.extend_from_slice(&shift.y.to_le_bytes());
        put_f64s(&mut out, &shift.x);
        put_f64s(&mut out, &self.d);
        put_f64s(&mut out, &self.bxy);
        let m = self.qr + self.pf + 1;
        for a in 0..m {
            put_f64s(&mut out, &self.c[a * m + a..(a + 1) * m]);
        }
        let mut blocks: Vec<((u32, u32), usize)> = self.bz.iter().map(|(&k, &v)| (k, v)).collect();
        blocks.sort_unstable();
        out.extend_from_slice(&(blocks.len() as u64).to_le_bytes());
        let k1 = self.layout.terms[self.order[0]].k();
        for ((g, start), slot) in blocks {
            out.extend_from_slice(&g.to_le_bytes());
            out.extend_from_slice(&start.to_le_bytes());
            let len = self.block_len(start as usize) * k1;
            put_f64s(&mut out, &self.bz_vals[slot..slot + len]);
        }
        for counts in &self.counts {
            counts
                .iter()
                .for_each(|&c| out.extend_from_slice(&(c as u64).to_le_bytes()));
        }
        out
    }

    /// Statistics read from a record of [`to_bytes`](Self::to_bytes), for the model whose
    /// coding `coding` has (e.g. empty statistics from [`CrossProductSums::new`]); the
    /// rows accumulated in `coding` are ignored.
    ///
    /// Errors ([`SumsRecordError`]): not a record, another format version, another model
    /// (fingerprint), truncated or corrupt bytes. Never panics on any input.
    pub fn from_bytes(bytes: &[u8], coding: &CrossProductSums) -> Result<Self, SumsRecordError> {
        let mut r = Reader { bytes, at: 0 };
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(SumsRecordError::NotARecord);
        }
        r.at = MAGIC.len();
        let version = r.u32("the format version")?;
        if version != SUMS_FORMAT_VERSION {
            return Err(SumsRecordError::Version {
                found: version,
                expected: SUMS_FORMAT_VERSION,
            });
        }
        let found = r.u64("the layout fingerprint")?;
        let expected = coding.layout_fingerprint();
        if found != expected {
            return Err(SumsRecordError::OtherModel { found, expected });
        }
        let mut s = coding.empty_like();
        s.n = r.count("N")?;
        s.n_dropped = r.count("the rows dropped")?;
        s.sum_log_w = r.f64("the sum of log weights")?;
        let mut shift = Shift::none(s.pf);
        shift.y = r.f64("the response's shift")?;
        r.fill(&mut shift.x, "the columns' shifts")?;
        if s.n > 0 {
            s.shift = Some(shift);
        }
        r.fill(&mut s.d, "D")?;
        r.fill(&mut s.bxy, "the X and y rows of B")?;
        let m = s.qr + s.pf + 1;
        for a in 0..m {
            r.fill(&mut s.c[a * m + a..(a + 1) * m], "R'R")?;
        }
        s.read_blocks(&mut r)?;
        for counts in &mut s.counts {
            for c in counts.iter_mut() {
                *c = r.count("the observations per level")?;
            }
        }
        if r.at != bytes.len() {
            return Err(SumsRecordError::Corrupt {
                what: format!("{} bytes after the end of the record", bytes.len() - r.at),
            });
        }
        Ok(s)
    }

    /// The later terms' blocks of B, checked against the coding.
    fn read_blocks(&mut self, r: &mut Reader<'_>) -> Result<(), SumsRecordError> {
        let n_blocks = r.count("the number of B blocks")?;
        let g1 = self.counts[self.order[0]].len();
        let k1 = self.layout.terms[self.order[0]].k();
        for _ in 0..n_blocks {
            let g = r.u32("a B block's level")?;
            let start = r.u32("a B block's first row")? as usize;
            if g as usize >= g1 || !self.is_block_start(start) {
                return Err(SumsRecordError::Corrupt {
                    what: format!("a B block at level {g}, row {start} is outside the model"),
                });
            }
            if self.bz.contains_key(&(g, start as u32)) {
                return Err(SumsRecordError::Corrupt {
                    what: format!("the B block at level {g}, row {start} appears twice"),
                });
            }
            let len = self.block_len(start) * k1;
            r.need(len, "a B block")?;
            let slot = self.block_slot(g, start, len);
            r.fill(&mut self.bz_vals[slot..slot + len], "a B block")?;
        }
        Ok(())
    }

    /// Whether R row `start` begins a level block of a later term.
    fn is_block_start(&self, start: usize) -> bool {
        if self.order.len() < 2 || start >= self.qr {
            return false;
        }
        let pos = self.r_offset.partition_point(|&o| o <= start) - 1;
        let k = self.layout.terms[self.order[pos.max(1)]].k();
        pos >= 1 && (start - self.r_offset[pos]) % k == 0
    }

    /// Statistics of no rows with this coding.
    fn empty_like(&self) -> Self {
        Self {
            layout: self.layout.clone(),
            order: self.order.clone(),
            r_offset: self.r_offset.clone(),
            qr: self.qr,
            pf: self.pf,
            n: 0,
            n_dropped: 0,
            sum_log_w: 0.0,
            d: vec![0.0; self.d.len()],
            bxy: vec![0.0; self.bxy.len()],
            bz: Default::default(),
            bz_vals: Vec::new(),
            c: vec![0.0; self.c.len()],
            counts: self.counts.iter().map(|c| vec![0; c.len()]).collect(),
            shift: None,
        }
    }
}

/// A cursor over a record that fails, never panics, at the end of the bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], SumsRecordError> {
        match self.at.checked_add(n) {
            Some(end) if end <= self.bytes.len() => {
                let out = &self.bytes[self.at..end];
                self.at = end;
                Ok(out)
            }
            _ => Err(SumsRecordError::Corrupt {
                what: format!("the record ends inside {what}"),
            }),
        }
    }

    /// Check that `n` f64 values remain (before allocating for them).
    fn need(&self, n: usize, what: &str) -> Result<(), SumsRecordError> {
        match n.checked_mul(8) {
            Some(b) if b <= self.bytes.len() - self.at => Ok(()),
            _ => Err(SumsRecordError::Corrupt {
                what: format!("the record ends inside {what}"),
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], SumsRecordError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, SumsRecordError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, SumsRecordError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn f64(&mut self, what: &str) -> Result<f64, SumsRecordError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// A u64 that must fit in usize.
    fn count(&mut self, what: &str) -> Result<usize, SumsRecordError> {
        let v = self.u64(what)?;
        usize::try_from(v).map_err(|_| SumsRecordError::Corrupt {
            what: format!("{what} ({v}) is out of range"),
        })
    }

    fn fill(&mut self, dst: &mut [f64], what: &str) -> Result<(), SumsRecordError> {
        let src = self.take(dst.len() * 8, what)?;
        for (d, chunk) in dst.iter_mut().zip(src.chunks_exact(8)) {
            let mut b = [0; 8];
            b.copy_from_slice(chunk);
            *d = f64::from_le_bytes(b);
        }
        Ok(())
    }
}
