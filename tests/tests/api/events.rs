//! Domain events (docs/events.md): every event type is produced by the action that causes it,
//! through each door that can cause it, and read back as published (the local `events/` files
//! on the embedded store, what the emulator's EventBridge took on the emulator). Each carries
//! the schema's fields and no secret; a scheduled one (an invitation or temporary access that
//! runs out) is published once it is due and not before, and is taken back when something
//! comes first.

use admit_shared::domain::event::{Event, EventType};
use admit_shared::records::Status;
use admit_shared::usecases::provision;
use admit_shared::App;
use admit_tests::{gateway_request, read, Backend, TestApp};
use chrono::Duration;
use serde_json::{json, Value};

const PW: &str = "Events-pass-2026";
const ADMIN: &str = "admin@events.example";
const MEMBER: &str = "member@events.example";

struct World {
    t: TestApp,
    admin_key: String,
    app_key: String,
    admin_token: String,
    member_token: String,
    /// Events already looked at.
    seen: usize,
}

impl World {
    fn app(&self) -> &App {
        &self.t.app
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let path = uri.split('?').next().unwrap();
        let (endpoint, _, _) = admit_functions::find(method, path).unwrap();
        let body = body.map(|b| b.to_string());
        let req = gateway_request(method, uri, headers, body.as_deref());
        let got = read(
            admit_functions::dispatch(endpoint.name, self.app(), req)
                .await
                .unwrap(),
        );
        assert!(got.0 < 400, "{method} {uri}: {} {}", got.0, got.1);
        got
    }

    /// The events published since the last look.
    async fn new_events(&mut self) -> Vec<Event> {
        let all = self.t.events().await;
        let new = all[self.seen..].to_vec();
        self.seen = all.len();
        new
    }

    /// The one new event of `kind`, after checking every new event's shape.
    async fn expect(&mut self, kinds: &[EventType]) -> Vec<Event> {
        let new = self.new_events().await;
        let got: Vec<EventType> = new.iter().map(|e| e.kind).collect();
        for k in kinds {
            assert!(got.contains(k), "{:?} among {got:?}", k.name());
        }
        for e in &new {
            well_formed(e);
        }
        new
    }

    async fn token(&self, to: &str, marker: &str) -> String {
        admit_shared::usecases::outbox::dispatch_pending(self.app(), 100)
            .await
            .unwrap();
        self.t
            .mail()
            .iter()
            .rev()
            .filter(|m| m.to == to)
            .find_map(|m| admit_tests::link_token(&m.text, marker))
            .unwrap_or_else(|| panic!("no {marker} to {to}"))
    }
}

