//! The accept page (`GET`/`POST /invitations/accept`) through its Lambda handler: every page it
//! answers with, its status and body, its headers, and escaping of everything it prints.

use admit_shared::domain::{EmailAddress, Id};
use admit_shared::records::{membership, ApiKeyType, Role, Status};
use admit_shared::usecases::invitations::{self, Offer};
use admit_shared::usecases::outbox;
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{auth_token, gateway_request, login, read_as, Backend, FaultyStore, TestApp};
use lambda_http::{Body, RequestExt, Response};
use serde_json::json;

const REP: (&str, &str) = ("rep@acme.example", "Rep-pass-2026");
const VERIFIED: (&str, &str) = ("owner@other.example", "Owner-pass-2026");
const LOCKABLE: (&str, &str) = ("lockable@other.example", "Lockable-pass-2026");

/// Company 1 "Acme <&> Sons" with teams 1 "R&D <i>" and 2 "Sales", a rep (whose name needs
/// escaping); company 2 with two verified accounts.
async fn world(backend: Backend) -> TestApp {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let acme = provision::create_company(app, "Acme <&> Sons")
        .await
        .unwrap()
        .company_id;
    let other = provision::create_company(app, "Other").await.unwrap();
    provision::create_team(app, acme, "R&D <i>", true)
        .await
        .unwrap();
    provision::create_team(app, acme, "Sales", true)
        .await
        .unwrap();
    provision::create_api_key(app, acme, ApiKeyType::App)
        .await
        .unwrap();
    for (who, company, role, first) in [
        (REP, acme, Role::Rep, "Rita <script>alert(1)</script>"),
        (VERIFIED, other.company_id, Role::Member, "Olga"),
        (LOCKABLE, other.company_id, Role::Member, "Lou"),
    ] {
        provision::create_user(
            app,
            NewUser {
                email: who.0,
                password: who.1,
                first_name: first,
                last_name: "Owner",
                membership: Some((company, role)),
            },
        )
        .await
        .unwrap();
    }
    t
}

fn id(n: u64) -> Id {
    Id::new(n).unwrap()
}

/// Invites `email` to company 1 through the use case both API families share (so a note can
/// be given), then delivers the email and returns its accept link.
async fn invite(t: &TestApp, email: &str, note: Option<&str>) -> String {
    let app = &t.app;
    let offer = Offer {
        company: id(1),
        email: EmailAddress::parse(email).unwrap(),
        contact_id: None,
        teams: vec![id(1), id(2)],
        inviter: id(1),
        message: note.map(str::to_string),
        access_days: None,
        via_site: false,
    };
    let previous = invitations::existing(app, id(1), &offer.email)
        .await
        .unwrap();
    let mut uow = admit_shared::usecases::unit::UnitOfWork::new();
    let operator = admit_shared::domain::Caller::default();
    let at = ("https://api.example", &operator, app.clock.now());
    invitations::send(&mut uow, offer, previous.as_ref(), None, at);
    let fail = admit_shared::usecases::failed(admit_shared::domain::error::Service::Company);
    uow.commit(app, fail).await.unwrap();
    latest_link(t, email).await
}

/// Delivers pending mail and returns the newest accept link sent to `to`, as the recipient
/// reads it in the text part.
async fn latest_link(t: &TestApp, to: &str) -> String {
    outbox::dispatch_pending(&t.app, 50).await.unwrap();
    let mail = t.mail();
    mail.iter()
        .rev()
        .filter(|m| m.to == to)
        .find_map(|m| {
            let start = m.text.find("accept?token=")?;
            let from = m.text[..start].rfind("http")?;
            Some(m.text[from..].split_whitespace().next()?.to_string())
        })
        .expect("an email with a link")
}

fn token_of(link: &str) -> String {
    link.split("accept?token=").nth(1).expect("a token").into()
}

struct Page {
    status: u16,
    html: String,
    resp: Response<Body>,
}

