//! mixedlm: linear mixed-effects models in Rust, with lme4's formulas and statsmodels'
//! names. This facade is the only crate a user needs to name: it re-exports every layer
//! ([`formula`], [`design`], [`covariance`], [`optim`], [`model`], [`inference`],
//! [`diagnostics`]), offers
//! both idioms (an lme4 formula, or statsmodels' `groups` / `re_formula` / variance
//! components), and the results type [`MixedLMResults`] with statsmodels' and lme4's
//! accessor names and a printed [`summary`](MixedLMResults::summary).
//!
//! It depends on all the layers; only `mixedlm-cli` depends on it.
//!
//! # Random slopes (sleepstudy), lme4 idiom
//!
//! ```
//! use mixedlm::{lmer, read_table};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sleepstudy.csv");
//! let data = read_table(path.as_ref(), None)?;
//! let fit = lmer("Reaction ~ Days + (Days | Subject)", &data)?;
//! assert_eq!(fit.fe_names(), ["(Intercept)", "Days"]);
//! assert!((fit.fixef()[1] - 10.4673).abs() < 1e-3);          // lme4: 10.46729
//! assert!((fit.reml_criterion().unwrap() - 1743.628).abs() < 1e-2);
//! let vc = fit.varcorr();
//! assert!((vc.variances[0].std_dev - 24.74).abs() < 0.01);   // Subject (Intercept)
//! println!("{}", fit.summary());
//! # Ok::<(), mixedlm::Error>(())
//! ```
//!
//! # The statsmodels idiom builds the same model
//!
//! ```
//! use mixedlm::{lmer, read_table, MixedLM};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sleepstudy.csv");
//! let data = read_table(path.as_ref(), None)?;
//! let sm = MixedLM::from_formula("Reaction ~ Days")
//!     .groups("Subject")
//!     .re_formula("~Days")
//!     .reml(true)
//!     .method("bobyqa")
//!     .data(data.clone())
//!     .fit()?;
//! let lme4 = lmer("Reaction ~ Days + (Days | Subject)", &data)?;
//! assert!((sm.llf() - lme4.llf()).abs() < 1e-6);
//! assert!((sm.cov_re()[(0, 0)] - 612.1).abs() < 0.5);       // statsmodels: 612.10
//! assert!((sm.scale() - 654.94).abs() < 0.05);
//! # Ok::<(), mixedlm::Error>(())
//! ```
//!
//! # Students within schools (mathachieve)
//!
//! ```
//! use mixedlm::MixedLM;
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/mathachieve.csv");
//! let fit = MixedLM::from_formula("MathAch ~ SES + MEANSES + Sex + Minority + (1 + SES | School)")
//!     .fit_path(path)?;
//! assert_eq!(fit.n_groups(), [("School".to_string(), 160)]);
//! assert_eq!(fit.fe_names()[3], "SexMale");
//! assert!((fit.fe_params()[3] - 1.2084).abs() < 1e-3);     // lme4: 1.20843
//! # Ok::<(), mixedlm::Error>(())
//! ```
//!
//! # Nested random effects (pastes): `(1 | batch/cask)`
//!
//! ```
//! use mixedlm::{read_table, lmer};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/pastes.csv");
//! let fit = lmer("strength ~ 1 + (1 | batch/cask)", &read_table(path.as_ref(), None)?)?;
//! let groups: Vec<_> = fit.n_groups().into_iter().map(|(g, n)| format!("{g}={n}")).collect();
//! assert_eq!(groups, ["batch:cask=30", "batch=10"]);
//! assert!((fit.llf() - (-123.495)).abs() < 1e-2);           // lme4: -123.4954
//! # Ok::<(), mixedlm::Error>(())
//! ```
//!
//! # Crossed random effects (penicillin)
//!
//! ```
//! use mixedlm::{read_table, lmer};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/penicillin.csv");
//! let fit = lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", &read_table(path.as_ref(), None)?)?;
//! assert!((fit.objective() - 330.8606).abs() < 1e-3);
//! let table = fit.ranef_table();                             // Arrow: group, term, level, ...
//! assert_eq!(table.num_rows(), 24 + 6);
//! # Ok::<(), mixedlm::Error>(())
//! ```
//!
//! # Patients within clinics, a treatment effect, and prediction
//!
//! Any Arrow `RecordBatch` is data. Twelve clinics, twenty patients each, half treated;
//! clinics differ in their baseline. The treatment effect is tested with Satterthwaite's
//! degrees of freedom; prediction is group-specific for a known clinic and falls back to
//! the population level for a new one.
//!
//! ```
//! use mixedlm::{arrow_array::{Float64Array, StringArray}, lmer, Ddf, PredictLevel,
//!               PredictOptions, RecordBatch};
//! use std::sync::Arc;
//! let (mut clinic, mut treated, mut outcome) = (vec![], vec![], vec![]);
//! let mut state = 12345u64;              // a small deterministic noise source
//! let mut noise = move || {
//!     state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
//!     ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 3.0
//! };
//! for c in 0..12 {
//!     let baseline = 50.0 + 4.0 * ((c * 7 % 12) as f64 - 5.5) / 5.5;
//!     for i in 0..20 {
//!         let t = (i % 2) as f64;
//!         clinic.push(format!("clinic{c:02}"));
//!         treated.push(t);
//!         outcome.push(baseline - 3.0 * t + noise());
//!     }
//! }
//! let data = RecordBatch::try_from_iter([
//!     ("clinic", Arc::new(StringArray::from(clinic)) as _),
//!     ("treated", Arc::new(Float64Array::from(treated)) as _),
//!     ("outcome", Arc::new(Float64Array::from(outcome)) as _),
//! ]).unwrap();
//! let fit = lmer("outcome ~ treated + (1 | clinic)", &data)?;
//! let tests = fit.fixed_effect_tests(Ddf::Satterthwaite)?;
//! let effect = &tests[1];
//! assert_eq!(effect.name, "treated");
//! assert!((effect.estimate - (-3.0)).abs() < 0.5 && effect.p_value < 1e-6);
//! assert!(effect.df.unwrap() > 200.0);   // within-clinic contrast: df near n - clinics - 1
//!
//! // A known clinic gets its BLUP; an unseen one the population prediction.
//! let new = RecordBatch::try_from_iter([
//!     ("clinic", Arc::new(StringArray::from(vec!["clinic03", "clinic99"])) as _),
//!     ("treated", Arc::new(Float64Array::from(vec![1.0, 1.0])) as _),
//! ]).unwrap();
//! let conditional = fit.predict(&new, &PredictOptions::default())?;
//! let population = fit.predict(&new, &PredictOptions {
//!     level: PredictLevel::Population, ..Default::default() })?;
//! assert_eq!(conditional.unseen_levels, ["clinic=clinic99"]);
//! assert!((conditional.values[1] - population.values[1]).abs() < 1e-12);
//! assert!((conditional.values[0] - population.values[0]).abs() > 0.1);
//! assert!(population.std_error.is_some());
//! # Ok::<(), mixedlm::Error>(())
//! ```
#![warn(missing_docs)]

