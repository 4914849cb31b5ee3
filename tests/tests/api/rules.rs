//! Who may grant what (docs/api.md): the same rules at every door that invites, the hourly
//! limits with their `429` and `Retry-After` in each family's shape, a site that sees a user
//! only after they say yes, leaving a business, and the races and retries around them.

use admit_shared::domain::{EmailAddress, Id};
use admit_shared::ports::clock::Clock;
use admit_shared::ports::store::{Cond, Key, Update, Write};
use admit_shared::records::{self, company, invitation, membership, user, Role, Status};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::usecases::{outbox, platform_invitations};
use admit_shared::App;
use admit_tests::{assert_error, auth_token, gateway_request, read, read_as, Backend, TestApp};
use chrono::Duration;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};

const PW: &str = "Rules-pass-2026";
const ADMIN: &str = "admin@acme.example";
const REP: &str = "rep@acme.example";
const MEMBER: &str = "member@acme.example";
const TEMP: &str = "temp@acme.example";
const UNPROVEN: &str = "unproven@acme.example";
const OTHER_ADMIN: &str = "admin@other.example";

/// Teams of company 1.
const LOBBY: u64 = 1; // public
const BOARD: u64 = 2; // private, nobody's
const CREW: u64 = 3; // private, the member's

fn id(n: u64) -> Id {
    Id::new(n).unwrap()
}

/// Company 1 (Acme) with a public and two private teams; its admin (user 1), rep (2), a plain
/// member of team 3 (3), a plain member whose access is temporary (4), a member whose address
/// nobody proved (5); company 2 with its admin (6).
async fn world(backend: Backend) -> TestApp {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let c = provision::create_company(app, "Acme")
        .await
        .unwrap()
        .company_id;
    let other = provision::create_company(app, "Other")
        .await
        .unwrap()
        .company_id;
    for (name, public) in [("Lobby", true), ("Board", false), ("Crew", false)] {
        provision::create_team(app, c, name, public).await.unwrap();
    }
    for (email, company, role) in [
        (ADMIN, c, Role::Admin),
        (REP, c, Role::Rep),
        (MEMBER, c, Role::Member),
        (TEMP, c, Role::Member),
        (UNPROVEN, c, Role::Member),
        (OTHER_ADMIN, other, Role::Admin),
    ] {
        provision::create_user(
            app,
            NewUser {
                email,
                password: PW,
                first_name: "A",
                last_name: "B",
                membership: Some((company, role)),
            },
        )
        .await
        .unwrap();
    }
    let store = app.store.as_ref();
    let mut m = membership::find(store, c, id(3)).await.unwrap().unwrap();
    m.teams = vec![id(CREW)];
    let mut temp = membership::find(store, c, id(4)).await.unwrap().unwrap();
    temp.expires_at = Some(app.clock.now() + Duration::days(5));
    app.store
        .transact(vec![
            Write::put(records::item(&m)),
            Write::put(records::item(&temp)),
        ])
        .await
        .unwrap();
    app.store
        .update(
            &user::user_key(id(5)),
            Update::new().set("unverified", true),
            None,
        )
        .await
        .unwrap();
    t
}

fn mi_body(email: &str, teams: &[u64]) -> String {
    let teams: Vec<Value> = teams.iter().map(|t| json!({"teamId": t})).collect();
    json!({"companyId": 1, "contact": {"firstname": "New", "lastname": "Person", "email1": email},
        "inviteTeams": teams})
    .to_string()
}

async fn mi_raw(app: &App, token: &str, email: &str, teams: &[u64]) -> Response<Body> {
    admit_functions::invite_mi_user::handler(
        app,
        gateway_request(
            "POST",
            "/rest/user/miinvite",
            &[("x-nextinteract-authtoken", token)],
            Some(&mi_body(email, teams)),
        ),
    )
    .await
}

async fn mi(app: &App, token: &str, email: &str, teams: &[u64]) -> (u16, Value) {
    read(mi_raw(app, token, email, teams).await)
}

async fn platform_raw(app: &App, token: &str, emails: &[&str]) -> Response<Body> {
    let body = json!({"EmailAddresses": emails, "Message": "Join us"}).to_string();
    let auth = format!("Bearer {token}");
    admit_functions::invite_platform_users::handler(
        app,
        gateway_request(
            "POST",
            "/api/users/invitations",
            &[("authorization", &auth)],
            Some(&body),
        ),
    )
    .await
}

async fn site_raw(app: &App, token: &str, body: Value) -> Response<Body> {
    let auth = format!("Bearer {token}");
    admit_functions::invite_site_users::handler(
        app,
        gateway_request(
            "POST",
            "/api/rest/v1/management/users/invite",
            &[("authorization", &auth)],
            Some(&body.to_string()),
        ),
    )
    .await
}

/// Status, `Retry-After` (seconds) and body.
fn with_retry(resp: Response<Body>) -> (u16, Option<u64>, Value) {
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let (status, body) = read(resp);
    (status, retry, body)
}

fn invitation_of(email: &str) -> Key {
    invitation::invitation_key(id(1), &EmailAddress::parse(email).unwrap())
}

async fn stored(app: &App, key: &Key) -> Option<Value> {
    app.store.get(key).await.unwrap().map(Value::Object)
}

