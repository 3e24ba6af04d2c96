//! `cargo xtask tidy`: the architecture's invariants, checked.
//!
//! - The layering of docs/ARCHITECTURE.md: formula <- design <- crossprod <- model <-
//!   inference; covariance <- design, crossprod, model; optim <- model (never crossprod:
//!   the data side knows nothing of θ's optimization); model <- glmm (a layer on the engine's
//!   PWLS interface, never the other way); model <- diagnostics (which may also use the
//!   layers below model); the layers <- facade <- cli. The formula crate knows
//!   nothing of Arrow or faer; design knows Arrow but not faer. Only normal and build
//!   dependencies count (tests may use anything). Manifests are read line by line, which
//!   suffices for this workspace's plain `name.workspace = true` / `name = {...}` entries.
//! - Every crate opens with a `//!` paragraph, and ARCHITECTURE.md names every crate.
//! - No measurement (a number with a unit of time, memory or page faults) in a source
//!   comment ([`comments`]).
//! - In the engine and GLMM crates: no function over [`functions::MAX_LINES`] lines, and
//!   no two modules that use each other ([`imports`]).

mod comments;
mod functions;
mod imports;
mod source;

use std::path::{Path, PathBuf};

/// The crates whose functions are kept short and whose modules form no mutual uses.
const SHAPED: &[&str] = &["mixedlm-crossprod", "mixedlm-model", "mixedlm-glmm"];

/// What one crate may depend on.
struct Rule {
    krate: &'static str,
    internal: &'static [&'static str],
    forbidden: &'static [&'static str],
}

const LAYERS: &[&str] = &[
    "mixedlm-formula",
    "mixedlm-design",
    "mixedlm-covariance",
    "mixedlm-optim",
    "mixedlm-crossprod",
    "mixedlm-model",
    "mixedlm-glmm",
    "mixedlm-inference",
    "mixedlm-diagnostics",
];

const RULES: &[Rule] = &[
    Rule {
        krate: "mixedlm-formula",
        internal: &[],
        forbidden: &["arrow", "parquet", "faer", "polars"],
    },
    Rule {
        krate: "mixedlm-design",
        internal: &["mixedlm-formula", "mixedlm-covariance"],
        forbidden: &["faer"],
    },
    Rule {
        krate: "mixedlm-covariance",
        internal: &[],
        forbidden: &["arrow", "parquet"],
    },
    Rule {
        krate: "mixedlm-optim",
        internal: &[],
        forbidden: &["arrow", "parquet"],
    },
    Rule {
        krate: "mixedlm-crossprod",
        internal: &["mixedlm-design", "mixedlm-covariance"],
        forbidden: &["mixedlm-optim", "arrow", "parquet"],
    },
    Rule {
        krate: "mixedlm-model",
        internal: &[
            "mixedlm-crossprod",
            "mixedlm-design",
            "mixedlm-covariance",
            "mixedlm-optim",
        ],
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm-glmm",
        internal: &[
            "mixedlm-model",
            "mixedlm-design",
            "mixedlm-covariance",
            "mixedlm-optim",
        ],
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm-inference",
        internal: &[
            "mixedlm-model",
            "mixedlm-design",
            "mixedlm-covariance",
            "mixedlm-optim",
        ],
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm-diagnostics",
        internal: &[
            "mixedlm-model",
            "mixedlm-design",
            "mixedlm-covariance",
            "mixedlm-optim",
            "mixedlm-formula",
        ],
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm",
        internal: LAYERS,
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm-cli",
        internal: &["mixedlm"],
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm-python",
        internal: &["mixedlm"],
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm-tests",
        internal: &["mixedlm"],
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm-fixtures",
        internal: &["mixedlm-formula", "mixedlm-design"],
        forbidden: &[],
    },
    Rule {
        krate: "mixedlm-benches",
        internal: &["mixedlm"],
        forbidden: &[],
    },
    Rule {
        krate: "xtask",
        internal: &[],
        forbidden: &[],
    },
];

