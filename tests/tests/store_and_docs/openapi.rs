//! docs/openapi.yaml is what the code makes (`admit_tests::openapi::document`), lists the
//! routes template.yaml and the endpoint table (which `admit serve` mounts) list, and every
//! vendor example it carries fits its request schema.

use crate::routes_and_docs::{root, template_routes};
use admit_functions::ENDPOINTS;
use admit_tests::openapi::{document, to_yaml, validate};
use serde_json::Value;
use std::collections::BTreeSet;

#[test]
fn docs_openapi_yaml_is_what_the_code_makes() {
    let path = root().join("docs/openapi.yaml");
    let want = to_yaml(&document());
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have == want {
        return;
    }
    if std::env::var("ADMIT_GENERATE").as_deref() == Ok("1") {
        std::fs::write(&path, want).unwrap();
        return;
    }
    panic!("docs/openapi.yaml is not what the code makes: run scripts/generate");
}

/// (method, path) of every operation in the document.
fn document_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method != "parameters" {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn the_document_the_template_and_the_table_list_the_same_routes() {
    let doc = document();
    let table: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .flat_map(|e| e.routes)
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let template: BTreeSet<(String, String)> = template_routes()
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    assert_eq!(document_routes(&doc), table);
    assert_eq!(template, table);
    // admit serve routes by the table: every route of the document finds its endpoint.
    for (method, path) in document_routes(&doc) {
        let concrete = path.replace('{', "x").replace('}', "");
        assert!(
            admit_functions::find(&method, &concrete).is_ok(),
            "{method} {path}"
        );
    }
}

#[test]
fn every_operation_documents_its_answer_and_the_body_it_takes() {
    let doc = document();
    for item in doc["paths"].as_object().unwrap().values() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let id = op["operationId"].as_str().unwrap();
            let ok = &op["responses"]["200"]["content"];
            let schema = ok
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| &c["schema"]);
            // A page's form answers 303 to its result page (post/redirect/get).
            let redirect = op["responses"]["303"]["headers"]["Location"].is_object();
            assert!(
                redirect || schema.is_some_and(|s| s.as_object().is_some_and(|o| !o.is_empty())),
                "{id}: no answer schema"
            );
            assert!(
                !(redirect && op["responses"]["200"].is_object()),
                "{id}: a form that redirects answers no 200"
            );
            if ["put", "delete"].contains(&method.as_str()) || id.ends_with("_post") {
                continue;
            }
            // A POST that takes a body documents it (the accept page's form among them).
            if method == "post" && !["logout_user"].contains(&id) {
                assert!(op["requestBody"].is_object(), "{id}: no request body");
            }
        }
    }
}

#[test]
fn every_vendor_example_fits_its_request_schema() {
    let doc = document();
    let mut seen = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for media in content.values() {
                for (name, ex) in media["examples"].as_object().into_iter().flatten() {
                    let id = op["operationId"].as_str().unwrap();
                    validate(
                        &doc,
                        &media["schema"],
                        &ex["value"],
                        &format!("{id} {name}"),
                    )
                    .unwrap();
                    seen += 1;
                }
            }
        }
    }
    assert_eq!(seen, 10, "every seed example is in the document");
}
