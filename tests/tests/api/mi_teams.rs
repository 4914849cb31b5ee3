//! assignMemberToTeams (`POST /rest/company/membership/teams/assign`), getPublicMITeams, devices and the Notification Centre,
//! through the Lambda handlers.

use admit_shared::domain::Id;
use admit_shared::ports::store::{Key, Update};
use admit_shared::records::membership::member_key;
use admit_shared::records::user::user_key;
use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{
    assert_error, auth_token, emulator_data, gateway_request, read_as, Backend, FaultyStore,
    TestApp,
};
use serde_json::{json, Value};

const KEY_HEADER: &str = "x-nextinteract-company-api-key";
const MEMBER_EMAIL: &str = "member@interact.technology";
const MEMBER_PASSWORD: &str = "Member-pass-1";

/// Company 1 with teams 6 "Property Investments" and 7 "Equity Investments" (public) and user 8
/// as an active member, as in the seed's examples; company 2 with team 8 and user 9.
struct World {
    t: TestApp,
    admin_key: String,
    app_key: String,
    other_admin_key: String,
}

async fn world(backend: Backend) -> World {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let c = provision::create_company(app, "Interact")
        .await
        .unwrap()
        .company_id;
    for i in 1..=5 {
        provision::create_team(app, c, &format!("Old team {i}"), false)
            .await
            .unwrap();
    }
    let p = provision::create_team(app, c, "Property Investments", true)
        .await
        .unwrap();
    let e = provision::create_team(app, c, "Equity Investments", true)
        .await
        .unwrap();
    assert_eq!((p.team_id.get(), e.team_id.get()), (6, 7));
    for i in 1..=7 {
        provision::create_user(
            app,
            NewUser {
                email: &format!("filler{i}@interact.technology"),
                password: "Filler-pass-1",
                first_name: "F",
                last_name: "F",
                membership: None,
            },
        )
        .await
        .unwrap();
    }
    let member = provision::create_user(
        app,
        NewUser {
            email: MEMBER_EMAIL,
            password: MEMBER_PASSWORD,
            first_name: "Mia",
            last_name: "Member",
            membership: Some((c, Role::Member)),
        },
    )
    .await
    .unwrap();
    assert_eq!(member.user_id.get(), 8);
    let (_, admin_key) = provision::create_api_key(app, c, ApiKeyType::Admin)
        .await
        .unwrap();
    let (_, app_key) = provision::create_api_key(app, c, ApiKeyType::App)
        .await
        .unwrap();
    let other = provision::create_company(app, "Other")
        .await
        .unwrap()
        .company_id;
    provision::create_team(app, other, "Their team", true)
        .await
        .unwrap();
    provision::create_user(
        app,
        NewUser {
            email: "them@other.example",
            password: "Other-pass-1",
            first_name: "O",
            last_name: "O",
            membership: Some((other, Role::Member)),
        },
    )
    .await
    .unwrap();
    let (_, other_admin_key) = provision::create_api_key(app, other, ApiKeyType::Admin)
        .await
        .unwrap();
    World {
        t,
        admin_key,
        app_key,
        other_admin_key,
    }
}

async fn assign_with(app: &App, key: Option<&str>, body: &str) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| vec![(KEY_HEADER, k)]).unwrap_or_default();
    read_as(
        "assign_member_to_teams",
        admit_functions::assign_member_to_teams::handler(
            app,
            gateway_request(
                "POST",
                "/rest/company/membership/teams/assign",
                &headers,
                Some(body),
            ),
        )
        .await,
    )
}

async fn assign(w: &World, body: &str) -> (u16, Value) {
    assign_with(&w.t.app, Some(&w.admin_key), body).await
}

async fn register_device(app: &App, token: &str, body: Value) -> (u16, Value) {
    let req = gateway_request(
        "POST",
        "/rest/user/devices",
        &[("x-nextinteract-authtoken", token)],
        Some(&body.to_string()),
    );
    read_as(
        "register_device",
        admit_functions::register_device::handler(app, req).await,
    )
}

