//! Taking an address back, and refusals that change nothing: an address's owner who proves the
//! mailbox gets none of what a registrant did in its name; confirming an address ends the
//! registrant's sessions; a deactivated sender grants nothing; a correction of a pending
//! invitation is not a burst; QR codes cannot be guessed without limit; an externalId stays
//! unique; a request refused for its `Accept` or its settings does no work.

use admit_shared::domain::{EmailAddress, Id};
use admit_shared::records::contact as contacts;
use admit_shared::records::{company, membership, notification, user, Role, Status};
use admit_shared::usecases::outbox;
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{assert_error, gateway_event, Backend, TestApp};
use serde_json::{json, Value};

const PW: &str = "Take-pass-2026";
const ACME_ADMIN: &str = "admin@acme.example";
const ACME_MEMBER: &str = "member@acme.example";
const EVIL_ADMIN: &str = "admin@evil.example";
const EVIL_MEMBER: &str = "member@evil.example";
const VICTIM: &str = "victim@corp.example";
const SQUATTER_PW: &str = "Squat-pass-2026";
const OWNER_PW: &str = "Owner-pass-2026";

struct World {
    t: TestApp,
    acme: Id,
    evil: Id,
    evil_admin_key: String,
    evil_app_key: String,
    /// Evil's team, and a QR code of its event.
    den: Id,
}

fn id(n: u64) -> Id {
    Id::new(n).unwrap()
}

/// Acme (company 1: an admin and a member) and Evil (company 2: an admin and a member, a team,
/// and a QR code for its event 7).
async fn world(backend: Backend) -> World {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    admit_tests::small_company(app, "Acme", &["Lobby"], (ACME_ADMIN, ACME_MEMBER, PW)).await;
    let (evil_admin_key, evil_app_key) =
        admit_tests::small_company(app, "Evil", &["Den"], (EVIL_ADMIN, EVIL_MEMBER, PW)).await;
    let (acme, evil) = (id(1), id(2));
    let den = company::teams(app.store.as_ref(), evil).await.unwrap()[0].team_id;
    provision::create_qr(app, evil, "EVIL-EVENT", Some(id(7)))
        .await
        .unwrap();
    World {
        t,
        acme,
        evil,
        evil_admin_key,
        evil_app_key,
        den,
    }
}

/// One request through the endpoint table, as API Gateway would deliver it.
async fn call(
    app: &App,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    admit_tests::route(app, method, uri, headers, body.as_deref()).await
}

async fn login(app: &App, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"emailAddress": email, "password": password});
    call(app, "POST", "/rest/user/login", &[], Some(body)).await
}

async fn token(app: &App, email: &str, password: &str) -> String {
    let (status, body) = login(app, email, password).await;
    assert_eq!(status, 200, "{body}");
    body["authToken"].as_str().unwrap().to_string()
}

/// The newest link token after `marker` in an email to `to`, once the outbox is delivered.
async fn mailed(t: &TestApp, to: &str, marker: &str) -> String {
    admit_tests::walk::token(t, to, marker).await
}

/// An account for `email` (password `PW`), in a company or none.
async fn add_user(app: &App, email: &str, membership: Option<(Id, Role)>) {
    let user = NewUser {
        email,
        password: PW,
        first_name: "Pat",
        last_name: "Lee",
        membership,
    };
    provision::create_user(app, user).await.unwrap();
}