mod at_theta;
mod bse_re;
mod builder;
mod convergence;
pub mod diagnostics;
mod distributed;
mod engine;
mod error;
mod fitted_inference;
mod glmm_builder;
mod glmm_results;
mod joint_information;
mod predict;
mod results;
mod separation;
mod spec;
mod stream;
mod summary;

pub use builder::{lmer, MixedLM};
pub use distributed::{level_columns, Coefficients, Fitted, FrozenLevels, LEVELS_FORMAT_VERSION};
pub use error::Error;
pub use fitted_inference::{anova, Anova, CiMethod, ConditionalMode, ConfIntOptions, DENSE_MAX_Q};
pub use glmm_builder::{glmer, Glmm};
pub use glmm_results::{
    GlmmLrt, GlmmPredictOptions, GlmmResults, GlmmSummary, PredictScale, ResidualKind,
};
pub use joint_information::JointCovariance;
pub use mixedlm_inference::{
    ConfidenceInterval, Ddf, FixedEffectTest, LrtRow, NewLevelPolicy, VarianceComponentSe,
};
pub use predict::{write_csv, write_table, PredictLevel, PredictOptions, Predictions};
pub use results::{CorrelationEntry, GroupEffects, MixedLMResults, VarCorr, VarianceEntry};
pub use separation::SeparatedEffect;
pub use spec::ModelSpec;
pub use stream::{StreamInfo, StreamOptions};
pub use summary::Summary;

pub use mixedlm_covariance as covariance;
pub use mixedlm_design as design;
pub use mixedlm_formula as formula;
pub use mixedlm_glmm as glmm;
pub use mixedlm_inference as inference;
pub use mixedlm_model as model;
pub use mixedlm_optim as optim;

pub use arrow_array;
pub use arrow_array::RecordBatch;
pub use mixedlm_design::{
    read_csv_str, read_from, read_table, read_table_as_written, CovarianceKind, Design,
    DesignError, InputFormat, ReadError,
};
pub use mixedlm_formula::{parse_formula, FormulaError};
pub use mixedlm_glmm::{GlmmError, GlmmFit};
pub use mixedlm_model::{LmmFit, ModelError, OptimizerName};

/// A plain-text description of a design (what `mixedlm design` prints).
pub fn describe_design(d: &Design) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "Response:        {}", d.response);
    let _ = writeln!(
        s,
        "Observations:    {} used, {} dropped for missing values",
        d.n_obs(),
        d.n_dropped
    );
    let _ = writeln!(
        s,
        "Fixed effects:   {} column(s): {}",
        d.x_names.len(),
        d.x_names.join(", ")
    );
    if let Some(msg) = d.rank_message() {
        let _ = writeln!(s, "Note:            {msg}");
    }
    let _ = writeln!(s, "Random effects:");
    let width = d
        .random
        .iter()
        .map(|r| r.group.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        s,
        "  {:<width$}  {:>7}  {:<12}  Terms",
        "Group", "Levels", "Covariance"
    );
    for r in &d.random {
        let cov = r.covariance.as_str();
        let _ = writeln!(
            s,
            "  {:<width$}  {:>7}  {:<12}  {}",
            r.group,
            r.levels.len(),
            cov,
            r.names.join(", ")
        );
    }
    let _ = writeln!(s, "Z columns:       {}", d.z_columns());
    let _ = write!(s, "theta length:    {}", d.theta_length());
    s
}
