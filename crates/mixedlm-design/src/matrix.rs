//! A model matrix (column-major, lme4's column names) from a term list.

use mixedlm_formula::{Contrast, TermList, Variable};

use crate::coding::{coding, full_coding, TermVars};
use crate::design::DenseMatrix;
use crate::error::DesignError;
use crate::eval::{Column, Evaluator, Value};
use crate::label::{key, label};

/// The columns one variable contributes to a term.
enum Piece<'a> {
    Numeric(&'a [Column]),
    Factor {
        codes: &'a [u32],
        mat: Vec<f64>,
        m: usize,
    },
}

impl Piece<'_> {
    fn width(&self) -> usize {
        match self {
            Piece::Numeric(c) => c.len(),
            Piece::Factor { m, .. } => *m,
        }
    }

    /// Append this piece's column `j` to `data`.
    fn push(&self, j: usize, data: &mut Vec<f64>) {
        match self {
            Piece::Numeric(cols) => data.extend_from_slice(&cols[j]),
            Piece::Factor { codes, mat, m } => {
                data.extend(codes.iter().map(|&c| mat[c as usize * m + j]));
            }
        }
    }

    /// Multiply `out` by this piece's column `j`.
    fn apply(&self, j: usize, out: &mut [f64]) {
        match self {
            Piece::Numeric(cols) => {
                out.iter_mut()
                    .zip(cols[j].iter())
                    .for_each(|(o, v)| *o *= v);
            }
            Piece::Factor { codes, mat, m } => {
                out.iter_mut()
                    .zip(*codes)
                    .for_each(|(o, &c)| *o *= mat[c as usize * m + j]);
            }
        }
    }
}

/// The distinct variables of a term list and each term as indices into them.
///
/// A term's variables keep their order: `mixedlm-formula` writes them in R's variable order
/// (first appearance in the formula), which is the order in R's column names.
pub(crate) fn variables(tl: &TermList) -> (Vec<&Variable>, Vec<TermVars>) {
    let mut vars: Vec<&Variable> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut terms = Vec::with_capacity(tl.terms.len());
    for t in &tl.terms {
        let mut idx: TermVars = Vec::new();
        for v in &t.variables {
            let k = key(v);
            let i = keys.iter().position(|x| *x == k).unwrap_or_else(|| {
                keys.push(k);
                vars.push(v);
                vars.len() - 1
            });
            if !idx.contains(&i) {
                idx.push(i);
            }
        }
        terms.push(idx);
    }
    (vars, terms)
}

/// Build the model matrix of `tl` on the evaluator's rows.
pub(crate) fn model_matrix(
    ev: &mut Evaluator<'_>,
    tl: &TermList,
) -> Result<(DenseMatrix, Vec<String>), DesignError> {
    let (vars, terms) = variables(tl);
    let values: Vec<Value> = vars.iter().map(|v| ev.eval(v)).collect::<Result<_, _>>()?;
    let is_factor: Vec<bool> = values
        .iter()
        .map(|v| matches!(v, Value::Factor { .. }))
        .collect();
    let full = full_coding(tl.intercept, &terms, &is_factor);
    let n = ev.rows.len();
    let mut all = Vec::with_capacity(terms.len());
    for (t, tv) in terms.iter().enumerate() {
        let mut pieces = Vec::with_capacity(tv.len());
        let mut piece_names: Vec<Vec<String>> = Vec::with_capacity(tv.len());
        for (pos, &vi) in tv.iter().enumerate() {
            let (p, nm) = piece(vars[vi], &values[vi], full[t][pos])?;
            pieces.push(p);
            piece_names.push(nm);
        }
        all.push((pieces, piece_names));
    }
    let width: usize = all
        .iter()
        .map(|(pieces, _)| pieces.iter().map(Piece::width).product::<usize>())
        .sum::<usize>()
        + usize::from(tl.intercept);
    let mut names: Vec<String> = Vec::with_capacity(width);
    // one allocation for all columns (growing it column by column copied it each time)
    let mut data: Vec<f64> = Vec::with_capacity(n * width);
    if tl.intercept {
        names.push("(Intercept)".into());
        data.resize(n, 1.0);
    }
    for (pieces, piece_names) in &all {
        term_columns(pieces, piece_names, n, &mut data, &mut names);
    }
    Ok((
        DenseMatrix {
            nrows: n,
            ncols: names.len(),
            data,
        },
        names,
    ))
}

fn piece<'a>(
    v: &Variable,
    value: &'a Value,
    full: bool,
) -> Result<(Piece<'a>, Vec<String>), DesignError> {
    let lab = label(v);
    match value {
        Value::Numeric(cols, suffixes) => Ok((
            Piece::Numeric(cols),
            suffixes.iter().map(|s| format!("{lab}{s}")).collect(),
        )),
        Value::Factor { levels, codes } => {
            let contrast = match v {
                Variable::Categorical { contrast, .. } => contrast.clone(),
                _ => Contrast::Treatment,
            };
            let c = coding(&lab, levels, full, &contrast)?;
            let names = c.names.iter().map(|s| format!("{lab}{s}")).collect();
            Ok((
                Piece::Factor {
                    codes,
                    mat: c.mat,
                    m: c.m,
                },
                names,
            ))
        }
    }
}

/// Append the columns of one term: the product of its pieces, first piece varying fastest.
fn term_columns(
    pieces: &[Piece<'_>],
    names: &[Vec<String>],
    n: usize,
    data: &mut Vec<f64>,
    out: &mut Vec<String>,
) {
    let widths: Vec<usize> = pieces.iter().map(Piece::width).collect();
    let total: usize = widths.iter().product();
    let mut sel = vec![0usize; pieces.len()];
    for c in 0..total {
        let mut r = c;
        for (s, w) in sel.iter_mut().zip(&widths) {
            *s = r % w;
            r /= w;
        }
        let start = data.len();
        match pieces.first() {
            Some(first) => first.push(sel[0], data),
            None => data.resize(start + n, 0.0),
        }
        debug_assert_eq!(data.len(), start + n);
        for (p, &s) in pieces.iter().zip(&sel).skip(1) {
            p.apply(s, &mut data[start..]);
        }
        let name: Vec<&str> = sel
            .iter()
            .enumerate()
            .map(|(i, &s)| names[i][s].as_str())
            .collect();
        out.push(name.join(":"));
    }
}