async fn a_plain_member_invites_only_to_public_teams_and_their_own(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let member = auth_token(app, MEMBER, PW).await;
    assert_eq!(
        mi(app, &member, "a@new.example", &[LOBBY, CREW]).await.0,
        200
    );
    let private = mi(app, &member, "b@new.example", &[BOARD]).await;
    assert_error(&private, 400, "WSInvalidTeamException");
    // A private team of someone else answers as a team that does not exist would.
    let missing = mi(app, &member, "b@new.example", &[99]).await;
    assert_eq!(
        private.1["errorMsg"].as_str().unwrap().replace('2', "N"),
        missing.1["errorMsg"].as_str().unwrap().replace("99", "N")
    );
    assert!(stored(app, &invitation_of("b@new.example")).await.is_none());
    // Reps and admins keep what the seeds give them: any team of the company.
    let rep = auth_token(app, REP, PW).await;
    assert_eq!(mi(app, &rep, "b@new.example", &[BOARD]).await.0, 200);
}
admit_tests::both_backends!(a_plain_member_invites_only_to_public_teams_and_their_own);

async fn temporary_access_invites_nobody_at_any_door(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let temp = auth_token(app, TEMP, PW).await;
    assert_error(
        &mi(app, &temp, "mine@new.example", &[LOBBY]).await,
        403,
        "WSNotPermittedException",
    );
    let (status, body) = read(platform_raw(app, &temp, &["mine@new.example"]).await);
    assert_eq!(
        (status, body["Status"].clone()),
        (403, json!(403)),
        "{body}"
    );
    // A site admin whose own access is temporary grants nothing either.
    let store = app.store.as_ref();
    let mut admin = membership::find(store, id(1), id(1))
        .await
        .unwrap()
        .unwrap();
    admin.expires_at = Some(app.clock.now() + Duration::days(1));
    app.store
        .transact(vec![Write::put(records::item(&admin))])
        .await
        .unwrap();
    let token = auth_token(app, ADMIN, PW).await;
    let (status, body) = read(site_raw(app, &token, json!({"email": "mine@new.example"})).await);
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("temporary"),
        "{body}"
    );
    assert!(stored(app, &invitation_of("mine@new.example"))
        .await
        .is_none());
    assert!(admit_tests::pending_sends(app).await.is_empty());
}
admit_tests::both_backends!(temporary_access_invites_nobody_at_any_door);

async fn an_account_nobody_proved_sends_nothing_to_others(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let unproven = auth_token(app, UNPROVEN, PW).await;
    assert_error(
        &mi(app, &unproven, "victim@new.example", &[LOBBY]).await,
        403,
        "WSNotPermittedException",
    );
    let (status, _) = read(platform_raw(app, &unproven, &["victim@new.example"]).await);
    assert_eq!(status, 403);
    assert!(admit_tests::pending_sends(app).await.is_empty());
}
admit_tests::both_backends!(an_account_nobody_proved_sends_nothing_to_others);

async fn a_member_cannot_override_an_admin_through_invite_mi_user(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let admin = auth_token(app, ADMIN, PW).await;
    let member = auth_token(app, MEMBER, PW).await;
    let caller = admit_shared::domain::Caller::default();
    // An admin's revocation stands.
    assert_eq!(mi(app, &admin, "x@new.example", &[BOARD]).await.0, 200);
    platform_invitations::revoke_for(
        app,
        id(1),
        "x@new.example",
        Some(id(1)),
        &caller,
        app.clock.now(),
    )
    .await
    .unwrap();
    let got = mi(app, &member, "x@new.example", &[LOBBY]).await;
    assert_error(&got, 403, "WSNotPermittedException");
    let inv = stored(app, &invitation_of("x@new.example")).await.unwrap();
    assert_eq!(inv["status"], json!("revoked"));
    // An admin's pending invitation keeps its teams and link.
    assert_eq!(mi(app, &admin, "y@new.example", &[BOARD]).await.0, 200);
    t.clock.advance(Duration::minutes(30));
    let got = mi(app, &member, "y@new.example", &[LOBBY]).await;
    assert_error(&got, 403, "WSNotPermittedException");
    let inv = stored(app, &invitation_of("y@new.example")).await.unwrap();
    assert_eq!(inv["teams"], json!([BOARD]));
    assert_eq!(inv["invitedBy"], json!(1));
}
admit_tests::both_backends!(a_member_cannot_override_an_admin_through_invite_mi_user);