impl Page {
    fn has(&self, text: &str) -> &Page {
        assert!(self.html.contains(text), "{text:?} in {}", self.html);
        self
    }
    fn lacks(&self, text: &str) -> &Page {
        assert!(!self.html.contains(text), "{text:?} not in {}", self.html);
        self
    }
    fn status(&self, want: u16) -> &Page {
        assert_eq!(self.status, want, "{}", self.html);
        self
    }
    fn header(&self, name: &str) -> &str {
        self.resp.headers()[name].to_str().unwrap()
    }
}

fn page(resp: Response<Body>) -> Page {
    let status = resp.status().as_u16();
    let html = match resp.body() {
        Body::Text(t) => t.clone(),
        other => panic!("a text body, not {other:?}"),
    };
    Page { status, html, resp }
}

async fn open(app: &App, token: Option<&str>) -> Page {
    let mut req = gateway_request("GET", "/invitations/accept", &[], None);
    if let Some(t) = token {
        req = req.with_query_string_parameters(std::collections::HashMap::from([(
            "token".to_string(),
            t.to_string(),
        )]));
    }
    page(admit_functions::accept_invitation_page::handler(app, req).await)
}

/// Submits the form as a browser does: a `303` is followed to the result page, with the
/// outcome cookie it set (which never holds the token).
async fn submit(app: &App, fields: &[(&str, &str)]) -> Page {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let req = gateway_request("POST", "/invitations/accept", &form, Some(&body));
    let resp = admit_functions::accept_invitation_page::handler(app, req).await;
    if resp.status() != 303 {
        return page(resp);
    }
    assert_eq!(resp.headers()["location"], "accepted");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    let token = fields.iter().find(|(k, _)| *k == "token").map(|(_, v)| *v);
    assert!(
        token.is_none_or(|t| !cookie.contains(t)),
        "no token in the outcome: {cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    result_page(app, cookie.split(';').next().unwrap()).await
}

/// The result page, as the browser opens (or reloads) it with the outcome cookie.
async fn result_page(app: &App, cookie: &str) -> Page {
    let req = gateway_request("GET", "/invitations/accepted", &[("cookie", cookie)], None);
    page(admit_functions::accept_invitation_page::handler(app, req).await)
}

/// inviteMIUser for `email` (contact Jane O'Mead, team Sales) by the rep; the email's link.
async fn invite_jane(t: &TestApp, rep: &str, email: &str) -> String {
    let body = json!({"companyId": 1, "contact": {"firstname": "Jane", "lastname": "O'Mead", "email1": email}, "inviteTeams": [{"teamId": 2}]});
    let req = gateway_request(
        "POST",
        "/rest/user/miinvite",
        &[("x-nextinteract-authtoken", rep)],
        Some(&body.to_string()),
    );
    assert_eq!(
        read_as(
            "invite_mi_user",
            admit_functions::invite_mi_user::handler(&t.app, req).await
        )
        .0,
        200
    );
    latest_link(t, email).await
}

async fn a_new_invitee_accepts_on_the_page(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let rep = auth_token(app, REP.0, REP.1).await;
    // The emulator is shared by the whole run: an address of this test's own.
    let jane = format!(
        "jane.{}@example.com",
        &admit_shared::domain::secrets::random_hex_id()[..8]
    );
    let link = invite_jane(&t, &rep, &jane).await;
    // The email links to the page, on the base the invite request came to.
    assert!(
        link.starts_with("http://127.0.0.1:3000/invitations/accept?token=inv_"),
        "{link}"
    );
    let token = token_of(&link);
    let shown = open(app, Some(&token)).await;
    shown
        .status(200)
        .has("<html lang=\"en\">")
        .has("<main>")
        .has("<h1>Join Acme &lt;&amp;&gt; Sons</h1>")
        .has("Rita &lt;script&gt;alert(1)&lt;/script&gt; Owner invited you")
        .has("<li>Sales</li>")
        .has("<dt>The link expires</dt>")
        .has("<label for=\"firstName\">First name</label>")
        .has("value=\"Jane\"")
        .has("value=\"O&#39;Mead\"")
        .has("autocomplete=\"new-password\"")
        .has(&format!("name=\"token\" value=\"{token}\""))
        .has("<form method=\"post\" action=\"accept\">")
        .lacks("<script");
    for (name, want) in [
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "strict-origin"),
    ] {
        assert_eq!(shown.header(name), want, "{name}");
    }
    assert!(shown
        .header("content-security-policy")
        .starts_with("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"));
    // Opening the page does not use the link up.
    open(app, Some(&token)).await.status(200);

    // A weak password: the form again, the names kept, the password never echoed.
    let typed = [
        ("token", token.as_str()),
        ("firstName", "Janet"),
        ("lastName", "Meade"),
        ("password", "short1"),
    ];
    submit(app, &typed)
        .await
        .status(400)
        .has("role=\"alert\">Password must be between 8 and 30 characters.</p>")
        .has("value=\"Janet\"")
        .has("value=\"Meade\"")
        .lacks("short1");
    submit(app, &typed[..3])
        .await
        .status(400)
        .has("Password is required.");
    submit(app, &[("token", &token), ("password", "no-digits-here")])
        .await
        .status(400)
        .has("Password must contain at least one letter and one number.");

    let mut good = typed;
    good[3].1 = "Accept3d-pass";
    submit(app, &good)
        .await
        .status(200)
        .has("<h1>You have joined Acme &lt;&amp;&gt; Sons</h1>")
        .has("<li>Sales</li>")
        .has(&format!("<strong>{jane}</strong>"));
    auth_token(app, &jane, "Accept3d-pass").await;
    // Reloading the result page shows the same and changes nothing; opened without its
    // cookie (bookmarked) it has nothing to show.
    let stored = t.stored_text().await;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&good)
        .finish();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let done = admit_functions::accept_invitation_page::handler(
        app,
        gateway_request("POST", "/invitations/accept", &form, Some(&body)),
    )
    .await;
    assert_eq!(done.status(), 404, "the link is used up");
    for _ in 0..2 {
        let cookie = "admit_outcome=page=accepted&kind=company&company=Acme+%3C%26%3E+Sons&email=x%40y.example&teams=Sales";
        result_page(app, cookie)
            .await
            .status(200)
            .has("<h1>You have joined Acme &lt;&amp;&gt; Sons</h1>");
    }
    result_page(app, "other=1")
        .await
        .status(404)
        .has("Nothing to show here");
    assert_eq!(
        t.stored_text().await,
        stored,
        "a refused resubmission and the result page changed nothing"
    );
    // Used: both doors say so, and why.
    submit(app, &good)
        .await
        .status(404)
        .has("This invitation link no longer works")
        .has("This invitation was already accepted");
    open(app, Some(&token))
        .await
        .status(404)
        .has("already accepted");
}

