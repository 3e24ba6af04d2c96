//! Error tests: the kind, the 0-based character position, and the rendering.

use mixedlm_formula::{parse_ast, parse_formula, parse_rhs, ErrorKind, FormulaError};

fn err(input: &str) -> FormulaError {
    match parse_formula(input) {
        Ok(f) => panic!("{input:?} parsed as {f}"),
        Err(e) => e,
    }
}

/// One case: input, expected position, and a predicate on the kind.
type Case = (&'static str, usize, fn(&ErrorKind) -> bool);

fn check(cases: &[Case]) {
    for (input, position, pred) in cases {
        let e = err(input);
        assert!(
            pred(&e.kind),
            "{input:?}: unexpected kind {:?}\n{e}",
            e.kind
        );
        assert_eq!(e.position, *position, "{input:?}: position\n{e}");
        assert_eq!(e.input, *input);
        let shown = e.to_string();
        assert!(shown.starts_with("error: "), "{shown}");
        assert!(shown.contains(&format!("at column {position}")), "{shown}");
    }
}

#[test]
fn rendering_points_at_the_column() {
    let e = err("Reaction ~ Days + ");
    assert_eq!(
        e.to_string(),
        "error: expected a term after '+' at column 17\n  \
         Reaction ~ Days + \n                   ^\n  \
         help: add a term or remove the '+'"
    );
    assert_eq!(e.expected(), Some("a term"));
}

#[test]
fn long_input_is_windowed() {
    let text = format!(
        "y ~ {}lgo(x) + {}",
        "a + ".repeat(40),
        "b + ".repeat(40) + "c"
    );
    let e = err(&text);
    let shown = e.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[1].len() < 100, "{shown}");
    let caret = lines[2].find('^').unwrap();
    assert_eq!(&lines[1][caret..caret + 3], "lgo", "{shown}");
}

#[test]
fn syntax_errors() {
    check(&[
        (
            "Reaction ~ Days + ",
            17,
            |k| matches!(k, ErrorKind::ExpectedTerm { after, .. } if after == "+"),
        ),
        ("y ~ x +", 7, |k| {
            matches!(k, ErrorKind::ExpectedTerm { .. })
        }),
        (
            "y ~ x * ",
            7,
            |k| matches!(k, ErrorKind::ExpectedTerm { after, .. } if after == "*"),
        ),
        (
            "y ~ ",
            3,
            |k| matches!(k, ErrorKind::ExpectedTerm { after, .. } if after == "~"),
        ),
        (
            "y ~ (1 | )",
            8,
            |k| matches!(k, ErrorKind::ExpectedTerm { after, expected } if after == "|" && expected.contains("grouping")),
        ),
        (
            "y ~ ( | g)",
            5,
            |k| matches!(k, ErrorKind::ExpectedTerm { after, .. } if after == "("),
        ),
        (
            "y ~ x x",
            6,
            |k| matches!(k, ErrorKind::Unexpected { found, .. } if found == "'x'"),
        ),
        (
            "y ~ x ~ z",
            6,
            |k| matches!(k, ErrorKind::Unexpected { found, .. } if found == "'~'"),
        ),
        (
            "y ~ x + $",
            8,
            |k| matches!(k, ErrorKind::Unexpected { found, .. } if found == "'$'"),
        ),
        ("y ~ x + + z", 7, |k| {
            matches!(k, ErrorKind::ExpectedTerm { .. })
        }),
        ("y ~ x %foo% z", 6, |k| {
            matches!(k, ErrorKind::Unexpected { .. })
        }),
        ("y ~ (x", 4, |k| matches!(k, ErrorKind::UnclosedParen)),
        ("y ~ x)", 5, |k| matches!(k, ErrorKind::UnmatchedParen)),
        ("y ~ `x", 4, |k| {
            matches!(k, ErrorKind::UnclosedQuote { quote: '`' })
        }),
        ("y ~ C(x, Treatment('b))", 19, |k| {
            matches!(k, ErrorKind::UnclosedQuote { quote: '\'' })
        }),
        ("y ~ x + 'a'", 8, |k| {
            matches!(k, ErrorKind::Unexpected { .. })
        }),
        ("é ~ ü +", 7, |k| {
            matches!(k, ErrorKind::ExpectedTerm { .. })
        }),
    ]);
}

