//! Function length: no `fn` in the checked crates' `src/` longer than [`MAX_LINES`] lines
//! (from its `fn` line to its closing brace), so that each reads on one screen.

/// The longest a function may be, in lines.
pub const MAX_LINES: usize = 80;

/// (name, first line (1-based), length in lines) of every function with a body in `text`.
pub fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let code = super::source::code(text);
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else {
            continue;
        };
        if let Some(end) = body_end(&lines, n) {
            out.push((name, n + 1, end - n + 1));
        }
    }
    out
}

/// The name of the function a line declares (`pub(crate) fn name<..>(`), if it does.
fn fn_name(line: &str) -> Option<String> {
    let code = line;
    let pos = code.find("fn ")?;
    let before = code[..pos].trim();
    let allowed = before.split_whitespace().all(|w| {
        matches!(w, "pub" | "const" | "unsafe" | "async" | "extern") || w.starts_with("pub(")
    });
    if !allowed {
        return None;
    }
    let rest = &code[pos + 3..];
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The line of the brace that closes the body opened after line `start` (None for a
/// declaration without a body, `fn f();`).
fn body_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate().skip(start) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        return Some(n);
                    }
                }
                ';' if !opened => return None,
                _ => {}
            }
        }
    }
    None
}

/// `path:line: fn name is N lines` for each function over [`MAX_LINES`].
pub fn check_file(path: &str, text: &str) -> Vec<String> {
    functions(text)
        .into_iter()
        .filter(|(_, _, len)| *len > MAX_LINES)
        .map(|(name, line, len)| {
            format!("{path}:{line}: fn {name} is {len} lines (at most {MAX_LINES}): split it")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_from_the_fn_line_to_the_closing_brace() {
        let text = "/// doc\npub(crate) fn short(a: usize) -> usize {\n    a + 1\n}\n\
                    fn braces() {\n    let s = \"}\";\n    let c = '}';\n    if true {\n    }\n}\n\
                    trait T {\n    fn decl(&self);\n    fn provided(&self) {}\n}\n";
        let f = functions(text);
        assert_eq!(
            f,
            vec![
                ("short".to_string(), 2, 3),
                ("braces".to_string(), 5, 6),
                ("provided".to_string(), 13, 1)
            ]
        );
    }

    #[test]
    fn a_long_function_is_reported() {
        let body: String = (0..MAX_LINES)
            .map(|i| format!("    let x{i} = {i};\n"))
            .collect();
        let text = format!("fn long() {{\n{body}}}\nfn ok() {{}}\n");
        let v = check_file("src/x.rs", &text);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("fn long is 82 lines"), "{v:?}");
    }
}
