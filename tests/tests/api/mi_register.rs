//! selfRegisterMIUser (`POST /rest/user/mi/selfregister`) through the Lambda handler.

use admit_shared::domain::Id;
use admit_shared::ports::store::{Index, Key, Query, SortKey, Update};
use admit_shared::records::user::user_key;
use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{
    assert_error, gateway_request, login, read, read_as, Backend, FaultyStore, TestApp,
};
use serde_json::{json, Value};

const V1_KEY: &str = "708a5f7f-5016-4a89-a0d5-df6ba77ffdd2";
const V5_KEY: &str = "SOMEAPIKEY";

/// The version 1 example, exactly as printed.
const V1_EXAMPLE: &str = admit_tests::seeds::SELF_REGISTER_V1;

/// The version 5 example as printed, but for the page's curly quotes around `condition`.
const V5_EXAMPLE: &str = admit_tests::seeds::SELF_REGISTER_V5;

const OK: (u16, &str) = (200, "MI User self-registered.");

/// Company 1 with the vendor example's app keys, the QR codes of the v5 example (ACCESSCODE for the wall,
/// Access1 and Access2 for events 41 and 42) and team 1 as profession 1's default team.
async fn world(backend: Backend) -> TestApp {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let c = provision::create_company(app, "Interact")
        .await
        .unwrap()
        .company_id;
    let team = provision::create_team(app, c, "Doctors", false)
        .await
        .unwrap();
    provision::import_api_key(app, c, ApiKeyType::App, V1_KEY)
        .await
        .unwrap();
    provision::import_api_key(app, c, ApiKeyType::App, V5_KEY)
        .await
        .unwrap();
    provision::create_qr(app, c, "ACCESSCODE", None)
        .await
        .unwrap();
    provision::create_qr(app, c, "Access1", Some(Id::new(41).unwrap()))
        .await
        .unwrap();
    provision::create_qr(app, c, "Access2", Some(Id::new(42).unwrap()))
        .await
        .unwrap();
    provision::set_setting(app, c, "professionTeams", &format!("1={}", team.team_id))
        .await
        .unwrap();
    t
}

async fn register(app: &App, body: &str) -> (u16, Value) {
    read_as(
        "self_register_mi_user",
        admit_functions::self_register_mi_user::handler(
            app,
            gateway_request("POST", "/rest/user/mi/selfregister", &[], Some(body)),
        )
        .await,
    )
}

fn ok(got: &(u16, Value)) {
    assert_eq!(got.0, OK.0, "{}", got.1);
    assert_eq!(got.1, json!({"errorCode": 0, "errorMsg": OK.1}));
}

fn v1(email: &str, password: &str) -> String {
    json!({"version": 1, "password": password, "apiKey": V1_KEY, "emailAddress": email, "firstName": "A", "lastName": "B"}).to_string()
}

