//! The site family (the management API's Invite Users and user activity report): inviting existing users to a site, temporarily or permanently,
//! and the user activity report, through the Lambda handlers.

use admit_shared::domain::activity::ActivityType;
use admit_shared::domain::Id;
use admit_shared::ports::store::Write;
use admit_shared::records::contact::{self as contacts, ContactRecord};
use admit_shared::records::{self, activity, membership, ApiKeyType, Role, Status, Team};
use admit_shared::usecases::outbox;
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{assert_error, auth_token, gateway_request, read, read_as, Backend, TestApp};
use chrono::{DateTime, Duration, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{json, Map, Value};

const INVITE: &str = "/api/rest/v1/management/users/invite";
const ACTIVITY: &str = "/api/rest/v1/management/user/activity";

/// The seed's parameter table as a body, exactly its example values.
const SEED_INVITE: &str = admit_tests::seeds::SITE_INVITE;

/// The seed's sample request, exactly as printed.
const SEED_REQUEST: &str = admit_tests::seeds::ACTIVITY_REPORT;

/// The seed's sample query, exactly as printed (its range is empty).
const SEED_QUERY: &str = admit_tests::seeds::ACTIVITY_REPORT_EMPTY;

const PASSWORD: &str = "Site-pass-2026";
/// User 1: the admin of site 1, as in the seed's rows.
const ADMIN: &str = "admin@dealcloud.com";
/// User 2: an existing user with no site yet.
const INVITEE: &str = "testuser@intapp.com";
/// User 3: the admin of site 2.
const OTHER_ADMIN: &str = "admin@other.example";
/// User 4: a member of site 2.
const OTHER_USER: &str = "user@other.example";
/// User 5: a plain member of site 1.
const MEMBER: &str = "member@dealcloud.com";

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0";

struct World {
    t: TestApp,
    site: Id,
    other: Id,
    /// Site 1's admin key (assignMemberToTeams, member profile).
    admin_key: String,
    /// A contact of site 2.
    other_contact: Id,
}

fn id(n: u64) -> Id {
    Id::new(n).unwrap()
}

async fn put_team(app: &App, company: Id, team: u64, name: &str) {
    let team = Team {
        team_id: id(team),
        company_id: company,
        team_name: name.into(),
        public: false,
        created_at: Utc::now(),
    };
    app.store
        .transact(vec![records::put_new(&team)])
        .await
        .unwrap();
}

async fn put_contact(app: &App, company: Id, contact: u64, email: &str, user: Option<Id>) -> Id {
    let mut fields = Map::new();
    fields.insert("firstname".into(), json!("Cora"));
    fields.insert("lastname".into(), json!("Tact"));
    fields.insert("email1".into(), json!(email));
    let record = ContactRecord {
        contact_id: id(contact),
        company_id: company,
        created_at: Utc::now(),
        source: None,
        user_id: user,
        condition: None,
        fields,
    };
    app.store
        .transact(contacts::create(&record).writes)
        .await
        .unwrap();
    record.contact_id
}

/// Site 1 "DealCloud" (groups 12, 22, 192) and site 2 "Other" (group 7), users 1 to 5.
async fn world(backend: Backend) -> World {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let site = provision::create_company(app, "DealCloud")
        .await
        .unwrap()
        .company_id;
    let other = provision::create_company(app, "Other")
        .await
        .unwrap()
        .company_id;
    for (n, name) in [(12, "Deals"), (22, "Equity Investments"), (192, "Research")] {
        put_team(app, site, n, name).await;
    }
    put_team(app, other, 7, "Other team").await;
    let users = [
        (ADMIN, "Jamie", "Jones", Some((site, Role::Admin))),
        (INVITEE, "Terry", "User", None),
        (OTHER_ADMIN, "Olga", "Admin", Some((other, Role::Admin))),
        (OTHER_USER, "Oscar", "User", Some((other, Role::Member))),
        (MEMBER, "Mel", "Member", Some((site, Role::Member))),
    ];
    for (i, (email, first, last, membership)) in users.into_iter().enumerate() {
        let u = provision::create_user(
            app,
            NewUser {
                email,
                password: PASSWORD,
                first_name: first,
                last_name: last,
                membership,
            },
        )
        .await
        .unwrap();
        assert_eq!(u.user_id.get(), i as u64 + 1);
    }
    let (_, admin_key) = provision::create_api_key(app, site, ApiKeyType::Admin)
        .await
        .unwrap();
    let other_contact = put_contact(app, other, 900, "someone@other.example", None).await;
    World {
        t,
        site,
        other,
        admin_key,
        other_contact,
    }
}

/// A request from `ip` with a browser's user agent.
fn from_browser(req: Request, ip: &str) -> Request {
    let mut ctx = req.request_context();
    if let RequestContext::ApiGatewayV2(c) = &mut ctx {
        c.http.source_ip = Some(ip.to_string());
    }
    req.with_request_context(ctx)
}

fn with_query(req: Request, name: &str, value: &str) -> Request {
    req.with_query_string_parameters(std::collections::HashMap::from([(
        name.to_string(),
        value.to_string(),
    )]))
}

/// A call of the site family with `Authorization: Bearer <token>` (when given).
async fn site_call(app: &App, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    let req = gateway_request("POST", path, &headers, Some(body));
    send(app, path, req).await
}

async fn send(app: &App, path: &str, req: Request) -> (u16, Value) {
    read(match path {
        INVITE => admit_functions::invite_site_users::handler(app, req).await,
        ACTIVITY => admit_functions::user_activity_report::handler(app, req).await,
        _ => unreachable!("{path}"),
    })
}

async fn invite(app: &App, token: &str, body: Value) -> (u16, Value) {
    site_call(app, INVITE, Some(token), &body.to_string()).await
}

/// Invites a user who is not a member yet and accepts the emailed invitation as that user
/// (with the account's password): the invite's answer and the acceptance's.
async fn invite_and_accept(t: &TestApp, token: &str, body: Value) -> (Value, Value) {
    let app = &t.app;
    let to = body["email"].as_str().unwrap().to_string();
    let (status, invited) = invite(app, token, body).await;
    assert_eq!(status, 200, "{invited}");
    assert_eq!(invited["status"], json!("invited"), "{invited}");
    (invited, accept_from_mail(t, &to).await)
}

/// Accepts the newest invitation emailed to `to` that this test's store knows, with the
/// account's password.
async fn accept_from_mail(t: &TestApp, to: &str) -> Value {
    let app = &t.app;
    for link in tokens_in_mail(t, to, "accept?token=").await {
        let (status, accepted) = nextinteract(
            app,
            "/rest/user/miinvite/accept",
            &[],
            json!({"token": link, "password": PASSWORD}),
        )
        .await;
        if status == 200 {
            return accepted;
        }
        assert_eq!(status, 404, "{accepted}");
    }
    panic!("no invitation link to {to} could be accepted")
}

async fn report(app: &App, token: &str, body: Value) -> (u16, Value) {
    site_call(app, ACTIVITY, Some(token), &body.to_string()).await
}

/// The report over the last `days` days (to now), every user and type.
async fn recent(app: &App, token: &str, extra: Value) -> Value {
    let now = app.clock.now();
    let mut body =
        json!({"dateFrom": ts(now - Duration::days(400)), "dateTo": ts(now + Duration::days(1))});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, page) = report(app, token, body).await;
    assert_eq!(status, 200, "{page}");
    page
}