admit_tests::both_backends!(a_new_invitee, a_new_invitee_accepts_on_the_page);

async fn links_that_cannot_be_accepted_say_why(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    open(app, None)
        .await
        .status(400)
        .has("<h1>This link is incomplete</h1>");
    submit(app, &[("password", "Accept3d-pass")])
        .await
        .status(400)
        .has("This link is incomplete");
    open(app, Some("inv_unknown"))
        .await
        .status(404)
        .has("<h1>This invitation link no longer works</h1>");
    // Replaced by a newer invitation: the earlier link stops working.
    let first = token_of(&invite(&t, "sam@example.com", None).await);
    let second = token_of(&invite(&t, "sam@example.com", None).await);
    open(app, Some(&first))
        .await
        .status(404)
        .has("A newer email replaced this link");
    open(app, Some(&second)).await.status(200);
    // Revoked by an admin.
    revoke(app, "sam@example.com").await;
    open(app, Some(&second))
        .await
        .status(404)
        .has("This invitation was revoked");
    submit(app, &[("token", &second), ("password", "Accept3d-pass")])
        .await
        .status(404)
        .has("This invitation was revoked");
    // The earlier link, opened again: still replaced (not revoked: it never was the live one).
    open(app, Some(&first))
        .await
        .status(404)
        .has("A newer email replaced this link");
    // A form posted from another site's page: refused, nothing accepted.
    let third = token_of(&invite(&t, "lee@example.com", None).await);
    let body = format!("token={third}&firstName=Lee&lastName=L&password=Accept3d-pass");
    let foreign = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", "https://evil.example"),
    ];
    let req = gateway_request("POST", "/invitations/accept", &foreign, Some(&body));
    page(admit_functions::accept_invitation_page::handler(app, req).await)
        .status(403)
        .has("sent from another site");
    open(app, Some(&third)).await.status(200);
    // Expired (invitations last 7 days by default).
    let token = token_of(&invite(&t, "kim@example.com", None).await);
    t.clock.advance(chrono::Duration::days(8));
    open(app, Some(&token))
        .await
        .status(410)
        .has("<h1>This invitation has expired</h1>")
        .has("Ask whoever invited you to send a new one.");
    submit(app, &[("token", &token), ("password", "Accept3d-pass")])
        .await
        .status(410);
    // A body over the limit.
    let big = format!("token={token}&password={}", "x".repeat(70_000));
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let req = gateway_request("POST", "/invitations/accept", &form, Some(&big));
    page(admit_functions::accept_invitation_page::handler(app, req).await).status(413);
}
admit_tests::both_backends!(links_that_cannot_be_accepted_say_why);

