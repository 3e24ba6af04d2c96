//! Labels as R deparses them: these become column names downstream.

use std::fmt::{self, Display, Formatter};

use crate::terms::{
    ArithExpr, ArithOp, CategoricalStyle, Contrast, ModelFormula, RandomTerm, Term, TermList,
    Variable,
};

/// Whether `name` can be written without backquotes: a letter (any non-ASCII
/// character counts as one) or a dot not followed by a digit, then letters, digits,
/// dots and underscores.
pub fn is_syntactic(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if name == "." {
        // A lone dot means "all other columns" in R; keep it quoted.
        return false;
    }
    let start_ok = first.is_ascii_alphabetic()
        || !first.is_ascii()
        || (first == '.' && !name[1..].starts_with(|c: char| c.is_ascii_digit()));
    start_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || !c.is_ascii())
}

/// `name`, backquoted (with `\` escapes) unless it is syntactic.
pub fn quote_name(name: &str) -> String {
    if is_syntactic(name) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// A number as R prints it: fixed notation unless scientific is shorter
/// (`0.001`, `1e-04`, `1e+05`), with the shortest digits that read back exactly.
pub fn format_number(value: f64) -> String {
    let fixed = format!("{value}");
    let sci = format!("{value:e}");
    let sci = match sci.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => sci,
    };
    if fixed.len() <= sci.len() {
        fixed
    } else {
        sci
    }
}

/// Binding strength in R's arithmetic: comparisons < `+ -` < `* /` < unary minus < `^` <
/// atoms.
fn arith_prec(e: &ArithExpr) -> u8 {
    match e {
        ArithExpr::Binary { op, .. } => match op {
            ArithOp::Lt | ArithOp::Le | ArithOp::Gt | ArithOp::Ge | ArithOp::Eq | ArithOp::Ne => 0,
            ArithOp::Add | ArithOp::Sub => 1,
            ArithOp::Mul | ArithOp::Div => 2,
            ArithOp::Pow => 4,
        },
        ArithExpr::Neg(_) => 3,
        ArithExpr::Number(_) | ArithExpr::Var(_) => 5,
    }
}

fn paren_if(f: &mut Formatter<'_>, e: &ArithExpr, wrap: bool) -> fmt::Result {
    if wrap {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl Display for ArithExpr {
    /// R's deparse: spaces around `+ - *`, none around `/` and `^`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ArithExpr::Number(v) => f.write_str(&format_number(*v)),
            ArithExpr::Var(v) => f.write_str(&v.label()),
            ArithExpr::Neg(inner) => {
                f.write_str("-")?;
                paren_if(f, inner, arith_prec(inner) < 3)
            }
            ArithExpr::Binary { op, lhs, rhs } => {
                let p = arith_prec(self);
                let (wrap_l, wrap_r) = match op {
                    ArithOp::Pow => (arith_prec(lhs) <= 4, arith_prec(rhs) < 3),
                    // one comparison per level: a comparison operand is parenthesized
                    op if op.is_comparison() => (arith_prec(lhs) == 0, arith_prec(rhs) == 0),
                    _ => (arith_prec(lhs) < p, arith_prec(rhs) <= p),
                };
                paren_if(f, lhs, wrap_l)?;
                f.write_str(match op {
                    ArithOp::Add => " + ",
                    ArithOp::Sub => " - ",
                    ArithOp::Mul => " * ",
                    ArithOp::Div => "/",
                    ArithOp::Pow => "^",
                    ArithOp::Lt => " < ",
                    ArithOp::Le => " <= ",
                    ArithOp::Gt => " > ",
                    ArithOp::Ge => " >= ",
                    ArithOp::Eq => " == ",
                    ArithOp::Ne => " != ",
                })?;
                paren_if(f, rhs, wrap_r)
            }
        }
    }
}

impl ArithExpr {
    /// The data columns referenced, in order of appearance (with repeats).
    fn push_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            ArithExpr::Number(_) => {}
            ArithExpr::Var(v) => v.push_columns(out),
            ArithExpr::Neg(e) => e.push_columns(out),
            ArithExpr::Binary { lhs, rhs, .. } => {
                lhs.push_columns(out);
                rhs.push_columns(out);
            }
        }
    }
}

/// The text of a function argument: arithmetic goes in bare (`log(x + 1)`), a
/// lone `I(v)` keeps its `I` so that it reads back the same.
pub(crate) fn arg_label(arg: &Variable) -> String {
    match arg {
        Variable::Identity(e) if !matches!(**e, ArithExpr::Var(_)) => e.to_string(),
        other => other.label(),
    }
}

fn contrast_label(contrast: &Contrast) -> String {
    match contrast {
        Contrast::Treatment => String::new(),
        Contrast::Sum => ", Sum".to_string(),
        Contrast::TreatmentRef(level) => {
            format!(", Treatment(reference = {})", quote_string(level))
        }
    }
}

