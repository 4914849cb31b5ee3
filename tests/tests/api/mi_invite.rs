//! inviteMIUser (`POST /rest/user/miinvite`) and accepting invitations, through the Lambda handlers.

use admit_shared::domain::Id;
use admit_shared::ports::store::{Index, Key, Query, SortKey};
use admit_shared::records::Role;
use admit_shared::usecases::outbox;
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{
    assert_error, auth_token, gateway_request, read, read_as, Backend, FaultyStore, TestApp,
};
use serde_json::{json, Value};

/// The example body, exactly as printed.
const SEED_EXAMPLE: &str = admit_tests::seeds::MI_INVITE;

const REP: (&str, &str) = ("rep@interact.technology", "Rep-pass-2026");
const MEMBER: (&str, &str) = ("member@interact.technology", "Member-pass-1");
const OUTSIDER: (&str, &str) = ("outsider@other.example", "Outsider-pass-1");

/// Companies 1 and 2 (2 with the outsider), company 3 with teams 21 and 22, a rep and a member.
async fn world(backend: Backend) -> TestApp {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    provision::create_company(app, "First").await.unwrap();
    let other = provision::create_company(app, "Other")
        .await
        .unwrap()
        .company_id;
    let c = provision::create_company(app, "Interact")
        .await
        .unwrap()
        .company_id;
    assert_eq!(c.get(), 3);
    for i in 1..=20 {
        provision::create_team(app, other, &format!("Other {i}"), false)
            .await
            .unwrap();
    }
    provision::create_team(app, c, "Property Investments", true)
        .await
        .unwrap();
    provision::create_team(app, c, "Equity Investments", true)
        .await
        .unwrap();
    for (who, company, role) in [
        (REP, c, Role::Rep),
        (MEMBER, c, Role::Member),
        (OUTSIDER, other, Role::Admin),
    ] {
        provision::create_user(
            app,
            NewUser {
                email: who.0,
                password: who.1,
                first_name: "X",
                last_name: "Y",
                membership: Some((company, role)),
            },
        )
        .await
        .unwrap();
    }
    t
}

async fn invite(app: &App, token: Option<&str>, body: &str) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = token
        .map(|t| vec![("x-nextinteract-authtoken", t)])
        .unwrap_or_default();
    read_as(
        "invite_mi_user",
        admit_functions::invite_mi_user::handler(
            app,
            gateway_request("POST", "/rest/user/miinvite", &headers, Some(body)),
        )
        .await,
    )
}

async fn preview(app: &App, token: &str) -> (u16, Value) {
    use lambda_http::RequestExt;
    let req = gateway_request("GET", "/rest/user/miinvite/accept", &[], None)
        .with_query_string_parameters(std::collections::HashMap::from([(
            "token".to_string(),
            token.to_string(),
        )]));
    read_as(
        "get_mi_invitation",
        admit_functions::get_mi_invitation::handler(app, req).await,
    )
}

async fn accept(app: &App, body: Value) -> (u16, Value) {
    read_as(
        "accept_mi_invitation",
        admit_functions::accept_mi_invitation::handler(
            app,
            gateway_request(
                "POST",
                "/rest/user/miinvite/accept",
                &[],
                Some(&body.to_string()),
            ),
        )
        .await,
    )
}

/// Delivers pending mail and returns the invitation tokens found in the emails sent to `to`.
async fn invitation_tokens(t: &TestApp, to: &str) -> Vec<String> {
    outbox::dispatch_pending(&t.app, 50).await.unwrap();
    let texts: Vec<String> = t
        .mail()
        .into_iter()
        .filter(|m| m.to == to)
        .map(|m| m.text)
        .collect();
    let tokens: Vec<String> = texts
        .iter()
        .filter_map(|e| e.split("accept?token=").nth(1))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect();
    if t.dynamo.is_none() {
        return tokens;
    }
    // The emulator is shared by every test of the run: keep the tokens this test's table issued.
    let mut mine = Vec::new();
    for token in tokens {
        let hash = admit_shared::domain::secrets::sha256_hex(token.as_bytes());
        let key = admit_shared::records::invitation::token_key(&hash);
        if t.app.store.get(&key).await.unwrap().is_some() {
            mine.push(token);
        }
    }
    mine
}

const OK: &str = r#"{"errorCode": 0, "errorMsg": "MI User invited."}"#;

