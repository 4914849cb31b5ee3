//! The layering of admit-shared, kept by the repo: every module of `shared/src` may use only
//! modules of its own layer or a lower one (`http -> usecases -> app -> records -> ports ->
//! domain`, with `config` and `telemetry` beside `domain`), and no modules use each other in a
//! circle. docs/architecture.md describes the same order.
//!
//! The test reads the source: every `crate::`, `super::` and child-module path outside the
//! unit tests (which come last in a file, as clippy's `items_after_test_module` keeps them),
//! resolved to the file that holds the module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src")
}

/// Module path (`["records", "activity", "site"]`) -> file, for every file of shared/src.
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                let mut p = prefix.to_vec();
                p.push(name);
                walk(&path, &p, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut p = prefix.to_vec();
                if name != "mod" && name != "lib" {
                    p.push(name);
                }
                out.insert(p, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &[], &mut out);
    out
}

/// A module's layer: higher layers may use lower ones, never the other way.
fn layer(module: &[String]) -> u8 {
    match module.first().map(String::as_str) {
        None => 7, // lib.rs: declares and re-exports everything
        Some("http") => 6,
        Some("usecases") => 5,
        Some("app") => 4,
        Some("records") => 3,
        Some("ports") => 2,
        Some("domain" | "config" | "telemetry") => 1,
        Some(other) => panic!("shared/src/{other} has no layer: add it to this test and the docs"),
    }
}

/// The code of a file without comments, string literals and its unit tests.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::new();
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every path a piece of code names: `use` trees expanded (`a::{b, c::d}`), and inline paths.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let tokens: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < tokens.len() {
        let starts_word = i == 0 || !(tokens[i - 1].is_alphanumeric() || tokens[i - 1] == '_');
        let rest: String = tokens[i..tokens.len().min(i + 4)].iter().collect();
        if starts_word && rest == "use " {
            let end = (i..tokens.len())
                .find(|&j| tokens[j] == ';')
                .unwrap_or(tokens.len());
            let tree: String = tokens[i + 4..end].iter().collect();
            expand(&tree, &[], &mut out);
            i = end;
            continue;
        }
        if starts_word && (tokens[i].is_alphabetic() || tokens[i] == '_') {
            // An inline path: words joined by `::`.
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let s = j;
                while j < tokens.len() && (tokens[j].is_alphanumeric() || tokens[j] == '_') {
                    j += 1;
                }
                segs.push(tokens[s..j].iter().collect::<String>());
                if j + 2 < tokens.len() && tokens[j] == ':' && tokens[j + 1] == ':' {
                    j += 2;
                    if !(tokens[j].is_alphabetic() || tokens[j] == '_') {
                        break;
                    }
                } else {
                    break;
                }
            }
            if segs.len() > 1 {
                out.push(segs);
            }
            i = j.max(i + 1);
            continue;
        }
        i += 1;
    }
    out
}

/// Expands one `use` tree under `prefix`.
fn expand(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let mut p = prefix.to_vec();
        p.extend(head);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut start = 0;
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..k], &p, out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &p, out);
        return;
    }
    let tree = tree.split(" as ").next().unwrap_or_default();
    let mut p = prefix.to_vec();
    p.extend(
        tree.split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "self" && *s != "*")
            .map(String::from),
    );
    if !p.is_empty() {
        out.push(p);
    }
}

/// The module a path names from `module` (`None` for an outside crate or an item of itself).
fn resolve(
    module: &[String],
    is_dir_module: bool,
    path: &[String],
    all: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let base: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => {
            let rest = &path[1..];
            // The crate root re-exports `App` and `PortSet` from `app`.
            if matches!(rest.first().map(String::as_str), Some("App" | "PortSet")) {
                return Some(vec!["app".into()]);
            }
            rest.to_vec()
        }
        Some("super") => {
            let mut m = module.to_vec();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                // A file module's `super` is its parent; so is a folder module's.
                m.pop();
                rest = &rest[1..];
            }
            let _ = is_dir_module;
            m.extend(rest.iter().cloned());
            m
        }
        Some(first) => {
            // A child module named without `self::` (edition 2018 paths).
            let mut m = module.to_vec();
            m.push(first.to_string());
            if !all.contains_key(&m) {
                return None;
            }
            m.extend(path[1..].iter().cloned());
            m
        }
        None => return None,
    };
    (1..=base.len())
        .rev()
        .map(|n| base[..n].to_vec())
        .find(|m| all.contains_key(m))
}

