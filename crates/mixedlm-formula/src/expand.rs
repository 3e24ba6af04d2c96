//! AST to expanded terms, following R's `terms()`.
//!
//! A term is a set of variables, stored as the sorted indices of the variables in
//! order of first appearance; so `b:a` and `a:b` are one term, written in the order
//! the variables first appear. The intercept is a flag that the last `1` or `0`
//! sets (`- 1` clears it, `- 0` sets it).

use std::collections::{HashMap, HashSet};

use crate::ast::{AddOp, Expr, Formula, MulOp};
use crate::error::ErrorKind;
use crate::terms::{ArithExpr, ModelFormula, RandomTerm, Term, TermList, Variable};

/// Most terms one expansion may produce (`(a + ... + z)^26` would explode).
pub const MAX_TERMS: usize = 10_000;

type Key = Vec<usize>;
type Res<T> = Result<T, ErrorKind>;

/// Expands a whole formula.
pub(crate) fn expand_formula(ast: &Formula) -> Res<ModelFormula> {
    if let Some(r) = &ast.response {
        validate_variable(r)?;
    }
    let mut ex = Expander::new(true);
    let fixed = ex.term_list(&ast.rhs)?;
    Ok(ModelFormula {
        response: ast.response.clone(),
        fixed,
        random: ex.random,
        offsets: ex.offsets,
    })
}

/// Expands the model of a random-effects term; it must not be empty.
pub(crate) fn random_model(e: &Expr) -> Res<TermList> {
    let list = Expander::new(false).term_list(e)?;
    if !list.intercept && list.terms.is_empty() {
        return Err(ErrorKind::EmptyRandomTerm);
    }
    Ok(list)
}

/// The grouping factors of a random-effects term: `a:b` is one, `a/b` two
/// (`a` and `a:b`), `a/b/c` three.
pub(crate) fn grouping_sets(e: &Expr) -> Res<Vec<Vec<String>>> {
    let bad = |message: &str| {
        Err(ErrorKind::BadGrouping {
            message: message.to_string(),
        })
    };
    let mut sets = match e {
        Expr::Var(Variable::Column(c)) => vec![vec![c.clone()]],
        Expr::Var(v) => {
            return bad(&format!(
                "`{}` is not a column; group by a column, as in (1 | g)",
                v.label()
            ))
        }
        Expr::Interact(items) | Expr::In(items) => {
            let mut acc = vec![Vec::new()];
            for item in items {
                acc = cross_groups(&acc, &grouping_sets(item)?);
            }
            acc
        }
        Expr::Product(first, rest) => {
            let mut acc = grouping_sets(first)?;
            for (op, item) in rest {
                if *op == MulOp::Cross {
                    return bad(
                        "'*' cannot combine grouping factors; write (1 | a) + (1 | b) + (1 | a:b)",
                    );
                }
                let outer = vec![union_groups(&acc)];
                let inner = cross_groups(&outer, &grouping_sets(item)?);
                acc.extend(inner);
            }
            acc
        }
        Expr::Random { .. } => return Err(ErrorKind::NestedBars),
        Expr::Intercept(_) => {
            return bad("1 or 0 is not a grouping factor; write a column, as in (1 | g)")
        }
        Expr::Offset(_) => return bad("offset() is not a grouping factor"),
        Expr::Sum(..) | Expr::Neg(_) => {
            return bad("'+' and '-' cannot combine grouping factors; write (1 | a) + (1 | b)")
        }
        Expr::Power(..) => return bad("'^' cannot combine grouping factors; use ':' or '/'"),
    };
    let mut seen = HashSet::new();
    sets.retain(|s| seen.insert(s.clone()));
    Ok(sets)
}

