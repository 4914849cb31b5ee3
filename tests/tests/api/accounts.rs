//! Who owns an address: email verification, the invitation rules for unverified and verified
//! accounts (the squatter case), and password reset by email.

use admit_shared::domain::Id;
use admit_shared::records::{membership, ApiKeyType, Role, Status};
use admit_shared::usecases::outbox;
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{
    assert_error, auth_token, gateway_request, login, read, read_as, Backend, TestApp,
};
use lambda_http::RequestExt;
use serde_json::{json, Value};

const APP_KEY: &str = "0b1c5d8e-2f3a-4b6c-9d7e-1a2b3c4d5e6f";
const REP: (&str, &str) = ("rep@acme.example", "Rep-pass-2026");

/// Company 1 "Acme" with an app key and a rep; company 2 "Strict" that accepts only acme.example.
async fn world(backend: Backend) -> TestApp {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let c = provision::create_company(app, "Acme")
        .await
        .unwrap()
        .company_id;
    provision::import_api_key(app, c, ApiKeyType::App, APP_KEY)
        .await
        .unwrap();
    provision::create_user(
        app,
        NewUser {
            email: REP.0,
            password: REP.1,
            first_name: "R",
            last_name: "R",
            membership: Some((c, Role::Rep)),
        },
    )
    .await
    .unwrap();
    t
}

async fn call(app: &App, req: lambda_http::Request, route: &str) -> (u16, Value) {
    read(match route {
        "register" => admit_functions::self_register_mi_user::handler(app, req).await,
        "verify" => admit_functions::verify_email::handler(app, req).await,
        "preview" => admit_functions::get_email_verification::handler(app, req).await,
        "reset" => admit_functions::request_password_reset::handler(app, req).await,
        "confirm" => admit_functions::reset_password::handler(app, req).await,
        "invite" => admit_functions::invite_mi_user::handler(app, req).await,
        "accept" => admit_functions::accept_mi_invitation::handler(app, req).await,
        _ => unreachable!("{route}"),
    })
}

async fn post(
    app: &App,
    route: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    let req = gateway_request("POST", path, headers, Some(&body.to_string()));
    call(app, req, route).await
}

async fn register(app: &App, email: &str, password: &str, welcome: Option<bool>) -> (u16, Value) {
    let body = json!({"version": 2, "apiKey": APP_KEY, "emailAddress": email, "password": password,
        "firstName": "Sam", "lastName": "Lee", "sendWelcomeEmail": welcome});
    post(app, "register", "/rest/user/mi/selfregister", &[], body).await
}

/// Delivers pending mail and returns the bodies of the emails sent to `to`, oldest first.
async fn mail_to(t: &TestApp, to: &str) -> Vec<String> {
    outbox::dispatch_pending(&t.app, 100).await.unwrap();
    t.mail()
        .into_iter()
        .filter(|m| m.to == to)
        .map(|m| m.text)
        .collect()
}

/// The token in the last link of `kind` (`verify?token=`, `reset?token=`, `accept?token=`)
/// emailed to `to`.
async fn token_in_mail(t: &TestApp, to: &str, kind: &str) -> String {
    let mails = mail_to(t, to).await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.contains(kind))
        .unwrap_or_else(|| panic!("no {kind} email to {to}: {mails:?}"));
    let rest = mail.split(kind).nth(1).unwrap();
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn with_token(mut req: lambda_http::Request, token: &str) -> lambda_http::Request {
    req = req.with_query_string_parameters(std::collections::HashMap::from([(
        "token".to_string(),
        token.to_string(),
    )]));
    req
}

