//! Parse-and-expand tests for every syntax element: each case gives a formula and
//! its expansion written canonically (`ModelFormula`'s `Display`: the intercept
//! first, terms in R's order, then offsets, then random-effects terms).

use mixedlm_formula::{parse_formula, parse_rhs, ModelFormula};

/// `f` with each term's variables sorted by label: reading the canonical text back
/// can change which variable appears first (`y ~ b:a + a` prints `a + b:a`, which
/// reads back as `a + a:b`), and R orders a term's variables by first appearance.
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

/// Parses `input` with `parse` and compares the canonical expansion to `expected`;
/// the canonical text must also parse back to the same model (up to the order of
/// variables inside a term).
fn check_with(
    parse: fn(&str) -> Result<ModelFormula, mixedlm_formula::FormulaError>,
    cases: &[(&str, &str)],
) {
    for (input, expected) in cases {
        let f = match parse(input) {
            Ok(f) => f,
            Err(e) => panic!("{input:?} failed to parse:\n{e}"),
        };
        assert_eq!(f.to_string(), *expected, "expansion of {input:?}");
        let again = parse(&f.to_string()).unwrap_or_else(|e| panic!("{expected:?} reparse:\n{e}"));
        assert_eq!(
            normalized(&again),
            normalized(&f),
            "canonical text of {input:?} reads back differently"
        );
    }
}

fn check(cases: &[(&str, &str)]) {
    check_with(parse_formula, cases);
}

#[test]
fn intercept() {
    check(&[
        ("y ~ x", "y ~ 1 + x"),
        ("y ~ 1 + x", "y ~ 1 + x"),
        ("y ~ 1", "y ~ 1"),
        ("y ~ 0", "y ~ 0"),
        ("y ~ -1", "y ~ 0"),
        ("y ~ 0 + x", "y ~ 0 + x"),
        ("y ~ -1 + x", "y ~ 0 + x"),
        ("y ~ x - 1", "y ~ 0 + x"),
        ("y ~ x + 0", "y ~ 0 + x"),
        ("y ~ x + -1", "y ~ 0 + x"),
        ("y ~ x - 1 + 1", "y ~ 1 + x"),
        ("y ~ 0 + x + 1", "y ~ 1 + x"),
        ("y ~ x - 0", "y ~ 1 + x"),
        ("y ~ 1.0 + x", "y ~ 1 + x"),
        ("y~x", "y ~ 1 + x"),
        ("  y \t~\n x  ", "y ~ 1 + x"),
    ]);
}

#[test]
fn sums_and_removal() {
    check(&[
        ("y ~ a + b + c", "y ~ 1 + a + b + c"),
        ("y ~ x + x", "y ~ 1 + x"),
        ("y ~ b + a", "y ~ 1 + b + a"),
        ("y ~ (a + b)", "y ~ 1 + a + b"),
        ("y ~ a + (b + c)", "y ~ 1 + a + b + c"),
        ("y ~ a + b - a", "y ~ 1 + b"),
        ("y ~ -a + a", "y ~ 1 + a"),
        ("y ~ a - (a + b) + c", "y ~ 1 + c"),
        ("y ~ a*b - a:b", "y ~ 1 + a + b"),
        ("y ~ a*b - b:a", "y ~ 1 + a + b"),
        ("y ~ a*b - a", "y ~ 1 + b + a:b"),
        ("y ~ a*b*c - a:b:c", "y ~ 1 + a + b + c + a:b + a:c + b:c"),
    ]);
}

