//! Hardening: caller-supplied text never crashes a handler, the activity report's count is
//! bounded, and a cookie session cannot be set or used from another site (login CSRF).

use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::activity_report::{
    self, ActivityQuery, ActivityRequest, ReportLimits, LIMITS,
};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{
    assert_error, auth_token, both_backends, gateway_request, gateway_request_with_query, read_as,
    Backend, TestApp,
};
use chrono::Duration;
use lambda_http::RequestExt;
use serde_json::{json, Value};

const ADMIN: (&str, &str) = ("admin@hardening.example", "Hard-pass-2026");
const OTHER_SITE: &str = "https://evil.example";
/// The stage's own origin in tests (`Config::local()`'s public URL).
const OWN_ORIGIN: &str = "http://127.0.0.1:3000";

/// A company with one admin; returns the app and the company.
async fn world(backend: Backend) -> (TestApp, admit_shared::records::Company) {
    let t = TestApp::new(backend).await;
    let company = provision::create_company(&t.app, "Hardening")
        .await
        .unwrap();
    provision::create_api_key(&t.app, company.company_id, ApiKeyType::App)
        .await
        .unwrap();
    provision::create_user(
        &t.app,
        NewUser {
            email: ADMIN.0,
            password: ADMIN.1,
            first_name: "Hal",
            last_name: "Hard",
            membership: Some((company.company_id, Role::Admin)),
        },
    )
    .await
    .unwrap();
    (t, company)
}

// ---------------------------------------------------------------------------------------------
// Parsers never panic

async fn non_ascii_cursor_scenario(backend: Backend) {
    let (t, _) = world(backend).await;
    let app = &t.app;
    let token = auth_token(app, ADMIN.0, ADMIN.1).await;
    let list = |query: &'static str| {
        let token = token.clone();
        async move {
            let req = gateway_request_with_query(
                "GET",
                "/rest/user/notifications",
                &[("x-nextinteract-authtoken", &token)],
                None,
                query,
            );
            read_as(
                "list_notifications",
                admit_functions::list_notifications::handler(app, req).await,
            )
        }
    };
    // "aéb": four bytes, an even length, a character across the second byte boundary.
    for query in [
        "cursor=a%C3%A9b",
        "cursor=%C3%A9%C3%A9",
        "limit=5&cursor=%F0%9F%98%80",
    ] {
        let got = list(query).await;
        assert_error(&got, 400, "WSInvalidParameterException");
        assert!(
            got.1["errorMsg"].as_str().unwrap().contains("cursor"),
            "{}",
            got.1
        );
    }
    // The list itself still answers.
    let got = list("limit=5").await;
    assert_eq!(got.0, 200, "{}", got.1);
}

both_backends!(
    a_non_ascii_cursor_is_a_bad_request,
    non_ascii_cursor_scenario
);

// ---------------------------------------------------------------------------------------------
// The activity report's count is bounded

fn report_query(app: &App, page: u64, page_size: u64) -> ActivityQuery {
    let now = app.clock.now();
    let ts = |t| admit_shared::domain::time::format(t);
    let body: ActivityRequest = serde_json::from_value(json!({
        "dateFrom": ts(now - Duration::days(1)),
        "dateTo": ts(now + Duration::days(1)),
        "activity": 1,
        "page": page,
        "pageSize": page_size,
    }))
    .unwrap();
    ActivityQuery::try_from(body).unwrap()
}

fn dates(page: &activity_report::ActivityPage) -> Vec<String> {
    page.rows
        .iter()
        .map(|r| admit_shared::domain::time::format(r.event_date))
        .collect()
}

