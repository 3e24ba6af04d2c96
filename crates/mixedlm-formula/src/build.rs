//! pest pairs to the typed AST, with the checks that need a position.

use pest::iterators::Pair;

use crate::ast::{AddOp, Expr, Formula, MulOp};
use crate::call::{build_call, CallContext, Called};
use crate::error::{ErrorKind, Located};
use crate::expand::{grouping_sets, random_model};
use crate::parser::{Mode, Rule};
use crate::terms::{ArithExpr, ArithOp, Variable};

/// Largest nesting the builder creates (parentheses, calls, chains of unary minus
/// and `^`, arithmetic chains), so that recursion over the AST stays shallow.
pub const MAX_DEPTH: usize = 256;

type Res<T> = Result<T, Located>;

/// Builds the AST from the parse tree.
#[derive(Debug)]
pub(crate) struct Builder<'t> {
    text: &'t str,
    depth: usize,
}

pub(crate) fn pos(p: &Pair<'_, Rule>) -> usize {
    p.as_span().start()
}

/// An error for a parse tree that does not have the shape the grammar promises.
pub(crate) fn malformed(at: usize) -> Located {
    let kind = ErrorKind::Unexpected {
        found: "input".to_string(),
        expected: "a valid formula".to_string(),
    };
    Located::new(kind, at)
}

/// The next child, or an error at `at`.
pub(crate) fn next<'i>(
    it: &mut pest::iterators::Pairs<'i, Rule>,
    at: usize,
) -> Res<Pair<'i, Rule>> {
    it.next().ok_or_else(|| malformed(at))
}

