//! `admit serve`: every route of template.yaml on the same method and path, through the same
//! `handler` functions, on the embedded store. Each HTTP request is turned into the API Gateway
//! HTTP API (payload 2.0) event that Lambda would receive and parsed by lambda_http itself.

use crate::inbox;
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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

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
    if let Err(e) = check_host(&parts.headers) {
        return error_response(&e);
    }
    let collected = match tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(body, MAX_BODY_BYTES).collect(),
    )
    .await
    {
        Ok(Ok(collected)) => collected,
        Ok(Err(_)) => {
            return error_response(&DomainError::new(
                ErrorKind::BodyTooLarge,
                format!("request body is over the limit of {MAX_BODY_BYTES} bytes"),
            ))
        }
        Err(_) => return body_timed_out(),
    };
    let bytes = collected.to_bytes();
    #[allow(
        clippy::disallowed_methods,
        reason = "API Gateway stamps each event with the time it arrived"
    )]
    let now = chrono::Utc::now();
    let event =
        admit_functions::gateway::event(parts, &bytes, route, &params, peer, request_id, now);
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

/// How long a request's body may take to arrive once its headers have (the headers have as
/// long): a client that never sends the body it announced does not hold a connection forever.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// `408`, and the connection is closed (the rest of the body is not waited for).
fn body_timed_out() -> Response<Body> {
    let mut r = error_response(&DomainError::invalid(format!(
        "the request body did not arrive within {} seconds",
        BODY_TIMEOUT.as_secs()
    )));
    *r.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
    r.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    r
}

/// The request names one host, as a name or address and an optional port number: API Gateway
/// refuses anything else before a function sees it, and the event builder needs a URI it can
/// parse (lambda_http panics on one it cannot).
fn check_host(headers: &http::HeaderMap) -> Result<(), DomainError> {
    let mut hosts = headers.get_all(http::header::HOST).iter();
    let host_ok = match (hosts.next(), hosts.next()) {
        (None, _) => true,
        (Some(host), None) => host.to_str().is_ok_and(valid_host),
        _ => false,
    };
    if !host_ok {
        return Err(DomainError::invalid(
            "the Host header must name one host, with a port number if any",
        ));
    }
    // The scheme lambda_http builds the request's URL with (API Gateway sets it itself).
    let mut protos = headers.get_all("x-forwarded-proto").iter();
    match (protos.next(), protos.next()) {
        (None, _) => Ok(()),
        (Some(p), None) if matches!(p.to_str(), Ok("http" | "https")) => Ok(()),
        _ => Err(DomainError::invalid(
            "X-Forwarded-Proto must be http or https, once",
        )),
    }
}

fn valid_host(h: &str) -> bool {
    let (name, port) = match h.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, rest)) if addr.parse::<std::net::Ipv6Addr>().is_ok() => {
                match rest.strip_prefix(':') {
                    Some(port) => ("v6", Some(port)),
                    None if rest.is_empty() => ("v6", None),
                    None => return false,
                }
            }
            _ => return false,
        },
        None => match h.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (h, None),
        },
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
    });
    // ... and a URL parser takes it as a host (a name whose last label is a number must be a
    // valid IPv4 address: `999.1.1.1` and `a.1` are not).
    name_ok && port_ok && url::Url::parse(&format!("http://{h}/")).is_ok()
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
    #[test]
    fn a_host_is_a_name_or_address_and_an_optional_port() {
        for good in [
            "127.0.0.1:3000",
            "localhost",
            "api.example.com:443",
            "[::1]:3000",
            "[::1]",
        ] {
            assert!(super::valid_host(good), "{good}");
        }
        for bad in [
            "127.0.0.1:notaport",
            "a:b:c",
            "",
            ":80",
            "host:",
            "host:99999",
            "[::1",
            "[zz]:1",
            "a b",
            "u@h",
        ] {
            assert!(!super::valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn two_host_headers_are_refused() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::HOST,
            http::HeaderValue::from_static("a.example"),
        );
        assert!(super::check_host(&h).is_ok());
        h.append(
            http::header::HOST,
            http::HeaderValue::from_static("b.example"),
        );
        assert!(super::check_host(&h).is_err());
        // HTTP/1.0 may leave it out: the event then names no host, as before.
        assert!(super::check_host(&http::HeaderMap::new()).is_ok());
        for proto in ["", "1", "a b", "file", "http,https"] {
            let mut h = http::HeaderMap::new();
            h.insert(
                "x-forwarded-proto",
                http::HeaderValue::from_str(proto).unwrap(),
            );
            assert!(super::check_host(&h).is_err(), "{proto:?}");
        }
        let mut h = http::HeaderMap::new();
        h.insert("x-forwarded-proto", http::HeaderValue::from_static("https"));
        assert!(super::check_host(&h).is_ok());
    }
}