/// The squatter, an admin of Evil, registers `VICTIM` through Evil's app key with a name,
/// consents and Evil's event code of their choosing, signs in and registers a phone. The
/// account's id and the squatter's session.
async fn squat(w: &World, first: &str, last: &str) -> (Id, String) {
    let app = &w.t.app;
    let body = json!({"version": 5, "apiKey": w.evil_app_key, "emailAddress": VICTIM, "countryCode": "AU", "profession": 1,
        "password": SQUATTER_PW, "firstName": first, "lastName": last,
        "qrAccessCodes": ["EVIL-EVENT"], "uSAMTrackingConsent": "Y", "uGoogleConsent": "Y"});
    let got = call(app, "POST", "/rest/user/mi/selfregister", &[], Some(body)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let (status, session) = login(app, VICTIM, SQUATTER_PW).await;
    assert_eq!(status, 200, "{session}");
    let user = id(session["userId"].as_u64().unwrap());
    let squatter = session["authToken"].as_str().unwrap().to_string();
    let phone = json!({"platform": "ios", "deviceToken": "squatters-phone"});
    let h = [("x-nextinteract-authtoken", squatter.as_str())];
    let got = call(app, "POST", "/rest/user/devices", &h, Some(phone)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    (user, squatter)
}

/// The registrant's password no longer opens the address's account; the owner's does.
async fn only_the_owner_signs_in(app: &App) {
    assert_eq!(login(app, VICTIM, SQUATTER_PW).await.0, 401);
    assert_eq!(login(app, VICTIM, OWNER_PW).await.0, 200);
}

/// The owner's account, found by the address (a new one, not the registrant's).
async fn owner_of_victim(app: &App) -> user::User {
    let email = EmailAddress::parse(VICTIM).unwrap();
    user::find_by_email(app.store.as_ref(), &email)
        .await
        .unwrap()
        .unwrap()
}

/// Nothing of the owner reaches Evil: the owner has a new account with no membership,
/// registration, event sign-up or contact link there; Evil's admin key reads no profile of it
/// and pushes nothing to it; Evil's activity report shows none of the owner's logins and not
/// the owner's name; the registrant's account is closed with its session, phone and password.
async fn evil_has_nothing_of_the_owner(w: &World, registrant: Id, squatter: &str) {
    let app = &w.t.app;
    let store = app.store.as_ref();
    let owner = owner_of_victim(app).await;
    let me = owner.user_id;
    assert_ne!(me, registrant, "the owner has an account of their own");
    let closed = user::find(store, registrant).await.unwrap().unwrap();
    assert_eq!(closed.status, Status::Inactive);
    assert!(closed.taken_back);
    assert!(membership::find(store, w.evil, registrant)
        .await
        .unwrap()
        .is_none());
    assert!(membership::find(store, w.evil, me).await.unwrap().is_none());
    assert!(contacts::find_registration(store, w.evil, me)
        .await
        .unwrap()
        .is_none());
    let signup = company::event_signup_key(w.evil, id(7), me);
    assert!(store.get(&signup).await.unwrap().is_none());
    let email = EmailAddress::parse(VICTIM).unwrap();
    let contact = contacts::find_by_email(store, w.evil, &email)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        contact.user_id,
        Some(me),
        "Evil's contact is not linked to the owner"
    );
    for u in [registrant, me] {
        assert!(notification::devices(store, u).await.unwrap().is_empty());
    }
    let h = [("x-nextinteract-authtoken", squatter)];
    assert_error(
        &call(app, "POST", "/rest/user/logout", &h, None).await,
        401,
        "WSInvalidAuthTokenException",
    );
    assert_eq!(login(app, VICTIM, SQUATTER_PW).await.0, 401);
    // The owner signs in: Evil's admin sees none of it, and never the owner's name.
    let seen_before = evil_report(w, registrant).await;
    let (status, session) = login(app, VICTIM, OWNER_PW).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["userId"], json!(me));
    assert_eq!(evil_report(w, registrant).await, seen_before);
    assert_eq!(evil_report(w, me).await["totalRecords"], json!(0));
    let everyone = report(w, json!([])).await.to_string();
    assert!(!everyone.contains(&owner.first_name), "{everyone}");
    let key = [("x-nextinteract-company-api-key", w.evil_admin_key.as_str())];
    let uri = format!("/rest/company/membership/user?userId={me}");
    assert_eq!(call(app, "GET", &uri, &key, None).await.0, 404);
    let push = json!({"userId": me, "teams": [w.den], "sendNotification": true});
    let got = call(
        app,
        "POST",
        "/rest/company/membership/teams/assign",
        &key,
        Some(push),
    )
    .await;
    assert!(got.0 >= 400, "Evil cannot push to the owner: {}", got.1);
}

