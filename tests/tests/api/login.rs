//! loginUser and logoutUser through the Lambda handlers, with requests in API Gateway's shape,
//! on the embedded store and on the DynamoDB emulator.

use admit_shared::domain::secrets::sha256_hex;
use admit_shared::ports::store::{Index, Key, Query, SortKey, Update};
use admit_shared::records::user::user_key;
use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::provision::{self, NewUser};
use admit_tests::{assert_error, gateway_request, read, read_as, Backend, TestApp};
use serde_json::{json, Value};

const EMAIL: &str = "Aaron@Interact.Technology";
const PASSWORD: &str = "Corr3ct-horse";

struct Fixture {
    t: TestApp,
    user_id: u64,
    app_key: String,
    admin_key: String,
}

async fn fixture(backend: Backend) -> Fixture {
    let t = TestApp::new(backend).await;
    let company = provision::create_company(&t.app, "Interact").await.unwrap();
    let (_, app_key) = provision::create_api_key(&t.app, company.company_id, ApiKeyType::App)
        .await
        .unwrap();
    let (_, admin_key) = provision::create_api_key(&t.app, company.company_id, ApiKeyType::Admin)
        .await
        .unwrap();
    let user = provision::create_user(
        &t.app,
        NewUser {
            email: EMAIL,
            password: PASSWORD,
            first_name: "Aaron",
            last_name: "McMullen",
            membership: Some((company.company_id, Role::Admin)),
        },
    )
    .await
    .unwrap();
    Fixture {
        t,
        user_id: user.user_id.get(),
        app_key,
        admin_key,
    }
}

async fn login(f: &Fixture, body: &str) -> (u16, Value) {
    read_as(
        "login_user",
        admit_functions::login_user::handler(
            &f.t.app,
            gateway_request("POST", "/rest/user/login", &[], Some(body)),
        )
        .await,
    )
}

async fn logout(f: &Fixture, token: Option<&str>) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = token
        .map(|t| vec![("x-nextinteract-authtoken", t)])
        .unwrap_or_default();
    read_as(
        "logout_user",
        admit_functions::logout_user::handler(
            &f.t.app,
            gateway_request("POST", "/rest/user/logout", &headers, None),
        )
        .await,
    )
}

fn creds(email: &str, password: &str) -> String {
    json!({"emailAddress": email, "password": password}).to_string()
}

async fn activity_types(f: &Fixture) -> Vec<String> {
    let page =
        f.t.app
            .store
            .query(
                &Query::partition(Index::Table, format!("USER#{}", f.user_id))
                    .sort(SortKey::BeginsWith("ACTIVITY#".into())),
            )
            .await
            .unwrap();
    page.items
        .iter()
        .map(|i| i["activityType"].as_str().unwrap().to_string())
        .collect()
}

async fn login_logout_scenario(backend: Backend) {
    let f = fixture(backend).await;
    // Email compared in its canonical form.
    let (status, body) = login(&f, &creds(" aaron@interact.technology ", PASSWORD)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errorCode"], json!(0));
    assert_eq!(body["errorMsg"], json!("User logged in."));
    assert_eq!(body["userId"], json!(f.user_id));
    let token = body["authToken"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64, "256-bit token");
    assert!(chrono::DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap()).is_ok());

    // Only the token's hash is stored; neither the token nor the password is anywhere.
    let session =
        f.t.app
            .store
            .get(&Key::new(
                format!("SESSION#{}", sha256_hex(token.as_bytes())),
                "SESSION",
            ))
            .await
            .unwrap();
    assert!(session.is_some(), "session stored under the token's hash");
    let stored = f.t.stored_text().await;
    assert!(!stored.contains(&token), "raw token stored");
    assert!(!stored.contains(PASSWORD), "raw password stored");
    assert!(
        stored.contains("$argon2id$v=19$m=19456,t=2,p=1$"),
        "password stored as Argon2id"
    );

    // The activity item has the caller's IP and the session id.
    let page =
        f.t.app
            .store
            .query(
                &Query::partition(Index::Table, format!("USER#{}", f.user_id))
                    .sort(SortKey::BeginsWith("ACTIVITY#".into())),
            )
            .await
            .unwrap();
    let a = &page.items[0];
    assert_eq!(a["activityType"], json!("Login Successful"));
    assert_eq!(a["activityTypeId"], json!(1));
    assert_eq!(a["ipAddress"], json!("203.0.113.7"));
    assert_eq!(a["sessionId"], session.unwrap()["sessionId"]);

    // Logout revokes the token.
    f.t.clock.advance(chrono::Duration::seconds(1));
    let (status, body) = logout(&f, Some(&token)).await;
    assert_eq!(
        (status, body),
        (200, json!({"errorCode": 0, "errorMsg": "User logged out."}))
    );
    assert_error(
        &logout(&f, Some(&token)).await,
        401,
        "WSInvalidAuthTokenException",
    );
    assert_error(&logout(&f, None).await, 401, "WSInvalidAuthTokenException");
    assert_error(
        &logout(&f, Some("not-a-token")).await,
        401,
        "WSInvalidAuthTokenException",
    );
    assert_eq!(activity_types(&f).await, ["Login Successful", "Logout"]);
}

