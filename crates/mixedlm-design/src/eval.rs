//! Evaluation of variables on the used rows, learning (or reusing) data-dependent parameters.

use std::collections::BTreeMap;
use std::ops::Deref;

use arrow_array::{Float64Array, RecordBatch};
use mixedlm_formula::{ArithExpr, ArithOp, Func, Variable};
use serde::Serialize;

use crate::data::{factorize, raw, recode};
use crate::error::DesignError;
use crate::label::{key, label, number};
use crate::poly::{poly_eval, poly_fit, PolyCoefs};

/// A parameter learned from the fitting data, reused for new data.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Learned {
    /// `scale(x)`: mean and sample standard deviation (n - 1).
    Scale {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// `center(x)`: mean.
    Center {
        /// Mean.
        mean: f64,
    },
    /// `poly(x, d)`: R's recurrence coefficients.
    Poly(PolyCoefs),
    /// A categorical variable: its sorted levels.
    Levels {
        /// The levels.
        levels: Vec<String>,
    },
}

/// Learned parameters by variable key (`scale(x)`, `C(g)`, `recipe`).
pub type Params = BTreeMap<String, Learned>;

/// A numeric column on the used rows: computed, or the data column itself when every row is
/// used (no copy).
#[derive(Debug)]
pub(crate) enum Column {
    /// Computed values.
    Owned(Vec<f64>),
    /// The data's own float column.
    Data(Float64Array),
}

impl Deref for Column {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        match self {
            Column::Owned(v) => v,
            Column::Data(a) => a.values(),
        }
    }
}

impl Column {
    /// The values, owned (copied from the data column if needed).
    fn into_vec(self) -> Vec<f64> {
        match self {
            Column::Owned(v) => v,
            Column::Data(a) => a.values().to_vec(),
        }
    }
}

/// A variable's value on the used rows.
#[derive(Debug)]
pub(crate) enum Value {
    /// Numeric columns (one, or several for `poly`) with their name suffixes.
    Numeric(Vec<Column>, Vec<String>),
    /// A factor: levels and per-row codes.
    Factor {
        /// Levels in order.
        levels: Vec<String>,
        /// Per-row codes.
        codes: Vec<u32>,
    },
}

/// Evaluates variables on `rows` of `batch`; learns parameters when `learn`, else reads them.
pub(crate) struct Evaluator<'a> {
    pub batch: &'a RecordBatch,
    pub rows: &'a [usize],
    pub params: &'a mut Params,
    pub learn: bool,
}