#[test]
fn interactions_and_order() {
    check(&[
        ("y ~ a:b", "y ~ 1 + a:b"),
        ("y ~ a:b + a:b", "y ~ 1 + a:b"),
        ("y ~ a:b + b:a", "y ~ 1 + a:b"),
        ("y ~ a:a", "y ~ 1 + a"),
        ("y ~ a + b:a", "y ~ 1 + a + a:b"),
        ("y ~ b:a + a", "y ~ 1 + a + b:a"),
        ("y ~ x:z + z + x", "y ~ 1 + z + x + x:z"),
        ("y ~ a:b:c + a + c:b", "y ~ 1 + a + b:c + a:b:c"),
        ("y ~ (a + b):c", "y ~ 1 + a:c + b:c"),
        ("y ~ (a + b):(c + d)", "y ~ 1 + a:c + a:d + b:c + b:d"),
        ("y ~ a*b", "y ~ 1 + a + b + a:b"),
        (
            "y ~ a * b * c",
            "y ~ 1 + a + b + c + a:b + a:c + b:c + a:b:c",
        ),
        ("y ~ a*(b + c)", "y ~ 1 + a + b + c + a:b + a:c"),
        ("y ~ a:b*c", "y ~ 1 + c + a:b + a:b:c"),
        ("y ~ (a + b + c)^2", "y ~ 1 + a + b + c + a:b + a:c + b:c"),
        (
            "y ~ (a + b + c)^3",
            "y ~ 1 + a + b + c + a:b + a:c + b:c + a:b:c",
        ),
        ("y ~ (a + b)^10", "y ~ 1 + a + b + a:b"),
        ("y ~ a^2", "y ~ 1 + a"),
        ("y ~ (a + b + c)^2 - a:b", "y ~ 1 + a + b + c + a:c + b:c"),
        ("y ~ a/b", "y ~ 1 + a + a:b"),
        ("y ~ a/b/c", "y ~ 1 + a + a:b + a:b:c"),
        ("y ~ (a + b)/c", "y ~ 1 + a + b + a:b:c"),
        ("y ~ a/(b + c)", "y ~ 1 + a + a:b + a:c"),
        ("y ~ a %in% b", "y ~ 1 + a:b"),
        ("y ~ (a + b) %in% c", "y ~ 1 + a:c + b:c"),
        ("y ~ a %in% (b + c)", "y ~ 1 + a:b:c"),
        ("y ~ a + b %in% a", "y ~ 1 + a + a:b"),
    ]);
}

#[test]
fn functions_and_labels() {
    check(&[
        ("log(Reaction) ~ Days", "log(Reaction) ~ 1 + Days"),
        ("I(y/10) ~ x", "I(y/10) ~ 1 + x"),
        ("sqrt(y) ~ x", "sqrt(y) ~ 1 + x"),
        (
            "y ~ log(x) + log2(x) + log10(x) + exp(x) + sqrt(x) + abs(x) + scale(x) + center(x)",
            "y ~ 1 + log(x) + log2(x) + log10(x) + exp(x) + sqrt(x) + abs(x) + scale(x) + center(x)",
        ),
        ("y ~ log(x+1)", "y ~ 1 + log(x + 1)"),
        ("y ~ log(I(x))", "y ~ 1 + log(I(x))"),
        ("y ~ scale(log(x))", "y ~ 1 + scale(log(x))"),
        ("y ~ I(Days^2)", "y ~ 1 + I(Days^2)"),
        ("y ~ I(Days ^ 2)", "y ~ 1 + I(Days^2)"),
        ("y ~ I(x*2)", "y ~ 1 + I(x * 2)"),
        ("y ~ I(a+b)", "y ~ 1 + I(a + b)"),
        ("y ~ I(a-b)", "y ~ 1 + I(a - b)"),
        ("y ~ I(a / b)", "y ~ 1 + I(a/b)"),
        ("y ~ I(-x)", "y ~ 1 + I(-x)"),
        ("y ~ I(- -x)", "y ~ 1 + I(--x)"),
        ("y ~ I(-x^2)", "y ~ 1 + I(-x^2)"),
        ("y ~ I((-x)^2)", "y ~ 1 + I((-x)^2)"),
        ("y ~ I(x^2^3)", "y ~ 1 + I(x^2^3)"),
        ("y ~ I((x^2)^3)", "y ~ 1 + I((x^2)^3)"),
        ("y ~ I(2^-x)", "y ~ 1 + I(2^-x)"),
        ("y ~ I((a + b) * c)", "y ~ 1 + I((a + b) * c)"),
        ("y ~ I(a - (b - c))", "y ~ 1 + I(a - (b - c))"),
        ("y ~ I(a - b - c)", "y ~ 1 + I(a - b - c)"),
        ("y ~ I(a/(b*c))", "y ~ 1 + I(a/(b * c))"),
        ("y ~ I(a * -b)", "y ~ 1 + I(a * -b)"),
        ("y ~ I(-(a + b))", "y ~ 1 + I(-(a + b))"),
        ("y ~ I(1e-3 * x)", "y ~ 1 + I(0.001 * x)"),
        ("y ~ I(.5*x)", "y ~ 1 + I(0.5 * x)"),
        ("y ~ I(x * 5.)", "y ~ 1 + I(x * 5)"),
        ("y ~ I(x * 1e5)", "y ~ 1 + I(x * 1e+05)"),
        ("y ~ I(x * 0.0001)", "y ~ 1 + I(x * 1e-04)"),
        ("y ~ I(x * 2.5E2)", "y ~ 1 + I(x * 250)"),
        ("y ~ I(log(x)^2)", "y ~ 1 + I(log(x)^2)"),
        ("y ~ I(x) + x", "y ~ 1 + I(x) + x"),
        ("y ~ poly(x, 2)", "y ~ 1 + poly(x, 2)"),
        ("y ~ poly(x, degree = 3)", "y ~ 1 + poly(x, 3)"),
        ("y ~ poly(log(x), 2)", "y ~ 1 + poly(log(x), 2)"),
        ("y ~ C(x)", "y ~ 1 + C(x)"),
        ("y ~ factor(x)", "y ~ 1 + factor(x)"),
        ("y ~ C(x, Sum)", "y ~ 1 + C(x, Sum)"),
        ("y ~ C(x, contr.sum)", "y ~ 1 + C(x, Sum)"),
        ("y ~ C(x, Treatment)", "y ~ 1 + C(x)"),
        ("y ~ C(x, Treatment())", "y ~ 1 + C(x)"),
        ("y ~ C(x, Treatment(reference='b'))", "y ~ 1 + C(x, Treatment(reference = \"b\"))"),
        ("y ~ C(x, Treatment(reference = \"b\"))", "y ~ 1 + C(x, Treatment(reference = \"b\"))"),
        ("y ~ C(x, Treatment(\"b\"))", "y ~ 1 + C(x, Treatment(reference = \"b\"))"),
        ("y ~ C(x, Treatment(b))", "y ~ 1 + C(x, Treatment(reference = \"b\"))"),
        ("y ~ C(x, Treatment(2))", "y ~ 1 + C(x, Treatment(reference = \"2\"))"),
        ("y ~ C(x, Treatment('it\\'s'))", "y ~ 1 + C(x, Treatment(reference = \"it's\"))"),
        ("y ~ C(x) * z", "y ~ 1 + C(x) + z + C(x):z"),
        ("y ~ `my col` + Sex.1 + x_2 + .x", "y ~ 1 + `my col` + Sex.1 + x_2 + .x"),
        ("y ~ `a\\`b` + `1x`", "y ~ 1 + `a\\`b` + `1x`"),
        ("y ~ `x`", "y ~ 1 + x"),
        ("y ~ `.`", "y ~ 1 + `.`"),
        ("y ~ température + 体重", "y ~ 1 + température + 体重"),
        ("y ~ log", "y ~ 1 + log"),
    ]);
}

