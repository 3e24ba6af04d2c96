//! Designs of a table read in batches, coded as the whole table would be.
//!
//! A batch on its own does not know the levels of the factors of the whole table, so the
//! design of a streamed fit takes two steps:
//! 1. [`LevelScan`]: one pass over every batch collects the levels of each factor of the
//!    fixed effects and of each grouping factor (sorted as the in-memory builder sorts them),
//!    and counts the rows used and dropped for missing values;
//! 2. [`BatchDesigner::design`]: each batch's [`Design`] with those levels frozen, so that
//!    every batch has the same X columns and the same level codes.
//!
//! Policy for transforms that learn from the whole data: `scale()`, `center()` and `poly()`
//! are refused with [`DesignError::NeedsWholeData`] (precompute the column). Aliased X
//! columns are not dropped here: every batch design has all of X's columns (its
//! `aliased` is empty); the engine detects aliasing from the accumulated X'X.

use std::cmp::Ordering;
use std::collections::HashSet;

use arrow_array::RecordBatch;
use mixedlm_formula::{ArithExpr, Func, Variable};

use crate::builder::{check_response_type, DesignBuilder};
use crate::data::{raw, Raw};
use crate::design::{Design, RandomTermDesign};
use crate::error::DesignError;
use crate::eval::{Evaluator, Learned, Params};
use crate::grouping::group_codes;
use crate::label::{key, label, number};
use crate::matrix::{model_matrix, variables};
use crate::rows::used_rows;
use crate::spec::{offset_values, DesignSpec, RandomSpec};

