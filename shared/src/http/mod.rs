//! The edge: the only part of admit that knows `lambda_http`, headers, statuses and body
//! shapes. Request parsing (bounded JSON bodies, query strings), the caller's origin, both
//! kinds of NextInteract auth, the platform family's bearer or cookie session and the site
//! family's bearer token (`auth`), one responder per API family
//! (`nextinteract`, `platform`, `site`) and the HTML pages for browsers (`pages`). Use cases
//! never see a request.

pub use lambda_http;

pub mod accept_page;
pub mod account_pages;
pub mod auth;
pub mod idempotency;
pub mod nextinteract;
pub mod pages;
pub mod platform;
pub mod respond;
pub mod site;

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::Caller;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;

/// The largest request body accepted (the vendor's request bodies are a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Parses the JSON body into `T`. Every failure says what is wrong in the caller's terms (the
/// field and what it must be), never serde's; an oversized body is `BodyTooLarge`. The body is
/// read as JSON whatever the Content-Type says, as the mobile apps and curl users expect.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, DomainError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(DomainError::new(
            ErrorKind::BodyTooLarge,
            format!(
                "request body is {} bytes; the limit is {MAX_BODY_BYTES}",
                bytes.len()
            ),
        ));
    }
    parse_json(bytes)
}

/// Parses JSON bytes into `T` with caller-facing messages (see `json_body`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DomainError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DomainError::invalid(
            "request body is required (a JSON object)",
        ));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(DomainError::invalid("request body must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(de);
    result.map_err(|e| {
        use serde_json::error::Category;
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => DomainError::invalid(format!(
                "request body is not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            )),
            Category::Data => DomainError::invalid(describe_data_error(&path, &inner.to_string())),
        }
    })
}

/// Turns serde's wording ("invalid type: string \"x\", expected u64 at line 1 column 14") into
/// the caller's ("userId must be a whole number, not a string").
fn describe_data_error(path: &str, serde_message: &str) -> String {
    let message = serde_message
        .rsplit_once(" at line ")
        .map_or(serde_message, |(m, _)| m);
    let field = if path.is_empty() || path == "." {
        "the request body".to_string()
    } else {
        path.to_string()
    };
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let got = got.split_whitespace().next().unwrap_or(got);
        return format!(
            "{field} must be {}, not {}",
            plain_type(expected),
            article(got)
        );
    }
    if let Some(name) = message.strip_prefix("missing field ") {
        let name = name.trim_matches('`');
        return if path.is_empty() || path == "." {
            format!("{name} is required")
        } else {
            format!("{path}.{name} is required")
        };
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = rest.split(',').next().unwrap_or(rest).trim_matches('`');
        return format!("{field}: {name} is not a field of this request");
    }
    if message.starts_with("invalid value: integer") {
        return format!("{field} must be a whole number in range");
    }
    format!("{field}: {message}")
}

fn plain_type(expected: &str) -> &'static str {
    match expected {
        e if e.starts_with('u') || e.starts_with('i') && e.len() <= 5 => "a whole number",
        e if e.starts_with('f') && e.len() <= 3 => "a number",
        "a boolean" => "true or false",
        "a string" => "a string",
        "a sequence" => "a list",
        e if e.starts_with("struct") || e.starts_with("a map") => "an object",
        _ => "of another type",
    }
}

fn article(got: &str) -> String {
    match got {
        "integer" => "a whole number".into(),
        "floating" => "a decimal number".into(),
        "map" => "an object".into(),
        "sequence" => "a list".into(),
        "boolean" => "true or false".into(),
        "null" => "null".into(),
        "string" => "a string".into(),
        other => other.to_string(),
    }
}

/// Refuses (`NotAcceptable`, 406) a request whose `Accept` admits no JSON, the only media type
/// the NextInteract and site families answer in. Checked at the edge, before any work is done.
pub fn accepts_json(req: &Request) -> Result<(), DomainError> {
    platform::negotiate_among(req, &[platform::JSON]).map(drop)
}

/// A JSON answer with `Cache-Control: no-store` (answers carry tokens and personal data).
pub fn json_response(status: u16, body: String) -> Response<Body> {
    respond::response(status, "application/json", body)
}

/// The first value of a query-string parameter.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_string)
}

/// The value of the cookie `name` the request carries, if any (the first, when several).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (n, value) = c.trim().split_once('=')?;
            (n == name).then(|| value.trim().to_string())
        })
}

/// The value of a path parameter (`{deviceId}`).
pub fn path_param(req: &Request, name: &str) -> Option<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_string)
}

/// The caller of a request, for the activity log.
pub fn caller(req: &Request) -> Caller {
    let (ip, request_id) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.http.source_ip.clone(), ctx.request_id.clone())
        }
        _ => (None, None),
    };
    let request_id = request_id
        .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
        .unwrap_or_default();
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    Caller {
        ip,
        user_agent,
        request_id,
    }
}

