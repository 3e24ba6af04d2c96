//! Errors: where the formula went wrong, what was expected, and what to do.

use thiserror::Error;

/// What went wrong in a formula. The message says what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The formula is empty.
    #[error("the formula is empty; write one, as in `y ~ 1 + x + (1 | g)`")]
    Empty,
    /// The formula is longer than the parser accepts.
    #[error("the formula is longer than {limit} characters; shorten it")]
    TooLong {
        /// The limit, in characters.
        limit: usize,
    },
    /// Parentheses or function calls nested too deeply.
    #[error("the formula nests deeper than {limit} levels; simplify it")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The expansion would produce too many terms.
    #[error(
        "the formula expands to more than {limit} terms; use fewer or lower-order interactions"
    )]
    TooManyTerms {
        /// The limit.
        limit: usize,
    },
    /// An operator with nothing after it.
    #[error("expected {expected} after '{after}'; add {expected} or remove the '{after}'")]
    ExpectedTerm {
        /// The operator.
        after: String,
        /// What should follow it.
        expected: String,
    },
    /// Something unexpected.
    #[error("unexpected {found}; expected {expected}")]
    Unexpected {
        /// What was found (quoted).
        found: String,
        /// What would have been valid here.
        expected: String,
    },
    /// The text ends in the middle of the formula.
    #[error("the formula ends too early; expected {expected}")]
    UnexpectedEnd {
        /// What would have been valid here.
        expected: String,
    },
    /// A `(` without its `)`.
    #[error("this '(' is never closed; add a matching ')'")]
    UnclosedParen,
    /// A `)` without its `(`.
    #[error("this ')' has no matching '('; remove it or add a '(' before it")]
    UnmatchedParen,
    /// A quote or backquote without its closing partner.
    #[error("this {quote} is never closed; add the closing {quote}")]
    UnclosedQuote {
        /// The quote character.
        quote: char,
    },
    /// `~` is missing.
    #[error("missing '~'; write the response, '~', then the terms, as in `y ~ 1 + x`")]
    MissingTilde,
    /// A response is required but missing.
    #[error("missing response before '~'; write it first, as in `y ~ 1 + x`")]
    MissingResponse,
    /// A response where none is allowed.
    #[error(
        "a right-hand side (re_formula or vc_formula) takes no response; remove the part before '~'"
    )]
    UnexpectedResponse,
    /// The response is not a single variable.
    #[error("the response must be one variable (y, log(y), I(y / 10)); wrap arithmetic in I(...)")]
    BadResponse,
    /// An unknown function.
    #[error("unknown function `{name}`{}", suggest(suggestion.as_deref(), KNOWN_FUNCTIONS))]
    UnknownFunction {
        /// The name as written.
        name: String,
        /// The closest known name, if any is close.
        suggestion: Option<String>,
    },
    /// An unknown contrast in `C(x, ...)`.
    #[error("unknown contrast `{name}`{}", suggest(suggestion.as_deref(), "Treatment, Sum"))]
    UnknownContrast {
        /// The name as written.
        name: String,
        /// The closest known name, if any is close.
        suggestion: Option<String>,
    },
    /// Wrong arguments to a function.
    #[error("{function}(): {message}")]
    BadArguments {
        /// The function.
        function: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A number where a term was expected.
    #[error(
        "the number {text} cannot be a term; use 1 or 0 for the intercept, I(...) for arithmetic"
    )]
    NumberAsTerm {
        /// The number as written.
        text: String,
    },
    /// A number that is not finite.
    #[error("the number {text} is too large; write a finite number")]
    BadNumber {
        /// The number as written.
        text: String,
    },
    /// A bad exponent after `^` at the formula level.
    #[error(
        "the exponent of '^' must be a whole number from 1 (as in (a + b + c)^2), found {text}"
    )]
    BadExponent {
        /// The exponent as written.
        text: String,
    },
    /// A random-effects term with an empty model.
    #[error(
        "this random-effects term has nothing left of '|'; write (1 | g) for a random intercept"
    )]
    EmptyRandomTerm,
    /// A `|` term inside another one.
    #[error("random-effects terms cannot be nested inside another '|' term; add them with '+'")]
    NestedBars,
    /// An invalid grouping factor.
    #[error("bad grouping factor: {message}")]
    BadGrouping {
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A random-effects term used other than by adding it.
    #[error(
        "a random-effects term (... | g) cannot be {context}; add it on its own, as in y ~ x + (1 | g)"
    )]
    MisplacedRandom {
        /// Where it was found ("removed", "interacted").
        context: String,
    },
    /// `0` or `1` inside an interaction.
    #[error("1 and 0 cannot be interacted; add or remove them on their own: + 1, + 0, - 1")]
    MisplacedIntercept,
    /// `offset()` used other than by adding it to the fixed part.
    #[error(
        "offset(...) cannot be {context}; add it to the fixed part on its own, as in + offset(o)"
    )]
    MisplacedOffset {
        /// Where it was found.
        context: String,
    },
    /// The `.` shorthand.
    #[error("'.' (all other columns) is not supported; list the columns explicitly")]
    Dot,
    /// An empty backquoted name.
    #[error("empty backquoted name; put the column name between the backquotes")]
    EmptyName,
    /// A quoted string out of place.
    #[error(
        "a quoted string is only allowed as a reference level: C(x, Treatment(reference = \"b\"))"
    )]
    StringNotAllowed,
}