async fn an_invitation_history_stays_bounded_however_often_it_is_sent(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    for _ in 0..60 {
        let rep = auth_token(app, REP, PW).await;
        assert_eq!(mi(app, &rep, "often@new.example", &[LOBBY]).await.0, 200);
        t.clock.advance(Duration::minutes(21));
    }
    let inv = stored(app, &invitation_of("often@new.example"))
        .await
        .unwrap();
    assert_eq!(
        inv["history"].as_array().unwrap().len(),
        invitation::MAX_HISTORY
    );
    assert_eq!(inv["historyDropped"], json!(10));
    let caller = admit_shared::domain::Caller::default();
    let revoked = platform_invitations::revoke_for(
        app,
        id(1),
        "often@new.example",
        Some(id(1)),
        &caller,
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(revoked.history.len(), invitation::MAX_HISTORY);
}
admit_tests::both_backends!(an_invitation_history_stays_bounded_however_often_it_is_sent);

/// Sends `n` invitations from the member to new addresses; the answers.
async fn many_mi(app: &App, token: &str, tag: &str, n: usize) -> Vec<(u16, Option<u64>, Value)> {
    let mut out = Vec::new();
    for i in 0..n {
        let to = format!("{tag}{i}@new.example");
        out.push(with_retry(mi_raw(app, token, &to, &[LOBBY]).await));
    }
    out
}

async fn sender_limit_scenario(backend: Backend) {
    let mut t = world(backend).await;
    t.app.config.limits.sender_per_hour = 5;
    let app = &t.app;
    let member = auth_token(app, MEMBER, PW).await;
    let answers = many_mi(app, &member, "relay", 7).await;
    assert!(answers[..5].iter().all(|a| a.0 == 200), "{answers:?}");
    for (status, retry, body) in &answers[5..] {
        assert_error(&(*status, body.clone()), 429, "WSTooManyRequestsException");
        assert!(retry.is_some_and(|r| (1..=3600).contains(&r)), "{retry:?}");
    }
    outbox::dispatch_pending(app, 100).await.unwrap();
    assert_eq!(
        admit_tests::pending_sends(app).await.len(),
        0,
        "five emails, all sent"
    );
    // The platform door counts against the same sender.
    let (status, retry, body) = with_retry(platform_raw(app, &member, &["p@new.example"]).await);
    assert_eq!(
        (status, body["Status"].clone()),
        (429, json!(429)),
        "{body}"
    );
    assert!(retry.is_some());
    // The hour turns: the sender may send again.
    let (_, wait, _) = &answers[6];
    t.clock.advance(Duration::seconds(wait.unwrap() as i64 + 1));
    let member = auth_token(app, MEMBER, PW).await;
    assert_eq!(mi(app, &member, "later@new.example", &[LOBBY]).await.0, 200);
}

admit_tests::both_backends!(sender_limit, sender_limit_scenario);

async fn a_recipient_limit_holds_per_company_and_site_invites_answer_in_their_shape(
    backend: Backend,
) {
    let mut t = world(backend).await;
    t.app.config.limits.recipient_per_hour = 1;
    // At the start of an hour, so the 11 minutes below stay in it.
    let into_hour = t.clock.now().timestamp().rem_euclid(3600);
    t.clock.advance(Duration::seconds(3600 - into_hour));
    let app = &t.app;
    let rep = auth_token(app, REP, PW).await;
    assert_eq!(mi(app, &rep, "target@new.example", &[LOBBY]).await.0, 200);
    t.clock.advance(Duration::minutes(11));
    let admin = auth_token(app, ADMIN, PW).await;
    let (status, retry, body) =
        with_retry(site_raw(app, &admin, json!({"email": "target@new.example"})).await);
    assert_eq!(status, 429, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("target@new.example"));
    assert!(retry.is_some());
    // Another company is not blocked by Acme's emails.
    let other = auth_token(app, OTHER_ADMIN, PW).await;
    let (status, body) = read(platform_raw(app, &other, &["target@new.example"]).await);
    assert_eq!((status, body.clone()), (200, json!(["target@new.example"])));
}
admit_tests::both_backends!(
    a_recipient_limit_holds_per_company_and_site_invites_answer_in_their_shape
);

async fn a_company_has_an_hourly_ceiling_across_its_senders(backend: Backend) {
    let mut t = world(backend).await;
    t.app.config.limits.company_per_hour = 2;
    let app = &t.app;
    let rep = auth_token(app, REP, PW).await;
    let admin = auth_token(app, ADMIN, PW).await;
    let member = auth_token(app, MEMBER, PW).await;
    // The ceiling is the plain members' alone ...
    assert_eq!(mi(app, &member, "c1@new.example", &[LOBBY]).await.0, 200);
    let (status, body) = read(platform_raw(app, &member, &["c2@new.example"]).await);
    assert_eq!(status, 200, "{body}");
    assert_error(
        &mi(app, &member, "c3@new.example", &[LOBBY]).await,
        429,
        "WSTooManyRequestsException",
    );
    // ... so members (whom anyone with the app key may become) never use up the hour of the
    // company's reps and admins.
    assert_eq!(mi(app, &rep, "c4@new.example", &[LOBBY]).await.0, 200);
    assert_eq!(mi(app, &admin, "c5@new.example", &[BOARD]).await.0, 200);
}
admit_tests::both_backends!(a_company_has_an_hourly_ceiling_across_its_senders);

/// The hour's counts are taken in the transaction of the work they count: invitations that
/// an outage stopped spend nothing of it, and two senders racing for its last email cannot
/// both have it.
async fn only_work_that_commits_spends_the_hour(backend: Backend) {
    let mut t = world(backend).await;
    t.app.config.limits.sender_per_hour = 2;
    let faulty = admit_tests::FaultyStore::new(t.app.store.clone());
    let app = App {
        store: faulty.clone(),
        ..t.app.clone()
    };
    let member = auth_token(&app, MEMBER, PW).await;
    // The store fails as each invitation is written (its email is queued in that transaction).
    faulty.fail("OUTBOX#", true);
    for n in 0..4 {
        let to = format!("down{n}@new.example");
        let got = mi(&app, &member, &to, &[LOBBY]).await;
        assert_error(&got, 503, "WSCompanyServiceUnavailableException");
    }
    faulty.heal();
    let counter = records::limit::used(
        app.store.as_ref(),
        &records::limit::Subject::Sender(id(3)),
        app.config.limits.sender_per_hour,
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(counter, 0, "nothing was sent, nothing was counted");
    // The hour is whole: two invitations go out, the third is over the limit.
    assert_eq!(mi(&app, &member, "up1@new.example", &[LOBBY]).await.0, 200);
    // Two at once for the last email of the hour: one is sent, the other refused. (The
    // emulator does not serialise concurrent transactions as DynamoDB does (see
    // `conformance::one_winner_per_guard`): there the two come one after the other.)
    let (a, b) = if backend == Backend::Embedded {
        tokio::join!(
            mi(&app, &member, "race1@new.example", &[LOBBY]),
            mi(&app, &member, "race2@new.example", &[LOBBY]),
        )
    } else {
        (
            mi(&app, &member, "race1@new.example", &[LOBBY]).await,
            mi(&app, &member, "race2@new.example", &[LOBBY]).await,
        )
    };
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 429], "{a:?} {b:?}");
    let refused = if a.0 == 429 { &a } else { &b };
    assert_error(refused, 429, "WSTooManyRequestsException");
    outbox::dispatch_pending(&app, 50).await.unwrap();
    let sent: Vec<String> = t
        .mail()
        .into_iter()
        .map(|m| m.to)
        .filter(|to| to.ends_with("@new.example"))
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|to| !to.starts_with("down")), "{sent:?}");
}
admit_tests::both_backends!(only_work_that_commits_spends_the_hour);

