//! The syntax GLMMs add: a `cbind(successes, failures)` response and comparisons inside
//! `I()` (`I(week > 2)`), with R's labels.

use mixedlm_formula::{parse_formula, ArithExpr, ArithOp, Variable};

#[test]
fn cbind_is_a_two_column_binomial_response() {
    let f = parse_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)").unwrap();
    let r = f.response.clone().unwrap();
    assert_eq!(r.label(), "cbind(incidence, size - incidence)");
    let Variable::Counts {
        successes,
        failures,
    } = &r
    else {
        panic!("{r:?}")
    };
    assert_eq!(successes.label(), "incidence");
    assert_eq!(failures.label(), "I(size - incidence)");
    assert_eq!(f.columns(), ["incidence", "size", "period", "herd"]);
    // prints back as written and reads back the same
    let again = parse_formula(&f.to_string()).unwrap();
    assert_eq!(again, f);
}

#[test]
fn cbind_is_refused_where_it_is_not_the_response() {
    for (text, needle) in [
        ("y ~ cbind(a, b) + (1 | g)", "left of `~`"),
        ("y ~ log(cbind(a, b)) + (1 | g)", "left of `~`"),
        ("cbind(a) ~ x + (1 | g)", "successes and the failures"),
        ("cbind(a, b, c) ~ x + (1 | g)", "successes and the failures"),
        (
            "cbind(s = a, b) ~ x + (1 | g)",
            "successes and the failures",
        ),
    ] {
        let e = parse_formula(text).unwrap_err().to_string();
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn comparisons_inside_i_print_as_r_deparses_them() {
    let cases = [
        ("y ~ I(week > 2) + (1 | ID)", "I(week > 2)"),
        ("y ~ I(week>=2)", "I(week >= 2)"),
        ("y ~ I(x == 1)", "I(x == 1)"),
        ("y ~ I(x != 1)", "I(x != 1)"),
        ("y ~ I(2*x < y^2 + 1)", "I(2 * x < y^2 + 1)"),
        ("y ~ I((x <= 3) * z)", "I((x <= 3) * z)"),
        ("y ~ I((a > 1) > (b < 2))", "I((a > 1) > (b < 2))"),
    ];
    for (text, label) in cases {
        let f = parse_formula(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(f.fixed.labels()[0], label, "{text}");
        assert_eq!(parse_formula(&f.to_string()).unwrap(), f, "{text}");
    }
    let f = parse_formula("y ~ I(week > 2)").unwrap();
    let Variable::Identity(e) = &f.fixed.terms[0].variables[0] else {
        panic!()
    };
    assert!(e.is_comparison());
    assert!(matches!(
        **e,
        ArithExpr::Binary {
            op: ArithOp::Gt,
            ..
        }
    ));
}

#[test]
fn a_comparison_chain_and_named_arguments_still_parse_as_before() {
    // R would read a > b > c as (a > b) > c; we ask for the parentheses
    assert!(parse_formula("y ~ I(a > b > c)").is_err());
    // `=` names an argument, `==` compares
    let f = parse_formula("y ~ poly(x, degree = 2) + I(z == 0)").unwrap();
    assert_eq!(f.fixed.labels(), ["poly(x, 2)", "I(z == 0)"]);
}
