//! Findings: a kind, a text saying what was found, and advice saying what to do.

use serde::Serialize;

/// The kind of a diagnostic finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A variance component is estimated at zero or a correlation at ±1 (θ on its boundary).
    Singular,
    /// The gradient at the optimum is larger than the tolerance.
    Gradient,
    /// The Hessian at the optimum is not positive definite or is badly conditioned.
    Hessian,
    /// The optimizer used all its function evaluations.
    MaxEval,
    /// Predictors (or parameters) have wildly different scales.
    Scale,
    /// Many groups are too small for the random-effects term.
    SmallGroups,
    /// A grouping factor has too few levels to estimate a variance.
    FewLevels,
    /// More random effects than the data can support.
    Overparameterized,
    /// The residuals or random effects depart from normality.
    Normality,
    /// A group changes the fixed effects strongly when left out.
    Influence,
}

/// One finding: what was found and what to do about it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    /// The kind of finding.
    pub kind: MessageKind,
    /// What was found, with the numbers.
    pub text: String,
    /// What to do about it.
    pub advice: String,
}

impl Message {
    /// A new message.
    pub fn new(kind: MessageKind, text: impl Into<String>, advice: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
            advice: advice.into(),
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.text, self.advice)
    }
}