/// Two last admins leaving at once: one stays.
async fn the_last_two_admins_cannot_both_leave_at_once(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let store = app.store.as_ref();
    let mut rep = membership::find(store, id(1), id(2))
        .await
        .unwrap()
        .unwrap();
    rep.role = Role::Admin;
    app.store
        .transact(vec![Write::put(records::item(&rep))])
        .await
        .unwrap();
    let one = auth_token(app, ADMIN, PW).await;
    let two = auth_token(app, REP, PW).await;
    let (a, b) = tokio::join!(
        my_businesses(app, "DELETE", &one, Some(1)),
        my_businesses(app, "DELETE", &two, Some(1))
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert!(
        statuses[0] == 200 && [403, 409].contains(&statuses[1]),
        "{a:?} {b:?}"
    );
    // The stored state is checked where transactions are serialised as DynamoDB serialises
    // them. moto rolls a cancelled transaction back by restoring a copy of the whole table taken
    // before it ran, which undoes a concurrent transaction's commit (seen here: one 200, one
    // 409, and the leaver's membership back); docs/reliability.md, "Concurrency".
    if matches!(backend, Backend::Embedded) {
        let admins = membership::members_of(store, id(1))
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.role == Role::Admin)
            .count();
        assert_eq!(admins, 1);
    }
}
admit_tests::both_backends!(the_last_two_admins_cannot_both_leave_at_once);

fn from_ip(req: Request, ip: &str) -> Request {
    let mut ctx = req.request_context();
    if let RequestContext::ApiGatewayV2(c) = &mut ctx {
        c.http.source_ip = Some(ip.to_string());
    }
    req.with_request_context(ctx)
}

async fn login_from(app: &App, ip: &str, email: &str, password: &str) -> (u16, Option<u64>, Value) {
    let body = json!({"emailAddress": email, "password": password}).to_string();
    let req = from_ip(
        gateway_request("POST", "/rest/user/login", &[], Some(&body)),
        ip,
    );
    with_retry(admit_functions::login_user::handler(app, req).await)
}

