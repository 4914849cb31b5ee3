//! No secret reaches a log line or the store: `admit serve`, logging at debug (more than the
//! cloud's info), is driven through every route of the endpoint table, each with a success and
//! a failure, and every password, auth and CSRF token, API key, invitation, verification and
//! reset token, and every email body it saw is then looked for in the whole log and in every
//! byte of the embedded store. (Stored secrets are hashes; the log names ids, never values.)

use super::{serve_with, DEMO_LOGIN};
use admit_shared::ports::mail::mime;
use admit_tests::{http_request, temp_dir};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;

/// What the scenario saw that must never be logged or stored as it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: &str) {
        assert!(
            value.len() >= 8,
            "{what} is too short to look for: {value:?}"
        );
        self.0.push((what.to_string(), value.to_string()));
    }
}

struct Caller {
    base: String,
}

impl Caller {
    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Value) {
        http_request(&format!("{}{path}", self.base), method, headers, body)
    }

    fn json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> (u16, Value) {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.call(method, path, &h, Some(&body.to_string()))
    }

    fn form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.call(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(&body),
        )
    }
}

fn expect(got: (u16, Value), status: u16, what: &str) -> Value {
    assert_eq!(got.0, status, "{what}: {}", got.1);
    got.1
}

/// A failure: refused with a 4xx (the exact status is the API tests' business).
fn refused(got: (u16, Value), what: &str) {
    assert!((400..500).contains(&got.0), "{what}: {} {}", got.0, got.1);
}

fn emails(mail: &Path) -> Vec<mime::Received> {
    let mut names: Vec<_> = std::fs::read_dir(mail)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|p| mime::parse(&std::fs::read_to_string(p).unwrap_or_default()))
        .collect()
}

