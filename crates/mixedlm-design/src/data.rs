//! Access to Arrow columns: numbers, categories, missing values.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::DataType;

use crate::error::{unknown_column, DesignError};
use crate::label::number;

/// One column, normalized to one of four storage kinds.
#[derive(Debug)]
pub(crate) enum Raw {
    /// Floating point (any float or decimal type).
    Float(Float64Array),
    /// Integers (any integer type).
    Int(Int64Array),
    /// Text (Utf8, LargeUtf8, Utf8View).
    Text(StringArray),
    /// Dictionary-encoded text (pandas' Categorical, R's factor, Arrow's dictionary): the
    /// values, and the dictionary, whose order is the order of the levels (R and patsy
    /// keep a categorical's order; plain text is sorted).
    Category(StringArray, Vec<String>),
    /// Booleans.
    Bool(BooleanArray),
}

/// Look up a column by name and normalize it.
pub(crate) fn raw(batch: &RecordBatch, name: &str) -> Result<Raw, DesignError> {
    let schema = batch.schema();
    let Some((idx, _)) = schema.column_with_name(name) else {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(unknown_column(name, &names));
    };
    normalize(name, batch.column(idx))
}

fn cast(name: &str, a: &ArrayRef, to: &DataType) -> Result<ArrayRef, DesignError> {
    arrow_cast::cast(a.as_ref(), to).map_err(|e| {
        DesignError::Unsupported(format!(
            "column '{name}' could not be converted to {to}: {e}"
        ))
    })
}

fn normalize(name: &str, a: &ArrayRef) -> Result<Raw, DesignError> {
    let dt = a.data_type();
    let unsupported = || DesignError::UnsupportedType {
        name: name.to_string(),
        dtype: dt.to_string(),
    };
    // the storage types themselves need no cast (a cast to the same type still copies
    // the array's description, and raw() runs once per column and use)
    let out = match dt {
        DataType::Boolean => Raw::Bool(a.as_boolean().clone()),
        DataType::Utf8 => Raw::Text(a.as_string::<i32>().clone()),
        DataType::Int64 => Raw::Int(a.as_primitive::<Int64Type>().clone()),
        DataType::Float64 => Raw::Float(a.as_primitive::<Float64Type>().clone()),
        DataType::LargeUtf8 | DataType::Utf8View => {
            Raw::Text(cast(name, a, &DataType::Utf8)?.as_string::<i32>().clone())
        }
        DataType::Dictionary(_, v) => match v.as_ref() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let text = cast(name, a, &DataType::Utf8)?.as_string::<i32>().clone();
                Raw::Category(text, dictionary_order(name, a)?)
            }
            _ => return Err(unsupported()),
        },
        d if d.is_integer() => Raw::Int(
            cast(name, a, &DataType::Int64)?
                .as_primitive::<Int64Type>()
                .clone(),
        ),
        d if d.is_floating()
            || matches!(d, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            Raw::Float(
                cast(name, a, &DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            )
        }
        DataType::Null => Raw::Float(Float64Array::new_null(a.len())),
        _ => return Err(unsupported()),
    };
    Ok(out)
}

impl Raw {
    /// Whether row `i` is missing (null, or NaN in a float column).
    pub(crate) fn is_missing(&self, i: usize) -> bool {
        match self {
            Raw::Float(a) => a.is_null(i) || a.value(i).is_nan(),
            Raw::Int(a) => a.is_null(i),
            Raw::Text(a) | Raw::Category(a, _) => a.is_null(i),
            Raw::Bool(a) => a.is_null(i),
        }
    }

