//! The platform family: `POST /api/users/invitations` with bearer and cookie
//! sessions, CSRF, media types, the usersMayInvite setting, business settings, and the
//! invitation lifecycle's admin tools (list, resend, revoke) with cross-company isolation.

use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::outbox;
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{assert_error, gateway_request, read, Backend, TestApp};
use lambda_http::{Body, RequestExt, Response};
use serde_json::{json, Value};

/// The seed's sample body, exactly as printed.
const SEED_BODY: &str = admit_tests::seeds::PLATFORM_INVITE;

const ADMIN: (&str, &str) = ("admin@acme.example", "Admin-pass-2026");
const MEMBER: (&str, &str) = ("member@acme.example", "Member-pass-2026");
const OTHER_ADMIN: (&str, &str) = ("admin@other.example", "Other-pass-2026");

/// Business 1 "Acme" (an admin and a member), business 2 "Other" (an admin).
async fn world(backend: Backend) -> TestApp {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let acme = provision::create_company(app, "Acme")
        .await
        .unwrap()
        .company_id;
    let other = provision::create_company(app, "Other")
        .await
        .unwrap()
        .company_id;
    provision::create_api_key(app, acme, ApiKeyType::App)
        .await
        .unwrap();
    for (who, c, role) in [
        (ADMIN, acme, Role::Admin),
        (MEMBER, acme, Role::Member),
        (OTHER_ADMIN, other, Role::Admin),
    ] {
        provision::create_user(
            app,
            NewUser {
                email: who.0,
                password: who.1,
                first_name: "Pat",
                last_name: "Lee",
                membership: Some((c, role)),
            },
        )
        .await
        .unwrap();
    }
    t
}

/// Logs in; with `cookie`, asks for the session cookie and returns (token, csrf token).
async fn login(
    app: &App,
    who: (&str, &str),
    cookie: bool,
) -> (String, Option<String>, Response<Body>) {
    let body = json!({"emailAddress": who.0, "password": who.1, "setCookie": cookie}).to_string();
    let resp = admit_functions::login_user::handler(
        app,
        gateway_request("POST", "/rest/user/login", &[], Some(&body)),
    )
    .await;
    let (status, v) = {
        let Body::Text(t) = resp.body() else {
            panic!("login body")
        };
        (
            resp.status().as_u16(),
            serde_json::from_str::<Value>(t).unwrap(),
        )
    };
    assert_eq!(status, 200, "{v}");
    let token = if cookie {
        // A cookie login keeps the token out of the body: it is in the HttpOnly cookie only.
        assert!(v.get("authToken").is_none(), "{v}");
        let set = resp.headers()["set-cookie"].to_str().unwrap();
        set.strip_prefix("admit_session=")
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string()
    } else {
        v["authToken"].as_str().unwrap().to_string()
    };
    let csrf = v["csrfToken"].as_str().map(str::to_string);
    (token, csrf, resp)
}

fn bearer(token: &str) -> (String, String) {
    ("authorization".into(), format!("Bearer {token}"))
}

async fn invite(
    app: &App,
    headers: &[(String, String)],
    body: &str,
) -> (u16, Value, Response<Body>) {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let resp = admit_functions::invite_platform_users::handler(
        app,
        gateway_request("POST", "/api/users/invitations", &h, Some(body)),
    )
    .await;
    let status = resp.status().as_u16();
    let body = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body, resp)
}