#[test]
fn structure_errors() {
    check(&[
        ("y", 1, |k| matches!(k, ErrorKind::MissingTilde)),
        ("y + x", 5, |k| matches!(k, ErrorKind::MissingTilde)),
        ("~ x", 0, |k| matches!(k, ErrorKind::MissingResponse)),
        ("", 0, |k| matches!(k, ErrorKind::Empty)),
        ("   ", 0, |k| matches!(k, ErrorKind::Empty)),
        ("y + z ~ x", 0, |k| matches!(k, ErrorKind::BadResponse)),
        ("offset(y) ~ x", 0, |k| matches!(k, ErrorKind::BadResponse)),
        ("(1 | g) ~ x", 0, |k| matches!(k, ErrorKind::BadResponse)),
        (
            "y ~ 2 + x",
            4,
            |k| matches!(k, ErrorKind::NumberAsTerm { text } if text == "2"),
        ),
        ("y ~ 1e999", 4, |k| matches!(k, ErrorKind::BadNumber { .. })),
        ("y ~ (a + b)^0", 12, |k| {
            matches!(k, ErrorKind::BadExponent { .. })
        }),
        ("y ~ (a + b)^1.5", 12, |k| {
            matches!(k, ErrorKind::BadExponent { .. })
        }),
        ("y ~ .", 4, |k| matches!(k, ErrorKind::Dot)),
        ("y ~ ``", 4, |k| matches!(k, ErrorKind::EmptyName)),
        ("y ~ (1 + x):z", 4, |k| {
            matches!(k, ErrorKind::MisplacedIntercept)
        }),
        ("y ~ a * 1", 8, |k| {
            matches!(k, ErrorKind::MisplacedIntercept)
        }),
        ("y ~ x + offset(o):z", 8, |k| {
            matches!(k, ErrorKind::MisplacedOffset { .. })
        }),
        ("y ~ x - offset(o)", 8, |k| {
            matches!(k, ErrorKind::MisplacedOffset { .. })
        }),
        ("y ~ I(offset(o))", 6, |k| {
            matches!(k, ErrorKind::MisplacedOffset { .. })
        }),
        ("y ~ (offset(o) | g)", 5, |k| {
            matches!(k, ErrorKind::MisplacedOffset { .. })
        }),
    ]);
}

