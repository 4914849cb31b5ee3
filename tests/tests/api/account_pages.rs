//! The pages an account's emails link to, as a browser uses them: the verification page and the
//! password reset pages. What each answers (status, page, field errors), what a successful form
//! does (303 to a result page whose URL and cookie hold no token; reloading it changes nothing),
//! and every dead end with its way forward: used, unknown, expired, locked, already done.

use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::outbox;
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{gateway_request, login, Backend, TestApp};
use lambda_http::{Body, RequestExt, Response};
use serde_json::json;

const APP_KEY: &str = "5e1c5d8e-2f3a-4b6c-9d7e-1a2b3c4d5e70";
const MEMBER: (&str, &str) = ("member@pages.example", "Member-pass-2026");

async fn world(backend: Backend) -> TestApp {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let c = provision::create_company(app, "Pages & Co")
        .await
        .unwrap()
        .company_id;
    provision::import_api_key(app, c, ApiKeyType::App, APP_KEY)
        .await
        .unwrap();
    provision::create_user(
        app,
        NewUser {
            email: MEMBER.0,
            password: MEMBER.1,
            first_name: "Mo",
            last_name: "Member",
            membership: Some((c, Role::Member)),
        },
    )
    .await
    .unwrap();
    t
}

/// A page as the browser got it.
struct Page {
    status: u16,
    html: String,
    location: Option<String>,
    cookie: Option<String>,
}

impl Page {
    fn of(resp: Response<Body>) -> Page {
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let (location, cookie) = (header("location"), header("set-cookie"));
        assert!(
            header("content-type").is_some_and(|c| c.starts_with("text/html")),
            "every answer is a page"
        );
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        let html = match resp.body() {
            Body::Text(t) => t.clone(),
            other => panic!("a text body, not {other:?}"),
        };
        Page {
            status: resp.status().as_u16(),
            html,
            location,
            cookie,
        }
    }
    fn status(&self, want: u16) -> &Page {
        assert_eq!(self.status, want, "{}", self.html);
        self
    }
    fn has(&self, text: &str) -> &Page {
        assert!(
            self.html.contains(text),
            "`{text}` is not in:\n{}",
            self.html
        );
        self
    }
    fn lacks(&self, text: &str) -> &Page {
        assert!(!self.html.contains(text), "`{text}` is in:\n{}", self.html);
        self
    }
}

async fn handle(app: &App, req: lambda_http::Request) -> Page {
    let path = req.uri().path().to_string();
    Page::of(if path.starts_with("/account/verify") {
        admit_functions::verify_email_page::handler(app, req).await
    } else {
        admit_functions::reset_password_page::handler(app, req).await
    })
}

async fn open(app: &App, path: &str, token: Option<&str>, cookie: Option<&str>) -> Page {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
    let mut req = gateway_request("GET", path, &headers, None);
    if let Some(t) = token {
        req = req.with_query_string_parameters(std::collections::HashMap::from([(
            "token".to_string(),
            t.to_string(),
        )]));
    }
    handle(app, req).await
}

async fn post(app: &App, path: &str, fields: &[(&str, &str)]) -> Page {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    handle(app, gateway_request("POST", path, &form, Some(&body))).await
}

/// A `303` followed as a browser follows it: the location resolved against the form's path,
/// with the outcome cookie it set, which (like the location) holds no token.
async fn follow(
    app: &App,
    from: &str,
    answer: &Page,
    token: Option<&str>,
) -> (String, String, Page) {
    answer.status(303);
    let location = answer.location.clone().expect("a Location");
    let cookie = answer.cookie.clone().expect("the outcome cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    if let Some(t) = token {
        assert!(
            !cookie.contains(t) && !location.contains(t),
            "{location} {cookie}"
        );
    }
    let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
    let path = format!("{dir}/{location}");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = open(app, &path, None, Some(&cookie)).await;
    (path, cookie, page)
}

/// Delivers pending mail; the token of the newest link to `to` whose URL contains `marker`.
async fn link_token(t: &TestApp, to: &str, marker: &str) -> String {
    outbox::dispatch_pending(&t.app, 50).await.unwrap();
    let mail = t.mail();
    mail.iter()
        .rev()
        .filter(|m| m.to == to)
        .find_map(|m| admit_tests::link_token(&m.text, marker))
        .unwrap_or_else(|| panic!("no email to {to} with {marker}"))
}

