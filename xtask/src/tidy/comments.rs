//! Measurements in source comments: a number followed by a unit of time, memory or page
//! faults (milliseconds, MiB, faults) in a `//` comment. Measured numbers belong in commit
//! messages and benches/README.md, where they carry their date and machine; a comment says
//! why, in a sentence. A power-of-two amount of memory (a page, a block threshold) is a
//! size, not a measurement.

/// Units that make a number a measurement. Matched as whole words, so `s` in `2 s.d.` or
/// `3 steps` does not count.
const UNITS: &[&str] = &[
    "ns", "µs", "us", "ms", "s", "sec", "secs", "seconds", "minutes", "KiB", "MiB", "GiB", "KB",
    "MB", "GB", "kB", "faults", "fault",
];

/// Memory units whose power-of-two amounts are sizes (a page, a block threshold), not
/// measurements.
const SIZE_UNITS: &[&str] = &["KiB", "MiB", "GiB", "KB", "MB", "GB", "kB"];

/// The comment part of a line of Rust (after `//` outside a string literal), if any.
pub fn comment(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut in_str = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'\'' if !in_str => {
                // a char literal ('"', '\'', '/'), not a lifetime: skip it whole
                let rest = &line[i + 1..];
                if let Some(end) = rest.char_indices().take(4).find(|&(_, c)| c == '\'') {
                    if end.0 > 0 {
                        i += end.0 + 1;
                    }
                }
            }
            b'/' if !in_str && bytes.get(i + 1) == Some(&b'/') => return Some(&line[i + 2..]),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The first measurement in a comment's text (the number and its unit), if any.
pub fn measurement(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit() && (i == 0 || !is_word(chars[i - 1]));
        if !starts_number {
            i += 1;
            continue;
        }
        // digits, separators and ranges: 1,200 · 0.55 · 35-48 · 1.5–2
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || (matches!(chars[j], '.' | ',' | '-' | '–')
                    && chars.get(j + 1).is_some_and(char::is_ascii_digit)))
        {
            j += 1;
        }
        let number: String = chars[i..j].iter().collect();
        let mut k = j;
        while k < chars.len() && chars[k] == ' ' {
            k += 1;
        }
        let mut e = k;
        while e < chars.len() && is_word(chars[e]) {
            e += 1;
        }
        let word: String = chars[k..e].iter().collect();
        // `2 s.d.`: a unit followed by `.` and a letter is an abbreviation
        let abbreviation =
            chars.get(e) == Some(&'.') && chars.get(e + 1).is_some_and(|c| c.is_alphabetic());
        let size = SIZE_UNITS.contains(&word.as_str())
            && number.parse::<u64>().is_ok_and(u64::is_power_of_two);
        if UNITS.contains(&word.as_str()) && !abbreviation && !size {
            return Some(format!("{number} {word}"));
        }
        i = j.max(i + 1);
    }
    None
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == 'µ'
}

/// `path:line: measurement` for each comment line of `text` that carries one.
pub fn check_file(path: &str, text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let m = measurement(comment(line)?)?;
            Some(format!(
                "{path}:{}: a measurement ({m}) in a comment: move it to the commit message or benches/README.md",
                n + 1
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `//` without writing two slashes in this file's own comments-to-be-scanned.
    fn c(text: &str) -> String {
        format!("let x = 1; /{}{text}", '/')
    }

    #[test]
    fn timings_and_sizes_in_comments_are_found() {
        for (line, want) in [
            (c(" took 0.5 ms on two threads"), "0.5 ms"),
            (c(" 35-48 → 22-26 ms"), "22-26 ms"),
            (c(" 1.3 MB a fit"), "1.3 MB"),
            (c(" peak 615 MiB"), "615 MiB"),
            (c(" about 5,000 faults fewer"), "5,000 faults"),
            (c(" (InstEval: 12.2 µs)"), "12.2 µs"),
            (c(" 73–94 ms"), "73–94 ms"),
            (c(" a 2 s run"), "2 s"),
            (c(" peak RSS 12 MiB more"), "12 MiB"),
        ] {
            let text = comment(&line).expect("a comment");
            assert_eq!(measurement(text).as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn numbers_that_are_not_measurements_pass() {
        for line in [
            c(" within 2 s.d. of the mean"),
            c(" 3 steps, k1 = 2 columns, 16 lanes"),
            c(" sim (e): 3,709 columns and 1e-5 relative"),
            c(" x2 and ms2 are names, not units"),
            c(" 2 sums over 3 levels"),
            c(" a 4 KiB page, blocks of 2 MiB or more, 64 KB"),
            c(" groups of min..=2 min rows"),
            "let s = \"// 5 ms inside a string is not a comment\";".to_string(),
            "let q = '\"'; let t = 3; // count of 3 terms".to_string(),
        ] {
            let found = comment(&line).and_then(measurement);
            assert_eq!(found, None, "{line}");
        }
    }

    #[test]
    fn a_file_reports_its_line() {
        let text = format!("fn f() {{}}\n{}\n", c(" 4 ms"));
        let v = check_file("src/a.rs", &text);
        assert_eq!(v.len(), 1);
        assert!(
            v[0].starts_with("src/a.rs:2: a measurement (4 ms)"),
            "{v:?}"
        );
    }
}