impl Evaluator<'_> {
    /// Evaluate a variable.
    pub(crate) fn eval(&mut self, v: &Variable) -> Result<Value, DesignError> {
        match v {
            Variable::Column(name) => self.column(v, name),
            Variable::Categorical { arg, .. } => self.categorical(v, arg),
            Variable::Poly { arg, degree } => self.poly(v, arg, *degree),
            Variable::Identity(e) if e.is_comparison() => self.logical(v, e),
            _ => Ok(Value::Numeric(
                vec![Column::Owned(self.numeric(v, &label(v))?)],
                vec![String::new()],
            )),
        }
    }

    /// Evaluate a variable that must be one numeric column; `context` names the use.
    pub(crate) fn numeric(&mut self, v: &Variable, context: &str) -> Result<Vec<f64>, DesignError> {
        let out = match v {
            Variable::Column(name) => {
                let r = raw(self.batch, name)?;
                r.values(self.rows)
                    .ok_or_else(|| DesignError::NonNumericColumn {
                        name: name.clone(),
                        kind: r.kind().to_string(),
                        context: context.to_string(),
                    })?
            }
            Variable::Function { func, arg } => self.function(v, *func, arg)?,
            Variable::Identity(e) => {
                let lab = label(v);
                let x = self.arith(e, &lab)?;
                self.check_finite(&lab, &x)?;
                x
            }
            Variable::Counts { .. } => {
                return Err(DesignError::NonNumericColumn {
                    name: label(v),
                    kind: "binomial counts".into(),
                    context: context.to_string(),
                })
            }
            _ => match self.eval(v)? {
                Value::Numeric(mut cols, _) if cols.len() == 1 => {
                    cols.pop().map(Column::into_vec).unwrap_or_default()
                }
                _ => {
                    return Err(DesignError::NonNumericColumn {
                        name: label(v),
                        kind: "categorical or multi-column".into(),
                        context: context.to_string(),
                    })
                }
            },
        };
        Ok(out)
    }

    fn column(&mut self, v: &Variable, name: &str) -> Result<Value, DesignError> {
        let r = raw(self.batch, name)?;
        let k = key(v);
        let known = matches!(self.params.get(&k), Some(Learned::Levels { .. }));
        if (self.learn && r.is_numeric()) || (!self.learn && !known) {
            let col = match r.every_row(self.rows) {
                Some(a) => Column::Data(a),
                None => Column::Owned(self.numeric(v, name)?),
            };
            return Ok(Value::Numeric(vec![col], vec![String::new()]));
        }
        let (levels, codes) = r.factorize(self.rows);
        self.levels(v, levels, codes)
    }

    /// `I(x > c)` and other comparisons: a factor with levels `FALSE`, `TRUE` (both, as R
    /// codes a logical in a model matrix, whatever the data hold).
    fn logical(&mut self, v: &Variable, e: &ArithExpr) -> Result<Value, DesignError> {
        let lab = label(v);
        let x = self.arith(e, &lab)?;
        let codes = x.iter().map(|&b| u32::from(b != 0.0)).collect();
        self.levels(v, vec!["FALSE".into(), "TRUE".into()], codes)
    }

    fn categorical(&mut self, v: &Variable, arg: &Variable) -> Result<Value, DesignError> {
        let (levels, codes) = match arg {
            Variable::Column(name) => raw(self.batch, name)?.factorize(self.rows),
            _ => {
                let x = self.numeric(arg, &label(v))?;
                factorize(
                    x.len(),
                    |i| if x[i] == 0.0 { 0u64 } else { x[i].to_bits() },
                    |a, b| f64::from_bits(*a).total_cmp(&f64::from_bits(*b)),
                    |a| number(f64::from_bits(a)),
                )
            }
        };
        self.levels(v, levels, codes)
    }

    /// Learn the levels, or re-express codes in the learned levels (unseen level: error).
    fn levels(
        &mut self,
        v: &Variable,
        levels: Vec<String>,
        codes: Vec<u32>,
    ) -> Result<Value, DesignError> {
        let k = key(v);
        if self.learn {
            self.params.insert(
                k,
                Learned::Levels {
                    levels: levels.clone(),
                },
            );
            return Ok(Value::Factor { levels, codes });
        }
        let Some(Learned::Levels { levels: known }) = self.params.get(&k) else {
            return Err(DesignError::Unsupported(format!(
                "no learned levels for '{k}'"
            )));
        };
        let mapped = recode(&levels, &codes, known);
        if let Some(pos) = mapped.iter().position(Option::is_none) {
            return Err(DesignError::UnseenLevel {
                factor: label(v),
                level: levels[codes[pos] as usize].clone(),
                levels: known.join(", "),
            });
        }
        let codes = mapped.into_iter().map(|c| c.unwrap_or(0)).collect();
        Ok(Value::Factor {
            levels: known.clone(),
            codes,
        })
    }

    fn poly(&mut self, v: &Variable, arg: &Variable, degree: u32) -> Result<Value, DesignError> {
        let lab = label(v);
        let x = self.numeric(arg, &lab)?;
        let k = key(v);
        if self.learn {
            let distinct: std::collections::HashSet<u64> =
                x.iter().map(|v| (v + 0.0).to_bits()).collect();
            if degree == 0 || degree as usize >= distinct.len() {
                return Err(DesignError::PolyDegree {
                    label: lab,
                    degree,
                    unique: distinct.len(),
                });
            }
            self.params
                .insert(k.clone(), Learned::Poly(poly_fit(&x, degree as usize)));
        }
        let Some(Learned::Poly(c)) = self.params.get(&k) else {
            return Err(DesignError::Unsupported(format!(
                "no learned coefficients for '{k}'"
            )));
        };
        let cols: Vec<Column> = poly_eval(&x, c).into_iter().map(Column::Owned).collect();
        let suffixes = (1..=cols.len()).map(|j| j.to_string()).collect();
        Ok(Value::Numeric(cols, suffixes))
    }

    fn function(
        &mut self,
        v: &Variable,
        func: Func,
        arg: &Variable,
    ) -> Result<Vec<f64>, DesignError> {
        let lab = label(v);
        let mut x = self.numeric(arg, &lab)?;
        match func {
            Func::Log | Func::Log2 | Func::Log10 => {
                let bad: Vec<f64> = x.iter().copied().filter(|v| *v <= 0.0).collect();
                if let Some(&example) = bad.first() {
                    let column = base_column(arg).unwrap_or_else(|| label(arg));
                    return Err(DesignError::LogNonPositive {
                        label: lab,
                        column,
                        count: bad.len(),
                        example,
                    });
                }
                let f: fn(f64) -> f64 = match func {
                    Func::Log => f64::ln,
                    Func::Log2 => f64::log2,
                    _ => f64::log10,
                };
                x.iter_mut().for_each(|v| *v = f(*v));
            }
            Func::Exp => x.iter_mut().for_each(|v| *v = v.exp()),
            Func::Sqrt => x.iter_mut().for_each(|v| *v = v.sqrt()),
            Func::Abs => x.iter_mut().for_each(|v| *v = v.abs()),
            Func::Scale | Func::Center => self.standardize(v, func, &mut x)?,
        }
        self.check_finite(&lab, &x)?;
        Ok(x)
    }

    fn standardize(&mut self, v: &Variable, func: Func, x: &mut [f64]) -> Result<(), DesignError> {
        let k = key(v);
        if self.learn {
            let n = x.len() as f64;
            let mean = x.iter().sum::<f64>() / n;
            let learned = if func == Func::Scale {
                let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
                let sd = (ss / (n - 1.0)).sqrt();
                if !(sd.is_finite() && sd > 0.0) {
                    return Err(DesignError::ConstantScale { label: label(v) });
                }
                Learned::Scale { mean, sd }
            } else {
                Learned::Center { mean }
            };
            self.params.insert(k.clone(), learned);
        }
        let (mean, sd) = match self.params.get(&k) {
            Some(Learned::Scale { mean, sd }) => (*mean, *sd),
            Some(Learned::Center { mean }) => (*mean, 1.0),
            _ => {
                return Err(DesignError::Unsupported(format!(
                    "no learned mean for '{k}'"
                )))
            }
        };
        x.iter_mut().for_each(|v| *v = (*v - mean) / sd);
        Ok(())
    }

    fn arith(&mut self, e: &ArithExpr, context: &str) -> Result<Vec<f64>, DesignError> {
        let n = self.rows.len();
        Ok(match e {
            ArithExpr::Number(c) => vec![*c; n],
            ArithExpr::Var(v) => self.numeric(v, context)?,
            ArithExpr::Neg(inner) => self
                .arith(inner, context)?
                .into_iter()
                .map(|v| -v)
                .collect(),
            ArithExpr::Binary { op, lhs, rhs } => {
                let mut a = self.arith(lhs, context)?;
                let b = self.arith(rhs, context)?;
                let f = binary(*op);
                a.iter_mut().zip(&b).for_each(|(x, y)| *x = f(*x, *y));
                a
            }
        })
    }

    fn check_finite(&self, lab: &str, x: &[f64]) -> Result<(), DesignError> {
        match x.iter().position(|v| !v.is_finite()) {
            Some(i) => Err(DesignError::NonFiniteTransform {
                label: lab.to_string(),
                row: self.rows[i],
                value: x[i],
            }),
            None => Ok(()),
        }
    }
}

