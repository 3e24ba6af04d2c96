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
    /// A fixed-effects column was dropped as a linear combination of earlier ones.
    Aliased,
    /// A group changes the fixed effects strongly when left out.
    Influence,
}

impl MessageKind {
    /// The stable machine-readable code (`singular`, `gradient`, `scale`, ...), as serialized.
    pub fn code(self) -> &'static str {
        match self {
            MessageKind::Singular => "singular",
            MessageKind::Gradient => "gradient",
            MessageKind::Hessian => "hessian",
            MessageKind::MaxEval => "max_eval",
            MessageKind::Scale => "scale",
            MessageKind::SmallGroups => "small_groups",
            MessageKind::FewLevels => "few_levels",
            MessageKind::Overparameterized => "overparameterized",
            MessageKind::Normality => "normality",
            MessageKind::Aliased => "aliased",
            MessageKind::Influence => "influence",
        }
    }

    /// How serious a finding of this kind is: the fit itself is doubtful (`Warning`: the
    /// optimum, its uniqueness or a variance estimate), or the model deserves a look (`Note`).
    pub fn severity(self) -> Severity {
        match self {
            MessageKind::Singular
            | MessageKind::Gradient
            | MessageKind::Hessian
            | MessageKind::MaxEval
            | MessageKind::Scale
            | MessageKind::Overparameterized
            | MessageKind::Aliased => Severity::Warning,
            MessageKind::SmallGroups
            | MessageKind::FewLevels
            | MessageKind::Normality
            | MessageKind::Influence => Severity::Note,
        }
    }
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; the estimates are probably fine.
    Note,
    /// The estimates may be wrong or not what they seem.
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
        })
    }
}

/// One finding: what was found and what to do about it.
///
/// Serialized as `{"severity": "warning", "code": "singular", "kind": "singular",
/// "text": "...", "advice": "..."}` (`kind` and `code` are the same string).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    /// How serious the finding is (derived from the kind).
    pub severity: Severity,
    /// The stable code of the kind (`singular`, `scale`, ...).
    pub code: &'static str,
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
            severity: kind.severity(),
            code: kind.code(),
            kind,
            text: text.into(),
            advice: advice.into(),
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {}", self.severity, self.text, self.advice)
    }
}
