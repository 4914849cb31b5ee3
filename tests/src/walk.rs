//! One successful request to every endpoint, in an order that makes each possible (the demo a
//! client would run): the round-trip test counts the store calls each makes, and the bench
//! times them and replays them as Lambda events. Each request is dispatched in process by an
//! `InProcess` door, whose `Watch` sees it go by.

use crate::TestApp;
use admit_shared::usecases::outbox;
use admit_shared::App;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const PW: &str = "Trips-pass-2026";
pub const ADMIN: &str = "admin@trips.example";
pub const MEMBER: &str = "member@trips.example";

/// One request of the walk: the endpoint the table routes it to, and its API Gateway event.
pub struct Step {
    pub endpoint: &'static str,
    pub event: Value,
}

/// What sees each request go by: counts its store calls, times it, keeps its event.
pub trait Watch {
    /// Just before the request's handler runs.
    fn before(&mut self, _step: &Step) {}
    /// Once it has answered, after `took`.
    fn after(&mut self, step: &Step, took: Duration);
}

/// Nothing to see.
impl Watch for () {
    fn after(&mut self, _: &Step, _: Duration) {}
}

/// The door the walk's requests go through: each routed by the endpoint table and handled in
/// process by `app`, watched by `watch`, and required to succeed.
pub struct InProcess<W> {
    pub app: App,
    pub watch: W,
}

impl<W: Watch> InProcess<W> {
    pub async fn call(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let path = uri.split('?').next().unwrap_or_default();
        let (endpoint, _, _) = admit_functions::find(method, path)
            .unwrap_or_else(|_| panic!("no route for {method} {uri}"));
        let body = body.map(|b| b.to_string());
        let step = Step {
            endpoint: endpoint.name,
            event: crate::gateway_event(method, uri, headers, body.as_deref()),
        };
        let req = lambda_http::request::from_str(&step.event.to_string())
            .expect("a valid API Gateway event");
        self.watch.before(&step);
        let started = Instant::now();
        let resp = admit_functions::dispatch(step.endpoint, &self.app, req)
            .await
            .expect("a routed endpoint");
        self.watch.after(&step, started.elapsed());
        let got = crate::read(resp);
        assert!(got.0 < 300, "{method} {uri}: {} {}", got.0, got.1);
        got
    }
}

/// The walk's company on `t`'s store: a public team, an admin and a member (`ADMIN`, `MEMBER`,
/// password `PW`); its admin key and app key.
pub async fn company(t: &TestApp) -> (String, String) {
    crate::small_company(&t.app, "Trips", &["Lobby"], (ADMIN, MEMBER, PW)).await
}

/// Delivers the outbox and returns the newest token after `marker` in an email to `to`.
pub async fn token(t: &TestApp, to: &str, marker: &str) -> String {
    outbox::dispatch_pending(&t.app, 100).await.unwrap();
    t.mail()
        .iter()
        .rev()
        .filter(|m| m.to == to)
        .find_map(|m| crate::link_token(&m.text, marker))
        .unwrap_or_else(|| panic!("no {marker} to {to}"))
}

