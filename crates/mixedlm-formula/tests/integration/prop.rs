//! Property tests. Case counts follow proptest's default (256), which the
//! `PROPTEST_CASES` environment variable overrides for deeper runs.

use mixedlm_formula::ast::{AddOp, Expr, Formula, MulOp};
use mixedlm_formula::{
    expand, parse_ast, parse_formula, parse_rhs, ArithExpr, ArithOp, CategoricalStyle, Contrast,
    Func, ModelFormula, Variable,
};
use proptest::prelude::*;

/// `f` with each term's variables sorted by label: reading the canonical text back
/// can change which variable of an interaction appears first.
fn normalized(f: &ModelFormula) -> ModelFormula {
    let mut f = f.clone();
    let lists = std::iter::once(&mut f.fixed).chain(f.random.iter_mut().map(|r| &mut r.model));
    for list in lists {
        for t in &mut list.terms {
            t.variables.sort_by_key(|v| v.label());
        }
    }
    f
}

const NAMES: [&str; 15] = [
    "a",
    "b",
    "c",
    "Days",
    "Sex.1",
    "x_2",
    ".x",
    "my col",
    "a`b",
    "é",
    "体重",
    "back\\slash",
    "1x",
    ".",
    "log",
];

fn column() -> impl Strategy<Value = Variable> + Clone {
    prop::sample::select(NAMES.to_vec()).prop_map(|n| Variable::Column(n.to_string()))
}

fn number() -> impl Strategy<Value = ArithExpr> {
    prop::sample::select(vec![
        0.0, 1.0, 2.0, 0.5, 1e-3, 1e-4, 1e5, 123.25, 1e-10, 3e20, 0.1,
    ])
    .prop_map(ArithExpr::Number)
}

fn func() -> impl Strategy<Value = Func> {
    prop::sample::select(vec![
        Func::Log,
        Func::Log2,
        Func::Log10,
        Func::Exp,
        Func::Sqrt,
        Func::Abs,
        Func::Scale,
        Func::Center,
    ])
}

fn arith_op() -> impl Strategy<Value = ArithOp> {
    prop::sample::select(vec![
        ArithOp::Add,
        ArithOp::Sub,
        ArithOp::Mul,
        ArithOp::Div,
        ArithOp::Pow,
        ArithOp::Gt,
        ArithOp::Le,
        ArithOp::Eq,
    ])
}

/// Variables that may appear in arithmetic and as function arguments.
fn simple_var() -> impl Strategy<Value = Variable> {
    column().prop_recursive(3, 12, 2, |inner| {
        let arith = arith_over(inner.clone());
        prop_oneof![
            (func(), inner.clone()).prop_map(|(func, arg)| Variable::Function {
                func,
                arg: Box::new(arg)
            }),
            (func(), arith.clone()).prop_map(|(func, e)| Variable::Function {
                func,
                arg: Box::new(Variable::Identity(Box::new(e)))
            }),
            arith.prop_map(|e| Variable::Identity(Box::new(e))),
        ]
    })
}

fn arith_over(var: impl Strategy<Value = Variable> + Clone + 'static) -> BoxedStrategy<ArithExpr> {
    prop_oneof![number(), var.prop_map(ArithExpr::Var)]
        .prop_recursive(3, 10, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| ArithExpr::Neg(Box::new(e))),
                (arith_op(), inner.clone(), inner).prop_map(|(op, l, r)| ArithExpr::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r)
                }),
            ]
        })
        .boxed()
}

fn contrast() -> impl Strategy<Value = Contrast> {
    prop_oneof![
        Just(Contrast::Treatment),
        Just(Contrast::Sum),
        prop::sample::select(vec!["b", "it's", "say \"hi\"", "2", "中"])
            .prop_map(|s| Contrast::TreatmentRef(s.to_string())),
    ]
}

/// Any variable a term can hold.
fn variable() -> impl Strategy<Value = Variable> {
    prop_oneof![
        4 => simple_var(),
        1 => (simple_var(), 1u32..6).prop_map(|(arg, degree)| Variable::Poly {
            arg: Box::new(arg),
            degree
        }),
        1 => (column(), contrast()).prop_map(|(arg, contrast)| Variable::Categorical {
            arg: Box::new(arg),
            contrast,
            style: CategoricalStyle::C
        }),
        1 => column().prop_map(|arg| Variable::Categorical {
            arg: Box::new(arg),
            contrast: Contrast::Treatment,
            style: CategoricalStyle::Factor
        }),
    ]
}

fn add_op() -> impl Strategy<Value = AddOp> {
    prop::sample::select(vec![AddOp::Add, AddOp::Sub])
}

fn mul_op() -> impl Strategy<Value = MulOp> {
    prop::sample::select(vec![MulOp::Cross, MulOp::Nest])
}