async fn capped_count_scenario(backend: Backend) {
    let (t, site) = world(backend).await;
    let app = &t.app;
    for _ in 0..6 {
        t.clock.advance(Duration::seconds(1));
        auth_token(app, ADMIN.0, ADMIN.1).await;
    }
    t.clock.advance(Duration::seconds(1));
    let full = activity_report::report(app, &site, report_query(app, 1, 100))
        .await
        .unwrap();
    assert_eq!(full.total_records, 6);
    assert!(!full.total_records_capped);
    let all = dates(&full);

    let small = ReportLimits {
        max_counted: 3,
        ..LIMITS
    };
    // The count stops at the cap (or the end of the page asked for, when further) and says
    // so; the pages asked for are still the right rows. The last page sees every match.
    for (page, want, total, capped) in [
        (1, &all[0..2], 3, true),
        (2, &all[2..4], 4, true),
        (3, &all[4..6], 6, false),
    ] {
        let got = activity_report::report_within(app, &site, report_query(app, page, 2), small)
            .await
            .unwrap();
        assert_eq!(dates(&got), want, "page {page}");
        assert_eq!(
            (got.total_records, got.total_records_capped),
            (total, capped),
            "page {page}"
        );
        let body = serde_json::to_value(&got).unwrap();
        assert_eq!(body["totalRecords"], json!(total), "{body}");
        if capped {
            assert_eq!(body["totalRecordsCapped"], json!(true), "{body}");
        } else {
            assert!(body.get("totalRecordsCapped").is_none(), "{body}");
        }
    }
    // A read budget too small for the count stops it too, flagged.
    let no_reads = ReportLimits {
        max_reads: 0,
        ..LIMITS
    };
    let got = activity_report::report_within(app, &site, report_query(app, 1, 2), no_reads)
        .await
        .unwrap();
    assert!(got.total_records_capped);
    // A count that fits the cap exactly is not capped.
    let exact = ReportLimits {
        max_counted: 6,
        ..LIMITS
    };
    let got = activity_report::report_within(app, &site, report_query(app, 1, 2), exact)
        .await
        .unwrap();
    assert_eq!((got.total_records, got.total_records_capped), (6, false));

    // Through the handler: an uncapped count has no flag, the seed's shape is kept.
    let token = auth_token(app, ADMIN.0, ADMIN.1).await;
    let now = app.clock.now();
    let body = json!({
        "dateFrom": admit_shared::domain::time::format(now - Duration::days(1)),
        "dateTo": admit_shared::domain::time::format(now + Duration::days(1)),
        "activity": 1,
    })
    .to_string();
    let auth = format!("Bearer {token}");
    let (status, page) = read_as(
        "user_activity_report",
        admit_functions::user_activity_report::handler(
            app,
            gateway_request(
                "POST",
                "/api/rest/v1/management/user/activity",
                &[("authorization", &auth)],
                Some(&body),
            ),
        )
        .await,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["totalRecords"], json!(7));
    assert!(page.get("totalRecordsCapped").is_none(), "{page}");
}

both_backends!(the_activity_count_is_capped, capped_count_scenario);

// ---------------------------------------------------------------------------------------------
// Login CSRF

async fn login_with(app: &App, headers: &[(&str, &str)], set_cookie: Option<bool>) -> (u16, Value) {
    let mut body = json!({"emailAddress": ADMIN.0, "password": ADMIN.1});
    if let Some(c) = set_cookie {
        body["setCookie"] = json!(c);
    }
    let body = body.to_string();
    read_as(
        "login_user",
        admit_functions::login_user::handler(
            app,
            gateway_request("POST", "/rest/user/login", headers, Some(&body)),
        )
        .await,
    )
}

async fn login_csrf_scenario(backend: Backend) {
    let (t, _) = world(backend).await;
    let app = &t.app;
    // A cookie is set only for a body declared JSON: an HTML form's types are refused.
    for ct in [
        "text/plain",
        "text/plain; charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let got = login_with(app, &[("content-type", ct)], Some(true)).await;
        assert_error(&got, 415, "WSUnsupportedMediaTypeException");
    }
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.soa.v81+json",
    ] {
        let got = login_with(app, &[("content-type", ct)], Some(true)).await;
        assert_eq!(got.0, 200, "{ct}: {}", got.1);
    }
    // Without a cookie, JSON is read whatever the Content-Type (curl's default form type).
    for (ct, cookie) in [
        ("application/x-www-form-urlencoded", None),
        ("text/plain", Some(false)),
    ] {
        let got = login_with(app, &[("content-type", ct)], cookie).await;
        assert_eq!(got.0, 200, "{ct}: {}", got.1);
        assert!(got.1["authToken"].is_string());
    }
    // Another site's Origin may not set the cookie; this stage's own may, and no Origin may.
    let json_ct = ("content-type", "application/json");
    let got = login_with(app, &[json_ct, ("origin", OTHER_SITE)], Some(true)).await;
    assert_error(&got, 403, "WSNotPermittedException");
    let got = login_with(app, &[json_ct, ("origin", "null")], Some(true)).await;
    assert_error(&got, 403, "WSNotPermittedException");
    let got = login_with(app, &[json_ct, ("origin", OWN_ORIGIN)], Some(true)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    // An Origin does not matter to a login without a cookie (an app's token).
    let got = login_with(app, &[json_ct, ("origin", OTHER_SITE)], None).await;
    assert_eq!(got.0, 200, "{}", got.1);
}