fn ts(t: DateTime<Utc>) -> String {
    admit_shared::domain::time::format(t)
}

/// (activityType, userId) of each row, in order.
fn kinds(page: &Value) -> Vec<(String, u64)> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["activityType"].as_str().unwrap().to_string(),
                r["userId"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// An error of the site family: `{"message": ...}` and nothing else, with this status.
fn assert_message(got: &(u16, Value), status: u16, contains: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    let obj = got.1.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "only a message: {}", got.1);
    let m = obj["message"].as_str().expect("a message");
    assert!(m.contains(contains), "{m:?} should contain {contains:?}");
}

async fn assign(w: &World, user: u64) -> (u16, Value) {
    let body = json!({"userId": user, "teams": [12]}).to_string();
    read_as(
        "assign_member_to_teams",
        admit_functions::assign_member_to_teams::handler(
            &w.t.app,
            gateway_request(
                "POST",
                "/rest/company/membership/teams/assign",
                &[("x-nextinteract-company-api-key", &w.admin_key)],
                Some(&body),
            ),
        )
        .await,
    )
}

async fn profile(w: &World, user: u64) -> (u16, Value) {
    let req = with_query(
        gateway_request(
            "GET",
            "/rest/company/membership/user",
            &[("x-nextinteract-company-api-key", &w.admin_key)],
            None,
        ),
        "userId",
        &user.to_string(),
    );
    read_as(
        "get_member_profile",
        admit_functions::get_member_profile::handler(&w.t.app, req).await,
    )
}

async fn temporary_access_scenario(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let token = auth_token(app, ADMIN, PASSWORD).await;
    let invited_at = app.clock.now();
    // The seed's parameters, exactly as in its table: the user is not a member, so this is an
    // invitation; nothing is granted until they accept.
    let (status, body) = site_call(app, INVITE, Some(&token), SEED_INVITE).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "invited", "email": INVITEE, "siteId": w.site.get(),
            "groups": [{"groupId": 12, "groupName": "Deals"},
                       {"groupId": 22, "groupName": "Equity Investments"},
                       {"groupId": 192, "groupName": "Research"}],
            "temporary": true, "duration": 10,
            "invitationExpiresAt": ts(invited_at + Duration::days(7)),
            "contactId": body["contactId"]})
    );
    let contact = body["contactId"].as_u64().expect("a contact was created");
    assert!(membership::find(app.store.as_ref(), w.site, id(2))
        .await
        .unwrap()
        .is_none());
    assert_error(&profile(&w, 2).await, 404, "WSUserNotFoundException");
    // Before saying yes, the user's logins are none of the site's business.
    auth_token(app, INVITEE, PASSWORD).await;
    w.t.clock.advance(Duration::seconds(1));
    let seen = recent(app, &token, json!({"userIds": [2]})).await;
    assert_eq!(seen["totalRecords"], json!(0), "{seen}");

    let granted_at = app.clock.now();
    accept_from_mail(&w.t, INVITEE).await;
    let ends = granted_at + Duration::days(10);
    let linked = contacts::find(app.store.as_ref(), w.site, id(contact))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.user_id, Some(id(2)));
    assert_eq!(linked.details().get("email1"), Some(INVITEE));

    // Granted and working: the member of every family's calls, with the groups.
    w.t.clock.advance(Duration::seconds(1));
    let (status, shown) = profile(&w, 2).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["membership"]["teams"], json!([12, 22, 192]));
    assert_eq!(shown["membership"]["expiresAt"], json!(ts(ends)));
    assert_eq!(assign(&w, 2).await.0, 200);

    // A second before the end it still works; at the end it grants nothing.
    w.t.clock.advance(Duration::days(10) - Duration::seconds(2));
    assert_eq!(assign(&w, 2).await.0, 200);
    w.t.clock.advance(Duration::seconds(1));
    assert_error(
        &assign(&w, 2).await,
        403,
        "WSConnectionStatusNotActiveException",
    );
    assert_error(&profile(&w, 2).await, 404, "WSUserNotFoundException");

    // The report: granted, teams assigned twice, and the end, recorded as it happened.
    let token = auth_token(app, ADMIN, PASSWORD).await;
    let page = recent(app, &token, json!({"userIds": [2]})).await;
    let got = kinds(&page);
    assert_eq!(
        got[..3],
        [
            ("Site Access Expired".to_string(), 2),
            ("Teams Assigned".into(), 2),
            ("Teams Assigned".into(), 2),
        ]
    );
    let mut joined = got[3..].to_vec();
    joined.sort();
    assert_eq!(
        joined,
        [
            ("Invitation Accepted".to_string(), 2),
            ("Site Access Granted".into(), 2),
        ]
    );
    let expired = &page["rows"][0];
    assert_eq!(expired["eventDate"], json!(ts(ends)));
    assert_eq!(expired["activityTypeId"], json!(14));
    assert_eq!(expired["sourceType"], json!("System"));
    assert!(expired.get("ipAddress").is_none() && expired.get("sessionId").is_none());

    // A new invite after the end starts afresh (permanent this time, no groups carried over).
    let (again, _) = invite_and_accept(&w.t, &token, json!({"email": INVITEE})).await;
    assert_eq!(again["temporary"], json!(false));
    assert!(again.get("duration").is_none() && again.get("contactId").is_none());
    let m = membership::find(app.store.as_ref(), w.site, id(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.teams, m.expires_at), (vec![], None));
    w.t.clock.advance(Duration::days(400));
    assert_eq!(assign(&w, 2).await.0, 200);
}