/// Evil's activity report of `user`, every type.
async fn evil_report(w: &World, user: Id) -> Value {
    report(w, json!([user])).await
}

/// Evil's activity report of `users` (all of them: `[]`), every type.
async fn report(w: &World, users: Value) -> Value {
    let app = &w.t.app;
    let evil_admin = token(app, EVIL_ADMIN, PW).await;
    let bearer = format!("Bearer {evil_admin}");
    let report = json!({"userIds": users, "dateFrom": "2000-01-01T00:00:00Z",
        "dateTo": "2100-01-01T00:00:00Z"});
    let (status, rows) = call(
        app,
        "POST",
        "/api/rest/v1/management/user/activity",
        &[("authorization", bearer.as_str())],
        Some(report),
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    rows
}

/// The owner asks for a reset and takes the address back with it, naming the account.
async fn reset_as_owner(w: &World) {
    let app = &w.t.app;
    let ask = json!({"emailAddress": VICTIM});
    let got = call(app, "POST", "/rest/user/password/reset", &[], Some(ask)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let reset = mailed(&w.t, VICTIM, "reset?token=").await;
    let confirm =
        json!({"token": reset, "password": OWNER_PW, "firstName": "Vic", "lastName": "Tim"});
    let got = call(
        app,
        "POST",
        "/rest/user/password/reset/confirm",
        &[],
        Some(confirm),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
}

async fn a_password_reset_takes_a_squatted_address_back_whole(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let (user, squatter) = squat(&w, "Squat", "Ter").await;
    reset_as_owner(&w).await;
    let owner = owner_of_victim(app).await;
    assert_eq!(
        (owner.first_name.as_str(), owner.last_name.as_str()),
        ("Vic", "Tim")
    );
    assert!(!owner.unverified);
    assert!(membership::companies_of(app.store.as_ref(), owner.user_id)
        .await
        .unwrap()
        .is_empty());
    evil_has_nothing_of_the_owner(&w, user, &squatter).await;
}
admit_tests::both_backends!(a_password_reset_takes_a_squatted_address_back_whole);

async fn an_accepted_invitation_takes_a_squatted_address_back_into_its_company_only(
    backend: Backend,
) {
    let w = world(backend).await;
    let app = &w.t.app;
    let (user, squatter) = squat(&w, "Squat", "Ter").await;
    let admin = token(app, ACME_ADMIN, PW).await;
    let invite = json!({"companyId": w.acme, "contact": {"firstname": "Vic", "lastname": "Tim", "email1": VICTIM}});
    let h = [("x-nextinteract-authtoken", admin.as_str())];
    let got = call(app, "POST", "/rest/user/miinvite", &h, Some(invite)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let link = mailed(&w.t, VICTIM, "accept?token=").await;
    let accept = json!({"token": link, "password": OWNER_PW});
    let got = call(app, "POST", "/rest/user/miinvite/accept", &[], Some(accept)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let store = app.store.as_ref();
    let owner = owner_of_victim(app).await;
    assert_eq!(got.1["userId"], json!(owner.user_id));
    let joined = membership::find(store, w.acme, owner.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(joined.status, Status::Active);
    assert_eq!(
        (owner.first_name.as_str(), owner.last_name.as_str()),
        ("Vic", "Tim"),
        "the names the inviter gave, not the squatter's"
    );
    evil_has_nothing_of_the_owner(&w, user, &squatter).await;
}
admit_tests::both_backends!(
    an_accepted_invitation_takes_a_squatted_address_back_into_its_company_only
);

/// The lure: the registrant's "name" says the password is their own. The emails and pages
/// never show it beside a password prompt, and confirming with it ends the registrant's
/// session and sets a password only the mailbox's owner knows.
async fn a_verification_lure_leaves_the_registrant_nothing(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let (_, squatter) = squat(&w, "Your temporary password is", SQUATTER_PW).await;
    outbox::dispatch_pending(app, 100).await.unwrap();
    let welcome: Vec<String> =
        w.t.mail()
            .into_iter()
            .filter(|m| m.to == VICTIM)
            .map(|m| m.text + m.html.as_deref().unwrap_or_default())
            .collect();
    assert_eq!(welcome.len(), 1);
    assert!(!welcome[0].contains("temporary password"), "{}", welcome[0]);
    assert!(!welcome[0].contains(SQUATTER_PW), "{}", welcome[0]);
    let verify = mailed(&w.t, VICTIM, "verify?token=").await;
    let page = admit_functions::verify_email_page::handler(
        app,
        lambda_http::request::from_str(
            &gateway_event("GET", &format!("/account/verify?token={verify}"), &[], None)
                .to_string(),
        )
        .unwrap(),
    )
    .await;
    let lambda_http::Body::Text(html) = page.body() else {
        panic!("a page")
    };
    assert!(!html.contains("temporary password"), "{html}");
    assert!(!html.contains(SQUATTER_PW), "{html}");
    // The owner falls for it anyway and types the squatter's password.
    let body = json!({"token": verify, "password": SQUATTER_PW, "newPassword": OWNER_PW});
    let got = call(app, "POST", "/rest/user/verify", &[], Some(body)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let bearer = format!("Bearer {squatter}");
    let invite = json!({"EmailAddresses": ["friend@example.com"], "Message": "hi"});
    let got = call(
        app,
        "POST",
        "/api/users/invitations",
        &[("authorization", bearer.as_str())],
        Some(invite),
    )
    .await;
    assert_eq!(got.0, 401, "the squatter's session ended: {}", got.1);
    only_the_owner_signs_in(app).await;
}
admit_tests::both_backends!(a_verification_lure_leaves_the_registrant_nothing);

/// Signed in to the unverified account (with the squatter's password), the owner accepts an
/// invitation: that proves the mailbox, so a new password is set and every session ends.
async fn accepting_signed_in_to_an_unverified_account_ends_its_sessions(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let (user, squatter) = squat(&w, "Squat", "Ter").await;
    let admin = token(app, ACME_ADMIN, PW).await;
    let invite = json!({"companyId": w.acme, "contact": {"firstname": "Vic", "lastname": "Tim", "email1": VICTIM}});
    let h = [("x-nextinteract-authtoken", admin.as_str())];
    assert_eq!(
        call(app, "POST", "/rest/user/miinvite", &h, Some(invite))
            .await
            .0,
        200
    );
    let link = mailed(&w.t, VICTIM, "accept?token=").await;
    let lured = token(app, VICTIM, SQUATTER_PW).await;
    let h = [("x-nextinteract-authtoken", lured.as_str())];
    // A new password is required.
    let got = call(
        app,
        "POST",
        "/rest/user/miinvite/accept",
        &h,
        Some(json!({"token": link})),
    )
    .await;
    assert_error(&got, 400, "WSInvalidParameterException");
    let accept = json!({"token": link, "password": OWNER_PW});
    let got = call(app, "POST", "/rest/user/miinvite/accept", &h, Some(accept)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    for session in [squatter.as_str(), lured.as_str()] {
        let h = [("x-nextinteract-authtoken", session)];
        assert_eq!(
            call(app, "POST", "/rest/user/logout", &h, None).await.0,
            401
        );
    }
    assert!(notification::devices(app.store.as_ref(), user)
        .await
        .unwrap()
        .is_empty());
    only_the_owner_signs_in(app).await;
}
admit_tests::both_backends!(accepting_signed_in_to_an_unverified_account_ends_its_sessions);

/// An operator deactivates an admin: the invitations they sent (inviteMIUser, and the site's
/// Invite Users into a private group) no longer grant anything, and nothing is written.
async fn a_deactivated_sender_grants_nothing(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let private = provision::create_team(app, w.acme, "Board", false)
        .await
        .unwrap()
        .team_id;
    let admin = token(app, ACME_ADMIN, PW).await;
    let h = [("x-nextinteract-authtoken", admin.as_str())];
    let invite = json!({"companyId": w.acme, "contact": {"firstname": "Mi", "lastname": "Vitee", "email1": "mi@example.com"}});
    assert_eq!(
        call(app, "POST", "/rest/user/miinvite", &h, Some(invite))
            .await
            .0,
        200
    );
    let bearer = format!("Bearer {admin}");
    let site = json!({"email": "site@example.com", "groups": [private]});
    let got = call(
        app,
        "POST",
        "/api/rest/v1/management/users/invite",
        &[("authorization", bearer.as_str())],
        Some(site),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let mi = mailed(&w.t, "mi@example.com", "accept?token=").await;
    let site = mailed(&w.t, "site@example.com", "accept?token=").await;
    provision::set_user_status(app, ACME_ADMIN, Status::Inactive)
        .await
        .unwrap();
    let before = w.t.stored_text().await;
    for link in [mi, site] {
        let accept =
            json!({"token": link, "password": OWNER_PW, "firstName": "A", "lastName": "B"});
        let got = call(app, "POST", "/rest/user/miinvite/accept", &[], Some(accept)).await;
        assert_error(&got, 403, "WSNotPermittedException");
    }
    assert_eq!(w.t.stored_text().await, before, "a refusal writes nothing");
}
admit_tests::both_backends!(a_deactivated_sender_grants_nothing);

/// The last admin whose account can sign in may not leave, however many deactivated admins
/// the business has.
async fn leaving_needs_another_admin_who_can_sign_in(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    add_user(app, "second@acme.example", Some((w.acme, Role::Admin))).await;
    provision::set_user_status(app, "second@acme.example", Status::Inactive)
        .await
        .unwrap();
    let admin = token(app, ACME_ADMIN, PW).await;
    let bearer = format!("Bearer {admin}");
    let before = w.t.stored_text().await;
    let uri = format!("/api/users/me/businesses/{}", w.acme);
    let h = [("authorization", bearer.as_str())];
    let (status, body) = call(app, "DELETE", &uri, &h, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(w.t.stored_text().await, before);
    // With a second admin who can sign in, leaving works.
    provision::set_user_status(app, "second@acme.example", Status::Active)
        .await
        .unwrap();
    let (status, body) = call(app, "DELETE", &uri, &h, None).await;
    assert_eq!(status, 200, "{body}");
}
admit_tests::both_backends!(leaving_needs_another_admin_who_can_sign_in);

/// A site admin invites an existing user for 10 days and, a minute later, permanently: the
/// invitation is corrected and emailed again. The same offer again is still quiet, and a bad
/// contact is a bad request whatever the quiet period says.
async fn an_admin_corrects_a_pending_invitation_at_once(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    add_user(app, "pat@example.com", None).await;
    let admin = token(app, ACME_ADMIN, PW).await;
    let bearer = format!("Bearer {admin}");
    let h = [("authorization", bearer.as_str())];
    let invite = |body: Value| {
        call(
            app,
            "POST",
            "/api/rest/v1/management/users/invite",
            &h,
            Some(body),
        )
    };
    let got = invite(json!({"email": "pat@example.com", "duration": 10})).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["temporary"], json!(true), "{}", got.1);
    outbox::dispatch_pending(app, 100).await.unwrap();
    w.t.clock.advance(chrono::Duration::minutes(1));
    let got = invite(json!({"email": "pat@example.com"})).await;
    assert_eq!(got.0, 200, "a correction goes out at once: {}", got.1);
    assert_eq!(got.1["temporary"], json!(false), "{}", got.1);
    outbox::dispatch_pending(app, 100).await.unwrap();
    let sent =
        w.t.mail()
            .iter()
            .filter(|m| m.to == "pat@example.com")
            .count();
    assert_eq!(sent, 2, "the corrected invitation is emailed again");
    let inv = admit_shared::usecases::invitations::existing(
        app,
        w.acme,
        &EmailAddress::parse("pat@example.com").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(inv.access_days, None, "permanent now");
    // The same offer again within the quiet period is still refused...
    let got = invite(json!({"email": "pat@example.com"})).await;
    assert_eq!(got.0, 429, "{}", got.1);
    // ... but a contact that is not the site's is bad input first.
    let got = invite(json!({"email": "pat@example.com", "mappedContactID": 999})).await;
    assert_eq!(got.0, 400, "{}", got.1);
    assert!(
        got.1["message"]
            .as_str()
            .unwrap()
            .contains("mappedContactID"),
        "{}",
        got.1
    );
    // Corrections are held to the invitation's 3 sends an hour.
    let got = invite(json!({"email": "pat@example.com", "duration": 5})).await;
    assert_eq!(got.0, 200, "the third send: {}", got.1);
    let got = invite(json!({"email": "pat@example.com", "duration": 6})).await;
    assert_eq!(got.0, 429, "a fourth send within the hour: {}", got.1);
}
admit_tests::both_backends!(an_admin_corrects_a_pending_invitation_at_once);

/// Wrong QR codes count against the source's registrations of the hour: guessing is cut off.
async fn qr_codes_cannot_be_guessed_without_limit(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let mut statuses = Vec::new();
    for n in 0..25 {
        let body = json!({"version": 5, "apiKey": w.evil_app_key,
            "emailAddress": format!("guess{n}@example.com"), "password": PW, "countryCode": "AU", "profession": 1,
            "firstName": "G", "lastName": "Uess", "qrAccessCodes": [format!("GUESS-{n}")]});
        statuses.push(
            call(app, "POST", "/rest/user/mi/selfregister", &[], Some(body))
                .await
                .0,
        );
    }
    assert!(statuses[..20].iter().all(|s| *s == 400), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
}
admit_tests::both_backends!(qr_codes_cannot_be_guessed_without_limit);

/// A registration that fills in an existing contact may not give it another contact's
/// externalId: refused, and nothing is written.
async fn a_filled_in_contact_keeps_external_ids_unique(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let admin = token(app, EVIL_ADMIN, PW).await;
    let h = [("x-nextinteract-authtoken", admin.as_str())];
    for (email, ext) in [
        ("holder@example.com", Some("EXT-1")),
        ("filler@example.com", None),
    ] {
        let mut contact = json!({"firstname": "C", "lastname": "D", "email1": email});
        if let Some(ext) = ext {
            contact["externalId"] = json!(ext);
        }
        let invite = json!({"companyId": w.evil, "contact": contact});
        let got = call(app, "POST", "/rest/user/miinvite", &h, Some(invite)).await;
        assert_eq!(got.0, 200, "{}", got.1);
    }
    let before = w.t.stored_text().await;
    let body = json!({"version": 5, "apiKey": w.evil_app_key, "emailAddress": "filler@example.com",
        "password": PW, "countryCode": "AU", "profession": 1, "firstName": "F", "lastName": "L",
        "contactDetails": {"externalId": "EXT-1"}});
    let got = call(app, "POST", "/rest/user/mi/selfregister", &[], Some(body)).await;
    assert_error(&got, 400, "WSInvalidParameterException");
    assert!(
        got.1["errorMsg"].as_str().unwrap().contains("externalId"),
        "{}",
        got.1
    );
    let after = w.t.stored_text().await;
    let changed: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        // The source's registration count moved, and an id was drawn (ids may skip).
        .filter(|l| !l.contains("LIMIT#") && !l.contains("COUNTER#"))
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
}
admit_tests::both_backends!(a_filled_in_contact_keeps_external_ids_unique);

/// A valid write that asks for HTML is refused before any work, in each family, and a retry
/// under the same Idempotency-Key that asks for JSON does the work.
async fn a_wrong_accept_changes_nothing_in_any_family(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let admin = token(app, ACME_ADMIN, PW).await;
    let bearer = format!("Bearer {admin}");
    let html = ("accept", "text/html");
    // The path, a field of the family's error body, the credentials, a valid body, and the
    // NextInteract exception.
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Value, &'a str);
    let cases: [Case; 3] = [
        (
            "/rest/user/miinvite",
            "errorCode",
            vec![("x-nextinteract-authtoken", admin.as_str())],
            json!({"companyId": w.acme, "contact": {"firstname": "A", "lastname": "B", "email1": "ni@example.com"}}),
            "WSNotAcceptableException",
        ),
        (
            "/api/users/invitations",
            "Status",
            vec![("authorization", bearer.as_str())],
            json!({"EmailAddresses": ["platform@example.com"], "Message": "hi"}),
            "",
        ),
        (
            "/api/rest/v1/management/users/invite",
            "message",
            vec![("authorization", bearer.as_str())],
            json!({"email": "site@example.com"}),
            "",
        ),
    ];
    for (path, field, headers, body, exception) in cases {
        let before = w.t.stored_text().await;
        let mut h = headers.clone();
        h.push(html);
        h.push(("idempotency-key", "retry-1"));
        let got = call(app, "POST", path, &h, Some(body.clone())).await;
        assert_eq!(got.0, 406, "{path}: {}", got.1);
        assert!(got.1.get(field).is_some(), "{path}: {}", got.1);
        if !exception.is_empty() {
            assert_eq!(got.1["exception"], json!(exception));
        }
        assert_eq!(
            w.t.stored_text().await,
            before,
            "{path}: a refusal writes nothing"
        );
        let mut h = headers.clone();
        h.push(("accept", "application/json"));
        h.push(("idempotency-key", "retry-1"));
        let got = call(app, "POST", path, &h, Some(body)).await;
        assert_eq!(got.0, 200, "{path}: the retry does the work: {}", got.1);
    }
    outbox::dispatch_pending(app, 100).await.unwrap();
    for to in ["ni@example.com", "platform@example.com", "site@example.com"] {
        assert_eq!(w.t.mail().iter().filter(|m| m.to == to).count(), 1, "{to}");
    }
}
admit_tests::both_backends!(a_wrong_accept_changes_nothing_in_any_family);

/// Every setting in one `PUT`.
async fn every_setting_changes_in_one_put(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let admin = token(app, ACME_ADMIN, PW).await;
    let bearer = format!("Bearer {admin}");
    let h = [("authorization", bearer.as_str())];
    let all = json!({"UsersMayInvite": false, "InvitationDays": 14,
        "TeamAssignmentMessage": "Welcome to {teams}",
        "SecuritySettings": {"CsrfRequired": false, "AllowedEmailDomains": ["acme.example"]}});
    let uri = format!("/api/businesses/{}/settings", w.acme);
    let (status, body) = call(app, "PUT", &uri, &h, Some(all)).await;
    assert_eq!(status, 200, "{body}");
    let (status, got) = call(
        app,
        "GET",
        &format!("{uri}?IncludeSecuritySettings=true"),
        &h,
        None,
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["UsersMayInvite"], json!(false), "{got}");
    assert_eq!(got["InvitationDays"], json!(14), "{got}");
    assert_eq!(
        got["SecuritySettings"]["CsrfRequired"],
        json!(false),
        "{got}"
    );
    assert_eq!(
        got["SecuritySettings"]["AllowedEmailDomains"],
        json!(["acme.example"]),
        "{got}"
    );
}
admit_tests::both_backends!(every_setting_changes_in_one_put);

/// The squatter's request to register another phone has read its session when the owner takes
/// the address back: the phone is refused, not left on the owner's account.
async fn a_device_registration_that_raced_the_take_back_is_refused(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let (user, squatter) = squat(&w, "Squat", "Ter").await;
    let hash = admit_shared::domain::secrets::Token::presented(&squatter)
        .unwrap()
        .hash();
    let session = user::find_session(app.store.as_ref(), &hash)
        .await
        .unwrap()
        .unwrap();
    reset_as_owner(&w).await;
    let phone = admit_shared::usecases::devices::DeviceRegistration {
        platform: admit_shared::ports::push::Platform::Android,
        token: "squatters-second-phone".into(),
        push_enabled: true,
    };
    let got = admit_shared::usecases::devices::register(app, &session, phone).await;
    let e = got.expect_err("the session ended while the request ran");
    assert_eq!(
        admit_shared::http::nextinteract::name(e.kind),
        "WSInvalidAuthTokenException"
    );
    assert!(notification::devices(app.store.as_ref(), user)
        .await
        .unwrap()
        .is_empty());
}
admit_tests::both_backends!(a_device_registration_that_raced_the_take_back_is_refused);