/// The schema's fields, and nothing that is a secret.
fn well_formed(e: &Event) {
    assert!(e.id.starts_with("evt_"), "{e:?}");
    assert_eq!(e.version, 1);
    let text = serde_json::to_string(e).unwrap();
    for secret in [PW, "token", "password", "authToken"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

fn of(events: &[Event], kind: EventType) -> &Event {
    events
        .iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {}", kind.name()))
}

async fn world(backend: Backend) -> World {
    let t = TestApp::new(backend).await;
    let app = &t.app;
    let people = (ADMIN, MEMBER, PW);
    let teams = ["Lobby", "Crew"];
    let (admin_key, app_key) = admit_tests::small_company(app, "Events", &teams, people).await;
    let admin_token = admit_tests::auth_token(app, ADMIN, PW).await;
    let member_token = admit_tests::auth_token(app, MEMBER, PW).await;
    World {
        t,
        admin_key,
        app_key,
        admin_token,
        member_token,
        seen: 0,
    }
}

async fn every_event_through_every_door(backend: Backend) {
    let mut w = world(backend).await;
    // The operator's provisioning: two accounts, each a member.
    let setup = w
        .expect(&[EventType::AccountRegistered, EventType::MembershipAdded])
        .await;
    let registered = of(&setup, EventType::AccountRegistered);
    assert_eq!(registered.data["via"], json!("operator"));
    assert_eq!(
        serde_json::to_value(&registered.actor).unwrap(),
        json!({"type": "operator"})
    );

    let admin_session = [("x-nextinteract-authtoken", w.admin_token.clone())];
    let admin_session: Vec<(&str, &str)> = admin_session
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let bearer = format!("Bearer {}", w.admin_token);
    let bearer = [("authorization", bearer.as_str())];
    let admin_key = [("x-nextinteract-company-api-key", w.admin_key.clone())];
    let admin_key: Vec<(&str, &str)> = admin_key.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // invitation.created through each door that invites.
    w.call(
        "POST",
        "/rest/user/miinvite",
        &admin_session,
        Some(
            json!({"companyId": 1, "contact": {"firstname": "Jo", "lastname": "Ng",
            "email1": "jo@events.example"}, "inviteTeams": [{"teamId": 1}]}),
        ),
    )
    .await;
    let created = w.expect(&[EventType::InvitationCreated]).await;
    let e = of(&created, EventType::InvitationCreated);
    assert_eq!(e.subject.email.as_deref(), Some("jo@events.example"));
    assert_eq!(e.company_id.map(|c| c.get()), Some(1));
    assert_eq!(e.data["teams"], json!([1]));
    assert_eq!(
        serde_json::to_value(&e.actor).unwrap(),
        json!({"type": "user", "userId": 1})
    );
    assert!(
        !created
            .iter()
            .any(|e| e.kind == EventType::InvitationExpired),
        "the expiry waits for its time"
    );
    w.call(
        "POST",
        "/api/users/invitations",
        &bearer,
        Some(json!({"EmailAddresses": ["lu@events.example"], "Message": "Join us"})),
    )
    .await;
    let e = w.expect(&[EventType::InvitationCreated]).await;
    assert_eq!(
        of(&e, EventType::InvitationCreated)
            .subject
            .email
            .as_deref(),
        Some("lu@events.example")
    );
    w.call(
        "POST",
        "/api/rest/v1/management/users/invite",
        &bearer,
        Some(json!({"email": "sita@events.example", "duration": 10, "groups": [1]})),
    )
    .await;
    let e = w.expect(&[EventType::InvitationCreated]).await;
    let site = of(&e, EventType::InvitationCreated);
    assert_eq!(site.data["temporaryAccessDays"], json!(10));
    assert_eq!(site.data["site"], json!(true));

    // invitation.resent and invitation.revoked (the platform's admin tools).
    w.call(
        "POST",
        "/api/businesses/1/invitations/resend",
        &bearer,
        Some(json!({"EmailAddress": "lu@events.example"})),
    )
    .await;
    w.expect(&[EventType::InvitationResent]).await;
    w.call(
        "POST",
        "/api/businesses/1/invitations/revoke",
        &bearer,
        Some(json!({"EmailAddress": "lu@events.example"})),
    )
    .await;
    w.expect(&[EventType::InvitationRevoked]).await;

    // invitation.accepted, with a new account and membership (the JSON door).
    let jo = w.token("jo@events.example", "accept?token=").await;
    w.call(
        "POST",
        "/rest/user/miinvite/accept",
        &[],
        Some(json!({"token": jo, "password": PW})),
    )
    .await;
    let e = w
        .expect(&[
            EventType::InvitationAccepted,
            EventType::AccountRegistered,
            EventType::MembershipAdded,
        ])
        .await;
    let joined = of(&e, EventType::MembershipAdded);
    assert_eq!(joined.data["teams"], json!([1]));
    let jo_id = joined.subject.user_id.unwrap();
    assert_eq!(
        of(&e, EventType::InvitationAccepted).subject.user_id,
        Some(jo_id)
    );
    assert_eq!(
        of(&e, EventType::AccountRegistered).data["via"],
        json!("invitation")
    );

    // The accept page: a site invitation of temporary access, accepted in the browser.
    let sita = w.token("sita@events.example", "accept?token=").await;
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("token", sita.as_str()),
            ("firstName", "Sita"),
            ("lastName", "Rao"),
            ("password", PW),
        ])
        .finish();
    let req = gateway_request(
        "POST",
        "/invitations/accept",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&form),
    );
    let resp = admit_functions::accept_invitation_page::handler(w.app(), req).await;
    assert_eq!(resp.status().as_u16(), 303, "{:?}", resp.body());
    let e = w
        .expect(&[EventType::InvitationAccepted, EventType::MembershipAdded])
        .await;
    let sita_joined = of(&e, EventType::MembershipAdded);
    let sita_id = sita_joined.subject.user_id.unwrap();
    let end = sita_joined.data["expiresAt"].as_str().unwrap().to_string();

    // membership.teams_changed: an admin key assigns a team.
    w.call(
        "POST",
        "/rest/company/membership/teams/assign",
        &admin_key,
        Some(json!({"userId": 2, "teams": [2]})),
    )
    .await;
    let e = w.expect(&[EventType::MembershipTeamsChanged]).await;
    let changed = of(&e, EventType::MembershipTeamsChanged);
    assert_eq!(changed.subject.user_id.map(|u| u.get()), Some(2));
    assert_eq!(changed.data["added"], json!([2]));
    // ... and a site admin's invite of a member grants a group at once.
    w.call(
        "POST",
        "/api/rest/v1/management/users/invite",
        &bearer,
        Some(json!({"email": MEMBER, "groups": [1]})),
    )
    .await;
    let e = w.expect(&[EventType::MembershipTeamsChanged]).await;
    assert_eq!(
        of(&e, EventType::MembershipTeamsChanged).data["added"],
        json!([1])
    );

    // account.registered and membership.added by self-registration; account.verified.
    w.call(
        "POST",
        "/rest/user/mi/selfregister",
        &[],
        Some(
            json!({"version": 2, "apiKey": w.app_key, "emailAddress": "sam@events.example",
            "password": PW, "firstName": "Sam", "lastName": "Lee"}),
        ),
    )
    .await;
    let e = w
        .expect(&[EventType::AccountRegistered, EventType::MembershipAdded])
        .await;
    assert_eq!(
        of(&e, EventType::AccountRegistered).data["via"],
        json!("self_registration")
    );
    let verify = w.token("sam@events.example", "verify?token=").await;
    w.call(
        "POST",
        "/rest/user/verify",
        &[],
        Some(json!({"token": verify, "password": PW, "newPassword": PW})),
    )
    .await;
    let e = w.expect(&[EventType::AccountVerified]).await;
    assert_eq!(
        of(&e, EventType::AccountVerified).subject.email.as_deref(),
        Some("sam@events.example")
    );
    // ... and on the page the email links to.
    w.call(
        "POST",
        "/rest/user/mi/selfregister",
        &[],
        Some(
            json!({"version": 2, "apiKey": w.app_key, "emailAddress": "pat@events.example",
            "password": PW, "firstName": "Pat", "lastName": "Lee"}),
        ),
    )
    .await;
    w.expect(&[EventType::AccountRegistered]).await;
    let verify = w.token("pat@events.example", "verify?token=").await;
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("token", verify.as_str()),
            ("password", PW),
            ("newPassword", PW),
            ("confirm", PW),
        ])
        .finish();
    let req = gateway_request(
        "POST",
        "/account/verify",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&form),
    );
    let resp = admit_functions::verify_email_page::handler(w.app(), req).await;
    assert_eq!(resp.status().as_u16(), 303, "{:?}", resp.body());
    let e = w.expect(&[EventType::AccountVerified]).await;
    assert_eq!(
        of(&e, EventType::AccountVerified).subject.email.as_deref(),
        Some("pat@events.example")
    );

    // membership.ended: a member leaves.
    let member_bearer = format!("Bearer {}", w.member_token);
    w.call(
        "DELETE",
        "/api/users/me/businesses/1",
        &[("authorization", member_bearer.as_str())],
        None,
    )
    .await;
    let e = w.expect(&[EventType::MembershipEnded]).await;
    assert_eq!(
        of(&e, EventType::MembershipEnded).data["reason"],
        json!("left")
    );

    // account.deactivated: the operator's command.
    provision::set_user_status(w.app(), "sam@events.example", Status::Inactive)
        .await
        .unwrap();
    w.expect(&[EventType::AccountDeactivated]).await;

    // Time: the pending invitation's link runs out, then the temporary access ends. Each is
    // published once due, never before, and once.
    w.call(
        "POST",
        "/api/users/invitations",
        &bearer,
        Some(json!({"EmailAddresses": ["late@events.example"]})),
    )
    .await;
    w.expect(&[EventType::InvitationCreated]).await;
    w.t.clock.advance(Duration::days(6));
    assert!(w.new_events().await.is_empty(), "nothing is due yet");
    w.t.clock.advance(Duration::days(2));
    let e = w.expect(&[EventType::InvitationExpired]).await;
    let expired: Vec<&Event> = e
        .iter()
        .filter(|e| e.kind == EventType::InvitationExpired)
        .collect();
    // Only the one still pending: the accepted, revoked and replaced ones were taken back.
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(
        expired[0].subject.email.as_deref(),
        Some("late@events.example")
    );
    assert_eq!(
        serde_json::to_value(&expired[0].actor).unwrap(),
        json!({"type": "system"})
    );
    w.t.clock.advance(Duration::days(3));
    let e = w.expect(&[EventType::MembershipEnded]).await;
    let ended = of(&e, EventType::MembershipEnded);
    assert_eq!(ended.subject.user_id, Some(sita_id));
    assert_eq!(ended.data["reason"], json!("temporary_access_ended"));
    assert_eq!(admit_shared::domain::time::format(ended.occurred_at), end);
    assert!(w.new_events().await.is_empty(), "each is published once");
}
admit_tests::both_backends!(every_event_through_every_door);