both_backends!(login_csrf_is_refused, login_csrf_scenario);

/// The business settings through the platform family, with these headers.
async fn settings(app: &App, business: u64, headers: &[(&str, &str)]) -> (u16, Value) {
    let req =
        gateway_request("GET", "/api/businesses/1/settings", headers, None).with_path_parameters(
            std::collections::HashMap::from([("BusinessID".to_string(), business.to_string())]),
        );
    read_as(
        "get_business_settings",
        admit_functions::get_business_settings::handler(app, req).await,
    )
}

async fn cross_site_cookie_scenario(backend: Backend) {
    let (t, company) = world(backend).await;
    let app = &t.app;
    let body = json!({"emailAddress": ADMIN.0, "password": ADMIN.1, "setCookie": true});
    let resp = admit_functions::login_user::handler(
        app,
        gateway_request("POST", "/rest/user/login", &[], Some(&body.to_string())),
    )
    .await;
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let (status, granted) = read_as("login_user", resp);
    assert_eq!(status, 200, "{granted}");
    // The token is in the HttpOnly cookie only, never in a body a script can read.
    assert!(granted.get("authToken").is_none(), "{granted}");
    let csrf = granted["csrfToken"].as_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    assert!(
        cookie.starts_with("admit_session=") && cookie.len() > 20,
        "{cookie}"
    );
    let token = cookie.trim_start_matches("admit_session=").to_string();
    let csrf_name = format!("x-csrf-token_{}", company.company_id);
    let business = company.company_id.get();
    let with = |origin: Option<&'static str>| {
        let mut h = vec![("cookie", cookie.as_str()), (csrf_name.as_str(), csrf)];
        if let Some(o) = origin {
            h.push(("origin", o));
        }
        h
    };
    // The cookie session, CSRF header and all, from another site: 403 in the family's shape.
    let got = settings(app, business, &with(Some(OTHER_SITE))).await;
    assert_eq!(got.0, 403, "{}", got.1);
    assert_eq!(got.1["Status"], json!(403), "{}", got.1);
    assert!(got.1["Message"].as_str().unwrap().contains("Origin"));
    // From this stage, or with no Origin: served.
    for origin in [Some(OWN_ORIGIN), Some("HTTP://127.0.0.1:3000"), None] {
        let got = settings(app, business, &with(origin)).await;
        assert_eq!(got.0, 200, "{origin:?}: {}", got.1);
    }
    // A bearer token is not a cookie: a browser never sends it on its own.
    let bearer = format!("Bearer {token}");
    let got = settings(
        app,
        business,
        &[("authorization", &bearer), ("origin", OTHER_SITE)],
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);

    // Logout by the cookie: another site's page may not sign the browser out (403, the cookie
    // kept); this stage's may, and the answer clears the cookie; the session is gone after.
    let logout = |headers: Vec<(&'static str, String)>| async move {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = admit_functions::logout_user::handler(
            app,
            gateway_request("POST", "/rest/user/logout", &h, None),
        )
        .await;
        let cleared = resp
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string());
        let got = read_as("logout_user", resp);
        (got, cleared)
    };
    let ((status, body), cleared) = logout(vec![
        ("cookie", cookie.clone()),
        ("origin", OTHER_SITE.to_string()),
    ])
    .await;
    assert_eq!(
        (status, &body["exception"]),
        (403, &json!("WSNotPermittedException")),
        "{body}"
    );
    assert_eq!(cleared, None);
    assert_eq!(settings(app, business, &with(None)).await.0, 200);
    let ((status, body), cleared) = logout(vec![("cookie", cookie.clone())]).await;
    assert_eq!(status, 200, "{body}");
    let cleared = cleared.expect("the answer clears the cookie");
    assert!(
        cleared.starts_with("admit_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let got = settings(app, business, &with(None)).await;
    assert_eq!(
        got.0, 401,
        "the session and its CSRF token ended: {}",
        got.1
    );
    // A stale cookie is cleared too.
    let ((status, _), cleared) = logout(vec![("cookie", cookie.clone())]).await;
    assert_eq!(status, 401);
    assert!(cleared.is_some_and(|c| c.contains("Max-Age=0")));
}

both_backends!(
    cross_site_cookie_calls_are_refused,
    cross_site_cookie_scenario
);

/// A function that makes a call its policy does not grant fails in the test that makes it, as
/// it would fail with AccessDenied once deployed; a granted call passes.
async fn a_call_the_policy_does_not_grant_fails_like_iam(backend: Backend) {
    use admit_shared::ports::store::{Index, Key, Query};
    let t = TestApp::new(backend).await;
    let store = t.app.store.clone();
    // get_email_verification reads one item by key and nothing else.
    let granted = tokio::spawn(admit_shared::app::as_function(
        "get_email_verification",
        async move { store.get(&Key::new("X", "Y")).await.map(|_| ()) },
    ));
    assert!(granted.await.unwrap().is_ok());
    let store = t.app.store.clone();
    let refused = tokio::spawn(admit_shared::app::as_function(
        "get_email_verification",
        async move {
            store
                .query(&Query::partition(Index::Gsi1, "USER#1"))
                .await
                .map(|_| ())
        },
    ));
    let panic = refused
        .await
        .expect_err("the query is refused")
        .into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("get_email_verification calls dynamodb:Query")
            && message.contains("index/gsi1")
            && message.contains("does not grant"),
        "{message}"
    );
}
admit_tests::both_backends!(a_call_the_policy_does_not_grant_fails_like_iam);