#[test]
fn offsets() {
    check(&[
        ("y ~ x + offset(log(n))", "y ~ 1 + x + offset(log(n))"),
        ("y ~ offset(n) + x + offset(n)", "y ~ 1 + x + offset(n)"),
        ("y ~ offset(a + b) + x", "y ~ 1 + x + offset(a + b)"),
        ("y ~ 0 + offset(o) + (1 | g)", "y ~ 0 + offset(o) + (1 | g)"),
    ]);
    let f = parse_formula("y ~ x + offset(log(n))").unwrap();
    assert_eq!(f.offsets.len(), 1);
    assert_eq!(f.offsets[0].label(), "log(n)");
    assert_eq!(f.fixed.labels(), ["x"]);
}

#[test]
fn random_terms() {
    check(&[
        ("y ~ (1 | g)", "y ~ 1 + (1 | g)"),
        ("y ~ (1|g)", "y ~ 1 + (1 | g)"),
        ("y ~ ((1 | g))", "y ~ 1 + (1 | g)"),
        ("y ~ (x | g)", "y ~ 1 + (1 + x | g)"),
        ("y ~ (1 + x | g)", "y ~ 1 + (1 + x | g)"),
        ("y ~ (0 + x | g)", "y ~ 1 + (0 + x | g)"),
        ("y ~ (-1 + x | g)", "y ~ 1 + (0 + x | g)"),
        ("y ~ (x - 1 | g)", "y ~ 1 + (0 + x | g)"),
        ("y ~ (x || g)", "y ~ 1 + (1 + x || g)"),
        ("y ~ (1 + x || g)", "y ~ 1 + (1 + x || g)"),
        ("y ~ (x + z | g)", "y ~ 1 + (1 + x + z | g)"),
        ("y ~ (a*b | g)", "y ~ 1 + (1 + a + b + a:b | g)"),
        ("y ~ (b:a + a | g)", "y ~ 1 + (1 + a + b:a | g)"),
        ("y ~ (1 | a/b)", "y ~ 1 + (1 | a) + (1 | a:b)"),
        (
            "y ~ (1 | a/b/c)",
            "y ~ 1 + (1 | a) + (1 | a:b) + (1 | a:b:c)",
        ),
        (
            "y ~ (1 | (a/b)/c)",
            "y ~ 1 + (1 | a) + (1 | a:b) + (1 | a:b:c)",
        ),
        ("y ~ (x | a:b)", "y ~ 1 + (1 + x | a:b)"),
        ("y ~ (1 | a:b/c)", "y ~ 1 + (1 | a:b) + (1 | a:b:c)"),
        ("y ~ (1 | a %in% b)", "y ~ 1 + (1 | a:b)"),
        ("y ~ (1 | `my g`)", "y ~ 1 + (1 | `my g`)"),
        ("y ~ (1 | g) + (1 | h)", "y ~ 1 + (1 | g) + (1 | h)"),
        ("y ~ (1 | g) + x", "y ~ 1 + x + (1 | g)"),
        (
            "y ~ x + ((1 | g) + (1 | h))",
            "y ~ 1 + x + (1 | g) + (1 | h)",
        ),
        ("y ~ 0 + (1 | g)", "y ~ 0 + (1 | g)"),
        (
            "Reaction ~ 1 + Days + (1 | Subject) + (0 + Days | Subject)",
            "Reaction ~ 1 + Days + (1 | Subject) + (0 + Days | Subject)",
        ),
        (
            "y ~ 1 + x + f + x:f + (1 + x | g)",
            "y ~ 1 + x + f + x:f + (1 + x | g)",
        ),
        (
            "angle ~ 1 + recipe * temp + (1 | recipe:replicate)",
            "angle ~ 1 + recipe + temp + recipe:temp + (1 | recipe:replicate)",
        ),
        (
            "angle ~ 0 + recipe + recipe:temp + (1 | replicate)",
            "angle ~ 0 + recipe + recipe:temp + (1 | replicate)",
        ),
        (
            "MathAch ~ 1 + Sex * Minority + SES:Sex + (1 | School)",
            "MathAch ~ 1 + Sex + Minority + Sex:Minority + Sex:SES + (1 | School)",
        ),
        (
            "log(Reaction) ~ 1 + Days + I(Days^2) + (1 | Subject)",
            "log(Reaction) ~ 1 + Days + I(Days^2) + (1 | Subject)",
        ),
        (
            "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)",
            "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)",
        ),
    ]);
    let f = parse_formula("y ~ (1 | a/b) + (x || g)").unwrap();
    assert_eq!(f.random.len(), 3);
    assert_eq!(f.random[1].grouping, ["a", "b"]);
    assert_eq!(f.random[1].group_name(), "a:b");
    assert!(f.random[0].correlated);
    assert!(!f.random[2].correlated);
    assert_eq!(f.random[2].model.labels(), ["x"]);
}