/// Every event type has been produced by the scenario above (kept in step with the schema).
#[test]
fn the_scenario_names_every_event_type() {
    let source = include_str!("events.rs");
    for t in EventType::ALL {
        let variant = format!("EventType::{t:?}");
        assert!(source.contains(&variant), "{} is not tried", t.name());
    }
}

/// The largest platform call, every address replacing a pending invitation whose link was
/// issued, is one transaction within DynamoDB's 100 writes, with its events.
async fn a_full_batch_of_replacements_fits_one_transaction(backend: Backend) {
    let mut w = world(backend).await;
    w.new_events().await;
    let bearer = format!("Bearer {}", w.admin_token);
    let bearer = [("authorization", bearer.as_str())];
    let max = admit_shared::usecases::platform_invitations::MAX_ADDRESSES;
    let batch: Vec<String> = (0..max).map(|i| format!("b{i}@events.example")).collect();
    let body = json!({ "EmailAddresses": batch });
    w.call(
        "POST",
        "/api/users/invitations",
        &bearer,
        Some(body.clone()),
    )
    .await;
    // Every link issued (its token's lookup is one more item to end when replaced).
    admit_shared::usecases::outbox::dispatch_pending(w.app(), 1000)
        .await
        .unwrap();
    w.t.clock.advance(Duration::minutes(11));
    let (_, invited) = w
        .call("POST", "/api/users/invitations", &bearer, Some(body))
        .await;
    assert_eq!(invited.as_array().unwrap().len(), max);
    let created: Vec<Event> = w
        .new_events()
        .await
        .into_iter()
        .filter(|e| e.kind == EventType::InvitationCreated)
        .collect();
    assert_eq!(
        created.len(),
        2 * max,
        "{:?}",
        w.t.events()
            .await
            .iter()
            .map(|e| e.kind)
            .collect::<Vec<_>>()
    );
    assert!(created[max..]
        .iter()
        .all(|e| e.data["replacesPending"] == json!(true)));
}
admit_tests::both_backends!(a_full_batch_of_replacements_fits_one_transaction);

