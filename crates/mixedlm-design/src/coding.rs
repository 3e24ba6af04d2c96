//! R's model-matrix coding: which factors get contrasts and which get full indicators.
//!
//! For each term and each factor in it, R codes the factor by contrasts if the term with that
//! factor removed is empty or is contained in a preceding term, and by one indicator per level
//! otherwise. Without an intercept, the first factor of the first term that has one is coded
//! by indicators. (This is `TermCode` plus the no-intercept fix-up of R's `model.matrix`.)

use mixedlm_formula::Contrast;

use crate::error::DesignError;

/// A term as variable indices, in R's variable order.
pub(crate) type TermVars = Vec<usize>;

/// For each term, for each of its variables, whether the variable gets full indicator coding.
pub(crate) fn full_coding(
    intercept: bool,
    terms: &[TermVars],
    is_factor: &[bool],
) -> Vec<Vec<bool>> {
    let mut out: Vec<Vec<bool>> = terms
        .iter()
        .enumerate()
        .map(|(t, vars)| {
            vars.iter()
                .map(|&v| {
                    let rest: Vec<usize> = vars.iter().copied().filter(|&w| w != v).collect();
                    !(rest.is_empty()
                        || terms[..t]
                            .iter()
                            .any(|p| rest.iter().all(|w| p.contains(w))))
                })
                .collect()
        })
        .collect();
    if !intercept {
        'outer: for (t, vars) in terms.iter().enumerate() {
            for (pos, &v) in vars.iter().enumerate() {
                if is_factor[v] {
                    out[t][pos] = true;
                    break 'outer;
                }
            }
        }
    }
    out
}

/// A factor's coding: an L x m matrix (row-major: `mat[level * m + j]`) and column suffixes.
#[derive(Debug)]
pub(crate) struct Coding {
    pub mat: Vec<f64>,
    pub m: usize,
    pub names: Vec<String>,
}

/// The coding of a factor with `levels`: full indicators, or the requested contrast.
pub(crate) fn coding(
    label: &str,
    levels: &[String],
    full: bool,
    contrast: &Contrast,
) -> Result<Coding, DesignError> {
    let l = levels.len();
    if full {
        let mut mat = vec![0.0; l * l];
        (0..l).for_each(|i| mat[i * l + i] = 1.0);
        return Ok(Coding {
            mat,
            m: l,
            names: levels.to_vec(),
        });
    }
    if l < 2 {
        return Err(DesignError::Unsupported(format!(
            "factor '{label}' has only {l} level on the rows used; contrasts need at least 2 levels: drop the term"
        )));
    }
    let m = l - 1;
    let mut mat = vec![0.0; l * m];
    match contrast {
        Contrast::Sum => {
            (0..m).for_each(|i| mat[i * m + i] = 1.0);
            (0..m).for_each(|j| mat[m * m + j] = -1.0);
            Ok(Coding {
                mat,
                m,
                names: (1..=m).map(|j| j.to_string()).collect(),
            })
        }
        Contrast::Treatment | Contrast::TreatmentRef(_) => {
            let reference = match contrast {
                Contrast::TreatmentRef(r) => {
                    levels.iter().position(|x| x == r).ok_or_else(|| {
                        DesignError::UnknownReference {
                            factor: label.to_string(),
                            level: r.clone(),
                            levels: levels.join(", "),
                        }
                    })?
                }
                _ => 0,
            };
            let kept: Vec<usize> = (0..l).filter(|&i| i != reference).collect();
            for (j, &i) in kept.iter().enumerate() {
                mat[i * m + j] = 1.0;
            }
            Ok(Coding {
                mat,
                m,
                names: kept.iter().map(|&i| levels[i].clone()).collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_rules_for_full_coding() {
        // y ~ 1 + recipe * temp: recipe(0) factor, temp(1) numeric
        let terms = vec![vec![0], vec![1], vec![0, 1]];
        let f = full_coding(true, &terms, &[true, false]);
        assert_eq!(f, vec![vec![false], vec![false], vec![false, false]]);
        // y ~ 0 + recipe + recipe:temp
        let terms = vec![vec![0], vec![0, 1]];
        let f = full_coding(false, &terms, &[true, false]);
        assert_eq!(f[0], vec![true]);
        assert!(f[1][0]);
        // y ~ Sex * Minority + SES:Sex: Sex(0), Minority(1), SES(2)
        let terms = vec![vec![0], vec![1], vec![0, 1], vec![0, 2]];
        let f = full_coding(true, &terms, &[true, true, false]);
        assert_eq!(f[2], vec![false, false]);
        assert!(f[3][0]);
        // y ~ 0 + a + b: a full, b contrasts
        let f = full_coding(false, &[vec![0], vec![1]], &[true, true]);
        assert_eq!(f, vec![vec![true], vec![false]]);
    }

    #[test]
    fn sum_and_reference_contrasts() {
        let lv: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let s = coding("x", &lv, false, &Contrast::Sum).unwrap();
        assert_eq!(s.mat, vec![1.0, 0.0, 0.0, 1.0, -1.0, -1.0]);
        assert_eq!(s.names, vec!["1", "2"]);
        let t = coding("x", &lv, false, &Contrast::TreatmentRef("b".into())).unwrap();
        assert_eq!(t.names, vec!["a", "c"]);
        assert_eq!(t.mat, vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        let e = coding("x", &lv, false, &Contrast::TreatmentRef("z".into())).unwrap_err();
        assert_eq!(
            e.to_string(),
            "reference level 'z' is not a level of 'x' (levels: a, b, c)"
        );
    }
}