// ---------------------------------------------------------------------------------------------
// Outages

/// A store outage mid-request: `503` in each family's shape with `Retry-After`, and a failed
/// transaction leaves nothing behind.
async fn an_outage_answers_503_with_retry_after_in_each_family(backend: Backend) {
    use admit_tests::FaultyStore;
    let (t, company) = world(backend).await;
    let token = auth_token(&t.app, ADMIN.0, ADMIN.1).await;
    let faulty = FaultyStore::new(t.app.store.clone());
    let app = App {
        store: faulty.clone(),
        ..t.app.clone()
    };
    let retry_after = |resp: &lambda_http::Response<lambda_http::Body>| {
        resp.headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string())
    };
    // NextInteract: the invitation's transaction fails at the outbox; nothing of it stays.
    let before = t.stored_text().await;
    faulty.fail("OUTBOX#", true);
    let invite = json!({"companyId": company.company_id, "contact": {"firstname": "O", "lastname": "U", "email1": "outage@example.com"}});
    let resp = admit_functions::invite_mi_user::handler(
        &app,
        gateway_request(
            "POST",
            "/rest/user/miinvite",
            &[("x-nextinteract-authtoken", &token)],
            Some(&invite.to_string()),
        ),
    )
    .await;
    assert_eq!(retry_after(&resp).as_deref(), Some("2"));
    let got = read_as("invite_mi_user", resp);
    assert_eq!(got.0, 503, "{}", got.1);
    assert!(
        got.1["exception"]
            .as_str()
            .unwrap()
            .ends_with("UnavailableException"),
        "{}",
        got.1
    );
    // What the refused invitation would have written is not there, not even the hour's send
    // counts (they are written in its transaction); only the contact id counter moved.
    let work = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains("\"pk\":\"COUNTER#"))
            .map(str::to_string)
            .collect()
    };
    let after = t.stored_text().await;
    assert!(
        !after.contains("LIMIT#SENDER#") && !after.contains("LIMIT#RECIPIENT#"),
        "no send was counted"
    );
    assert_eq!(
        work(after),
        work(before),
        "a failed transaction leaves nothing"
    );
    // Platform and site: their own shapes, the same status and header.
    faulty.fail("COMPANY#", true);
    let bearer = format!("Bearer {token}");
    let req = gateway_request(
        "GET",
        "/api/businesses/1/settings",
        &[("authorization", &bearer)],
        None,
    )
    .with_path_parameters(std::collections::HashMap::from([(
        "BusinessID".to_string(),
        company.company_id.to_string(),
    )]));
    let resp = admit_functions::get_business_settings::handler(&app, req).await;
    assert_eq!(retry_after(&resp).as_deref(), Some("2"));
    let got = read_as("get_business_settings", resp);
    assert_eq!((got.0, &got.1["Status"]), (503, &json!(503)), "{}", got.1);
    let body = json!({"dateFrom": "2026-01-01T00:00:00Z", "dateTo": "2030-01-01T00:00:00Z"});
    let resp = admit_functions::user_activity_report::handler(
        &app,
        gateway_request(
            "POST",
            "/api/rest/v1/management/user/activity",
            &[("authorization", &bearer)],
            Some(&body.to_string()),
        ),
    )
    .await;
    assert_eq!(retry_after(&resp).as_deref(), Some("2"));
    let got = read_as("user_activity_report", resp);
    assert_eq!(got.0, 503, "{}", got.1);
    assert!(got.1["message"].is_string(), "{}", got.1);
    // Back: served.
    faulty.heal();
    let resp = admit_functions::invite_mi_user::handler(
        &app,
        gateway_request(
            "POST",
            "/rest/user/miinvite",
            &[("x-nextinteract-authtoken", &token)],
            Some(&invite.to_string()),
        ),
    )
    .await;
    assert_eq!(read_as("invite_mi_user", resp).0, 200);
}
admit_tests::both_backends!(an_outage_answers_503_with_retry_after_in_each_family);

