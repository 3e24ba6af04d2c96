//! Prediction on new data (population or conditional level) and writing tables to CSV or
//! Parquet.

use crate::{Error, MixedLMResults};
use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{Field, Schema};
use mixedlm_design::DenseMatrix;
use mixedlm_inference::{predict, NewLevelPolicy, NewRows, NewTermRows, PredictionInput};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// The level of a prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
pub enum PredictLevel {
    /// Fixed effects only, Xβ̂ (lme4's `re.form = NA`), with standard errors.
    Population,
    /// Xβ̂ + Zb̂ with the conditional modes of the levels seen in fitting (lme4's default).
    #[default]
    Conditional,
}

/// Options of [`MixedLMResults::predict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PredictOptions {
    /// Population or conditional.
    pub level: PredictLevel,
    /// What a level unseen in fitting gets: the population prediction for its term
    /// (default, lme4's `allow.new.levels = TRUE`) or an error.
    pub new_levels: NewLevelPolicy,
}

/// Predictions for the rows of new data that have no missing values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Predictions {
    /// The index in the new data of each predicted row.
    pub row_index: Vec<usize>,
    /// The predictions.
    pub values: Vec<f64>,
    /// Standard errors (population level only: sqrt of x' Var(β̂) x).
    pub std_error: Option<Vec<f64>>,
    /// Levels of grouping factors not seen in fitting, as `group=level`.
    pub unseen_levels: Vec<String>,
    /// Rows of the new data left out for missing values.
    pub n_dropped: usize,
}

impl Predictions {
    /// The new data with `prediction` (and `std_error` at the population level) appended;
    /// rows left out for missing values get nulls.
    pub fn append_to(&self, newdata: &RecordBatch) -> Result<RecordBatch, Error> {
        let n = newdata.num_rows();
        let spread = |v: &[f64]| {
            let mut col = vec![None; n];
            for (&i, &x) in self.row_index.iter().zip(v) {
                col[i] = Some(x);
            }
            Arc::new(Float64Array::from(col)) as ArrayRef
        };
        let mut fields: Vec<Field> = newdata
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns = newdata.columns().to_vec();
        let mut push = |name: &str, col: ArrayRef| {
            let mut name = name.to_string();
            while fields.iter().any(|f| f.name() == &name) {
                name.insert(0, '.');
            }
            fields.push(Field::new(name, col.data_type().clone(), true));
            columns.push(col);
        };
        push("prediction", spread(&self.values));
        if let Some(se) = &self.std_error {
            push("std_error", spread(se));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::InvalidOption(format!("cannot build the prediction table: {e}")))
    }
}

impl MixedLMResults {
    /// Predict for new data (an Arrow batch with the formula's columns; the grouping
    /// columns are needed at the conditional level only).
    ///
    /// A subject seen in fitting gets its own line; a new one gets the population line
    /// (or an error with [`NewLevelPolicy::Error`](crate::NewLevelPolicy::Error)):
    ///
    /// ```
    /// use mixedlm::{lmer, read_csv_str, read_table, PredictLevel, PredictOptions};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sleepstudy.csv");
    /// let fit = lmer("Reaction ~ Days + (Days | Subject)", &read_table(path.as_ref(), None)?)?;
    /// let new = read_csv_str("Days,Subject\n5,308\n5,new\n")?;
    /// let group = fit.predict(&new, &PredictOptions::default())?;
    /// let population = fit.predict(
    ///     &new,
    ///     &PredictOptions { level: PredictLevel::Population, ..Default::default() },
    /// )?;
    /// let b = fit.fe_params();
    /// assert!((population.values[0] - (b[0] + 5.0 * b[1])).abs() < 1e-9);
    /// assert!(group.values[0] > population.values[0] + 20.0);   // subject 308 is slow
    /// assert_eq!(group.values[1], population.values[1]);        // unseen subject
    /// assert_eq!(group.unseen_levels, ["Subject=new"]);
    /// let se = population.std_error.unwrap();                   // SE of X β̂
    /// assert!(se[0] > 0.0);
    /// # Ok::<(), mixedlm::Error>(())
    /// ```
    pub fn predict(
        &self,
        newdata: &RecordBatch,
        opts: &PredictOptions,
    ) -> Result<Predictions, Error> {
        let conditional = opts.level == PredictLevel::Conditional;
        let spec = self.design_spec();
        let new = if conditional {
            spec.apply(newdata)?
        } else {
            spec.apply_fixed(newdata)?
        };
        let n = new.x.nrows;
        let terms: Vec<NewTermRows> = if conditional {
            new.random
                .iter()
                .map(|t| NewTermRows {
                    z: t.z.clone(),
                    codes: t.codes.clone(),
                    labels: level_labels(
                        self.design_spec(),
                        &t.group,
                        &t.codes,
                        newdata,
                        &new.row_index,
                    ),
                })
                .collect()
        } else {
            self.design()
                .random
                .iter()
                .map(|r| NewTermRows {
                    z: DenseMatrix::zeros(n, r.z.ncols),
                    codes: vec![None; n],
                    labels: Vec::new(),
                })
                .collect()
        };
        let input = prediction_input(&self.fit.fixef, &self.fit.vcov_fixef, &self.fit.random);
        let new_data = NewRows {
            x: new.x.clone(),
            terms,
        };
        let policy = if conditional {
            opts.new_levels
        } else {
            NewLevelPolicy::Population
        };
        let pred = predict(&input, &new_data, policy)?;
        let offset = |mut v: Vec<f64>| {
            if let Some(o) = &new.offset {
                v.iter_mut().zip(o).for_each(|(a, b)| *a += b);
            }
            v
        };
        let unseen = new
            .random
            .iter()
            .flat_map(|t| t.unseen.iter().map(move |l| format!("{}={l}", t.group)))
            .collect();
        Ok(Predictions {
            row_index: new.row_index.clone(),
            values: offset(if conditional {
                pred.conditional
            } else {
                pred.population
            }),
            std_error: (!conditional).then_some(pred.se_population),
            unseen_levels: unseen,
            n_dropped: new.n_dropped,
        })
    }
}