admit_tests::both_backends!(login_and_logout, login_logout_scenario);

/// The `Retry-After` header of a response, in seconds.
fn retry_after_of(resp: &lambda_http::Response<lambda_http::Body>) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn failures_scenario(backend: Backend) {
    let f = fixture(backend).await;
    // Unknown email and wrong password: the same answer.
    let unknown = login(&f, &creds("nobody@interact.technology", PASSWORD)).await;
    let wrong = login(&f, &creds(EMAIL, "Wr0ng-password")).await;
    assert_error(&unknown, 401, "WSInvalidLoginException");
    assert_eq!(
        unknown, wrong,
        "unknown email and wrong password look the same"
    );
    // The unknown address is recorded only as its hash.
    let hashed = format!("LOGINFAIL#{}", sha256_hex(b"nobody@interact.technology"));
    let counter =
        f.t.app
            .store
            .get(&Key::new(hashed, "LOGINFAIL"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(counter["failedLogins"], json!(1));
    assert!(!f.t.stored_text().await.contains("nobody@interact"));
    // Repeated failures lock the account: the fifth failure in a row locks it.
    for _ in 0..3 {
        assert_error(
            &login(&f, &creds(EMAIL, "Wr0ng-password")).await,
            401,
            "WSInvalidLoginException",
        );
    }
    let resp = admit_functions::login_user::handler(
        &f.t.app,
        gateway_request(
            "POST",
            "/rest/user/login",
            &[],
            Some(&creds(EMAIL, "Wr0ng-password")),
        ),
    )
    .await;
    let retry_after = retry_after_of(&resp);
    assert!(
        (890..=900).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_error(&read(resp), 423, "WSAccountLockedException");
    // Even the right password is refused while locked.
    assert_error(
        &login(&f, &creds(EMAIL, PASSWORD)).await,
        423,
        "WSAccountLockedException",
    );
    // After the lock expires, the right password works again, and the count starts over.
    f.t.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(login(&f, &creds(EMAIL, PASSWORD)).await.0, 200);
    let user =
        f.t.app
            .store
            .get(&user_key(admit_shared::domain::Id::new(f.user_id).unwrap()))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(user["failedLogins"], json!(0));
    assert!(user.get("lockedUntil").is_none());
    let kinds = activity_types(&f).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "Login Failed").count(),
        5,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"Account Locked".to_string()), "{kinds:?}");
    assert_eq!(kinds.last().unwrap(), "Login Successful");

    // An address no account has locks the same way, after the same failures, for the same
    // time: the answers never tell whether an account exists.
    let nobody = creds("nobody@interact.technology", PASSWORD);
    for _ in 0..3 {
        assert_error(&login(&f, &nobody).await, 401, "WSInvalidLoginException");
    }
    let fifth = admit_functions::login_user::handler(
        &f.t.app,
        gateway_request("POST", "/rest/user/login", &[], Some(&nobody)),
    )
    .await;
    let retry_after = retry_after_of(&fifth);
    assert!(
        (890..=900).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_error(&read(fifth), 423, "WSAccountLockedException");
    assert_error(&login(&f, &nobody).await, 423, "WSAccountLockedException");
    f.t.clock.advance(chrono::Duration::minutes(16));
    assert_error(&login(&f, &nobody).await, 401, "WSInvalidLoginException");
}

admit_tests::both_backends!(failed_logins_and_lockout, failures_scenario);

async fn tokens_expire(backend: Backend) {
    let f = fixture(backend).await;
    let (_, body) = login(&f, &creds(EMAIL, PASSWORD)).await;
    let token = body["authToken"].as_str().unwrap().to_string();
    f.t.clock
        .advance(chrono::Duration::hours(12) + chrono::Duration::seconds(1));
    let got = logout(&f, Some(&token)).await;
    assert_error(&got, 401, "WSInvalidAuthTokenException");
    assert!(got.1["errorMsg"].as_str().unwrap().contains("expired"));
}
admit_tests::both_backends!(tokens_expire);

async fn app_api_keys_are_checked(backend: Backend) {
    let f = fixture(backend).await;
    let with =
        |key: &str| json!({"emailAddress": EMAIL, "password": PASSWORD, "apiKey": key}).to_string();
    assert_eq!(login(&f, &with(&f.app_key)).await.0, 200);
    assert_error(
        &login(&f, &with(&f.admin_key)).await,
        403,
        "WSIncorrectApiKeyTypeException",
    );
    assert_error(
        &login(&f, &with("708a5f7f-5016-4a89-a0d5-df6ba77ffdd2")).await,
        404,
        "WSRecordNotFoundException",
    );
    assert_error(
        &login(&f, &with("")).await,
        400,
        "WSInvalidParameterException",
    );
    // A deactivated key, then a deactivated company.
    let key = Key::new(
        format!("APIKEY#{}", admit_shared::records::apikey::hash(&f.app_key)),
        "APIKEY",
    );
    f.t.app
        .store
        .update(&key, Update::new().set("status", "inactive"), None)
        .await
        .unwrap();
    assert_error(
        &login(&f, &with(&f.app_key)).await,
        403,
        "WSCompanyApiKeyNotActiveException",
    );
    f.t.app
        .store
        .update(&key, Update::new().set("status", "active"), None)
        .await
        .unwrap();
    f.t.app
        .store
        .update(
            &Key::new("COMPANY#1", "COMPANY"),
            Update::new().set("status", "inactive"),
            None,
        )
        .await
        .unwrap();
    assert_error(
        &login(&f, &with(&f.app_key)).await,
        403,
        "WSCompanyNotActiveException",
    );
}
admit_tests::both_backends!(app_api_keys_are_checked);

async fn inactive_users_cannot_log_in(backend: Backend) {
    let f = fixture(backend).await;
    let k = user_key(admit_shared::domain::Id::new(f.user_id).unwrap());
    f.t.app
        .store
        .update(&k, Update::new().set("status", "inactive"), None)
        .await
        .unwrap();
    assert_error(
        &login(&f, &creds(EMAIL, PASSWORD)).await,
        403,
        "WSUserNotActiveException",
    );
    // A wrong password still says nothing about the account's state.
    assert_error(
        &login(&f, &creds(EMAIL, "Wr0ng-password")).await,
        401,
        "WSInvalidLoginException",
    );
}
admit_tests::both_backends!(inactive_users_cannot_log_in);

async fn bad_bodies_get_the_error_shape_never_a_500(backend: Backend) {
    let f = fixture(backend).await;
    let huge = format!(
        "{{\"emailAddress\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(100_000)
    );
    let cases: Vec<&str> = vec![
        "not json",
        "",
        "[]",
        "{\"emailAddress\": 5, \"password\": \"x\"}",
        "{\"emailAddress\": \"a@b.co\", \"password\": [1]}",
        "{\"password\": \"x\"}",
        "{\"emailAddress\": \"a@b.co\"}",
        "{\"emailAddress\": \"not-an-email\", \"password\": \"x\"}",
        "{\"emailAddress\": \"a@b.co\", \"password\": \"\"}",
    ];
    for body in cases {
        let got = login(&f, body).await;
        assert_error(&got, 400, "WSInvalidParameterException");
    }
    assert_error(
        &login(&f, huge.as_str()).await,
        413,
        "WSRequestTooLargeException",
    );
    // Wrong types name the field and what it must be, in the caller's words, not serde's.
    let got = login(&f, "{\"emailAddress\": 5}").await;
    assert_eq!(
        got.1["errorMsg"],
        json!("emailAddress must be a string, not a whole number"),
        "{}",
        got.1
    );
    let got = login(&f, "{\"password\": \"x\"}").await;
    assert!(
        got.1["errorMsg"].as_str().unwrap().contains("emailAddress"),
        "{}",
        got.1
    );
}
admit_tests::both_backends!(bad_bodies_get_the_error_shape_never_a_500);

/// A burst of concurrent wrong passwords gets at most `threshold` password checks, and the right
/// password, inside the burst or after it, is refused while the account is locked. The embedded
/// store serialises transactions as DynamoDB does; moto does not (a transaction there can act
/// on what another one is changing), so on the emulator the burst's requests come one after
/// another.
async fn a_burst_of_wrong_passwords_is_checked_at_most_threshold_times(backend: Backend) {
    let f = std::sync::Arc::new(fixture(backend).await);
    let threshold = f.t.app.config.lockout_threshold as usize;
    let mut tasks = Vec::new();
    let mut statuses = Vec::new();
    for i in 0..40 {
        let f = f.clone();
        let task = tokio::spawn(async move {
            // One right password in the middle of the burst.
            let password = if i == 20 { PASSWORD } else { "Wrong-pass-1" };
            login(&f, &creds(EMAIL, password)).await
        });
        match backend {
            Backend::Embedded => tasks.push(task),
            Backend::Emulator => statuses.push(task.await.unwrap().0),
        }
    }
    for t in tasks {
        statuses.push(t.await.unwrap().0);
    }
    let checked_and_failed = activity_types(&f)
        .await
        .iter()
        .filter(|t| *t == "Login Failed")
        .count();
    let logged_in = statuses.iter().filter(|s| **s == 200).count();
    // A success resets the count, as it should: when the right password's check ends before
    // the lock (it was reserved while fewer than `threshold` checks were), the wrong ones after
    // it start a new count. Each count allows at most `threshold` checks, and no more.
    assert!(
        checked_and_failed + logged_in <= threshold * (logged_in + 1),
        "{checked_and_failed} failed checks and {logged_in} logins for a threshold of {threshold}: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 401, 423].contains(s)),
        "{statuses:?}"
    );
    if logged_in == 0 {
        // The lock is on: the right password is refused, with how long to wait.
        assert_error(
            &login(&f, &creds(EMAIL, PASSWORD)).await,
            423,
            "WSAccountLockedException",
        );
    }
}
admit_tests::both_backends!(multi_thread a_burst_of_wrong_passwords_is_checked_at_most_threshold_times);

/// The attempt that uses up the last check locks the account for every other attempt at once:
/// a right password that was reserved earlier cannot log in after it.
async fn the_last_allowed_check_locks_before_it_answers(backend: Backend) {
    let f = fixture(backend).await;
    let threshold = f.t.app.config.lockout_threshold;
    for _ in 0..threshold - 1 {
        assert_eq!(login(&f, &creds(EMAIL, "Wrong-pass-1")).await.0, 401);
    }
    let got = login(&f, &creds(EMAIL, "Wrong-pass-1")).await;
    assert_error(&got, 423, "WSAccountLockedException");
    assert_error(
        &login(&f, &creds(EMAIL, PASSWORD)).await,
        423,
        "WSAccountLockedException",
    );
    let failed = activity_types(&f)
        .await
        .iter()
        .filter(|t| *t == "Login Failed")
        .count();
    assert_eq!(
        failed, threshold as usize,
        "the refused attempt was not checked"
    );
    // After the lock, a right password works again and starts a fresh count.
    f.t.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(login(&f, &creds(EMAIL, PASSWORD)).await.0, 200);
    assert_eq!(login(&f, &creds(EMAIL, "Wrong-pass-1")).await.0, 401);
}
admit_tests::both_backends!(the_last_allowed_check_locks_before_it_answers);

/// Deactivating an account revokes its sessions at once; activating it again does not bring
/// them back.
async fn deactivation_revokes_sessions(backend: Backend) {
    use admit_shared::records::Status;
    let f = fixture(backend).await;
    let (status, body) = login(&f, &creds(EMAIL, PASSWORD)).await;
    assert_eq!(status, 200, "{body}");
    let token = body["authToken"].as_str().unwrap().to_string();
    provision::set_user_status(&f.t.app, EMAIL, Status::Inactive)
        .await
        .unwrap();
    assert_error(
        &logout(&f, Some(&token)).await,
        401,
        "WSInvalidAuthTokenException",
    );
    assert_error(
        &login(&f, &creds(EMAIL, PASSWORD)).await,
        403,
        "WSUserNotActiveException",
    );
    f.t.clock.advance(chrono::Duration::seconds(1));
    provision::set_user_status(&f.t.app, EMAIL, Status::Active)
        .await
        .unwrap();
    assert_error(
        &logout(&f, Some(&token)).await,
        401,
        "WSInvalidAuthTokenException",
    );
    let (status, body) = login(&f, &creds(EMAIL, PASSWORD)).await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["authToken"].as_str().unwrap();
    assert_eq!(logout(&f, Some(fresh)).await.0, 200);
}
admit_tests::both_backends!(deactivation_revokes_sessions);