/// Waits for an email to `to` whose text has `marker`; the token that follows it.
fn token_mailed(mail: &Path, to: &str, marker: &str) -> String {
    for _ in 0..100 {
        if let Some(t) = emails(mail)
            .iter()
            .rev()
            .filter(|m| m.to == to)
            .find_map(|m| admit_tests::link_token(&m.text, marker))
        {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no email to {to} with {marker}");
}

fn banner_value(banner: &str, label: &str) -> String {
    banner
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in the banner"))
        .trim()
        .to_string()
}

#[test]
fn no_secret_reaches_a_log_line_or_the_store() {
    let dir = temp_dir("secrets");
    let data = dir.join("data");
    let mail = data.join("mail");
    let log_path = dir.join("serve.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let s = serve_with(&data, Stdio::from(log), &[("RUST_LOG", "debug")]);
    let c = Caller {
        base: s.base.clone(),
    };
    let mut secrets = Secrets::default();
    let admin_key = banner_value(&s.banner, "admin API key:");
    let app_key = banner_value(&s.banner, "app API key:");
    secrets.add("admin key", &admin_key);
    secrets.add("app key", &app_key);
    secrets.add("demo password", "demo-pass-2026");
    let admin = [("x-nextinteract-company-api-key", admin_key.as_str())];
    let app = [("x-nextinteract-company-api-key", app_key.as_str())];
    let mut routes = std::collections::BTreeSet::new();
    let mut hit = |method: &str, path: &str| {
        routes.insert(format!("{method} {path}"));
    };

    // Sign-in, both ways, and a wrong password.
    hit("POST", "/rest/user/login");
    let login = expect(
        c.call("POST", "/rest/user/login", &[], Some(DEMO_LOGIN)),
        200,
        "login",
    );
    let token = login["authToken"].as_str().unwrap().to_string();
    secrets.add("auth token", &token);
    secrets.add("wrong password", "Wrong-secret-pass-1");
    refused(
        c.json(
            "POST",
            "/rest/user/login",
            &[],
            json!({"emailAddress": "demo@admit.example", "password": "Wrong-secret-pass-1"}),
        ),
        "wrong password",
    );
    let session = [("x-nextinteract-authtoken", token.as_str())];
    let bearer = format!("Bearer {token}");
    let bearer = [("authorization", bearer.as_str())];
    let bad_token = "f".repeat(64);
    secrets.add("presented unknown token", &bad_token);
    refused(
        c.call(
            "GET",
            "/rest/user/notifications",
            &[("x-nextinteract-authtoken", &bad_token)],
            None,
        ),
        "unknown token",
    );

    // The company-key calls.
    hit("GET", "/rest/company/teams/public");
    expect(
        c.call("GET", "/rest/company/teams/public", &app, None),
        200,
        "public teams",
    );
    let unknown_key = "0b1c5d8e-2f3a-4b6c-9d7e-000000000000";
    secrets.add("unknown key", unknown_key);
    refused(
        c.call(
            "GET",
            "/rest/company/teams/public",
            &[("x-nextinteract-company-api-key", unknown_key)],
            None,
        ),
        "unknown key",
    );
    hit("POST", "/rest/company/membership/teams/assign");
    expect(
        c.json(
            "POST",
            "/rest/company/membership/teams/assign",
            &admin,
            json!({"userId": 1, "teams": [1], "sendNotification": true}),
        ),
        200,
        "assign",
    );
    refused(
        c.json(
            "POST",
            "/rest/company/membership/teams/assign",
            &admin,
            json!({"userId": 1, "teams": [999]}),
        ),
        "assign to no team",
    );
    hit("GET", "/rest/company/membership/user");
    expect(
        c.call(
            "GET",
            "/rest/company/membership/user?userId=1",
            &admin,
            None,
        ),
        200,
        "member",
    );
    refused(
        c.call("GET", "/rest/company/membership/user?userId=1", &app, None),
        "member by app key",
    );

    // The caller's notifications and devices.
    hit("GET", "/rest/user/notifications");
    let notes = expect(
        c.call("GET", "/rest/user/notifications", &session, None),
        200,
        "notifications",
    );
    hit("POST", "/rest/user/notifications/read");
    let id = notes["notifications"][0]["notificationId"]
        .as_u64()
        .expect("the team assignment's notification");
    expect(
        c.json(
            "POST",
            "/rest/user/notifications/read",
            &session,
            json!({"notificationIds": [id]}),
        ),
        200,
        "read",
    );
    refused(
        c.json(
            "POST",
            "/rest/user/notifications/read",
            &session,
            json!({"notificationIds": []}),
        ),
        "read none",
    );
    hit("POST", "/rest/user/devices");
    let device = expect(
        c.json(
            "POST",
            "/rest/user/devices",
            &session,
            json!({"platform": "ios", "deviceToken": "device-push-token-1"}),
        ),
        200,
        "device",
    );
    refused(
        c.json(
            "POST",
            "/rest/user/devices",
            &session,
            json!({"platform": "fax"}),
        ),
        "bad device",
    );
    hit("DELETE", "/rest/user/devices/{deviceId}");
    let device_id = device["deviceId"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| device["deviceId"].to_string());
    expect(
        c.call(
            "DELETE",
            &format!("/rest/user/devices/{device_id}"),
            &session,
            None,
        ),
        200,
        "remove device",
    );
    refused(
        c.call(
            "DELETE",
            "/rest/user/devices/no-such-device",
            &session,
            None,
        ),
        "remove none",
    );

    // Self-registration, its verification by JSON and on the page.
    hit("POST", "/rest/user/mi/selfregister");
    secrets.add("self-registered password", "Selfreg-secret-2026");
    let register = |email: &str| {
        json!({"version": 2, "apiKey": app_key, "emailAddress": email, "password": "Selfreg-secret-2026",
            "firstName": "Sam", "lastName": "Lee", "sendWelcomeEmail": true})
    };
    expect(
        c.json(
            "POST",
            "/rest/user/mi/selfregister",
            &[],
            register("sam@example.com"),
        ),
        200,
        "register",
    );
    refused(
        c.json(
            "POST",
            "/rest/user/mi/selfregister",
            &[],
            register("sam@example.com"),
        ),
        "register twice",
    );
    expect(
        c.json(
            "POST",
            "/rest/user/mi/selfregister",
            &[],
            register("pat@example.com"),
        ),
        200,
        "register pat",
    );
    let sam_verify = token_mailed(&mail, "sam@example.com", "verify?token=");
    let pat_verify = token_mailed(&mail, "pat@example.com", "verify?token=");
    secrets.add("verification token", &sam_verify);
    secrets.add("verification token", &pat_verify);
    hit("GET", "/rest/user/verify");
    expect(
        c.call(
            "GET",
            &format!("/rest/user/verify?token={sam_verify}"),
            &[],
            None,
        ),
        200,
        "verify preview",
    );
    refused(c.call("GET", "/rest/user/verify?token=ver_00000000000000000000000000000000000000000000000000000000000000aa", &[], None), "verify preview unknown");
    hit("POST", "/rest/user/verify");
    refused(
        c.json(
            "POST",
            "/rest/user/verify",
            &[],
            json!({"token": sam_verify, "password": "Wrong-secret-pass-1", "newPassword": "Selfreg-secret-2026"}),
        ),
        "verify wrong",
    );
    expect(
        c.json(
            "POST",
            "/rest/user/verify",
            &[],
            json!({"token": sam_verify, "password": "Selfreg-secret-2026", "newPassword": "Selfreg-secret-2026"}),
        ),
        200,
        "verify",
    );
    hit("GET", "/account/verify");
    expect(
        c.call(
            "GET",
            &format!("/account/verify?token={pat_verify}"),
            &[],
            None,
        ),
        200,
        "verify page",
    );
    refused(c.call("GET", "/account/verify?token=ver_00000000000000000000000000000000000000000000000000000000000000aa", &[], None), "verify page unknown");
    hit("POST", "/account/verify");
    refused(
        c.form(
            "/account/verify",
            &[
                ("token", &pat_verify),
                ("password", "Wrong-secret-pass-1"),
                ("newPassword", "Selfreg-secret-2026"),
                ("confirm", "Selfreg-secret-2026"),
            ],
        ),
        "verify page wrong",
    );
    expect(
        c.form(
            "/account/verify",
            &[
                ("token", &pat_verify),
                ("password", "Selfreg-secret-2026"),
                ("newPassword", "Selfreg-secret-2026"),
                ("confirm", "Selfreg-secret-2026"),
            ],
        ),
        303,
        "verify page",
    );
    hit("GET", "/account/verify/done");
    refused(
        c.call("GET", "/account/verify/done", &[], None),
        "verified page without its cookie",
    );

    // Password reset, by JSON and on the pages.
    hit("POST", "/rest/user/password/reset");
    expect(
        c.json(
            "POST",
            "/rest/user/password/reset",
            &[],
            json!({"emailAddress": "sam@example.com"}),
        ),
        200,
        "reset request",
    );
    refused(
        c.json(
            "POST",
            "/rest/user/password/reset",
            &[],
            json!({"emailAddress": "not an address"}),
        ),
        "reset bad address",
    );
    let sam_reset = token_mailed(&mail, "sam@example.com", "reset?token=");
    secrets.add("reset token", &sam_reset);
    secrets.add("new password", "Reset-secret-2026");
    hit("POST", "/rest/user/password/reset/confirm");
    refused(
        c.json(
            "POST",
            "/rest/user/password/reset/confirm",
            &[],
            json!({"token": sam_reset, "password": "short"}),
        ),
        "reset short",
    );
    expect(
        c.json(
            "POST",
            "/rest/user/password/reset/confirm",
            &[],
            json!({"token": sam_reset, "password": "Reset-secret-2026"}),
        ),
        200,
        "reset",
    );
    hit("GET", "/account/password/forgot");
    expect(
        c.call("GET", "/account/password/forgot", &[], None),
        200,
        "forgot page",
    );
    hit("POST", "/account/password/forgot");
    expect(
        c.form(
            "/account/password/forgot",
            &[("emailAddress", "pat@example.com")],
        ),
        303,
        "forgot",
    );
    refused(
        c.form("/account/password/forgot", &[("emailAddress", "nope")]),
        "forgot bad",
    );
    hit("GET", "/account/password/forgot/sent");
    refused(
        c.call("GET", "/account/password/forgot/sent", &[], None),
        "sent page without its cookie",
    );
    let pat_reset = token_mailed(&mail, "pat@example.com", "reset?token=");
    secrets.add("reset token", &pat_reset);
    secrets.add("page password", "Pagereset-secret-2026");
    hit("GET", "/account/password/reset");
    expect(
        c.call(
            "GET",
            &format!("/account/password/reset?token={pat_reset}"),
            &[],
            None,
        ),
        200,
        "reset page",
    );
    hit("POST", "/account/password/reset");
    refused(
        c.form(
            "/account/password/reset",
            &[
                ("token", &pat_reset),
                ("password", "Pagereset-secret-2026"),
                ("confirm", "Pagereset-secret-2027"),
            ],
        ),
        "reset page mismatch",
    );
    expect(
        c.form(
            "/account/password/reset",
            &[
                ("token", &pat_reset),
                ("password", "Pagereset-secret-2026"),
                ("confirm", "Pagereset-secret-2026"),
            ],
        ),
        303,
        "reset page",
    );
    hit("GET", "/account/password/reset/done");
    refused(
        c.call("GET", "/account/password/reset/done", &[], None),
        "reset page done without its cookie",
    );

    // inviteMIUser, its preview and acceptance by JSON and on the page.
    hit("POST", "/rest/user/miinvite");
    let invite = |email: &str| json!({"companyId": 1, "contact": {"firstname": "Jo", "lastname": "Ng", "email1": email}, "inviteTeams": [{"teamId": 1}]});
    expect(
        c.json(
            "POST",
            "/rest/user/miinvite",
            &session,
            invite("jo@example.com"),
        ),
        200,
        "invite jo",
    );
    expect(
        c.json(
            "POST",
            "/rest/user/miinvite",
            &session,
            invite("kai@example.com"),
        ),
        200,
        "invite kai",
    );
    refused(
        c.json(
            "POST",
            "/rest/user/miinvite",
            &session,
            json!({"companyId": 1}),
        ),
        "invite nobody",
    );
    let jo = token_mailed(&mail, "jo@example.com", "accept?token=");
    let kai = token_mailed(&mail, "kai@example.com", "accept?token=");
    secrets.add("invitation token", &jo);
    secrets.add("invitation token", &kai);
    secrets.add("accepting password", "Accept-secret-2026");
    hit("GET", "/rest/user/miinvite/accept");
    expect(
        c.call(
            "GET",
            &format!("/rest/user/miinvite/accept?token={jo}"),
            &[],
            None,
        ),
        200,
        "invitation preview",
    );
    refused(c.call("GET", "/rest/user/miinvite/accept?token=inv_00000000000000000000000000000000000000000000000000000000000000aa", &[], None), "preview unknown");
    hit("POST", "/rest/user/miinvite/accept");
    refused(
        c.json(
            "POST",
            "/rest/user/miinvite/accept",
            &[],
            json!({"token": jo, "password": "short"}),
        ),
        "accept short",
    );
    expect(
        c.json(
            "POST",
            "/rest/user/miinvite/accept",
            &[],
            json!({"token": jo, "password": "Accept-secret-2026"}),
        ),
        200,
        "accept",
    );
    hit("GET", "/invitations/accept");
    expect(
        c.call(
            "GET",
            &format!("/invitations/accept?token={kai}"),
            &[],
            None,
        ),
        200,
        "accept page",
    );
    refused(
        c.call("GET", &format!("/invitations/accept?token={jo}"), &[], None),
        "accept page used",
    );
    hit("POST", "/invitations/accept");
    refused(
        c.form(
            "/invitations/accept",
            &[
                ("token", &kai),
                ("firstName", "Kai"),
                ("lastName", "Ng"),
                ("password", "nodigits"),
            ],
        ),
        "accept page weak",
    );
    expect(
        c.form(
            "/invitations/accept",
            &[
                ("token", &kai),
                ("firstName", "Kai"),
                ("lastName", "Ng"),
                ("password", "Accept-secret-2026"),
            ],
        ),
        303,
        "accept page",
    );
    hit("GET", "/invitations/accepted");
    refused(
        c.call("GET", "/invitations/accepted", &[], None),
        "accepted page without its cookie",
    );

    // The platform family, with a bearer token and with a cookie session.
    hit("POST", "/api/users/invitations");
    secrets.add("invitation note", "Secret-note-7731 for the invitee");
    let platform_invite = json!({"EmailAddresses": ["lu@example.com"], "Message": "Secret-note-7731 for the invitee"});
    expect(
        c.json("POST", "/api/users/invitations", &bearer, platform_invite),
        200,
        "platform invite",
    );
    refused(
        c.json(
            "POST",
            "/api/users/invitations",
            &bearer,
            json!({"EmailAddresses": ["x"]}),
        ),
        "platform invite bad",
    );
    let lu = token_mailed(&mail, "lu@example.com", "accept?token=");
    secrets.add("invitation token", &lu);
    let cookie_login = expect(
        c.json("POST", "/rest/user/login", &[], json!({"emailAddress": "demo@admit.example", "password": "demo-pass-2026", "setCookie": true})),
        200,
        "cookie login",
    );
    let csrf = cookie_login["csrfToken"].as_str().unwrap().to_string();
    secrets.add("csrf token", &csrf);
    hit("GET", "/api/businesses/{BusinessID}/settings");
    expect(
        c.call("GET", "/api/businesses/1/settings", &bearer, None),
        200,
        "settings",
    );
    refused(
        c.call("GET", "/api/businesses/999/settings", &bearer, None),
        "settings of another",
    );
    hit("PUT", "/api/businesses/{BusinessID}/settings");
    expect(
        c.json(
            "PUT",
            "/api/businesses/1/settings",
            &bearer,
            json!({"InvitationDays": 10}),
        ),
        200,
        "put settings",
    );
    refused(
        c.json(
            "PUT",
            "/api/businesses/1/settings",
            &bearer,
            json!({"InvitationDays": 99}),
        ),
        "put settings bad",
    );
    hit("GET", "/api/businesses/{BusinessID}/invitations");
    expect(
        c.call("GET", "/api/businesses/1/invitations", &bearer, None),
        200,
        "list invitations",
    );
    refused(
        c.call(
            "GET",
            "/api/businesses/1/invitations?Status=nonsense",
            &bearer,
            None,
        ),
        "list bad status",
    );
    hit("POST", "/api/businesses/{BusinessID}/invitations/resend");
    expect(
        c.json(
            "POST",
            "/api/businesses/1/invitations/resend",
            &bearer,
            json!({"EmailAddress": "lu@example.com"}),
        ),
        200,
        "resend",
    );
    refused(
        c.json(
            "POST",
            "/api/businesses/1/invitations/resend",
            &bearer,
            json!({"EmailAddress": "none@example.com"}),
        ),
        "resend none",
    );
    let lu_again = token_mailed(&mail, "lu@example.com", "accept?token=");
    secrets.add("invitation token", &lu_again);
    hit("POST", "/api/businesses/{BusinessID}/invitations/revoke");
    expect(
        c.json(
            "POST",
            "/api/businesses/1/invitations/revoke",
            &bearer,
            json!({"EmailAddress": "lu@example.com"}),
        ),
        200,
        "revoke",
    );
    refused(
        c.json(
            "POST",
            "/api/businesses/1/invitations/revoke",
            &bearer,
            json!({"EmailAddress": "lu@example.com"}),
        ),
        "revoke again",
    );
    hit("GET", "/api/users/me/businesses");
    expect(
        c.call("GET", "/api/users/me/businesses", &bearer, None),
        200,
        "my businesses",
    );
    hit("DELETE", "/api/users/me/businesses/{BusinessID}");
    refused(
        c.call("DELETE", "/api/users/me/businesses/1", &bearer, None),
        "the last admin may not leave",
    );
    let jo_login = expect(
        c.json(
            "POST",
            "/rest/user/login",
            &[],
            json!({"emailAddress": "jo@example.com", "password": "Accept-secret-2026"}),
        ),
        200,
        "jo logs in",
    );
    let jo_token = jo_login["authToken"].as_str().unwrap().to_string();
    secrets.add("auth token", &jo_token);
    let jo_bearer = format!("Bearer {jo_token}");
    expect(
        c.call(
            "DELETE",
            "/api/users/me/businesses/1",
            &[("authorization", &jo_bearer)],
            None,
        ),
        200,
        "jo leaves",
    );

    // The site family.
    hit("POST", "/api/rest/v1/management/users/invite");
    expect(
        c.json(
            "POST",
            "/api/rest/v1/management/users/invite",
            &bearer,
            json!({"email": "sita@example.com", "duration": 30, "groups": [2]}),
        ),
        200,
        "site invite",
    );
    refused(
        c.json(
            "POST",
            "/api/rest/v1/management/users/invite",
            &bearer,
            json!({"email": "sita@example.com", "duration": 9999}),
        ),
        "site invite too long",
    );
    let sita = token_mailed(&mail, "sita@example.com", "accept?token=");
    secrets.add("invitation token", &sita);
    hit("POST", "/api/rest/v1/management/user/activity");
    expect(
        c.json("POST", "/api/rest/v1/management/user/activity", &bearer, json!({"userIds": [], "dateFrom": "2026-01-01T00:00:00Z", "dateTo": "2030-01-01T00:00:00Z"})),
        200,
        "activity",
    );
    refused(
        c.json(
            "POST",
            "/api/rest/v1/management/user/activity",
            &bearer,
            json!({"dateFrom": "yesterday", "dateTo": "today"}),
        ),
        "activity bad dates",
    );

    // Signing out.
    hit("POST", "/rest/user/logout");
    expect(
        c.call("POST", "/rest/user/logout", &session, None),
        200,
        "logout",
    );
    refused(
        c.call("POST", "/rest/user/logout", &session, None),
        "logout again",
    );

    // Every route of the table was called.
    let table: std::collections::BTreeSet<String> = admit_functions::ENDPOINTS
        .iter()
        .flat_map(|e| e.routes)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let missed: Vec<_> = table.difference(&routes).collect();
    assert!(
        missed.is_empty(),
        "routes the scenario did not call: {missed:?}"
    );

    // Every email body: its text, line by line where a line is long enough to be its own.
    let sent = emails(&mail);
    assert!(sent.len() >= 8, "{} emails", sent.len());
    for m in &sent {
        for line in m.text.lines().map(str::trim).filter(|l| l.len() >= 40) {
            secrets.add("an email's text", line);
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(s);

    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        log.lines().count() >= 60,
        "the log is too short to mean anything:\n{log}"
    );
    let mut stored = String::new();
    for entry in walk(&data.join("store")) {
        stored.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry).unwrap_or_default(),
        ));
    }
    assert!(stored.len() > 10_000, "the store holds the scenario's data");
    for (what, value) in &secrets.0 {
        assert!(
            !log.contains(value.as_str()),
            "a log line holds the {what}: {value}"
        );
        if what != "an email's text" && what != "invitation note" {
            assert!(
                !stored.contains(value.as_str()),
                "the store holds the {what} as it is: {value}"
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
