//! `admit serve`: every route of template.yaml on the same method and path, through the same
//! `handler` functions, on the embedded store. Each HTTP request is turned into the API Gateway
//! HTTP API (payload 2.0) event that Lambda would receive and parsed by lambda_http itself.

use crate::inbox;
use admit_functions::{PathParams, Route};
use admit_shared::domain::error::{DomainError, ErrorKind};
use admit_shared::http::nextinteract::error_response;
use admit_shared::http::MAX_BODY_BYTES;
use admit_shared::usecases::outbox;
use admit_shared::App;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

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
pub fn gateway_event(
    parts: &http::request::Parts,
    body: &[u8],
    route: &Route,
    params: &PathParams,
    peer: SocketAddr,
    request_id: &str,
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
    #[allow(
        clippy::disallowed_methods,
        reason = "API Gateway stamps each event with the time it arrived"
    )]
    let now = chrono::Utc::now();
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
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let byte = |i: usize| u32::from(c.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= c.len() {
                let sextet = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(T.get(sextet).map_or('=', |b| char::from(*b)));
            } else {
                out.push('=');
            }
        }
    }
    out
}

type HttpResponse = hyper::Response<Full<Bytes>>;

fn to_hyper(resp: Response<Body>) -> HttpResponse {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Answers a request with the function its route names, as API Gateway and Lambda would.
async fn route(
    app: &App,
    parts: &http::request::Parts,
    body: Incoming,
    peer: SocketAddr,
    request_id: &str,
) -> Response<Body> {
    let method = &parts.method;
    let path = parts.uri.path();
    let (endpoint, route, params) = match admit_functions::find(method.as_str(), path) {
        Ok(found) => found,
        Err(false) => {
            return error_response(&DomainError::new(
                ErrorKind::RouteNotFound,
                format!("no endpoint at {path}"),
            ))
        }
        Err(true) => {
            let mut r = error_response(&DomainError::new(
                ErrorKind::MethodNotAllowed,
                format!("{path} does not accept {method}"),
            ));
            let allow = admit_functions::methods(path).join(", ");
            if let Ok(v) = http::HeaderValue::from_str(&allow) {
                r.headers_mut().insert(http::header::ALLOW, v);
            }
            return r;
        }
    };
    let Ok(collected) = Limited::new(body, MAX_BODY_BYTES).collect().await else {
        return error_response(&DomainError::new(
            ErrorKind::BodyTooLarge,
            format!("request body is over the limit of {MAX_BODY_BYTES} bytes"),
        ));
    };
    let bytes = collected.to_bytes();
    let event = gateway_event(parts, &bytes, route, &params, peer, request_id);
    match lambda_http::request::from_str(&event.to_string()) {
        Ok(lreq) => match admit_functions::dispatch(endpoint.name, app, lreq).await {
            Some(r) => r,
            None => error_response(&DomainError::new(
                ErrorKind::RouteNotFound,
                "endpoint not mounted",
            )),
        },
        Err(e) => {
            tracing::error!(error = %e, "could not build the gateway event");
            error_response(&DomainError::invalid("the request could not be read"))
        }
    }
}

async fn handle(
    app: Arc<App>,
    inbox: Option<Arc<PathBuf>>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let request_id = admit_shared::domain::secrets::random_hex_id();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    // The inbox is for this machine's browser only: a page elsewhere whose name rebinds to
    // 127.0.0.1 would come with its own Host, and gets the ordinary 404.
    let local_host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(inbox::is_loopback_host);
    let dev_page = match local_host {
        true => {
            inbox::answer(
                inbox.as_deref().map(PathBuf::as_path),
                &parts.method,
                &path,
                peer,
            )
            .await
        }
        false => None,
    };
    let resp = match dev_page {
        Some(r) => r,
        None => route(&app, &parts, body, peer, &request_id).await,
    };
    tracing::info!(
        request_id,
        method = %parts.method,
        path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    to_hyper(resp)
}

/// Delivers outbox messages as they are committed (and every half second regardless).
pub fn spawn_dispatcher(app: Arc<App>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let notified = app.outbox_written.notified();
            match outbox::dispatch_pending(&app, 50).await {
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "local outbox dispatch failed"),
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    })
}

/// Serves until Ctrl-C / SIGTERM; with `inbox` (the directory of captured emails), also the
/// developer inbox (`crate::inbox`) to loopback peers.
pub async fn run(
    app: Arc<App>,
    listener: TcpListener,
    inbox: Option<PathBuf>,
) -> std::io::Result<()> {
    let inbox = inbox.map(Arc::new);
    let dispatcher = spawn_dispatcher(app.clone());
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        ctrl_c.await?;
        Ok::<_, std::io::Error>(())
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            r = &mut shutdown => {
                r?;
                break;
            }
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let app = app.clone();
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let (app, inbox) = (app.clone(), inbox.clone());
                        async move { Ok::<_, std::convert::Infallible>(handle(app, inbox, req, peer).await) }
                    });
                    if let Err(e) = http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                    {
                        tracing::debug!(error = %e, "connection closed with an error");
                    }
                });
            }
        }
    }
    tracing::info!("shutting down: delivering what is left in the outbox");
    dispatcher.abort();
    let _ = outbox::dispatch_pending(&app, 1000).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (_, route, params) =
            admit_functions::find("DELETE", parts.uri.path()).expect("a route");
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let event = gateway_event(&parts, b"{}", route, &params, peer, "req-1");
        assert_eq!(event["rawQueryString"], json!(raw));
        assert_eq!(
            event["queryStringParameters"],
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
        assert_eq!(event["pathParameters"], json!({"deviceId": "a/b+c d"}));
        assert_eq!(event["headers"]["x-a"], json!("1,2"));
        assert_eq!(
            event["requestContext"]["http"]["sourceIp"],
            json!("127.0.0.1")
        );

        // The event is one lambda_http accepts; it reads the parameters from rawQueryString,
        // so an encoded comma stays inside its value there.
        let lreq = lambda_http::request::from_str(&event.to_string()).expect("a valid event");
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
        let (_, route, params) =
            admit_functions::find("POST", "/rest/user/login").expect("a route");
        let event = gateway_event(&no_query, b"", route, &params, peer, "req-2");
        assert_eq!(event["queryStringParameters"], Value::Null);
        assert_eq!(event["pathParameters"], Value::Null);
    }
}