impl<'t> Builder<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Builder { text, depth: 0 }
    }

    /// Adds `by` to the nesting depth, failing past [`MAX_DEPTH`].
    pub(crate) fn enter(&mut self, by: usize, at: usize) -> Res<()> {
        self.depth += by;
        if self.depth > MAX_DEPTH {
            return Err(Located::new(ErrorKind::TooDeep { limit: MAX_DEPTH }, at));
        }
        Ok(())
    }

    pub(crate) fn leave(&mut self, by: usize) {
        self.depth = self.depth.saturating_sub(by);
    }

    pub(crate) fn formula(&mut self, top: Pair<'_, Rule>, mode: Mode) -> Res<Formula> {
        let parts: Vec<Pair<'_, Rule>> = top
            .into_inner()
            .filter(|p| p.as_rule() != Rule::EOI)
            .collect();
        let tilde_at = parts.iter().position(|p| p.as_rule() == Rule::tilde);
        let (response, rhs) = match (tilde_at, parts.as_slice()) {
            (None, [rhs]) if mode == Mode::Rhs => (None, rhs),
            (None, _) => return Err(Located::new(ErrorKind::MissingTilde, self.text.len())),
            (Some(0), [_, rhs]) => (None, rhs),
            (Some(1), [lhs, _, rhs]) => (Some(lhs), rhs),
            _ => return Err(malformed(0)),
        };
        let response = match response {
            Some(_) if mode == Mode::Rhs => {
                return Err(Located::new(ErrorKind::UnexpectedResponse, 0))
            }
            Some(lhs) => Some(self.response(lhs.clone())?),
            None if mode == Mode::Full => {
                let at = parts.first().map_or(0, pos);
                return Err(Located::new(ErrorKind::MissingResponse, at));
            }
            None => None,
        };
        let rhs = self.sum(rhs.clone())?;
        Ok(Formula { response, rhs })
    }

    fn response(&mut self, p: Pair<'_, Rule>) -> Res<Variable> {
        let at = pos(&p);
        match self.sum(p)? {
            Expr::Var(v) => Ok(v),
            _ => Err(Located::new(ErrorKind::BadResponse, at)),
        }
    }

    pub(crate) fn sum(&mut self, p: Pair<'_, Rule>) -> Res<Expr> {
        let mut it = p.into_inner();
        let first = self.summand(next(&mut it, 0)?)?;
        let mut rest = Vec::new();
        while let Some(op) = it.next() {
            let at = pos(&op);
            let operand = next(&mut it, at)?;
            let operand_at = pos(&operand);
            let e = self.summand(operand)?;
            let op = if op.as_str() == "+" {
                AddOp::Add
            } else {
                check_removable(&e, operand_at)?;
                AddOp::Sub
            };
            rest.push((op, e));
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Expr::Sum(Box::new(first), rest)
        })
    }

    fn summand(&mut self, p: Pair<'_, Rule>) -> Res<Expr> {
        let at = pos(&p);
        let mut it = p.into_inner();
        let first = next(&mut it, at)?;
        if first.as_rule() != Rule::neg {
            return self.product(first);
        }
        let operand = next(&mut it, at)?;
        let operand_at = pos(&operand);
        let e = self.product(operand)?;
        check_removable(&e, operand_at)?;
        Ok(Expr::Neg(Box::new(e)))
    }

    fn product(&mut self, p: Pair<'_, Rule>) -> Res<Expr> {
        let mut it = p.into_inner();
        let first_pair = next(&mut it, 0)?;
        let first_at = pos(&first_pair);
        let first = self.in_expr(first_pair)?;
        let mut rest = Vec::new();
        while let Some(op) = it.next() {
            let operand = next(&mut it, pos(&op))?;
            let at = pos(&operand);
            let e = self.in_expr(operand)?;
            check_interactable(&e, at)?;
            let op = if op.as_str() == "*" {
                MulOp::Cross
            } else {
                MulOp::Nest
            };
            rest.push((op, e));
        }
        if rest.is_empty() {
            return Ok(first);
        }
        check_interactable(&first, first_at)?;
        Ok(Expr::Product(Box::new(first), rest))
    }

    fn in_expr(&mut self, p: Pair<'_, Rule>) -> Res<Expr> {
        let items = self.operands(p, Rule::interaction)?;
        Ok(collapse(items, Expr::In))
    }

    fn interaction(&mut self, p: Pair<'_, Rule>) -> Res<Expr> {
        let items = self.operands(p, Rule::power)?;
        Ok(collapse(items, Expr::Interact))
    }

    /// The operands of a flat chain (skipping the operator pairs); checked for use
    /// in an interaction when there are several.
    fn operands(&mut self, p: Pair<'_, Rule>, operand: Rule) -> Res<Vec<Expr>> {
        let pairs: Vec<Pair<'_, Rule>> =
            p.into_inner().filter(|c| c.as_rule() == operand).collect();
        let several = pairs.len() > 1;
        let mut items = Vec::with_capacity(pairs.len());
        for c in pairs {
            let at = pos(&c);
            let e = match operand {
                Rule::interaction => self.interaction(c)?,
                _ => self.power(c)?,
            };
            if several {
                check_interactable(&e, at)?;
            }
            items.push(e);
        }
        Ok(items)
    }

    fn power(&mut self, p: Pair<'_, Rule>) -> Res<Expr> {
        let mut it = p.into_inner();
        let atom_pair = next(&mut it, 0)?;
        let atom_at = pos(&atom_pair);
        let atom = self.atom(atom_pair)?;
        let Some(caret) = it.next() else {
            return Ok(atom);
        };
        let exponent = next(&mut it, pos(&caret))?;
        let k = parse_exponent(&exponent)?;
        check_interactable(&atom, atom_at)?;
        Ok(Expr::Power(Box::new(atom), k))
    }

    fn atom(&mut self, p: Pair<'_, Rule>) -> Res<Expr> {
        let at = pos(&p);
        let inner = next(&mut p.into_inner(), at)?;
        match inner.as_rule() {
            Rule::paren => self.paren(inner),
            Rule::number => {
                let text = inner.as_str();
                match parse_number(&inner)? {
                    1.0 => Ok(Expr::Intercept(true)),
                    0.0 => Ok(Expr::Intercept(false)),
                    _ => Err(Located::new(
                        ErrorKind::NumberAsTerm {
                            text: text.to_string(),
                        },
                        at,
                    )),
                }
            }
            Rule::call => match build_call(self, inner, CallContext::Formula)? {
                Called::Var(v) => Ok(Expr::Var(v)),
                Called::Offset(v) => Ok(Expr::Offset(v)),
            },
            _ => Ok(Expr::Var(Variable::Column(name(&inner, true)?))),
        }
    }

    fn paren(&mut self, p: Pair<'_, Rule>) -> Res<Expr> {
        let at = pos(&p);
        self.enter(1, at)?;
        let mut it = p
            .into_inner()
            .filter(|c| !matches!(c.as_rule(), Rule::lparen | Rule::rparen));
        let model_pair = next_filtered(&mut it, at)?;
        let model_at = pos(&model_pair);
        let model = self.sum(model_pair)?;
        let result = match it.next() {
            None => model,
            Some(bar) => {
                let grouping_pair = next_filtered(&mut it, pos(&bar))?;
                let grouping_at = pos(&grouping_pair);
                let grouping = self.sum(grouping_pair)?;
                random_term(model, model_at, grouping, grouping_at, bar.as_str() == "|")?
            }
        };
        self.leave(1);
        Ok(result)
    }

    /// An arithmetic expression (inside `I()` and function arguments): a sum, or one
    /// comparison of two sums.
    pub(crate) fn arith(&mut self, p: Pair<'_, Rule>) -> Res<ArithExpr> {
        let at = pos(&p);
        let mut it = p.into_inner();
        let lhs = self.arith_sum(next(&mut it, at)?)?;
        let Some(op) = it.next() else {
            return Ok(lhs);
        };
        self.enter(1, pos(&op))?;
        let rhs = self.arith_sum(next(&mut it, pos(&op))?)?;
        self.leave(1);
        let op = match op.as_str() {
            "<" => ArithOp::Lt,
            "<=" => ArithOp::Le,
            ">" => ArithOp::Gt,
            ">=" => ArithOp::Ge,
            "==" => ArithOp::Eq,
            _ => ArithOp::Ne,
        };
        Ok(binary(op, lhs, rhs))
    }

    fn arith_sum(&mut self, p: Pair<'_, Rule>) -> Res<ArithExpr> {
        let at = pos(&p);
        let mut it = p.into_inner();
        let mut acc = self.arith_prod(next(&mut it, at)?)?;
        let mut chain = 0;
        while let Some(op) = it.next() {
            chain += 1;
            self.enter(1, pos(&op))?;
            let rhs = self.arith_prod(next(&mut it, pos(&op))?)?;
            let op = if op.as_str() == "+" {
                ArithOp::Add
            } else {
                ArithOp::Sub
            };
            acc = binary(op, acc, rhs);
        }
        self.leave(chain);
        Ok(acc)
    }

    fn arith_prod(&mut self, p: Pair<'_, Rule>) -> Res<ArithExpr> {
        let at = pos(&p);
        let mut it = p.into_inner();
        let mut acc = self.arith_unary(next(&mut it, at)?)?;
        let mut chain = 0;
        while let Some(op) = it.next() {
            chain += 1;
            self.enter(1, pos(&op))?;
            let rhs = self.arith_unary(next(&mut it, pos(&op))?)?;
            let op = if op.as_str() == "*" {
                ArithOp::Mul
            } else {
                ArithOp::Div
            };
            acc = binary(op, acc, rhs);
        }
        self.leave(chain);
        Ok(acc)
    }

    fn arith_unary(&mut self, p: Pair<'_, Rule>) -> Res<ArithExpr> {
        let at = pos(&p);
        let children: Vec<Pair<'_, Rule>> = p.into_inner().collect();
        let Some((pow, negs)) = children.split_last() else {
            return Err(malformed(at));
        };
        self.enter(negs.len(), at)?;
        let e = self.arith_pow(pow.clone())?;
        self.leave(negs.len());
        Ok(negate(e, negs.len()))
    }

    /// `a ^ -b ^ c` is `a^(-(b^c))`: fold from the right, applying each run of
    /// minus signs to everything after it.
    fn arith_pow(&mut self, p: Pair<'_, Rule>) -> Res<ArithExpr> {
        let at = pos(&p);
        let mut atoms: Vec<(usize, Pair<'_, Rule>)> = Vec::new();
        let mut negs = 0;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::neg => negs += 1,
                Rule::arith_atom => {
                    atoms.push((negs, c));
                    negs = 0;
                }
                _ => {}
            }
        }
        let total: usize = atoms.iter().map(|(n, _)| n + 1).sum();
        self.enter(total, at)?;
        let mut acc: Option<ArithExpr> = None;
        for (negs, atom) in atoms.into_iter().rev() {
            let base = self.arith_atom(atom)?;
            let e = match acc {
                None => base,
                Some(exp) => binary(ArithOp::Pow, base, exp),
            };
            acc = Some(negate(e, negs));
        }
        self.leave(total);
        acc.ok_or_else(|| malformed(at))
    }

    fn arith_atom(&mut self, p: Pair<'_, Rule>) -> Res<ArithExpr> {
        let at = pos(&p);
        let inner = next(&mut p.into_inner(), at)?;
        match inner.as_rule() {
            Rule::arith_paren => {
                self.enter(1, at)?;
                let mut it = inner.into_inner().filter(|c| c.as_rule() == Rule::arith);
                let e = self.arith(next_filtered(&mut it, at)?)?;
                self.leave(1);
                Ok(e)
            }
            Rule::number => Ok(ArithExpr::Number(parse_number(&inner)?)),
            Rule::call => match build_call(self, inner, CallContext::Arith)? {
                Called::Var(v) => Ok(ArithExpr::Var(v)),
                Called::Offset(_) => Err(Located::new(
                    ErrorKind::MisplacedOffset {
                        context: "inside a function or I()".to_string(),
                    },
                    at,
                )),
            },
            _ => Ok(ArithExpr::Var(Variable::Column(name(&inner, false)?))),
        }
    }
}