/// The route API Gateway matched for the request (its `routeKey`, `METHOD /path/{param}`),
/// which `admit serve` sets the same way: a function with several routes answers each by it,
/// never by looking at the path or method again.
pub fn route_key(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
        _ => None,
    }
}

/// Whether the request came in by the route `method` `path` (a path template of the table).
pub fn came_by(req: &Request, method: &str, path: &str) -> bool {
    route_key(req).is_some_and(|k| k.split_once(' ') == Some((method, path)))
}

/// The answer for a request that reached a function by a route it does not have (API Gateway
/// sends none: only a misconfigured stage could).
pub fn no_such_route() -> DomainError {
    DomainError::new(ErrorKind::RouteNotFound, "no such page")
}

/// The request id for log lines.
pub fn request_id(req: &Request) -> String {
    caller(req).request_id
}

/// The base URL for links in emails: `ADMIT_PUBLIC_URL`, or else the host the request came to.
pub fn public_base(app: &App, req: &Request) -> String {
    if !app.config.public_url.is_empty() {
        return app.config.public_url.trim_end_matches('/').to_string();
    }
    let host = request_host(req).unwrap_or_else(|| "localhost".into());
    format!("https://{host}")
}

/// Whether a Content-Type value is a JSON media type: `application/json` or
/// `application/*+json`, parameters (a charset) allowed, case ignored.
pub fn is_json_media_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.strip_prefix("application/") {
        Some("json") => true,
        Some(sub) => sub
            .strip_suffix("+json")
            .is_some_and(|s| !s.is_empty() && !s.contains('/')),
        None => false,
    }
}

/// Refuses a body that is not declared as JSON (`UnsupportedMediaType`): what a call that
/// sets a cookie reads, since a cross-site HTML form can only send form and text types.
pub fn require_json_content_type(req: &Request) -> Result<(), DomainError> {
    let given = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if is_json_media_type(given) {
        return Ok(());
    }
    Err(DomainError::new(
        ErrorKind::UnsupportedMediaType,
        format!(
            "Content-Type {} is not accepted with setCookie; send application/json",
            if given.trim().is_empty() {
                "(none)"
            } else {
                given.trim()
            }
        ),
    ))
}

/// An origin (`scheme://host[:port]`) in one form for comparing: scheme and host lower-cased,
/// the scheme's default port dropped, any path cut. `None` for text that is not one.
pub fn normalize_origin(raw: &str) -> Option<String> {
    let (scheme, rest) = raw.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || !authority.is_ascii() {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority
        .strip_suffix(default_port)
        .unwrap_or(&authority)
        .to_string();
    Some(format!("{scheme}://{authority}"))
}

/// Whether a host (with or without a port) is this machine: `localhost`, `127.x.x.x`, `[::1]`.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The stage's own origin: that of `ADMIT_PUBLIC_URL` when set, else the request's host with
/// https (http for a loopback host).
pub fn stage_origin(app: &App, req: &Request) -> Option<String> {
    if !app.config.public_url.is_empty() {
        return normalize_origin(&app.config.public_url);
    }
    let host = request_host(req)?;
    let scheme = if is_loopback_host(&host) {
        "http"
    } else {
        "https"
    };
    normalize_origin(&format!("{scheme}://{host}"))
}

/// The host the request came to: API Gateway's domain name, or the Host header.
fn request_host(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        _ => None,
    }
    .or_else(|| {
        req.headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    })
}

/// Refuses a request whose `Origin` header names another site than this stage (`NotPermitted`):
/// a browser adds `Origin` to cross-site requests, so a page elsewhere cannot use the caller's
/// cookie. A request without `Origin` (curl, the apps) passes.
pub fn check_same_origin(app: &App, req: &Request) -> Result<(), DomainError> {
    let Some(origin) = req.headers().get(http::header::ORIGIN) else {
        return Ok(());
    };
    let given = origin.to_str().ok().and_then(normalize_origin);
    match (given, stage_origin(app, req)) {
        (Some(g), Some(own)) if g == own => Ok(()),
        _ => Err(DomainError::new(
            ErrorKind::NotPermitted,
            "cross-site request refused: the Origin header is not this API's origin",
        )),
    }
}