async fn register(app: &App, email: &str, password: &str) {
    let body = json!({"version": 2, "apiKey": APP_KEY, "emailAddress": email, "password": password,
        "firstName": "Sam", "lastName": "Lee", "sendWelcomeEmail": true});
    let req = gateway_request(
        "POST",
        "/rest/user/mi/selfregister",
        &[],
        Some(&body.to_string()),
    );
    let resp = admit_functions::self_register_mi_user::handler(app, req).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
}

fn as_refs<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn unique(name: &str, backend: Backend) -> String {
    format!(
        "{name}-{:?}-{}@pages.example",
        backend,
        admit_shared::domain::secrets::random_hex_id()
    )
    .to_ascii_lowercase()
}

async fn verification_scenario(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let sam = unique("sam", backend);
    register(app, &sam, "Sam-pass-2026").await;
    let token = link_token(&t, &sam, "/account/verify?token=").await;

    open(app, "/account/verify", Some(&token), None)
        .await
        .status(200)
        .has("<html lang=\"en\">")
        .has(&format!("Confirm that <strong>{sam}</strong> is yours"))
        // Nothing the registrant chose is shown beside the password prompt.
        .lacks("Sam")
        .lacks("Lee")
        .has("<label for=\"password\">Current password of the account</label>")
        .has("<label for=\"newPassword\">New password</label>")
        .has("autocomplete=\"current-password\"")
        .has("<form method=\"post\" action=\"verify\">");
    let with = |password: Option<&'static str>| {
        let mut f = vec![("token", token.clone())];
        f.extend(password.map(|p| ("password", p.to_string())));
        f.push(("newPassword", "Sam-new-pass-2026".to_string()));
        f.push(("confirm", "Sam-new-pass-2026".to_string()));
        f
    };
    let none = with(None);
    post(app, "/account/verify", &as_refs(&none))
        .await
        .status(401)
        .has("id=\"password-error\" class=\"field-error\">Enter the password of your account to confirm.")
        .has("aria-invalid=\"true\"");
    let wrong = with(Some("Not-sams-pass-1"));
    post(app, "/account/verify", &as_refs(&wrong))
        .await
        .status(401)
        .has("That is not the password of this account.")
        .lacks("Not-sams-pass-1");
    let right = with(Some("Sam-pass-2026"));
    let answer = post(app, "/account/verify", &as_refs(&right)).await;
    let (path, cookie, done) = follow(app, "/account/verify", &answer, Some(&token)).await;
    assert_eq!(path, "/account/verify/done");
    done.status(200)
        .has("<h1>Your address is confirmed</h1>")
        .has(&format!("{sam} is confirmed."));
    // Reloading the result page shows the same and changes nothing.
    let stored = t.stored_text().await;
    for _ in 0..2 {
        open(app, &path, None, Some(&cookie))
            .await
            .status(200)
            .has("Your address is confirmed");
    }
    open(app, &path, None, None)
        .await
        .status(404)
        .has("Nothing to show here");
    // Used: the link is a dead end with a way forward, and changes nothing.
    open(app, "/account/verify", Some(&token), None)
        .await
        .status(404)
        .has("<h1>This confirmation link no longer works</h1>")
        .has("<a href=\"password/forgot\">");
    post(app, "/account/verify", &as_refs(&right))
        .await
        .status(404);
    assert_eq!(t.stored_text().await, stored);
    // Confirming set the new password: the one the registrant chose no longer works.
    assert_eq!(login(app, &sam, "Sam-pass-2026").await.0, 401);
    assert_eq!(login(app, &sam, "Sam-new-pass-2026").await.0, 200);

    // Unknown and incomplete links.
    open(app, "/account/verify", Some("ver_unknown"), None)
        .await
        .status(404);
    open(app, "/account/verify", None, None)
        .await
        .status(400)
        .has("<h1>This link is incomplete</h1>");

    // Locked after too many wrong passwords: its own page, with Retry-After's status.
    let lou = unique("lou", backend);
    register(app, &lou, "Lou-pass-2026").await;
    let lou_token = link_token(&t, &lou, "/account/verify?token=").await;
    let wrong = [
        ("token", lou_token.as_str()),
        ("password", "Wrong-pass-1"),
        ("newPassword", "Lou-new-pass-2026"),
        ("confirm", "Lou-new-pass-2026"),
    ];
    let mut last = post(app, "/account/verify", &wrong).await;
    for _ in 0..5 {
        if last.status == 423 {
            break;
        }
        last.status(401);
        last = post(app, "/account/verify", &wrong).await;
    }
    last.status(423)
        .has("<h1>Too many wrong passwords</h1>")
        .has("<a href=\"password/forgot\">");

    // Expired: links work 7 days.
    let kim = unique("kim", backend);
    register(app, &kim, "Kim-pass-2026").await;
    let kim_token = link_token(&t, &kim, "/account/verify?token=").await;
    t.clock.advance(chrono::Duration::days(8));
    open(app, "/account/verify", Some(&kim_token), None)
        .await
        .status(410)
        .has("<h1>This confirmation link has expired</h1>");
}

