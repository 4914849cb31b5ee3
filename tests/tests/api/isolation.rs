//! Tenant isolation, route by route: for every route that takes an id (a user, a team, a
//! company, a contact, a device, a notification, an invitation's address), a caller of company A
//! naming company B's record gets exactly the answer it gets for a record that does not exist
//! (the same status and body, the id aside), and the store is unchanged by it. Requests go
//! through the endpoint table's routing, as `admit serve` and API Gateway route them.

use admit_shared::domain::{EmailAddress, Id};
use admit_shared::records::{contact, ApiKeyType, Role};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{auth_token, gateway_request, read, Backend, TestApp};
use serde_json::{json, Value};

const PW: &str = "Isolation-pass-2026";
const A_ADMIN: &str = "admin@a.example";
const A_MEMBER: &str = "member@a.example";
const B_ADMIN: &str = "admin@b.example";
const B_MEMBER: &str = "member@b.example";
const B_INVITEE: &str = "invitee@b.example";

/// Company A (1) with team 1, its admin (user 1) and a member (2); company B (2) with team 2,
/// its admin (3) and a member (4) who has a device and a notification; B has a pending
/// invitation and a contact. Returns the app and both admin keys.
async fn world(backend: Backend) -> (TestApp, String, String) {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let a = provision::create_company(app, "A")
        .await
        .unwrap()
        .company_id;
    let b = provision::create_company(app, "B")
        .await
        .unwrap()
        .company_id;
    provision::create_team(app, a, "A team", true)
        .await
        .unwrap();
    provision::create_team(app, b, "B team", true)
        .await
        .unwrap();
    for (email, company, role) in [
        (A_ADMIN, a, Role::Admin),
        (A_MEMBER, a, Role::Member),
        (B_ADMIN, b, Role::Admin),
        (B_MEMBER, b, Role::Member),
    ] {
        provision::create_user(
            app,
            NewUser {
                email,
                password: PW,
                first_name: "F",
                last_name: "L",
                membership: Some((company, role)),
            },
        )
        .await
        .unwrap();
    }
    let (_, a_key) = provision::create_api_key(app, a, ApiKeyType::Admin)
        .await
        .unwrap();
    let (_, b_key) = provision::create_api_key(app, b, ApiKeyType::Admin)
        .await
        .unwrap();
    (t, a_key, b_key)
}

/// A request routed by the endpoint table, as API Gateway delivers it.
async fn send(
    app: &App,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let path = uri.split('?').next().unwrap();
    let (endpoint, _, _) =
        admit_functions::find(method, path).unwrap_or_else(|_| panic!("no route {method} {path}"));
    let body = body.map(|b| b.to_string());
    let req = gateway_request(method, uri, headers, body.as_deref());
    read(
        admit_functions::dispatch(endpoint.name, app, req)
            .await
            .unwrap(),
    )
}

/// The answer with the ids it names taken out of its strings (whole words only).
fn without(got: &(u16, Value), ids: &[&str]) -> (u16, Value) {
    fn scrub(v: &Value, ids: &[&str]) -> Value {
        match v {
            Value::String(s) => {
                let words: Vec<String> = s
                    .split_inclusive(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '@' || c == '.' || c == '_')
                    })
                    .map(|w| {
                        let core = w.trim_end_matches(|c: char| {
                            !(c.is_ascii_alphanumeric() || c == '@' || c == '.' || c == '_')
                        });
                        let core = core.trim_end_matches('.');
                        match ids.contains(&core) {
                            true => w.replacen(core, "<id>", 1),
                            false => w.to_string(),
                        }
                    })
                    .collect();
                Value::String(words.concat())
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| scrub(x, ids)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), scrub(x, ids))).collect())
            }
            other => other.clone(),
        }
    }
    (got.0, scrub(&got.1, ids))
}

/// B's record and a missing one get one answer, and B's changes nothing.
async fn same_as_missing(
    t: &TestApp,
    what: &str,
    call: impl AsyncFn(&str) -> (u16, Value),
    b_id: &str,
    missing: &str,
) {
    let before = t.stored_text().await;
    let theirs = call(b_id).await;
    let after = t.stored_text().await;
    let none = call(missing).await;
    assert!(
        (400..500).contains(&theirs.0),
        "{what}: B's record must be refused: {} {}",
        theirs.0,
        theirs.1
    );
    assert_eq!(
        without(&theirs, &[b_id]),
        without(&none, &[missing]),
        "{what}: B's record is told apart from a missing one"
    );
    assert!(
        before == after,
        "{what}: naming B's record changed the store"
    );
}