/// module -> the modules it uses.
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let all = modules();
    let mut g = BTreeMap::new();
    for (module, file) in &all {
        let text = std::fs::read_to_string(file).unwrap();
        let is_dir = file.file_name().is_some_and(|n| n == "mod.rs");
        let mut uses = BTreeSet::new();
        for p in paths(&code(&text)) {
            if let Some(target) = resolve(module, is_dir, &p, &all) {
                // A module may use its own children and items; that is no edge.
                if target != *module && !target.starts_with(module) {
                    uses.insert(target);
                }
            }
        }
        g.insert(module.clone(), uses);
    }
    g
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

#[test]
fn every_module_uses_only_its_layer_and_lower_ones() {
    let mut wrong = Vec::new();
    for (module, uses) in graph() {
        for target in uses {
            if !module.is_empty() && layer(&target) > layer(&module) {
                wrong.push(format!("{} uses {}", name(&module), name(&target)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against http -> usecases -> app -> records -> ports -> domain:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn no_modules_use_each_other_in_a_circle() {
    let g = graph();
    // Each module's reach; a module that reaches itself is in a circle.
    let mut circles = BTreeSet::new();
    for start in g.keys().filter(|m| !m.is_empty()) {
        let mut stack: Vec<(Vec<String>, Vec<Vec<String>>)> = vec![(start.clone(), vec![])];
        let mut seen = BTreeSet::new();
        while let Some((m, trail)) = stack.pop() {
            for next in g.get(&m).into_iter().flatten() {
                let mut t = trail.clone();
                t.push(next.clone());
                if next == start {
                    let mut cycle: Vec<String> = std::iter::once(start)
                        .chain(t.iter())
                        .map(|m| name(m))
                        .collect();
                    // One spelling per circle: start at its smallest module.
                    cycle.pop();
                    let k = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
                    cycle.rotate_left(k);
                    circles.insert(cycle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    stack.push((next.clone(), t));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules that use each other in a circle:\n  {}",
        circles.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn the_reader_sees_what_the_code_names() {
    let p = paths(&code(
        "use crate::records::{self, activity::site, user as u};\nfn f() { crate::domain::time::format(x); }\n// crate::http::x\nlet s = \"crate::http::y\";",
    ));
    assert!(p.contains(&vec!["crate".into(), "records".into()]));
    assert!(p.contains(&vec![
        "crate".into(),
        "records".into(),
        "activity".into(),
        "site".into()
    ]));
    assert!(p.contains(&vec!["crate".into(), "records".into(), "user".into()]));
    assert!(p.contains(&vec![
        "crate".into(),
        "domain".into(),
        "time".into(),
        "format".into()
    ]));
    assert!(!p.iter().any(|p| p.contains(&"http".to_string())), "{p:?}");
    // And the graph holds edges the source is known to have.
    let g = graph();
    let m = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    assert!(g[&m("usecases::login")].contains(&m("records::user")));
    assert!(g[&m("http::auth")].contains(&m("usecases::sessions")));
    assert!(!g[&m("records::activity::site")].contains(&m("records::activity")));
}

/// The outside crates of the edge: only `http` (and the functions crate above it) may name
/// them.
const HTTP_CRATES: [&str; 6] = [
    "lambda_http",
    "lambda_runtime",
    "http",
    "hyper",
    "hyper_util",
    "http_body_util",
];

/// The cloud's crates: only the ports' adapters and the wiring that builds them (`app`) may
/// name them.
fn is_aws_crate(first: &str) -> bool {
    first.starts_with("aws_")
}

#[test]
fn no_http_or_aws_crate_below_the_edge_and_the_ports() {
    let mut wrong = Vec::new();
    for (module, file) in modules() {
        let text = std::fs::read_to_string(&file).unwrap();
        let top = module.first().map(String::as_str);
        for p in paths(&code(&text)) {
            let Some(first) = p.first().map(String::as_str) else {
                continue;
            };
            let http_ok = top == Some("http") || module.is_empty();
            let aws_ok = matches!(top, Some("ports" | "app")) || module.is_empty();
            if (HTTP_CRATES.contains(&first) && !http_ok) || (is_aws_crate(first) && !aws_ok) {
                wrong.push(format!("{} names {}", name(&module), p.join("::")));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "HTTP crates belong to shared/src/http, AWS crates to the ports and app:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn the_outside_crate_rule_sees_a_use_of_one() {
    let code = code("use lambda_http::Request;\nfn f() { aws_sdk_dynamodb::Client::new(); }\n");
    let firsts: Vec<String> = paths(&code).into_iter().map(|p| p[0].clone()).collect();
    assert!(firsts.contains(&"lambda_http".to_string()), "{firsts:?}");
    assert!(firsts.iter().any(|f| is_aws_crate(f)), "{firsts:?}");
}
