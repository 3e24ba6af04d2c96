//! Function calls: `log(x)`, `I(expr)`, `poly(x, k)`, `C(x, Sum)`, `factor(x)`,
//! `offset(x)`.

use pest::iterators::Pair;

use crate::build::{malformed, name, next, parse_number, pos, unescape, Builder};
use crate::error::{ErrorKind, Located};
use crate::label::format_number;
use crate::parser::Rule;
use crate::suggest::closest;
use crate::terms::{ArithExpr, CategoricalStyle, Contrast, Func, Variable};

type Res<T> = Result<T, Located>;

/// Highest degree accepted by `poly()`.
pub const MAX_POLY_DEGREE: u32 = 100;

/// Where a call appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallContext {
    /// A term of the formula (or the response).
    Formula,
    /// Inside `I()` or a function argument.
    Arith,
}

/// What a call builds.
#[derive(Debug)]
pub(crate) enum Called {
    /// A variable.
    Var(Variable),
    /// `offset(v)`.
    Offset(Variable),
}

/// One argument as written: an optional name and a string or arithmetic value.
#[derive(Debug)]
struct Arg<'i> {
    name: Option<String>,
    value: Pair<'i, Rule>,
    at: usize,
}

const FUNCS: [Func; 8] = [
    Func::Log,
    Func::Log2,
    Func::Log10,
    Func::Exp,
    Func::Sqrt,
    Func::Abs,
    Func::Scale,
    Func::Center,
];

const KNOWN: [&str; 14] = [
    "log", "log2", "log10", "exp", "sqrt", "abs", "scale", "center", "I", "poly", "C", "factor",
    "offset", "cbind",
];

pub(crate) fn build_call(b: &mut Builder<'_>, p: Pair<'_, Rule>, ctx: CallContext) -> Res<Called> {
    let at = pos(&p);
    b.enter(1, at)?;
    let mut it = p.into_inner();
    let ident = next(&mut it, at)?;
    let args = it
        .filter(|c| c.as_rule() == Rule::arg)
        .map(split_arg)
        .collect::<Res<Vec<Arg<'_>>>>()?;
    let result = dispatch(b, ident.as_str(), at, args, ctx);
    b.leave(1);
    result
}

fn split_arg(p: Pair<'_, Rule>) -> Res<Arg<'_>> {
    let at = pos(&p);
    let mut name = None;
    let mut value = None;
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::arg_name => name = Some(c.as_str().to_string()),
            Rule::equals => {}
            _ => value = Some(c),
        }
    }
    let value = value.ok_or_else(|| malformed(at))?;
    Ok(Arg { name, value, at })
}

fn dispatch(
    b: &mut Builder<'_>,
    fname: &str,
    at: usize,
    args: Vec<Arg<'_>>,
    ctx: CallContext,
) -> Res<Called> {
    if ctx == CallContext::Arith && fname == "cbind" {
        let message = "is a binomial response (successes, failures); write it left of `~`, \
                       as in cbind(successes, failures) ~ x + (1 | g)";
        return Err(bad_args(fname, message, at));
    }
    if ctx == CallContext::Arith && matches!(fname, "poly" | "C" | "factor") {
        let message = "cannot be used inside I() or another function; make it a term of its own";
        return Err(bad_args(fname, message, at));
    }
    let var = match fname {
        "I" => Variable::Identity(Box::new(arith(b, single(fname, args, at)?)?)),
        "poly" => poly(b, args, at)?,
        "C" => categorical(b, args, at)?,
        "factor" => {
            let arg = single(fname, args, at)?;
            categorical_var(
                column_arg(b, "factor", arg)?,
                Contrast::Treatment,
                CategoricalStyle::Factor,
            )
        }
        "offset" if ctx == CallContext::Arith => {
            let context = "inside I() or another function".to_string();
            return Err(Located::new(ErrorKind::MisplacedOffset { context }, at));
        }
        "offset" => return Ok(Called::Offset(variable_arg(b, single(fname, args, at)?)?)),
        "cbind" => counts(b, args, at)?,
        _ => match FUNCS.iter().find(|f| f.name() == fname) {
            Some(&func) => Variable::Function {
                func,
                arg: Box::new(variable_arg(b, single(fname, args, at)?)?),
            },
            None => {
                let kind = ErrorKind::UnknownFunction {
                    name: fname.to_string(),
                    suggestion: closest(fname, KNOWN).map(str::to_string),
                };
                return Err(Located::new(kind, at));
            }
        },
    };
    Ok(Called::Var(var))
}

