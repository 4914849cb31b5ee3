//! docs/openapi.yaml, made from the code: the paths, operations, security and error answers
//! from the endpoint table (`admit_functions::ENDPOINTS`), each operation's request and answer
//! schemas from `openapi_operations.json` beside this file, and the vendor pages' example
//! bodies from `seeds`. A test compares the file with `document()` (and `scripts/generate`
//! writes it); the API tests check what the handlers answer against the same schemas with
//! `assert_conforms`, and the seed examples against the request schemas. None of this is in a
//! Lambda binary.

use crate::seeds;
use admit_functions::{Auth, Endpoint, Family, Route, ENDPOINTS};
use serde_json::{json, Map, Value};

/// Each operation's request, query and answer (keyed by operation id).
const OPERATIONS: &str = include_str!("openapi_operations.json");

/// The seed examples each operation carries: (operation id, example name, body).
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("invite_mi_user", "vendor", seeds::MI_INVITE),
    ("self_register_mi_user", "version1", seeds::SELF_REGISTER_V1),
    ("self_register_mi_user", "version5", seeds::SELF_REGISTER_V5),
    (
        "assign_member_to_teams",
        "withoutNotification",
        seeds::ASSIGN_TEAMS,
    ),
    (
        "assign_member_to_teams",
        "withNotification",
        seeds::ASSIGN_TEAMS_NOTIFY,
    ),
    (
        "assign_member_to_teams",
        "withMessage",
        seeds::ASSIGN_TEAMS_MESSAGE,
    ),
    ("invite_platform_users", "vendor", seeds::PLATFORM_INVITE),
    ("invite_site_users", "vendor", seeds::SITE_INVITE),
    ("user_activity_report", "vendor", seeds::ACTIVITY_REPORT),
    (
        "user_activity_report",
        "vendorEmptyRange",
        seeds::ACTIVITY_REPORT_EMPTY,
    ),
];

/// The seed answers each operation's 200 carries as its example.
const ANSWERS: &[(&str, &str)] = &[("assign_member_to_teams", seeds::ASSIGN_TEAMS_ANSWER)];

fn operations() -> Map<String, Value> {
    match serde_json::from_str(OPERATIONS) {
        Ok(Value::Object(m)) => m,
        Ok(_) | Err(_) => Map::new(),
    }
}

/// The operation id of a route: the function, and the method when it serves several.
pub fn operation_id(e: &Endpoint, r: &Route) -> String {
    if e.routes.len() == 1 {
        return e.name.to_string();
    }
    let id = format!("{}_{}", e.name, r.method.to_ascii_lowercase());
    // The first route of a method keeps the short id; later ones add their last segment.
    let first = e.routes.iter().find(|o| o.method == r.method);
    if first.is_some_and(|f| f.path == r.path) {
        return id;
    }
    let last = r.path.rsplit('/').next().unwrap_or_default();
    format!(
        "{id}_{}",
        last.trim_matches(['{', '}']).to_ascii_lowercase()
    )
}

fn family(e: &Endpoint) -> (&'static str, &'static str) {
    match e.family {
        Family::NextInteract => ("NextInteract", "NextInteractError"),
        Family::Platform => ("Platform", "PlatformError"),
        Family::Site => ("Site", "SiteError"),
        Family::Page | Family::Event => ("Pages", "PageError"),
    }
}

fn security(auth: Auth) -> Value {
    match auth {
        Auth::Public | Auth::Internal => json!([]),
        Auth::Session => json!([{"authToken": []}]),
        Auth::OptionalSession => json!([{"authToken": []}, {}]),
        Auth::AdminKey | Auth::CompanyKey => json!([{"companyApiKey": []}]),
        Auth::PlatformSession => json!([{"bearer": []}, {"sessionCookie": []}]),
        Auth::Bearer => json!([{"bearer": []}]),
    }
}

