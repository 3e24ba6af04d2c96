//! Rust source reduced to its code: comments removed and the contents of string and char
//! literals emptied (the quotes stay), line breaks kept so that line numbers still hold.

/// `text` without comments and with empty literals.
pub fn code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = block_comment_end(&chars, i, &mut out);
        } else if c == 'r' && raw_string_start(&chars, i).is_some() && !ident_before(&chars, i) {
            let hashes = raw_string_start(&chars, i).unwrap_or(0);
            out.push('"');
            i = raw_string_end(&chars, i + 2 + hashes, hashes, &mut out);
            out.push('"');
        } else if c == '"' {
            out.push('"');
            i = string_end(&chars, i + 1, &mut out);
            out.push('"');
        } else if c == '\'' && char_literal_len(&chars, i).is_some() {
            out.push_str("''");
            i += char_literal_len(&chars, i).unwrap_or(1);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// `r"`, `r#"`, `r##"`: the number of hashes.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some(j - i - 1)
}

/// After the raw string's closing quote and hashes; its line breaks go to `out`.
fn raw_string_end(chars: &[char], mut i: usize, hashes: usize, out: &mut String) -> usize {
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|h| chars.get(i + h) == Some(&'#')) {
            return i + 1 + hashes;
        }
        if chars[i] == '\n' {
            out.push('\n');
        }
        i += 1;
    }
    i
}

/// After the string's closing quote; its line breaks go to `out`.
fn string_end(chars: &[char], mut i: usize, out: &mut String) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '"' => return i + 1,
            '\n' => out.push('\n'),
            _ => {}
        }
        i += 1;
    }
    i
}

/// After the (nested) block comment at `i`; its line breaks go to `out`.
fn block_comment_end(chars: &[char], mut i: usize, out: &mut String) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '\n' {
            out.push('\n');
        }
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// The length of a char literal at `i` (`'a'`, `'\n'`, `'\''`, `'\u{..}'`), None for a
/// lifetime or label.
fn char_literal_len(chars: &[char], i: usize) -> Option<usize> {
    match chars.get(i + 1)? {
        '\\' => {
            let close = (i + 3..(i + 12).min(chars.len())).find(|&j| chars[j] == '\'')?;
            Some(close - i + 1)
        }
        _ => (chars.get(i + 2) == Some(&'\'')).then_some(3),
    }
}

#[cfg(test)]
mod tests {
    use super::code;

    #[test]
    fn comments_and_literal_contents_go_and_lines_stay() {
        let text = "let a = \"use x; {\"; /* use y;\n */ let b = '{';\nlet c = r#\"}\n\"#; // use z;\nfn f<'a>() {}";
        let c = code(text);
        assert_eq!(c.lines().count(), text.lines().count());
        assert!(!c.contains("use"), "{c}");
        assert_eq!(c.matches('{').count(), 1, "{c}");
        assert!(c.contains("fn f<'a>() {}"), "{c}");
    }
}
