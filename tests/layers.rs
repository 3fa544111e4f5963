//! The import graph of `src/` against the layer table below: a module may
//! use modules of its own layer or below, never above, and the graph has
//! no cycle — between the top-level modules, and between the sibling files
//! of one module (a directory's `mod.rs` is the module itself: it declares
//! and drives its children, which use its types, so parent and child are
//! one node).
//!
//! How: every `use` (braces expanded) and every `crate::…`, `super::…`,
//! `self::…` or child-module path outside comments and `#[cfg(test)]`
//! code is resolved to the longest module path that exists. Crude, but it
//! sees what the compiler sees for this code base, and it cannot rot: a
//! new module missing from the table fails here. docs/design.md describes
//! the same layers in words.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top to bottom. Within a layer, imports may go either way (the cycle
/// check keeps them honest).
const LAYERS: &[&[&str]] = &[
    // argv -> command; clap types stop here.
    &["main", "lib", "cli", "generate"],
    // The faces: text, JSON and exit statuses.
    &["output"],
    // Enable, disable, query, list: data only.
    &["registry"],
    // The planner and its engines; doctor's checks.
    &["service", "doctor"],
    &["settings", "safety", "discovery", "process", "lock"],
    &["config", "layout"],
    &["name"],
    &["error"],
    &["display", "exit", "stdio"],
];

/// Macros exported at the crate root, and the module they live in.
const MACROS: &[(&str, &str)] = &[("outln", "stdio"), ("out", "stdio")];

type Module = Vec<String>;

fn layer_of(top: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&top))
        .unwrap_or_else(|| panic!("module `{top}` is not in the layer table of tests/layers.rs"))
}

fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().map_or(true, |e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] {
                parts.clear();
            }
            found.insert(parts, path);
        }
    }
    found
}

/// The code of a file without comments, string contents and test code.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            // A char literal ('"', '\'') is skipped whole; a lifetime
            // ('a) is kept.
            '\'' => {
                let mut ahead = chars.clone();
                match (ahead.next(), ahead.next()) {
                    (Some('\\'), _) => {
                        chars.next();
                        chars.next();
                        for c in chars.by_ref() {
                            if c == '\'' {
                                break;
                            }
                        }
                    }
                    (Some(_), Some('\'')) => {
                        chars.next();
                        chars.next();
                    }
                    _ => out.push(c),
                }
            }
            '"' => {
                // A path in a message ("crate::x" in prose) is no import.
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// `a::{b, c::{d, e}}` -> `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|i| !i.is_empty())
        .flat_map(|i| expand(&format!("{prefix}{i}")))
        .collect()
}

/// `a::{b as c, d}` -> `a::{b, d}`: the name a path is known by here
/// does not change where it comes from.
fn without_renames(tree: &str) -> String {
    let mut out = String::new();
    let mut rest = tree;
    while let Some(at) = rest.find(" as ") {
        out.push_str(&rest[..at]);
        rest = rest[at + 4..].trim_start_matches(is_ident);
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path the code names: `use` trees, and `crate::`/`super::`/
/// `self::`/`child::` paths in expressions.
fn paths_in(code: &str, children: &BTreeSet<String>) -> Vec<String> {
    let mut paths = Vec::new();
    let squeezed: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut rest = squeezed.as_str();
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(is_ident) {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        let tree: String = without_renames(&rest[..end])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        paths.extend(expand(&tree));
    }
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if is_ident(bytes[i]) && (i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == ':')) {
            let mut j = i;
            while j < bytes.len() && (is_ident(bytes[j]) || bytes[j] == ':') {
                j += 1;
            }
            let word: String = bytes[i..j].iter().collect();
            let first = word.split("::").next().unwrap_or("");
            // `a::{…}`: a use tree, read above.
            if word.contains("::")
                && !word.ends_with("::")
                && (["crate", "super", "self"].contains(&first) || children.contains(first))
            {
                paths.push(word);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    paths
}

/// The module a path names, from inside `from`.
fn resolve(path: &str, from: &Module, all: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Module = match segs.first().copied() {
        Some("crate") => {
            segs.remove(0);
            Vec::new()
        }
        Some("super") => {
            let mut b = from.clone();
            while segs.first() == Some(&"super") {
                segs.remove(0);
                b.pop();
            }
            b
        }
        Some("self") => {
            segs.remove(0);
            from.clone()
        }
        _ => from.clone(),
    };
    if base.is_empty() {
        if let Some((_, home)) = MACROS.iter().find(|(m, _)| segs.first() == Some(m)) {
            return Some(vec![home.to_string()]);
        }
    }
    let mut best = None;
    for seg in segs {
        base.push(seg.trim_end_matches('!').to_owned());
        if all.contains_key(&base) {
            best = Some(base.clone());
        }
    }
    best
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// Every edge of the crate, module to module.
fn edges(src: &Path) -> BTreeSet<(Module, Module)> {
    let all = modules(src);
    let mut edges = BTreeSet::new();
    for (module, file) in &all {
        let children: BTreeSet<String> = all
            .keys()
            .filter(|k| k.len() == module.len() + 1 && k.starts_with(module))
            .map(|k| k[module.len()].clone())
            .collect();
        let code = code_of(&fs::read_to_string(file).unwrap());
        for path in paths_in(&code, &children) {
            if let Some(to) = resolve(&path, module, &all) {
                if &to != module {
                    edges.insert((module.clone(), to));
                }
            }
        }
    }
    edges
}

fn top(m: &Module) -> String {
    m.first().cloned().unwrap_or_else(|| "lib".into())
}

#[test]
fn imports_go_down_the_layers_and_never_round() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges(&src);
    assert!(
        edges.len() > 100,
        "the parser found too few imports: {edges:?}"
    );

    let mut upward = Vec::new();
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut siblings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in &edges {
        let (a, b) = (top(from), top(to));
        if a != b {
            if layer_of(&a) > layer_of(&b) {
                upward.push(format!("{} -> {}", from.join("::"), to.join("::")));
            }
            tops.entry(a).or_default().insert(b);
        } else if from.len() >= 2 && to.len() >= 2 && from[1] != to[1] {
            siblings
                .entry(format!("{a}::{}", from[1]))
                .or_default()
                .insert(format!("{a}::{}", to[1]));
        }
    }
    // Every module is in the table, even one that imports nothing.
    for m in modules(&src).keys() {
        layer_of(&top(m));
    }
    assert!(
        upward.is_empty(),
        "imports from a lower layer to a higher one:\n{}",
        upward.join("\n")
    );
    if let Some(cycle) = find_cycle(&tops) {
        panic!("import cycle between modules: {}", cycle.join(" -> "));
    }
    if let Some(cycle) = find_cycle(&siblings) {
        panic!("import cycle between sibling files: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_checker_sees_imports_and_cycles() {
    let children: BTreeSet<String> = ["engine".to_owned()].into();
    let code = code_of(
        "use crate::a::{b, c::{d, e as f}};\n// use crate::comment;\nfn x<'a>() { \
         engine::run(); let s = \"crate::quoted\"; let q = '\"'; super::y(); }\n\
         #[cfg(test)]\nuse crate::t;",
    );
    let paths = paths_in(&code, &children);
    assert_eq!(
        paths,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "engine::run",
            "super::y"
        ]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), ["b".to_owned()].into()),
        ("b".to_owned(), ["a".to_owned()].into()),
    ]
    .into();
    assert!(find_cycle(&graph).is_some());
}