#[test]
fn function_errors() {
    check(&[
        (
            "y ~ lgo(x)",
            4,
            |k| matches!(k, ErrorKind::UnknownFunction { name, suggestion: Some(s) } if name == "lgo" && s == "log"),
        ),
        (
            "y ~ sqr(x)",
            4,
            |k| matches!(k, ErrorKind::UnknownFunction { suggestion: Some(s), .. } if s == "sqrt"),
        ),
        ("y ~ frobnicate(x)", 4, |k| {
            matches!(
                k,
                ErrorKind::UnknownFunction {
                    suggestion: None,
                    ..
                }
            )
        }),
        (
            "y ~ poly(x)",
            4,
            |k| matches!(k, ErrorKind::BadArguments { function, message } if function == "poly" && message.contains("degree")),
        ),
        (
            "y ~ poly(x, 0)",
            12,
            |k| matches!(k, ErrorKind::BadArguments { message, .. } if message.contains("at least 1")),
        ),
        ("y ~ poly(x, 1.5)", 12, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
        (
            "y ~ poly(x, 2, raw = TRUE)",
            15,
            |k| matches!(k, ErrorKind::BadArguments { message, .. } if message.contains("raw")),
        ),
        ("y ~ log(x, 2)", 4, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
        ("y ~ log()", 4, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
        ("y ~ log(base = x)", 8, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
        ("y ~ log('x')", 8, |k| {
            matches!(k, ErrorKind::StringNotAllowed)
        }),
        (
            "y ~ C(x, Helmert)",
            9,
            |k| matches!(k, ErrorKind::UnknownContrast { name, .. } if name == "Helmert"),
        ),
        (
            "y ~ C(x, Summ)",
            9,
            |k| matches!(k, ErrorKind::UnknownContrast { suggestion: Some(s), .. } if s == "Sum"),
        ),
        ("y ~ C(x + z)", 6, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
        ("y ~ C(x, Sum, 3)", 4, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
        ("y ~ factor(log(x))", 11, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
        ("y ~ I(poly(x, 2))", 6, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
        ("y ~ C(x, Treatment(a, b))", 9, |k| {
            matches!(k, ErrorKind::BadArguments { .. })
        }),
    ]);
}

#[test]
fn random_term_errors() {
    check(&[
        ("y ~ (0 | g)", 5, |k| {
            matches!(k, ErrorKind::EmptyRandomTerm)
        }),
        ("y ~ (-1 | g)", 5, |k| {
            matches!(k, ErrorKind::EmptyRandomTerm)
        }),
        ("y ~ (x - x - 1 | g)", 5, |k| {
            matches!(k, ErrorKind::EmptyRandomTerm)
        }),
        ("y ~ ((1 | g) | h)", 5, |k| {
            matches!(k, ErrorKind::NestedBars)
        }),
        ("y ~ (1 | (1 | g))", 9, |k| {
            matches!(k, ErrorKind::NestedBars)
        }),
        ("y ~ (1 + (1 | g) | h)", 5, |k| {
            matches!(k, ErrorKind::NestedBars)
        }),
        ("y ~ x * (1 | g)", 8, |k| {
            matches!(k, ErrorKind::MisplacedRandom { .. })
        }),
        ("y ~ (1 | g):x", 4, |k| {
            matches!(k, ErrorKind::MisplacedRandom { .. })
        }),
        ("y ~ x - (1 | g)", 8, |k| {
            matches!(k, ErrorKind::MisplacedRandom { .. })
        }),
        ("y ~ -(1 | g)", 5, |k| {
            matches!(k, ErrorKind::MisplacedRandom { .. })
        }),
        ("y ~ (1 | a*b)", 9, |k| {
            matches!(k, ErrorKind::BadGrouping { .. })
        }),
        ("y ~ (1 | a + b)", 9, |k| {
            matches!(k, ErrorKind::BadGrouping { .. })
        }),
        ("y ~ (1 | log(g))", 9, |k| {
            matches!(k, ErrorKind::BadGrouping { .. })
        }),
        ("y ~ (1 | 1)", 9, |k| {
            matches!(k, ErrorKind::BadGrouping { .. })
        }),
        ("y ~ (1 | g^2)", 9, |k| {
            matches!(k, ErrorKind::BadGrouping { .. })
        }),
    ]);
}

#[test]
fn limits() {
    let deep = format!("y ~ {}x{}", "(".repeat(200), ")".repeat(200));
    let e = err(&deep);
    assert!(matches!(e.kind, ErrorKind::TooDeep { .. }), "{e}");
    let negs = format!("y ~ I({}x)", "-".repeat(10_000));
    assert!(matches!(err(&negs).kind, ErrorKind::TooDeep { .. }));
    let pows = format!("y ~ I(x{})", "^2".repeat(10_000));
    assert!(matches!(err(&pows).kind, ErrorKind::TooDeep { .. }));
    let sums = format!("y ~ I(x{})", " + x".repeat(10_000));
    assert!(matches!(err(&sums).kind, ErrorKind::TooDeep { .. }));
    let long = format!("y ~ {}", "x + ".repeat(30_000));
    assert!(matches!(err(&long).kind, ErrorKind::TooLong { .. }));
    let many: Vec<String> = (0..20).map(|i| format!("x{i}")).collect();
    let power = format!("y ~ ({})^20", many.join(" + "));
    assert!(matches!(err(&power).kind, ErrorKind::TooManyTerms { .. }));
    let cross = format!("y ~ {}", many.join(" * "));
    assert!(matches!(err(&cross).kind, ErrorKind::TooManyTerms { .. }));
    // Wide but flat formulas are fine.
    let wide: Vec<String> = (0..2000).map(|i| format!("x{i}")).collect();
    let f = parse_formula(&format!("y ~ {}", wide.join(" + "))).unwrap();
    assert_eq!(f.fixed.terms.len(), 2000);
    let nested = format!("y ~ {}x{}", "(".repeat(60), ")".repeat(60));
    assert_eq!(parse_formula(&nested).unwrap().fixed.labels(), ["x"]);
}

#[test]
fn right_hand_side_errors() {
    let e = parse_rhs("y ~ x").unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnexpectedResponse);
    let e = parse_ast("x + z").unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingTilde);
    assert!(parse_ast("~ x").is_ok());
}