/// A publisher in front of the test's own that keeps what it published and can "crash" right
/// after: it signals and never returns, as a dispatcher killed between PutEvents and marking
/// the message sent.
struct Crashing {
    inner: std::sync::Arc<dyn admit_shared::ports::events::Publisher>,
    hang: bool,
    published: std::sync::Mutex<Vec<String>>,
    signal: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl admit_shared::ports::events::Publisher for Crashing {
    async fn publish(
        &self,
        events: &[Event],
    ) -> Vec<Result<String, admit_shared::ports::mail::DeliveryError>> {
        let answers = self.inner.publish(events).await;
        self.published
            .lock()
            .unwrap()
            .extend(events.iter().map(|e| e.id.clone()));
        if self.hang {
            self.signal.notify_one();
            std::future::pending::<()>().await;
        }
        answers
    }
}

/// A crash between PutEvents and the outbox's bookkeeping: once the dead dispatcher's lease
/// ends, the sweep publishes the event again, with the same id, so a consumer that
/// deduplicates by id sees it once.
async fn a_redelivery_after_a_crash_carries_the_same_id(backend: Backend) {
    use admit_shared::usecases::outbox::{self, Outcome};
    let w = world(backend).await;
    let pending: Vec<String> = outbox::pending(w.app())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind.as_deref() == Some("event"))
        .map(|m| m.outbox_id)
        .collect();
    let id = pending
        .first()
        .expect("the setup's events are queued")
        .clone();
    let crashing = std::sync::Arc::new(Crashing {
        inner: w.app().events.clone(),
        hang: true,
        published: Default::default(),
        signal: Default::default(),
    });
    let crash_app = App {
        events: crashing.clone(),
        ..w.app().clone()
    };
    tokio::select! {
        r = outbox::deliver(&crash_app, &id) => panic!("the delivery was to hang: {r:?}"),
        _ = crashing.signal.notified() => {}
    }
    let again = std::sync::Arc::new(Crashing {
        inner: w.app().events.clone(),
        hang: false,
        published: Default::default(),
        signal: Default::default(),
    });
    let app = App {
        events: again.clone(),
        ..w.app().clone()
    };
    assert_eq!(outbox::deliver(&app, &id).await.unwrap(), Outcome::Busy);
    w.t.clock.advance(outbox::LEASE + Duration::seconds(1));
    assert_eq!(
        outbox::deliver(&app, &id).await.unwrap(),
        Outcome::Delivered
    );
    let first = crashing.published.lock().unwrap().clone();
    let second = again.published.lock().unwrap().clone();
    assert_eq!(first.len(), 1);
    assert_eq!(first, second, "the same event, under the same id");
    assert!(first[0].starts_with("evt_"));
    // Published twice, one event to a consumer that keeps one per id.
    let ids: std::collections::BTreeSet<String> =
        w.t.events().await.into_iter().map(|e| e.id).collect();
    assert!(ids.contains(&first[0]));
    assert_eq!(
        outbox::deliver(&app, &id).await.unwrap(),
        Outcome::AlreadyDone
    );
}
admit_tests::both_backends!(a_redelivery_after_a_crash_carries_the_same_id);