fn platform_error(got: &(u16, Value, Response<Body>), status: u16) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["Status"], json!(status), "{}", got.1);
    assert!(
        got.1["Message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

async fn call(
    app: &App,
    method: &str,
    path: &str,
    business: u64,
    headers: &[(String, String)],
    body: Option<&str>,
    query: &[(&str, &str)],
) -> (u16, Value) {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut req = gateway_request(method, path, &h, body).with_path_parameters(
        std::collections::HashMap::from([("BusinessID".to_string(), business.to_string())]),
    );
    if !query.is_empty() {
        req = req.with_query_string_parameters(
            query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>(),
        );
    }
    let resp = match (method, path.rsplit('/').next().unwrap_or_default()) {
        ("GET", "settings") => admit_functions::get_business_settings::handler(app, req).await,
        ("PUT", "settings") => admit_functions::put_business_settings::handler(app, req).await,
        ("GET", "invitations") => admit_functions::list_invitations::handler(app, req).await,
        ("POST", "resend") => admit_functions::resend_invitation::handler(app, req).await,
        ("POST", "revoke") => admit_functions::revoke_invitation::handler(app, req).await,
        other => panic!("no route {other:?}"),
    };
    read(resp)
}

async fn the_seed_sample_gets_the_seed_answer_in_the_negotiated_type(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let (token, _, _) = login(app, MEMBER, false).await;
    let mut h = vec![bearer(&token)];
    h.push((
        "content-type".into(),
        "application/json; charset=UTF-8".into(),
    ));
    h.push(("accept".into(), "*/*".into()));
    let got = invite(app, &h, SEED_BODY).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1, json!(["jane.mead@acmepaymentscorp.com"]));
    assert_eq!(got.2.headers()["content-type"], "application/json");
    // The email names the inviter and the business and carries the message.
    outbox::dispatch_pending(app, 50).await.unwrap();
    let sent = t.mail();
    let mut mail: Vec<admit_tests::Mail> = sent
        .into_iter()
        .filter(|m| m.to == "jane.mead@acmepaymentscorp.com")
        .collect();
    assert_eq!(mail.len(), 1);
    let mail = [mail.pop().expect("the invitation email")];
    assert_eq!(mail[0].subject, "Pat Lee invited you to Acme");
    assert!(
        mail[0].text.contains("Pat Lee invited you to join Acme"),
        "{}",
        mail[0].text
    );
    assert!(mail[0]
        .text
        .contains("You should join this awesome app management platform."));
    let html = mail[0].html.as_deref().expect("an HTML part");
    assert!(html.contains("You should join this awesome app management platform."));
    assert!(html.contains("accept?token=inv_"), "{html}");
    // Each vendor media type, with or without a charset, is read and answered.
    for v in ["v71", "v72", "v80", "v81"] {
        let m = format!("application/vnd.soa.{v}+json");
        let body = json!({"EmailAddresses": [format!("{v}@example.com")]}).to_string();
        let h = vec![
            bearer(&token),
            ("content-type".into(), format!("{m}; charset=UTF-8")),
            ("accept".into(), m.clone()),
        ];
        let got = invite(app, &h, &body).await;
        assert_eq!(got.0, 200, "{}", got.1);
        assert_eq!(got.2.headers()["content-type"], m.as_str());
    }
    // 415 for another request type, 406 for an Accept nothing satisfies.
    let h = vec![bearer(&token), ("content-type".into(), "text/plain".into())];
    platform_error(&invite(app, &h, SEED_BODY).await, 415);
    let h = vec![
        bearer(&token),
        ("content-type".into(), "application/json".into()),
        ("accept".into(), "text/html".into()),
    ];
    platform_error(&invite(app, &h, SEED_BODY).await, 406);
}

async fn addresses_are_deduped_members_left_out_and_limits_enforced(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let (token, _, _) = login(app, ADMIN, false).await;
    let h = vec![
        bearer(&token),
        ("content-type".into(), "application/json".into()),
    ];
    let body =
        json!({"EmailAddresses": ["New@Example.com", "new@example.com ", MEMBER.0]}).to_string();
    let got = invite(app, &h, &body).await;
    assert_eq!(got.1, json!(["new@example.com"]), "members are in already");
    // Again within ten minutes: listed, not emailed twice.
    let got = invite(app, &h, &body).await;
    assert_eq!(got.1, json!(["new@example.com"]));
    assert_eq!(admit_tests::pending_sends(app).await.len(), 1);
    for bad in [
        json!({"EmailAddresses": []}),
        json!({"EmailAddresses": ["not an address"]}),
        json!({"EmailAddresses": (0..26).map(|i| format!("a{i}@example.com")).collect::<Vec<_>>()}),
        json!({"EmailAddresses": ["a@example.com"], "Message": "x".repeat(1001)}),
    ] {
        platform_error(&invite(app, &h, &bad.to_string()).await, 400);
    }
}

async fn the_setting_off_is_401_and_members_then_use_no_door(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let (admin, _, _) = login(app, ADMIN, false).await;
    let (member, _, _) = login(app, MEMBER, false).await;
    let json_ct = ("content-type".to_string(), "application/json".to_string());
    // Admins turn it off through the API.
    let h = vec![bearer(&admin), json_ct.clone()];
    let (status, s) = call(
        app,
        "PUT",
        "/api/businesses/1/settings",
        1,
        &h,
        Some(r#"{"UsersMayInvite": false}"#),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["UsersMayInvite"], json!(false));
    let h = vec![bearer(&member), json_ct.clone()];
    platform_error(&invite(app, &h, SEED_BODY).await, 401);
    // inviteMIUser: only reps and admins now.
    let mi = json!({"companyId": 1, "contact": {"firstname": "J", "lastname": "M", "email1": "j@example.com"}});
    let resp = admit_functions::invite_mi_user::handler(
        app,
        gateway_request(
            "POST",
            "/rest/user/miinvite",
            &[("x-nextinteract-authtoken", member.as_str())],
            Some(&mi.to_string()),
        ),
    )
    .await;
    assert_error(&read(resp), 403, "WSInvitingDisabledException");
    // A member may not change settings, and sees no security settings.
    let (status, _) = call(
        app,
        "PUT",
        "/api/businesses/1/settings",
        1,
        &h,
        Some(r#"{"UsersMayInvite": true}"#),
        &[],
    )
    .await;
    assert_eq!(status, 403);
    let (status, s) = call(
        app,
        "GET",
        "/api/businesses/1/settings",
        1,
        &h,
        None,
        &[("IncludeSecuritySettings", "true")],
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert!(s.get("SecuritySettings").is_none(), "{s}");
    let h = vec![bearer(&admin)];
    let (_, s) = call(
        app,
        "GET",
        "/api/businesses/1/settings",
        1,
        &h,
        None,
        &[("IncludeSecuritySettings", "true")],
    )
    .await;
    assert_eq!(s["SecuritySettings"]["CsrfRequired"], json!(true), "{s}");
    let (_, s) = call(app, "GET", "/api/businesses/1/settings", 1, &h, None, &[]).await;
    assert!(s.get("SecuritySettings").is_none(), "only when asked: {s}");
    // Another business is not found, whether or not it exists.
    let (status, _) = call(app, "GET", "/api/businesses/2/settings", 2, &h, None, &[]).await;
    assert_eq!(status, 404);
    let (status, _) = call(app, "GET", "/api/businesses/99/settings", 99, &h, None, &[]).await;
    assert_eq!(status, 404);
}

async fn cookie_sessions_need_the_csrf_header_bearer_sessions_do_not(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let (token, csrf, resp) = login(app, MEMBER, true).await;
    let csrf = csrf.expect("a CSRF token with a cookie session");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with(&format!("admit_session={token};")),
        "{cookie}"
    );
    for attr in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let session = (
        "cookie".to_string(),
        format!("theme=dark; admit_session={token}"),
    );
    let json_ct = ("content-type".to_string(), "application/json".to_string());
    // Missing, wrong, for another business: 401.
    platform_error(
        &invite(app, &[session.clone(), json_ct.clone()], SEED_BODY).await,
        401,
    );
    for (name, value) in [
        ("x-csrf-token_1", "csrf_wrong"),
        ("x-csrf-token_2", csrf.as_str()),
    ] {
        let h = vec![
            session.clone(),
            json_ct.clone(),
            (name.into(), value.into()),
        ];
        platform_error(&invite(app, &h, SEED_BODY).await, 401);
    }
    let h = vec![
        session.clone(),
        json_ct.clone(),
        ("X-Csrf-Token_1".into(), csrf.clone()),
    ];
    let got = invite(app, &h, SEED_BODY).await;
    assert_eq!(got.0, 200, "{}", got.1);
    // A session without a cookie (bearer) needs no CSRF header.
    let (plain, _, _) = login(app, MEMBER, false).await;
    let got = invite(app, &[bearer(&plain), json_ct.clone()], SEED_BODY).await;
    assert_eq!(got.0, 200, "{}", got.1);
    // No session at all.
    platform_error(&invite(app, &[json_ct], SEED_BODY).await, 401);
}

async fn admins_list_resend_and_revoke_their_own_invitations_only(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let (admin, _, _) = login(app, ADMIN, false).await;
    let (other, _, _) = login(app, OTHER_ADMIN, false).await;
    let (member, _, _) = login(app, MEMBER, false).await;
    let json_ct = ("content-type".to_string(), "application/json".to_string());
    let h = vec![bearer(&admin), json_ct.clone()];
    let body = json!({"EmailAddresses": ["a@example.com", "b@example.com"]}).to_string();
    assert_eq!(invite(app, &h, &body).await.0, 200);
    let (status, page) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &h,
        None,
        &[("Status", "pending")],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["Invitations"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["Invitations"][0]["History"][0]["event"],
        json!("invited")
    );
    // Paged.
    let (_, first) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &h,
        None,
        &[("Limit", "1")],
    )
    .await;
    let after = first["NextAfter"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, second) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &h,
        None,
        &[("Limit", "1"), ("After", &after)],
    )
    .await;
    assert_eq!(
        second["Invitations"][0]["EmailAddress"],
        json!("b@example.com")
    );
    // Another business's admin sees nothing of ours and cannot act on it; a member may not.
    let oh = vec![bearer(&other), json_ct.clone()];
    let which = json!({"EmailAddress": "a@example.com"}).to_string();
    for path in [
        "/api/businesses/1/invitations/resend",
        "/api/businesses/1/invitations/revoke",
    ] {
        let (status, _) = call(app, "POST", path, 1, &oh, Some(&which), &[]).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &oh,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 404);
    let mh = vec![bearer(&member), json_ct.clone()];
    let (status, _) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &mh,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 403);
    // Resend: a new link; three sends an hour at most.
    let (status, v) = call(
        app,
        "POST",
        "/api/businesses/1/invitations/resend",
        1,
        &h,
        Some(&which),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // The answer is the invitation as stored: the send just made is in its history.
    let events = |v: &Value| -> Vec<Value> {
        v["History"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["event"].clone())
            .collect()
    };
    assert_eq!(events(&v).last(), Some(&json!("resent")), "{v}");
    assert_eq!(
        call(
            app,
            "POST",
            "/api/businesses/1/invitations/resend",
            1,
            &h,
            Some(&which),
            &[]
        )
        .await
        .0,
        200
    );
    let (status, v) = call(
        app,
        "POST",
        "/api/businesses/1/invitations/resend",
        1,
        &h,
        Some(&which),
        &[],
    )
    .await;
    assert_eq!(status, 429, "{v}");
    // Revoke: the invitation is revoked and cannot be resent; revoking twice is refused.
    let (status, v) = call(
        app,
        "POST",
        "/api/businesses/1/invitations/revoke",
        1,
        &h,
        Some(&which),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["Status"], json!("revoked"));
    assert_eq!(events(&v).last(), Some(&json!("revoked")), "{v}");
    let (status, _) = call(
        app,
        "POST",
        "/api/businesses/1/invitations/revoke",
        1,
        &h,
        Some(&which),
        &[],
    )
    .await;
    assert_eq!(status, 400);
    let (_, page) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &h,
        None,
        &[("Status", "revoked")],
    )
    .await;
    assert_eq!(page["Invitations"].as_array().unwrap().len(), 1);
    // Expired after the business's invitationDays (7 by default), and re-inviting works.
    t.clock.advance(chrono::Duration::days(8));
    let (admin, _, _) = login(app, ADMIN, false).await;
    let h = vec![bearer(&admin), json_ct];
    let (_, page) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &h,
        None,
        &[("Status", "expired")],
    )
    .await;
    assert_eq!(
        page["Invitations"][0]["EmailAddress"],
        json!("b@example.com"),
        "{page}"
    );
    let again = json!({"EmailAddresses": ["b@example.com"]}).to_string();
    assert_eq!(invite(app, &h, &again).await.1, json!(["b@example.com"]));
    let (_, page) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &h,
        None,
        &[("Status", "pending")],
    )
    .await;
    assert_eq!(page["Invitations"].as_array().unwrap().len(), 1, "{page}");
}