admit_tests::both_backends!(temporary_access, temporary_access_scenario);

async fn the_invited_user_is_told_the_site_the_groups_and_the_end(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let token = auth_token(app, ADMIN, PASSWORD).await;
    let last_to = |who: &str| {
        let mails = w.t.mail();
        let m = mails
            .iter()
            .rev()
            .find(|m| m.to == who)
            .unwrap_or_else(|| panic!("no email to {who}: {mails:?}"))
            .clone();
        format!("Subject: {}\n{}", m.subject, m.text)
    };
    // A person who is not a member is invited: the email offers the access, with a link.
    assert_eq!(
        site_call(app, INVITE, Some(&token), SEED_INVITE).await.0,
        200
    );
    outbox::dispatch_pending(app, 100).await.unwrap();
    let offer = last_to(INVITEE);
    assert!(
        offer.contains("Subject: Jamie Jones invited you to DealCloud"),
        "{offer}"
    );
    assert!(
        offer.contains("it lasts 10 days from when you accept"),
        "{offer}"
    );
    assert!(offer.contains("/invitations/accept?token=inv_"), "{offer}");
    // Accepted, the access is the member's; a new invite extends it at once and says so.
    let link = token_in_mail(&w.t, INVITEE, "accept?token=").await;
    let accepted = nextinteract(
        app,
        "/rest/user/miinvite/accept",
        &[],
        json!({"token": link, "password": PASSWORD}),
    )
    .await;
    assert_eq!(accepted.0, 200, "{}", accepted.1);
    w.t.clock.advance(Duration::days(1));
    let token = auth_token(app, ADMIN, PASSWORD).await;
    let ends = app.clock.now() + Duration::days(10);
    let body = json!({"email": INVITEE, "duration": 10, "groups": [12, 22, 192]});
    let (status, granted) = invite(app, &token, body).await;
    assert_eq!(
        (status, granted["status"].clone()),
        (200, json!("granted")),
        "{granted}"
    );
    outbox::dispatch_pending(app, 100).await.unwrap();
    let temporary = last_to(INVITEE);
    assert!(
        temporary.contains("Subject: You have access to DealCloud"),
        "{temporary}"
    );
    assert!(
        temporary.contains("Deals, Equity Investments, Research"),
        "{temporary}"
    );
    let end = ends.format("%-d %B %Y at %H:%M").to_string();
    assert!(
        temporary.contains(&format!("it ends on {end} UTC")),
        "{temporary}"
    );
    // A permanent member given a group is told the access is permanent.
    let body = json!({"email": MEMBER, "groups": [22]});
    assert_eq!(
        invite(app, &token, body).await.1["status"],
        json!("granted")
    );
    outbox::dispatch_pending(app, 100).await.unwrap();
    let permanent = last_to(MEMBER);
    assert!(
        permanent.contains("Your access is permanent."),
        "{permanent}"
    );
    assert!(
        permanent.contains("Your groups: Equity Investments."),
        "{permanent}"
    );
}
admit_tests::both_backends!(the_invited_user_is_told_the_site_the_groups_and_the_end);