/// Fixed-effects expressions without `0`/`1`, offsets or random terms; with or
/// without removal (`-`).
fn fixed(removal: bool) -> BoxedStrategy<Expr> {
    variable()
        .prop_map(Expr::Var)
        .prop_recursive(3, 16, 3, move |inner| {
            let op = if removal {
                add_op().boxed()
            } else {
                Just(AddOp::Add).boxed()
            };
            let sum = (
                inner.clone(),
                prop::collection::vec((op, inner.clone()), 1..3),
            )
                .prop_map(|(f, rest)| Expr::Sum(Box::new(f), rest));
            let mut choices = vec![
                sum.boxed(),
                (
                    inner.clone(),
                    prop::collection::vec((mul_op(), inner.clone()), 1..3),
                )
                    .prop_map(|(f, rest)| Expr::Product(Box::new(f), rest))
                    .boxed(),
                prop::collection::vec(inner.clone(), 2..4)
                    .prop_map(Expr::In)
                    .boxed(),
                prop::collection::vec(inner.clone(), 2..4)
                    .prop_map(Expr::Interact)
                    .boxed(),
                (inner.clone(), 1u32..4)
                    .prop_map(|(e, k)| Expr::Power(Box::new(e), k))
                    .boxed(),
            ];
            if removal {
                choices.push(inner.prop_map(|e| Expr::Neg(Box::new(e))).boxed());
            }
            prop::strategy::Union::new(choices)
        })
        .boxed()
}

fn grouping() -> impl Strategy<Value = Expr> {
    let col = column().prop_map(Expr::Var);
    prop_oneof![
        col.clone(),
        prop::collection::vec(col.clone(), 2..4).prop_map(Expr::Interact),
        (col.clone(), prop::collection::vec(col, 1..3)).prop_map(|(f, rest)| Expr::Product(
            Box::new(f),
            rest.into_iter().map(|e| (MulOp::Nest, e)).collect()
        )),
    ]
}

fn random_term() -> impl Strategy<Value = Expr> {
    let model = prop_oneof![
        Just(Expr::Intercept(true)),
        fixed(false),
        (any::<bool>(), fixed(false))
            .prop_map(|(b, e)| Expr::Sum(Box::new(Expr::Intercept(b)), vec![(AddOp::Add, e)])),
    ];
    (model, grouping(), any::<bool>()).prop_map(|(m, g, correlated)| Expr::Random {
        model: Box::new(m),
        grouping: Box::new(g),
        correlated,
    })
}

/// One summand of the top-level sum, with the operator before it.
fn top_item() -> impl Strategy<Value = (AddOp, Expr)> {
    prop_oneof![
        4 => (add_op(), fixed(true)),
        1 => (add_op(), any::<bool>().prop_map(Expr::Intercept)),
        1 => simple_var().prop_map(|v| (AddOp::Add, Expr::Offset(v))),
        2 => random_term().prop_map(|r| (AddOp::Add, r)),
    ]
}

fn formula() -> impl Strategy<Value = Formula> {
    let rhs =
        (top_item(), prop::collection::vec(top_item(), 0..4)).prop_map(|((op, first), rest)| {
            let first = match op {
                AddOp::Sub if !matches!(first, Expr::Offset(_) | Expr::Random { .. }) => {
                    Expr::Neg(Box::new(first))
                }
                _ => first,
            };
            if rest.is_empty() {
                first
            } else {
                Expr::Sum(Box::new(first), rest)
            }
        });
    (prop::option::of(variable()), rhs).prop_map(|(response, rhs)| Formula { response, rhs })
}

proptest! {
    /// Printing an AST and parsing it back gives the same AST; when it expands,
    /// its canonical expansion reads back to the same expansion.
    #[test]
    fn prop_print_parse_roundtrip(ast in formula()) {
        let text = ast.to_string();
        let back = parse_ast(&text);
        let message = back.as_ref().err().map(ToString::to_string);
        prop_assert_eq!(back.as_ref().ok(), Some(&ast), "text: {}\n{:?}", text, message);
        if let Ok(mf) = expand(&ast) {
            let canonical = mf.to_string();
            let again = if mf.response.is_some() { parse_formula(&canonical) } else { parse_rhs(&canonical) };
            prop_assert_eq!(again.as_ref().ok().map(normalized), Some(normalized(&mf)), "canonical: {}", canonical);
        }
    }
}

/// The variables of a term, as a sorted set of labels.
fn term_sets(text: &str) -> (bool, Vec<Vec<String>>, Vec<Vec<String>>) {
    let f = parse_formula(text).unwrap();
    let in_order: Vec<Vec<String>> = f
        .fixed
        .terms
        .iter()
        .map(|t| t.variables.iter().map(Variable::label).collect())
        .collect();
    let mut sets: Vec<Vec<String>> = in_order
        .iter()
        .map(|t| {
            let mut s = t.clone();
            s.sort();
            s
        })
        .collect();
    sets.sort();
    (f.fixed.intercept, sets, in_order)
}

