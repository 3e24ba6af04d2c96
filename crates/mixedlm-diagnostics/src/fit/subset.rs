//! Reduced designs: a subset of rows, with unused levels dropped and codes renumbered.

use crate::DiagError;
use mixedlm_design::{DenseMatrix, Design, RandomTermDesign};

/// The design without the observations of level `level` of grouping factor `group`.
pub fn leave_group_out(design: &Design, group: &str, level: usize) -> Result<Design, DiagError> {
    let term = design
        .random
        .iter()
        .find(|t| t.group == group)
        .ok_or_else(|| {
            DiagError::Invalid(format!("no grouping factor named `{group}` in the design"))
        })?;
    if level >= term.levels.len() {
        return Err(DiagError::Invalid(format!(
            "`{group}` has {} levels, not {}",
            term.levels.len(),
            level + 1
        )));
    }
    let keep: Vec<usize> = (0..design.n_obs())
        .filter(|&i| term.codes[i] as usize != level)
        .collect();
    Ok(subset_rows(design, &keep))
}

fn rows_of(m: &DenseMatrix, keep: &[usize]) -> DenseMatrix {
    let data = (0..m.ncols)
        .flat_map(|j| keep.iter().map(move |&i| m.get(i, j)))
        .collect();
    DenseMatrix {
        nrows: keep.len(),
        ncols: m.ncols,
        data,
    }
}

fn pick<T: Copy>(v: &[T], keep: &[usize]) -> Vec<T> {
    keep.iter().map(|&i| v[i]).collect()
}

/// A random term restricted to `keep`, its unused levels dropped and codes renumbered.
fn subset_term(term: &RandomTermDesign, keep: &[usize]) -> RandomTermDesign {
    let mut used = vec![false; term.levels.len()];
    for &i in keep {
        used[term.codes[i] as usize] = true;
    }
    let mut new_code = vec![u32::MAX; term.levels.len()];
    let mut levels = Vec::new();
    for (l, name) in term.levels.iter().enumerate().filter(|(l, _)| used[*l]) {
        new_code[l] = levels.len() as u32;
        levels.push(name.clone());
    }
    RandomTermDesign {
        group: term.group.clone(),
        levels: levels.into(),
        codes: keep
            .iter()
            .map(|&i| new_code[term.codes[i] as usize])
            .collect(),
        names: term.names.clone(),
        z: rows_of(&term.z, keep),
        covariance: term.covariance,
    }
}

/// The design restricted to rows `keep` (indices into the design's rows, increasing).
pub fn subset_rows(design: &Design, keep: &[usize]) -> Design {
    Design {
        response: design.response.clone(),
        y: pick(&design.y, keep),
        x: rows_of(&design.x, keep),
        x_names: design.x_names.clone(),
        aliased: design.aliased.clone(),
        random: design.random.iter().map(|t| subset_term(t, keep)).collect(),
        weights: design.weights.as_ref().map(|w| pick(w, keep)),
        offset: design.offset.as_ref().map(|o| pick(o, keep)),
        n_dropped: design.n_dropped,
        row_index: pick(&design.row_index, keep),
    }
}