    /// Clear `keep[i]` for every missing row (null, or NaN in a float column) and return
    /// how many rows are missing. Columns without nulls (or NaN) are skipped whole.
    pub(crate) fn mark_missing(&self, keep: &mut [bool]) -> usize {
        let nulls = match self {
            Raw::Float(a) => a.null_count(),
            Raw::Int(a) => a.null_count(),
            Raw::Text(a) | Raw::Category(a, _) => a.null_count(),
            Raw::Bool(a) => a.null_count(),
        };
        if nulls == 0 && !self.has_nan() {
            return 0;
        }
        let mut count = 0;
        for (i, k) in keep.iter_mut().enumerate() {
            if self.is_missing(i) {
                *k = false;
                count += 1;
            }
        }
        count
    }

    /// Whether a float column holds a NaN (one branch-free pass).
    fn has_nan(&self) -> bool {
        let Raw::Float(a) = self else { return false };
        a.values().iter().fold(false, |acc, v| acc | v.is_nan())
    }

    /// Whether the column has a missing value (null, or NaN in a float column).
    pub(crate) fn has_missing(&self) -> bool {
        let nulls = match self {
            Raw::Float(a) => a.null_count(),
            Raw::Int(a) => a.null_count(),
            Raw::Text(a) | Raw::Category(a, _) => a.null_count(),
            Raw::Bool(a) => a.null_count(),
        };
        nulls > 0 || self.has_nan()
    }

    /// Whether the column has neither a null nor a non-finite value (one branch-free pass
    /// over a float column): then neither missing rows nor infinities need looking for.
    pub(crate) fn is_clean(&self) -> bool {
        match self {
            Raw::Float(a) => {
                a.null_count() == 0 && !a.values().iter().fold(false, |acc, v| acc | !v.is_finite())
            }
            _ => !self.has_missing(),
        }
    }

    /// Whether the column holds numbers.
    pub(crate) fn is_numeric(&self) -> bool {
        matches!(self, Raw::Float(_) | Raw::Int(_))
    }

    /// A word for the storage kind, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Raw::Float(_) | Raw::Int(_) => "numeric",
            Raw::Text(_) | Raw::Category(..) => "text",
            Raw::Bool(_) => "boolean",
        }
    }

    /// The first row holding an infinite value, and how many there are (floats only).
    pub(crate) fn infinite(&self) -> Option<(usize, usize)> {
        let Raw::Float(a) = self else { return None };
        let vals = a.values();
        if !vals.iter().fold(false, |acc, v| acc | v.is_infinite()) {
            return None;
        }
        let count = vals.iter().filter(|v| v.is_infinite()).count();
        let first = vals.iter().position(|v| v.is_infinite())?;
        Some((first, count))
    }

    /// The values at `rows` as f64 (None if the column is not numeric).
    ///
    /// `rows` is increasing (a subset of the column's rows), so when it is as long as the
    /// column it is every row and the values are copied without the gather.
    pub(crate) fn values(&self, rows: &[usize]) -> Option<Vec<f64>> {
        match self {
            Raw::Float(a) => {
                let v = a.values();
                if rows.len() == v.len() {
                    return Some(v.to_vec());
                }
                Some(rows.iter().map(|&i| v[i]).collect())
            }
            Raw::Int(a) => {
                let v = a.values();
                if rows.len() == v.len() {
                    return Some(v.iter().map(|&x| x as f64).collect());
                }
                Some(rows.iter().map(|&i| v[i] as f64).collect())
            }
            _ => None,
        }
    }

    /// The number of rows of the column.
    pub(crate) fn len(&self) -> usize {
        match self {
            Raw::Float(a) => a.len(),
            Raw::Int(a) => a.len(),
            Raw::Text(a) | Raw::Category(a, _) => a.len(),
            Raw::Bool(a) => a.len(),
        }
    }

    /// The float column itself when `rows` (increasing) is every row: its values without a copy.
    pub(crate) fn every_row(&self, rows: &[usize]) -> Option<Float64Array> {
        match self {
            Raw::Float(a) if rows.len() == a.len() => Some(a.clone()),
            _ => None,
        }
    }

    /// The distinct values at `rows` as sorted level labels, and each row's code.
    ///
    /// `rows` is increasing, so when it is as long as the column it is every row and the
    /// column is read directly, without the gather through `rows`.
    pub(crate) fn factorize(&self, rows: &[usize]) -> Factor {
        if rows.len() == self.len() {
            self.factorize_at(rows.len(), |j| j)
        } else {
            self.factorize_at(rows.len(), |j| rows[j])
        }
    }

    /// [`Raw::factorize`] of the `n` rows `row(0..n)`.
    fn factorize_at(&self, n: usize, row: impl Fn(usize) -> usize + Copy) -> Factor {
        match self {
            Raw::Text(a) => factorize_text(a, n, row),
            Raw::Category(a, order) => in_order(factorize_text(a, n, row), order),
            Raw::Int(a) => {
                let v = a.values();
                factorize_int(n, |j| v[row(j)])
            }
            Raw::Float(a) => {
                let v = a.values();
                let key = |x: f64| if x == 0.0 { 0u64 } else { x.to_bits() };
                factorize(
                    n,
                    |j| key(v[row(j)]),
                    |x, y| f64::from_bits(*x).total_cmp(&f64::from_bits(*y)),
                    |x| number(f64::from_bits(x)),
                )
            }
            Raw::Bool(a) => factorize(
                n,
                |j| a.value(row(j)),
                |x, y| x.cmp(y),
                |x| {
                    if x {
                        "TRUE".to_string()
                    } else {
                        "FALSE".to_string()
                    }
                },
            ),
        }
    }
}

