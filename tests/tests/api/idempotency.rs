//! `Idempotency-Key`: a retry after a lost answer gets the first answer and does not do the
//! work again; the same key for another request is 422 in the family's shape; a retry while
//! the first runs is 409; an answer that failed on our side is not kept; a crash between the
//! work and the kept answer never lets a retry do the work twice. On both stores.

use admit_shared::ports::store::{Cond, Item, Key, Page, Query, Store, StoreError, Update, Write};
use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{auth_token, gateway_request, login, read, Backend, FaultyStore, TestApp};
use async_trait::async_trait;
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use std::sync::Arc;

const APP_KEY: &str = "1d2c5d8e-2f3a-4b6c-9d7e-1a2b3c4d5e99";
const ADMIN: (&str, &str) = ("admin@idem.example", "Idem-pass-2026");
const OTHER: (&str, &str) = ("other@idem.example", "Idem-pass-2026");

async fn world(backend: Backend) -> TestApp {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let c = provision::create_company(app, "Idem")
        .await
        .unwrap()
        .company_id;
    provision::import_api_key(app, c, ApiKeyType::App, APP_KEY)
        .await
        .unwrap();
    for who in [ADMIN, OTHER] {
        provision::create_user(
            app,
            NewUser {
                email: who.0,
                password: who.1,
                first_name: "I",
                last_name: "D",
                membership: Some((c, Role::Admin)),
            },
        )
        .await
        .unwrap();
    }
    t
}

fn registration(email: &str, password: &str) -> String {
    json!({"version": 2, "apiKey": APP_KEY, "emailAddress": email, "password": password,
        "firstName": "Ida", "lastName": "Em"})
    .to_string()
}

/// The answer: status, the replay header, the body as sent.
async fn register(app: &App, key: Option<&str>, body: &str) -> (u16, bool, String) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    let req = gateway_request("POST", "/rest/user/mi/selfregister", &headers, Some(body));
    answer(admit_functions::self_register_mi_user::handler(app, req).await)
}

fn answer(resp: Response<Body>) -> (u16, bool, String) {
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let body = match resp.body() {
        Body::Text(t) => t.clone(),
        _ => String::new(),
    };
    (resp.status().as_u16(), replayed, body)
}

fn exception(body: &str) -> Value {
    serde_json::from_str::<Value>(body).unwrap()["exception"].clone()
}

async fn retry_scenario(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let key = format!("reg-{}", admit_shared::domain::secrets::random_hex_id());
    let email = format!("ida-{}@idem.example", &key[4..12]);
    let body = registration(&email, "Ida-pass-2026");

    // The answer is lost; the app retries with the same key: the first answer, nothing redone.
    let first = register(app, Some(&key), &body).await;
    assert_eq!(first.0, 200, "{}", first.2);
    assert!(!first.1, "the first answer is not a replay");
    let stored = t.stored_text().await;
    let again = register(app, Some(&key), &body).await;
    assert_eq!((again.0, again.1, &again.2), (200, true, &first.2));
    assert_eq!(t.stored_text().await, stored, "a replay changes nothing");
    // Without the key, the same registration is what it always was: the address is taken.
    let plain = register(app, None, &body).await;
    assert_eq!(plain.0, 409, "{}", plain.2);
    assert_eq!(login(app, &email, "Ida-pass-2026").await.0, 200);

    // The password is not compared (it is never kept): the replay, not a second account.
    let other_password = registration(&email, "Other-pass-2026");
    let replay = register(app, Some(&key), &other_password).await;
    assert_eq!((replay.0, replay.1), (200, true));
    assert_eq!(login(app, &email, "Other-pass-2026").await.0, 401);

    // The same key for another request: 422 in the family's shape, and nothing done.
    let elsewhere = registration(&format!("x-{email}"), "Ida-pass-2026");
    let reused = register(app, Some(&key), &elsewhere).await;
    assert_eq!(reused.0, 422, "{}", reused.2);
    assert_eq!(
        exception(&reused.2),
        json!("WSIdempotencyKeyReusedException")
    );
    assert_eq!(
        login(app, &format!("x-{email}"), "Ida-pass-2026").await.0,
        401
    );

    // A refusal that did no work is kept too: the same 400 again.
    let bad_key = format!("bad-{key}");
    let bad = registration("not an address", "Ida-pass-2026");
    let refused = register(app, Some(&bad_key), &bad).await;
    assert_eq!((refused.0, refused.1), (400, false));
    let again = register(app, Some(&bad_key), &bad).await;
    assert_eq!((again.0, again.1, &again.2), (400, true, &refused.2));

    // A key that is no key.
    let long = "k".repeat(256);
    for bad_key in ["", long.as_str()] {
        let got = register(app, Some(bad_key), &body).await;
        assert_eq!(got.0, 400, "{bad_key:?}: {}", got.2);
        assert_eq!(exception(&got.2), json!("WSInvalidParameterException"));
    }
}

