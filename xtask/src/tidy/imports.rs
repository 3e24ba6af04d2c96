//! Mutual imports: no two files (modules) of a crate may use each other's items. A module
//! that needs another's items and is needed by it is one concept split in two, or two
//! concepts that need a third module for what they share.
//!
//! A module's file is `src/a.rs` or `src/a/mod.rs` (module `a`), `src/a/b.rs` (`a::b`).
//! What a module uses: the `crate::`, `super::` and `self::` paths of its `use`
//! declarations and its code, before a `#[cfg(test)]` module (tests use the crate as its
//! users do). A path to an item the crate root re-exports (`crate::Item` with
//! `pub use a::Item;` in lib.rs) is a use of module `a`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`a::b`, "" for the root) → the source text of its file.
pub type Modules = BTreeMap<String, String>;

/// The modules of the crate whose `src/` is `src`.
pub fn read_modules(src: &Path) -> Modules {
    let mut out = Modules::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap_or(&p);
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                out.insert(module_path(&rel.to_string_lossy()), text);
            }
        }
    }
    out
}

/// `a/b.rs` → `a::b`, `a/mod.rs` → `a`, `lib.rs` / `main.rs` → "".
pub fn module_path(rel: &str) -> String {
    let rel = rel.replace('\\', "/");
    let rel = rel.strip_suffix(".rs").unwrap_or(&rel);
    let rel = rel.strip_suffix("/mod").unwrap_or(rel);
    if rel == "lib" || rel == "main" {
        return String::new();
    }
    rel.replace('/', "::")
}

