//! mixedlm-formula: the formula layer of mixedlm. It owns the grammar (pest) for
//! Wilkinson / R model formulas with lme4's random-effects terms, a typed syntax tree
//! ([`ast`]), its expansion into model terms following R's `terms()` rules
//! ([`ModelFormula`], the contract with `mixedlm-design`), the labels R gives those
//! terms (they become column names downstream), and errors that point at the
//! offending column and say what to do. It knows nothing of Arrow, faer, data or
//! models: it turns text into [`ModelFormula`].
//!
//! ```
//! use mixedlm_formula::parse_formula;
//!
//! let f = parse_formula("log(Reaction) ~ Days * Sex + I(Days^2) + (1 + Days | Subject)")?;
//! assert_eq!(f.response.as_ref().map(|r| r.label()).as_deref(), Some("log(Reaction)"));
//! assert!(f.fixed.intercept);
//! assert_eq!(f.fixed.labels(), ["Days", "Sex", "I(Days^2)", "Days:Sex"]);
//! assert_eq!(f.random[0].group_name(), "Subject");
//! assert_eq!(f.columns(), ["Reaction", "Days", "Sex", "Subject"]);
//!
//! let err = parse_formula("Reaction ~ Days + ").unwrap_err();
//! assert_eq!(err.position, 17);
//! # Ok::<(), mixedlm_formula::FormulaError>(())
//! ```
//!
//! # Syntax
//!
//! | written | meaning |
//! | --- | --- |
//! | `y ~ ...`, `log(y) ~ ...`, `I(y/10) ~ ...` | the response: one variable |
//! | `1`, `0`, `-1`, `+ 0`, `- 1` | intercept on or off (the last one wins; implicit unless removed) |
//! | `a + b`, `a - b` | add or remove terms (`- a:b`, `- x`) |
//! | `a:b`, `a*b`, `(a + b + c)^2`, `a/b`, `a %in% b` | interaction, crossing (`a + b + a:b`), all interactions up to order 2, nesting (`a + a:b`; `(a + b)/c` = `a + b + a:b:c`), `a:b` |
//! | `log`, `log2`, `log10`, `exp`, `sqrt`, `abs`, `scale`, `center` | functions of one variable or of arithmetic (`log(x + 1)`) |
//! | `I(expr)` | arithmetic per row: `+ - * / ^`, unary minus, numbers (`1e-3`, `.5`), parentheses |
//! | `poly(x, 2)`, `poly(x, degree = 2)` | orthogonal polynomial |
//! | `C(x)`, `factor(x)`, `C(x, Sum)`, `C(x, Treatment(reference = "b"))` | categorical, with its contrast (also `Treatment('b')`, `Treatment(b)`) |
//! | `offset(x)` | a known term of the linear predictor ([`ModelFormula::offsets`]) |
//! | `` `my col` ``, `Sex.1`, `x_2` | names; anything not R-syntactic goes in backquotes |
//! | `(1 + x \| g)`, `(x \|\| g)`, `(0 + x \| g)` | random effects, correlated or not (`x` implies the intercept) |
//! | `(1 \| a/b)`, `(1 \| a:b)` | nested grouping: `(1 \| a) + (1 \| a:b)`; interaction of factors |
//!
//! Expansion follows R's `terms()`: terms are ordered by interaction order, then by
//! first appearance; an interaction's variables come in the order they first appear
//! (`y ~ a + b:a` has the term `a:b`); duplicates are dropped. Labels are R's
//! deparse ([`Variable::label`], [`Term::label`], [`RandomTerm::group_name`]).
//!
//! Input is bounded ([`MAX_LEN`] characters, [`MAX_PAREN_DEPTH`] nested parentheses,
//! [`MAX_DEPTH`] nested expressions, [`MAX_TERMS`] terms) so that no input can
//! exhaust the stack or memory.
#![warn(missing_docs)]

pub mod ast;
mod build;
mod call;
mod error;
mod expand;
mod label;
mod parser;
mod suggest;
mod terms;

pub use build::MAX_DEPTH;
pub use call::MAX_POLY_DEGREE;
pub use error::{ErrorKind, FormulaError};
pub use expand::MAX_TERMS;
pub use label::{format_number, is_syntactic, quote_name};
pub use parser::{MAX_LEN, MAX_PAREN_DEPTH};
pub use suggest::closest;
pub use terms::*;

use parser::Mode;

/// Parses a full `response ~ terms` formula, lme4 style, and expands it.
///
/// `y ~ 1 + x + f + x:f + (1 + x | g)`, `log(y) ~ a*b + offset(o) + (1 | g/h)`.
pub fn parse_formula(text: &str) -> Result<ModelFormula, FormulaError> {
    let ast = parser::parse(text, Mode::Full)?;
    expand_at(&ast, text)
}

/// Parses a right-hand side without response, as statsmodels takes them:
/// `re_formula` (`"~x"`, `"1 + x"`, `"0 + x"`, `"~ 0 + x"`) and `vc_formula`
/// entries (`"0 + C(class)"`). The `~` is optional; a response is an error.
pub fn parse_rhs(text: &str) -> Result<ModelFormula, FormulaError> {
    let ast = parser::parse(text, Mode::Rhs)?;
    expand_at(&ast, text)
}

/// Parses `response ~ rhs` or `~ rhs` into the syntax tree, without expanding it.
/// `parse_ast(&ast.to_string())` gives `ast` back.
pub fn parse_ast(text: &str) -> Result<ast::Formula, FormulaError> {
    parser::parse(text, Mode::Ast)
}

/// Expands a syntax tree into terms. Errors (possible for hand-built trees) quote
/// the printed tree, at column 0.
pub fn expand(ast: &ast::Formula) -> Result<ModelFormula, FormulaError> {
    expand::expand_formula(ast).map_err(|k| FormulaError::new(k, &ast.to_string(), 0))
}

fn expand_at(ast: &ast::Formula, text: &str) -> Result<ModelFormula, FormulaError> {
    expand::expand_formula(ast).map_err(|k| FormulaError::new(k, text, 0))
}

impl std::str::FromStr for ModelFormula {
    type Err = FormulaError;

    /// Same as [`parse_formula`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_formula(text)
    }
}

impl std::str::FromStr for ast::Formula {
    type Err = FormulaError;

    /// Same as [`parse_ast`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_ast(text)
    }
}
