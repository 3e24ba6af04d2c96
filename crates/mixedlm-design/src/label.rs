//! Labels of variables in column names (R's deparse, from `mixedlm-formula`).

use mixedlm_formula::{CategoricalStyle, Variable};

/// The label of a variable as it appears in a model matrix's column names.
///
/// R's deparse (`I(Days^2)`, `log(Reaction)`, `poly(x, 2)`, `factor(x)`), except that
/// `C(x, ...)` is labelled by its argument (`x`): like setting `contrasts(x)` in R, so that
/// columns read `xb` (treatment) or `x1` (sum).
pub fn label(v: &Variable) -> String {
    match v {
        Variable::Categorical {
            arg,
            style: CategoricalStyle::C,
            ..
        } => label(arg),
        _ => v.label(),
    }
}

/// A key that identifies a variable including its coding (two variables with one key are one).
pub fn key(v: &Variable) -> String {
    v.label()
}

/// A number as R prints it (`2`, `2.5`, `1e+05`): level labels of numeric factors.
pub fn number(x: f64) -> String {
    mixedlm_formula::format_number(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mixedlm_formula::Contrast;

    #[test]
    fn c_is_labelled_by_its_argument_factor_is_not() {
        let x = Box::new(Variable::Column("x".into()));
        let c = Variable::Categorical {
            arg: x.clone(),
            contrast: Contrast::Sum,
            style: CategoricalStyle::C,
        };
        assert_eq!(label(&c), "x");
        assert_eq!(key(&c), "C(x, Sum)");
        let f = Variable::Categorical {
            arg: x,
            contrast: Contrast::Treatment,
            style: CategoricalStyle::Factor,
        };
        assert_eq!(label(&f), "factor(x)");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(2.5), "2.5");
    }
}
