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
    /// Text (Utf8, LargeUtf8, Utf8View, dictionary-encoded text).
    Text(StringArray),
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
    let out = match dt {
        DataType::Boolean => Raw::Bool(a.as_boolean().clone()),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Raw::Text(cast(name, a, &DataType::Utf8)?.as_string::<i32>().clone())
        }
        DataType::Dictionary(_, v) => match v.as_ref() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Raw::Text(cast(name, a, &DataType::Utf8)?.as_string::<i32>().clone())
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
            Raw::Text(a) => a.is_null(i),
            Raw::Bool(a) => a.is_null(i),
        }
    }

    /// Clear `keep[i]` for every missing row (null, or NaN in a float column) and return
    /// how many rows are missing. Columns without nulls (or NaN) are skipped whole.
    pub(crate) fn mark_missing(&self, keep: &mut [bool]) -> usize {
        let nulls = match self {
            Raw::Float(a) => a.null_count(),
            Raw::Int(a) => a.null_count(),
            Raw::Text(a) => a.null_count(),
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
            Raw::Text(a) => a.null_count(),
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
            Raw::Text(_) => "text",
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

    /// The distinct values at `rows` as sorted level labels, and each row's code.
    pub(crate) fn factorize(&self, rows: &[usize]) -> (Vec<String>, Vec<u32>) {
        match self {
            Raw::Text(a) => factorize_text(a, rows),
            Raw::Int(a) => {
                let v = a.values();
                factorize_int(rows.iter().map(|&i| v[i]), rows.len())
            }
            Raw::Float(a) => {
                let v = a.values();
                let key = |x: f64| if x == 0.0 { 0u64 } else { x.to_bits() };
                factorize(
                    rows.iter().map(|&i| key(v[i])),
                    |x, y| f64::from_bits(*x).total_cmp(&f64::from_bits(*y)),
                    |x| number(f64::from_bits(x)),
                )
            }
            Raw::Bool(a) => factorize(
                rows.iter().map(|&i| a.value(i)),
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

/// Distinct values of `keys`, sorted by `cmp` and labelled by `fmt`, and each key's code.
pub(crate) fn factorize<K, C, F>(
    keys: impl Iterator<Item = K>,
    cmp: C,
    fmt: F,
) -> (Vec<String>, Vec<u32>)
where
    K: Hash + Eq + Copy,
    C: Fn(&K, &K) -> Ordering,
    F: Fn(K) -> String,
{
    let mut seen: HashMap<K, u32, FastState> = HashMap::default();
    let mut uniques: Vec<K> = Vec::new();
    let mut codes: Vec<u32> = Vec::with_capacity(keys.size_hint().0);
    for k in keys {
        let c = *seen.entry(k).or_insert_with(|| {
            uniques.push(k);
            (uniques.len() - 1) as u32
        });
        codes.push(c);
    }
    let mut order: Vec<usize> = (0..uniques.len()).collect();
    order.sort_by(|&a, &b| cmp(&uniques[a], &uniques[b]));
    let mut rank = vec![0u32; uniques.len()];
    for (pos, &u) in order.iter().enumerate() {
        rank[u] = pos as u32;
    }
    for c in &mut codes {
        *c = rank[*c as usize];
    }
    let labels = order.iter().map(|&u| fmt(uniques[u])).collect();
    (labels, codes)
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
    let keep = u128::MAX.checked_shl(8 * (16 - len) as u32).unwrap_or(0);
    (u128::from_be_bytes(w) & keep) | len as u128
}

/// The string [`pack`] packed.
fn unpack(k: u128) -> String {
    let buf = k.to_be_bytes();
    let len = usize::from(buf[PACKED_BYTES]).min(PACKED_BYTES);
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// [`factorize`] of text at `rows`: when every string of the column is short enough, the
/// packed integers are hashed and sorted instead of the strings (no byte comparisons).
fn factorize_text(a: &StringArray, rows: &[usize]) -> (Vec<String>, Vec<u32>) {
    let offsets = a.value_offsets();
    let short = offsets
        .windows(2)
        .all(|w| (w[1] - w[0]) as usize <= PACKED_BYTES);
    if !short {
        return factorize(
            rows.iter().map(|&i| a.value(i)),
            |x, y| x.cmp(y),
            str::to_string,
        );
    }
    let bytes = a.value_data();
    let key = |i: usize| {
        let (lo, hi) = (offsets[i] as usize, offsets[i + 1] as usize);
        match bytes.get(lo..lo + 16) {
            Some(window) => pack_window(window, hi - lo),
            None => pack(&bytes[lo..hi]),
        }
    };
    factorize(rows.iter().map(|&i| key(i)), |x, y| x.cmp(y), unpack)
}

/// [`factorize`] of integers: when their range is small (at most a few times the number of
/// rows, as for codes, ids and years) a lookup table over the range replaces the hash map.
fn factorize_int(keys: impl Iterator<Item = i64> + Clone, n: usize) -> (Vec<String>, Vec<u32>) {
    let (lo, hi) = keys
        .clone()
        .fold((i64::MAX, i64::MIN), |(lo, hi), k| (lo.min(k), hi.max(k)));
    let span = (i128::from(hi) - i128::from(lo) + 1).max(0) as u128;
    if n == 0 || span > dense_limit(n) {
        return factorize(keys, |x, y| x.cmp(y), |x| x.to_string());
    }
    factorize_dense(keys.map(|k| (k - lo) as usize), span as usize, |off| {
        (lo + off as i64).to_string()
    })
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
pub(crate) fn recode(own: &[String], codes: &[u32], target: &[String]) -> Vec<Option<u32>> {
    let index: HashMap<&str, u32> = target
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let map: Vec<Option<u32>> = own.iter().map(|s| index.get(s.as_str()).copied()).collect();
    codes.iter().map(|&c| map[c as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_hashing(keys: &[i64]) -> (Vec<String>, Vec<u32>) {
        factorize(keys.iter().copied(), |x, y| x.cmp(y), |x| x.to_string())
    }

    #[test]
    fn integer_table_matches_hashing() {
        // small range (table), negative values, and a range too wide for the table
        for keys in [
            vec![5i64, -3, 5, 0, 12, -3, 7],
            vec![2, 2, 2],
            vec![1_000_000_000, -7, 1_000_000_000, 3],
        ] {
            let got = factorize_int(keys.iter().copied(), keys.len());
            assert_eq!(got, by_hashing(&keys), "keys {keys:?}");
        }
        let got = factorize_int([5i64, -3, 5, 0].into_iter(), 4);
        assert_eq!(got.0, vec!["-3", "0", "5"]);
        assert_eq!(got.1, vec![2, 0, 2, 1]);
    }

    #[test]
    fn text_levels_sorted_with_fast_hasher() {
        let words = ["b", "a", "ccc", "a", "a long level name over 8 bytes", "b"];
        let (levels, codes) = factorize(words.iter().copied(), |x, y| x.cmp(y), str::to_string);
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
            }
        }
    }

    fn text_factor(words: &[Option<&str>], rows: &[usize]) -> (Vec<String>, Vec<u32>) {
        Raw::Text(StringArray::from(words.to_vec())).factorize(rows)
    }

    #[test]
    fn packed_text_factorizes_like_strings_on_a_longer_column() {
        // long enough that most keys are read through a 16-byte window of the buffer
        let words: Vec<String> = (0..300)
            .map(|i| format!("{}{}", ["g", "grp", "é", ""][i % 4], (i * 37) % 53))
            .collect();
        let array = StringArray::from(words.iter().map(|w| Some(w.as_str())).collect::<Vec<_>>());
        let rows: Vec<usize> = (0..300).filter(|i| i % 7 != 3).collect();
        let got = Raw::Text(array).factorize(&rows);
        let reference = factorize(
            rows.iter().map(|&i| words[i].as_str()),
            |x, y| x.cmp(y),
            str::to_string,
        );
        assert_eq!(got, reference);
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
            ["b", "a sixteen-byte!!", "a", "b"].into_iter(),
            |x, y| x.cmp(y),
            str::to_string,
        );
        assert_eq!((levels, codes), reference);
    }
}