fn binary(op: ArithOp) -> fn(f64, f64) -> f64 {
    match op {
        ArithOp::Add => |a, b| a + b,
        ArithOp::Sub => |a, b| a - b,
        ArithOp::Mul => |a, b| a * b,
        ArithOp::Div => |a, b| a / b,
        ArithOp::Pow => |a, b| {
            if b.fract() == 0.0 && b.abs() <= 64.0 {
                a.powi(b as i32)
            } else {
                a.powf(b)
            }
        },
        ArithOp::Lt => |a, b| f64::from(u8::from(a < b)),
        ArithOp::Le => |a, b| f64::from(u8::from(a <= b)),
        ArithOp::Gt => |a, b| f64::from(u8::from(a > b)),
        ArithOp::Ge => |a, b| f64::from(u8::from(a >= b)),
        ArithOp::Eq => |a, b| f64::from(u8::from(a == b)),
        ArithOp::Ne => |a, b| f64::from(u8::from(a != b)),
    }
}

/// The data column under a chain of one-argument wrappers, if any.
pub(crate) fn base_column(v: &Variable) -> Option<String> {
    match v {
        Variable::Column(c) => Some(c.clone()),
        Variable::Function { arg, .. }
        | Variable::Poly { arg, .. }
        | Variable::Categorical { arg, .. } => base_column(arg),
        Variable::Identity(_) | Variable::Counts { .. } => None,
    }
}

/// All data columns a variable reads, appended to `out` (no duplicates).
pub(crate) fn columns_of(v: &Variable, out: &mut Vec<String>) {
    match v {
        Variable::Column(c) => {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        Variable::Function { arg, .. }
        | Variable::Poly { arg, .. }
        | Variable::Categorical { arg, .. } => columns_of(arg, out),
        Variable::Identity(e) => arith_columns(e, out),
        Variable::Counts {
            successes,
            failures,
        } => {
            columns_of(successes, out);
            columns_of(failures, out);
        }
    }
}

fn arith_columns(e: &ArithExpr, out: &mut Vec<String>) {
    match e {
        ArithExpr::Number(_) => {}
        ArithExpr::Var(v) => columns_of(v, out),
        ArithExpr::Neg(inner) => arith_columns(inner, out),
        ArithExpr::Binary { lhs, rhs, .. } => {
            arith_columns(lhs, out);
            arith_columns(rhs, out);
        }
    }
}