fn next_filtered<'i>(
    it: &mut impl Iterator<Item = Pair<'i, Rule>>,
    at: usize,
) -> Res<Pair<'i, Rule>> {
    it.next().ok_or_else(|| malformed(at))
}

fn collapse(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        if let Some(e) = items.pop() {
            return e;
        }
    }
    make(items)
}

fn binary(op: ArithOp, lhs: ArithExpr, rhs: ArithExpr) -> ArithExpr {
    ArithExpr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

fn negate(mut e: ArithExpr, times: usize) -> ArithExpr {
    for _ in 0..times {
        e = ArithExpr::Neg(Box::new(e));
    }
    e
}

/// A `(model | grouping)` term, checked: no bars inside, no offset, a non-empty
/// model, a valid grouping.
fn random_term(
    model: Expr,
    model_at: usize,
    grouping: Expr,
    grouping_at: usize,
    correlated: bool,
) -> Res<Expr> {
    random_model(&model).map_err(|k| Located::new(k, model_at))?;
    grouping_sets(&grouping).map_err(|k| Located::new(k, grouping_at))?;
    Ok(Expr::Random {
        model: Box::new(model),
        grouping: Box::new(grouping),
        correlated,
    })
}

/// What an expression contains, looking through sums, products and interactions
/// but not into random-effects terms.
fn find(e: &Expr, pred: &dyn Fn(&Expr) -> bool) -> bool {
    if pred(e) {
        return true;
    }
    match e {
        Expr::Neg(x) | Expr::Power(x, _) => find(x, pred),
        Expr::Sum(first, rest) => find(first, pred) || rest.iter().any(|(_, x)| find(x, pred)),
        Expr::Product(first, rest) => find(first, pred) || rest.iter().any(|(_, x)| find(x, pred)),
        Expr::In(items) | Expr::Interact(items) => items.iter().any(|x| find(x, pred)),
        Expr::Intercept(_) | Expr::Var(_) | Expr::Offset(_) | Expr::Random { .. } => false,
    }
}

fn is_random(e: &Expr) -> bool {
    matches!(e, Expr::Random { .. })
}

fn is_offset(e: &Expr) -> bool {
    matches!(e, Expr::Offset(_))
}

fn is_intercept(e: &Expr) -> bool {
    matches!(e, Expr::Intercept(_))
}

/// An operand of `-` may not hold random-effects terms or offsets.
fn check_removable(e: &Expr, at: usize) -> Res<()> {
    let context = "removed with '-'".to_string();
    if find(e, &is_random) {
        return Err(Located::new(ErrorKind::MisplacedRandom { context }, at));
    }
    if find(e, &is_offset) {
        return Err(Located::new(ErrorKind::MisplacedOffset { context }, at));
    }
    Ok(())
}

/// An operand of `* / %in% : ^` may hold only variables.
fn check_interactable(e: &Expr, at: usize) -> Res<()> {
    let context = "combined with '*', '/', ':', '%in%' or '^'".to_string();
    if find(e, &is_random) {
        return Err(Located::new(ErrorKind::MisplacedRandom { context }, at));
    }
    if find(e, &is_offset) {
        return Err(Located::new(ErrorKind::MisplacedOffset { context }, at));
    }
    if find(e, &is_intercept) {
        return Err(Located::new(ErrorKind::MisplacedIntercept, at));
    }
    Ok(())
}

/// The value of a number token; it must be finite.
pub(crate) fn parse_number(p: &Pair<'_, Rule>) -> Res<f64> {
    let text = p.as_str();
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Located::new(
            ErrorKind::BadNumber {
                text: text.to_string(),
            },
            pos(p),
        )),
    }
}

fn parse_exponent(p: &Pair<'_, Rule>) -> Res<u32> {
    let v = parse_number(p)?;
    if v >= 1.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
        // Exact: a whole number within u32's range.
        Ok(v as u32)
    } else {
        let kind = ErrorKind::BadExponent {
            text: p.as_str().to_string(),
        };
        Err(Located::new(kind, pos(p)))
    }
}

/// The column name of a `name` pair, unescaped. A bare `.` is refused when
/// `refuse_dot` (it means "all other columns" in R).
pub(crate) fn name(p: &Pair<'_, Rule>, refuse_dot: bool) -> Res<String> {
    let at = pos(p);
    let inner = next(&mut p.clone().into_inner(), at)?;
    match inner.as_rule() {
        Rule::ident if refuse_dot && inner.as_str() == "." => Err(Located::new(ErrorKind::Dot, at)),
        Rule::ident => Ok(inner.as_str().to_string()),
        _ => {
            let raw = inner.into_inner().next().map_or("", |t| t.as_str());
            let text = unescape(raw);
            if text.is_empty() {
                return Err(Located::new(ErrorKind::EmptyName, at));
            }
            Ok(text)
        }
    }
}

/// Removes the `\` before escaped characters.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}