async fn seed_example(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let rep = auth_token(app, REP.0, REP.1).await;
    assert_eq!(
        invite(app, Some(&rep), SEED_EXAMPLE).await,
        (200, serde_json::from_str(OK).unwrap())
    );
    // The contact, the pending invitation with its teams, one email queued.
    let contact = app
        .store
        .get(&Key::new("COMPANY#3", "CONTACT#1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (contact["firstname"].clone(), contact["email1"].clone()),
        (
            json!("Doctor Invited By Rep"),
            json!("aaron@interact.technology")
        )
    );
    let inv = app
        .store
        .get(&Key::new("COMPANY#3", "INVITE#aaron@interact.technology"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (inv["status"].clone(), inv["teams"].clone()),
        (json!("pending"), json!([22, 21]))
    );
    assert_eq!(admit_tests::pending_sends(app).await.len(), 1);
    let tokens = invitation_tokens(&t, "aaron@interact.technology").await;
    assert_eq!(tokens.len(), 1, "one invitation email with a link");
    let token = &tokens[0];
    assert!(
        !t.stored_text().await.contains(token.as_str()),
        "only the token's hash is stored"
    );

    // The invitee previews, then accepts with a password; the link works once.
    let (s, p) = preview(app, token).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["companyName"], json!("Interact"));
    assert_eq!(
        p["teams"],
        json!([{"teamId": 22, "teamName": "Equity Investments"}, {"teamId": 21, "teamName": "Property Investments"}])
    );
    assert_eq!(p["accountExists"], json!(false));
    assert_error(
        &accept(app, json!({"token": token, "password": "short"})).await,
        400,
        "WSPasswordLengthException",
    );
    let (s, a) = accept(app, json!({"token": token, "password": "Accept3d-pass"})).await;
    assert_eq!(s, 200, "{a}");
    let user = a["userId"].as_u64().unwrap();
    let member = app
        .store
        .get(&Key::new("COMPANY#3", format!("MEMBER#{user}")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member["teams"], json!([22, 21]));
    auth_token(app, "aaron@interact.technology", "Accept3d-pass").await;
    assert_error(
        &accept(app, json!({"token": token, "password": "Accept3d-pass"})).await,
        404,
        "WSRecordNotFoundException",
    );
    assert_error(&preview(app, token).await, 404, "WSRecordNotFoundException");
    // Invited again after accepting: refused, clearly.
    assert_error(
        &invite(app, Some(&rep), SEED_EXAMPLE).await,
        400,
        "WSInvalidParameterException",
    );
}

admit_tests::both_backends!(the_seed_example, seed_example);

async fn a_new_invitation_refreshes_the_pending_one_and_keeps_the_contact(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let rep = auth_token(app, REP.0, REP.1).await;
    assert_eq!(invite(app, Some(&rep), SEED_EXAMPLE).await.0, 200);
    let first = invitation_tokens(&t, "aaron@interact.technology").await;
    // The same offer again (other contact details, the same teams): within ten minutes the
    // address is not emailed again (429 with the wait).
    let mut same: Value = serde_json::from_str(SEED_EXAMPLE).unwrap();
    same["contact"]["firstname"] = json!("Changed");
    let resp = admit_functions::invite_mi_user::handler(
        app,
        gateway_request(
            "POST",
            "/rest/user/miinvite",
            &[("x-nextinteract-authtoken", &rep)],
            Some(&same.to_string()),
        ),
    )
    .await;
    assert_eq!(resp.headers()["retry-after"], "600");
    assert_error(&read(resp), 429, "WSTooManyRequestsException");
    // A correction (only one team) replaces the invitation at once, and the contact is kept
    // as it was.
    let again = json!({"companyId": 3, "contact": {"firstname": "Changed", "lastname": "Name", "email1": "AARON@interact.technology"}, "inviteTeams": [{"teamId": 21}]});
    assert_eq!(invite(app, Some(&rep), &again.to_string()).await.0, 200);
    let contacts = app
        .store
        .query(
            &Query::partition(Index::Table, "COMPANY#3")
                .sort(SortKey::BeginsWith("CONTACT#".into())),
        )
        .await
        .unwrap();
    assert_eq!(contacts.items.len(), 1, "never duplicated");
    assert_eq!(
        contacts.items[0]["firstname"],
        json!("Doctor Invited By Rep"),
        "details not changed"
    );
    let invites = app
        .store
        .query(
            &Query::partition(Index::Table, "COMPANY#3")
                .sort(SortKey::BeginsWith("INVITE#".into())),
        )
        .await
        .unwrap();
    assert_eq!(invites.items.len(), 1);
    assert_eq!(invites.items[0]["teams"], json!([21]));
    let all = invitation_tokens(&t, "aaron@interact.technology").await;
    assert_eq!(all.len(), 2);
    let newest = all.iter().find(|t| !first.contains(t)).unwrap();
    // The first link is revoked; the new one works.
    assert_error(
        &preview(app, &first[0]).await,
        404,
        "WSRecordNotFoundException",
    );
    provision::create_user(
        app,
        NewUser {
            email: "aaron@interact.technology",
            password: "Existing-pass-1",
            first_name: "A",
            last_name: "M",
            membership: None,
        },
    )
    .await
    .unwrap();
    let (_, p) = preview(app, newest).await;
    assert_eq!(p["accountExists"], json!(true));
    // The address has a verified account: accepting needs its owner's password (or session).
    let without = accept(app, json!({"token": newest})).await;
    assert_error(&without, 401, "WSInvalidLoginException");
    let wrong = accept(app, json!({"token": newest, "password": "Not-the-pass-1"})).await;
    assert_error(&wrong, 401, "WSInvalidLoginException");
    let (s, a) = accept(app, json!({"token": newest, "password": "Existing-pass-1"})).await;
    assert_eq!(s, 200, "{a}");
    let member = app
        .store
        .get(&Key::new("COMPANY#3", format!("MEMBER#{}", a["userId"])))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member["teams"], json!([21]));
}
admit_tests::both_backends!(a_new_invitation_refreshes_the_pending_one_and_keeps_the_contact);

async fn every_seed_exception_is_reachable(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let rep = auth_token(app, REP.0, REP.1).await;
    let body = |company: u64, teams: Value, contact: Value| {
        json!({"companyId": company, "contact": contact, "inviteTeams": teams}).to_string()
    };
    let person = json!({"firstname": "A", "lastname": "B", "email1": "new@interact.technology"});
    // Tokens.
    assert_error(
        &invite(app, None, SEED_EXAMPLE).await,
        401,
        "WSInvalidAuthTokenException",
    );
    assert_error(
        &invite(app, Some("0123"), SEED_EXAMPLE).await,
        401,
        "WSInvalidAuthTokenException",
    );
    // Parameters.
    let invalid = |got: (u16, Value)| assert_error(&got, 400, "WSInvalidParameterException");
    invalid(invite(app, Some(&rep), "{").await);
    invalid(invite(app, Some(&rep), &json!({"contact": person}).to_string()).await);
    invalid(invite(app, Some(&rep), &json!({"companyId": 3}).to_string()).await);
    for missing in ["firstname", "lastname", "email1"] {
        let mut c = person.clone();
        c.as_object_mut().unwrap().remove(missing);
        invalid(invite(app, Some(&rep), &body(3, json!([]), c)).await);
    }
    invalid(invite(app, Some(&rep), &body(3, json!([]), json!({"firstname": "A", "lastname": "B", "email1": "new@interact.technology", "externalId": ""}))).await);
    invalid(
        invite(
            app,
            Some(&rep),
            &body(3, json!([{"teamName": "no id"}]), person.clone()),
        )
        .await,
    );
    // Companies the caller is not in look the same whether they exist or not.
    let theirs = invite(app, Some(&rep), &body(2, json!([]), person.clone())).await;
    let nowhere = invite(app, Some(&rep), &body(999, json!([]), person.clone())).await;
    invalid(theirs.clone());
    assert_eq!(theirs, nowhere);
    // A plain member may not invite while the company's usersMayInvite is off.
    provision::set_setting(app, Id::new(3).unwrap(), "usersMayInvite", "false")
        .await
        .unwrap();
    let member = auth_token(app, MEMBER.0, MEMBER.1).await;
    assert_error(
        &invite(app, Some(&member), &body(3, json!([]), person.clone())).await,
        403,
        "WSInvitingDisabledException",
    );
    // Teams of another company.
    assert_error(
        &invite(
            app,
            Some(&rep),
            &body(
                3,
                json!([{"teamId": 21}, {"teamId": 5, "teamName": "Other 5"}]),
                person.clone(),
            ),
        )
        .await,
        400,
        "WSInvalidTeamException",
    );
    // Nothing was written by any refused call.
    let contacts = app
        .store
        .query(
            &Query::partition(Index::Table, "COMPANY#3")
                .sort(SortKey::BeginsWith("CONTACT#".into())),
        )
        .await
        .unwrap();
    assert!(contacts.items.is_empty());
    assert!(admit_tests::pending_sends(app).await.is_empty());

    // Storage failures: the token lookup, then the company's records.
    let faulty = FaultyStore::new(app.store.clone());
    let broken = App {
        store: faulty.clone(),
        ..app.clone()
    };
    faulty.fail("SESSION#", true);
    assert_error(
        &invite(&broken, Some(&rep), SEED_EXAMPLE).await,
        503,
        "WSCacheServiceException",
    );
    faulty.fail("COMPANY#", false);
    assert_error(
        &invite(&broken, Some(&rep), SEED_EXAMPLE).await,
        500,
        "WSCompanyServiceException",
    );
    faulty.fail("COMPANY#", true);
    assert_error(
        &invite(&broken, Some(&rep), SEED_EXAMPLE).await,
        503,
        "WSCompanyServiceUnavailableException",
    );
    faulty.heal();
    assert_eq!(invite(&broken, Some(&rep), SEED_EXAMPLE).await.0, 200);
}
admit_tests::both_backends!(every_seed_exception_is_reachable);

async fn invitations_expire_after_the_company_s_invitation_days(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let rep = auth_token(app, REP.0, REP.1).await;
    assert_eq!(invite(app, Some(&rep), SEED_EXAMPLE).await.0, 200);
    let token = invitation_tokens(&t, "aaron@interact.technology")
        .await
        .remove(0);
    assert_eq!(preview(app, &token).await.0, 200);
    t.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::seconds(1));
    assert_error(&preview(app, &token).await, 410, "WSExpiredException");
    assert_error(
        &accept(app, json!({"token": token, "password": "Accept3d-pass"})).await,
        410,
        "WSExpiredException",
    );
    // A new invitation makes a new, working link.
    let rep = auth_token(app, REP.0, REP.1).await;
    assert_eq!(invite(app, Some(&rep), SEED_EXAMPLE).await.0, 200);
    let fresh = invitation_tokens(&t, "aaron@interact.technology").await;
    let newest = fresh.iter().find(|x| **x != token).expect("a new link");
    assert_eq!(
        accept(app, json!({"token": newest, "password": "Accept3d-pass"}))
            .await
            .0,
        200
    );
}
admit_tests::both_backends!(invitations_expire_after_the_company_s_invitation_days);