fn operation(e: &Endpoint, r: &Route, ops: &Map<String, Value>) -> Value {
    let id = operation_id(e, r);
    let (tag, error) = family(e);
    let spec = ops.get(&id).cloned().unwrap_or(Value::Null);
    let mut op = Map::new();
    op.insert("operationId".into(), json!(id));
    op.insert("summary".into(), json!(r.summary));
    if let Some(d) = spec.get("description") {
        op.insert("description".into(), d.clone());
    }
    op.insert("tags".into(), json!([tag]));
    op.insert("security".into(), security(e.auth));
    if let Some(Value::Array(query)) = spec.get("query") {
        let params: Vec<Value> = query
            .iter()
            .map(|q| {
                let mut p = q.clone();
                if let Some(m) = p.as_object_mut() {
                    m.insert("in".into(), json!("query"));
                    m.entry("required").or_insert(json!(false));
                }
                p
            })
            .collect();
        op.insert("parameters".into(), Value::Array(params));
    }
    // Every POST and PUT of a JSON endpoint that replays takes an Idempotency-Key.
    if matches!(r.method, "POST" | "PUT") && e.replays() {
        let key = json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "A retry with the same key, caller and request within 24 hours gets the first answer again (with `Idempotent-Replayed: true`) and does not do the work again; the same key with another request is 422; a retry while the first still runs is 409. A UUID is best."
        });
        match op.get_mut("parameters") {
            Some(Value::Array(params)) => params.push(key),
            _ => {
                op.insert("parameters".into(), json!([key]));
            }
        }
    }
    if let Some(req) = spec.get("request") {
        let media = req["mediaType"].as_str().unwrap_or("application/json");
        let mut content = json!({"schema": req["schema"].clone()});
        let examples: Map<String, Value> = EXAMPLES
            .iter()
            .filter(|(op, _, _)| *op == id)
            .map(|(_, name, body)| {
                let value = serde_json::from_str(body).unwrap_or(Value::Null);
                (
                    name.to_string(),
                    json!({"summary": "The vendor's example, as printed", "value": value}),
                )
            })
            .collect();
        if !examples.is_empty() {
            content["examples"] = Value::Object(examples);
        }
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {media: content}}),
        );
    }
    let answer = spec.get("response").cloned().unwrap_or(Value::Null);
    let media = answer["mediaType"]
        .as_str()
        .unwrap_or(if e.family == Family::Page {
            "text/html"
        } else {
            "application/json"
        });
    let mut content = json!({"schema": answer.get("schema").cloned().unwrap_or(json!({}))});
    if let Some((_, body)) = ANSWERS.iter().find(|(op, _)| *op == id) {
        content["example"] = serde_json::from_str(body).unwrap_or(Value::Null);
    } else if let Some(ex) = answer.get("example") {
        content["example"] = ex.clone();
    }
    let mut responses = Map::new();
    match answer["status"].as_u64() {
        // A form that redirects to its result page (post/redirect/get).
        Some(303) => responses.insert(
            "303".into(),
            json!({
                "description": answer["description"].as_str().unwrap_or("Done: see the result page"),
                "headers": {
                    "Location": {"description": "The result page (relative to the form's page).", "schema": {"type": "string"}},
                    "Set-Cookie": {"description": "`admit_outcome`: what the result page shows (no token), for an hour; HttpOnly, SameSite=Strict.", "schema": {"type": "string"}}
                }
            }),
        ),
        _ => responses.insert(
            "200".into(),
            json!({"description": "Done", "content": {media: content}}),
        ),
    };
    // Every status the family's responder can give an error, each in the family's shape.
    for status in error_statuses(e.family) {
        responses.insert(
            status.to_string(),
            json!({"$ref": format!("#/components/responses/{error}")}),
        );
    }
    responses.insert(
        "default".into(),
        json!({"$ref": format!("#/components/responses/{error}")}),
    );
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The statuses a family answers errors with, from its responder's table over every kind.
fn error_statuses(family: Family) -> std::collections::BTreeSet<u16> {
    use admit_shared::http::{nextinteract, platform, site};
    let status: fn(admit_shared::domain::error::ErrorKind) -> u16 = match family {
        Family::NextInteract => nextinteract::status,
        Family::Platform => platform::status,
        Family::Site => site::status,
        Family::Page | Family::Event => return Default::default(),
    };
    nextinteract::ALL.iter().map(|k| status(*k)).collect()
}