/// Runs the checks and prints the violations.
pub fn run() -> Result<(), String> {
    let v = check(&crate::root());
    if v.is_empty() {
        println!("tidy: ok");
        return Ok(());
    }
    for line in &v {
        eprintln!("tidy: {line}");
    }
    Err(format!("{} violation(s)", v.len()))
}

/// A workspace member: its directory, package name and manifest text.
struct Member {
    dir: String,
    name: String,
    manifest: String,
}

/// All violations in the workspace at `root`.
pub fn check(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let root_manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let members: Vec<Member> = workspace_members(&root_manifest)
        .into_iter()
        .map(|dir| {
            let manifest =
                std::fs::read_to_string(root.join(&dir).join("Cargo.toml")).unwrap_or_default();
            Member {
                name: package_name(&manifest).unwrap_or_else(|| dir.clone()),
                dir,
                manifest,
            }
        })
        .collect();
    let internal: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    for m in &members {
        out.extend(check_deps(&m.name, &dependencies(&m.manifest), &internal));
        out.extend(check_docs(root, m));
        if SHAPED.contains(&m.name.as_str()) {
            out.extend(check_shape(root, m));
        }
    }
    out.extend(check_architecture_doc(root, &members));
    for dir in members.iter().map(|m| m.dir.as_str()).chain(["xtask"]) {
        for file in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let rel = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            out.extend(comments::check_file(&rel, &text));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The `.rs` files under `dir` (recursively; `target` and `peers` skipped).
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            if p.is_dir() && name != "target" && name != "peers" {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Function lengths and mutual module uses in `src/` of a crate.
fn check_shape(root: &Path, m: &Member) -> Vec<String> {
    let src = root.join(&m.dir).join("src");
    let mut out = Vec::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        out.extend(functions::check_file(&rel, &text));
    }
    out.extend(imports::check(&m.name, &imports::read_modules(&src)));
    out
}

fn check_deps(name: &str, deps: &[String], internal: &[&str]) -> Vec<String> {
    let Some(rule) = RULES.iter().find(|r| r.krate == name) else {
        return vec![format!(
            "{name}: no layering rule; add one to xtask/src/tidy.rs and docs/ARCHITECTURE.md"
        )];
    };
    let mut out = Vec::new();
    for d in deps {
        if internal.contains(&d.as_str()) && !rule.internal.contains(&d.as_str()) {
            out.push(format!(
                "{name} must not depend on {d} (allowed internal: {:?})",
                rule.internal
            ));
        }
        if let Some(f) = rule
            .forbidden
            .iter()
            .find(|f| d == *f || d.starts_with(&format!("{f}-")))
        {
            out.push(format!(
                "{name} must not depend on {d} (no {f} in this layer)"
            ));
        }
    }
    out
}

fn check_docs(root: &Path, m: &Member) -> Vec<String> {
    let src = root.join(&m.dir).join("src");
    let file = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .find(|p| p.is_file());
    let Some(file) = file else {
        return vec![format!("{}: no src/lib.rs or src/main.rs", m.name)];
    };
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    if opening_doc(&text).len() < 60 {
        vec![format!(
            "{}: {} must open with a //! paragraph saying what the crate owns and may depend on",
            m.name,
            file.strip_prefix(root).unwrap_or(&file).display()
        )]
    } else {
        Vec::new()
    }
}

fn check_architecture_doc(root: &Path, members: &[Member]) -> Vec<String> {
    let Ok(doc) = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")) else {
        return vec![
            "docs/ARCHITECTURE.md is missing: write the bird's-eye view, code map and invariants"
                .into(),
        ];
    };
    members
        .iter()
        .filter(|m| m.dir.starts_with("crates/") && !doc.contains(&m.name))
        .map(|m| format!("docs/ARCHITECTURE.md does not describe crate {}", m.name))
        .collect()
}

/// The text of the opening `//!` block of a source file.
fn opening_doc(text: &str) -> String {
    text.lines()
        .map(str::trim_start)
        .skip_while(|l| l.is_empty())
        .take_while(|l| l.starts_with("//!"))
        .map(|l| l.trim_start_matches("//!").trim())
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

/// The `members = [...]` entries of the root manifest.
fn workspace_members(root_manifest: &str) -> Vec<String> {
    let Some(start) = root_manifest.find("members") else {
        return Vec::new();
    };
    let rest = &root_manifest[start..];
    let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else {
        return Vec::new();
    };
    rest[open + 1..close]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && line.starts_with("name") {
            return line
                .split_once('=')
                .map(|(_, v)| v.trim().trim_matches('"').to_string());
        }
    }
    None
}

fn is_dep_section(header: &str) -> bool {
    let h = header.trim_matches(|c| c == '[' || c == ']');
    let last = h.rsplit('.').next().unwrap_or(h);
    let base = if h.starts_with("target.") {
        last
    } else {
        h.split('.').next().unwrap_or(h)
    };
    base == "dependencies" || base == "build-dependencies"
}

/// Normal and build dependencies (package names, renames resolved).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = is_dep_section(line);
            let h = line.trim_matches(|c| c == '[' || c == ']');
            if let Some(name) = h
                .strip_prefix("dependencies.")
                .or_else(|| h.strip_prefix("build-dependencies."))
            {
                out.push(name.trim_matches('"').to_string());
                in_deps = false; // the table's lines are the dependency's keys
            }
            continue;
        }
        if !in_deps || line.starts_with('#') || line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key
            .trim()
            .split('.')
            .next()
            .unwrap_or("")
            .trim_matches('"')
            .to_string();
        out.push(renamed(value).unwrap_or(key));
    }
    out
}