async fn revoke(app: &App, email: &str) {
    provision::create_user(
        app,
        NewUser {
            email: "admin@acme.example",
            password: "Admin-pass-2026",
            first_name: "Ada",
            last_name: "Admin",
            membership: Some((id(1), Role::Admin)),
        },
    )
    .await
    .unwrap();
    let admin = auth_token(app, "admin@acme.example", "Admin-pass-2026").await;
    let bearer = format!("Bearer {admin}");
    let body = json!({ "EmailAddress": email }).to_string();
    let req = gateway_request(
        "POST",
        "/api/businesses/1/invitations/revoke",
        &[("authorization", &bearer)],
        Some(&body),
    )
    .with_path_parameters(std::collections::HashMap::from([(
        "BusinessID".to_string(),
        "1".to_string(),
    )]));
    let resp = admit_functions::revoke_invitation::handler(app, req).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
}

async fn a_verified_account_accepts_with_its_own_password(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let link = invite(&t, VERIFIED.0, Some("Welcome aboard!\n<b>Bring snacks</b>")).await;
    let token = token_of(&link);
    open(app, Some(&token))
        .await
        .status(200)
        .has("<blockquote>Welcome aboard!\n&lt;b&gt;Bring snacks&lt;/b&gt;</blockquote>")
        .has("already has an account")
        .has("autocomplete=\"current-password\"")
        .lacks("name=\"firstName\"")
        .lacks("new-password");
    submit(app, &[("token", &token)])
        .await
        .status(401)
        .has("Enter the password of the account for owner@other.example to accept.");
    submit(app, &[("token", &token), ("password", "Not-her-pass-1")])
        .await
        .status(401)
        .has("That is not the password of the account for owner@other.example. Try again.")
        .lacks("Not-her-pass-1");
    submit(app, &[("token", &token), ("password", VERIFIED.1)])
        .await
        .status(200)
        .has("You have joined Acme &lt;&amp;&gt; Sons");
}
admit_tests::both_backends!(a_verified_account_accepts_with_its_own_password);

async fn failed_passwords_lock_the_account_on_the_page_too(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let token = token_of(&invite(&t, LOCKABLE.0, None).await);
    let wrong = [("token", token.as_str()), ("password", "Wrong-pass-1")];
    for _ in 0..4 {
        submit(app, &wrong).await.status(401);
    }
    let locked = submit(app, &wrong).await;
    locked
        .status(423)
        .has("Too many failed logins")
        .has("<form method=\"post\" action=\"accept\">");
    assert!(locked.header("retry-after").parse::<u64>().unwrap() > 0);
    submit(app, &[("token", &token), ("password", LOCKABLE.1)])
        .await
        .status(423);
}
admit_tests::both_backends!(failed_passwords_lock_the_account_on_the_page_too);