admit_tests::both_backends!(a_retry_gets_the_first_answer, retry_scenario);

/// The platform and site families refuse a reused key in their own shapes, and a key is the
/// caller's own: another caller's same key is another request.
async fn families_scenario(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let admin = format!("Bearer {}", auth_token(app, ADMIN.0, ADMIN.1).await);
    let other = format!("Bearer {}", auth_token(app, OTHER.0, OTHER.1).await);
    let key = format!("inv-{}", admit_shared::domain::secrets::random_hex_id());
    let invite = |who: &str, address: &str| {
        let body = json!({"EmailAddresses": [address]}).to_string();
        gateway_request(
            "POST",
            "/api/users/invitations",
            &[("authorization", who), ("idempotency-key", &key)],
            Some(&body),
        )
    };
    let first = answer(
        admit_functions::invite_platform_users::handler(app, invite(&admin, "p@x.example")).await,
    );
    assert_eq!((first.0, first.1), (200, false), "{}", first.2);
    let replay = answer(
        admit_functions::invite_platform_users::handler(app, invite(&admin, "p@x.example")).await,
    );
    assert_eq!((replay.0, replay.1, &replay.2), (200, true, &first.2));
    let theirs = answer(
        admit_functions::invite_platform_users::handler(app, invite(&other, "p@x.example")).await,
    );
    assert!(
        !theirs.1,
        "another caller's same key is not a replay: {}",
        theirs.2
    );
    let reused = answer(
        admit_functions::invite_platform_users::handler(app, invite(&admin, "q@x.example")).await,
    );
    assert_eq!(reused.0, 422, "{}", reused.2);
    let v: Value = serde_json::from_str(&reused.2).unwrap();
    assert_eq!(v["Status"], json!(422), "{v}");
    assert!(
        v["Message"].as_str().unwrap().contains("Idempotency-Key"),
        "{v}"
    );

    let site = |email: &str| {
        let body = json!({"email": email}).to_string();
        gateway_request(
            "POST",
            "/api/rest/v1/management/users/invite",
            &[
                ("authorization", admin.as_str()),
                ("idempotency-key", "site-key-1"),
            ],
            Some(&body),
        )
    };
    let first = answer(admit_functions::invite_site_users::handler(app, site("s@x.example")).await);
    assert_eq!(first.0, 200, "{}", first.2);
    let reused =
        answer(admit_functions::invite_site_users::handler(app, site("t@x.example")).await);
    assert_eq!(reused.0, 422, "{}", reused.2);
    let v: Value = serde_json::from_str(&reused.2).unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("Idempotency-Key"),
        "{v}"
    );
}

admit_tests::both_backends!(
    each_family_refuses_a_reused_key_in_its_shape,
    families_scenario
);

/// Twenty requests with one key at once: one does the work, the others get its answer or are
/// told it is still running.
async fn concurrent_retries_do_the_work_once(backend: Backend) {
    let t = Arc::new(world(backend).await);
    let body = Arc::new(registration("burst@idem.example", "Burst-pass-2026"));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (t, body) = (t.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            register(&t.app, Some("burst-key"), &body).await
        }));
    }
    let mut done = Vec::new();
    for task in tasks {
        done.push(task.await.unwrap());
    }
    let fresh: Vec<_> = done.iter().filter(|d| d.0 == 200 && !d.1).collect();
    assert_eq!(fresh.len(), 1, "{done:?}");
    for d in &done {
        match d.0 {
            200 => assert_eq!(d.2, fresh[0].2),
            409 => assert!(d.2.contains("still being processed"), "{}", d.2),
            other => panic!("{other}: {}", d.2),
        }
    }
    assert_eq!(
        login(&t.app, "burst@idem.example", "Burst-pass-2026")
            .await
            .0,
        200
    );
}
admit_tests::both_backends!(multi_thread concurrent_retries_do_the_work_once);