fn renamed(value: &str) -> Option<String> {
    let i = value.find("package")?;
    let rest = value[i + "package".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMULA_WITH_ARROW: &str = "[package]\nname = \"mixedlm-formula\"\n\n[dependencies]\n\
        pest.workspace = true\narrow-array = \"60\"\n\n[dev-dependencies]\nfaer.workspace = true\n";

    #[test]
    fn formula_depending_on_arrow_is_flagged_but_dev_deps_are_not() {
        let deps = dependencies(FORMULA_WITH_ARROW);
        assert_eq!(deps, vec!["pest", "arrow-array"]);
        let v = check_deps(
            "mixedlm-formula",
            &deps,
            &["mixedlm-formula", "mixedlm-design"],
        );
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("arrow-array"));
    }

    #[test]
    fn upward_internal_edge_is_flagged() {
        let v = check_deps(
            "mixedlm-design",
            &["mixedlm-model".into()],
            &["mixedlm-model", "mixedlm-design"],
        );
        assert_eq!(v.len(), 1);
        let ok = check_deps(
            "mixedlm-cli",
            &["mixedlm".into(), "clap".into()],
            &["mixedlm", "mixedlm-cli"],
        );
        assert!(ok.is_empty());
    }

    #[test]
    fn renamed_and_table_dependencies_are_read() {
        let m = "[dependencies]\nf = { package = \"faer\", version = \"0.24\" }\n[dependencies.arrow-csv]\nversion = \"60\"\n\
                 [target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n";
        assert_eq!(dependencies(m), vec!["faer", "arrow-csv", "libc"]);
    }

    #[test]
    fn placeholder_docs_are_too_short() {
        assert!(opening_doc("//! placeholder\nfn x() {}").len() < 60);
        let good = "//! The formula crate: parses lme4 formulas into typed terms.\n//! Depends on nothing internal.\n";
        assert!(opening_doc(good).len() >= 60);
        assert!(opening_doc(
            "use x;\n//! late docs that do not open the file at all, however long"
        )
        .is_empty());
    }

    /// The real workspace: every edge follows the layering and every crate is documented.
    #[test]
    fn workspace_follows_the_architecture() {
        let v = check(&crate::root());
        assert!(
            v.is_empty(),
            "cargo xtask tidy violations:\n{}",
            v.join("\n")
        );
    }
}