fn bad_args(function: &str, message: &str, at: usize) -> Located {
    let kind = ErrorKind::BadArguments {
        function: function.to_string(),
        message: message.to_string(),
    };
    Located::new(kind, at)
}

/// The one positional argument of `fname`.
fn single<'i>(fname: &str, mut args: Vec<Arg<'i>>, at: usize) -> Res<Arg<'i>> {
    match (args.pop(), args.is_empty()) {
        (Some(arg), true) if arg.name.is_none() => Ok(arg),
        (Some(arg), true) => Err(bad_args(
            fname,
            &format!("takes one unnamed argument, as in {fname}(x); remove the name"),
            arg.at,
        )),
        _ => Err(bad_args(
            fname,
            &format!("takes exactly one argument, as in {fname}(x)"),
            at,
        )),
    }
}

/// An arithmetic argument (a string is refused).
fn arith(b: &mut Builder<'_>, arg: Arg<'_>) -> Res<ArithExpr> {
    if arg.value.as_rule() == Rule::string {
        return Err(Located::new(ErrorKind::StringNotAllowed, arg.at));
    }
    b.arith(arg.value)
}

/// A function argument: a lone variable stays itself, arithmetic becomes `I(...)`.
fn variable_arg(b: &mut Builder<'_>, arg: Arg<'_>) -> Res<Variable> {
    Ok(match arith(b, arg)? {
        ArithExpr::Var(v) => v,
        e => Variable::Identity(Box::new(e)),
    })
}

/// A bare column name, as `C()` and `factor()` take.
fn column_arg(b: &mut Builder<'_>, fname: &str, arg: Arg<'_>) -> Res<Variable> {
    let at = arg.at;
    match variable_arg(b, arg)? {
        v @ Variable::Column(_) => Ok(v),
        _ => Err(bad_args(
            fname,
            &format!("takes a column name, as in {fname}(x)"),
            at,
        )),
    }
}

/// `cbind(successes, failures)`: two unnamed numeric arguments.
fn counts(b: &mut Builder<'_>, mut args: Vec<Arg<'_>>, at: usize) -> Res<Variable> {
    if args.len() != 2 || args.iter().any(|a| a.name.is_some()) {
        let message = "takes the successes and the failures, as in \
                       cbind(incidence, size - incidence)";
        return Err(bad_args("cbind", message, at));
    }
    let failures = args.pop().ok_or_else(|| malformed(at))?;
    let successes = args.pop().ok_or_else(|| malformed(at))?;
    Ok(Variable::Counts {
        successes: Box::new(variable_arg(b, successes)?),
        failures: Box::new(variable_arg(b, failures)?),
    })
}

fn categorical_var(arg: Variable, contrast: Contrast, style: CategoricalStyle) -> Variable {
    Variable::Categorical {
        arg: Box::new(arg),
        contrast,
        style,
    }
}

/// `poly(x, k)` or `poly(x, degree = k)`.
fn poly(b: &mut Builder<'_>, args: Vec<Arg<'_>>, at: usize) -> Res<Variable> {
    let mut x = None;
    let mut degree = None;
    for arg in args {
        let arg_name = arg.name.clone();
        match (arg_name.as_deref(), x.is_some()) {
            (None, false) => x = Some(arg),
            (None, true) | (Some("degree"), _) if degree.is_none() => degree = Some(arg),
            (Some("raw"), _) => {
                let message = "raw polynomials are not supported; use orthogonal poly(x, k) \
                               or terms such as I(x^2)";
                return Err(bad_args("poly", message, arg.at));
            }
            _ => {
                let message = "takes a variable and a degree, as in poly(x, 2)";
                return Err(bad_args("poly", message, arg.at));
            }
        }
    }
    let x = x.ok_or_else(|| bad_args("poly", "needs a variable, as in poly(x, 2)", at))?;
    let degree = degree.ok_or_else(|| bad_args("poly", "needs a degree; write poly(x, 2)", at))?;
    let degree_at = degree.at;
    let k = match arith(b, degree)? {
        ArithExpr::Number(v) if v.fract() == 0.0 && v >= 1.0 && v <= f64::from(MAX_POLY_DEGREE) => {
            // Exact: a whole number from 1 to MAX_POLY_DEGREE.
            v as u32
        }
        ArithExpr::Number(0.0) => {
            let message = "degree must be at least 1, as in poly(x, 2)";
            return Err(bad_args("poly", message, degree_at));
        }
        _ => {
            let message = format!(
                "degree must be a whole number from 1 to {MAX_POLY_DEGREE}, as in poly(x, 2)"
            );
            return Err(bad_args("poly", &message, degree_at));
        }
    };
    Ok(Variable::Poly {
        arg: Box::new(variable_arg(b, x)?),
        degree: k,
    })
}

