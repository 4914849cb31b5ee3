//! The API Gateway HTTP API (payload 2.0) event for a request, as Lambda receives it: what
//! `admit serve` hands each function, and what the tests that run a function binary under
//! AWS's Lambda emulator send it.

use crate::{PathParams, Route};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;

/// The query string as API Gateway's `queryStringParameters`: keys and values decoded as
/// `application/x-www-form-urlencoded`, repeated keys joined with commas.
fn query_parameters(raw_query: &str) -> Map<String, Value> {
    let mut query = Map::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(prev)) => {
                prev.push(',');
                prev.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    query
}

/// Percent-decodes one path segment. Unlike in a query, `+` is a plus sign in a path, so it is
/// escaped (with the separators of a form) before the segment is read as a one-key form.
fn decode_path_segment(segment: &str) -> String {
    let escaped = segment
        .replace('+', "%2B")
        .replace('&', "%26")
        .replace('=', "%3D");
    form_urlencoded::parse(escaped.as_bytes())
        .map(|(k, _)| k.into_owned())
        .next()
        .unwrap_or_default()
}

/// The API Gateway HTTP API event for a request, as Lambda receives it.
pub fn event(
    parts: &http::request::Parts,
    body: &[u8],
    route: &Route,
    params: &PathParams,
    peer: SocketAddr,
    request_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(prev)) => {
                prev.push(',');
                prev.push_str(&v);
            }
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(v));
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let query = query_parameters(raw_query);
    let (body, b64) = match std::str::from_utf8(body) {
        Ok(t) => (t.to_string(), false),
        Err(_) => (base64(body), true),
    };
    let route_key = format!("{} {}", route.method, route.path);
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "pathParameters": if params.is_empty() { Value::Null } else {
            Value::Object(params.iter().map(|(k, v)| (k.clone(), Value::String(decode_path_segment(v)))).collect())
        },
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": b64,
    })
}

fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixed() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    #[test]
    fn base64_encoding() {
        assert_eq!(base64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
        assert_eq!(base64(b"any carnal pleasu"), "YW55IGNhcm5hbCBwbGVhc3U=");
        assert_eq!(base64(b"any carnal pleasur"), "YW55IGNhcm5hbCBwbGVhc3Vy");
    }

    #[test]
    fn the_gateway_event_decodes_the_query_and_path_as_api_gateway_does() {
        let raw = "limit=5&q=a%20b+c&tag=x&tag=y%2Cz&flag&%C3%A9t%C3%A9=%E2%82%AC&bad=%2&&";
        let req = http::Request::builder()
            .method("DELETE")
            .uri(format!("/rest/user/devices/a%2Fb+c%20d?{raw}"))
            .header("x-a", "1")
            .header("x-a", "2")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let (_, route, params) = crate::find("DELETE", parts.uri.path()).expect("a route");
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let ev = event(&parts, b"{}", route, &params, peer, "req-1", fixed());
        assert_eq!(ev["rawQueryString"], json!(raw));
        assert_eq!(
            ev["queryStringParameters"],
            json!({
                "limit": "5",
                "q": "a b c",
                // Repeated keys are joined with commas, as API Gateway does.
                "tag": "x,y,z",
                "flag": "",
                "été": "€",
                "bad": "%2",
            })
        );
        assert_eq!(ev["pathParameters"], json!({"deviceId": "a/b+c d"}));
        assert_eq!(ev["headers"]["x-a"], json!("1,2"));
        assert_eq!(ev["requestContext"]["http"]["sourceIp"], json!("127.0.0.1"));

        // The event is one lambda_http accepts; it reads the parameters from rawQueryString,
        // so an encoded comma stays inside its value there.
        let lreq = lambda_http::request::from_str(&ev.to_string()).expect("a valid event");
        use lambda_http::RequestExt;
        let q = lreq.query_string_parameters();
        assert_eq!(q.all("tag"), Some(vec!["x", "y,z"]));
        assert_eq!(q.first("q"), Some("a b c"));

        let no_query = http::Request::builder()
            .uri("/rest/user/login")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let (_, route, params) = crate::find("POST", "/rest/user/login").expect("a route");
        let ev = event(&no_query, b"", route, &params, peer, "req-2", fixed());
        assert_eq!(ev["queryStringParameters"], Value::Null);
        assert_eq!(ev["pathParameters"], Value::Null);
    }
}