/// An answer that failed on our side is not kept: the retry does the work.
async fn an_answer_that_failed_on_our_side_is_not_kept(backend: Backend) {
    let t = world(backend).await;
    let faulty = FaultyStore::new(t.app.store.clone());
    let broken = App {
        store: faulty.clone(),
        ..t.app.clone()
    };
    let body = registration("outage@idem.example", "Outage-pass-2026");
    faulty.fail("EMAIL#", true);
    let failed = register(&broken, Some("outage-key"), &body).await;
    assert_eq!(failed.0, 503, "{}", failed.2);
    faulty.heal();
    let retried = register(&broken, Some("outage-key"), &body).await;
    assert_eq!((retried.0, retried.1), (200, false), "{}", retried.2);
    assert_eq!(
        login(&t.app, "outage@idem.example", "Outage-pass-2026")
            .await
            .0,
        200
    );
}
admit_tests::both_backends!(an_answer_that_failed_on_our_side_is_not_kept);

/// A store whose transactions that `dies_at` picks fail, as if the function died just then.
struct DiesAt(Arc<dyn Store>, fn(&[Write]) -> bool);

#[async_trait]
impl Store for DiesAt {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.0.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.0.batch_get(keys).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.0.query(query).await
    }
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        self.0.put(item, cond).await
    }
    async fn update(
        &self,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError> {
        self.0.update(key, update, cond).await
    }
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        self.0.delete(key, cond).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if (self.1)(&writes) {
            return Err(StoreError::Unavailable("the function died here".into()));
        }
        self.0.transact(writes).await
    }
}

/// The write that keeps a request's answer.
fn keeps_the_answer(writes: &[Write]) -> bool {
    matches!(writes, [Write::Put { item, .. }] if item.get("state") == Some(&json!("done")))
}

/// The write that releases a failed request's key.
fn releases_the_key(writes: &[Write]) -> bool {
    matches!(writes, [Write::Put { item, cond: Some(_) }] if item.get("leaseUntil") == Some(&json!(0)))
}

async fn a_crash_after_the_work_never_lets_a_retry_do_it_again(backend: Backend) {
    let t = world(backend).await;
    let dying = App {
        store: Arc::new(DiesAt(t.app.store.clone(), keeps_the_answer)),
        ..t.app.clone()
    };
    let body = registration("crash@idem.example", "Crash-pass-2026");
    let first = register(&dying, Some("crash-key"), &body).await;
    assert_eq!(first.0, 200, "the work was done: {}", first.2);
    // Before the lease ends the first request might still be running.
    let early = register(&t.app, Some("crash-key"), &body).await;
    assert_eq!(early.0, 409, "{}", early.2);
    // After it: the work committed with its marker, so it is never done again.
    t.clock.advance(chrono::Duration::minutes(5));
    let late = register(&t.app, Some("crash-key"), &body).await;
    assert_eq!(late.0, 409, "{}", late.2);
    assert!(
        late.2.contains("carried out, but its answer was lost"),
        "{}",
        late.2
    );
    assert_eq!(exception(&late.2), json!("WSConcurrentUpdateException"));
    assert_eq!(
        login(&t.app, "crash@idem.example", "Crash-pass-2026")
            .await
            .0,
        200
    );
}
admit_tests::both_backends!(a_crash_after_the_work_never_lets_a_retry_do_it_again);

/// A request that died before committing anything leaves the key to a retry once its lease
/// ends (the work was never done, so doing it now is doing it once).
async fn a_request_that_died_before_its_work_leaves_the_key_to_a_retry(backend: Backend) {
    let t = world(backend).await;
    let faulty = FaultyStore::new(t.app.store.clone());
    let broken = App {
        store: faulty.clone(),
        ..t.app.clone()
    };
    let body = registration("died@idem.example", "Died-pass-2026");
    // The work fails and the release is lost too: the record stays claimed, uncommitted.
    faulty.fail("EMAIL#", true);
    let dying = App {
        store: Arc::new(DiesAt(broken.store.clone(), releases_the_key)),
        ..broken.clone()
    };
    assert_eq!(register(&dying, Some("died-key"), &body).await.0, 503);
    faulty.heal();
    assert_eq!(
        register(&t.app, Some("died-key"), &body).await.0,
        409,
        "still leased"
    );
    t.clock.advance(chrono::Duration::minutes(5));
    let retried = register(&t.app, Some("died-key"), &body).await;
    assert_eq!((retried.0, retried.1), (200, false), "{}", retried.2);
    let again = read(
        admit_functions::self_register_mi_user::handler(
            &t.app,
            gateway_request(
                "POST",
                "/rest/user/mi/selfregister",
                &[("idempotency-key", "died-key")],
                Some(&body),
            ),
        )
        .await,
    );
    assert_eq!(again.0, 200);
}
admit_tests::both_backends!(a_request_that_died_before_its_work_leaves_the_key_to_a_retry);