/// `s` in double quotes, with `\` escaping `"` and `\`.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Variable {
    /// The label R gives this variable: `Days`, `log(Reaction)`, `I(Days^2)`,
    /// `poly(x, 2)`, `C(x, Sum)`, `factor(x)`, `` `my col` ``.
    pub fn label(&self) -> String {
        match self {
            Variable::Column(name) => quote_name(name),
            Variable::Function { func, arg } => format!("{}({})", func.name(), arg_label(arg)),
            Variable::Identity(e) => format!("I({e})"),
            Variable::Poly { arg, degree } => format!("poly({}, {degree})", arg_label(arg)),
            Variable::Categorical {
                arg,
                contrast,
                style,
            } => match (style, contrast) {
                (CategoricalStyle::Factor, Contrast::Treatment) => {
                    format!("factor({})", arg.label())
                }
                _ => format!("C({}{})", arg.label(), contrast_label(contrast)),
            },
            Variable::Counts {
                successes,
                failures,
            } => format!("cbind({}, {})", arg_label(successes), arg_label(failures)),
        }
    }

    /// The data columns this variable reads, de-duplicated, in order of appearance.
    pub fn columns(&self) -> Vec<String> {
        let mut all = Vec::new();
        self.push_columns(&mut all);
        dedup(all)
    }

    fn push_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Variable::Column(name) => out.push(name),
            Variable::Function { arg, .. }
            | Variable::Poly { arg, .. }
            | Variable::Categorical { arg, .. } => arg.push_columns(out),
            Variable::Identity(e) => e.push_columns(out),
            Variable::Counts {
                successes,
                failures,
            } => {
                successes.push_columns(out);
                failures.push_columns(out);
            }
        }
    }
}

impl Display for Variable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

fn dedup(names: Vec<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
}

impl Term {
    /// The label: variable labels joined with `:` (`Days`, `recipe:temp`).
    pub fn label(&self) -> String {
        let labels: Vec<String> = self.variables.iter().map(Variable::label).collect();
        labels.join(":")
    }

    /// The interaction order: the number of variables.
    pub fn order(&self) -> usize {
        self.variables.len()
    }
}

impl Display for Term {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl TermList {
    /// The term labels, in order (the intercept is not listed).
    pub fn labels(&self) -> Vec<String> {
        self.terms.iter().map(Term::label).collect()
    }
}

impl Display for TermList {
    /// `1 + a + b + a:b` or `0 + a`: the intercept always written first.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.intercept { "1" } else { "0" })?;
        for t in &self.terms {
            write!(f, " + {t}")?;
        }
        Ok(())
    }
}

impl RandomTerm {
    /// The grouping factor's name: the grouping columns joined with `:` (`batch:cask`).
    pub fn group_name(&self) -> String {
        self.grouping.join(":")
    }
}

impl Display for RandomTerm {
    /// `(1 + x | g)`, `(0 + x || g)`, `(1 | a:b)`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let bar = if self.correlated { "|" } else { "||" };
        let groups: Vec<String> = self.grouping.iter().map(|g| quote_name(g)).collect();
        write!(f, "({} {bar} {})", self.model, groups.join(":"))
    }
}

impl ModelFormula {
    /// Every data column referenced anywhere (response, fixed terms, offsets, random
    /// models, grouping), de-duplicated, in order of first appearance.
    pub fn columns(&self) -> Vec<String> {
        let mut all = Vec::new();
        if let Some(r) = &self.response {
            r.push_columns(&mut all);
        }
        push_term_columns(&self.fixed, &mut all);
        for o in &self.offsets {
            o.push_columns(&mut all);
        }
        for r in &self.random {
            push_term_columns(&r.model, &mut all);
            all.extend(r.grouping.iter().map(String::as_str));
        }
        dedup(all)
    }
}

fn push_term_columns<'a>(list: &'a TermList, out: &mut Vec<&'a str>) {
    for t in &list.terms {
        for v in &t.variables {
            v.push_columns(out);
        }
    }
}

impl Display for ModelFormula {
    /// The expanded formula, which parses back to the same `ModelFormula`:
    /// `y ~ 1 + a + b + a:b + offset(o) + (1 + x | g)`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.response {
            write!(f, "{} ", r.label())?;
        }
        write!(f, "~ {}", self.fixed)?;
        for o in &self.offsets {
            write!(f, " + offset({})", arg_label(o))?;
        }
        for r in &self.random {
            write!(f, " + {r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_r_does() {
        let cases = [
            (2.0, "2"),
            (0.5, "0.5"),
            (1e-3, "0.001"),
            (1e-4, "1e-04"),
            (1e5, "1e+05"),
            (123456.0, "123456"),
            (1.5e10, "1.5e+10"),
            (2.5e-7, "2.5e-07"),
            (1e100, "1e+100"),
        ];
        for (v, text) in cases {
            assert_eq!(format_number(v), text);
            assert_eq!(text.parse::<f64>().ok(), Some(v));
        }
    }

    #[test]
    fn names_are_quoted_unless_syntactic() {
        for name in ["x", "Sex.1", "x_2", ".x", "é", "体重", "log", "..x"] {
            assert!(is_syntactic(name), "{name}");
            assert_eq!(quote_name(name), name);
        }
        for (name, quoted) in [
            ("my col", "`my col`"),
            ("1x", "`1x`"),
            (".1", "`.1`"),
            (".", "`.`"),
            ("_x", "`_x`"),
            ("a`b", "`a\\`b`"),
            ("a\\b", "`a\\\\b`"),
            ("", "``"),
        ] {
            assert!(!is_syntactic(name), "{name}");
            assert_eq!(quote_name(name), quoted);
        }
    }
}