/// Names `UnknownFunction` lists when nothing is close.
pub(crate) const KNOWN_FUNCTIONS: &str =
    "log, log2, log10, exp, sqrt, abs, scale, center, I, poly, C, factor, offset";

fn suggest(suggestion: Option<&str>, known: &str) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None => format!("; use one of: {known}"),
    }
}

/// A formula that could not be parsed or expanded.
///
/// `Display` shows what went wrong with the 0-based column, the formula with a
/// caret under the position, and what to do:
///
/// ```text
/// error: expected a term after '+' at column 17
///   Reaction ~ Days +
///                    ^
///   help: add a term or remove the '+'
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}", self.render())]
pub struct FormulaError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The formula text.
    pub input: String,
    /// The 0-based position in `input`, in characters (not bytes).
    pub position: usize,
}

/// Characters of context shown on each side of the caret for long formulas.
const WINDOW: usize = 36;

impl FormulaError {
    /// An error of `kind` at character `position` of `input`.
    pub fn new(kind: ErrorKind, input: &str, position: usize) -> Self {
        FormulaError {
            kind,
            input: input.to_string(),
            position,
        }
    }

    /// An error at byte offset `byte` of `input`.
    pub(crate) fn at_byte(kind: ErrorKind, input: &str, byte: usize) -> Self {
        let byte = byte.min(input.len());
        let position = input.char_indices().take_while(|&(i, _)| i < byte).count();
        FormulaError::new(kind, input, position)
    }

    /// What was expected at the position, when the error is about syntax.
    pub fn expected(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::ExpectedTerm { expected, .. }
            | ErrorKind::Unexpected { expected, .. }
            | ErrorKind::UnexpectedEnd { expected } => Some(expected),
            ErrorKind::UnclosedParen => Some("')'"),
            ErrorKind::MissingTilde => Some("'~'"),
            _ => None,
        }
    }

    fn render(&self) -> String {
        let chars: Vec<char> = self
            .input
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        let pos = self.position.min(chars.len());
        let start = pos.saturating_sub(WINDOW);
        let end = (pos + WINDOW).min(chars.len());
        let prefix = if start > 0 { "..." } else { "" };
        let suffix = if end < chars.len() { "..." } else { "" };
        let shown: String = chars[start..end].iter().collect();
        let caret = " ".repeat(prefix.len() + pos - start);
        let message = self.kind.to_string();
        let (headline, help) = match message.split_once("; ") {
            Some((h, advice)) => (h, format!("\n  help: {advice}")),
            None => (message.as_str(), String::new()),
        };
        format!(
            "error: {headline} at column {}\n  {prefix}{shown}{suffix}\n  {caret}^{help}",
            self.position
        )
    }
}

/// An error before it is tied to the input text: the kind and a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    pub kind: ErrorKind,
    pub byte: usize,
}

impl Located {
    pub fn new(kind: ErrorKind, byte: usize) -> Self {
        Located { kind, byte }
    }

    pub fn into_error(self, input: &str) -> FormulaError {
        FormulaError::at_byte(self.kind, input, self.byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let e = FormulaError::at_byte(ErrorKind::Dot, "é ~ .", 5);
        assert_eq!(e.position, 4);
        assert!(e.to_string().contains("\n  é ~ .\n      ^\n"), "{e}");
    }
}
