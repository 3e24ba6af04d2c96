//! Access to Arrow columns: numbers, categories, missing values.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::Hash;

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
        let count = vals.iter().filter(|v| v.is_infinite()).count();
        let first = vals.iter().position(|v| v.is_infinite())?;
        Some((first, count))
    }

    /// The values at `rows` as f64 (None if the column is not numeric).
    pub(crate) fn values(&self, rows: &[usize]) -> Option<Vec<f64>> {
        match self {
            Raw::Float(a) => {
                let v = a.values();
                Some(rows.iter().map(|&i| v[i]).collect())
            }
            Raw::Int(a) => {
                let v = a.values();
                Some(rows.iter().map(|&i| v[i] as f64).collect())
            }
            _ => None,
        }
    }

    /// The distinct values at `rows` as sorted level labels, and each row's code.
    pub(crate) fn factorize(&self, rows: &[usize]) -> (Vec<String>, Vec<u32>) {
        match self {
            Raw::Text(a) => factorize(
                rows.iter().map(|&i| a.value(i)),
                |x, y| x.cmp(y),
                str::to_string,
            ),
            Raw::Int(a) => {
                let v = a.values();
                factorize(
                    rows.iter().map(|&i| v[i]),
                    |x, y| x.cmp(y),
                    |x| x.to_string(),
                )
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
    let mut seen: HashMap<K, u32> = HashMap::new();
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
