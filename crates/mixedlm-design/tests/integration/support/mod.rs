//! Test support: a tiny CSV loader (quoted field = text, as R's write.csv marks factors;
//! unquoted = number; unquoted NA = missing) and hand-built formulas.
#![allow(dead_code)]

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use mixedlm_formula::{
    ArithExpr, ArithOp, CategoricalStyle, Contrast, Func, ModelFormula, RandomTerm, Term, TermList,
    Variable,
};

fn split(line: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut in_q) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_q && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => {
                in_q = !in_q;
                quoted = true;
            }
            ',' if !in_q => {
                out.push((std::mem::take(&mut cur), quoted));
                quoted = false;
            }
            _ => cur.push(c),
        }
    }
    out.push((cur, quoted));
    out
}

/// Parse CSV text into a RecordBatch.
pub fn parse_csv(text: &str) -> RecordBatch {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = split(lines.next().expect("header"))
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let rows: Vec<Vec<(String, bool)>> = lines.map(split).collect();
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (j, name) in header.iter().enumerate() {
        let cells: Vec<&(String, bool)> = rows.iter().map(|r| &r[j]).collect();
        let text = cells.iter().any(|(s, q)| *q && s != "NA");
        if text {
            let v: Vec<Option<&str>> = cells
                .iter()
                .map(|(s, q)| {
                    if !*q && s == "NA" {
                        None
                    } else {
                        Some(s.as_str())
                    }
                })
                .collect();
            fields.push(Field::new(name, DataType::Utf8, true));
            cols.push(Arc::new(StringArray::from(v)));
        } else {
            let v: Vec<Option<f64>> = cells
                .iter()
                .map(|(s, _)| s.trim().parse::<f64>().ok())
                .collect();
            fields.push(Field::new(name, DataType::Float64, true));
            cols.push(Arc::new(Float64Array::from(v)));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch")
}

/// Load `tests/data/<name>.csv`.
pub fn load(name: &str) -> RecordBatch {
    mixedlm_fixtures::data(name)
}

/// A column variable.
pub fn col(name: &str) -> Variable {
    Variable::Column(name.into())
}

/// `f(x)`.
pub fn func(f: Func, v: Variable) -> Variable {
    Variable::Function {
        func: f,
        arg: Box::new(v),
    }
}

/// `I(x^p)`.
pub fn pow(name: &str, p: f64) -> Variable {
    Variable::Identity(Box::new(ArithExpr::Binary {
        op: ArithOp::Pow,
        lhs: Box::new(ArithExpr::Var(col(name))),
        rhs: Box::new(ArithExpr::Number(p)),
    }))
}

/// `C(x, contrast)`.
pub fn cat(name: &str, contrast: Contrast) -> Variable {
    Variable::Categorical {
        arg: Box::new(col(name)),
        contrast,
        style: CategoricalStyle::C,
    }
}

/// `factor(x)`.
pub fn factor(name: &str) -> Variable {
    Variable::Categorical {
        arg: Box::new(col(name)),
        contrast: Contrast::Treatment,
        style: CategoricalStyle::Factor,
    }
}

/// A term from variables.
pub fn term(vars: &[Variable]) -> Term {
    Term {
        variables: vars.to_vec(),
    }
}

/// A term list.
pub fn terms(intercept: bool, ts: &[Term]) -> TermList {
    TermList {
        intercept,
        terms: ts.to_vec(),
    }
}

/// A random term `(model | g1:g2...)`.
pub fn re(model: TermList, grouping: &[&str], correlated: bool) -> RandomTerm {
    RandomTerm {
        model,
        grouping: grouping.iter().map(|s| s.to_string()).collect(),
        correlated,
    }
}

/// A formula.
pub fn formula(response: Variable, fixed: TermList, random: Vec<RandomTerm>) -> ModelFormula {
    ModelFormula {
        response: Some(response),
        fixed,
        random,
        offsets: vec![],
    }
}

/// Main-effect terms of the named columns.
pub fn mains(names: &[&str]) -> Vec<Term> {
    names.iter().map(|n| term(&[col(n)])).collect()
}
