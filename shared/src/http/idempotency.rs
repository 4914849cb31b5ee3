//! `Idempotency-Key` on every POST and PUT: a retry with the same key, from the same caller,
//! asking the same thing within 24 hours gets the first answer again (its status, its
//! `Content-Type` and its body, with `Idempotent-Replayed: true`) and the work is not done
//! again. The same key asking something else is `422` (`IdempotencyKeyReused`); a retry while
//! the first request still runs is `409`. Modelled on AWS Lambda Powertools' idempotency
//! utility (a record claimed before the work, with a lease, completed after it) and on
//! Stripe's rules (keys are scoped to the caller, kept 24 hours, compared with the request's
//! parameters, and an answer that failed on the server's side is not kept), with one addition:
//! the record's `committed` marker is written in the same transaction as the work
//! (`records::idempotency::IdempotentStore`), so a crash between the work and the kept answer
//! never lets a retry do the work twice (it is told the answer was lost instead).
//!
//! Not kept: answers that failed on admit's side (5xx), and `409` and `429` answers that did no
//! work (a retry may succeed). What is compared leaves out any `password` and `newPassword` field
//! of the body: a password is never kept, not even as a fast hash.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::secrets::{random_hex_id, sha256_hex};
use crate::records::idempotency::{self as record, IdempotencyRecord, IdempotentStore, State};
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::sync::Arc;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key taken.
pub const MAX_KEY_CHARS: usize = 255;

/// How long a request holds its key before a retry may take it over (when it committed
/// nothing): longer than any function's timeout.
const LEASE_MS: i64 = 60_000;

/// The headers that name the caller: a key is theirs alone.
const CREDENTIALS: [&str; 4] = [
    "x-nextinteract-authtoken",
    "authorization",
    "x-nextinteract-company-api-key",
    "cookie",
];

/// The key a request carries: `None` without the header; refused when it is empty, too long or
/// not visible ASCII.
pub fn key_of(req: &Request) -> Result<Option<String>, DomainError> {
    let Some(raw) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = raw
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| {
            !k.is_empty()
                && k.len() <= MAX_KEY_CHARS
                && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            DomainError::invalid(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters (a UUID is best)"
            ))
        })?;
    Ok(Some(key.to_string()))
}

/// What the request asks, for comparing a retry with the first: method, path, query and body,
/// with any top-level `password` or `newPassword` field of a JSON body left out.
pub fn fingerprint(req: &Request) -> String {
    let bytes = super::body_bytes(req);
    let body = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.retain(|k, _| {
                !k.eq_ignore_ascii_case("password") && !k.eq_ignore_ascii_case("newPassword")
            });
            serde_json::Value::Object(fields).to_string().into_bytes()
        }
        _ => bytes.to_vec(),
    };
    let mut text = format!(
        "{}\n{}\n{}\n",
        req.method(),
        req.uri().path(),
        req.uri().query().unwrap_or_default()
    )
    .into_bytes();
    text.extend_from_slice(&body);
    sha256_hex(&text)
}

/// Whose key it is: the function, the caller's credentials and the key.
fn scope(function: &str, req: &Request, key: &str) -> String {
    let mut text = format!("admit idempotency v1\n{function}\n{key}\n");
    for name in CREDENTIALS {
        for v in req.headers().get_all(name) {
            text.push_str(name);
            text.push(':');
            text.push_str(&String::from_utf8_lossy(v.as_bytes()));
            text.push('\n');
        }
    }
    sha256_hex(text.as_bytes())
}

fn millis(app: &App) -> (i64, i64) {
    let now = app.clock.now();
    (now.timestamp_millis(), now.timestamp())
}

fn reused() -> DomainError {
    DomainError::new(
        ErrorKind::IdempotencyKeyReused,
        "this Idempotency-Key was used for a different request; use a new key for a new request",
    )
}

fn running() -> DomainError {
    DomainError::new(
        ErrorKind::Conflict,
        "a request with this Idempotency-Key is still being processed; retry shortly",
    )
    .with_retry_after(1)
}

fn lost() -> DomainError {
    DomainError::new(
        ErrorKind::Conflict,
        "the request with this Idempotency-Key was carried out, but its answer was lost; it is not carried out again",
    )
}

/// The answer a record already holds for a retry, or the refusal.
fn answer_of(
    rec: &IdempotencyRecord,
    fingerprint: &str,
    now_ms: i64,
) -> Result<Response<Body>, DomainError> {
    if rec.fingerprint != fingerprint {
        return Err(reused());
    }
    match rec.state {
        State::Done => Ok(replay(rec)),
        State::Running if rec.lease_until > now_ms => Err(running()),
        State::Running => Err(lost()),
    }
}

