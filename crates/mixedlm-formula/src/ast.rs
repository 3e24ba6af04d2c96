//! The typed syntax tree of a formula, before expansion.
//!
//! Chains of one operator are kept flat (`a + b - c` is one [`Expr::Sum`]); a node
//! nested inside a node of the same or looser binding came from parentheses, and
//! `Display` writes those parentheses back, so that `parse_ast(&ast.to_string())`
//! gives `ast` again.

use std::fmt::{self, Display, Formatter};

use serde::Serialize;

use crate::label::arg_label;
use crate::terms::Variable;

/// A whole formula: `response ~ rhs`, or `~ rhs` without a response.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Formula {
    /// The response, left of `~`.
    pub response: Option<Variable>,
    /// The right-hand side.
    pub rhs: Expr,
}

/// `+` or `-` between summands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum AddOp {
    /// `+`: add the terms.
    Add,
    /// `-`: remove the terms.
    Sub,
}

/// `*` or `/` between factors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum MulOp {
    /// `a * b` = `a + b + a:b`.
    Cross,
    /// `a / b` = `a + a:b`.
    Nest,
}

/// A right-hand-side expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Expr {
    /// `1` (true) or `0` (false): add or remove the intercept.
    Intercept(bool),
    /// A variable.
    Var(Variable),
    /// `offset(v)`: a known term added to the linear predictor.
    Offset(Variable),
    /// Unary minus: remove the terms of the operand.
    Neg(Box<Expr>),
    /// `first (+|-) e2 (+|-) e3 ...`, at least one operation.
    Sum(Box<Expr>, Vec<(AddOp, Expr)>),
    /// `first (*|/) e2 ...`, at least one operation.
    Product(Box<Expr>, Vec<(MulOp, Expr)>),
    /// `e1 %in% e2 %in% ...`, at least two operands.
    In(Vec<Expr>),
    /// `e1:e2:...`, at least two operands.
    Interact(Vec<Expr>),
    /// `e^k`: all interactions of the terms of `e` up to order `k`.
    Power(Box<Expr>, u32),
    /// `(model | grouping)` or `(model || grouping)`.
    Random {
        /// Left of the bar.
        model: Box<Expr>,
        /// Right of the bar: columns combined with `:` and `/`.
        grouping: Box<Expr>,
        /// `|` (true) or `||` (false).
        correlated: bool,
    },
}

impl Expr {
    /// Binding strength: sums (and unary minus) 1, products 2, `%in%` 3, `:` 4,
    /// `^` 5, atoms 6.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Sum(..) | Expr::Neg(_) => 1,
            Expr::Product(..) => 2,
            Expr::In(_) => 3,
            Expr::Interact(_) => 4,
            Expr::Power(..) => 5,
            Expr::Intercept(_) | Expr::Var(_) | Expr::Offset(_) | Expr::Random { .. } => 6,
        }
    }

    /// Writes `self` as an operand of an operator of precedence `level`.
    fn fmt_operand(&self, f: &mut Formatter<'_>, level: u8) -> fmt::Result {
        if self.precedence() <= level {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }

    /// Writes a summand: unary minus needs no parentheses there.
    fn fmt_summand(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Neg(_) => write!(f, "{self}"),
            _ => self.fmt_operand(f, 1),
        }
    }

    fn fmt_list(&self, f: &mut Formatter<'_>, items: &[Expr], sep: &str) -> fmt::Result {
        let level = self.precedence();
        for (i, e) in items.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            e.fmt_operand(f, level)?;
        }
        Ok(())
    }
}

impl Display for Expr {
    /// R's deparse spacing: ` + `, ` - `, ` * `, `/`, ` %in% `, `:`, `^`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Intercept(b) => f.write_str(if *b { "1" } else { "0" }),
            Expr::Var(v) => f.write_str(&v.label()),
            Expr::Offset(v) => write!(f, "offset({})", arg_label(v)),
            Expr::Neg(e) => {
                f.write_str("-")?;
                e.fmt_operand(f, 1)
            }
            Expr::Sum(first, rest) => {
                first.fmt_summand(f)?;
                for (op, e) in rest {
                    f.write_str(if *op == AddOp::Add { " + " } else { " - " })?;
                    e.fmt_summand(f)?;
                }
                Ok(())
            }
            Expr::Product(first, rest) => {
                first.fmt_operand(f, 2)?;
                for (op, e) in rest {
                    f.write_str(if *op == MulOp::Cross { " * " } else { "/" })?;
                    e.fmt_operand(f, 2)?;
                }
                Ok(())
            }
            Expr::In(items) => self.fmt_list(f, items, " %in% "),
            Expr::Interact(items) => self.fmt_list(f, items, ":"),
            Expr::Power(e, k) => {
                e.fmt_operand(f, 5)?;
                write!(f, "^{k}")
            }
            Expr::Random {
                model,
                grouping,
                correlated,
            } => {
                let bar = if *correlated { "|" } else { "||" };
                write!(f, "({model} {bar} {grouping})")
            }
        }
    }
}

impl Display for Formula {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.response {
            write!(f, "{} ", r.label())?;
        }
        write!(f, "~ {}", self.rhs)
    }
}