/// The code of a file before its test module (see [`super::source::code`]).
fn code(text: &str) -> String {
    let code = super::source::code(text);
    let mut out = String::new();
    let mut lines = code.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        let inline_module = |l: &&str| l.contains("mod ") && l.contains('{');
        if t.starts_with("#[cfg(test)]") && lines.peek().is_some_and(inline_module) {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every path a file names from `crate::`, `super::` or `self::`, made absolute (segments).
fn paths(module: &str, text: &str, modules: &Modules) -> Vec<Vec<String>> {
    let code = code(text);
    let child = |name: &str| {
        let full = if module.is_empty() {
            name.to_string()
        } else {
            format!("{module}::{name}")
        };
        modules.contains_key(&full)
    };
    let mut out = Vec::new();
    // `use` trees, flattened
    let mut rest = code.as_str();
    while let Some(pos) = find_use(rest) {
        let after = &rest[pos + 4..];
        let end = after.find(';').unwrap_or(after.len());
        for p in flatten(after[..end].trim()) {
            out.extend(absolute(module, &p, &child));
        }
        rest = &after[end..];
    }
    // inline paths: crate::a::b, super::x, child::x
    let children: Vec<String> = modules
        .keys()
        .filter_map(|m| {
            let name = if module.is_empty() {
                m.as_str()
            } else {
                m.strip_prefix(module)?.strip_prefix("::")?
            };
            (!name.is_empty() && !name.contains("::")).then(|| format!("{name}::"))
        })
        .collect();
    let starts = ["crate::".to_string(), "super::".to_string()];
    for start in starts.iter().chain(&children) {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            let ok = at == 0
                || !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
            let tail: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if ok {
                let segs: Vec<String> = tail
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                out.extend(absolute(module, &segs, &child));
            }
            from = at + start.len();
        }
    }
    out
}

fn find_use(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("use ") {
        let at = from + i;
        let before_ok = at == 0
            || s[..at].ends_with(|c: char| {
                c.is_whitespace() || c == ')' || c == ';' || c == '{' || c == '}'
            });
        if before_ok {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// `a::{b, c::{d, e}}` → [[a, b], [a, c, d], [a, c, e]].
fn flatten(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    flatten_into(&tree, &mut Vec::new(), &mut out);
    out
}

fn flatten_into(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Some(open) = tree.find('{') else {
        let mut p = prefix.clone();
        let tree = tree.split(" as ").next().unwrap_or(tree);
        p.extend(
            tree.split("::")
                .filter(|s| !s.is_empty())
                .map(|s| s.split("as").next().unwrap_or(s).to_string()),
        );
        out.push(p);
        return;
    };
    let head: Vec<String> = tree[..open]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let n = prefix.len();
    prefix.extend(head);
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                flatten_into(&inner[start..i], prefix, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < inner.len() {
        flatten_into(&inner[start..], prefix, out);
    }
    prefix.truncate(n);
}

/// A path as seen from `module`, from the crate root; None for paths outside the crate.
fn absolute(module: &str, path: &[String], child: &impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let mut base: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(String::from).collect()
    };
    let mut segs = path.iter().peekable();
    match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            base.clear();
            segs.next();
        }
        Some("super") => {
            while segs.peek().is_some_and(|s| *s == "super") {
                base.pop();
                segs.next();
            }
        }
        Some("self") => {
            segs.next();
        }
        Some(first) if child(first) => {}
        _ => return None,
    }
    base.extend(segs.cloned());
    Some(base)
}

/// Item name → module, for the root's `pub use a::b::Item;` / `pub use a::{X, Y};`.
fn reexports(modules: &Modules) -> BTreeMap<String, String> {
    let Some(root) = modules.get("") else {
        return BTreeMap::new();
    };
    paths("", root, modules)
        .into_iter()
        .filter_map(|p| {
            let (item, module) = p.split_last()?;
            Some((item.clone(), module.join("::")))
        })
        .collect()
}

/// The module a path points into: its longest prefix that is a module (a root
/// re-export stands for its module).
fn target(
    path: &[String],
    modules: &Modules,
    reexports: &BTreeMap<String, String>,
) -> Option<String> {
    for len in (1..=path.len()).rev() {
        let m = path[..len].join("::");
        if modules.contains_key(&m) {
            return Some(m);
        }
    }
    path.first().and_then(|first| reexports.get(first).cloned())
}

/// Module → the other modules it uses.
pub fn graph(modules: &Modules) -> BTreeMap<String, BTreeSet<String>> {
    let re = reexports(modules);
    let mut out = BTreeMap::new();
    for (m, text) in modules {
        if m.is_empty() {
            continue;
        }
        let used: BTreeSet<String> = paths(m, text, modules)
            .iter()
            .filter_map(|p| target(p, modules, &re))
            .filter(|t| t != m && !t.is_empty())
            .collect();
        out.insert(m.clone(), used);
    }
    out
}

/// `crate: a and b use each other` for every mutual pair.
pub fn check(krate: &str, modules: &Modules) -> Vec<String> {
    let g = graph(modules);
    let mut out = Vec::new();
    for (a, uses) in &g {
        for b in uses {
            if a < b && g.get(b).is_some_and(|u| u.contains(a)) {
                out.push(format!("{krate}: modules `{a}` and `{b}` use each other; move what they share to a module of its own"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(files: &[(&str, &str)]) -> Modules {
        files
            .iter()
            .map(|(p, t)| (module_path(p), t.to_string()))
            .collect()
    }

    #[test]
    fn use_trees_and_relative_paths_resolve() {
        assert_eq!(module_path("a/mod.rs"), "a");
        assert_eq!(module_path("a/b.rs"), "a::b");
        assert_eq!(module_path("lib.rs"), "");
        let f = flatten("crate::{a::X, b::{c::Y, Z as W}}");
        assert_eq!(f.len(), 3);
        assert_eq!(f[1], ["crate", "b", "c", "Y"]);
        assert_eq!(f[2], ["crate", "b", "Z"]);
        let p = absolute("a::b", &["super".into(), "c".into(), "D".into()], &|_| {
            false
        });
        assert_eq!(p, Some(vec!["a".to_string(), "c".into(), "D".into()]));
    }

    #[test]
    fn mutual_use_is_flagged_and_one_way_use_is_not() {
        let m = modules(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\npub use a::Thing;\n"),
            ("a.rs", "use crate::b::helper;\npub struct Thing;\n"),
            ("b.rs", "pub fn helper() {}\nfn f(_: crate::Thing) {}\n"),
            ("c.rs", "#[cfg(test)]\nmod tests_elsewhere;\nuse super::a::Thing;\n#[cfg(test)]\nmod tests {\n    use crate::b::helper;\n}\n"),
        ]);
        let g = graph(&m);
        assert!(g["a"].contains("b") && g["b"].contains("a"), "{g:?}");
        assert_eq!(
            g["c"].iter().collect::<Vec<_>>(),
            ["a"],
            "tests do not count"
        );
        let v = check("k", &m);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("`a` and `b`"));
    }

    #[test]
    fn a_child_and_its_parent_count_as_two_files() {
        let m = modules(&[
            ("lib.rs", "mod p;\n"),
            ("p/mod.rs", "mod q;\nuse q::Inner;\npub struct Outer;\n"),
            ("p/q.rs", "use super::Outer;\npub struct Inner;\n"),
        ]);
        let v = check("k", &m);
        assert_eq!(v.len(), 1, "{v:?}");
    }
}