async fn an_invite_extends_or_makes_permanent_and_never_shortens(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let token = auth_token(app, ADMIN, PASSWORD).await;
    let now = app.clock.now();
    let ends = |body: &Value| body["expiresAt"].as_str().map(str::to_string);
    invite_and_accept(
        &w.t,
        &token,
        json!({"email": INVITEE, "duration": 5, "groups": [12]}),
    )
    .await;
    let m = membership::find(app.store.as_ref(), w.site, id(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.expires_at.map(ts), Some(ts(now + Duration::days(5))));
    let (_, longer) = invite(
        app,
        &token,
        json!({"email": INVITEE, "duration": 10, "groups": [22]}),
    )
    .await;
    assert_eq!(ends(&longer), Some(ts(now + Duration::days(10))));
    let (_, shorter) = invite(app, &token, json!({"email": INVITEE, "duration": 2})).await;
    assert_eq!(
        ends(&shorter),
        Some(ts(now + Duration::days(10))),
        "never shortened"
    );
    let m = membership::find(app.store.as_ref(), w.site, id(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        m.teams,
        vec![id(12), id(22)],
        "groups accumulate while access lasts"
    );
    let (status, permanent) =
        invite(app, &token, json!({"email": INVITEE, "duration": null})).await;
    assert_eq!(status, 200, "{permanent}");
    assert_eq!(
        (permanent["temporary"].clone(), ends(&permanent)),
        (json!(false), None)
    );
    assert_message(
        &invite(app, &token, json!({"email": INVITEE, "duration": 3})).await,
        400,
        "already has permanent access to this site",
    );
    // No end is left recorded for the access that no longer ends.
    w.t.clock.advance(Duration::days(30));
    assert_eq!(assign(&w, 2).await.0, 200);
    let items = activity::of_user(app.store.as_ref(), id(2)).await.unwrap();
    let grants = items
        .iter()
        .filter(|a| a.activity_type_id == ActivityType::SiteAccessGranted.id())
        .count();
    assert_eq!(grants, 4);
    assert!(
        items
            .iter()
            .all(|a| a.activity_type_id != ActivityType::SiteAccessExpired.id()),
        "{items:?}"
    );
    let token = auth_token(app, ADMIN, PASSWORD).await;
    let page = recent(app, &token, json!({"activity": 14})).await;
    assert_eq!(page, json!({"totalRecords": 0, "rows": []}));
}
admit_tests::both_backends!(an_invite_extends_or_makes_permanent_and_never_shortens);

async fn every_bad_invite_has_a_clear_400(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let token = auth_token(app, ADMIN, PASSWORD).await;
    let site_contact = put_contact(app, w.site, 901, "linked@dealcloud.com", Some(id(5))).await;
    let cases = [
        (
            json!({"email": INVITEE, "groups": [12, 7]}),
            "group 7 is not a group of this site",
        ),
        (
            json!({"email": INVITEE, "groups": [999]}),
            "group 999 is not a group of this site",
        ),
        (
            json!({"email": INVITEE, "groups": ["12"]}),
            "groups[0] must be a whole number, not a string",
        ),
        (
            json!({"email": INVITEE, "duration": 0}),
            "duration must be a whole number of days from 1 to 365",
        ),
        (
            json!({"email": INVITEE, "duration": -1}),
            "duration must be a whole number of days from 1 to 365",
        ),
        (
            json!({"email": INVITEE, "duration": 366}),
            "duration must be a whole number of days from 1 to 365",
        ),
        (
            json!({"email": INVITEE, "duration": 1.5}),
            "duration must be a whole number of days from 1 to 365",
        ),
        (
            json!({"email": INVITEE, "duration": "10"}),
            "duration must be a whole number of days from 1 to 365",
        ),
        (
            json!({"email": INVITEE, "mappedContactID": w.other_contact.get()}),
            "mappedContactID 900 is not a contact of this site",
        ),
        (
            json!({"email": INVITEE, "mappedContactID": 12345}),
            "mappedContactID 12345 is not a contact of this site",
        ),
        (
            json!({"email": INVITEE, "mappedContactID": "x"}),
            "mappedContactID must be a contact id",
        ),
        (
            json!({"email": INVITEE, "mappedContactID": site_contact.get()}),
            "contact 901 is linked to another user",
        ),
        (
            json!({"email": INVITEE, "autoCreateOrLinkContact": "yes"}),
            "autoCreateOrLinkContact must be true or false",
        ),
        (json!({"groups": [12]}), "email is required"),
        (json!({"email": "not an address"}), "email:"),
    ];
    for (body, want) in cases {
        assert_message(&invite(app, &token, body.clone()).await, 400, want);
    }
    assert_message(
        &site_call(app, INVITE, Some(&token), "[]").await,
        400,
        "must be a JSON object",
    );
    // Nothing was granted by any of them.
    assert!(membership::find(app.store.as_ref(), w.site, id(2))
        .await
        .unwrap()
        .is_none());

    // An unknown address, an unverified account, an inactive one and a verified user who is
    // not a member get the same answer: an invitation (it never tells whether an account
    // exists; accepting is where an account is made, proven or refused).
    provision::set_user_status(app, OTHER_USER, Status::Inactive)
        .await
        .unwrap();
    let mut squatter = records::User::new_active(
        id(99),
        admit_shared::domain::EmailAddress::parse("ceo@intapp.com").unwrap(),
        "Not",
        "Them",
        "x".into(),
        Utc::now(),
    );
    squatter.unverified = true;
    app.store
        .transact(records::user::create(&squatter).into())
        .await
        .unwrap();
    let mut answers = Vec::new();
    for email in ["nobody@intapp.com", "ceo@intapp.com", OTHER_USER, INVITEE] {
        let (status, mut body) = invite(app, &token, json!({"email": email, "groups": [12]})).await;
        assert_eq!(status, 200, "{email}: {body}");
        assert_eq!(body["email"], json!(email));
        body.as_object_mut().unwrap().remove("email");
        answers.push(body);
    }
    assert!(answers.windows(2).all(|p| p[0] == p[1]), "{answers:?}");
    assert!(answers[0].get("userId").is_none());
    // A membership the site deactivated is not restored by an invite.
    let m = membership::find(app.store.as_ref(), w.site, id(5))
        .await
        .unwrap()
        .unwrap();
    app.store
        .transact(vec![membership::set_status(&m, Status::Inactive)])
        .await
        .unwrap();
    assert_message(
        &invite(app, &token, json!({"email": MEMBER})).await,
        400,
        "was deactivated",
    );
}
admit_tests::both_backends!(every_bad_invite_has_a_clear_400);

async fn only_a_site_admin_with_a_live_bearer_token_may_call(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let body = json!({"email": INVITEE}).to_string();
    let range =
        json!({"dateFrom": "2022-01-05T19:54:08.704Z", "dateTo": "2022-05-05T19:54:08.704Z"})
            .to_string();
    for (path, body) in [(INVITE, &body), (ACTIVITY, &range)] {
        assert_message(
            &site_call(app, path, None, body).await,
            401,
            "Authorization header is required",
        );
        let req = gateway_request("POST", path, &[("authorization", "Token abc")], Some(body));
        assert_message(
            &send(app, path, req).await,
            401,
            "must be Bearer <authToken>",
        );
        assert_message(
            &site_call(app, path, Some("not-a-session"), body).await,
            401,
            "not valid",
        );
        // The NextInteract header is not this family's.
        let member = auth_token(app, MEMBER, PASSWORD).await;
        let req = gateway_request(
            "POST",
            path,
            &[("x-nextinteract-authtoken", &member)],
            Some(body),
        );
        assert_eq!(send(app, path, req).await.0, 401);
        assert_message(
            &site_call(app, path, Some(&member), body).await,
            403,
            "only an admin of the site may do this",
        );
        // An admin of another site names this one: the same answer as for a site that does not exist.
        let other = auth_token(app, OTHER_ADMIN, PASSWORD).await;
        for site in ["1", "99"] {
            let req = with_query(
                gateway_request(
                    "POST",
                    path,
                    &[("authorization", &format!("bearer {other}"))],
                    Some(body),
                ),
                "siteId",
                site,
            );
            let got = send(app, path, req).await;
            assert_message(
                &got,
                403,
                &format!("siteId {site} is not a site you administer"),
            );
        }
        let req = with_query(
            gateway_request(
                "POST",
                path,
                &[("authorization", &format!("Bearer {other}"))],
                Some(body),
            ),
            "siteId",
            "abc",
        );
        assert_message(&send(app, path, req).await, 400, "siteId:");
    }

    // An admin of two sites names one.
    let token = auth_token(app, OTHER_ADMIN, PASSWORD).await;
    let m = membership::find(app.store.as_ref(), w.site, id(1))
        .await
        .unwrap()
        .unwrap();
    let mut second = m.clone();
    second.user_id = id(3);
    app.store
        .transact(vec![records::put_new(&second)])
        .await
        .unwrap();
    assert_message(
        &site_call(app, INVITE, Some(&token), &body).await,
        400,
        "you administer several sites (1, 2); name one with the siteId query parameter",
    );
    let req = with_query(
        gateway_request(
            "POST",
            INVITE,
            &[("authorization", &format!("Bearer {token}"))],
            Some(&body),
        ),
        "siteId",
        "2",
    );
    let (status, granted) = send(app, INVITE, req).await;
    assert_eq!(
        (status, granted["siteId"].clone()),
        (200, json!(w.other.get())),
        "{granted}"
    );

    // An admin whose own temporary access ended administers nothing.
    let mut ended = second.clone();
    ended.expires_at = Some(app.clock.now() - Duration::seconds(1));
    app.store
        .transact(vec![Write::put(records::item(&ended))])
        .await
        .unwrap();
    let req = with_query(
        gateway_request(
            "POST",
            INVITE,
            &[("authorization", &format!("Bearer {token}"))],
            Some(&body),
        ),
        "siteId",
        "1",
    );
    assert_message(
        &send(app, INVITE, req).await,
        403,
        "siteId 1 is not a site you administer",
    );

    // An expired token is refused, and recorded once.
    let admin = auth_token(app, ADMIN, PASSWORD).await;
    w.t.clock.advance(Duration::hours(13));
    assert_message(
        &site_call(app, ACTIVITY, Some(&admin), &range).await,
        401,
        "expired",
    );
    assert_message(
        &site_call(app, ACTIVITY, Some(&admin), &range).await,
        401,
        "not valid",
    );
    let expired = activity::of_user(app.store.as_ref(), id(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.activity_type_id == ActivityType::SessionExpired.id())
        .count();
    assert_eq!(expired, 1);
}
admit_tests::both_backends!(only_a_site_admin_with_a_live_bearer_token_may_call);

async fn seed_report_scenario(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    // Back to the seed's days: Jamie Jones logs in from the web, lets the session expire, and
    // logs in again.
    let seed_time = DateTime::parse_from_rfc3339("2022-01-06T06:27:55.6Z")
        .unwrap()
        .with_timezone(&Utc);
    w.t.clock.advance(seed_time - app.clock.now());
    let login = || async {
        let body = json!({"emailAddress": ADMIN, "password": PASSWORD}).to_string();
        let req = gateway_request(
            "POST",
            "/rest/user/login",
            &[("user-agent", BROWSER)],
            Some(&body),
        );
        let (status, body) = read_as(
            "login_user",
            admit_functions::login_user::handler(app, from_browser(req, "10.255.241.240")).await,
        );
        assert_eq!(status, 200, "{body}");
        body["authToken"].as_str().unwrap().to_string()
    };
    let first = login().await;
    w.t.clock
        .advance(Duration::hours(12) + Duration::minutes(38));
    let req = gateway_request(
        "POST",
        ACTIVITY,
        &[
            ("authorization", &format!("Bearer {first}")),
            ("user-agent", BROWSER),
        ],
        Some(SEED_REQUEST),
    );
    assert_eq!(
        send(app, ACTIVITY, from_browser(req, "10.255.241.240"))
            .await
            .0,
        401
    );
    w.t.clock.advance(Duration::minutes(10));
    let token = login().await;

    // The seed's sample request, exactly as printed: the seed's row shape.
    let (status, body) = site_call(app, ACTIVITY, Some(&token), SEED_REQUEST).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalRecords"], json!(2));
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let keys = [
        "userName",
        "fullName",
        "eventDate",
        "activityTypeId",
        "activityType",
        "sourceTypeId",
        "sourceType",
        "ipAddress",
        "userId",
        "sessionId",
    ];
    for row in rows {
        let mut got: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        got.sort_unstable();
        let mut want = keys.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{row}");
        assert_eq!(row["userName"], json!(ADMIN));
        assert_eq!(row["fullName"], json!("Jamie Jones"));
        assert_eq!(
            (row["activityTypeId"].clone(), row["activityType"].clone()),
            (json!(1), json!("Login Successful"))
        );
        assert_eq!(
            (row["sourceTypeId"].clone(), row["sourceType"].clone()),
            (json!(1), json!("Web"))
        );
        assert_eq!(row["ipAddress"], json!(184_545_776));
        assert_eq!(row["userId"], json!(1));
        assert!(row["sessionId"].as_str().is_some_and(|s| !s.is_empty()));
    }
    assert_eq!(rows[1]["eventDate"], json!("2022-01-06T06:27:55.600Z"));
    assert!(
        rows[0]["eventDate"].as_str() > rows[1]["eventDate"].as_str(),
        "newest first"
    );

    // Without the type filter: the expired session in between, as in the seed.
    let mut every = serde_json::from_str::<Value>(SEED_REQUEST).unwrap();
    every.as_object_mut().unwrap().remove("activity");
    let (_, all) = report(app, &token, every).await;
    let types: Vec<(u64, String)> = all["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["activityTypeId"].as_u64().unwrap(),
                r["activityType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            (1, "Login Successful".to_string()),
            (4, "SessionExpired".into()),
            (1, "Login Successful".into())
        ]
    );

    // The seed's sample query (an empty range) and a reversed one: the seed's 400, exactly.
    for body in [
        SEED_QUERY.to_string(),
        json!({"dateFrom": "2022-05-05T00:00:00Z", "dateTo": "2022-01-05T00:00:00Z"}).to_string(),
    ] {
        assert_eq!(
            site_call(app, ACTIVITY, Some(&token), &body).await,
            (
                400,
                json!({"message": "DateTo should be greater than DateFrom."})
            )
        );
    }
}

admit_tests::both_backends!(seed_report, seed_report_scenario);

async fn report_scope_and_paging_scenario(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let admin = auth_token(app, ADMIN, PASSWORD).await;
    // The invitee joins both sites: its logins are seen by both; each site's own events by it only.
    invite_and_accept(&w.t, &admin, json!({"email": INVITEE, "groups": [12]})).await;
    let other_admin = auth_token(app, OTHER_ADMIN, PASSWORD).await;
    invite_and_accept(&w.t, &other_admin, json!({"email": INVITEE, "groups": [7]})).await;
    for (who, n) in [(INVITEE, 3), (MEMBER, 2), (OTHER_USER, 2)] {
        for _ in 0..n {
            w.t.clock.advance(Duration::seconds(1));
            auth_token(app, who, PASSWORD).await;
        }
    }
    w.t.clock.advance(Duration::seconds(1));

    let site1 = recent(app, &admin, json!({"activity": 1})).await;
    // Logins of users 1, 2 (3), 5 (2); none of user 4, who is not in site 1.
    assert_eq!(site1["totalRecords"], json!(6));
    let times: Vec<&str> = site1["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["eventDate"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|p| p[0] >= p[1]),
        "newest first: {times:?}"
    );
    assert!(kinds(&site1).iter().all(|(_, u)| [1, 2, 5].contains(u)));
    let site2 = recent(app, &other_admin, json!({"activity": 1})).await;
    assert_eq!(site2["totalRecords"], json!(6), "users 3, 2 (3) and 4 (2)");

    // Another site's user: no rows, no error; mixed with this site's users, only theirs.
    assert_eq!(
        recent(app, &admin, json!({"userIds": [4]})).await,
        json!({"totalRecords": 0, "rows": []})
    );
    assert_eq!(
        recent(app, &admin, json!({"userIds": [4, 12345, 0]})).await["totalRecords"],
        json!(0)
    );
    let two = recent(app, &admin, json!({"userIds": [5, 4, 2], "activity": 1})).await;
    assert_eq!(two["totalRecords"], json!(5));
    let users: Vec<u64> = kinds(&two).iter().map(|(_, u)| *u).collect();
    assert_eq!(users, [5, 5, 2, 2, 2], "merged newest first");
    // Site 2's grant to user 2 is not site 1's business.
    let grants = recent(app, &admin, json!({"activity": 13})).await;
    assert_eq!(grants["totalRecords"], json!(1));

    // Paging: every page counts every match.
    let mut seen = Vec::new();
    for page in 1..=4 {
        let got = recent(
            app,
            &admin,
            json!({"activity": 1, "pageSize": 2, "page": page}),
        )
        .await;
        assert_eq!(got["totalRecords"], json!(6));
        seen.extend(
            got["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["eventDate"].clone()),
        );
    }
    let all: Vec<Value> = site1["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["eventDate"].clone())
        .collect();
    assert_eq!(seen, all);
    // Source filter: these logins came from an API client, not the web.
    assert_eq!(
        recent(app, &admin, json!({"activity": 1, "source": 1})).await["totalRecords"],
        json!(0)
    );
    assert_eq!(
        recent(app, &admin, json!({"source": 3, "userIds": [5]})).await["totalRecords"],
        json!(2)
    );
    for (body, want) in [
        (json!({"pageSize": 101}), "pageSize must be from 1 to 100"),
        (json!({"page": 0}), "page counts from 1"),
        (
            json!({"activity": 99}),
            "activity 99 is not an activity type id",
        ),
        (json!({"source": 9}), "source 9 is not a source id"),
        (
            json!({"userIds": ["1"]}),
            "userIds[0] must be a whole number",
        ),
    ] {
        let mut b =
            json!({"dateFrom": "2022-01-05T19:54:08.704Z", "dateTo": "2022-05-05T19:54:08.704Z"});
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        assert_message(&report(app, &admin, b).await, 400, want);
    }
}

admit_tests::both_backends!(report_scope_and_paging, report_scope_and_paging_scenario);

/// Delivers pending mail and returns the token in the last `kind` link emailed to `to`.
async fn token_in_mail(t: &TestApp, to: &str, kind: &str) -> String {
    tokens_in_mail(t, to, kind)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {kind} email to {to}"))
}

/// Delivers pending mail and returns the tokens of every `kind` link emailed to `to`, newest
/// first (on the emulator, other tests' mail to the same address is among them).
async fn tokens_in_mail(t: &TestApp, to: &str, kind: &str) -> Vec<String> {
    outbox::dispatch_pending(&t.app, 100).await.unwrap();
    let mail = t.mail();
    mail.into_iter()
        .rev()
        .filter(|m| m.to == to)
        .filter_map(|m| admit_tests::link_token(&m.text, kind))
        .collect()
}

async fn nextinteract(
    app: &App,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    let req = gateway_request("POST", path, headers, Some(&body.to_string()));
    read(match path {
        "/rest/user/login" => admit_functions::login_user::handler(app, req).await,
        "/rest/user/logout" => admit_functions::logout_user::handler(app, req).await,
        "/rest/user/mi/selfregister" => {
            admit_functions::self_register_mi_user::handler(app, req).await
        }
        "/rest/user/verify" => admit_functions::verify_email::handler(app, req).await,
        "/rest/user/password/reset" => {
            admit_functions::request_password_reset::handler(app, req).await
        }
        "/rest/user/password/reset/confirm" => {
            admit_functions::reset_password::handler(app, req).await
        }
        "/rest/user/miinvite" => admit_functions::invite_mi_user::handler(app, req).await,
        "/rest/user/miinvite/accept" => {
            admit_functions::accept_mi_invitation::handler(app, req).await
        }
        _ => unreachable!("{path}"),
    })
}

/// Each activity type is recorded by the action that causes it, in that action's site or, for
/// an account event, in every site of the user.
async fn each_activity_type_is_recorded_by_the_action_that_causes_it(backend: Backend) {
    let w = world(backend).await;
    let (t, app) = (&w.t, &w.t.app);
    let app_key = "0b1c5d8e-2f3a-4b6c-9d7e-1a2b3c4d5e6f";
    provision::import_api_key(app, w.site, ApiKeyType::App, app_key)
        .await
        .unwrap();
    let step = || t.clock.advance(Duration::seconds(1));
    let login = |email: &'static str, password: &'static str| {
        nextinteract(
            app,
            "/rest/user/login",
            &[],
            json!({"emailAddress": email, "password": password}),
        )
    };
    // Login failed (2) five times, which locks the account; the next attempt: account locked (5).
    for _ in 0..5 {
        step();
        assert!([401, 423].contains(&login(MEMBER, "Wrong-pass-1").await.0));
    }
    step();
    assert_eq!(login(MEMBER, PASSWORD).await.0, 423);
    t.clock.advance(Duration::minutes(16));
    // Login successful (1), logout (3).
    let token = auth_token(app, MEMBER, PASSWORD).await;
    step();
    let header = [("x-nextinteract-authtoken", token.as_str())];
    assert_eq!(
        nextinteract(app, "/rest/user/logout", &header, json!({}))
            .await
            .0,
        200
    );
    // Session expired (4).
    let token = auth_token(app, MEMBER, PASSWORD).await;
    t.clock.advance(Duration::hours(13));
    let header = [("x-nextinteract-authtoken", token.as_str())];
    assert_eq!(
        nextinteract(app, "/rest/user/logout", &header, json!({}))
            .await
            .0,
        401
    );
    // Self-registered (6), then email verified (9).
    step();
    let sam = json!({"version": 2, "apiKey": app_key, "emailAddress": "sam@dealcloud.com",
        "password": PASSWORD, "firstName": "Sam", "lastName": "Lee"});
    assert_eq!(
        nextinteract(app, "/rest/user/mi/selfregister", &[], sam)
            .await
            .0,
        200
    );
    let verify = token_in_mail(t, "sam@dealcloud.com", "verify?token=").await;
    step();
    assert_eq!(
        nextinteract(
            app,
            "/rest/user/verify",
            &[],
            json!({"token": verify, "password": PASSWORD, "newPassword": PASSWORD}),
        )
        .await
        .0,
        200
    );
    // Password reset (8).
    step();
    let ask = json!({"emailAddress": MEMBER});
    assert_eq!(
        nextinteract(app, "/rest/user/password/reset", &[], ask)
            .await
            .0,
        200
    );
    let reset = token_in_mail(t, MEMBER, "reset?token=").await;
    let confirm = json!({"token": reset, "password": "New-pass-2026"});
    assert_eq!(
        nextinteract(app, "/rest/user/password/reset/confirm", &[], confirm)
            .await
            .0,
        200
    );
    // Invitation sent (10), by the admin; invitation accepted (7), by the new user.
    step();
    let admin = auth_token(app, ADMIN, PASSWORD).await;
    let header = [("x-nextinteract-authtoken", admin.as_str())];
    let inv = json!({"companyId": w.site.get(), "contact": {"firstname": "New", "lastname": "Bie",
        "email1": "newbie@dealcloud.com"}});
    assert_eq!(
        nextinteract(app, "/rest/user/miinvite", &header, inv)
            .await
            .0,
        200
    );
    let accept = token_in_mail(t, "newbie@dealcloud.com", "accept?token=").await;
    step();
    let (status, accepted) = nextinteract(
        app,
        "/rest/user/miinvite/accept",
        &[],
        json!({"token": accept, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    // Invitation revoked (11), by the admin through the platform API.
    step();
    let inv = json!({"companyId": w.site.get(), "contact": {"firstname": "Not", "lastname": "Yet",
        "email1": "later@dealcloud.com"}});
    assert_eq!(
        nextinteract(app, "/rest/user/miinvite", &header, inv)
            .await
            .0,
        200
    );
    let revoke = gateway_request(
        "POST",
        "/api/businesses/1/invitations/revoke",
        &[
            ("authorization", format!("Bearer {admin}").as_str()),
            ("content-type", "application/json"),
        ],
        Some(r#"{"EmailAddress": "later@dealcloud.com"}"#),
    )
    .with_path_parameters(std::collections::HashMap::from([(
        "BusinessID".to_string(),
        w.site.get().to_string(),
    )]));
    let revoked = read_as(
        "revoke_invitation",
        admit_functions::revoke_invitation::handler(app, revoke).await,
    );
    assert_eq!(revoked.0, 200, "{}", revoked.1);
    // Teams assigned (12).
    step();
    assert_eq!(assign(&w, 5).await.0, 200);
    // Site access granted (13), and after a day, expired (14).
    step();
    invite_and_accept(t, &admin, json!({"email": INVITEE, "duration": 1})).await;
    t.clock.advance(Duration::days(1) + Duration::seconds(1));

    let admin = auth_token(app, ADMIN, PASSWORD).await;
    let page = recent(app, &admin, json!({})).await;
    let got: std::collections::BTreeSet<(String, u64)> = kinds(&page).into_iter().collect();
    let sam_id = 6;
    for want in [
        ("Login Successful", 5),
        ("Login Successful", 1),
        ("Login Failed", 5),
        ("Account Locked", 5),
        ("Logout", 5),
        ("SessionExpired", 5),
        ("Registered", sam_id),
        ("Email Verified", sam_id),
        ("Password Reset", 5),
        ("Invitation Sent", 1),
        ("Teams Assigned", 5),
        ("Site Access Granted", 2),
        ("Site Access Expired", 2),
        ("Invitation Revoked", 1),
        ("Invitation Accepted", accepted["userId"].as_u64().unwrap()),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1)),
            "{want:?} in {got:?}"
        );
    }
    let failed = kinds(&page)
        .iter()
        .filter(|(k, _)| k == "Login Failed")
        .count();
    assert_eq!(failed, 5);
    // Acceptance is recorded on the new user (the site index of it is the acceptance's owners' to add).
    let newbie = id(accepted["userId"].as_u64().unwrap());
    let items = activity::of_user(app.store.as_ref(), newbie).await.unwrap();
    assert!(items
        .iter()
        .any(|a| a.activity_type_id == ActivityType::InvitationAccepted.id()));
    // None of it is the other site's.
    let other = auth_token(app, OTHER_ADMIN, PASSWORD).await;
    let theirs = recent(app, &other, json!({})).await;
    assert!(
        kinds(&theirs).iter().all(|(_, u)| [3, 4].contains(u)),
        "{theirs}"
    );
}
admit_tests::both_backends!(each_activity_type_is_recorded_by_the_action_that_causes_it);

/// An account event is indexed in every site of the user, even past a transaction's 100 writes.
async fn a_login_reaches_every_site_of_a_user_of_very_many(backend: Backend) {
    use admit_shared::records::activity::site::{self as site_activity, Scope};
    use admit_shared::records::Membership;
    let w = world(backend).await;
    let app = &w.t.app;
    let now = app.clock.now();
    let sites: Vec<Id> = (1000..1150).map(id).collect();
    for chunk in sites.chunks(100) {
        let writes = chunk
            .iter()
            .map(|c| records::put_new(&Membership::new_member(*c, id(2), vec![], now)))
            .collect();
        app.store.transact(writes).await.unwrap();
    }
    w.t.clock.advance(Duration::seconds(1));
    auth_token(app, INVITEE, PASSWORD).await;
    let later = app.clock.now();
    for c in [sites[0], sites[98], sites[149]] {
        let q = site_activity::query(Scope::User(c, id(2)), now, later, 10);
        let (entries, _) = site_activity::page(app.store.as_ref(), &q).await.unwrap();
        assert_eq!(entries.len(), 1, "site {c}");
        assert_eq!(
            entries[0].activity_type_id,
            ActivityType::LoginSuccessful.id()
        );
    }
}
admit_tests::both_backends!(a_login_reaches_every_site_of_a_user_of_very_many);

/// Temporary access that has ended is no membership: the person may be invited back, and
/// accepting makes the membership lasting again.
async fn ended_temporary_access_can_be_reopened_by_an_invitation(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let token = auth_token(app, ADMIN, PASSWORD).await;
    let body = json!({"email": INVITEE, "duration": 1, "groups": [12]});
    invite_and_accept(&w.t, &token, body).await;
    w.t.clock.advance(Duration::days(2));
    let admin = auth_token(app, ADMIN, PASSWORD).await;
    let header = [("x-nextinteract-authtoken", admin.as_str())];
    let inv = json!({"companyId": w.site.get(), "contact": {"firstname": "Terry", "lastname": "User",
        "email1": INVITEE}});
    let (status, sent) = nextinteract(app, "/rest/user/miinvite", &header, inv).await;
    assert_eq!(status, 200, "{sent}");
    let accept = token_in_mail(&w.t, INVITEE, "accept?token=").await;
    let (status, accepted) = nextinteract(
        app,
        "/rest/user/miinvite/accept",
        &[],
        json!({"token": accept, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    let m = membership::find(app.store.as_ref(), w.site, id(2))
        .await
        .unwrap()
        .unwrap();
    assert!(m.expires_at.is_none(), "{m:?}");
    assert!(m.is_active_at(app.clock.now()));
    assert!(m.teams.is_empty(), "what ended is not restored: {m:?}");
}
admit_tests::both_backends!(ended_temporary_access_can_be_reopened_by_an_invitation);

/// Every door that takes a session refuses an expired one and records `Session Expired` for
/// the account's sites, once: each function of the endpoint table is called with a token that
/// has just expired (in both the auth-token header and as a bearer token), so the recorders
/// hold each function's expiry bookkeeping (the account's sites read from the user index, the
/// session deleted, the activity written) to its policy.
async fn every_door_that_takes_a_session_records_its_expiry(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let expiries = || async {
        activity::of_user(app.store.as_ref(), id(1))
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.activity_type_id == ActivityType::SessionExpired.id())
            .count()
    };
    let mut refused = std::collections::BTreeSet::new();
    for e in admit_functions::ENDPOINTS {
        for r in e.routes {
            let token = auth_token(app, ADMIN, PASSWORD).await;
            w.t.clock.advance(Duration::hours(13));
            let before = expiries().await;
            let path = r
                .path
                .replace("{BusinessID}", "1")
                .replace("{deviceId}", "d1");
            let bearer = format!("Bearer {token}");
            let req = gateway_request(
                r.method,
                &path,
                &[
                    ("x-nextinteract-authtoken", &token),
                    ("authorization", &bearer),
                ],
                Some("{}"),
            )
            .with_path_parameters(std::collections::HashMap::from([
                ("BusinessID".to_string(), "1".to_string()),
                ("deviceId".to_string(), "d1".to_string()),
            ]));
            let resp = admit_functions::dispatch(e.name, app, req).await.unwrap();
            let status = resp.status().as_u16();
            let text = match resp.body() {
                lambda_http::Body::Text(t) => t.clone(),
                _ => String::new(),
            };
            if text.contains("expired") {
                assert_eq!(status, 401, "{} {}: {text}", r.method, r.path);
                assert_eq!(expiries().await, before + 1, "{} {}", r.method, r.path);
                refused.insert(e.name);
            } else {
                assert_eq!(expiries().await, before, "{} {}: {text}", r.method, r.path);
            }
        }
    }
    // The endpoint table says which doors take a session; each of them, and no other, did.
    use admit_functions::Auth;
    let expected: std::collections::BTreeSet<&str> = admit_functions::ENDPOINTS
        .iter()
        .filter(|e| {
            matches!(
                e.auth,
                Auth::Session | Auth::OptionalSession | Auth::PlatformSession | Auth::Bearer
            )
        })
        .map(|e| e.name)
        .collect();
    assert_eq!(refused, expected, "the doors that take a session");
}
admit_tests::both_backends!(every_door_that_takes_a_session_records_its_expiry);