async fn v5_example(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    ok(&register(app, V5_EXAMPLE).await);
    assert_eq!(login(app, "test@yopmail.com", "Pa55word").await.0, 200);

    // Stored: user, membership with the profession's team and the condition (what the person
    // told this company stays with the company), contact with every detail, the registration
    // profile, event sign-ups, the email guard.
    let user = app
        .store
        .get(&user_key(Id::new(1).unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user["email"], json!("test@yopmail.com"));
    assert!(
        user.get("condition").is_none(),
        "not on the account every company sees"
    );
    let member = app
        .store
        .get(&Key::new("COMPANY#1", "MEMBER#1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member["teams"], json!([1]));
    assert_eq!(member["condition"], json!(2));
    let contact = app
        .store
        .get(&Key::new("COMPANY#1", "CONTACT#1"))
        .await
        .unwrap()
        .unwrap();
    let details: Value =
        serde_json::from_str::<Value>(V5_EXAMPLE).unwrap()["contactDetails"].clone();
    for (k, v) in details.as_object().unwrap() {
        assert_eq!(&contact[k], v, "contact.{k}");
    }
    assert_eq!(contact["condition"], json!(2));
    let profile = app
        .store
        .get(&Key::new("COMPANY#1", "REGISTRATION#1"))
        .await
        .unwrap()
        .unwrap();
    for (k, v) in [
        ("version", json!(5)),
        ("title", json!(1)),
        ("countryCode", json!("AU")),
        ("profession", json!(1)),
        ("specialty", json!(9)),
        ("condition", json!(2)),
        ("otherTitle", json!("Sir")),
        ("otherProfession", json!("Ventriloquist")),
        ("otherSpecialty", json!("Cat Herder")),
        ("dietaryRequirements", json!("Halal")),
        ("storeContactIdentifiers", json!(false)),
        (
            "validationFields",
            json!([{"id": 1, "value": "ABC0123456789"}]),
        ),
        ("uInteractTsAndCs", json!(true)),
        ("uFacebookConsent", json!(true)),
        ("qrAccessCodes", json!(["ACCESSCODE", "Access1", "Access2"])),
    ] {
        assert_eq!(profile[k], v, "registration.{k}");
    }
    let events = app
        .store
        .query(
            &Query::partition(Index::Table, "COMPANY#1").sort(SortKey::BeginsWith("EVENT#".into())),
        )
        .await
        .unwrap();
    let ids: Vec<Value> = events.items.iter().map(|e| e["eventId"].clone()).collect();
    assert_eq!(ids, [json!(41), json!(42)]);
    assert!(!t.stored_text().await.contains("Pa55word"));

    // The welcome email.
    assert_eq!(admit_tests::send_pending(app).await, 1);
    let mails = t.mail();
    let welcome: Vec<_> = mails
        .iter()
        .filter(|m| m.to == "test@yopmail.com" && m.subject == "Welcome to Interact")
        .collect();
    assert!(!welcome.is_empty(), "welcome email: {mails:?}");
    // One MIME message with a text and an HTML part, and the link to prove the address.
    assert!(welcome[0].content_type.starts_with("multipart/alternative"));
    assert!(
        welcome[0].text.contains("verify?token=ver_"),
        "{}",
        welcome[0].text
    );
    assert!(welcome[0]
        .html
        .as_deref()
        .is_some_and(|h| h.contains("verify?token=ver_")));
    // The same registration again: the email is taken.
    assert_error(
        &register(app, V5_EXAMPLE).await,
        409,
        "WSEmailAlreadyExistsException",
    );
}

admit_tests::both_backends!(the_v5_example, v5_example);

async fn the_v1_example_meets_the_password_policy(backend: Backend) {
    let t = world(backend).await;
    // The page's own policy (a letter and a number) wins over its v1 example's password.
    let got = register(&t.app, V1_EXAMPLE).await;
    assert_error(&got, 400, "WSInvalidParameterException");
    assert!(
        got.1["errorMsg"]
            .as_str()
            .unwrap()
            .contains("one letter and one number"),
        "{}",
        got.1
    );
    // The same example with a password that meets it.
    ok(&register(&t.app, &V1_EXAMPLE.replace("mypassword", "mypassword1")).await);
    assert_eq!(
        login(&t.app, "aaron@interact.technology", "mypassword1")
            .await
            .0,
        200
    );
    // Version 1 sends the welcome email by default.
    assert_eq!(admit_tests::pending_sends(&t.app).await.len(), 1);
}

async fn every_seed_exception_is_reachable(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let invalid = |got: (u16, Value)| assert_error(&got, 400, "WSInvalidParameterException");
    // Versions and the fields each needs.
    for v in [json!(null), json!(0), json!(6), json!("1"), json!(1.5)] {
        let mut b: Value = serde_json::from_str(&v1("v@interact.technology", "Passw0rd!")).unwrap();
        b["version"] = v;
        invalid(register(app, &b.to_string()).await);
    }
    for field in [
        "apiKey",
        "emailAddress",
        "firstName",
        "lastName",
        "password",
    ] {
        let mut b: Value = serde_json::from_str(&v1("v@interact.technology", "Passw0rd!")).unwrap();
        b.as_object_mut().unwrap().remove(field);
        invalid(register(app, &b.to_string()).await);
    }
    let base = json!({"password": "Passw0rd!", "apiKey": V1_KEY, "emailAddress": "v@interact.technology", "firstName": "A", "lastName": "B"});
    let with = |extra: Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b.to_string()
    };
    invalid(register(app, &with(json!({"version": 3}))).await);
    invalid(register(app, &with(json!({"version": 4, "countryCode": "AU"}))).await);
    invalid(register(app, &with(json!({"version": 4, "countryCode": "AU", "profession": 1, "qrAccessCodes": ["Access1"]}))).await);
    invalid(
        register(
            app,
            &with(json!({"version": 1, "qrAccessCode": "ACCESSCODE"})),
        )
        .await,
    );
    invalid(
        register(
            app,
            &with(json!({"version": 2, "contactDetails": {"externalId": ""}})),
        )
        .await,
    );
    invalid(
        register(
            app,
            &with(json!({"version": 2, "contactDetails": {"firstname": "x".repeat(101)}})),
        )
        .await,
    );
    invalid(
        register(
            app,
            &with(json!({"version": 2, "contactDetails": {"dateOfBirth": "1982-07-31"}})),
        )
        .await,
    );
    // A birth date after today as the service's clock reads it (not the machine's) is refused.
    let tomorrow = (app.clock.now() + chrono::Duration::days(1))
        .format("%d/%m/%Y")
        .to_string();
    let got = register(
        app,
        &with(json!({"version": 2, "contactDetails": {"dateOfBirth": tomorrow}})),
    )
    .await;
    assert!(
        got.1
            .to_string()
            .contains("contactDetails.dateOfBirth is a past date"),
        "{got:?}"
    );
    invalid(got);
    invalid(register(app, &with(json!({"version": 5, "countryCode": "AU", "profession": 1, "uInteractTsAndCs": "maybe"}))).await);
    let got = register(app, &with(json!({"version": 2, "qrAccessCode": "NOPE"}))).await;
    invalid(got.clone());
    assert!(got.1["errorMsg"].as_str().unwrap().contains("NOPE"));
    // Keys: unknown, and of the wrong type, are bad parameters here.
    invalid(
        register(
            app,
            &with(json!({"version": 1, "apiKey": "00000000-0000-0000-0000-000000000000"})),
        )
        .await,
    );
    let (_, admin) = provision::create_api_key(app, Id::new(1).unwrap(), ApiKeyType::Admin)
        .await
        .unwrap();
    invalid(register(app, &with(json!({"version": 1, "apiKey": admin}))).await);
    // Passwords.
    assert_error(
        &register(app, &v1("p@interact.technology", "Sh0rt")).await,
        400,
        "WSPasswordLengthException",
    );
    assert_error(
        &register(
            app,
            &v1("p@interact.technology", &format!("A1{}", "x".repeat(29))),
        )
        .await,
        400,
        "WSPasswordLengthException",
    );
    invalid(register(app, &v1("p@interact.technology", "Password123")).await);
    // Email domains: invalid, and not accepted by the company.
    assert_error(
        &register(app, &v1("p@localhost", "Passw0rd!")).await,
        400,
        "WSInvalidEmailDomainNameException",
    );
    provision::set_setting(
        app,
        Id::new(1).unwrap(),
        "allowedEmailDomains",
        "interact.technology",
    )
    .await
    .unwrap();
    assert_error(
        &register(app, &v1("p@yopmail.com", "Passw0rd!")).await,
        400,
        "WSInvalidEmailDomainNameException",
    );
    ok(&register(app, &v1("p@interact.technology", "Passw0rd!")).await);
    // Taken and locked accounts.
    assert_error(
        &register(app, &v1(" P@Interact.Technology ", "Passw0rd!")).await,
        409,
        "WSEmailAlreadyExistsException",
    );
    app.store
        .update(
            &user_key(Id::new(1).unwrap()),
            Update::new().set(
                "lockedUntil",
                (app.clock.now() + chrono::Duration::minutes(5)).to_rfc3339(),
            ),
            None,
        )
        .await
        .unwrap();
    assert_error(
        &register(app, &v1("p@interact.technology", "Passw0rd!")).await,
        423,
        "WSAccountLockedException",
    );
    // externalId is unique per company; a refused registration leaves nothing behind.
    let ext = |email: &str| {
        with(
            json!({"version": 2, "emailAddress": email, "contactDetails": {"externalId": "EXT-1"}}),
        )
    };
    ok(&register(app, &ext("e1@interact.technology")).await);
    invalid(register(app, &ext("e2@interact.technology")).await);
    assert!(app
        .store
        .get(&Key::new("EMAIL#e2@interact.technology", "EMAIL"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        login(app, "e2@interact.technology", "Passw0rd!").await.0,
        401
    );
}

async fn storage_and_password_failures_are_service_exceptions(backend: Backend) {
    let t = world(backend).await;
    let faulty = FaultyStore::new(t.app.store.clone());
    let app = App {
        store: faulty.clone(),
        ..t.app.clone()
    };
    faulty.fail("EMAIL#", false);
    assert_error(
        &register(&app, &v1("s@interact.technology", "Passw0rd!")).await,
        500,
        "WSUserServiceException",
    );
    faulty.fail("EMAIL#", true);
    assert_error(
        &register(&app, &v1("s@interact.technology", "Passw0rd!")).await,
        503,
        "WSUserServiceUnavailableException",
    );
    faulty.heal();
    ok(&register(&app, &v1("s@interact.technology", "Passw0rd!")).await);
    // A stored password hash that cannot be read is a password service failure, not a 401.
    app.store
        .update(
            &user_key(Id::new(1).unwrap()),
            Update::new().set("passwordHash", "not-a-phc-string"),
            None,
        )
        .await
        .unwrap();
    let body =
        json!({"emailAddress": "s@interact.technology", "password": "Passw0rd!"}).to_string();
    let got = read_as(
        "login_user",
        admit_functions::login_user::handler(
            &app,
            gateway_request("POST", "/rest/user/login", &[], Some(&body)),
        )
        .await,
    );
    assert_error(&got, 500, "WSPasswordServiceException");
}
admit_tests::both_backends!(storage_and_password_failures_are_service_exceptions);

async fn two_concurrent_registrations_of_one_email_create_one_user(backend: Backend) {
    let t = world(backend).await;
    let mut tasks = Vec::new();
    for i in 0..4 {
        let app = t.app.clone();
        let body = v1(
            if i % 2 == 0 {
                "race@interact.technology"
            } else {
                "RACE@interact.technology"
            },
            "Passw0rd!",
        );
        tasks.push(tokio::spawn(async move { register(&app, &body).await }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().0);
    }
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409]);
    let users = t
        .app
        .store
        .query(
            &Query::partition(Index::Table, "COMPANY#1")
                .sort(SortKey::BeginsWith("MEMBER#".into())),
        )
        .await
        .unwrap();
    assert_eq!(users.items.len(), 1);
    // Operators' users and self-registered ones share the email guard.
    let err = provision::create_user(
        &t.app,
        NewUser {
            email: "race@interact.technology",
            password: "Passw0rd!",
            first_name: "A",
            last_name: "B",
            membership: Some((Id::new(1).unwrap(), Role::Member)),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        admit_shared::http::nextinteract::name(err.kind),
        "WSEmailAlreadyExistsException"
    );
}
admit_tests::both_backends!(multi_thread two_concurrent_registrations_of_one_email_create_one_user);

async fn profile(app: &App, key: &str, user: &str) -> (u16, Value) {
    use lambda_http::RequestExt;
    let req = gateway_request(
        "GET",
        "/rest/company/membership/user",
        &[("x-nextinteract-company-api-key", key)],
        None,
    )
    .with_query_string_parameters(std::collections::HashMap::from([(
        "userId".to_string(),
        user.to_string(),
    )]));
    read_as(
        "get_member_profile",
        admit_functions::get_member_profile::handler(app, req).await,
    )
}

async fn the_company_sees_what_a_member_registered_with(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    ok(&register(app, V5_EXAMPLE).await);
    let (_, admin) = provision::create_api_key(app, Id::new(1).unwrap(), ApiKeyType::Admin)
        .await
        .unwrap();
    let (status, p) = profile(app, &admin, "1").await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["user"]["email"], json!("test@yopmail.com"));
    assert!(p["user"].get("passwordHash").is_none(), "never shown");
    // Built from an allow-list: nothing else of the account is shown.
    let mut user_fields: Vec<&str> = p["user"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    user_fields.sort();
    assert_eq!(
        user_fields,
        [
            "createdAt",
            "email",
            "firstName",
            "lastName",
            "status",
            "userId"
        ]
    );
    for part in ["contact", "registration", "membership"] {
        for private in ["pk", "sk", "gsi1pk", "gsi1sk", "ttl"] {
            assert!(p[part].get(private).is_none(), "{part}.{private}");
        }
    }
    assert_eq!(p["membership"]["status"], json!("active"));
    assert_eq!(p["contact"]["externalId"], json!("ABC987-D875356"));
    assert_eq!(p["contact"]["wallConsent1"], json!("My wall consent 1"));
    assert_eq!(p["registration"]["uSAMTrackingConsent"], json!(true));
    assert_eq!(
        p["registration"]["validationFields"],
        json!([{"id": 1, "value": "ABC0123456789"}])
    );
    assert_eq!(p["registration"]["dietaryRequirements"], json!("Halal"));
    // Another company's admin, an app key, a bad id.
    let other = provision::create_company(app, "Other")
        .await
        .unwrap()
        .company_id;
    let (_, theirs) = provision::create_api_key(app, other, ApiKeyType::Admin)
        .await
        .unwrap();
    assert_error(
        &profile(app, &theirs, "1").await,
        404,
        "WSUserNotFoundException",
    );
    assert_error(
        &profile(app, V5_KEY, "1").await,
        403,
        "WSIncorrectApiKeyTypeException",
    );
    assert_error(
        &profile(app, &admin, "one").await,
        400,
        "WSInvalidParameterException",
    );
}

async fn an_existing_contact_is_filled_in_never_overwritten(backend: Backend) {
    use admit_shared::records::contact::{self, ContactRecord};
    let t = world(backend).await;
    let app = &t.app;
    let c = Id::new(1).unwrap();
    // A contact the company already has (an import or an invitation made it).
    let mut fields = serde_json::Map::new();
    fields.insert("firstname".into(), json!("Dr Ann"));
    fields.insert("email1".into(), json!("ann@example.com"));
    fields.insert("department".into(), json!("Cardiology"));
    let existing = ContactRecord {
        contact_id: Id::new(77).unwrap(),
        company_id: c,
        created_at: app.clock.now(),
        source: Some("import".into()),
        user_id: None,
        condition: None,
        fields,
    };
    app.store
        .transact(contact::create(&existing).writes)
        .await
        .unwrap();
    let body = json!({
        "version": 4, "apiKey": V5_KEY, "emailAddress": "Ann@Example.com", "password": "Regist3r-ann",
        "firstName": "Ann", "lastName": "Lee", "countryCode": "au", "profession": 1, "condition": 3,
        "sendWelcomeEmail": null,
        "contactDetails": {"firstname": "Annie", "city": "Sydney", "externalId": "EXT-9", "mobile": null}
    });
    ok(&register(app, &body.to_string()).await);
    let stored = contact::find(app.store.as_ref(), c, Id::new(77).unwrap())
        .await
        .unwrap()
        .unwrap();
    let d = stored.details();
    assert_eq!(d.get("firstname"), Some("Dr Ann"), "never overwritten");
    assert_eq!(d.get("department"), Some("Cardiology"));
    assert_eq!(d.get("city"), Some("Sydney"), "filled in");
    assert_eq!(d.get("externalId"), Some("EXT-9"));
    assert_eq!(d.get("lastname"), Some("Lee"));
    assert_eq!(d.get("countryCode"), Some("AU"));
    assert_eq!(stored.condition, Some(3));
    assert_eq!(stored.user_id, Some(Id::new(1).unwrap()));
    // The registration keeps what was sent.
    let reg = contact::find_registration(app.store.as_ref(), c, Id::new(1).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reg.contact_id.get(), 77);
    assert_eq!(reg.answers["condition"], json!(3));

    // A registration names its contact only by the address being registered.
    let takeover = json!({
        "version": 2, "apiKey": V5_KEY, "emailAddress": "mallory@example.com", "password": "Mall0ry-pass",
        "firstName": "M", "lastName": "M", "contactDetails": {"email1": "ann@example.com"}
    });
    let got = register(app, &takeover.to_string()).await;
    assert_error(&got, 400, "WSInvalidParameterException");
    assert!(got.1["errorMsg"]
        .as_str()
        .unwrap()
        .contains("contactDetails.email1"));
}
admit_tests::both_backends!(an_existing_contact_is_filled_in_never_overwritten);

async fn a_locked_account_is_423_with_retry_after(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    ok(&register(app, &v1("lock@example.com", "Lock3d-pass")).await);
    for _ in 0..5 {
        login(app, "lock@example.com", "Wrong-pass-1").await;
    }
    let resp = admit_functions::self_register_mi_user::handler(
        app,
        gateway_request(
            "POST",
            "/rest/user/mi/selfregister",
            &[],
            Some(&v1("lock@example.com", "Other-pass-1")),
        ),
    )
    .await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert_error(&read(resp), 423, "WSAccountLockedException");
}

/// Codes that fold to one stored code, or two codes of one event, make one write each: never
/// two writes to one key in the transaction (which DynamoDB refuses, a 500).
async fn codes_that_fold_together_or_share_an_event_sign_up_once(backend: Backend) {
    let t = world(backend).await;
    let app = &t.app;
    let c = Id::new(1).unwrap();
    provision::create_qr(app, c, "Access3", Some(Id::new(41).unwrap()))
        .await
        .unwrap();
    let body = json!({"version": 5, "apiKey": V5_KEY, "emailAddress": "qr@example.com",
        "password": "Qr-pass-2026", "firstName": "Q", "lastName": "R", "countryCode": "AU",
        "profession": 1, "qrAccessCode": "access1", "qrAccessCodes": ["ACCESS1", "Access1", "Access3"]});
    ok(&register(app, &body.to_string()).await);
    let signups = app
        .store
        .query(
            &Query::partition(Index::Table, "COMPANY#1")
                .sort(SortKey::BeginsWith("EVENT#41#".into())),
        )
        .await
        .unwrap();
    assert_eq!(signups.items.len(), 1, "{:?}", signups.items);
    // More than 20 codes are refused before any is looked at.
    let many: Vec<String> = (0..21).map(|i| format!("code{i}")).collect();
    let body = json!({"version": 5, "apiKey": V5_KEY, "emailAddress": "many@example.com",
        "password": "Many-pass-2026", "firstName": "M", "lastName": "M", "countryCode": "AU",
        "profession": 1, "qrAccessCodes": many});
    assert_error(
        &register(app, &body.to_string()).await,
        400,
        "WSInvalidParameterException",
    );
}

admit_tests::both_backends!(
    the_v1_example_meets_the_password_policy,
    the_v1_example_meets_the_password_policy
);

admit_tests::both_backends!(
    every_seed_exception_is_reachable,
    every_seed_exception_is_reachable
);

admit_tests::both_backends!(
    the_company_sees_what_a_member_registered_with,
    the_company_sees_what_a_member_registered_with
);

admit_tests::both_backends!(
    a_locked_account_is_423_with_retry_after,
    a_locked_account_is_423_with_retry_after
);

admit_tests::both_backends!(
    codes_that_fold_together_or_share_an_event_sign_up_once,
    codes_that_fold_together_or_share_an_event_sign_up_once
);