admit_tests::both_backends!(the_verification_page, verification_scenario);

async fn reset_scenario(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let (status, session) = login(app, MEMBER.0, MEMBER.1).await;
    assert_eq!(status, 200, "{session}");
    let session = session["authToken"].as_str().unwrap().to_string();

    // Asking for a link.
    open(app, "/account/password/forgot", None, None)
        .await
        .status(200)
        .has("<label for=\"emailAddress\">Email address</label>")
        .has("<form method=\"post\" action=\"forgot\">");
    post(
        app,
        "/account/password/forgot",
        &[("emailAddress", "not an address")],
    )
    .await
    .status(400)
    .has("id=\"emailAddress-error\"")
    .has("value=\"not an address\"");
    let asked = post(
        app,
        "/account/password/forgot",
        &[("emailAddress", MEMBER.0)],
    )
    .await;
    let (path, _, sent) = follow(app, "/account/password/forgot", &asked, None).await;
    assert_eq!(path, "/account/password/forgot/sent");
    sent.status(200)
        .has("<h1>Check your email</h1>")
        .has(&format!("If {} has an account", MEMBER.0));
    let token = link_token(&t, MEMBER.0, "/account/password/reset?token=").await;

    // The form: the address, the policy, the new password twice.
    open(app, "/account/password/reset", Some(&token), None)
        .await
        .status(200)
        .has(&format!("For the account <strong>{}</strong>", MEMBER.0))
        .has("8 to 30 characters, with at least one letter and one digit.")
        .has("<label for=\"password\">New password</label>")
        .has("<label for=\"confirm\">The new password again</label>")
        .has("every device signed in");
    post(
        app,
        "/account/password/reset",
        &[
            ("token", &token),
            ("password", "New-pass-2026"),
            ("confirm", "New-pass-2027"),
        ],
    )
    .await
    .status(400)
    .has("id=\"confirm-error\" class=\"field-error\">The two passwords are not the same")
    .lacks("id=\"password-error\"");
    post(
        app,
        "/account/password/reset",
        &[
            ("token", &token),
            ("password", "short"),
            ("confirm", "short"),
        ],
    )
    .await
    .status(400)
    .has("id=\"password-error\"");
    let stored = t.stored_text().await;
    let good = [
        ("token", token.as_str()),
        ("password", "New-pass-2026"),
        ("confirm", "New-pass-2026"),
    ];
    let answer = post(app, "/account/password/reset", &good).await;
    assert_ne!(t.stored_text().await, stored, "the reset was made");
    let (path, cookie, done) = follow(app, "/account/password/reset", &answer, Some(&token)).await;
    assert_eq!(path, "/account/password/reset/done");
    done.status(200)
        .has("<h1>Your password is changed</h1>")
        .has("Every other session was signed out");
    let stored = t.stored_text().await;
    open(app, &path, None, Some(&cookie))
        .await
        .status(200)
        .has("Your password is changed");
    assert_eq!(t.stored_text().await, stored, "reloading changes nothing");
    // What the page said: the new password signs in, the old session is gone.
    assert_eq!(login(app, MEMBER.0, "New-pass-2026").await.0, 200);
    assert_eq!(login(app, MEMBER.0, MEMBER.1).await.0, 401);
    let req = gateway_request(
        "GET",
        "/rest/user/notifications",
        &[("x-nextinteract-authtoken", &session)],
        None,
    );
    let resp = admit_functions::list_notifications::handler(app, req).await;
    assert_eq!(
        resp.status(),
        401,
        "the session from before the reset ended"
    );
    // Used, and submitted again: a dead end with the way forward.
    open(app, "/account/password/reset", Some(&token), None)
        .await
        .status(404)
        .has("<h1>This reset link no longer works</h1>")
        .has("<a href=\"forgot\">Ask for a new reset link</a>");
    post(app, "/account/password/reset", &good)
        .await
        .status(404);

    // Expired: links work 60 minutes.
    post(
        app,
        "/account/password/forgot",
        &[("emailAddress", MEMBER.0)],
    )
    .await
    .status(303);
    let late = link_token(&t, MEMBER.0, "/account/password/reset?token=").await;
    assert_ne!(late, token);
    t.clock.advance(chrono::Duration::minutes(61));
    open(app, "/account/password/reset", Some(&late), None)
        .await
        .status(410)
        .has("<h1>This reset link has expired</h1>")
        .has("<a href=\"forgot\">");

    // A form posted from another site's page is refused, and sends nothing.
    let stored = t.stored_text().await;
    let body = "emailAddress=member%40pages.example";
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", "https://evil.example"),
    ];
    let refused = handle(
        app,
        gateway_request("POST", "/account/password/forgot", &headers, Some(body)),
    )
    .await;
    refused.status(403).has("sent from another site");
    let body = format!("token={late}&password=Evil-pass-2026&confirm=Evil-pass-2026");
    handle(
        app,
        gateway_request("POST", "/account/password/reset", &headers, Some(&body)),
    )
    .await
    .status(403);
    assert_eq!(
        t.stored_text().await,
        stored,
        "a refused form changes nothing"
    );

    // Three requests an hour per address: the fourth is refused, on a page.
    for _ in 0..3 {
        post(
            app,
            "/account/password/forgot",
            &[("emailAddress", "nobody@pages.example")],
        )
        .await
        .status(303);
    }
    post(
        app,
        "/account/password/forgot",
        &[("emailAddress", "nobody@pages.example")],
    )
    .await
    .status(429)
    .has("Too many requests for this address");
}