fn replay(rec: &IdempotencyRecord) -> Response<Body> {
    let mut resp = Response::builder()
        .status(rec.status.unwrap_or(200))
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(REPLAYED, "true");
    if let Some(ct) = &rec.content_type {
        resp = resp.header(http::header::CONTENT_TYPE, ct.as_str());
    }
    resp.body(Body::Text(rec.body.clone().unwrap_or_default()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// Whether an answer is kept for retries: not a failure on admit's side, and not a transient
/// refusal of a request that did nothing.
fn keeps(status: u16, committed: bool) -> bool {
    status < 500 && (committed || !matches!(status, 409 | 423 | 429))
}

/// Whether a request asks for idempotency: a POST or PUT with the header.
pub fn wanted(req: &Request) -> bool {
    matches!(req.method().as_str(), "POST" | "PUT") && req.headers().contains_key(HEADER)
}

/// Runs `work` (the function's handler) under the request's `Idempotency-Key` (the caller has
/// checked it is `wanted`); `refuse` answers an error in the function's family's shape.
pub async fn guard<W, F>(
    app: &App,
    function: &'static str,
    req: Request,
    refuse: fn(&DomainError) -> Response<Body>,
    work: W,
) -> Response<Body>
where
    W: FnOnce(App, Request) -> F,
    F: Future<Output = Response<Body>>,
{
    let key = match key_of(&req) {
        Ok(Some(k)) => k,
        Ok(None) => return work(app.clone(), req).await,
        Err(e) => return refuse(&e),
    };
    let mine = match claim(app, &scope(function, &req, &key), &fingerprint(&req)).await {
        Ok(mine) => mine,
        Err(answer) => return answer.unwrap_or_else(|e| refuse(&e)),
    };
    let marked = Arc::new(IdempotentStore::new(app.store.clone(), &mine));
    let mut scoped = app.clone();
    scoped.store = marked.clone();
    let resp = work(scoped, req).await;
    let kept = outcome(mine, &resp, marked.committed());
    if let Err(e) = app.store.transact(vec![record::keep(&kept)]).await {
        tracing::warn!(error = %e, "the idempotency record could not be completed");
    }
    resp
}

/// Claims the key for this request: its running record, or the answer the key already has
/// (a replay, or a refusal).
async fn claim(
    app: &App,
    scope: &str,
    fingerprint: &str,
) -> Result<IdempotencyRecord, Result<Response<Body>, DomainError>> {
    let store = app.store.as_ref();
    let (now_ms, now_secs) = millis(app);
    let fail = crate::usecases::failed(crate::domain::error::Service::User);
    let taken = |rec: &IdempotencyRecord| {
        rec.state == State::Done
            || rec.committed
            || rec.lease_until > now_ms
            || rec.fingerprint != fingerprint
    };
    match record::find(store, scope, now_secs).await {
        Ok(Some(rec)) if taken(&rec) => return Err(answer_of(&rec, fingerprint, now_ms)),
        Ok(_) => {}
        Err(e) => return Err(Err(fail(e))),
    }
    let mine = IdempotencyRecord {
        scope: scope.to_string(),
        fingerprint: fingerprint.to_string(),
        state: State::Running,
        lease_id: random_hex_id(),
        lease_until: now_ms + LEASE_MS,
        committed: false,
        status: None,
        content_type: None,
        body: None,
        expires: now_secs + record::KEEP_HOURS * 3600,
    };
    match store
        .transact(vec![record::claim(&mine, now_ms, now_secs)])
        .await
    {
        Ok(()) => Ok(mine),
        Err(e) if !e.is_condition_failure() => Err(Err(fail(e))),
        // Another request with the key claimed it first.
        Err(_) => Err(match record::find(store, scope, now_secs).await {
            Ok(Some(rec)) => answer_of(&rec, fingerprint, now_ms),
            Ok(None) => Err(running()),
            Err(e) => Err(fail(e)),
        }),
    }
}

/// The record once the work is done: its answer kept, or (not kept) released for a retry
/// unless the work committed, which a retry then must not redo.
fn outcome(mine: IdempotencyRecord, resp: &Response<Body>, committed: bool) -> IdempotencyRecord {
    let status = resp.status().as_u16();
    if !keeps(status, committed) {
        return IdempotencyRecord {
            committed,
            lease_until: if committed { mine.lease_until } else { 0 },
            ..mine
        };
    }
    let body = match resp.body() {
        Body::Text(t) => Some(t.clone()),
        Body::Binary(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    };
    IdempotencyRecord {
        state: State::Done,
        committed,
        status: Some(status),
        content_type: resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body,
        ..mine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, body: &str, headers: &[(&str, &str)]) -> Request {
        let mut r = http::Request::builder().method(method).uri("/a/b?x=1");
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(Body::Text(body.to_string())).unwrap()
    }

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert_eq!(key_of(&req("POST", "", &[])).unwrap(), None);
        let ok = req("POST", "", &[("idempotency-key", " 5c1e-ab ")]);
        assert_eq!(key_of(&ok).unwrap().as_deref(), Some("5c1e-ab"));
        let long = "k".repeat(256);
        for bad in ["", "a b", long.as_str()] {
            let r = req("POST", "", &[("idempotency-key", bad)]);
            assert!(key_of(&r).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_fingerprint_is_what_is_asked_less_any_password() {
        let a = fingerprint(&req("POST", r#"{"email":"a@b.c","password":"one"}"#, &[]));
        let b = fingerprint(&req("POST", r#"{"password":"two","email":"a@b.c"}"#, &[]));
        assert_eq!(a, b, "field order and the password do not count");
        let c = fingerprint(&req("POST", r#"{"email":"x@b.c","password":"one"}"#, &[]));
        assert_ne!(a, c);
        assert_ne!(a, fingerprint(&req("PUT", r#"{"email":"a@b.c"}"#, &[])));
        assert_eq!(
            fingerprint(&req("POST", "not json", &[])),
            fingerprint(&req("POST", "not json", &[]))
        );
    }

    #[test]
    fn a_key_belongs_to_its_caller_and_function() {
        let mine = req("POST", "", &[("authorization", "Bearer a")]);
        let theirs = req("POST", "", &[("authorization", "Bearer b")]);
        assert_ne!(scope("f", &mine, "k"), scope("f", &theirs, "k"));
        assert_ne!(scope("f", &mine, "k"), scope("g", &mine, "k"));
        assert_eq!(scope("f", &mine, "k"), scope("f", &mine, "k"));
    }

    #[test]
    fn only_answers_that_did_not_fail_on_our_side_are_kept() {
        assert!(keeps(200, true) && keeps(400, false) && keeps(404, false));
        assert!(!keeps(500, true) && !keeps(503, false));
        assert!(!keeps(409, false) && !keeps(429, false) && keeps(409, true));
    }
}
