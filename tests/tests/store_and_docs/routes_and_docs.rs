//! template.yaml, the route table (which `admit serve` mounts) and docs/api.md list the same
//! routes; docs/errors.md is the error registry.

use admit_shared::http::routes::ROUTES;
use std::collections::BTreeSet;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// (method, path, function logical id) of every HttpApi event in template.yaml.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let mut out = BTreeSet::new();
    let mut resource = String::new();
    let mut in_http_event = false;
    let mut method = None;
    let mut path = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 2 && t.ends_with(':') {
            resource = t.trim_end_matches(':').to_string();
        }
        if t == "Type: HttpApi" {
            in_http_event = true;
            method = None;
            path = None;
        }
        if in_http_event {
            if let Some(m) = t.strip_prefix("Method: ") {
                method = Some(m.to_string());
            }
            if let Some(p) = t.strip_prefix("Path: ") {
                path = Some(p.to_string());
            }
            if let (Some(m), Some(p)) = (&method, &path) {
                out.insert((m.clone(), p.clone(), resource.clone()));
                in_http_event = false;
            }
        }
    }
    out
}

#[test]
fn template_and_route_table_agree() {
    let table: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_string(),
                r.logical_id.to_string(),
            )
        })
        .collect();
    assert_eq!(template_routes(), table);
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for r in ROUTES {
        assert!(
            text.contains(&format!("Binary: {}", r.function)),
            "{} builds binary {}",
            r.logical_id,
            r.function
        );
        assert!(
            root()
                .join("functions")
                .join(r.function)
                .join("Cargo.toml")
                .exists(),
            "functions/{} exists",
            r.function
        );
    }
}

#[test]
fn api_reference_lists_every_route() {
    let doc = std::fs::read_to_string(root().join("docs/api.md")).unwrap();
    let routes_section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Routes"))
        .expect("a Routes section");
    let documented: BTreeSet<(String, String)> = routes_section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let (method, rest) = l.split_once(' ')?;
            let path = rest.split('`').next()?;
            Some((method.to_string(), path.to_string()))
        })
        .collect();
    let table: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, table, "the route table in docs/api.md");
}
