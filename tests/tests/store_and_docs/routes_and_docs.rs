//! template.yaml, the endpoint table (which `admit serve` mounts) and docs/api.md list the same
//! routes, and every row has its handler and its binary. The generated parts are compared
//! verbatim by the functions crate's own tests; these read the whole files, so a route added by
//! hand outside them fails too.

use admit_functions::ENDPOINTS;
use std::collections::BTreeSet;

pub(crate) fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// (method, path, function logical id) of every HttpApi event in template.yaml.
pub(crate) fn template_routes() -> BTreeSet<(String, String, String)> {
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
    let table: BTreeSet<_> = ENDPOINTS
        .iter()
        .flat_map(|e| {
            e.routes.iter().map(|r| {
                (
                    r.method.to_string(),
                    r.path.to_string(),
                    e.logical_id.to_string(),
                )
            })
        })
        .collect();
    assert_eq!(template_routes(), table);
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    for e in ENDPOINTS {
        assert!(
            makefile.contains(&format!(
                "build-{}:\n\t@scripts/sam-artifact {} ",
                e.logical_id, e.name
            )),
            "sam build makes {} from binary {}",
            e.logical_id,
            e.name
        );
        let functions = root().join("functions").join("src");
        let bin = std::fs::read_to_string(functions.join(format!("bin/{}.rs", e.name)))
            .unwrap_or_default();
        assert_eq!(
            bin.trim(),
            format!("admit_functions::main!({});", e.name),
            "functions/src/bin/{}.rs runs its own function",
            e.name
        );
        assert!(
            functions.join(format!("handlers/{}.rs", e.name)).exists(),
            "functions/src/handlers/{}.rs exists",
            e.name
        );
    }
    // Every binary is a row (Cargo builds each file of src/bin as one).
    let bins = std::fs::read_dir(root().join("functions/src/bin")).unwrap();
    for b in bins {
        let name = b.unwrap().file_name().to_string_lossy().replace(".rs", "");
        assert!(
            ENDPOINTS.iter().any(|e| e.name == name),
            "functions/src/bin/{name}.rs has no row in the endpoint table"
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
    let table: BTreeSet<_> = ENDPOINTS
        .iter()
        .flat_map(|e| e.routes)
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, table, "the route table in docs/api.md");
}