/// One value of a factor, typed so that levels sort as the in-memory builder sorts them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Text(String),
    Int(i64),
    /// f64 bits, with -0 normalized to 0.
    Float(u64),
    Bool(bool),
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Key::Text(_) => 0,
            Key::Int(_) => 1,
            Key::Float(_) => 2,
            Key::Bool(_) => 3,
        }
    }

    fn float(x: f64) -> Key {
        Key::Float(if x == 0.0 { 0 } else { x.to_bits() })
    }

    fn label(&self) -> String {
        match self {
            Key::Text(s) => s.clone(),
            Key::Int(i) => i.to_string(),
            Key::Float(b) => number(f64::from_bits(*b)),
            Key::Bool(true) => "TRUE".into(),
            Key::Bool(false) => "FALSE".into(),
        }
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            (Key::Int(a), Key::Int(b)) => a.cmp(b),
            (Key::Float(a), Key::Float(b)) => f64::from_bits(*a).total_cmp(&f64::from_bits(*b)),
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The distinct values of a raw column at `rows`.
fn distinct(r: &Raw, rows: &[usize]) -> Vec<Key> {
    match r {
        Raw::Text(a) | Raw::Category(a, _) => {
            let set: HashSet<&str> = rows.iter().map(|&i| a.value(i)).collect();
            set.into_iter().map(|s| Key::Text(s.to_string())).collect()
        }
        Raw::Int(a) => {
            let set: HashSet<i64> = rows.iter().map(|&i| a.value(i)).collect();
            set.into_iter().map(Key::Int).collect()
        }
        Raw::Float(a) => {
            let set: HashSet<Key> = rows.iter().map(|&i| Key::float(a.value(i))).collect();
            set.into_iter().collect()
        }
        Raw::Bool(a) => {
            let set: HashSet<bool> = rows.iter().map(|&i| a.value(i)).collect();
            set.into_iter().map(Key::Bool).collect()
        }
    }
}

/// The per-row keys of a raw column at `rows`.
fn row_keys(r: &Raw, rows: &[usize]) -> Vec<Key> {
    rows.iter()
        .map(|&i| match r {
            Raw::Text(a) | Raw::Category(a, _) => Key::Text(a.value(i).to_string()),
            Raw::Int(a) => Key::Int(a.value(i)),
            Raw::Float(a) => Key::float(a.value(i)),
            Raw::Bool(a) => Key::Bool(a.value(i)),
        })
        .collect()
}

/// A factor of the model whose levels are collected.
#[derive(Debug)]
struct FactorLevels {
    variable: Variable,
    levels: HashSet<Key>,
}

/// A grouping factor (one column or an interaction) whose levels are collected.
#[derive(Debug)]
struct GroupLevels {
    grouping: Vec<String>,
    levels: HashSet<Vec<Key>>,
}

/// The first pass of a streamed fit: the levels of every factor and the row counts.
///
/// ```ignore
/// let mut scan = LevelScan::new(&builder)?;
/// for batch in batches { scan.observe(&batch?)?; }
/// let designer = scan.finish()?;
/// ```
#[derive(Debug)]
pub struct LevelScan {
    builder: DesignBuilder,
    columns: Vec<String>,
    factors: Option<Vec<FactorLevels>>,
    groups: Vec<GroupLevels>,
    first: Option<RecordBatch>,
    used: usize,
    dropped: usize,
    batches: usize,
}

impl LevelScan {
    /// A scan for the model of `builder`. Errors: no response, or a transform that needs
    /// the whole data ([`DesignError::NeedsWholeData`]).
    pub fn new(builder: &DesignBuilder) -> Result<Self, DesignError> {
        if builder.response.is_none() {
            return Err(DesignError::NoResponse);
        }
        for v in model_variables(builder) {
            if let Some(label) = whole_data_transform(v) {
                return Err(DesignError::NeedsWholeData { label });
            }
        }
        Ok(Self {
            builder: builder.clone(),
            columns: builder.used_columns(),
            factors: None,
            groups: builder
                .random
                .iter()
                .map(|p| GroupLevels {
                    grouping: p.grouping.clone(),
                    levels: HashSet::new(),
                })
                .collect(),
            first: None,
            used: 0,
            dropped: 0,
            batches: 0,
        })
    }

    /// Collect the levels of one batch.
    pub fn observe(&mut self, batch: &RecordBatch) -> Result<(), DesignError> {
        let used = used_rows(batch, &self.columns, self.builder.missing_policy())?;
        self.used += used.rows.len();
        self.dropped += used.dropped;
        self.batches += 1;
        if self.factors.is_none() {
            self.factors = Some(self.find_factors(batch)?);
            self.first = Some(batch.slice(0, 0));
        }
        for f in self.factors.iter_mut().flatten() {
            f.levels
                .extend(factor_keys(batch, &used.rows, &f.variable)?);
        }
        for g in &mut self.groups {
            g.levels.extend(group_keys(batch, &used.rows, &g.grouping)?);
        }
        Ok(())
    }

    /// Which variables of the model are factors (text or boolean columns, `C()`/`factor()`).
    fn find_factors(&self, batch: &RecordBatch) -> Result<Vec<FactorLevels>, DesignError> {
        let mut out: Vec<FactorLevels> = Vec::new();
        for v in model_variables(&self.builder) {
            let factor = match v {
                Variable::Column(name) => !raw(batch, name)?.is_numeric(),
                Variable::Categorical { .. } => true,
                _ => false,
            };
            if factor && !out.iter().any(|f| key(&f.variable) == key(v)) {
                out.push(FactorLevels {
                    variable: v.clone(),
                    levels: HashSet::new(),
                });
            }
        }
        Ok(out)
    }

    /// The column sets whose distinct values (tuples) give every level the scan collects,
    /// for an engine that computes them itself (a Spark `distinct`): each grouping factor's
    /// columns and each `C()`/`factor()` variable's columns with `true` (always levels),
    /// and every plain column of the model with `false` (levels only when the column is
    /// text or boolean). Rows holding these distinct values, observed by a scan, give the
    /// same levels as the scan of all the rows.
    pub fn level_columns(&self) -> Vec<(Vec<String>, bool)> {
        let mut out: Vec<(Vec<String>, bool)> = self
            .groups
            .iter()
            .map(|g| (g.grouping.clone(), true))
            .collect();
        for v in model_variables(&self.builder) {
            let entry = match v {
                Variable::Column(name) => (vec![name.clone()], false),
                Variable::Categorical { .. } => (v.columns(), true),
                _ => continue,
            };
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        out
    }

    /// Rows used so far.
    pub fn rows_used(&self) -> usize {
        self.used
    }

    /// Rows dropped for missing values so far.
    pub fn rows_dropped(&self) -> usize {
        self.dropped
    }

    /// The frozen coding. Errors: no batch observed, or no usable row.
    pub fn finish(self) -> Result<BatchDesigner, DesignError> {
        let Some(first) = self.first else {
            return Err(DesignError::NoRows {
                dropped: 0,
                total: 0,
            });
        };
        if self.used == 0 {
            return Err(DesignError::NoRows {
                dropped: self.dropped,
                total: self.dropped,
            });
        }
        let mut params = Params::new();
        for f in self.factors.unwrap_or_default() {
            let mut keys: Vec<Key> = f.levels.into_iter().collect();
            keys.sort_unstable();
            let levels = keys.iter().map(Key::label).collect();
            params.insert(key(&f.variable), Learned::Levels { levels });
        }
        let groups: Vec<crate::Levels> = self
            .groups
            .iter()
            .map(|g| {
                let mut keys: Vec<&Vec<Key>> = g.levels.iter().collect();
                keys.sort_unstable();
                keys.iter()
                    .map(|t| t.iter().map(Key::label).collect::<Vec<_>>().join(":"))
                    .collect::<Vec<_>>()
                    .into()
            })
            .collect();
        let mut template = batch_design(&self.builder, &params, &groups, &first)?;
        template.n_dropped = self.dropped;
        Ok(BatchDesigner {
            builder: self.builder,
            params,
            groups,
            template,
            n_used: self.used,
            n_dropped: self.dropped,
            batches: self.batches,
        })
    }
}

/// The keys of a factor variable's values at `rows`.
fn factor_keys(batch: &RecordBatch, rows: &[usize], v: &Variable) -> Result<Vec<Key>, DesignError> {
    match v {
        Variable::Column(name) => Ok(distinct(&raw(batch, name)?, rows)),
        Variable::Categorical { arg, .. } => match arg.as_ref() {
            Variable::Column(name) => Ok(distinct(&raw(batch, name)?, rows)),
            other => {
                let mut params = Params::new();
                let mut ev = Evaluator {
                    batch,
                    rows,
                    params: &mut params,
                    learn: false,
                };
                let x = ev.numeric(other, &label(v))?;
                let set: HashSet<Key> = x.into_iter().map(Key::float).collect();
                Ok(set.into_iter().collect())
            }
        },
        _ => Ok(Vec::new()),
    }
}

/// The distinct level tuples of a grouping factor at `rows`.
fn group_keys(
    batch: &RecordBatch,
    rows: &[usize],
    grouping: &[String],
) -> Result<HashSet<Vec<Key>>, DesignError> {
    if let [one] = grouping {
        let keys = distinct(&raw(batch, one)?, rows);
        return Ok(keys.into_iter().map(|k| vec![k]).collect());
    }
    let cols: Vec<Vec<Key>> = grouping
        .iter()
        .map(|g| Ok(row_keys(&raw(batch, g)?, rows)))
        .collect::<Result<_, DesignError>>()?;
    Ok((0..rows.len())
        .map(|i| cols.iter().map(|c| c[i].clone()).collect())
        .collect())
}

/// Every variable of the fixed part and of the random-effects models.
fn model_variables(b: &DesignBuilder) -> Vec<&Variable> {
    let mut out = variables(&b.fixed).0;
    for r in &b.random {
        out.extend(variables(&r.model).0);
    }
    out.extend(b.response.iter());
    out.extend(b.offsets.iter());
    out
}

/// The label of the first `scale()`, `center()` or `poly()` inside `v`, if any.
fn whole_data_transform(v: &Variable) -> Option<String> {
    match v {
        Variable::Column(_) => None,
        Variable::Poly { .. } => Some(label(v)),
        Variable::Function { func, arg } => {
            if matches!(func, Func::Scale | Func::Center) {
                Some(label(v))
            } else {
                whole_data_transform(arg)
            }
        }
        Variable::Categorical { arg, .. } => whole_data_transform(arg),
        Variable::Identity(e) => arith_transform(e),
        Variable::Counts {
            successes,
            failures,
        } => whole_data_transform(successes).or_else(|| whole_data_transform(failures)),
    }
}

fn arith_transform(e: &ArithExpr) -> Option<String> {
    match e {
        ArithExpr::Number(_) => None,
        ArithExpr::Var(v) => whole_data_transform(v),
        ArithExpr::Neg(inner) => arith_transform(inner),
        ArithExpr::Binary { lhs, rhs, .. } => arith_transform(lhs).or_else(|| arith_transform(rhs)),
    }
}

/// The second pass of a streamed fit: each batch's design with the levels of the whole
/// data (from [`LevelScan::finish`]).
#[derive(Debug, Clone)]
pub struct BatchDesigner {
    builder: DesignBuilder,
    params: Params,
    groups: Vec<crate::Levels>,
    template: Design,
    n_used: usize,
    n_dropped: usize,
    batches: usize,
}

impl BatchDesigner {
    /// A design with no rows and the coding of the whole data: X's column names (before
    /// aliased columns are dropped), every random term's levels and names; its `n_dropped`
    /// is the number of rows dropped for missing values in the whole data.
    pub fn template(&self) -> &Design {
        &self.template
    }

    /// Rows used in the whole data (first pass).
    pub fn rows_used(&self) -> usize {
        self.n_used
    }

    /// Rows dropped for missing values in the whole data (first pass).
    pub fn rows_dropped(&self) -> usize {
        self.n_dropped
    }

    /// Batches seen in the first pass.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// The design of one batch: all of X's columns, level codes into the levels of the
    /// whole data, weights and offset. Its `row_index` is relative to the batch.
    pub fn design(&self, batch: &RecordBatch) -> Result<Design, DesignError> {
        batch_design(&self.builder, &self.params, &self.groups, batch)
    }

    /// The learned encoding of the whole data, for prediction on new data, given the
    /// indices (into the template's X columns) of the aliased columns the fit dropped.
    pub fn spec(&self, aliased_index: &[usize]) -> DesignSpec {
        let t = self.template();
        let b = &self.builder;
        let aliased: Vec<String> = aliased_index
            .iter()
            .map(|&j| t.x_names[j].clone())
            .collect();
        let x_columns = (0..t.x_names.len())
            .filter(|j| !aliased_index.contains(j))
            .map(|j| t.x_names[j].clone())
            .collect();
        DesignSpec {
            response: Some(t.response.clone()),
            response_variable: b.response.clone(),
            fixed: b.fixed.clone(),
            x_columns_full: t.x_names.clone(),
            aliased_index: aliased_index.to_vec(),
            aliased,
            x_columns,
            random: b
                .random
                .iter()
                .zip(&t.random)
                .map(|(plan, rt)| RandomSpec {
                    group: rt.group.clone(),
                    grouping: plan.grouping.clone(),
                    levels: rt.levels.clone(),
                    model: plan.model.clone(),
                    names: rt.names.clone(),
                    covariance: plan.covariance,
                })
                .collect(),
            params: self.params.clone(),
            weights: b.weights_column().map(str::to_string),
            offset: b.offset_column().map(str::to_string),
            offsets: b.offsets.clone(),
            missing: b.missing_policy(),
        }
    }
}

/// The design of one batch with frozen levels (see [`BatchDesigner::design`]).
fn batch_design(
    b: &DesignBuilder,
    frozen: &Params,
    groups: &[crate::Levels],
    batch: &RecordBatch,
) -> Result<Design, DesignError> {
    let response = b.response.as_ref().ok_or(DesignError::NoResponse)?;
    check_response_type(batch, response)?;
    let used = used_rows(batch, &b.used_columns(), b.missing_policy())?;
    let mut params = frozen.clone();
    let mut ev = Evaluator {
        batch,
        rows: &used.rows,
        params: &mut params,
        learn: false,
    };
    let y = ev.numeric(response, "the response")?;
    let (x, x_names) = model_matrix(&mut ev, &b.fixed)?;
    let weights = b.weight_values(&mut ev)?;
    let offset = offset_values(&mut ev, b.offset_column(), &b.offsets)?;
    let mut random = Vec::with_capacity(b.random.len());
    for (plan, levels) in b.random.iter().zip(groups) {
        let group = plan.grouping.join(":");
        let (codes, unseen) = group_codes(batch, &used.rows, &plan.grouping, levels)?;
        if let Some(level) = unseen.into_iter().next() {
            return Err(DesignError::LateLevel {
                factor: group,
                level,
            });
        }
        let (z, names) = model_matrix(&mut ev, &plan.model)?;
        random.push(RandomTermDesign {
            group,
            levels: levels.clone(),
            codes: codes.into_iter().map(|c| c.unwrap_or(0)).collect(),
            names,
            z,
            covariance: plan.covariance,
        });
    }
    Ok(Design {
        response: label(response),
        y,
        x,
        x_names,
        aliased: Vec::new(),
        random,
        weights,
        offset,
        n_dropped: used.dropped,
        row_index: used.rows,
    })
}
