//! The benchmark models: data file, lme4 formula and the statsmodels idiom.

/// How statsmodels' `MixedLM` writes a model, when it can.
#[derive(Clone, Debug)]
pub struct Statsmodels {
    /// Fixed-effects formula (`Reaction ~ Days`).
    pub formula: &'static str,
    /// The `groups=` column (`"one"` = a constant column added by the script).
    pub groups: &'static str,
    /// `re_formula=` (`~Days`), if any.
    pub re_formula: Option<&'static str>,
    /// `vc_formula=` as JSON (`{"cask": "0 + C(cask)"}`), if any.
    pub vc_formula: Option<&'static str>,
}

/// One benchmark model.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name (also the output file name).
    pub name: &'static str,
    /// CSV path relative to the workspace root; `sim:` prefix = simulated (target/sim).
    pub data: &'static str,
    /// lme4 formula.
    pub formula: &'static str,
    /// Columns to treat as categorical.
    pub factors: &'static [&'static str],
    /// Part of `--quick`.
    pub quick: bool,
    /// statsmodels' idiom, or why it is not run.
    pub statsmodels: Result<Statsmodels, &'static str>,
}

const CROSSED: &str = "crossed factors need one dense all-data group in statsmodels (hours, GBs)";

/// All benchmark models, in table order.
pub fn all() -> Vec<Case> {
    vec![
        Case {
            name: "sleepstudy",
            data: "tests/data/sleepstudy.csv",
            formula: "Reaction ~ 1 + Days + (1 + Days | Subject)",
            factors: &["Subject"],
            quick: true,
            statsmodels: Ok(Statsmodels { formula: "Reaction ~ Days", groups: "Subject", re_formula: Some("~Days"), vc_formula: None }),
        },
        Case {
            name: "penicillin",
            data: "tests/data/penicillin.csv",
            formula: "diameter ~ 1 + (1 | plate) + (1 | sample)",
            factors: &["plate", "sample"],
            quick: true,
            statsmodels: Ok(Statsmodels {
                formula: "diameter ~ 1",
                groups: "one",
                re_formula: Some("~0"),
                vc_formula: Some(r#"{"plate": "0 + C(plate)", "sample": "0 + C(sample)"}"#),
            }),
        },
        Case {
            name: "mathachieve",
            data: "tests/data/mathachieve.csv",
            formula: "MathAch ~ 1 + SES + MEANSES + Sex + Minority + (1 + SES | School)",
            factors: &["School", "Sex", "Minority"],
            quick: true,
            statsmodels: Ok(Statsmodels {
                formula: "MathAch ~ SES + MEANSES + Sex + Minority",
                groups: "School",
                re_formula: Some("~SES"),
                vc_formula: None,
            }),
        },
        Case {
            name: "insteval",
            data: "tests/data/insteval.csv",
            formula: "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)",
            factors: &["s", "d", "dept", "service"],
            quick: true,
            statsmodels: Err(CROSSED),
        },
        Case {
            name: "sim_a_100k",
            data: "sim:sim_a_100k.csv",
            formula: "y ~ 1 + x1 + x2 + (1 + x1 | g)",
            factors: &["g"],
            quick: true,
            statsmodels: Ok(Statsmodels { formula: "y ~ x1 + x2", groups: "g", re_formula: Some("~x1"), vc_formula: None }),
        },
        Case {
            name: "sim_d_nested",
            data: "sim:sim_d_nested.csv",
            formula: "test_score ~ 1 + study_hours + prior_gpa + (1 + study_hours | school) + (1 | school:class)",
            factors: &["school", "class"],
            quick: true,
            statsmodels: Ok(Statsmodels {
                formula: "test_score ~ study_hours + prior_gpa",
                groups: "school",
                re_formula: Some("~study_hours"),
                // `class` is a Python keyword: patsy needs `Q("class")`.
                vc_formula: Some(r#"{"class": "0 + C(Q('class'))"}"#),
            }),
        },
        Case {
            name: "sim_b_1m",
            data: "sim:sim_b_1m.csv",
            formula: "y ~ 1 + x1 + x2 + (1 + x1 | g)",
            factors: &["g"],
            quick: false,
            statsmodels: Ok(Statsmodels { formula: "y ~ x1 + x2", groups: "g", re_formula: Some("~x1"), vc_formula: None }),
        },
        Case {
            name: "sim_c_crossed",
            data: "sim:sim_c_crossed.csv",
            formula: "y ~ 1 + x + (1 | a) + (1 | b)",
            factors: &["a", "b"],
            quick: false,
            statsmodels: Err(CROSSED),
        },
        Case {
            name: "sim_e_movielens",
            data: "sim:sim_e_movielens.csv",
            formula: "rating ~ 1 + age + (1 | user) + (1 | item)",
            factors: &["user", "item"],
            quick: false,
            statsmodels: Err(CROSSED),
        },
    ]
}