/// The whole document.
pub fn document() -> Value {
    let ops = operations();
    let mut paths = Map::new();
    for r in ENDPOINTS.iter().flat_map(|e| e.routes) {
        if paths.contains_key(r.path) {
            continue;
        }
        let mut item = Map::new();
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            item.insert("parameters".into(), Value::Array(params));
        }
        for e in ENDPOINTS {
            for route in e.routes.iter().filter(|x| x.path == r.path) {
                item.insert(route.method.to_ascii_lowercase(), operation(e, route, &ops));
            }
        }
        paths.insert(r.path.to_string(), Value::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "admit",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Brings people into companies.",
            "description": "The vendor's API in three families, as admit serves it: the NextInteract operations under /rest/..., the platform's under /api/users/... and /api/businesses/..., and the site management API under /api/rest/v1/management/...; and the HTML pages that email links open. docs/api.md states the contract in words. This document is made from the code (tests/src/openapi.rs) by scripts/generate, and a test fails when the file differs.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [
            {"url": "http://127.0.0.1:3000", "description": "admit serve, on the embedded store"},
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
                "description": "A deployed stage (the stack's ApiUrl output)",
                "variables": {"apiId": {"default": "example"}, "region": {"default": "us-east-1"}},
            },
        ],
        "tags": [
            {"name": "NextInteract", "description": "`{errorCode, errorMsg}` answers; the auth-token or company API key headers."},
            {"name": "Platform", "description": "Problem answers; a bearer token, or the session cookie with its CSRF header."},
            {"name": "Site", "description": "The call's own body, or `{message}`; a bearer token."},
            {"name": "Pages", "description": "HTML for people who follow a link from an email."},
        ],
        "paths": paths,
        "components": components(),
    })
}

fn components() -> Value {
    let retry = json!({"Retry-After": {"$ref": "#/components/headers/RetryAfter"}});
    let error = |description: &str, schema: &str| {
        json!({
            "description": description,
            "headers": retry,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
        })
    };
    json!({
        "securitySchemes": {
            "authToken": {"type": "apiKey", "in": "header", "name": "x-nextinteract-authtoken", "description": "The authToken loginUser returns."},
            "companyApiKey": {"type": "apiKey", "in": "header", "name": "x-nextinteract-company-api-key", "description": "A company's admin (or, where the operation says so, app) API key."},
            "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <authToken>` (the authToken loginUser returns)."},
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "admit_session", "description": "The session cookie loginUser sets when asked (`setCookie: true`). A foreign `Origin` is refused. With it, a call sends the CSRF token loginUser returned in the header named for the business it acts on, `X-Csrf-Token_{BusinessID}` (`X-Csrf-Token_1` for business 1): a header name that depends on the path, which OpenAPI cannot declare as a scheme of its own."},
        },
        "schemas": {
            "NextInteractError": {
                "type": "object",
                "required": ["errorCode", "errorMsg", "exception"],
                "properties": {
                    "errorCode": {"type": "integer", "minimum": 1, "description": "Stable per exception (docs/errors.md); never 0."},
                    "errorMsg": {"type": "string"},
                    "exception": {"type": "string", "description": "The exception's name (docs/errors.md)."},
                },
            },
            "PlatformError": {
                "type": "object",
                "required": ["Status", "Error", "Message"],
                "properties": {
                    "Status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "Error": {"type": "string", "description": "The status's reason phrase."},
                    "Message": {"type": "string"},
                },
            },
            "SiteError": {
                "type": "object",
                "required": ["message"],
                "properties": {"message": {"type": "string"}},
            },
        },
        "headers": {
            "RetryAfter": {"description": "Seconds until a lockout ends or an hourly limit turns.", "schema": {"type": "integer"}},
        },
        "responses": {
            "NextInteractError": error("Refused; the status and exception are the registry's (docs/errors.md).", "NextInteractError"),
            "PlatformError": error("Refused, in the negotiated media type.", "PlatformError"),
            "SiteError": error("Refused.", "SiteError"),
            "PageError": {
                "description": "A page that says what went wrong and what to do next.",
                "headers": retry,
                "content": {"text/html": {"schema": {"type": "string"}}},
            },
        },
    })
}