async fn logins_and_registrations_are_limited_per_source_ip(backend: Backend) {
    let mut t = world(backend).await;
    t.app.config.limits.login_ip_per_hour = 3;
    t.app.config.limits.register_ip_per_hour = 1;
    let app = &t.app;
    let ip = "198.51.100.9";
    for _ in 0..3 {
        assert_eq!(login_from(app, ip, ADMIN, PW).await.0, 200);
    }
    let (status, retry, body) = login_from(app, ip, ADMIN, PW).await;
    assert_error(&(status, body), 429, "WSTooManyRequestsException");
    assert!(retry.is_some());
    // An address no account has is counted the same way: three wrong answers, then the same
    // refusal (the answer never tells whether an account exists).
    for _ in 0..3 {
        let got = login_from(app, ip, "nobody@new.example", "Whatever-1").await;
        assert_eq!(got.0, 401);
    }
    let (status, _, body) = login_from(app, ip, "nobody@new.example", "Whatever-1").await;
    assert_error(&(status, body), 429, "WSTooManyRequestsException");
    // Each account is counted apart: a colleague behind the same NAT address signs in, and so
    // does the admin from another address.
    assert_eq!(login_from(app, ip, MEMBER, PW).await.0, 200);
    assert_eq!(login_from(app, "198.51.100.10", ADMIN, PW).await.0, 200);

    let key = "0b1c5d8e-2f3a-4b6c-9d7e-1a2b3c4d5e6f";
    provision::import_api_key(app, id(1), records::ApiKeyType::App, key)
        .await
        .unwrap();
    let register = |email: &str| {
        let body = json!({"version": 1, "password": "Self-pass-2026", "apiKey": key,
            "emailAddress": email, "firstName": "S", "lastName": "R"})
        .to_string();
        from_ip(
            gateway_request("POST", "/rest/user/mi/selfregister", &[], Some(&body)),
            ip,
        )
    };
    let first = read_as(
        "self_register_mi_user",
        admit_functions::self_register_mi_user::handler(app, register("s1@new.example")).await,
    );
    assert_eq!(first.0, 200, "{}", first.1);
    let second = with_retry(
        admit_functions::self_register_mi_user::handler(app, register("s2@new.example")).await,
    );
    assert_error(&(second.0, second.2), 429, "WSTooManyRequestsException");
    assert!(second.1.is_some());
    // A company that runs a QR sign-up venue allows more from one address: its own allowance
    // over the stage's.
    provision::set_setting(app, id(1), "registrationsPerHour", "3")
        .await
        .unwrap();
    for n in 2..=3 {
        let email = format!("s{n}@new.example");
        let got = read_as(
            "self_register_mi_user",
            admit_functions::self_register_mi_user::handler(app, register(&email)).await,
        );
        assert_eq!(got.0, 200, "{}", got.1);
    }
    let fourth = with_retry(
        admit_functions::self_register_mi_user::handler(app, register("s4@new.example")).await,
    );
    assert_error(&(fourth.0, fourth.2), 429, "WSTooManyRequestsException");
}
admit_tests::both_backends!(logins_and_registrations_are_limited_per_source_ip);

async fn self_registration_answers_the_address_whatever_the_codes(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let key = "0b1c5d8e-2f3a-4b6c-9d7e-1a2b3c4d5e6f";
    provision::import_api_key(app, id(1), records::ApiKeyType::App, key)
        .await
        .unwrap();
    provision::create_qr(app, id(1), "RIGHT-CODE", None)
        .await
        .unwrap();
    let register = |email: &str, code: &str| {
        let body = json!({"version": 2, "password": "Self-pass-2026", "apiKey": key,
            "emailAddress": email, "firstName": "S", "lastName": "R", "qrAccessCode": code})
        .to_string();
        gateway_request("POST", "/rest/user/mi/selfregister", &[], Some(&body))
    };
    let answer = |req| async {
        read_as(
            "self_register_mi_user",
            admit_functions::self_register_mi_user::handler(app, req).await,
        )
    };
    // An existing address gets the same answer with a right code and with a wrong one: the
    // answer tells nothing of the codes.
    let right = answer(register(ADMIN, "RIGHT-CODE")).await;
    let wrong = answer(register(ADMIN, "NOPE")).await;
    assert_error(&right, 409, "WSEmailAlreadyExistsException");
    assert_eq!(right, wrong);
    // A new address with a wrong code is told about the code.
    let unknown = answer(register("nobody@new.example", "NOPE")).await;
    assert_error(&unknown, 400, "WSInvalidParameterException");
    assert!(
        unknown.1["errorMsg"]
            .as_str()
            .unwrap()
            .contains("qrAccessCode"),
        "{}",
        unknown.1
    );
}
admit_tests::both_backends!(self_registration_answers_the_address_whatever_the_codes);

/// The newest accept-link token emailed to `to` (embedded store).
async fn accept_token(t: &TestApp, to: &str) -> String {
    outbox::dispatch_pending(&t.app, 100).await.unwrap();
    t.mail()
        .into_iter()
        .rev()
        .filter(|m| m.to == to)
        .find_map(|m| admit_tests::link_token(&m.text, "accept?token="))
        .unwrap_or_else(|| panic!("no invitation to {to}"))
}

async fn accept(app: &App, token: &str, password: &str) -> (u16, Value) {
    let body = json!({"token": token, "password": password}).to_string();
    read_as(
        "accept_mi_invitation",
        admit_functions::accept_mi_invitation::handler(
            app,
            gateway_request("POST", "/rest/user/miinvite/accept", &[], Some(&body)),
        )
        .await,
    )
}

async fn preview(app: &App, token: &str) -> u16 {
    let req = gateway_request("GET", "/rest/user/miinvite/accept", &[], None)
        .with_query_string_parameters(std::collections::HashMap::from([(
            "token".to_string(),
            token.to_string(),
        )]));
    read_as(
        "get_mi_invitation",
        admit_functions::get_mi_invitation::handler(app, req).await,
    )
    .0
}