#[test]
fn right_hand_sides() {
    check_with(
        parse_rhs,
        &[
            ("~x", "~ 1 + x"),
            ("1 + x", "~ 1 + x"),
            ("0 + x", "~ 0 + x"),
            ("~ 0 + x", "~ 0 + x"),
            ("0 + C(class)", "~ 0 + C(class)"),
            ("~ 1", "~ 1"),
            ("x", "~ 1 + x"),
        ],
    );
    assert_eq!(parse_rhs("0 + C(class)").unwrap().response, None);
}

#[test]
fn from_str_matches_the_functions() {
    let text = "y ~ a*b + (1 | g)";
    let f: ModelFormula = text.parse().unwrap();
    assert_eq!(f, parse_formula(text).unwrap());
    let ast: mixedlm_formula::ast::Formula = text.parse().unwrap();
    assert_eq!(mixedlm_formula::expand(&ast).unwrap(), f);
    assert_eq!(ast.to_string(), "y ~ a * b + (1 | g)");
}

#[test]
fn columns_and_labels() {
    let f = parse_formula(
        "log(y) ~ I(a/b) + poly(c, 2) * C(d, Sum) + offset(log(e)) + (1 + scale(f) | g/h) + (1 | a)",
    )
    .unwrap();
    assert_eq!(f.columns(), ["y", "a", "b", "c", "d", "e", "f", "g", "h"]);
    let labels = f.fixed.labels();
    assert_eq!(
        labels,
        ["I(a/b)", "poly(c, 2)", "C(d, Sum)", "poly(c, 2):C(d, Sum)"]
    );
    assert_eq!(f.fixed.terms[3].order(), 2);
    assert_eq!(f.fixed.terms[0].variables[0].columns(), ["a", "b"]);
    assert_eq!(f.random[1].group_name(), "g:h");
    let f = parse_formula("y ~ `my col` + (1 | `my g`)").unwrap();
    assert_eq!(f.columns(), ["y", "my col", "my g"]);
    assert_eq!(f.fixed.labels(), ["`my col`"]);
}