/// Members cannot undo an admin's revocation or replace a pending invitation, the history goes
/// on across invitations, an unproven account cannot invite, and no one invites more than 100
/// addresses an hour.
async fn members_cannot_override_admins_and_invitations_are_limited(backend: Backend) {
    use admit_shared::ports::store::Update;
    use admit_shared::records::user::user_key;
    let t = world(backend).await;
    let app = &t.app;
    let (admin, _, _) = login(app, ADMIN, false).await;
    let json_ct = ("content-type".to_string(), "application/json".to_string());
    let ah = vec![bearer(&admin), json_ct.clone()];
    let one = |a: &str| json!({ "EmailAddresses": [a] }).to_string();
    assert_eq!(invite(app, &ah, &one("kept@example.com")).await.0, 200);
    assert_eq!(invite(app, &ah, &one("gone@example.com")).await.0, 200);
    let which = json!({"EmailAddress": "gone@example.com"}).to_string();
    let (status, _) = call(
        app,
        "POST",
        "/api/businesses/1/invitations/revoke",
        1,
        &ah,
        Some(&which),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    t.clock.advance(chrono::Duration::minutes(30));
    let (member, _, _) = login(app, MEMBER, false).await;
    let mh = vec![bearer(&member), json_ct.clone()];
    // A revoked invitation stays revoked; a pending one is listed but not replaced.
    let got = invite(
        app,
        &mh,
        &json!({"EmailAddresses": ["gone@example.com", "kept@example.com"]}).to_string(),
    )
    .await;
    assert_eq!(got.1, json!(["kept@example.com"]), "{}", got.1);
    let (admin, _, _) = login(app, ADMIN, false).await;
    let ah = vec![bearer(&admin), json_ct.clone()];
    let (_, page) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &ah,
        None,
        &[],
    )
    .await;
    let by = |a: &str| {
        page["Invitations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["EmailAddress"] == json!(a))
            .cloned()
            .unwrap()
    };
    assert_eq!(by("gone@example.com")["Status"], json!("revoked"));
    assert_eq!(
        by("kept@example.com")["History"].as_array().unwrap().len(),
        1
    );
    // An admin replacing it keeps the history going.
    assert_eq!(invite(app, &ah, &one("kept@example.com")).await.0, 200);
    let (_, page) = call(
        app,
        "GET",
        "/api/businesses/1/invitations",
        1,
        &ah,
        None,
        &[],
    )
    .await;
    let kept = page["Invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["EmailAddress"] == json!("kept@example.com"))
        .cloned()
        .unwrap();
    assert_eq!(kept["History"].as_array().unwrap().len(), 2, "{kept}");
    // 100 addresses an hour at most.
    for round in 0..5 {
        let batch: Vec<String> = (0..20)
            .map(|i| format!("r{round}-{i}@example.com"))
            .collect();
        let got = invite(app, &mh, &json!({ "EmailAddresses": batch }).to_string()).await;
        assert_eq!(got.0, 200, "{}", got.1);
    }
    let batch: Vec<String> = (0..20).map(|i| format!("r9-{i}@example.com")).collect();
    let got = invite(app, &mh, &json!({ "EmailAddresses": batch }).to_string()).await;
    platform_error(&got, 429);
    // A self-registered account that has not proven its address may not invite.
    app.store
        .update(
            &user_key(admit_shared::domain::Id::new(2).unwrap()),
            Update::new().set("unverified", true),
            None,
        )
        .await
        .unwrap();
    t.clock.advance(chrono::Duration::hours(1));
    let (member, _, _) = login(app, MEMBER, false).await;
    let got = invite(app, &[bearer(&member), json_ct], &one("x@example.com")).await;
    platform_error(&got, 403);
}

admit_tests::both_backends!(
    the_seed_sample_gets_the_seed_answer_in_the_negotiated_type,
    the_seed_sample_gets_the_seed_answer_in_the_negotiated_type
);

admit_tests::both_backends!(
    addresses_are_deduped_members_left_out_and_limits_enforced,
    addresses_are_deduped_members_left_out_and_limits_enforced
);

admit_tests::both_backends!(
    the_setting_off_is_401_and_members_then_use_no_door,
    the_setting_off_is_401_and_members_then_use_no_door
);

admit_tests::both_backends!(
    cookie_sessions_need_the_csrf_header_bearer_sessions_do_not,
    cookie_sessions_need_the_csrf_header_bearer_sessions_do_not
);

admit_tests::both_backends!(
    admins_list_resend_and_revoke_their_own_invitations_only,
    admins_list_resend_and_revoke_their_own_invitations_only
);

admit_tests::both_backends!(
    members_cannot_override_admins_and_invitations_are_limited,
    members_cannot_override_admins_and_invitations_are_limited
);
