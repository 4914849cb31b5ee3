//! One act, the same records at every door: an invitation sent by inviteMIUser, the platform's
//! `POST /api/users/invitations` or the site's Invite Users (and a resend) writes its sender's
//! `Invitation Sent` activity, publishes `invitation.created` (`invitation.resent`) and emails
//! the invitee, because every door sends through `usecases::invitations::send` in one unit of
//! work.

use admit_shared::domain::event::EventType;
use admit_shared::usecases::outbox;
use admit_shared::App;
use admit_tests::{Backend, TestApp};
use serde_json::{json, Value};

const PW: &str = "Doors-pass-2026";
const ADMIN: &str = "admin@doors.example";

async fn call(
    app: &App,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    admit_tests::route(app, method, uri, headers, Some(&body.to_string())).await
}

/// The company's `Invitation Sent` rows in its activity report.
async fn invitations_sent(app: &App, bearer: &str) -> u64 {
    let report = json!({"userIds": [], "dateFrom": "2000-01-01T00:00:00Z",
        "dateTo": "2100-01-01T00:00:00Z", "activity": 10});
    let h = [("authorization", bearer)];
    let uri = "/api/rest/v1/management/user/activity";
    let (status, rows) = call(app, "POST", uri, &h, report).await;
    assert_eq!(status, 200, "{rows}");
    rows["totalRecords"].as_u64().unwrap()
}

/// What the act left for `to`: the events of `kind` about the address, and emails to it.
async fn records_for(t: &TestApp, kind: EventType, to: &str) -> (usize, usize) {
    let events = t
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == kind && e.subject.email.as_deref() == Some(to))
        .count();
    outbox::dispatch_pending(&t.app, 100).await.unwrap();
    let emails = t.mail().iter().filter(|m| m.to == to).count();
    (events, emails)
}

async fn every_door_writes_the_same_records_for_an_invitation(backend: Backend) {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    admit_tests::small_company(
        app,
        "Doors",
        &["Lobby"],
        (ADMIN, "member@doors.example", PW),
    )
    .await;
    let (status, session) = admit_tests::login(app, ADMIN, PW).await;
    assert_eq!(status, 200, "{session}");
    let token = session["authToken"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    let ni = [("x-nextinteract-authtoken", token.as_str())];
    let platform = [("authorization", bearer.as_str())];
    // The door's path, its credentials, a body inviting one address, and the address.
    type Door<'a> = (&'a str, &'a [(&'a str, &'a str)], Value, &'a str);
    let doors: [Door; 3] = [
        (
            "/rest/user/miinvite",
            &ni,
            json!({"companyId": 1, "contact": {"firstname": "M", "lastname": "I", "email1": "mi@example.com"}}),
            "mi@example.com",
        ),
        (
            "/api/users/invitations",
            &platform,
            json!({"EmailAddresses": ["pf@example.com"], "Message": "Join us"}),
            "pf@example.com",
        ),
        (
            "/api/rest/v1/management/users/invite",
            &platform,
            json!({"email": "site@example.com"}),
            "site@example.com",
        ),
    ];
    for (n, (path, headers, body, to)) in doors.into_iter().enumerate() {
        let got = call(app, "POST", path, headers, body).await;
        assert_eq!(got.0, 200, "{path}: {}", got.1);
        assert_eq!(
            records_for(&t, EventType::InvitationCreated, to).await,
            (1, 1),
            "{path}: one invitation.created event and one email"
        );
        assert_eq!(
            invitations_sent(app, &bearer).await,
            n as u64 + 1,
            "{path}: one Invitation Sent row"
        );
    }
    // A resend is a send too.
    let resend = json!({"EmailAddress": "pf@example.com"});
    let got = call(
        app,
        "POST",
        "/api/businesses/1/invitations/resend",
        &platform,
        resend,
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(
        records_for(&t, EventType::InvitationResent, "pf@example.com").await,
        (1, 2)
    );
    assert_eq!(invitations_sent(app, &bearer).await, 4);
}
admit_tests::both_backends!(every_door_writes_the_same_records_for_an_invitation);