// ---------------------------------------------------------------------------------------------
// Hostile bodies

/// Invalid UTF-8, deep nesting, numbers past any range, overlong strings and a name that tries
/// to add an email header: each a clear 4xx in the family's shape (never a 5xx), and a name
/// with a line break reaches no email header.
async fn hostile_bodies_get_a_clear_refusal(backend: Backend) {
    let (t, company) = world(backend).await;
    let app = &t.app;
    let token = auth_token(app, ADMIN.0, ADMIN.1).await;
    let session = [("x-nextinteract-authtoken", token.as_str())];
    let bearer = format!("Bearer {token}");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let overlong = json!({"companyId": company.company_id, "contact": {"firstname": "x".repeat(60_000), "lastname": "L", "email1": "long@example.com"}}).to_string();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid UTF-8",
            b"{\"emailAddress\": \"a\xff\xfe@example.com\"}".to_vec(),
        ),
        ("deep nesting", deep.into_bytes()),
        (
            "a number past any range",
            br#"{"companyId": 1e400, "contact": {"email1": "n@example.com"}}"#.to_vec(),
        ),
        (
            "an id past 2^53",
            br#"{"companyId": 9007199254740993, "contact": {"email1": "n@example.com"}}"#.to_vec(),
        ),
        ("an overlong name", overlong.into_bytes()),
        (
            "a NUL in a name",
            br#"{"companyId": 1, "contact": {"firstname": "a\u0000b", "email1": "z@example.com"}}"#
                .to_vec(),
        ),
    ];
    for (what, bytes) in &bodies {
        for (route, headers) in [
            ("/rest/user/miinvite", &session[..]),
            (
                "/api/users/invitations",
                &[("authorization", bearer.as_str())][..],
            ),
            (
                "/api/rest/v1/management/users/invite",
                &[("authorization", bearer.as_str())][..],
            ),
        ] {
            let mut req = gateway_request("POST", route, headers, None);
            *req.body_mut() = lambda_http::Body::Binary(bytes.clone());
            let resp = match route {
                "/rest/user/miinvite" => admit_functions::invite_mi_user::handler(app, req).await,
                "/api/users/invitations" => {
                    admit_functions::invite_platform_users::handler(app, req).await
                }
                _ => admit_functions::invite_site_users::handler(app, req).await,
            };
            let status = resp.status().as_u16();
            assert!(
                (400..500).contains(&status),
                "{what} to {route}: {status} {:?}",
                resp.body()
            );
        }
    }
    // A name with a line break and a header after it: the invitation goes out, and its email
    // has no such header.
    let sneaky = json!({"companyId": company.company_id, "contact": {"firstname": "Eve\r\nBcc: victim@example.com", "lastname": "X", "email1": "eve@example.com"}});
    let resp = admit_functions::invite_mi_user::handler(
        app,
        gateway_request(
            "POST",
            "/rest/user/miinvite",
            &session,
            Some(&sneaky.to_string()),
        ),
    )
    .await;
    let status = resp.status().as_u16();
    assert!(status == 200 || status == 400, "{status}");
    admit_shared::usecases::outbox::dispatch_pending(app, 50)
        .await
        .unwrap();
    for raw in t.raw_mail() {
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(!head.to_ascii_lowercase().contains("\nbcc:"), "{head}");
    }
}
admit_tests::both_backends!(hostile_bodies_get_a_clear_refusal);