async fn an_unverified_account_gets_the_password_chosen_on_the_page(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let (_, key) = provision::create_api_key(app, id(1), ApiKeyType::App)
        .await
        .unwrap();
    let body = json!({"version": 1, "apiKey": key, "emailAddress": "squat@example.com", "firstName": "Sq", "lastName": "Uatter", "password": "Squatter-pass-1"});
    let req = gateway_request(
        "POST",
        "/rest/user/mi/selfregister",
        &[],
        Some(&body.to_string()),
    );
    assert_eq!(
        read_as(
            "self_register_mi_user",
            admit_functions::self_register_mi_user::handler(app, req).await
        )
        .0,
        200
    );
    // The squatter signed in on a phone: accepting on the page signs it out and forgets it.
    let (_, granted) = login(app, "squat@example.com", "Squatter-pass-1").await;
    let squatter = granted["authToken"].as_str().unwrap().to_string();
    let squatter_id = Id::new(granted["userId"].as_u64().unwrap()).unwrap();
    let phone = gateway_request(
        "POST",
        "/rest/user/devices",
        &[("x-nextinteract-authtoken", squatter.as_str())],
        Some(r#"{"platform": "ios", "deviceToken": "squatters-phone"}"#),
    );
    let registered = admit_functions::register_device::handler(app, phone).await;
    assert_eq!(read_as("register_device", registered).0, 200);
    let token = token_of(&invite(&t, "squat@example.com", None).await);
    open(app, Some(&token))
        .await
        .status(200)
        .has("nobody has confirmed")
        .has("autocomplete=\"new-password\"")
        // The owner names the account they take back.
        .has("name=\"firstName\"");
    submit(
        app,
        &[
            ("token", &token),
            ("password", "Mine-now-2026"),
            ("firstName", "Real"),
            ("lastName", "Owner"),
        ],
    )
    .await
    .status(200);
    let owner = admit_shared::records::user::find_by_email(
        app.store.as_ref(),
        &admit_shared::domain::EmailAddress::parse("squat@example.com").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        (owner.first_name.as_str(), owner.last_name.as_str()),
        ("Real", "Owner")
    );
    auth_token(app, "squat@example.com", "Mine-now-2026").await;
    let devices = admit_shared::records::notification::devices(app.store.as_ref(), squatter_id)
        .await
        .unwrap();
    assert!(
        devices.is_empty(),
        "the squatter's phone is forgotten: {devices:?}"
    );
    assert_eq!(
        login(app, "squat@example.com", "Squatter-pass-1").await.0,
        401
    );
}
admit_tests::both_backends!(an_unverified_account_gets_the_password_chosen_on_the_page);

async fn a_deactivated_membership_is_a_dead_end_not_a_retry(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let token = token_of(&invite(&t, "gone@example.com", None).await);
    let user = provision::create_user(
        app,
        NewUser {
            email: "gone@example.com",
            password: "Gone-pass-2026",
            first_name: "Gone",
            last_name: "Member",
            membership: Some((id(1), Role::Member)),
        },
    )
    .await
    .unwrap();
    let m = membership::find(app.store.as_ref(), id(1), user.user_id)
        .await
        .unwrap()
        .unwrap();
    app.store
        .transact(vec![membership::set_status(&m, Status::Inactive)])
        .await
        .unwrap();
    submit(app, &[("token", &token), ("password", "Gone-pass-2026")])
        .await
        .status(403)
        .has("<h1>This invitation cannot be accepted</h1>")
        .has("deactivated")
        .lacks("<form");
}
admit_tests::both_backends!(a_deactivated_membership_is_a_dead_end_not_a_retry);

async fn a_storage_failure_is_a_page_too(backend: Backend) {
    let t = world(backend).await;
    let token = token_of(&invite(&t, "kai@example.com", None).await);
    let faulty = FaultyStore::new(t.app.store.clone());
    let broken = App {
        store: faulty.clone(),
        ..t.app.clone()
    };
    faulty.fail("COMPANY#", true);
    open(&broken, Some(&token))
        .await
        .status(503)
        .has("<h1>Something went wrong on our side</h1>");
    faulty.fail("COMPANY#", false);
    submit(&broken, &[("token", &token), ("password", "Accept3d-pass")])
        .await
        .status(500)
        .has("Please try again in a moment.");
    faulty.heal();
    open(&broken, Some(&token)).await.status(200);
}
admit_tests::both_backends!(a_storage_failure_is_a_page_too);