async fn accepting_never_takes_a_contact_from_its_user(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    // Acme's contact for the address already belongs to the rep (user 2).
    let mut fields = serde_json::Map::new();
    fields.insert("firstname".into(), json!("Sam"));
    fields.insert("lastname".into(), json!("Shared"));
    fields.insert("email1".into(), json!("shared@new.example"));
    let contact = records::ContactRecord {
        contact_id: id(500),
        company_id: id(1),
        created_at: app.clock.now(),
        source: None,
        user_id: Some(id(2)),
        condition: None,
        fields,
    };
    app.store
        .transact(records::contact::create(&contact).writes)
        .await
        .unwrap();
    let admin = auth_token(app, ADMIN, PW).await;
    assert_eq!(mi(app, &admin, "shared@new.example", &[LOBBY]).await.0, 200);
    let token = accept_token(&t, "shared@new.example").await;
    let (status, body) = accept(app, &token, "Shared-pass-2026").await;
    assert_eq!(status, 200, "{body}");
    let kept = records::contact::find(app.store.as_ref(), id(1), id(500))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.user_id, Some(id(2)), "the contact stays its user's");
}
admit_tests::both_backends!(accepting_never_takes_a_contact_from_its_user);

async fn an_invite_racing_an_accept_cannot_reopen_it(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let admin = auth_token(app, ADMIN, PW).await;
    assert_eq!(mi(app, &admin, "race@new.example", &[LOBBY]).await.0, 200);
    let email = EmailAddress::parse("race@new.example").unwrap();
    // The invite read the invitation while it was pending ...
    let seen = invitation::find(app.store.as_ref(), id(1), &email)
        .await
        .unwrap()
        .unwrap();
    // ... the invitee accepted meanwhile ...
    let token = accept_token(&t, "race@new.example").await;
    assert_eq!(accept(app, &token, "Race-pass-2026").await.0, 200);
    // ... and the invite's replacement fails instead of making it pending again.
    let mut again = seen.clone();
    again.created_at = app.clock.now() + Duration::seconds(1);
    let err = app
        .store
        .transact(vec![invitation::replace(&again, Some(&seen))])
        .await
        .unwrap_err();
    assert!(err.is_condition_failure(), "{err}");
    let inv = stored(app, &invitation_of("race@new.example"))
        .await
        .unwrap();
    assert_eq!(inv["status"], json!("accepted"));
}
admit_tests::both_backends!(an_invite_racing_an_accept_cannot_reopen_it);

async fn a_resend_kills_the_old_link_at_once_even_an_expired_one(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let admin = auth_token(app, ADMIN, PW).await;
    assert_eq!(mi(app, &admin, "late@new.example", &[LOBBY]).await.0, 200);
    let old = accept_token(&t, "late@new.example").await;
    t.clock.advance(Duration::days(8));
    assert_eq!(preview(app, &old).await, 410);
    platform_invitations::resend_for(
        app,
        id(1),
        "late@new.example",
        Some(id(1)),
        ("https://x", &Default::default(), app.clock.now()),
    )
    .await
    .unwrap();
    // Before the dispatcher has sent the new link, the old one opens nothing.
    assert_eq!(preview(app, &old).await, 404);
    let new = accept_token(&t, "late@new.example").await;
    assert_ne!(new, old);
    assert_eq!(preview(app, &new).await, 200);
}
admit_tests::both_backends!(a_resend_kills_the_old_link_at_once_even_an_expired_one);

async fn accepting_checks_the_company_and_the_account(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let admin = auth_token(app, ADMIN, PW).await;
    assert_eq!(mi(app, &admin, "fresh@new.example", &[LOBBY]).await.0, 200);
    assert_eq!(mi(app, &admin, OTHER_ADMIN, &[LOBBY]).await.0, 200);
    let fresh = accept_token(&t, "fresh@new.example").await;
    let other = accept_token(&t, OTHER_ADMIN).await;
    provision::set_user_status(app, OTHER_ADMIN, Status::Inactive)
        .await
        .unwrap();
    assert_error(
        &accept(app, &other, PW).await,
        403,
        "WSUserNotActiveException",
    );
    app.store
        .update(
            &company::company_key(id(1)),
            Update::new().set("status", json!(Status::Inactive)),
            Some(Cond::present()),
        )
        .await
        .unwrap();
    assert_error(
        &accept(app, &fresh, "Fresh-pass-2026").await,
        403,
        "WSCompanyNotActiveException",
    );
    assert!(user::find_by_email(
        app.store.as_ref(),
        &EmailAddress::parse("fresh@new.example").unwrap()
    )
    .await
    .unwrap()
    .is_none());
}
admit_tests::both_backends!(accepting_checks_the_company_and_the_account);

async fn my_businesses(
    app: &App,
    method: &str,
    token: &str,
    business: Option<u64>,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let path = match business {
        Some(b) => format!("/api/users/me/businesses/{b}"),
        None => "/api/users/me/businesses".into(),
    };
    let mut req = gateway_request(method, &path, &[("authorization", &auth)], None);
    if let Some(b) = business {
        req = req.with_path_parameters(std::collections::HashMap::from([(
            "BusinessID".to_string(),
            b.to_string(),
        )]));
    }
    read(admit_functions::my_businesses::handler(app, req).await)
}