/// Refuses a page's form posted from another site (`NotPermitted`): a browser sends `Origin`
/// with every form it posts, and a page's form is posted to the host that served the page, so
/// `Origin` must name the request's own host (whatever `ADMIT_PUBLIC_URL` says: the accept page
/// may be served under its own domain). A request without `Origin` passes; `null` does not.
pub fn check_form_origin(req: &Request) -> Result<(), DomainError> {
    let Some(origin) = req.headers().get(http::header::ORIGIN) else {
        return Ok(());
    };
    let authority = |origin: &str| {
        normalize_origin(origin).and_then(|o| o.split_once("://").map(|(_, a)| a.to_string()))
    };
    let given = origin.to_str().ok().and_then(authority);
    let own = request_host(req).and_then(|h| {
        let h = h.to_ascii_lowercase();
        let h = h
            .strip_suffix(":443")
            .or_else(|| h.strip_suffix(":80"))
            .unwrap_or(&h)
            .to_string();
        authority(&format!("https://{h}"))
    });
    match (given, own) {
        (Some(g), Some(o)) if g == o => Ok(()),
        _ => Err(DomainError::new(
            ErrorKind::NotPermitted,
            "this form was sent from another site; open the link in your email again",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Probe {
        user_id: Option<u64>,
        send_notification: Option<bool>,
        teams: Option<Vec<u64>>,
        name: Option<String>,
    }

    fn message(body: &str) -> String {
        parse_json::<Probe>(body.as_bytes()).unwrap_err().message
    }

    #[test]
    fn a_form_must_come_from_the_host_that_served_it() {
        let post = |host: &str, origin: Option<&str>| {
            let mut req = Request::default();
            req.headers_mut().insert("host", host.parse().unwrap());
            if let Some(o) = origin {
                req.headers_mut().insert("origin", o.parse().unwrap());
            }
            check_form_origin(&req)
        };
        assert!(
            post("api.example", None).is_ok(),
            "no Origin: not a browser"
        );
        assert!(post("api.example", Some("https://api.example")).is_ok());
        assert!(post("API.example:443", Some("https://api.example")).is_ok());
        assert!(post("127.0.0.1:3000", Some("http://127.0.0.1:3000")).is_ok());
        for foreign in [
            "https://evil.example",
            "null",
            "http://127.0.0.1:3001",
            "https://api.example.evil.example",
        ] {
            let e = post("api.example", Some(foreign)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::NotPermitted, "{foreign}");
        }
    }

    #[test]
    fn wrong_types_name_the_field_and_what_it_must_be() {
        let cases = [
            (
                r#"{"userId": "7"}"#,
                "userId must be a whole number, not a string",
            ),
            (
                r#"{"sendNotification": 1}"#,
                "sendNotification must be true or false, not a whole number",
            ),
            (
                r#"{"teams": [1, "x"]}"#,
                "teams[1] must be a whole number, not a string",
            ),
            (
                r#"{"teams": 3}"#,
                "teams must be a list, not a whole number",
            ),
            (r#"{"name": {}}"#, "name must be a string, not an object"),
            (r#"[]"#, "request body must be a JSON object"),
            (r#""text""#, "request body must be a JSON object"),
        ];
        for (body, want) in cases {
            assert_eq!(message(body), want, "{body}");
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        assert_eq!(
            message("{\"userId\": "),
            "request body is not valid JSON (line 1, column 11)"
        );
        assert_eq!(message("  "), "request body is required (a JSON object)");
    }

    #[test]
    fn json_media_types_are_told_apart() {
        for yes in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            "application/vnd.soa.v81+json",
            " application/problem+json ;x=y",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/+json",
            "text/json",
            "application/jsonp",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }

    #[test]
    fn origins_compare_in_one_form() {
        assert_eq!(
            normalize_origin("HTTPS://API.Example.com:443/x").as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(normalize_origin("null"), None);
        assert_eq!(normalize_origin("ftp://x"), None);
        assert!(is_loopback_host("localhost:3000"));
        assert!(is_loopback_host("[::1]:8080"));
        assert!(is_loopback_host("127.0.0.1"));
        assert!(!is_loopback_host("api.example.com"));
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any header text as a media type or an origin is answered: never a panic.
        #[test]
        fn any_header_text_is_answered(raw in any::<String>()) {
            let _ = is_json_media_type(&raw);
            let _ = is_loopback_host(&raw);
            if let Some(o) = normalize_origin(&raw) {
                prop_assert_eq!(normalize_origin(&o), Some(o.clone()));
            }
        }

        /// Any body bytes are parsed or refused with a message: never a panic.
        #[test]
        fn any_body_is_answered(raw in any::<String>()) {
            let _ = parse_json::<Probe>(raw.as_bytes());
        }

        /// Origins read back as themselves.
        #[test]
        fn origins_round_trip(host in "[a-z0-9-]{1,20}(\\.[a-z]{2,6}){0,2}", port in proptest::option::of(1u16..)) {
            let o = match port { Some(p) => format!("https://{host}:{p}"), None => format!("https://{host}") };
            let want = o.strip_suffix(":443").unwrap_or(&o).to_string();
            prop_assert_eq!(normalize_origin(&o), Some(want));
        }
    }

    #[test]
    fn null_means_absent() {
        let p: Probe =
            parse_json(br#"{"userId": null, "sendNotification": null, "teams": null}"#).unwrap();
        assert!(p.user_id.is_none() && p.send_notification.is_none() && p.teams.is_none());
    }
}