/// A stand-in for EventBridge's PutEvents: records each call's entries, and answers an entry
/// whose subject is `throttled@` with `ThrottlingException` the first time it sees it and one
/// whose subject is `malformed@` with `MalformedDetail` always.
fn event_bridge_stub() -> (String, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = calls.clone();
    std::thread::spawn(move || {
        let mut throttled_once = false;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (_, body) = admit_tests::read_http_request(&mut stream);
            let request: Value = serde_json::from_str(&body).unwrap_or_default();
            let entries = request["Entries"].as_array().cloned().unwrap_or_default();
            seen.lock().unwrap().push(entries.len());
            let mut failed = 0;
            let answers: Vec<Value> = entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let detail = e["Detail"].as_str().unwrap_or_default();
                    if detail.contains("malformed@") {
                        failed += 1;
                        json!({"ErrorCode": "MalformedDetail", "ErrorMessage": "bad"})
                    } else if detail.contains("throttled@") && !throttled_once {
                        throttled_once = true;
                        failed += 1;
                        json!({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
                    } else {
                        json!({ "EventId": format!("eb-{i}") })
                    }
                })
                .collect();
            let out = json!({"FailedEntryCount": failed, "Entries": answers}).to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                out.len()
            );
            let _ = stream.write_all(resp.as_bytes());
        }
    });
    (url, calls)
}

/// PutEvents takes at most 10 entries a call; an entry refused for now is sent again, alone;
/// one refused for good is answered as such and not sent again.
#[tokio::test]
async fn put_events_takes_ten_a_call_and_sends_refused_entries_again() {
    use admit_shared::domain::event::{Actor, Subject};
    use admit_shared::ports::events::{EventBridgePublisher, Publisher};
    use admit_shared::ports::mail::DeliveryError;
    let (url, calls) = event_bridge_stub();
    let creds = aws_sdk_eventbridge::config::Credentials::new("test", "test", None, None, "t");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await;
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), "bus");
    let event = |email: &str| {
        Event::new(
            EventType::AccountVerified,
            None,
            chrono::Utc::now(),
            Actor::System,
            Subject {
                email: Some(email.to_string()),
                ..Subject::default()
            },
        )
    };
    let mut events: Vec<Event> = (0..23).map(|i| event(&format!("e{i}@x.example"))).collect();
    events[4] = event("throttled@x.example");
    events[17] = event("malformed@x.example");
    let answers = publisher.publish(&events).await;
    assert_eq!(
        *calls.lock().unwrap(),
        [10, 10, 3, 1],
        "three batches, then the throttled one again"
    );
    for (i, a) in answers.iter().enumerate() {
        match i {
            17 => assert!(matches!(a, Err(DeliveryError::Permanent(_))), "{a:?}"),
            _ => assert!(a.is_ok(), "{i}: {a:?}"),
        }
    }
}