async fn verification_is_always_emailed_and_a_link_is_used_only_by_post(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let strict = provision::create_company(app, "Strict")
        .await
        .unwrap()
        .company_id;
    let strict_key = "7d9e0f1a-2b3c-4d5e-8f90-a1b2c3d4e5f6";
    provision::import_api_key(app, strict, ApiKeyType::App, strict_key)
        .await
        .unwrap();
    provision::set_setting(app, strict, "allowedEmailDomains", "acme.example")
        .await
        .unwrap();
    // sendWelcomeEmail false: no welcome text, but the proof of address still goes out.
    let body = json!({"version": 2, "apiKey": strict_key, "emailAddress": "sam@acme.example",
        "password": "Sam-pass-2026", "firstName": "Sam", "lastName": "Lee", "sendWelcomeEmail": false});
    assert_eq!(
        post(app, "register", "/rest/user/mi/selfregister", &[], body)
            .await
            .0,
        200
    );
    let mails = mail_to(&t, "sam@acme.example").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(!mails[0].contains("Welcome to"), "{}", mails[0]);
    let token = token_in_mail(&t, "sam@acme.example", "verify?token=").await;
    // The domain counts only once the address is proven: the membership waits.
    let user = Id::new(2).unwrap();
    let m = membership::find(app.store.as_ref(), strict, user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.status, Status::Pending);
    // Opening the link (a mail scanner, a preview) does not use it.
    for _ in 0..2 {
        let req = with_token(
            gateway_request("GET", "/rest/user/verify", &[], None),
            &token,
        );
        let (status, shown) = call(app, req, "preview").await;
        assert_eq!(status, 200, "{shown}");
        assert_eq!(shown["emailAddress"], json!("sam@acme.example"));
    }
    // The mailbox alone does not confirm: the account's password holder does (someone who
    // registered another person's address must not get it verified by its owner's click).
    assert_error(
        &post(
            app,
            "verify",
            "/rest/user/verify",
            &[],
            json!({"token": token}),
        )
        .await,
        401,
        "WSInvalidLoginException",
    );
    assert_error(
        &post(
            app,
            "verify",
            "/rest/user/verify",
            &[],
            json!({"token": token, "password": "Not-sams-pass-1", "newPassword": "Sam-new-pass-2026"}),
        )
        .await,
        401,
        "WSInvalidLoginException",
    );
    let (status, done) = post(
        app,
        "verify",
        "/rest/user/verify",
        &[],
        json!({"token": token, "password": "Sam-pass-2026", "newPassword": "Sam-new-pass-2026"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["userId"], json!(2));
    let m = membership::find(app.store.as_ref(), strict, user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.status, Status::Active);
    // Once only.
    assert_error(
        &post(
            app,
            "verify",
            "/rest/user/verify",
            &[],
            json!({"token": token, "password": "Sam-pass-2026", "newPassword": "Sam-new-pass-2026"}),
        )
        .await,
        404,
        "WSRecordNotFoundException",
    );
    assert_error(
        &post(app, "verify", "/rest/user/verify", &[], json!({})).await,
        400,
        "WSInvalidParameterException",
    );
    // An expired link says so.
    assert_eq!(
        register(app, "late@acme.example", "Late-pass-2026", None)
            .await
            .0,
        200
    );
    let late = token_in_mail(&t, "late@acme.example", "verify?token=").await;
    t.clock.advance(chrono::Duration::days(8));
    assert_error(
        &post(
            app,
            "verify",
            "/rest/user/verify",
            &[],
            json!({"token": late, "password": "Late-pass-2026", "newPassword": "Late-new-pass-2026"}),
        )
        .await,
        410,
        "WSExpiredException",
    );
}

/// Mallory registers alice@ with her own password and no welcome email, through Acme; Acme
/// invites alice@ all the same (an unproven account is not a member for this purpose). Alice,
/// who controls the address, accepts: the account becomes hers and Mallory is out.
async fn whoever_proves_the_address_wins_a_squatted_account(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let alice = "alice@example.com";
    assert_eq!(
        register(app, alice, "Mall0ry-pass", Some(false)).await.0,
        200
    );
    let mallory = auth_token(app, alice, "Mall0ry-pass").await;
    let phone = gateway_request(
        "POST",
        "/rest/user/devices",
        &[("x-nextinteract-authtoken", mallory.as_str())],
        Some(r#"{"platform": "ios", "deviceToken": "mallorys-phone"}"#),
    );
    assert_eq!(
        read_as(
            "register_device",
            admit_functions::register_device::handler(app, phone).await
        )
        .0,
        200
    );
    let rep = auth_token(app, REP.0, REP.1).await;
    let invite = json!({"companyId": 1, "contact": {"firstname": "Alice", "lastname": "A", "email1": alice}});
    let got = post(
        app,
        "invite",
        "/rest/user/miinvite",
        &[("x-nextinteract-authtoken", &rep)],
        invite,
    )
    .await;
    // Mallory's account is a member of the company she registered through, but nobody proved
    // the address: it does not count as a member, so the invitation goes to the real owner.
    assert_eq!(got.0, 200, "{}", got.1);
    let token = token_in_mail(&t, alice, "accept?token=").await;
    // Alice has the link (Mallory does not): she accepts with a password of her own.
    let (status, accepted) = post(
        app,
        "accept",
        "/rest/user/miinvite/accept",
        &[],
        json!({"token": token, "password": "Alice-pass-2026"}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    // Mallory's session and password are gone; Alice's password works.
    let logout = gateway_request(
        "POST",
        "/rest/user/logout",
        &[("x-nextinteract-authtoken", mallory.as_str())],
        None,
    );
    assert_error(
        &read_as(
            "logout_user",
            admit_functions::logout_user::handler(app, logout).await,
        ),
        401,
        "WSInvalidAuthTokenException",
    );
    assert_eq!(login(app, alice, "Mall0ry-pass").await.0, 401);
    // ... and her phone gets none of the account's pushes any more.
    let account = admit_shared::records::user::find_by_email(
        app.store.as_ref(),
        &admit_shared::domain::EmailAddress::parse(alice).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let devices = admit_shared::records::notification::devices(app.store.as_ref(), account.user_id)
        .await
        .unwrap();
    assert!(devices.is_empty(), "{devices:?}");
    assert_eq!(login(app, alice, "Alice-pass-2026").await.0, 200);
}

async fn accepting_as_another_signed_in_account_is_refused(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let rep = auth_token(app, REP.0, REP.1).await;
    let invite = json!({"companyId": 1, "contact": {"firstname": "N", "lastname": "N", "email1": "new@example.com"}});
    let headers = [("x-nextinteract-authtoken", rep.as_str())];
    assert_eq!(
        post(app, "invite", "/rest/user/miinvite", &headers, invite)
            .await
            .0,
        200
    );
    let token = token_in_mail(&t, "new@example.com", "accept?token=").await;
    let got = post(
        app,
        "accept",
        "/rest/user/miinvite/accept",
        &headers,
        json!({"token": token, "password": "New-pass-2026"}),
    )
    .await;
    assert_error(&got, 403, "WSNotPermittedException");
    // Nothing was used up: the invitee can still accept.
    let ok = post(
        app,
        "accept",
        "/rest/user/miinvite/accept",
        &[],
        json!({"token": token, "password": "New-pass-2026"}),
    )
    .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
}

async fn a_password_reset_proves_the_address_and_revokes_every_session(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let (email, old) = (REP.0, REP.1);
    let session = auth_token(app, email, old).await;
    let ask = |e: &str| json!({ "emailAddress": e });
    // The same answer for an address with an account and one without.
    let known = post(app, "reset", "/rest/user/password/reset", &[], ask(email)).await;
    let unknown = post(
        app,
        "reset",
        "/rest/user/password/reset",
        &[],
        ask("nobody@acme.example"),
    )
    .await;
    assert_eq!(known, unknown);
    assert_eq!(known.0, 200);
    assert!(mail_to(&t, "nobody@acme.example").await.is_empty());
    let token = token_in_mail(&t, email, "reset?token=").await;
    assert!(token.starts_with("rst_"));
    // A second link of the same hour: using either uses up both.
    assert_eq!(
        post(app, "reset", "/rest/user/password/reset", &[], ask(email))
            .await
            .0,
        200
    );
    let second = token_in_mail(&t, email, "reset?token=").await;
    assert_ne!(second, token);
    // The policy applies to the new password.
    assert_error(
        &post(
            app,
            "confirm",
            "/rest/user/password/reset/confirm",
            &[],
            json!({"token": token, "password": "short"}),
        )
        .await,
        400,
        "WSPasswordLengthException",
    );
    let got = post(
        app,
        "confirm",
        "/rest/user/password/reset/confirm",
        &[],
        json!({"token": token, "password": "N3w-password"}),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    // Once only; every session revoked; the old password refused; the new one works.
    assert_error(
        &post(
            app,
            "confirm",
            "/rest/user/password/reset/confirm",
            &[],
            json!({"token": token, "password": "N3w-password-2"}),
        )
        .await,
        404,
        "WSRecordNotFoundException",
    );
    assert_error(
        &post(
            app,
            "confirm",
            "/rest/user/password/reset/confirm",
            &[],
            json!({"token": second, "password": "Other-pass-2026"}),
        )
        .await,
        404,
        "WSRecordNotFoundException",
    );
    let logout = gateway_request(
        "POST",
        "/rest/user/logout",
        &[("x-nextinteract-authtoken", session.as_str())],
        None,
    );
    assert_error(
        &read_as(
            "logout_user",
            admit_functions::logout_user::handler(app, logout).await,
        ),
        401,
        "WSInvalidAuthTokenException",
    );
    assert_eq!(login(app, email, old).await.0, 401);
    assert_eq!(login(app, email, "N3w-password").await.0, 200);
    // A link expires within the hour.
    assert_eq!(
        post(app, "reset", "/rest/user/password/reset", &[], ask(email))
            .await
            .0,
        200
    );
    let late = token_in_mail(&t, email, "reset?token=").await;
    t.clock.advance(chrono::Duration::minutes(61));
    assert_error(
        &post(
            app,
            "confirm",
            "/rest/user/password/reset/confirm",
            &[],
            json!({"token": late, "password": "N3w-password-3"}),
        )
        .await,
        410,
        "WSExpiredException",
    );
}

async fn reset_requests_are_limited_per_address_known_or_not(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    for who in [REP.0, "nobody@acme.example"] {
        for _ in 0..3 {
            let got = post(
                app,
                "reset",
                "/rest/user/password/reset",
                &[],
                json!({"emailAddress": who}),
            )
            .await;
            assert_eq!(got.0, 200, "{}", got.1);
        }
        let req = gateway_request(
            "POST",
            "/rest/user/password/reset",
            &[],
            Some(&json!({"emailAddress": who}).to_string()),
        );
        let resp = admit_functions::request_password_reset::handler(app, req).await;
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry));
        assert_error(&read(resp), 429, "WSTooManyRequestsException");
    }
    assert_eq!(mail_to(&t, REP.0).await.len(), 3, "three emails, not four");
    // The next hour, asking works again.
    t.clock.advance(chrono::Duration::hours(1));
    let got = post(
        app,
        "reset",
        "/rest/user/password/reset",
        &[],
        json!({"emailAddress": REP.0}),
    )
    .await;
    assert_eq!(got.0, 200);
}

admit_tests::both_backends!(
    verification_is_always_emailed_and_a_link_is_used_only_by_post,
    verification_is_always_emailed_and_a_link_is_used_only_by_post
);

admit_tests::both_backends!(
    whoever_proves_the_address_wins_a_squatted_account,
    whoever_proves_the_address_wins_a_squatted_account
);

admit_tests::both_backends!(
    accepting_as_another_signed_in_account_is_refused,
    accepting_as_another_signed_in_account_is_refused
);

admit_tests::both_backends!(
    a_password_reset_proves_the_address_and_revokes_every_session,
    a_password_reset_proves_the_address_and_revokes_every_session
);

admit_tests::both_backends!(
    reset_requests_are_limited_per_address_known_or_not,
    reset_requests_are_limited_per_address_known_or_not
);