async fn members_see_their_businesses_and_leave_one(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let member = auth_token(app, MEMBER, PW).await;
    let (status, mine) = my_businesses(app, "GET", &member, None).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(
        mine,
        json!([{"BusinessID": 1, "Name": "Acme", "Role": "member", "Status": "active", "Teams": [CREW]}])
    );
    let (status, left) = my_businesses(app, "DELETE", &member, Some(1)).await;
    assert_eq!(
        (status, left),
        (200, json!({"BusinessID": 1, "Status": "left"}))
    );
    assert!(membership::find(app.store.as_ref(), id(1), id(3))
        .await
        .unwrap()
        .is_none());
    assert_eq!(my_businesses(app, "GET", &member, None).await.1, json!([]));
    // Leaving is in the site's log; a business one is not in is not found.
    let items = records::activity::of_user(app.store.as_ref(), id(3))
        .await
        .unwrap();
    assert!(
        items
            .iter()
            .any(|a| a.activity_type_id
                == admit_shared::domain::activity::ActivityType::SiteLeft.id())
    );
    assert_eq!(my_businesses(app, "DELETE", &member, Some(1)).await.0, 404);
    assert_eq!(my_businesses(app, "DELETE", &member, Some(2)).await.0, 404);
    // The only admin may not leave; a member the company deactivated may not wipe that out.
    let admin = auth_token(app, ADMIN, PW).await;
    let (status, body) = my_businesses(app, "DELETE", &admin, Some(1)).await;
    assert_eq!(status, 403, "{body}");
    let rep = auth_token(app, REP, PW).await;
    let m = membership::find(app.store.as_ref(), id(1), id(2))
        .await
        .unwrap()
        .unwrap();
    app.store
        .transact(vec![membership::set_status(&m, Status::Inactive)])
        .await
        .unwrap();
    assert_eq!(my_businesses(app, "DELETE", &rep, Some(1)).await.0, 403);
    assert!(membership::find(app.store.as_ref(), id(1), id(2))
        .await
        .unwrap()
        .is_some());
}
admit_tests::both_backends!(members_see_their_businesses_and_leave_one);

/// A store that serves a chosen item as it was when frozen: the stale read a login may get
/// while a password reset commits.
struct StaleStore {
    inner: std::sync::Arc<dyn admit_shared::ports::store::Store>,
    frozen: std::sync::Mutex<Option<(Key, admit_shared::ports::store::Item)>>,
}

#[async_trait::async_trait]
impl admit_shared::ports::store::Store for StaleStore {
    async fn get(
        &self,
        key: &Key,
    ) -> Result<Option<admit_shared::ports::store::Item>, admit_shared::ports::store::StoreError>
    {
        // Served once: a read after it (a retry's re-read) is fresh again.
        let stale = {
            let mut frozen = self.frozen.lock().unwrap();
            match frozen.as_ref() {
                Some((k, _)) if k == key => frozen.take().map(|(_, item)| item),
                _ => None,
            }
        };
        match stale {
            Some(item) => Ok(Some(item)),
            None => self.inner.get(key).await,
        }
    }
    async fn batch_get(
        &self,
        keys: &[Key],
    ) -> Result<Vec<admit_shared::ports::store::Item>, admit_shared::ports::store::StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn query(
        &self,
        q: &admit_shared::ports::store::Query,
    ) -> Result<admit_shared::ports::store::Page, admit_shared::ports::store::StoreError> {
        self.inner.query(q).await
    }
    async fn put(
        &self,
        item: admit_shared::ports::store::Item,
        cond: Option<Cond>,
    ) -> Result<(), admit_shared::ports::store::StoreError> {
        self.inner.put(item, cond).await
    }
    async fn update(
        &self,
        key: &Key,
        u: Update,
        cond: Option<Cond>,
    ) -> Result<admit_shared::ports::store::Item, admit_shared::ports::store::StoreError> {
        self.inner.update(key, u, cond).await
    }
    async fn delete(
        &self,
        key: &Key,
        cond: Option<Cond>,
    ) -> Result<Option<admit_shared::ports::store::Item>, admit_shared::ports::store::StoreError>
    {
        self.inner.delete(key, cond).await
    }
    async fn transact(
        &self,
        writes: Vec<Write>,
    ) -> Result<(), admit_shared::ports::store::StoreError> {
        self.inner.transact(writes).await
    }
}

async fn ask_reset(app: &App, email: &str) {
    let body = json!({"emailAddress": email}).to_string();
    let asked = read_as(
        "request_password_reset",
        admit_functions::request_password_reset::handler(
            app,
            gateway_request("POST", "/rest/user/password/reset", &[], Some(&body)),
        )
        .await,
    );
    assert_eq!(asked.0, 200, "{}", asked.1);
    outbox::dispatch_pending(app, 100).await.unwrap();
}

/// The reset link's token in the newest reset email to `to`.
fn reset_token(t: &TestApp, to: &str) -> String {
    t.mail()
        .into_iter()
        .rev()
        .filter(|m| m.to == to)
        .find_map(|m| admit_tests::link_token(&m.text, "token="))
        .unwrap()
}

async fn confirm_reset(app: &App, token: &str, password: &str) -> u16 {
    let body = json!({"token": token, "password": password}).to_string();
    read_as(
        "reset_password",
        admit_functions::reset_password::handler(
            app,
            gateway_request(
                "POST",
                "/rest/user/password/reset/confirm",
                &[],
                Some(&body),
            ),
        )
        .await,
    )
    .0
}

async fn logout_status(app: &App, token: &str) -> u16 {
    read_as(
        "logout_user",
        admit_functions::logout_user::handler(
            app,
            gateway_request(
                "POST",
                "/rest/user/logout",
                &[("x-nextinteract-authtoken", token)],
                None,
            ),
        )
        .await,
    )
    .0
}

