//! Round trips: every endpoint's successful request, with the calls it makes to the store
//! counted (`admit_tests::trips::CountingStore`), held to the budget docs/performance.md argues
//! for it: calls in all, and rounds (calls that run one after another; reads under `join`
//! share one). A change that adds a store call to an endpoint must raise its budget here and
//! say why there.

use admit_shared::usecases::outbox;
use admit_shared::App;
use admit_tests::trips::{CountingStore, Trips};
use admit_tests::{gateway_request, read, Backend, TestApp};
use serde_json::{json, Value};
use std::sync::Arc;

const PW: &str = "Trips-pass-2026";
const ADMIN: &str = "admin@trips.example";
const MEMBER: &str = "member@trips.example";

/// Each endpoint's budget: (calls, rounds). docs/performance.md, "Round trips", argues each.
const BUDGETS: &[(&str, usize, usize)] = &[
    ("login_user", 6, 6),
    ("logout_user", 5, 5),
    ("get_public_mi_teams", 3, 3),
    ("assign_member_to_teams", 8, 8),
    ("get_member_profile", 6, 4),
    ("list_notifications", 3, 3),
    ("mark_notifications_read", 3, 3),
    ("register_device", 5, 5),
    ("remove_device", 4, 4),
    ("self_register_mi_user", 7, 7),
    ("get_email_verification", 2, 2),
    ("verify_email", 8, 8),
    ("request_password_reset", 4, 4),
    ("reset_password", 6, 6),
    ("invite_mi_user", 11, 11),
    ("get_mi_invitation", 5, 5),
    ("accept_mi_invitation", 11, 11),
    ("invite_platform_users", 10, 9),
    ("my_businesses", 4, 4),
    ("get_business_settings", 5, 3),
    ("put_business_settings", 9, 5),
    ("list_invitations", 6, 4),
    ("resend_invitation", 10, 8),
    ("revoke_invitation", 8, 6),
    ("invite_site_users", 11, 11),
    ("user_activity_report", 7, 7),
];

struct World {
    t: TestApp,
    app: App,
    counter: Arc<CountingStore>,
    seen: Vec<(&'static str, Trips, Vec<&'static str>)>,
}

impl World {
    /// One request, routed by the endpoint table; what the store saw is kept under its name.
    async fn call(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let path = uri.split('?').next().unwrap();
        let (endpoint, _, _) = admit_functions::find(method, path).unwrap();
        let body = body.map(|b| b.to_string());
        let req = gateway_request(method, uri, headers, body.as_deref());
        self.counter.take();
        let resp = admit_functions::dispatch(endpoint.name, &self.app, req)
            .await
            .unwrap();
        let (trips, ops) = self.counter.take();
        self.seen.push((endpoint.name, trips, ops));
        let got = read(resp);
        assert!(got.0 < 300, "{method} {uri}: {} {}", got.0, got.1);
        got
    }

    /// Delivers the outbox (not counted) and returns the newest token after `marker` to `to`.
    async fn token(&self, to: &str, marker: &str) -> String {
        outbox::dispatch_pending(&self.t.app, 100).await.unwrap();
        self.t
            .mail()
            .iter()
            .rev()
            .filter(|m| m.to == to)
            .find_map(|m| admit_tests::link_token(&m.text, marker))
            .unwrap_or_else(|| panic!("no {marker} to {to}"))
    }
}

async fn world(backend: Backend) -> (World, String, String) {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let people = (ADMIN, MEMBER, PW);
    let (admin_key, app_key) = admit_tests::small_company(app, "Trips", &["Lobby"], people).await;
    let counter = CountingStore::new(t.app.store.clone());
    let counted = App {
        store: counter.clone(),
        ..t.app.clone()
    };
    (
        World {
            t,
            app: counted,
            counter,
            seen: Vec::new(),
        },
        admin_key,
        app_key,
    )
}