async fn isolation_scenario(backend: Backend) {
    let (t, a_key, b_key) = world(backend).await;
    let app = &t.app;
    let a_admin = [("x-nextinteract-company-api-key", a_key.as_str())];
    let b_admin = [("x-nextinteract-company-api-key", b_key.as_str())];

    // B's member gets a notification and registers a device; B invites someone and has a
    // contact (the invitation's).
    let b_member = auth_token(app, B_MEMBER, PW).await;
    let b_session = [("x-nextinteract-authtoken", b_member.as_str())];
    let got = send(
        app,
        "POST",
        "/rest/company/membership/teams/assign",
        &b_admin,
        Some(json!({"userId": 4, "teams": [2], "sendNotification": true})),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let notes = send(app, "GET", "/rest/user/notifications", &b_session, None).await;
    let note = notes.1["notifications"][0]["notificationId"]
        .as_u64()
        .expect("a notification");
    let device = send(
        app,
        "POST",
        "/rest/user/devices",
        &b_session,
        Some(json!({"platform": "ios", "deviceToken": "b-members-phone"})),
    )
    .await;
    assert_eq!(device.0, 200, "{}", device.1);
    let device = device.1["deviceId"].as_str().unwrap().to_string();
    let b_admin_token = auth_token(app, B_ADMIN, PW).await;
    let b_bearer = format!("Bearer {b_admin_token}");
    let got = send(
        app,
        "POST",
        "/api/users/invitations",
        &[("authorization", &b_bearer)],
        Some(json!({"EmailAddresses": [B_INVITEE]})),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let got = send(
        app,
        "POST",
        "/api/rest/v1/management/users/invite",
        &[("authorization", &b_bearer)],
        Some(json!({"email": "contact@b.example", "autoCreateOrLinkContact": true})),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let b_contact = contact::find_by_email(
        app.store.as_ref(),
        Id::new(2).unwrap(),
        &EmailAddress::parse("contact@b.example").unwrap(),
    )
    .await
    .unwrap()
    .expect("B's contact")
    .contact_id
    .to_string();

    let a_member = auth_token(app, A_MEMBER, PW).await;
    let a_session = [("x-nextinteract-authtoken", a_member.as_str())];
    let a_admin_token = auth_token(app, A_ADMIN, PW).await;
    let a_bearer = format!("Bearer {a_admin_token}");
    let a_bearer = [("authorization", a_bearer.as_str())];

    // The NextInteract family.
    same_as_missing(
        &t,
        "a member's profile",
        async |id: &str| {
            send(
                app,
                "GET",
                &format!("/rest/company/membership/user?userId={id}"),
                &a_admin,
                None,
            )
            .await
        },
        "4",
        "44",
    )
    .await;
    same_as_missing(
        &t,
        "assigning B's member",
        async |id: &str| {
            let user: u64 = id.parse().unwrap();
            send(
                app,
                "POST",
                "/rest/company/membership/teams/assign",
                &a_admin,
                Some(json!({"userId": user, "teams": [1]})),
            )
            .await
        },
        "4",
        "44",
    )
    .await;
    same_as_missing(
        &t,
        "assigning to B's team",
        async |id: &str| {
            let team: u64 = id.parse().unwrap();
            send(
                app,
                "POST",
                "/rest/company/membership/teams/assign",
                &a_admin,
                Some(json!({"userId": 2, "teams": [team]})),
            )
            .await
        },
        "2",
        "22",
    )
    .await;
    same_as_missing(
        &t,
        "marking B's notification read",
        async |id: &str| {
            let n: u64 = id.parse().unwrap();
            send(
                app,
                "POST",
                "/rest/user/notifications/read",
                &a_session,
                Some(json!({"notificationIds": [n]})),
            )
            .await
        },
        &note.to_string(),
        &(note + 1000).to_string(),
    )
    .await;
    same_as_missing(
        &t,
        "removing B's device",
        async |id: &str| {
            send(
                app,
                "DELETE",
                &format!("/rest/user/devices/{id}"),
                &a_session,
                None,
            )
            .await
        },
        &device,
        "0123456789abcdef0123",
    )
    .await;
    same_as_missing(&t, "inviting into company B", async |id: &str| {
        let c: u64 = id.parse().unwrap();
        send(app, "POST", "/rest/user/miinvite", &a_session,
            Some(json!({"companyId": c, "contact": {"firstname": "X", "lastname": "Y", "email1": "x@a.example"}}))).await
    }, "2", "22").await;
    let a_admin_session = [("x-nextinteract-authtoken", a_admin_token.as_str())];
    same_as_missing(&t, "inviting to B's team", async |id: &str| {
        let team: u64 = id.parse().unwrap();
        send(app, "POST", "/rest/user/miinvite", &a_admin_session,
            Some(json!({"companyId": 1, "contact": {"firstname": "X", "lastname": "Y", "email1": "x@a.example"}, "inviteTeams": [{"teamId": team}]}))).await
    }, "2", "22").await;

    // The platform family: B's business by its id, B's invitation by its address.
    for (method, tail, body) in [
        ("GET", "settings", None),
        ("PUT", "settings", Some(json!({"InvitationDays": 9}))),
        ("GET", "invitations", None),
        (
            "POST",
            "invitations/resend",
            Some(json!({"EmailAddress": B_INVITEE})),
        ),
        (
            "POST",
            "invitations/revoke",
            Some(json!({"EmailAddress": B_INVITEE})),
        ),
    ] {
        let what = format!("{method} B's {tail}");
        same_as_missing(
            &t,
            &what,
            async |id: &str| {
                send(
                    app,
                    method,
                    &format!("/api/businesses/{id}/{tail}"),
                    &a_bearer,
                    body.clone(),
                )
                .await
            },
            "2",
            "22",
        )
        .await;
    }
    same_as_missing(
        &t,
        "leaving business B",
        async |id: &str| {
            send(
                app,
                "DELETE",
                &format!("/api/users/me/businesses/{id}"),
                &a_bearer,
                None,
            )
            .await
        },
        "2",
        "22",
    )
    .await;
    same_as_missing(
        &t,
        "inviting into business B",
        async |id: &str| {
            send(
                app,
                "POST",
                &format!("/api/users/invitations?BusinessID={id}"),
                &a_bearer,
                Some(json!({"EmailAddresses": ["y@a.example"]})),
            )
            .await
        },
        "2",
        "22",
    )
    .await;
    for verb in ["resend", "revoke"] {
        same_as_missing(
            &t,
            &format!("{verb} of B's invitation in A"),
            async |address: &str| {
                send(
                    app,
                    "POST",
                    &format!("/api/businesses/1/invitations/{verb}"),
                    &a_bearer,
                    Some(json!({"EmailAddress": address})),
                )
                .await
            },
            B_INVITEE,
            "nobody@b.example",
        )
        .await;
    }

    // The site family: B's groups, B's contact, B's users in the report.
    same_as_missing(
        &t,
        "a site invite to B's group",
        async |id: &str| {
            let group: u64 = id.parse().unwrap();
            send(
                app,
                "POST",
                "/api/rest/v1/management/users/invite",
                &a_bearer,
                Some(json!({"email": "z@a.example", "groups": [group]})),
            )
            .await
        },
        "2",
        "22",
    )
    .await;
    same_as_missing(
        &t,
        "a site invite mapped to B's contact",
        async |id: &str| {
            let c: u64 = id.parse().unwrap();
            send(
                app,
                "POST",
                "/api/rest/v1/management/users/invite",
                &a_bearer,
                Some(json!({"email": "z@a.example", "mappedContactID": c})),
            )
            .await
        },
        &b_contact,
        "999",
    )
    .await;
    // The report answers 200 for any ids: B's users give no rows, as unknown ids do.
    let report = async |id: u64| {
        send(app, "POST", "/api/rest/v1/management/user/activity", &a_bearer,
            Some(json!({"userIds": [id], "dateFrom": "2000-01-01T00:00:00Z", "dateTo": "2100-01-01T00:00:00Z"}))).await
    };
    let theirs = report(4).await;
    assert_eq!(theirs.0, 200, "{}", theirs.1);
    assert_eq!(
        without(&theirs, &["4"]),
        without(&report(44).await, &["44"])
    );
    assert!(
        theirs.1.to_string().contains("\"totalRecords\":0"),
        "{}",
        theirs.1
    );
}

admit_tests::both_backends!(another_companys_ids_are_unknown, isolation_scenario);