/// A login racing a password reset never ends with a session that outlives the reset,
/// whichever commits first and whatever the clocks said.
async fn a_login_racing_a_reset_never_outlives_it(backend: Backend) {
    let t = world(backend).await;
    let stale = std::sync::Arc::new(StaleStore {
        inner: t.app.store.clone(),
        frozen: std::sync::Mutex::new(None),
    });
    let app = App::new(
        stale.clone(),
        t.app.mailer.clone(),
        t.app.pusher.clone(),
        t.app.clock.clone(),
        t.app.config.clone(),
    );
    let app = &app;

    // The login commits first, with a clock ahead of the one the reset stamped with.
    ask_reset(app, MEMBER).await;
    let link = reset_token(&t, MEMBER);
    t.clock.advance(Duration::seconds(5));
    let raced = auth_token(app, MEMBER, PW).await;
    t.clock.advance(Duration::seconds(-5));
    assert_eq!(confirm_reset(app, &link, "Newer-pass-2026").await, 200);
    t.clock.advance(Duration::seconds(10));
    assert_eq!(
        logout_status(app, &raced).await,
        401,
        "the racing session is revoked"
    );

    // The reset commits first while the login read the account as it was before it.
    let before = t
        .app
        .store
        .get(&user::user_key(id(3)))
        .await
        .unwrap()
        .unwrap();
    ask_reset(app, MEMBER).await;
    let link = reset_token(&t, MEMBER);
    assert_eq!(confirm_reset(app, &link, "Newest-pass-2026").await, 200);
    *stale.frozen.lock().unwrap() = Some((user::user_key(id(3)), before));
    let got = admit_tests::login(app, MEMBER, "Newer-pass-2026").await;
    assert_error(&got, 401, "WSInvalidLoginException");
    assert_eq!(
        admit_tests::login(app, MEMBER, "Newest-pass-2026").await.0,
        200
    );
}
admit_tests::both_backends!(a_login_racing_a_reset_never_outlives_it);

/// Two resends of one invitation at once: one wins, the other is told to try again, and the
/// history holds every send that happened.
async fn two_resends_at_once_do_not_lose_a_send(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let admin = auth_token(app, ADMIN, PW).await;
    assert_eq!(mi(app, &admin, "twice@new.example", &[LOBBY]).await.0, 200);
    let email = EmailAddress::parse("twice@new.example").unwrap();
    let seen = invitation::find(app.store.as_ref(), id(1), &email)
        .await
        .unwrap()
        .unwrap();
    t.clock.advance(Duration::minutes(1));
    let now = app.clock.now();
    let first = invitation::renew(&seen, Some(id(1)), now, now + Duration::days(7));
    t.clock.advance(Duration::seconds(1));
    let later = app.clock.now();
    let second = invitation::renew(&seen, Some(id(1)), later, later + Duration::days(7));
    app.store.transact(first).await.unwrap();
    let err = app.store.transact(second).await.unwrap_err();
    assert!(err.is_condition_failure(), "{err}");
    let inv = invitation::find(app.store.as_ref(), id(1), &email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        inv.sends_since(now - Duration::hours(1)),
        2,
        "{:?}",
        inv.history
    );
}
admit_tests::both_backends!(two_resends_at_once_do_not_lose_a_send);

/// An invitation never grants more than its sender holds when it is accepted either: a plain
/// member who lost the private team, or left, leaves invitations that no longer stand.
async fn an_invitation_dies_with_its_senders_right_to_grant_it(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let member = auth_token(app, MEMBER, PW).await;
    assert_eq!(mi(app, &member, "crew@new.example", &[CREW]).await.0, 200);
    assert_eq!(mi(app, &member, "lobby@new.example", &[LOBBY]).await.0, 200);
    let crew = accept_token(&t, "crew@new.example").await;
    let lobby = accept_token(&t, "lobby@new.example").await;
    // Taken off the private team: the invitation to it no longer stands; the public one does.
    let store = app.store.as_ref();
    let m = membership::find(store, id(1), id(3))
        .await
        .unwrap()
        .unwrap();
    app.store
        .transact(vec![membership::set_teams(&m, &[], false, true)])
        .await
        .unwrap();
    assert_error(
        &accept(app, &crew, "Crew-pass-2026").await,
        403,
        "WSNotPermittedException",
    );
    assert!(membership::members_of(store, id(1))
        .await
        .unwrap()
        .iter()
        .all(|m| m.user_id.get() <= 6));
    // The sender leaves: nothing they sent stands.
    assert_eq!(my_businesses(app, "DELETE", &member, Some(1)).await.0, 200);
    assert_error(
        &accept(app, &lobby, "Lobby-pass-2026").await,
        403,
        "WSNotPermittedException",
    );
    // A rep's invitation stands as long as the rep does.
    let rep = auth_token(app, REP, PW).await;
    assert_eq!(mi(app, &rep, "board@new.example", &[BOARD]).await.0, 200);
    let board = accept_token(&t, "board@new.example").await;
    assert_eq!(accept(app, &board, "Board-pass-2026").await.0, 200);
}
admit_tests::both_backends!(an_invitation_dies_with_its_senders_right_to_grant_it);
