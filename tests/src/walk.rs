//! One successful request to every endpoint, in an order that makes each possible (the demo a
//! client would run): the round-trip test counts the store calls each makes, and the bench
//! times them and replays them as Lambda events. Each request goes through a `Door`.

use crate::TestApp;
use admit_shared::usecases::outbox;
use async_trait::async_trait;
use serde_json::{json, Value};

pub const PW: &str = "Trips-pass-2026";
pub const ADMIN: &str = "admin@trips.example";
pub const MEMBER: &str = "member@trips.example";

/// Where the walk's requests go: a request (routed by the endpoint table) and its answer.
#[async_trait]
pub trait Door: Send {
    async fn call(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value);
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
/// its ids), each request through `door`, which must answer it successfully.
pub async fn every_endpoint(t: &TestApp, admin_key: &str, app_key: &str, door: &mut dyn Door) {
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
        Some(json!({"token": verify, "password": PW})),
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
