//! Text to AST: limits and bracket checks, the pest grammar, then the builder.

use pest::error::{ErrorVariant, InputLocation};
use pest::Parser;
use pest_derive::Parser;

use crate::ast::Formula;
use crate::build::Builder;
use crate::error::{ErrorKind, FormulaError, Located};

/// The pest parser generated from `grammar.pest`.
#[derive(Parser)]
#[grammar = "grammar.pest"]
pub(crate) struct FormulaParser;

/// Longest formula accepted, in characters.
pub const MAX_LEN: usize = 100_000;
/// Deepest nesting of parentheses (including function calls) accepted.
pub const MAX_PAREN_DEPTH: usize = 64;

/// What a caller accepts around the `~`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `response ~ rhs`: both required.
    Full,
    /// `~ rhs` or `response ~ rhs`.
    Ast,
    /// `rhs` or `~ rhs`: no response.
    Rhs,
}

/// Parses `text` into an AST, accepting what `mode` allows.
pub(crate) fn parse(text: &str, mode: Mode) -> Result<Formula, FormulaError> {
    let len = text.chars().count();
    if len > MAX_LEN {
        let kind = ErrorKind::TooLong { limit: MAX_LEN };
        return Err(FormulaError::new(kind, text, MAX_LEN));
    }
    if text.trim().is_empty() {
        return Err(FormulaError::new(ErrorKind::Empty, text, 0));
    }
    prescan(text).map_err(|e| e.into_error(text))?;
    let mut pairs =
        FormulaParser::parse(Rule::formula, text).map_err(|e| syntax_error(text, &e))?;
    let Some(top) = pairs.next() else {
        return Err(FormulaError::new(ErrorKind::Empty, text, 0));
    };
    Builder::new(text)
        .formula(top, mode)
        .map_err(|e| e.into_error(text))
}

/// Checks quotes and parenthesis balance and depth before the grammar runs, so that
/// the recursive descent never goes deeper than `MAX_PAREN_DEPTH`.
fn prescan(text: &str) -> Result<(), Located> {
    let mut open: Vec<usize> = Vec::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '`' | '"' | '\'' => skip_quoted(&mut chars, c, i)?,
            '(' => {
                open.push(i);
                if open.len() > MAX_PAREN_DEPTH {
                    let kind = ErrorKind::TooDeep {
                        limit: MAX_PAREN_DEPTH,
                    };
                    return Err(Located::new(kind, i));
                }
            }
            // The guard pops the matching '(' when there is one.
            ')' if open.pop().is_none() => {
                return Err(Located::new(ErrorKind::UnmatchedParen, i));
            }
            _ => {}
        }
    }
    match open.pop() {
        Some(i) => Err(Located::new(ErrorKind::UnclosedParen, i)),
        None => Ok(()),
    }
}

fn skip_quoted(
    chars: &mut std::str::CharIndices<'_>,
    quote: char,
    start: usize,
) -> Result<(), Located> {
    while let Some((_, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            return Ok(());
        }
    }
    Err(Located::new(ErrorKind::UnclosedQuote { quote }, start))
}

/// Turns pest's failure into a message about the formula.
fn syntax_error(text: &str, e: &pest::error::Error<Rule>) -> FormulaError {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    let positives: &[Rule] = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        ErrorVariant::CustomError { .. } => &[],
    };
    let skipped = text[pos..].len() - text[pos..].trim_start().len();
    let at = pos + skipped;
    let found = text[at..].chars().next();
    let nothing_there = found.is_none_or(|c| "+-*/:^~|,)=%".contains(c));
    if nothing_there && positives.iter().any(|r| is_term_rule(*r)) {
        if let Some((op, end)) = previous_operator(&text[..at]) {
            let expected = if op.contains('|') {
                "a grouping factor (as in (1 | g))"
            } else {
                "a term"
            };
            let kind = ErrorKind::ExpectedTerm {
                after: op.to_string(),
                expected: expected.to_string(),
            };
            return FormulaError::at_byte(kind, text, end);
        }
    }
    let expected = describe(positives);
    let kind = match found {
        None => ErrorKind::UnexpectedEnd { expected },
        Some('|') => ErrorKind::Unexpected {
            found: "'|'".to_string(),
            expected: format!("{expected}; random-effects terms go in parentheses, as in (1 | g)"),
        },
        Some(c) => ErrorKind::Unexpected {
            found: format!("'{c}'"),
            expected,
        },
    };
    FormulaError::at_byte(kind, text, at)
}

fn is_term_rule(r: Rule) -> bool {
    matches!(
        r,
        Rule::sum
            | Rule::summand
            | Rule::neg
            | Rule::product
            | Rule::in_expr
            | Rule::interaction
            | Rule::power
            | Rule::atom
            | Rule::paren
            | Rule::number
            | Rule::call
            | Rule::name
            | Rule::ident
            | Rule::backquoted
            | Rule::arg
            | Rule::arith
            | Rule::arith_sum
            | Rule::arith_prod
            | Rule::arith_unary
            | Rule::arith_pow
            | Rule::arith_atom
            | Rule::arith_paren
            | Rule::string
    )
}

/// The operator that ends `before` (ignoring whitespace), and the byte just after it.
fn previous_operator(before: &str) -> Option<(&'static str, usize)> {
    let trimmed = before.trim_end();
    let end = trimmed.len();
    const OPS: [&str; 13] = [
        "%in%", "||", "|", "+", "-", "*", "/", ":", "^", "~", "(", ",", "=",
    ];
    OPS.iter()
        .find(|op| trimmed.ends_with(**op))
        .map(|op| (*op, end))
}

fn describe(positives: &[Rule]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in positives {
        if *r == Rule::lparen {
            // Only ever "a call's '(' after a name": not worth suggesting.
            continue;
        }
        let name = match r {
            r if is_term_rule(*r) => "a term",
            Rule::add_op
            | Rule::mul_op
            | Rule::colon
            | Rule::in_op
            | Rule::caret
            | Rule::cmp_op => "an operator such as '+'",
            Rule::tilde => "'~'",
            Rule::bar => "'|'",
            Rule::rparen => "')'",
            Rule::comma => "','",
            Rule::equals => "'='",
            Rule::EOI => "the end of the formula",
            _ => "a valid formula",
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    const ORDER: [&str; 9] = [
        "a term",
        "an operator such as '+'",
        "'|'",
        "')'",
        "','",
        "'='",
        "'~'",
        "the end of the formula",
        "a valid formula",
    ];
    names.sort_by_key(|n| ORDER.iter().position(|o| o == n));
    match names.split_last() {
        None => "a valid formula".to_string(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