/// First appearance of each single-letter variable in `rhs`.
fn first_appearance(rhs: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for c in rhs.chars().filter(char::is_ascii_lowercase) {
        let s = c.to_string();
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen
}

fn small_term() -> impl Strategy<Value = String> {
    let v = prop::sample::select(vec!["a", "b", "c", "d"]);
    prop_oneof![
        v.clone().prop_map(str::to_string),
        prop::collection::vec(v.clone(), 2..4).prop_map(|vs| vs.join(":")),
        (v.clone(), v.clone()).prop_map(|(x, z)| format!("{x}*{z}")),
        (v.clone(), v.clone()).prop_map(|(x, z)| format!("{x}/{z}")),
        (v.clone(), v).prop_map(|(x, z)| format!("({x} + {z})^2")),
    ]
}

proptest! {
    /// The order terms are written in does not change which terms the model has;
    /// in any order, terms come by interaction order, and each term's variables in
    /// order of first appearance.
    #[test]
    fn prop_expansion_order_invariant(
        (terms, shuffled) in prop::collection::vec(small_term(), 1..7)
            .prop_flat_map(|t| (Just(t.clone()), Just(t).prop_shuffle())),
        no_intercept in any::<bool>(),
    ) {
        let lead = if no_intercept { "0 + " } else { "" };
        let (i1, s1, o1) = term_sets(&format!("y ~ {lead}{}", terms.join(" + ")));
        let rhs2 = shuffled.join(" + ");
        let (i2, s2, o2) = term_sets(&format!("y ~ {lead}{rhs2}"));
        prop_assert_eq!(i1, !no_intercept);
        prop_assert_eq!(i1, i2);
        prop_assert_eq!(s1, s2);
        prop_assert!(o1.windows(2).all(|w| w[0].len() <= w[1].len()));
        prop_assert!(o2.windows(2).all(|w| w[0].len() <= w[1].len()));
        let order = first_appearance(&rhs2);
        for t in &o2 {
            let pos: Vec<usize> = t.iter().map(|v| order.iter().position(|o| o == v).unwrap()).collect();
            prop_assert!(pos.windows(2).all(|w| w[0] < w[1]), "{:?} vs {:?}", t, order);
        }
    }
}

const TOKENS: [&str; 40] = [
    "y",
    "~",
    "x",
    "(",
    ")",
    "|",
    "||",
    "+",
    "-",
    "*",
    "/",
    ":",
    "^",
    "%in%",
    "1",
    "0",
    "2",
    "I(",
    "log(",
    "poly(",
    ",",
    "C(",
    "Sum",
    "Treatment(",
    "'b'",
    "`q`",
    "offset(",
    ".",
    " ",
    "é",
    "\n",
    "1e5",
    "=",
    "degree",
    "factor(",
    "\"",
    "`",
    "\\",
    "lgo(",
    "1e999",
];

fn check_no_panic(text: &str) -> Result<(), TestCaseError> {
    let chars = text.chars().count();
    for result in [parse_formula(text), parse_rhs(text)] {
        match result {
            Ok(f) => {
                let canonical = f.to_string();
                let again = if f.response.is_some() {
                    parse_formula(&canonical)
                } else {
                    parse_rhs(&canonical)
                };
                prop_assert_eq!(
                    again.ok().as_ref().map(normalized),
                    Some(normalized(&f)),
                    "canonical: {}",
                    canonical
                );
            }
            Err(e) => {
                prop_assert!(
                    e.position <= chars,
                    "position {} past {} chars",
                    e.position,
                    chars
                );
                prop_assert!(e.to_string().starts_with("error: "));
            }
        }
    }
    if let Ok(ast) = parse_ast(text) {
        prop_assert_eq!(parse_ast(&ast.to_string()).ok(), Some(ast));
    }
    Ok(())
}

proptest! {
    /// Arbitrary text never panics; errors point inside the text.
    #[test]
    fn prop_arbitrary_strings_never_panic(text in any::<String>()) {
        check_no_panic(&text)?;
    }

    /// Formula-like token soup (deeper into the grammar than random text).
    #[test]
    fn prop_token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..40)) {
        check_no_panic(&tokens.concat())?;
    }

    /// Deep or long inputs fail cleanly.
    #[test]
    fn prop_deep_inputs_never_panic(depth in 0usize..400, token in prop::sample::select(vec!["(", "I(", "log(", "-", "^2", "(1|", "+x"])) {
        let text = format!("y ~ {}x{}", token.repeat(depth), ")".repeat(depth));
        check_no_panic(&text)?;
        let text = format!("y ~ I(x{})", token.repeat(depth));
        check_no_panic(&text)?;
    }
}