async fn every_endpoint_within_its_budget(backend: Backend) {
    let (mut w, admin_key, app_key) = world(backend).await;
    let admin = [("x-nextinteract-company-api-key", admin_key.as_str())];
    let appk = [("x-nextinteract-company-api-key", app_key.as_str())];
    let login = |email: &str| json!({"emailAddress": email, "password": PW});
    let got = w
        .call("POST", "/rest/user/login", &[], Some(login(ADMIN)))
        .await;
    let admin_token = got.1["authToken"].as_str().unwrap().to_string();
    let got = w
        .call("POST", "/rest/user/login", &[], Some(login(MEMBER)))
        .await;
    let member_token = got.1["authToken"].as_str().unwrap().to_string();
    let member_session = [("x-nextinteract-authtoken", member_token.as_str())];
    let admin_session = [("x-nextinteract-authtoken", admin_token.as_str())];
    let bearer = format!("Bearer {admin_token}");
    let bearer = [("authorization", bearer.as_str())];

    w.call("GET", "/rest/company/teams/public", &appk, None)
        .await;
    w.call(
        "POST",
        "/rest/company/membership/teams/assign",
        &admin,
        Some(json!({"userId": 2, "teams": [1], "sendNotification": true})),
    )
    .await;
    w.call(
        "GET",
        "/rest/company/membership/user?userId=2",
        &admin,
        None,
    )
    .await;
    let notes = w
        .call("GET", "/rest/user/notifications", &member_session, None)
        .await;
    let id = notes.1["notifications"][0]["notificationId"].clone();
    w.call(
        "POST",
        "/rest/user/notifications/read",
        &member_session,
        Some(json!({"notificationIds": [id]})),
    )
    .await;
    let device = w
        .call(
            "POST",
            "/rest/user/devices",
            &member_session,
            Some(json!({"platform": "ios", "deviceToken": "device-push-token-1"})),
        )
        .await;
    let device_id = device.1["deviceId"].as_str().unwrap().to_string();
    w.call(
        "DELETE",
        &format!("/rest/user/devices/{device_id}"),
        &member_session,
        None,
    )
    .await;

    // Self-registration and its verification.
    w.call(
        "POST",
        "/rest/user/mi/selfregister",
        &[],
        Some(
            json!({"version": 2, "apiKey": app_key, "emailAddress": "sam@trips.example",
            "password": PW, "firstName": "Sam", "lastName": "Lee"}),
        ),
    )
    .await;
    let verify = w.token("sam@trips.example", "verify?token=").await;
    w.call(
        "GET",
        &format!("/rest/user/verify?token={verify}"),
        &[],
        None,
    )
    .await;
    w.call(
        "POST",
        "/rest/user/verify",
        &[],
        Some(json!({"token": verify, "password": PW})),
    )
    .await;

    // Password reset.
    w.call(
        "POST",
        "/rest/user/password/reset",
        &[],
        Some(json!({"emailAddress": "sam@trips.example"})),
    )
    .await;
    let reset = w.token("sam@trips.example", "token=").await;
    w.call(
        "POST",
        "/rest/user/password/reset/confirm",
        &[],
        Some(json!({"token": reset, "password": "Trips-pass-2027"})),
    )
    .await;

    // An invitation by email, looked at and accepted.
    w.call(
        "POST",
        "/rest/user/miinvite",
        &admin_session,
        Some(
            json!({"companyId": 1, "contact": {"firstname": "Jo", "lastname": "Ng",
            "email1": "jo@trips.example"}, "inviteTeams": [{"teamId": 1}]}),
        ),
    )
    .await;
    let jo = w.token("jo@trips.example", "accept?token=").await;
    w.call(
        "GET",
        &format!("/rest/user/miinvite/accept?token={jo}"),
        &[],
        None,
    )
    .await;
    w.call(
        "POST",
        "/rest/user/miinvite/accept",
        &[],
        Some(json!({"token": jo, "password": PW})),
    )
    .await;

    // The platform family.
    w.call(
        "POST",
        "/api/users/invitations",
        &bearer,
        Some(json!({"EmailAddresses": ["lu@trips.example"], "Message": "Join us"})),
    )
    .await;
    w.call("GET", "/api/users/me/businesses", &bearer, None)
        .await;
    w.call("GET", "/api/businesses/1/settings", &bearer, None)
        .await;
    w.call(
        "PUT",
        "/api/businesses/1/settings",
        &bearer,
        Some(json!({"InvitationDays": 10})),
    )
    .await;
    w.call("GET", "/api/businesses/1/invitations", &bearer, None)
        .await;
    w.call(
        "POST",
        "/api/businesses/1/invitations/resend",
        &bearer,
        Some(json!({"EmailAddress": "lu@trips.example"})),
    )
    .await;
    w.call(
        "POST",
        "/api/businesses/1/invitations/revoke",
        &bearer,
        Some(json!({"EmailAddress": "lu@trips.example"})),
    )
    .await;

    // The site family.
    w.call(
        "POST",
        "/api/rest/v1/management/users/invite",
        &bearer,
        Some(json!({"email": "sita@trips.example", "duration": 10, "groups": [1]})),
    )
    .await;
    w.call(
        "POST",
        "/api/rest/v1/management/user/activity",
        &bearer,
        Some(json!({"userIds": [], "dateFrom": "2026-01-01T00:00:00Z",
            "dateTo": "2030-01-01T00:00:00Z"})),
    )
    .await;
    w.call("POST", "/rest/user/logout", &member_session, None)
        .await;

    let mut report = String::new();
    let mut over = Vec::new();
    for (name, trips, ops) in &w.seen {
        report.push_str(&format!(
            "{name}: {} calls, {} rounds: {}\n",
            trips.calls,
            trips.rounds,
            ops.join(" ")
        ));
        match BUDGETS.iter().find(|(n, _, _)| n == name) {
            Some((_, calls, rounds)) if trips.calls <= *calls && trips.rounds <= *rounds => {}
            Some((_, calls, rounds)) => over.push(format!(
                "{name}: {} calls, {} rounds over its budget of {calls}, {rounds}",
                trips.calls, trips.rounds
            )),
            None => over.push(format!("{name} has no budget")),
        }
    }
    println!("{report}");
    assert!(over.is_empty(), "{}\n{report}", over.join("\n"));
}
admit_tests::both_backends!(every_endpoint_within_its_budget);