/// RFC 3339, UTC, milliseconds: the one timestamp format of the API.
fn is_api_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

async fn one_rule_for_members_a_required_password_and_one_timestamp_format(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let rep = auth_token(app, REP.0, REP.1).await;
    // An active member of the company is not invited: it says so.
    let member =
        json!({"companyId": 3, "contact": {"firstname": "M", "lastname": "M", "email1": MEMBER.0}});
    let refused = invite(app, Some(&rep), &member.to_string()).await;
    assert_error(&refused, 400, "WSInvalidParameterException");
    assert!(
        refused.1["errorMsg"]
            .as_str()
            .unwrap()
            .contains("is already a member of this company"),
        "{}",
        refused.1
    );
    assert!(
        admit_tests::pending_sends(app).await.is_empty(),
        "no email queued"
    );

    // Someone invited, not yet a member: invited, previewed, accepted.
    assert_eq!(invite(app, Some(&rep), SEED_EXAMPLE).await.0, 200);
    let token = invitation_tokens(&t, "aaron@interact.technology")
        .await
        .remove(0);
    let (status, shown) = preview(app, &token).await;
    assert_eq!(status, 200, "{shown}");
    assert!(is_api_timestamp(&shown["expiresAt"]), "{shown}");
    // Without a password a new account cannot be made: the answer says what is missing.
    let got = accept(app, json!({ "token": token })).await;
    assert_error(&got, 400, "WSInvalidParameterException");
    assert_eq!(got.1["errorMsg"], json!("password is required"));
    let got = accept(app, json!({"token": token, "password": "Accept3d-pass"})).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let (status, logged_in) =
        admit_tests::login(app, "aaron@interact.technology", "Accept3d-pass").await;
    assert_eq!(status, 200);
    assert!(is_api_timestamp(&logged_in["expiresAt"]), "{logged_in}");

    // Who accepted before is now a member: the same rule, the same answer.
    let again = invite(app, Some(&rep), SEED_EXAMPLE).await;
    assert_eq!(
        (again.0, &again.1["exception"]),
        (refused.0, &refused.1["exception"])
    );
    assert!(again.1["errorMsg"]
        .as_str()
        .unwrap()
        .contains("is already a member of this company"));
}
admit_tests::both_backends!(one_rule_for_members_a_required_password_and_one_timestamp_format);