/// The dictionary of a dictionary-encoded text column, in its order, as text.
fn dictionary_order(name: &str, a: &ArrayRef) -> Result<Vec<String>, DesignError> {
    let dict = a.as_any_dictionary().values();
    let text = cast(name, dict, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    Ok((0..text.len())
        .filter(|&i| text.is_valid(i))
        .map(|i| text.value(i).to_string())
        .collect())
}

/// A factor's levels put in `order` (a dictionary's), the codes renumbered to match.
/// Levels not in `order` (none, for a valid dictionary) keep their sorted place after it.
fn in_order((levels, codes): Factor, order: &[String]) -> Factor {
    let position: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let mut by_order: Vec<usize> = (0..levels.len()).collect();
    by_order.sort_by_key(|&i| {
        position
            .get(levels[i].as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });
    let mut new_code = vec![0u32; levels.len()];
    for (new, &old) in by_order.iter().enumerate() {
        new_code[old] = new as u32;
    }
    let codes = codes.into_iter().map(|c| new_code[c as usize]).collect();
    let levels = by_order.into_iter().map(|i| levels[i].clone()).collect();
    (levels, codes)
}

/// Levels (sorted labels) and per-row codes of a factor.
pub(crate) type Factor = (Vec<String>, Vec<u32>);

/// Distinct values of `key(0..n)`, sorted by `cmp` and labelled by `fmt`, and each key's code.
pub(crate) fn factorize<K, G, C, F>(n: usize, key: G, cmp: C, fmt: F) -> Factor
where
    K: Hash + Eq + Copy,
    G: Fn(usize) -> K,
    C: Fn(&K, &K) -> Ordering,
    F: Fn(K) -> String,
{
    // every code is written: an ordinary allocation, not a zeroed one (see
    // `mixedlm_model`'s `written`: a zeroed block leaves each page to fault at its first
    // write; this one is written at once and may be backed by huge pages)
    let mut codes = Vec::with_capacity(n);
    codes.extend(std::iter::repeat_n(0u32, n));
    let uniques = first_seen(&key, &mut codes);
    let (order, rank) = ranks(&uniques, cmp);
    codes.iter_mut().for_each(|c| *c = rank[*c as usize]);
    let labels = order.iter().map(|&u| fmt(uniques[u])).collect();
    (labels, codes)
}

/// Codes in order of first appearance of the keys of rows `0..out.len()`, written to `out`,
/// and the distinct keys in that order. A key equal to the previous row's reuses its code
/// without a hash lookup (rows sorted or grouped by level).
fn first_seen<K, G>(key: &G, out: &mut [u32]) -> Vec<K>
where
    K: Hash + Eq + Copy,
    G: Fn(usize) -> K,
{
    // the table is filled only once there are more than FEW keys; until then every row's
    // key is compared with the keys seen (two or three levels: faster than hashing)
    let mut seen: HashMap<K, u32, FastState> = HashMap::default();
    let mut uniques = Vec::new();
    let mut last: Option<(K, u32)> = None;
    for (i, c) in out.iter_mut().enumerate() {
        let k = key(i);
        if seen.is_empty() {
            // every known key compared, without branches (two levels in random order
            // mispredicted the previous-row test half the time); a new key is rare
            let mut found = u32::MAX;
            for (at, u) in (0u32..).zip(&uniques) {
                found = if *u == k { at } else { found };
            }
            if found == u32::MAX {
                found = uniques.len() as u32;
                uniques.push(k);
                if uniques.len() > FEW {
                    seen.extend(uniques.iter().zip(0u32..).map(|(&u, c)| (u, c)));
                }
            }
            *c = found;
            continue;
        }
        *c = match last {
            Some((lk, lc)) if lk == k => lc,
            _ => {
                let code = *seen.entry(k).or_insert_with(|| {
                    uniques.push(k);
                    (uniques.len() - 1) as u32
                });
                last = Some((k, code));
                code
            }
        };
    }
    uniques
}

/// The number of distinct keys [`first_seen`] searches by comparison before it hashes.
const FEW: usize = 8;

/// The indices of `uniques` in `cmp` order, and each one's rank in that order.
fn ranks<K>(uniques: &[K], cmp: impl Fn(&K, &K) -> Ordering) -> (Vec<usize>, Vec<u32>) {
    let mut order: Vec<usize> = (0..uniques.len()).collect();
    order.sort_by(|&a, &b| cmp(&uniques[a], &uniques[b]));
    let mut rank = vec![0u32; uniques.len()];
    for (pos, &u) in order.iter().enumerate() {
        rank[u] = pos as u32;
    }
    (order, rank)
}

/// The longest string [`pack`] holds.
const PACKED_BYTES: usize = 15;

/// A string of at most [`PACKED_BYTES`] bytes as one integer: its bytes big-endian, zero
/// padded, and its length in the low byte. Integer order is then byte-lexicographic order
/// (`str`'s order): the first differing byte decides, and a prefix (zeros after its end, a
/// smaller length) comes before the longer string.
#[inline]
fn pack(s: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    buf[..s.len()].copy_from_slice(s);
    buf[PACKED_BYTES] = s.len() as u8;
    u128::from_be_bytes(buf)
}

/// [`pack`] of the first `len` (≤ 15) bytes of a 16-byte window: one load and a mask, no
/// byte copies (the copy through a stack buffer stalled on store forwarding).
#[inline]
fn pack_window(window: &[u8], len: usize) -> u128 {
    let mut w = [0u8; 16];
    w.copy_from_slice(window);
    (u128::from_be_bytes(w) & !(u128::MAX >> (8 * len))) | len as u128
}

/// The string [`pack`] packed.
fn unpack(k: u128) -> String {
    let buf = k.to_be_bytes();
    let len = usize::from(buf[PACKED_BYTES]).min(PACKED_BYTES);
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// [`factorize`] of text at rows `row(0..n)`: when every string of the column is short
/// enough, the packed integers are hashed and sorted instead of the strings (no byte
/// comparisons), one word each for strings of at most [`WORD_BYTES`] bytes.
fn factorize_text(a: &StringArray, n: usize, row: impl Fn(usize) -> usize) -> Factor {
    let offsets = a.value_offsets();
    let longest = offsets.windows(2).fold(0, |m, w| m.max(w[1] - w[0])) as usize;
    let bytes = a.value_data();
    let span = |i: usize| (offsets[i] as usize, offsets[i + 1] as usize);
    if longest <= WORD_BYTES {
        // half the table entry and one word to hash: twice as fast on many levels
        let word = |j: usize| {
            let (lo, hi) = span(row(j));
            match bytes.get(lo..lo + 8) {
                Some(window) => pack_word_window(window, hi - lo),
                None => narrow(pack(&bytes[lo..hi])),
            }
        };
        return factorize(n, word, |x, y| x.cmp(y), |k| unpack(widen(k)));
    }
    if longest <= PACKED_BYTES {
        let key = |j: usize| {
            let (lo, hi) = span(row(j));
            match bytes.get(lo..lo + 16) {
                Some(window) => pack_window(window, hi - lo),
                None => pack(&bytes[lo..hi]),
            }
        };
        return factorize(n, key, |x, y| x.cmp(y), unpack);
    }
    factorize(n, |j| a.value(row(j)), |x, y| x.cmp(y), str::to_string)
}

/// The longest string whose [`pack`] fits one word by [`narrow`].
const WORD_BYTES: usize = 7;

/// [`pack`] of a string of at most [`WORD_BYTES`] bytes as a u64: its high word (the bytes,
/// the eighth zero) with the length in the low byte. Word order is packed order: the bytes
/// decide first, then the length, and every byte in between is zero.
#[inline]
fn narrow(k: u128) -> u64 {
    ((k >> 64) as u64) | (k as u64 & 0xff)
}

/// [`narrow`] of [`pack`] of the first `len` (≤ 7) bytes of an 8-byte window: one load and
/// a mask.
#[inline]
fn pack_word_window(window: &[u8], len: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(window);
    (u64::from_be_bytes(w) & !(u64::MAX >> (8 * len))) | len as u64
}

/// The packed integer [`narrow`] narrowed.
fn widen(k: u64) -> u128 {
    (u128::from(k & !0xff) << 64) | u128::from(k & 0xff)
}

/// [`factorize`] of integers: when their range is small (at most a few times the number of
/// rows, as for codes, ids and years) a lookup table over the range replaces the hash map.
fn factorize_int(n: usize, key: impl Fn(usize) -> i64) -> Factor {
    let (lo, hi) = (0..n)
        .map(&key)
        .fold((i64::MAX, i64::MIN), |(lo, hi), k| (lo.min(k), hi.max(k)));
    let span = (i128::from(hi) - i128::from(lo) + 1).max(0) as u128;
    if n == 0 || span > dense_limit(n) {
        return factorize(n, key, |x, y| x.cmp(y), |x| x.to_string());
    }
    let keys = (0..n).map(|j| (key(j) - lo) as usize);
    factorize_dense(keys, span as usize, |off| (lo + off as i64).to_string())
}

/// The largest key range [`factorize_dense`] is used for with `n` rows.
pub(crate) fn dense_limit(n: usize) -> u128 {
    4 * n as u128 + 1024
}

/// [`factorize`] of keys in `0..span` by a lookup table: walking the table in order gives
/// the sorted levels, so no hashing and no sort.
pub(crate) fn factorize_dense<F>(
    keys: impl Iterator<Item = usize> + Clone,
    span: usize,
    fmt: F,
) -> (Vec<String>, Vec<u32>)
where
    F: Fn(usize) -> String,
{
    let mut slot = vec![u32::MAX; span];
    for k in keys.clone() {
        slot[k] = 0;
    }
    let mut labels = Vec::new();
    for (off, s) in slot.iter_mut().enumerate() {
        if *s == 0 {
            *s = labels.len() as u32;
            labels.push(fmt(off));
        }
    }
    let codes = keys.map(|k| slot[k]).collect();
    (labels, codes)
}

/// FxHash-style hasher (multiply-rotate over 8-byte words) for [`factorize`]'s table: level
/// keys are short and hashed once per row, where std's SipHash dominated the design time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // spread the high bits down: hashbrown takes its control bits from the top 7
        self.0.rotate_left(26)
    }
}

/// The build-hasher of [`factorize`]'s table.
pub(crate) type FastState = BuildHasherDefault<FastHasher>;

/// Re-express codes into `own` levels as codes into `target` levels (None where unseen).
/// A one-off recoding borrows `target`'s names; [`LevelIndex`] keeps its table for reuse.
pub(crate) fn recode(own: &[String], codes: &[u32], target: &[String]) -> Vec<Option<u32>> {
    let index: HashMap<&str, u32, FastState> = target
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    codes_through(own, codes, |s| index.get(s).copied())
}

/// `codes` into `own` levels as codes into the levels `code_of` looks names up in.
fn codes_through(
    own: &[String],
    codes: &[u32],
    code_of: impl Fn(&str) -> Option<u32>,
) -> Vec<Option<u32>> {
    let map: Vec<Option<u32>> = own.iter().map(|s| code_of(s.as_str())).collect();
    codes.iter().map(|&c| map[c as usize]).collect()
}

/// Learned levels with a table from level name to code, built once: a streamed fit codes
/// every batch against the same levels, and rebuilding a table of all of them per batch
/// cost time proportional to the number of levels in each batch.
#[derive(Debug, Clone)]
pub(crate) struct LevelIndex {
    levels: crate::Levels,
    code: HashMap<Box<str>, u32, FastState>,
}

impl LevelIndex {
    pub(crate) fn new(levels: crate::Levels) -> Self {
        let code = levels
            .iter()
            .enumerate()
            .map(|(i, s)| (Box::from(s.as_str()), i as u32))
            .collect();
        LevelIndex { levels, code }
    }

    /// The levels (shared, not copied).
    pub(crate) fn levels(&self) -> &crate::Levels {
        &self.levels
    }

    /// Codes into `own` levels as codes into these levels (None where unseen).
    pub(crate) fn recode(&self, own: &[String], codes: &[u32]) -> Vec<Option<u32>> {
        codes_through(own, codes, |s| self.code.get(s).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_hashing(keys: &[i64]) -> (Vec<String>, Vec<u32>) {
        factorize(keys.len(), |i| keys[i], |x, y| x.cmp(y), |x| x.to_string())
    }

    #[test]
    fn integer_table_matches_hashing() {
        // small range (table), negative values, and a range too wide for the table
        for keys in [
            vec![5i64, -3, 5, 0, 12, -3, 7],
            vec![2, 2, 2],
            vec![1_000_000_000, -7, 1_000_000_000, 3],
        ] {
            let got = factorize_int(keys.len(), |i| keys[i]);
            assert_eq!(got, by_hashing(&keys), "keys {keys:?}");
        }
        let got = factorize_int(4, |i| [5i64, -3, 5, 0][i]);
        assert_eq!(got.0, vec!["-3", "0", "5"]);
        assert_eq!(got.1, vec![2, 0, 2, 1]);
    }

    #[test]
    fn text_levels_sorted_with_fast_hasher() {
        let words = ["b", "a", "ccc", "a", "a long level name over 8 bytes", "b"];
        let (levels, codes) = factorize(words.len(), |i| words[i], |x, y| x.cmp(y), str::to_string);
        assert_eq!(
            levels,
            vec!["a", "a long level name over 8 bytes", "b", "ccc"]
        );
        assert_eq!(codes, vec![2, 0, 3, 0, 1, 2]);
    }

    #[test]
    fn packed_order_is_string_order() {
        // prefixes, NUL bytes, bytes above 0x7f (UTF-8), empty string, 15 bytes exactly
        let words = [
            "",
            "a",
            "ab",
            "a\0",
            "a\0b",
            "b",
            "Z",
            "é",
            "e\u{301}",
            "ü",
            "日本",
            "日",
            "\u{7f}",
            "fifteen bytes!!",
            "fifteen bytes!",
            "abcdef",
            "abcdefg",
            "abcdefh",
            "abcdefgh",
            "abcdefg\0",
            "x\u{10ffff}",
        ];
        for a in words {
            assert!(a.len() <= PACKED_BYTES, "{a:?}");
            assert_eq!(unpack(pack(a.as_bytes())), a);
            let mut window = a.as_bytes().to_vec();
            window.resize(16, 0xff);
            assert_eq!(pack_window(&window, a.len()), pack(a.as_bytes()), "{a:?}");
            for b in words {
                assert_eq!(
                    pack(a.as_bytes()).cmp(&pack(b.as_bytes())),
                    a.cmp(b),
                    "{a:?} vs {b:?}"
                );
                if a.len() <= WORD_BYTES && b.len() <= WORD_BYTES {
                    let (x, y) = (narrow(pack(a.as_bytes())), narrow(pack(b.as_bytes())));
                    assert_eq!(x.cmp(&y), a.cmp(b), "narrowed {a:?} vs {b:?}");
                }
            }
            if a.len() <= WORD_BYTES {
                assert_eq!(
                    widen(narrow(pack(a.as_bytes()))),
                    pack(a.as_bytes()),
                    "{a:?}"
                );
            }
        }
    }

    #[test]
    fn dictionary_text_keeps_the_dictionary_order_of_levels() {
        use arrow_array::types::Int32Type;
        use arrow_array::DictionaryArray;
        use std::sync::Arc;
        // categories in the order low, mid, high (sorted: high, low, mid); `mid` unused in
        // the rows kept, and a null
        let values = StringArray::from(vec!["low", "mid", "high"]);
        let keys = arrow_array::Int32Array::from(vec![Some(2), Some(0), None, Some(1), Some(2)]);
        let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
        let raw = normalize("dose", &(Arc::new(dict) as ArrayRef)).unwrap();
        assert_eq!(raw.kind(), "text");
        assert!(raw.is_missing(2));
        let (levels, codes) = raw.factorize(&[0, 1, 4]);
        assert_eq!(levels, ["low", "high"]);
        assert_eq!(codes, [1, 0, 1]);
    }

    fn text_factor(words: &[Option<&str>], rows: &[usize]) -> (Vec<String>, Vec<u32>) {
        Raw::Text(StringArray::from(words.to_vec())).factorize(rows)
    }

    #[test]
    fn packed_text_factorizes_like_strings_on_a_longer_column() {
        // long enough that most keys are read through a 16-byte window of the buffer; labels
        // of at most 7 bytes (one-word keys), and up to 8 bytes (two-word keys)
        for long in ["grp", "group-"] {
            let words: Vec<String> = (0..300)
                .map(|i| format!("{}{}", ["g", long, "é", ""][i % 4], (i * 37) % 53))
                .collect();
            let array =
                StringArray::from(words.iter().map(|w| Some(w.as_str())).collect::<Vec<_>>());
            let rows: Vec<usize> = (0..300).filter(|i| i % 7 != 3).collect();
            let got = Raw::Text(array).factorize(&rows);
            let reference = factorize(
                rows.len(),
                |j| words[rows[j]].as_str(),
                |x, y| x.cmp(y),
                str::to_string,
            );
            assert_eq!(got, reference, "{long}");
        }
    }

    #[test]
    fn packed_and_long_text_factorize_like_strings() {
        let short = [
            Some("b"),
            Some("a"),
            None,
            Some("ab"),
            Some("é"),
            Some("a"),
            Some(""),
        ];
        let rows = [0, 1, 3, 4, 5, 6];
        let (levels, codes) = text_factor(&short, &rows);
        assert_eq!(levels, vec!["", "a", "ab", "b", "é"]);
        assert_eq!(codes, vec![3, 1, 2, 4, 1, 0]);
        // one string over 15 bytes: the whole column takes the string route
        let long = [Some("b"), Some("a sixteen-byte!!"), Some("a"), Some("b")];
        let (levels, codes) = text_factor(&long, &[0, 1, 2, 3]);
        assert_eq!(levels, vec!["a", "a sixteen-byte!!", "b"]);
        assert_eq!(codes, vec![2, 1, 0, 2]);
        let reference = factorize(
            4,
            |i| ["b", "a sixteen-byte!!", "a", "b"][i],
            |x, y| x.cmp(y),
            str::to_string,
        );
        assert_eq!((levels, codes), reference);
    }

    /// Levels and codes by a sorted map: the definition [`factorize`] must meet.
    fn reference(keys: &[u32]) -> Factor {
        let levels: std::collections::BTreeMap<u32, u32> = keys.iter().map(|&k| (k, 0)).collect();
        let rank: std::collections::BTreeMap<u32, u32> = levels
            .keys()
            .enumerate()
            .map(|(r, &k)| (k, r as u32))
            .collect();
        let labels = rank.keys().map(|k| k.to_string()).collect();
        (labels, keys.iter().map(|k| rank[k]).collect())
    }

    /// `n` keys among `levels` distinct ones, sorted or not.
    fn keys_strategy() -> impl Strategy<Value = Vec<u32>> {
        // few levels (searched in order, then hashed past FEW) as often as many
        let levels = prop_oneof![1u32..2 * FEW as u32, 1u32..3000];
        (levels, 0usize..2500, any::<bool>(), any::<u64>()).prop_map(|(levels, n, sorted, seed)| {
            let mut state = seed | 1;
            let mut keys: Vec<u32> = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % u64::from(levels)) as u32 * 7919
                })
                .collect();
            if sorted {
                keys.sort_unstable();
            }
            keys
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn factorize_meets_the_definition(keys in keys_strategy()) {
            let fmt = |x: u32| x.to_string();
            let got = factorize(keys.len(), |i| keys[i], |x, y| x.cmp(y), fmt);
            prop_assert_eq!(got, reference(&keys));
        }
    }

    #[test]
    fn factorize_handles_empty_and_one_level_input() {
        let one =
            |keys: &[u32]| factorize(keys.len(), |i| keys[i], |x, y| x.cmp(y), |x| x.to_string());
        assert_eq!(one(&[]), (Vec::new(), Vec::new()));
        assert_eq!(one(&[9, 9, 9]), (vec!["9".to_string()], vec![0, 0, 0]));
    }

    /// A text column of `n` rows over `levels` labels `g00017` in scrambled order.
    fn group_words(n: usize, levels: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("g{:05}", (i * 7919 + i / 3) % levels))
            .collect()
    }

    #[test]
    fn every_row_reads_the_column_like_the_gather() {
        let words = group_words(500, 37);
        let columns = [
            Raw::Text(StringArray::from(
                words.iter().map(|w| Some(w.as_str())).collect::<Vec<_>>(),
            )),
            Raw::Float(Float64Array::from(
                (0..500)
                    .map(|i| ((i * 13) % 41) as f64 - 20.0)
                    .collect::<Vec<_>>(),
            )),
            Raw::Int(Int64Array::from(
                (0..500).map(|i| (i * 13) % 41 - 20).collect::<Vec<_>>(),
            )),
            Raw::Bool(BooleanArray::from(
                (0..500).map(|i| i % 3 == 0).collect::<Vec<_>>(),
            )),
        ];
        let rows: Vec<usize> = (0..500).collect();
        for raw in &columns {
            let gathered = raw.factorize_at(rows.len(), |j| rows[j]);
            assert_eq!(raw.factorize(&rows), gathered, "{}", raw.kind());
            assert!(gathered.0.len() >= 2);
        }
    }
}