/// β̂, Var(β̂) and the conditional modes in design order, from a fit's estimates.
pub(crate) fn prediction_input(
    fixef: &[f64],
    vcov_fixef: &[Vec<f64>],
    random: &[mixedlm_model::TermFit],
) -> PredictionInput {
    let p = fixef.len();
    let mut vcov = DenseMatrix::zeros(p, p);
    for (i, row) in vcov_fixef.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            vcov.data[j * p + i] = *v;
        }
    }
    let mut terms: Vec<_> = random.iter().collect();
    terms.sort_by_key(|t| t.formula_index);
    let ranef = terms
        .iter()
        .map(|t| {
            let (nl, k) = (t.levels.len(), t.names.len());
            let mut m = DenseMatrix::zeros(nl, k);
            for l in 0..nl {
                for c in 0..k {
                    m.data[c * nl + l] = t
                        .condval
                        .get(l)
                        .and_then(|r| r.get(c))
                        .copied()
                        .unwrap_or(0.0);
                }
            }
            m
        })
        .collect();
    PredictionInput {
        beta: fixef.to_vec(),
        vcov_beta: vcov,
        ranef,
        groups: terms.iter().map(|t| t.group.clone()).collect(),
    }
}

/// Labels of the new rows' levels of one term (for the unseen-level error message).
pub(crate) fn level_labels(
    spec: &mixedlm_design::DesignSpec,
    group: &str,
    codes: &[Option<u32>],
    newdata: &RecordBatch,
    rows: &[usize],
) -> Vec<String> {
    let levels = spec
        .random
        .iter()
        .find(|s| s.group == group)
        .map(|s| s.grouping.clone())
        .unwrap_or_default();
    codes
        .iter()
        .zip(rows)
        .map(|(c, &row)| match c {
            Some(_) => String::new(),
            None => levels
                .iter()
                .map(|col| cell_text(newdata, col, row))
                .collect::<Vec<_>>()
                .join(":"),
        })
        .collect()
}

fn cell_text(batch: &RecordBatch, column: &str, row: usize) -> String {
    batch
        .column_by_name(column)
        .and_then(|a| arrow_cast::display::array_value_to_string(a, row).ok())
        .unwrap_or_else(|| "?".to_string())
}

/// Write a table as CSV (`.csv`) or Parquet (`.parquet`), chosen by the extension.
pub fn write_table(batch: &RecordBatch, path: &Path) -> Result<(), Error> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let file = |p: &Path| {
        std::fs::File::create(p).map_err(|e| {
            Error::InvalidOption(format!(
                "cannot create `{}`: {e}; check that the directory exists and is writable",
                p.display()
            ))
        })
    };
    let fail = |e: String| Error::InvalidOption(format!("cannot write `{}`: {e}", path.display()));
    match ext.as_deref() {
        Some("csv") => write_csv(batch, file(path)?).map_err(fail),
        Some("parquet") => {
            let mut w = parquet::arrow::ArrowWriter::try_new(file(path)?, batch.schema(), None)
                .map_err(|e| fail(e.to_string()))?;
            w.write(batch).map_err(|e| fail(e.to_string()))?;
            w.close().map(|_| ()).map_err(|e| fail(e.to_string()))
        }
        _ => Err(Error::InvalidOption(format!(
            "cannot tell the output format of `{}`: name it .csv or .parquet",
            path.display()
        ))),
    }
}

/// Write a table as CSV with a header row.
pub fn write_csv(batch: &RecordBatch, out: impl std::io::Write) -> Result<(), String> {
    let mut w = arrow_csv::WriterBuilder::new().with_header(true).build(out);
    w.write(batch).map_err(|e| e.to_string())
}
