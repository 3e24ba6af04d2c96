//! Typed errors of design building; every message says what to do.

use thiserror::Error;

/// Why a design could not be built.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DesignError {
    /// A column named in the formula (or as weights/offset/groups) is not in the data.
    #[error("no column '{name}' in the data{suggestion} (columns: {columns})")]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// `; did you mean 'x'?` or empty.
        suggestion: String,
        /// The available columns, comma separated.
        columns: String,
    },
    /// The response is not numeric.
    #[error("response '{name}' is {kind}; a linear mixed model needs a numeric response")]
    NonNumericResponse {
        /// The response label.
        name: String,
        /// What it is (`text`, `boolean`, ...).
        kind: String,
    },
    /// A non-numeric column was used where a number is needed (inside `I()`, `log()`, weights...).
    #[error("column '{name}' is {kind} but {context} needs numbers; convert it or use it as a factor outside the function")]
    NonNumericColumn {
        /// The column.
        name: String,
        /// What it is.
        kind: String,
        /// Where it was used (`log(x)`, `I(x^2)`, `weights`).
        context: String,
    },
    /// A column of a type the design cannot use.
    #[error("column '{name}' has unsupported type {dtype}; use numbers, text, booleans or dictionary-encoded text")]
    UnsupportedType {
        /// The column.
        name: String,
        /// The Arrow data type.
        dtype: String,
    },
    /// A logarithm of a value <= 0.
    #[error("{label} is undefined: column '{column}' has {count} value(s) <= 0 (e.g. {example}); shift the column (log(x + c) via I()) or use a different transform")]
    LogNonPositive {
        /// The term label (`log(x)`).
        label: String,
        /// The column.
        column: String,
        /// Number of offending values.
        count: usize,
        /// One offending value.
        example: f64,
    },
    /// A transform produced a non-finite value from finite data.
    #[error("{label} gives a non-finite value ({value}) at row {row}; check the data or the transform (division by zero, sqrt of a negative?)")]
    NonFiniteTransform {
        /// The term label.
        label: String,
        /// The input row.
        row: usize,
        /// The value produced.
        value: f64,
    },
    /// An infinite value in a used column.
    #[error("column '{column}' has {count} infinite value(s) (first at row {row}); remove or replace them before fitting")]
    Infinite {
        /// The column.
        column: String,
        /// Number of infinite values.
        count: usize,
        /// First offending input row.
        row: usize,
    },
    /// Missing values with `MissingPolicy::Error`.
    #[error("column '{column}' has {count} missing value(s); drop those rows (MissingPolicy::Drop, lme4's na.omit) or fill them in")]
    Missing {
        /// The first column with missing values.
        column: String,
        /// Number of missing values in that column.
        count: usize,
    },
    /// Nothing left to fit.
    #[error("no rows left to fit: {dropped} of {total} rows have a missing value in a column the model uses")]
    NoRows {
        /// Rows dropped.
        dropped: usize,
        /// Rows in the input.
        total: usize,
    },
    /// A grouping factor with one level.
    #[error("grouping factor '{group}' has only 1 level; a random effect needs at least 2 levels — remove the term or fit an ordinary linear model")]
    OneLevel {
        /// The grouping factor.
        group: String,
    },
    /// A grouping factor with as many levels as observations in a term with an intercept.
    #[error("grouping factor '{group}' has {levels} levels for {n} observations: its random intercept would be confounded with the residual error; use a grouping factor with repeated observations or drop the term")]
    LevelsEqualObs {
        /// The grouping factor.
        group: String,
        /// Number of levels.
        levels: usize,
        /// Number of observations.
        n: usize,
    },
    /// The formula has no random-effects term.
    #[error("the formula has no random-effects term such as (1 | g), so this is not a mixed model; add a term or fit it by ordinary least squares")]
    NoRandomEffects,
    /// A formula without a response.
    #[error("the formula has no response (left-hand side); write it as 'y ~ ...'")]
    NoResponse,
    /// A treatment reference level that the factor does not have.
    #[error("reference level '{level}' is not a level of '{factor}' (levels: {levels})")]
    UnknownReference {
        /// The factor label.
        factor: String,
        /// The asked-for level.
        level: String,
        /// The factor's levels.
        levels: String,
    },
    /// `poly(x, k)` with too few distinct points.
    #[error("{label}: degree {degree} must be less than the number of distinct values of the variable ({unique})")]
    PolyDegree {
        /// The label.
        label: String,
        /// The degree asked for.
        degree: u32,
        /// Distinct values.
        unique: usize,
    },
    /// `scale(x)` of a constant.
    #[error(
        "{label}: the variable is constant (standard deviation 0) on the rows used; drop the term"
    )]
    ConstantScale {
        /// The label.
        label: String,
    },
    /// A level unseen in the fitting data, at prediction time, in a fixed-effects factor.
    #[error("factor '{factor}' has level '{level}' in the new data that was not in the fitting data (levels: {levels})")]
    UnseenLevel {
        /// The factor label.
        factor: String,
        /// The new level.
        level: String,
        /// The known levels.
        levels: String,
    },
    /// Aliased (linearly dependent) fixed-effects columns with `AliasPolicy::Error`.
    #[error("fixed-effect model matrix is rank deficient: {} column(s) are linear combinations of earlier ones: {}; remove them from the formula or allow dropping (AliasPolicy::Drop)", .columns.len(), .columns.join(", "))]
    RankDeficient {
        /// The aliased columns.
        columns: Vec<String>,
    },
    /// Negative or non-finite prior weights.
    #[error("weights column '{column}' has a negative value at row {row}; weights must be >= 0")]
    NegativeWeight {
        /// The column.
        column: String,
        /// The input row.
        row: usize,
    },
    /// A `cbind(successes, failures)` response that cannot be binomial counts.
    #[error("response {response}: {message}")]
    BadCounts {
        /// The response as written.
        response: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// Something the design layer does not support.
    #[error("{0}")]
    Unsupported(String),
    /// A transform whose parameters come from the whole data (`scale`, `center`, `poly`)
    /// in a model built batch by batch.
    #[error("{label} needs the whole data (its parameters are learned from every row), which a streamed fit does not hold; precompute the column (e.g. in R, Python or SQL) and use it in the formula, or fit in memory without --stream")]
    NeedsWholeData {
        /// The term label (`scale(x)`, `poly(x, 2)`).
        label: String,
    },
    /// A batch holds a level that the first pass over the data did not see.
    #[error("level '{level}' of '{factor}' was not seen in the first pass over the data; the data changed between the two passes: re-run on a file that is not being written to")]
    LateLevel {
        /// The factor or grouping factor.
        factor: String,
        /// The level.
        level: String,
    },
}

/// The `UnknownColumn` error for `name` given the available columns.
pub fn unknown_column(name: &str, columns: &[&str]) -> DesignError {
    let suggestion = mixedlm_formula::closest(name, columns.iter().copied())
        .map(|c| format!("; did you mean '{c}'?"))
        .unwrap_or_default();
    DesignError::UnknownColumn {
        name: name.to_string(),
        suggestion,
        columns: columns.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_names_the_close_column() {
        let e = unknown_column("Reacton", &["Reaction", "Days", "Subject"]);
        assert_eq!(
            e.to_string(),
            "no column 'Reacton' in the data; did you mean 'Reaction'? (columns: Reaction, Days, Subject)"
        );
        let e = unknown_column("zzzzzz", &["Reaction", "Days"]);
        assert!(!e.to_string().contains("did you mean"));
    }
}