/// `C(x)`, `C(x, Sum)`, `C(x, Treatment)`, `C(x, Treatment(reference = "b"))`.
fn categorical(b: &mut Builder<'_>, mut args: Vec<Arg<'_>>, at: usize) -> Res<Variable> {
    if args.is_empty() || args.len() > 2 || args.iter().any(|a| a.name.is_some()) {
        let message = "takes a column and optionally a contrast, as in C(x) or C(x, Sum)";
        return Err(bad_args("C", message, at));
    }
    let contrast = if args.len() == 2 {
        match args.pop() {
            Some(arg) => contrast(&arg.value)?,
            None => Contrast::Treatment,
        }
    } else {
        Contrast::Treatment
    };
    let x = args.pop().ok_or_else(|| malformed(at))?;
    Ok(categorical_var(
        column_arg(b, "C", x)?,
        contrast,
        CategoricalStyle::C,
    ))
}

/// The pair that an arithmetic value reduces to when it is a single atom.
fn lone_atom<'i>(p: &Pair<'i, Rule>) -> Option<Pair<'i, Rule>> {
    let mut cur = p.clone();
    loop {
        let mut children = cur.clone().into_inner();
        let only = children.next()?;
        if children.next().is_some() {
            return None;
        }
        match cur.as_rule() {
            Rule::arith
            | Rule::arith_sum
            | Rule::arith_prod
            | Rule::arith_unary
            | Rule::arith_pow => cur = only,
            Rule::arith_atom => return Some(only),
            _ => return None,
        }
    }
}

fn unknown_contrast(text: &str, at: usize) -> Located {
    let kind = ErrorKind::UnknownContrast {
        name: text.to_string(),
        suggestion: closest(text, ["Treatment", "Sum"]).map(str::to_string),
    };
    Located::new(kind, at)
}

fn contrast(value: &Pair<'_, Rule>) -> Res<Contrast> {
    let at = pos(value);
    let Some(atom) = lone_atom(value) else {
        return Err(unknown_contrast(value.as_str(), at));
    };
    match atom.as_rule() {
        Rule::name => match name(&atom, false)?.as_str() {
            "Treatment" | "contr.treatment" => Ok(Contrast::Treatment),
            "Sum" | "contr.sum" => Ok(Contrast::Sum),
            other => Err(unknown_contrast(other, at)),
        },
        Rule::call => contrast_call(atom),
        _ => Err(unknown_contrast(atom.as_str(), at)),
    }
}

/// `Treatment()`, `Treatment("b")`, `Treatment(reference = 'b')`, `Treatment(b)`, `Sum()`.
fn contrast_call(p: Pair<'_, Rule>) -> Res<Contrast> {
    let at = pos(&p);
    let mut it = p.into_inner();
    let ident = next(&mut it, at)?;
    let args = it
        .filter(|c| c.as_rule() == Rule::arg)
        .map(split_arg)
        .collect::<Res<Vec<Arg<'_>>>>()?;
    match (ident.as_str(), args.as_slice()) {
        ("Treatment" | "contr.treatment", []) => Ok(Contrast::Treatment),
        ("Sum" | "contr.sum", []) => Ok(Contrast::Sum),
        ("Treatment" | "contr.treatment", [arg])
            if matches!(arg.name.as_deref(), None | Some("reference" | "base")) =>
        {
            Ok(Contrast::TreatmentRef(reference_level(&arg.value)?))
        }
        ("Treatment" | "contr.treatment", _) => {
            let message = "takes one reference level, as in Treatment(reference = \"b\")";
            Err(bad_args("Treatment", message, at))
        }
        (other, _) => Err(unknown_contrast(other, at)),
    }
}

/// A reference level: a quoted string, a bare name or a number.
fn reference_level(value: &Pair<'_, Rule>) -> Res<String> {
    let at = pos(value);
    if value.as_rule() == Rule::string {
        let raw = value.clone().into_inner().next().map_or("", |t| t.as_str());
        return Ok(unescape(raw));
    }
    match lone_atom(value) {
        Some(a) if a.as_rule() == Rule::name => name(&a, false),
        Some(a) if a.as_rule() == Rule::number => Ok(format_number(parse_number(&a)?)),
        _ => {
            let message =
                "the reference level must be a quoted level, as in Treatment(reference = \"b\")";
            Err(bad_args("Treatment", message, at))
        }
    }
}