/// Every endpoint once, on the company `company` made on `t` (a fresh store: the walk names
/// its ids), each request through `door`.
pub async fn every_endpoint<W: Watch>(
    t: &TestApp,
    admin_key: &str,
    app_key: &str,
    door: &mut InProcess<W>,
) {
    let admin = [("x-nextinteract-company-api-key", admin_key)];
    let appk = [("x-nextinteract-company-api-key", app_key)];
    let login = |email: &str| json!({"emailAddress": email, "password": PW});
    let got = door
        .call("POST", "/rest/user/login", &[], Some(login(ADMIN)))
        .await;
    let admin_token = got.1["authToken"].as_str().unwrap().to_string();
    let got = door
        .call("POST", "/rest/user/login", &[], Some(login(MEMBER)))
        .await;
    let member_token = got.1["authToken"].as_str().unwrap().to_string();
    let member_session = [("x-nextinteract-authtoken", member_token.as_str())];
    let admin_session = [("x-nextinteract-authtoken", admin_token.as_str())];
    let bearer = format!("Bearer {admin_token}");
    let bearer = [("authorization", bearer.as_str())];

    door.call("GET", "/rest/company/teams/public", &appk, None)
        .await;
    door.call(
        "POST",
        "/rest/company/membership/teams/assign",
        &admin,
        Some(json!({"userId": 2, "teams": [1], "sendNotification": true})),
    )
    .await;
    door.call(
        "GET",
        "/rest/company/membership/user?userId=2",
        &admin,
        None,
    )
    .await;
    let notes = door
        .call("GET", "/rest/user/notifications", &member_session, None)
        .await;
    let id = notes.1["notifications"][0]["notificationId"].clone();
    door.call(
        "POST",
        "/rest/user/notifications/read",
        &member_session,
        Some(json!({"notificationIds": [id]})),
    )
    .await;
    let device = door
        .call(
            "POST",
            "/rest/user/devices",
            &member_session,
            Some(json!({"platform": "ios", "deviceToken": "device-push-token-1"})),
        )
        .await;
    let device_id = device.1["deviceId"].as_str().unwrap().to_string();
    door.call(
        "DELETE",
        &format!("/rest/user/devices/{device_id}"),
        &member_session,
        None,
    )
    .await;

    // Self-registration and its verification.
    door.call(
        "POST",
        "/rest/user/mi/selfregister",
        &[],
        Some(
            json!({"version": 2, "apiKey": app_key, "emailAddress": "sam@trips.example",
            "password": PW, "firstName": "Sam", "lastName": "Lee"}),
        ),
    )
    .await;
    let verify = token(t, "sam@trips.example", "verify?token=").await;
    door.call(
        "GET",
        &format!("/rest/user/verify?token={verify}"),
        &[],
        None,
    )
    .await;
    door.call(
        "POST",
        "/rest/user/verify",
        &[],
        Some(json!({"token": verify, "password": PW, "newPassword": PW})),
    )
    .await;

    // Password reset.
    door.call(
        "POST",
        "/rest/user/password/reset",
        &[],
        Some(json!({"emailAddress": "sam@trips.example"})),
    )
    .await;
    let reset = token(t, "sam@trips.example", "token=").await;
    door.call(
        "POST",
        "/rest/user/password/reset/confirm",
        &[],
        Some(json!({"token": reset, "password": "Trips-pass-2027"})),
    )
    .await;

    // An invitation by email, looked at and accepted.
    door.call(
        "POST",
        "/rest/user/miinvite",
        &admin_session,
        Some(
            json!({"companyId": 1, "contact": {"firstname": "Jo", "lastname": "Ng",
            "email1": "jo@trips.example"}, "inviteTeams": [{"teamId": 1}]}),
        ),
    )
    .await;
    let jo = token(t, "jo@trips.example", "accept?token=").await;
    door.call(
        "GET",
        &format!("/rest/user/miinvite/accept?token={jo}"),
        &[],
        None,
    )
    .await;
    door.call(
        "POST",
        "/rest/user/miinvite/accept",
        &[],
        Some(json!({"token": jo, "password": PW})),
    )
    .await;

    // The platform family.
    door.call(
        "POST",
        "/api/users/invitations",
        &bearer,
        Some(json!({"EmailAddresses": ["lu@trips.example"], "Message": "Join us"})),
    )
    .await;
    door.call("GET", "/api/users/me/businesses", &bearer, None)
        .await;
    door.call("GET", "/api/businesses/1/settings", &bearer, None)
        .await;
    door.call(
        "PUT",
        "/api/businesses/1/settings",
        &bearer,
        Some(json!({"InvitationDays": 10})),
    )
    .await;
    door.call("GET", "/api/businesses/1/invitations", &bearer, None)
        .await;
    door.call(
        "POST",
        "/api/businesses/1/invitations/resend",
        &bearer,
        Some(json!({"EmailAddress": "lu@trips.example"})),
    )
    .await;
    door.call(
        "POST",
        "/api/businesses/1/invitations/revoke",
        &bearer,
        Some(json!({"EmailAddress": "lu@trips.example"})),
    )
    .await;

    // The site family.
    door.call(
        "POST",
        "/api/rest/v1/management/users/invite",
        &bearer,
        Some(json!({"email": "sita@trips.example", "duration": 10, "groups": [1]})),
    )
    .await;
    door.call(
        "POST",
        "/api/rest/v1/management/user/activity",
        &bearer,
        Some(json!({"userIds": [], "dateFrom": "2026-01-01T00:00:00Z",
            "dateTo": "2030-01-01T00:00:00Z"})),
    )
    .await;
    door.call("POST", "/rest/user/logout", &member_session, None)
        .await;
}