/// The document as YAML: block style, every string double-quoted (JSON's escapes are YAML's).
pub fn to_yaml(doc: &Value) -> String {
    let mut out = String::from(
        "# Made from the code by scripts/generate (tests/src/openapi.rs): edit the code, not this file.\n",
    );
    emit(&mut out, doc, 0);
    out
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./{}$".contains(c))
        && !k.chars().all(|c| c.is_ascii_digit())
        && !k.starts_with(['-', '{']);
    if plain {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(_) | Value::Array(_) => None,
        other => Some(other.to_string()),
    }
}

fn emit(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match scalar(v) {
                    Some(s) => out.push_str(&format!("{pad}{}: {s}\n", key(k))),
                    None => {
                        out.push_str(&format!("{pad}{}:\n", key(k)));
                        emit(out, v, indent + 2);
                    }
                }
            }
        }
        Value::Array(a) => {
            for item in a {
                match scalar(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        // The item's first line goes after the dash, the rest under it.
                        let mut inner = String::new();
                        emit(&mut inner, item, indent + 2);
                        let trimmed = inner.trim_start_matches(' ');
                        out.push_str(&format!("{pad}- {trimmed}"));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{other}\n")),
    }
}

/// Checks a value against a schema of the document (the subset of JSON Schema it uses).
pub fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .ok_or_else(|| format!("{at}: no schema at {r}"))?;
        return validate(doc, target, value, at);
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = names.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !fits {
            return Err(format!("{at}: {value} is not of type {types}"));
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            return Err(format!(
                "{at}: {value} is none of {}",
                Value::Array(allowed.clone())
            ));
        }
    }
    if let Some(n) = value.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|m| n < m) {
            return Err(format!("{at}: {n} is below {}", schema["minimum"]));
        }
        if schema["maximum"].as_f64().is_some_and(|m| n > m) {
            return Err(format!("{at}: {n} is above {}", schema["maximum"]));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|m| len < m)
            || schema["maxLength"].as_u64().is_some_and(|m| len > m)
        {
            return Err(format!("{at}: {value} has a length out of range"));
        }
    }
    if let Value::Array(items) = value {
        let len = items.len() as u64;
        if schema["minItems"].as_u64().is_some_and(|m| len < m)
            || schema["maxItems"].as_u64().is_some_and(|m| len > m)
        {
            return Err(format!("{at}: {len} items is out of range"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate(doc, item_schema, item, &format!("{at}[{i}]"))?;
            }
        }
    }
    if let Value::Object(fields) = value {
        if let Some(Value::Array(required)) = schema.get("required") {
            for r in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(r) {
                    return Err(format!("{at}: {r} is required in {value}"));
                }
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in fields {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(doc, s, v, &format!("{at}.{k}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{at}: {k} is not a documented field"))
                    }
                    Some(s @ Value::Object(_)) => validate(doc, s, v, &format!("{at}.{k}"))?,
                    _ => {}
                },
            }
        }
    }
    Ok(())
}

/// The operation with this id.
pub fn find_operation<'a>(doc: &'a Value, id: &str) -> Option<&'a Value> {
    doc["paths"].as_object()?.values().find_map(|item| {
        item.as_object()?
            .values()
            .find(|op| op.get("operationId").and_then(Value::as_str) == Some(id))
    })
}

/// Asserts an answer of an operation is what the document says: a 200 body against its
/// schema, an error against the family's error schema.
pub fn assert_conforms(id: &str, status: u16, body: &Value) {
    // An answer in another media type (HTML, a negotiated problem type) is not read as JSON.
    if body.is_null() {
        return;
    }
    // Made once per test binary: the API tests read thousands of answers.
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(document);
    let op = find_operation(doc, id).unwrap_or_else(|| panic!("no operation {id}"));
    let response = op["responses"]
        .get(status.to_string())
        .unwrap_or(&op["responses"]["default"]);
    let response = match response["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .cloned()
            .unwrap_or(Value::Null),
        None => response.clone(),
    };
    let Some(content) = response["content"].as_object() else {
        panic!("{id}: the document has no answer for {status}");
    };
    if let Some(schema) = content.get("application/json").map(|c| &c["schema"]) {
        if let Err(e) = validate(doc, schema, body, id) {
            panic!("{id} answered {status} off the document: {e}");
        }
    }
}