async fn list(app: &App, token: &str, query: &str) -> (u16, Value) {
    let path = "/rest/user/notifications";
    let mut req = gateway_request("GET", path, &[("x-nextinteract-authtoken", token)], None);
    if !query.is_empty() {
        use lambda_http::RequestExt;
        let params: std::collections::HashMap<String, String> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        req = req.with_query_string_parameters(params);
    }
    read_as(
        "list_notifications",
        admit_functions::list_notifications::handler(app, req).await,
    )
}

const SEED_RESPONSE: &str = admit_tests::seeds::ASSIGN_TEAMS_ANSWER;

async fn member_teams(app: &App) -> Value {
    app.store
        .get(&member_key(Id::new(1).unwrap(), Id::new(8).unwrap()))
        .await
        .unwrap()
        .unwrap()["teams"]
        .clone()
}

async fn seed_examples(backend: Backend) {
    let w = world(backend).await;
    let seed: Value = serde_json::from_str(SEED_RESPONSE).unwrap();
    // EXAMPLE WITHOUT NOTIFICATION, exactly as printed.
    let got = assign(&w, admit_tests::seeds::ASSIGN_TEAMS).await;
    assert_eq!(got, (200, seed.clone()));
    assert_eq!(member_teams(&w.t.app).await, json!([6, 7]));
    // Assigning teams the member already has is not an error.
    assert_eq!(
        assign(&w, r#"{"userId" : 8, "teams" : [7, 6, 7]}"#).await,
        (200, json!([seed[1], seed[0]]))
    );
    assert_eq!(member_teams(&w.t.app).await, json!([6, 7]));

    // The member has a device with push on and one with push off.
    let token = auth_token(&w.t.app, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    let (status, d) = register_device(&w.t.app, &token, json!({"platform": "ios", "deviceToken": format!("apns-{}", admit_shared::domain::secrets::random_hex_id())})).await;
    assert_eq!(status, 200, "{d}");
    let (status, e) = register_device(
        &w.t.app,
        &token,
        json!({"platform": "android", "deviceToken": format!("fcm-{}", admit_shared::domain::secrets::random_hex_id()), "pushEnabled": false}),
    )
    .await;
    assert_eq!(status, 200, "{e}");

    // With notification, default message (the company's setting).
    provision::set_setting(
        &w.t.app,
        Id::new(1).unwrap(),
        "teamAssignmentMessage",
        "New content is waiting for you.",
    )
    .await
    .unwrap();
    let got = assign(&w, admit_tests::seeds::ASSIGN_TEAMS_NOTIFY).await;
    assert_eq!(got, (200, seed.clone()));
    // With notification and message.
    let got = assign(&w, admit_tests::seeds::ASSIGN_TEAMS_MESSAGE).await;
    assert_eq!(got, (200, seed));

    // Notification Centre: newest first.
    let (status, page) = list(&w.t.app, &token, "").await;
    assert_eq!(status, 200, "{page}");
    let msgs: Vec<&str> = page["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        msgs,
        [
            "You have been assigned more content blah de blah",
            "New content is waiting for you."
        ]
    );
    assert_eq!(page["unread"], json!(2));
    assert_eq!(page["notifications"][0]["title"], json!("Interact"));

    // One push per notification, to the device with push on only.
    assert_eq!(admit_tests::pending_sends(&w.t.app).await.len(), 2);
    assert_eq!(admit_tests::send_pending(&w.t.app).await, 2);
    match backend {
        Backend::Embedded => {
            let mut bodies: Vec<String> = std::fs::read_dir(w.t.dir.join("push"))
                .unwrap()
                .flatten()
                .map(|f| {
                    serde_json::from_str::<Value>(&std::fs::read_to_string(f.path()).unwrap())
                        .unwrap()["message"]["body"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            bodies.sort();
            assert_eq!(
                bodies,
                [
                    "New content is waiting for you.",
                    "You have been assigned more content blah de blah"
                ]
            );
        }
        Backend::Emulator => {
            let data = emulator_data();
            let device_id = d["deviceId"].as_str().unwrap();
            let stored =
                w.t.app
                    .store
                    .get(&Key::new("USER#8", format!("DEVICE#{device_id}")))
                    .await
                    .unwrap()
                    .unwrap();
            let endpoint = stored["endpoint"].as_str().unwrap();
            let ep = data["sns"]["PlatformEndpoint"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["arn"] == json!(endpoint))
                .expect("endpoint on SNS");
            let mut bodies: Vec<String> = ep["messages"]
                .as_object()
                .unwrap()
                .values()
                .map(|m| {
                    let payload: Value = serde_json::from_str(m.as_str().unwrap()).unwrap();
                    let apns: Value =
                        serde_json::from_str(payload["APNS"].as_str().unwrap()).unwrap();
                    apns["aps"]["alert"]["body"].as_str().unwrap().to_string()
                })
                .collect();
            bodies.sort();
            assert_eq!(
                bodies,
                [
                    "New content is waiting for you.",
                    "You have been assigned more content blah de blah"
                ]
            );
        }
    }
}

admit_tests::both_backends!(the_seed_examples, seed_examples);

async fn every_seed_exception_is_reachable(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let ok = r#"{"userId": 8, "teams": [6, 7]}"#;
    assert_error(
        &assign_with(app, None, ok).await,
        400,
        "WSInvalidParameterException",
    );
    assert_error(
        &assign_with(app, Some("not a key \u{e9}"), ok).await,
        400,
        "WSInvalidParameterException",
    );
    assert_error(
        &assign_with(app, Some("708a5f7f-5016-4a89-a0d5-df6ba77ffdd2"), ok).await,
        404,
        "WSRecordNotFoundException",
    );
    assert_error(
        &assign_with(app, Some(&w.app_key), ok).await,
        403,
        "WSIncorrectApiKeyTypeException",
    );
    // Bad bodies.
    for body in [
        "",
        "{",
        r#"{"teams": [6]}"#,
        r#"{"userId": 8}"#,
        r#"{"userId": 8, "teams": []}"#,
        r#"{"userId": "8", "teams": [6]}"#,
        r#"{"userId": 8, "teams": [6.5]}"#,
        r#"{"userId": 0, "teams": [6]}"#,
        r#"{"userId": 8, "teams": [6], "sendNotification": "yes"}"#,
    ] {
        assert_error(&assign(&w, body).await, 400, "WSInvalidParameterException");
    }
    let long = json!({"userId": 8, "teams": [6], "sendNotification": true, "notificationMsg": "x".repeat(1025)}).to_string();
    assert_error(&assign(&w, &long).await, 400, "WSInvalidParameterException");
    let just_right = json!({"userId": 8, "teams": [6], "sendNotification": true, "notificationMsg": "x".repeat(1024)}).to_string();
    assert_eq!(assign(&w, &just_right).await.0, 200);
    // Users: unknown, in another company (the caller learns nothing more), inactive, disconnected.
    assert_error(
        &assign(&w, r#"{"userId": 999, "teams": [6]}"#).await,
        404,
        "WSUserNotFoundException",
    );
    assert_error(
        &assign(&w, r#"{"userId": 9, "teams": [6]}"#).await,
        404,
        "WSUserNotFoundException",
    );
    // Teams of another company are not found.
    assert_error(
        &assign(&w, r#"{"userId": 8, "teams": [6, 8]}"#).await,
        404,
        "WSRecordNotFoundException",
    );
    assert_error(
        &assign_with(
            app,
            Some(&w.other_admin_key),
            r#"{"userId": 9, "teams": [6]}"#,
        )
        .await,
        404,
        "WSRecordNotFoundException",
    );
    let user = user_key(Id::new(8).unwrap());
    app.store
        .update(&user, Update::new().set("status", "inactive"), None)
        .await
        .unwrap();
    assert_error(&assign(&w, ok).await, 403, "WSUserNotActiveException");
    app.store
        .update(&user, Update::new().set("status", "active"), None)
        .await
        .unwrap();
    let member = member_key(Id::new(1).unwrap(), Id::new(8).unwrap());
    app.store
        .update(&member, Update::new().set("status", "inactive"), None)
        .await
        .unwrap();
    assert_error(
        &assign(&w, ok).await,
        403,
        "WSConnectionStatusNotActiveException",
    );
    app.store
        .update(&member, Update::new().set("status", "active"), None)
        .await
        .unwrap();
    // Keys and companies that are not active.
    let key = Key::new(
        format!(
            "APIKEY#{}",
            admit_shared::records::apikey::hash(&w.admin_key)
        ),
        "APIKEY",
    );
    app.store
        .update(&key, Update::new().set("status", "inactive"), None)
        .await
        .unwrap();
    assert_error(
        &assign(&w, ok).await,
        403,
        "WSCompanyApiKeyNotActiveException",
    );
    app.store
        .update(&key, Update::new().set("status", "active"), None)
        .await
        .unwrap();
    app.store
        .update(
            &Key::new("COMPANY#1", "COMPANY"),
            Update::new().set("status", "inactive"),
            None,
        )
        .await
        .unwrap();
    assert_error(&assign(&w, ok).await, 403, "WSCompanyNotActiveException");
    app.store
        .update(
            &Key::new("COMPANY#1", "COMPANY"),
            Update::new().set("status", "active"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        member_teams(app).await,
        json!([6]),
        "no refused call changed the membership"
    );
    assert_eq!(assign(&w, ok).await.0, 200);
}
admit_tests::both_backends!(every_seed_exception_is_reachable);

async fn storage_failures_are_service_exceptions(backend: Backend) {
    let w = world(backend).await;
    let faulty = FaultyStore::new(w.t.app.store.clone());
    let app = App {
        store: faulty.clone(),
        ..w.t.app.clone()
    };
    let ok = r#"{"userId": 8, "teams": [6, 7]}"#;
    faulty.fail("APIKEY#", false);
    assert_error(
        &assign_with(&app, Some(&w.admin_key), ok).await,
        500,
        "WSCompanyServiceException",
    );
    faulty.fail("APIKEY#", true);
    assert_error(
        &assign_with(&app, Some(&w.admin_key), ok).await,
        503,
        "WSCompanyServiceUnavailableException",
    );
    faulty.fail("USER#", false);
    let got = assign_with(&app, Some(&w.admin_key), ok).await;
    assert_error(&got, 500, "WSMembershipServiceException");
    assert!(
        !got.1["errorMsg"].as_str().unwrap().contains("injected"),
        "internals are not shown"
    );
    faulty.heal();
    assert_eq!(assign_with(&app, Some(&w.admin_key), ok).await.0, 200);
}
admit_tests::both_backends!(storage_failures_are_service_exceptions);

async fn public_teams_for_admin_and_app_keys(backend: Backend) {
    let w = world(backend).await;
    let get = |key: Option<String>| {
        let app = w.t.app.clone();
        async move {
            let headers: Vec<(&str, &str)> = key
                .as_deref()
                .map(|k| vec![(KEY_HEADER, k)])
                .unwrap_or_default();
            read_as(
                "get_public_mi_teams",
                admit_functions::get_public_mi_teams::handler(
                    &app,
                    gateway_request("GET", "/rest/company/teams/public", &headers, None),
                )
                .await,
            )
        }
    };
    let seed: Value = serde_json::from_str(SEED_RESPONSE).unwrap();
    assert_eq!(get(Some(w.app_key.clone())).await, (200, seed.clone()));
    assert_eq!(get(Some(w.admin_key.clone())).await, (200, seed));
    assert_eq!(
        get(Some(w.other_admin_key.clone())).await,
        (200, json!([{"teamId": 8, "teamName": "Their team"}]))
    );
    assert_error(&get(None).await, 400, "WSInvalidParameterException");
    assert_error(
        &get(Some("00000000-0000-0000-0000-000000000000".into())).await,
        404,
        "WSRecordNotFoundException",
    );
}
admit_tests::both_backends!(public_teams_for_admin_and_app_keys);

async fn devices_and_the_notification_centre(backend: Backend) {
    let w = world(backend).await;
    let app = &w.t.app;
    let token = auth_token(app, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    // Devices: validation, idempotent registration, removal.
    assert_error(
        &register_device(
            app,
            &token,
            json!({"platform": "windows", "deviceToken": "x"}),
        )
        .await,
        400,
        "WSInvalidParameterException",
    );
    assert_error(
        &register_device(app, &token, json!({"platform": "ios"})).await,
        400,
        "WSInvalidParameterException",
    );
    assert_error(
        &register_device(app, "nope", json!({"platform": "ios", "deviceToken": "t"})).await,
        401,
        "WSInvalidAuthTokenException",
    );
    let (_, a) = register_device(
        app,
        &token,
        json!({"platform": "ios", "deviceToken": "same-token"}),
    )
    .await;
    let (_, b) = register_device(
        app,
        &token,
        json!({"platform": "iOS", "deviceToken": "same-token", "pushEnabled": false}),
    )
    .await;
    assert_eq!(a["deviceId"], b["deviceId"]);
    assert_eq!(b["pushEnabled"], json!(false));
    assert!(
        !w.t.stored_text().await.contains("same-token"),
        "the device token stays with the push service"
    );
    let id = a["deviceId"].as_str().unwrap();
    let remove = |id: String, token: String| {
        let app = app.clone();
        async move {
            let path = format!("/rest/user/devices/{id}");
            let req = gateway_request(
                "DELETE",
                &path,
                &[("x-nextinteract-authtoken", token.as_str())],
                None,
            );
            use lambda_http::RequestExt;
            let req = req.with_path_parameters(std::collections::HashMap::from([(
                "deviceId".to_string(),
                id,
            )]));
            read_as(
                "remove_device",
                admit_functions::remove_device::handler(&app, req).await,
            )
        }
    };
    assert_eq!(remove(id.to_string(), token.clone()).await.0, 200);
    assert_error(
        &remove(id.to_string(), token.clone()).await,
        404,
        "WSRecordNotFoundException",
    );
    assert_error(
        &remove("../../x".into(), token.clone()).await,
        404,
        "WSRecordNotFoundException",
    );

    // Five notifications, paged two at a time, newest first.
    for i in 1..=5 {
        let body = json!({"userId": 8, "teams": [6], "sendNotification": true, "notificationMsg": format!("message {i}")}).to_string();
        assert_eq!(assign(&w, &body).await.0, 200);
    }
    let mut seen = Vec::new();
    let mut query = "limit=2".to_string();
    loop {
        let (status, page) = list(app, &token, &query).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["notifications"].as_array().unwrap().len() <= 2);
        for n in page["notifications"].as_array().unwrap() {
            seen.push(n["message"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(c) => query = format!("limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "message 5",
            "message 4",
            "message 3",
            "message 2",
            "message 1"
        ]
    );
    assert_error(
        &list(app, &token, "limit=0").await,
        400,
        "WSInvalidParameterException",
    );
    assert_error(
        &list(app, &token, "cursor=zz").await,
        400,
        "WSInvalidParameterException",
    );

    // Mark two read.
    let (_, page) = list(app, &token, "").await;
    let ids: Vec<Value> = page["notifications"].as_array().unwrap()[..2]
        .iter()
        .map(|n| n["notificationId"].clone())
        .collect();
    let mark = |body: String, token: String| {
        let app = app.clone();
        async move {
            let req = gateway_request(
                "POST",
                "/rest/user/notifications/read",
                &[("x-nextinteract-authtoken", token.as_str())],
                Some(&body),
            );
            read_as(
                "mark_notifications_read",
                admit_functions::mark_notifications_read::handler(&app, req).await,
            )
        }
    };
    assert_eq!(
        mark(json!({"notificationIds": ids}).to_string(), token.clone())
            .await
            .0,
        200
    );
    let (_, page) = list(app, &token, "").await;
    assert_eq!(page["unread"], json!(3));
    assert_error(
        &mark(json!({"notificationIds": []}).to_string(), token.clone()).await,
        400,
        "WSInvalidParameterException",
    );
    // Another user cannot touch them: not found.
    let other = auth_token(app, "them@other.example", "Other-pass-1").await;
    assert_error(
        &mark(json!({"notificationIds": ids}).to_string(), other.clone()).await,
        404,
        "WSRecordNotFoundException",
    );
    let (_, theirs) = list(app, &other, "").await;
    assert_eq!(theirs["notifications"], json!([]));
}
admit_tests::both_backends!(devices_and_the_notification_centre);

/// A device token has one owner (the last to register it), a user has at most 10 devices, and
/// logging out removes the devices that session registered.
async fn devices_have_one_owner_a_cap_and_leave_with_their_session(backend: Backend) {
    use admit_shared::records::notification;
    let w = world(backend).await;
    let app = &w.t.app;
    let store = app.store.as_ref();
    let member = Id::new(8).unwrap();
    let them = Id::new(9).unwrap();
    let mine = auth_token(app, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    let theirs = auth_token(app, "them@other.example", "Other-pass-1").await;
    let shared = json!({"platform": "android", "deviceToken": "handed-over-phone"});
    assert_eq!(register_device(app, &mine, shared.clone()).await.0, 200);
    assert_eq!(register_device(app, &theirs, shared).await.0, 200);
    let ids = |v: Vec<notification::Device>| -> Vec<String> {
        v.into_iter().map(|d| d.device_id).collect()
    };
    assert!(
        ids(notification::devices(store, member).await.unwrap()).is_empty(),
        "the phone now belongs to its last registrant only"
    );
    assert_eq!(
        ids(notification::devices(store, them).await.unwrap()).len(),
        1
    );
    // A notification to the earlier owner reaches none of the new owner's devices.
    let body = json!({"userId": 8, "teams": [6], "sendNotification": true}).to_string();
    assert_eq!(assign(&w, &body).await.0, 200);
    let pushes = admit_tests::pending_sends(app).await;
    assert!(pushes.is_empty(), "{pushes:?}");

    // Twelve registrations keep the ten most recent.
    for i in 0..12 {
        w.t.clock.advance(chrono::Duration::seconds(1));
        let d = json!({"platform": "ios", "deviceToken": format!("phone-{i}")});
        assert_eq!(register_device(app, &mine, d).await.0, 200);
    }
    let kept = notification::devices(store, member).await.unwrap();
    assert_eq!(kept.len(), 10);
    // Ten devices, one notification: one transaction well within DynamoDB's 100 writes.
    assert_eq!(assign(&w, &body).await.0, 200);
    assert_eq!(admit_tests::pending_sends(app).await.len(), 10);

    // Logging out removes the devices that session registered, not the others.
    let other_session = auth_token(app, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    let extra = json!({"platform": "ios", "deviceToken": "tablet"});
    assert_eq!(register_device(app, &other_session, extra).await.0, 200);
    let logout = gateway_request(
        "POST",
        "/rest/user/logout",
        &[("x-nextinteract-authtoken", mine.as_str())],
        None,
    );
    assert_eq!(
        read_as(
            "logout_user",
            admit_functions::logout_user::handler(app, logout).await
        )
        .0,
        200
    );
    let left = notification::devices(store, member).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
}
admit_tests::both_backends!(devices_have_one_owner_a_cap_and_leave_with_their_session);