fn union_groups(sets: &[Vec<String>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in sets.iter().flatten() {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

fn cross_groups(left: &[Vec<String>], right: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out = Vec::with_capacity(left.len() * right.len());
    for l in left {
        for r in right {
            out.push(union_groups(&[l.clone(), r.clone()]));
        }
    }
    out
}

/// Checks what a hand-built AST could get wrong in a variable.
fn validate_variable(v: &Variable) -> Res<()> {
    match v {
        Variable::Column(name) if name.is_empty() => Err(ErrorKind::EmptyName),
        Variable::Column(_) => Ok(()),
        Variable::Poly { degree: 0, .. } => Err(ErrorKind::BadArguments {
            function: "poly".to_string(),
            message: "degree must be at least 1, as in poly(x, 2)".to_string(),
        }),
        Variable::Function { arg, .. }
        | Variable::Poly { arg, .. }
        | Variable::Categorical { arg, .. } => validate_variable(arg),
        Variable::Identity(e) => validate_arith(e),
        Variable::Counts {
            successes,
            failures,
        } => {
            validate_variable(successes)?;
            validate_variable(failures)
        }
    }
}

fn validate_arith(e: &ArithExpr) -> Res<()> {
    match e {
        ArithExpr::Number(v) if !v.is_finite() => Err(ErrorKind::BadNumber {
            text: v.to_string(),
        }),
        ArithExpr::Number(_) => Ok(()),
        ArithExpr::Var(v) => validate_variable(v),
        ArithExpr::Neg(x) => validate_arith(x),
        ArithExpr::Binary { lhs, rhs, .. } => {
            validate_arith(lhs)?;
            validate_arith(rhs)
        }
    }
}

/// Where an expression sits: removed or added, and whether directly in a sum.
#[derive(Clone, Copy, Debug)]
struct Ctx {
    positive: bool,
    top: bool,
}

/// Terms in first-appearance order, without repeats.
#[derive(Debug, Default, Clone)]
struct Terms {
    keys: Vec<Key>,
    seen: HashSet<Key>,
}

impl Terms {
    fn push(&mut self, key: Key) -> Res<()> {
        if self.seen.insert(key.clone()) {
            self.keys.push(key);
            if self.keys.len() > MAX_TERMS {
                return Err(ErrorKind::TooManyTerms { limit: MAX_TERMS });
            }
        }
        Ok(())
    }

    fn extend(&mut self, other: Terms) -> Res<()> {
        for k in other.keys {
            self.push(k)?;
        }
        Ok(())
    }

    fn remove(&mut self, other: &Terms) {
        self.keys.retain(|k| !other.seen.contains(k));
        self.seen.retain(|k| !other.seen.contains(k));
    }

    /// Every variable of every term, as one term.
    fn all_vars(&self) -> Key {
        let mut all: Key = self.keys.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

fn join(a: &[usize], b: &[usize]) -> Key {
    let mut k: Key = a.iter().chain(b).copied().collect();
    k.sort_unstable();
    k.dedup();
    k
}

/// `l:r`: every term of `l` with every term of `r`.
fn interact(l: &Terms, r: &Terms) -> Res<Terms> {
    if l.keys.len().saturating_mul(r.keys.len()) > MAX_TERMS {
        return Err(ErrorKind::TooManyTerms { limit: MAX_TERMS });
    }
    let mut out = Terms::default();
    for a in &l.keys {
        for b in &r.keys {
            out.push(join(a, b))?;
        }
    }
    Ok(out)
}

/// `l*r` = `l + r + l:r`.
fn cross(l: &Terms, r: &Terms) -> Res<Terms> {
    let mut out = l.clone();
    out.extend(r.clone())?;
    out.extend(interact(l, r)?)?;
    Ok(out)
}

/// `l/r` = `l + (all of l):r`.
fn nest(l: &Terms, r: &Terms) -> Res<Terms> {
    let all = l.all_vars();
    let mut out = l.clone();
    for b in &r.keys {
        out.push(join(&all, b))?;
    }
    Ok(out)
}

/// `l %in% r` = each term of `l` with all of `r`.
fn within(l: &Terms, r: &Terms) -> Res<Terms> {
    let all = r.all_vars();
    let mut out = Terms::default();
    for a in &l.keys {
        out.push(join(a, &all))?;
    }
    Ok(out)
}

/// State of one expansion.
#[derive(Debug)]
struct Expander {
    vars: Vec<Variable>,
    index: HashMap<String, usize>,
    intercept: bool,
    offsets: Vec<Variable>,
    random: Vec<RandomTerm>,
    /// Random-effects terms allowed (false inside one).
    allow_random: bool,
}

impl Expander {
    fn new(allow_random: bool) -> Self {
        Expander {
            vars: Vec::new(),
            index: HashMap::new(),
            intercept: true,
            offsets: Vec::new(),
            random: Vec::new(),
            allow_random,
        }
    }

    fn term_list(&mut self, e: &Expr) -> Res<TermList> {
        self.register(e);
        let ctx = Ctx {
            positive: true,
            top: true,
        };
        let mut keys = self.expr(e, ctx)?.keys;
        keys.sort_by_key(Vec::len);
        let terms = keys
            .into_iter()
            .map(|k| Term {
                variables: k.iter().map(|&i| self.vars[i].clone()).collect(),
            })
            .collect();
        Ok(TermList {
            intercept: self.intercept,
            terms,
        })
    }

    /// Records the variables in order of appearance.
    fn register(&mut self, e: &Expr) {
        match e {
            Expr::Var(v) => {
                self.var_index(v);
            }
            Expr::Neg(x) | Expr::Power(x, _) => self.register(x),
            Expr::Sum(first, rest) => {
                self.register(first);
                rest.iter().for_each(|(_, x)| self.register(x));
            }
            Expr::Product(first, rest) => {
                self.register(first);
                rest.iter().for_each(|(_, x)| self.register(x));
            }
            Expr::In(items) | Expr::Interact(items) => items.iter().for_each(|x| self.register(x)),
            Expr::Intercept(_) | Expr::Offset(_) | Expr::Random { .. } => {}
        }
    }

    fn var_index(&mut self, v: &Variable) -> usize {
        let label = v.label();
        if let Some(&i) = self.index.get(&label) {
            return i;
        }
        self.vars.push(v.clone());
        self.index.insert(label, self.vars.len() - 1);
        self.vars.len() - 1
    }

    fn expr(&mut self, e: &Expr, ctx: Ctx) -> Res<Terms> {
        let inner = Ctx { top: false, ..ctx };
        let negated = Ctx {
            positive: !ctx.positive,
            ..ctx
        };
        let mut out = Terms::default();
        match e {
            Expr::Intercept(b) => self.intercept_marker(*b, ctx)?,
            Expr::Var(v) => {
                validate_variable(v)?;
                if matches!(v, Variable::Counts { .. }) {
                    return Err(ErrorKind::BadArguments {
                        function: "cbind".to_string(),
                        message: "is a binomial response; write it left of `~`, as in \
                                  cbind(successes, failures) ~ x + (1 | g)"
                            .to_string(),
                    });
                }
                out.push(vec![self.var_index(v)])?;
            }
            Expr::Offset(v) => self.offset(v, ctx)?,
            Expr::Random {
                model,
                grouping,
                correlated,
            } => self.random_term(model, grouping, *correlated, ctx)?,
            Expr::Neg(x) => {
                self.expr(x, negated)?;
            }
            Expr::Sum(first, rest) => {
                out = self.expr(first, ctx)?;
                for (op, x) in rest {
                    match op {
                        AddOp::Add => out.extend(self.expr(x, ctx)?)?,
                        AddOp::Sub => out.remove(&self.expr(x, negated)?),
                    }
                }
            }
            Expr::Product(first, rest) => {
                out = self.expr(first, inner)?;
                for (op, x) in rest {
                    let r = self.expr(x, inner)?;
                    out = match op {
                        MulOp::Cross => cross(&out, &r)?,
                        MulOp::Nest => nest(&out, &r)?,
                    };
                }
            }
            Expr::In(items) => out = self.fold(items, inner, within)?,
            Expr::Interact(items) => out = self.fold(items, inner, interact)?,
            Expr::Power(x, k) => out = self.power(x, *k, inner)?,
        }
        Ok(out)
    }

    fn fold(
        &mut self,
        items: &[Expr],
        ctx: Ctx,
        op: fn(&Terms, &Terms) -> Res<Terms>,
    ) -> Res<Terms> {
        let mut acc: Option<Terms> = None;
        for x in items {
            let r = self.expr(x, ctx)?;
            acc = Some(match acc {
                None => r,
                Some(l) => op(&l, &r)?,
            });
        }
        Ok(acc.unwrap_or_default())
    }

    fn power(&mut self, x: &Expr, k: u32, ctx: Ctx) -> Res<Terms> {
        if k == 0 {
            return Err(ErrorKind::BadExponent {
                text: "0".to_string(),
            });
        }
        let base = self.expr(x, ctx)?;
        let mut acc = base.clone();
        for _ in 1..k {
            let next = cross(&acc, &base)?;
            if next.keys.len() == acc.keys.len() {
                break;
            }
            acc = next;
        }
        Ok(acc)
    }

    fn intercept_marker(&mut self, on: bool, ctx: Ctx) -> Res<()> {
        if !ctx.top {
            return Err(ErrorKind::MisplacedIntercept);
        }
        self.intercept = on == ctx.positive;
        Ok(())
    }

    fn offset(&mut self, v: &Variable, ctx: Ctx) -> Res<()> {
        let context = match (self.allow_random, ctx.top, ctx.positive) {
            (false, _, _) => "inside a random-effects term",
            (_, false, _) => "combined with '*', '/', ':', '%in%' or '^'",
            (_, _, false) => "removed with '-'",
            _ => {
                validate_variable(v)?;
                if !self.offsets.iter().any(|o| o.label() == v.label()) {
                    self.offsets.push(v.clone());
                }
                return Ok(());
            }
        };
        Err(ErrorKind::MisplacedOffset {
            context: context.to_string(),
        })
    }

    fn random_term(
        &mut self,
        model: &Expr,
        grouping: &Expr,
        correlated: bool,
        ctx: Ctx,
    ) -> Res<()> {
        let context = match (self.allow_random, ctx.top, ctx.positive) {
            (false, _, _) => return Err(ErrorKind::NestedBars),
            (_, false, _) => "combined with '*', '/', ':', '%in%' or '^'",
            (_, _, false) => "removed with '-'",
            _ => {
                let model = random_model(model)?;
                for grouping in grouping_sets(grouping)? {
                    self.random.push(RandomTerm {
                        model: model.clone(),
                        grouping,
                        correlated,
                    });
                }
                return Ok(());
            }
        };
        Err(ErrorKind::MisplacedRandom {
            context: context.to_string(),
        })
    }
}
