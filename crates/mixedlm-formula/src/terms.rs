//! The expanded form of a formula: what the design layer consumes.
//!
//! These types are the contract between `mixedlm-formula` and `mixedlm-design`.
//! Expansion follows R's `terms()` rules: `a*b` = `a + b + a:b`, `a/b` = `a + a:b`,
//! `(a + b)^2` = all interactions up to order 2, `- t` removes a term, duplicates are
//! removed, and terms are ordered by interaction order (main effects first), keeping the
//! order of first appearance within an order.

use serde::Serialize;

/// A function applied elementwise to one variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Func {
    /// Natural logarithm, `log(x)`.
    Log,
    /// `log2(x)`.
    Log2,
    /// `log10(x)`.
    Log10,
    /// `exp(x)`.
    Exp,
    /// `sqrt(x)`.
    Sqrt,
    /// `abs(x)`.
    Abs,
    /// `scale(x)`: subtract the mean, divide by the sample standard deviation (n - 1).
    Scale,
    /// `center(x)`: subtract the mean.
    Center,
}

impl Func {
    /// The name as written in a formula.
    pub fn name(self) -> &'static str {
        match self {
            Func::Log => "log",
            Func::Log2 => "log2",
            Func::Log10 => "log10",
            Func::Exp => "exp",
            Func::Sqrt => "sqrt",
            Func::Abs => "abs",
            Func::Scale => "scale",
            Func::Center => "center",
        }
    }
}

/// Binary arithmetic operators inside `I(...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
    /// `<`: 1 where true, 0 where false (a logical inside arithmetic; a whole `I(x < c)`
    /// is a two-level factor, `FALSE`/`TRUE`, as R's model matrix codes a logical).
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl ArithOp {
    /// Whether the operator compares (`< <= > >= == !=`) rather than computes.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            ArithOp::Lt | ArithOp::Le | ArithOp::Gt | ArithOp::Ge | ArithOp::Eq | ArithOp::Ne
        )
    }
}

impl ArithExpr {
    /// Whether the expression's value is logical (its outermost operation compares).
    pub fn is_comparison(&self) -> bool {
        matches!(self, ArithExpr::Binary { op, .. } if op.is_comparison())
    }
}

/// Arithmetic evaluated row by row inside `I(...)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ArithExpr {
    /// A numeric literal.
    Number(f64),
    /// A variable (a column, possibly transformed).
    Var(Variable),
    /// Unary minus.
    Neg(Box<ArithExpr>),
    /// A binary operation.
    Binary {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        lhs: Box<ArithExpr>,
        /// Right operand.
        rhs: Box<ArithExpr>,
    },
}

/// How a categorical variable is coded when it needs a contrast.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub enum Contrast {
    /// Treatment (dummy) coding; the reference level is the first sorted level unless given.
    #[default]
    Treatment,
    /// Treatment coding with an explicit reference level: `C(x, Treatment(reference='b'))`.
    TreatmentRef(String),
    /// Sum-to-zero (deviation) coding: `C(x, Sum)`.
    Sum,
}

/// How the user forced a variable to be categorical (kept for labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum CategoricalStyle {
    /// `C(x)` / `C(x, ...)` (patsy / statsmodels spelling).
    C,
    /// `factor(x)` (R spelling).
    Factor,
}

/// One variable of the model: a data column, possibly transformed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Variable {
    /// A data column, by name.
    Column(String),
    /// A function of one variable.
    Function {
        /// Which function.
        func: Func,
        /// Its argument.
        arg: Box<Variable>,
    },
    /// `I(expr)`: arithmetic evaluated per row (boxed: `ArithExpr` holds variables).
    Identity(Box<ArithExpr>),
    /// `poly(x, degree)`: orthogonal polynomial columns, as R's `poly()` computes them.
    Poly {
        /// The argument.
        arg: Box<Variable>,
        /// The degree (number of columns).
        degree: u32,
    },
    /// `C(x)`, `C(x, Sum)`, `C(x, Treatment(reference='b'))` or `factor(x)`: treat as categorical.
    Categorical {
        /// The argument.
        arg: Box<Variable>,
        /// The contrast coding.
        contrast: Contrast,
        /// Spelling used (for the label).
        style: CategoricalStyle,
    },
    /// `cbind(successes, failures)`: a binomial response given as counts (only as the
    /// response, left of `~`).
    Counts {
        /// The numbers of successes.
        successes: Box<Variable>,
        /// The numbers of failures.
        failures: Box<Variable>,
    },
}

/// A model term: the interaction of its variables (one variable = a main effect).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Term {
    /// The variables, in the order written.
    pub variables: Vec<Variable>,
}

/// An expanded right-hand side: intercept flag plus ordered, de-duplicated terms.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TermList {
    /// Whether the intercept is present (`1`, implicit) or removed (`0`, `-1`).
    pub intercept: bool,
    /// The terms, ordered by interaction order, then first appearance.
    pub terms: Vec<Term>,
}

/// One random-effects term after expansion: `(model | grouping)`.
///
/// `(1 | a/b)` expands to two of these, `(1 | a)` and `(1 | a:b)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RandomTerm {
    /// The model inside the bar (`1 + x`, `0 + x`, `x`).
    pub model: TermList,
    /// The grouping factor: one column, or the interaction of several (`a:b` = `["a", "b"]`).
    pub grouping: Vec<String>,
    /// `|` (correlated, unstructured covariance) or `||` (uncorrelated, diagonal covariance).
    pub correlated: bool,
}

/// A whole formula after expansion.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelFormula {
    /// The response (`None` for a right-hand side only, e.g. a `re_formula`).
    pub response: Option<Variable>,
    /// The fixed-effects part.
    pub fixed: TermList,
    /// The random-effects terms, in the order written (after `/` expansion).
    pub random: Vec<RandomTerm>,
    /// `offset(expr)` terms of the fixed part (summed; not model columns).
    pub offsets: Vec<Variable>,
}