admit_tests::both_backends!(the_password_reset_pages, reset_scenario);

/// A password reset of an address nobody had confirmed takes it back: the owner gets a new
/// account, and the verification link sent to the registrant's account is a dead end with a way
/// forward (an account confirmed while it keeps its id gets "already confirmed": the page's unit
/// test).
async fn a_verification_link_of_an_account_taken_back_is_a_dead_end(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    register(app, "twice@pages.example", "Twice-pass-2026").await;
    let token = link_token(&t, "twice@pages.example", "/account/verify?token=").await;
    post(
        app,
        "/account/password/forgot",
        &[("emailAddress", "twice@pages.example")],
    )
    .await
    .status(303);
    let reset = link_token(&t, "twice@pages.example", "/account/password/reset?token=").await;
    post(
        app,
        "/account/password/reset",
        &[
            ("token", &reset),
            ("firstName", "Twice"),
            ("lastName", "Owner"),
            ("password", "Other-pass-2026"),
            ("confirm", "Other-pass-2026"),
        ],
    )
    .await
    .status(303);
    open(app, "/account/verify", Some(&token), None)
        .await
        .status(404)
        .has("<h1>This confirmation link no longer works</h1>")
        .has("<a href=\"password/forgot\">")
        .lacks("<form");
    assert_eq!(
        login(app, "twice@pages.example", "Other-pass-2026").await.0,
        200
    );
}
admit_tests::both_backends!(a_verification_link_of_an_account_taken_back_is_a_dead_end);

/// A function with several routes answers each by the route API Gateway matched (its
/// `routeKey`), never by the look of the path: a route it does not have is not found.
#[tokio::test]
async fn a_page_function_answers_only_its_own_routes() {
    let t = TestApp::new(Backend::Embedded).await;
    for path in ["/account/password/elsewhere", "/account/verify/other"] {
        handle(&t.app, gateway_request("GET", path, &[], None))
            .await
            .status(404);
    }
    handle(
        &t.app,
        gateway_request("GET", "/account/password/forgot", &[], None),
    )
    .await
    .status(200);
}
