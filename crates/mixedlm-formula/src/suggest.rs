//! "Did you mean ...?": the known name closest to a misspelled one, for the errors of every
//! layer (an unknown function here, an unknown column in the design).

/// The candidate closest to `name` (case ignored) by optimal-string-alignment distance
/// (`strsim::osa_distance`: insertions, deletions, substitutions and transpositions of
/// adjacent characters each count 1), if close enough to be a plausible typo: distance 1
/// for names of up to three characters, else up to max(2, a third of the name's length).
/// Ties go to the first candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let chars = name.chars().count();
    let limit = if chars <= 3 { 1 } else { (chars / 3).max(2) };
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = strsim::osa_distance(&lower, &c.to_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_need_a_close_name() {
        let known = ["log", "log2", "sqrt", "scale", "poly"];
        let closest = |n: &str| closest(n, known);
        assert_eq!(closest("lgo"), Some("log"));
        assert_eq!(closest("Log"), Some("log"));
        assert_eq!(closest("sqr"), Some("sqrt"));
        assert_eq!(closest("scael"), Some("scale"));
        assert_eq!(closest("pol"), Some("poly"));
        assert_eq!(closest("xyz"), None);
        assert_eq!(closest("frobnicate"), None);
        let columns = ["Reaction", "Days", "Subject"];
        assert_eq!(super::closest("Reacton", columns), Some("Reaction"));
        assert_eq!(super::closest("zzzzzz", columns), None);
    }

    /// The distance `closest` relies on counts an adjacent transposition once.
    #[test]
    fn distance_counts_transpositions_once() {
        use strsim::osa_distance;
        assert_eq!(osa_distance("ab", "ba"), 1);
        assert_eq!(osa_distance("Reacton", "Reaction"), 1);
        assert_eq!(osa_distance("Reactoin", "Reaction"), 1);
        assert_eq!(osa_distance("", "abc"), 3);
        assert_eq!(osa_distance("ca", "abc"), 3);
    }
}
