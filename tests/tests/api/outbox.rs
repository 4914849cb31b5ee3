//! The outbox: messages committed with the state change, delivered by the dispatcher through
//! the local files, SES and SNS on the emulator; failures keep the message pending. Claims
//! keep two dispatchers off one message, a re-sent invitation keeps its first link, unknown
//! provider errors are retried, and failed messages are listed and replayed.

use admit_shared::ports::mail::{DeliveryError, Email, Mailer, SesMailer};
use admit_shared::ports::push::{Platform, PushMessage, Pusher, SnsPusher};
use admit_shared::ports::store::{Key, Update, Write};
use admit_shared::records::outbox::{self as outbox_items, Message};
use admit_shared::records::Role;
use admit_shared::usecases::outbox::{self, Listed, NotReplayed, Outcome};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use admit_tests::{
    auth_token, emulator_endpoint, emulator_sdk, gateway_request, http_request, read_as, Backend,
    TestApp,
};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn email(to: &str) -> Email {
    Email {
        to: to.into(),
        subject: "Welcome to admit".into(),
        text: "Hello,\nwelcome.".into(),
        html: Some("<p>Hello, <b>welcome</b>.</p>".into()),
        message_id: None,
    }
}

/// Everything the emulator recorded. moto builds this dump from live objects, so it fails now
/// and then (500) when another test writes at the same moment: ask again.
fn emulator_data() -> Value {
    let url = format!("{}/moto-api/data.json", emulator_endpoint());
    for _ in 0..20 {
        let (status, body) = http_request(&url, "GET", &[], None);
        if status == 200 {
            return body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto's data.json kept failing");
}

async fn queue(app: &App, id: &str, message: &Message) {
    app.store
        .transact(vec![
            Write::put_new(Key::new(format!("STATE#{id}"), "STATE").to_item()),
            outbox_items::enqueue(id, app.clock.now(), message),
        ])
        .await
        .unwrap();
}

async fn status(app: &App, id: &str) -> Value {
    Value::Object(
        app.store
            .get(&outbox_items::outbox_key(id))
            .await
            .unwrap()
            .unwrap(),
    )
}

#[tokio::test]
async fn email_is_delivered_to_a_local_eml_file() {
    let t = TestApp::new(Backend::Embedded).await;
    queue(
        &t.app,
        "m1",
        &Message::Email(email("jane.mead@acmepaymentscorp.com")),
    )
    .await;
    assert_eq!(admit_tests::pending_sends(&t.app).await.len(), 1);
    assert_eq!(admit_tests::send_pending(&t.app).await, 1);
    let mails = t.mail();
    assert_eq!(mails.len(), 1);
    // One MIME message, as a recipient gets it: a text part and an HTML part.
    assert_eq!(mails[0].to, "jane.mead@acmepaymentscorp.com");
    assert_eq!(mails[0].subject, "Welcome to admit");
    assert!(mails[0].content_type.starts_with("multipart/alternative"));
    assert_eq!(mails[0].text.trim_end(), "Hello,\nwelcome.");
    assert_eq!(
        mails[0].html.as_deref().map(str::trim_end),
        Some("<p>Hello, <b>welcome</b>.</p>")
    );
    let s = status(&t.app, "m1").await;
    assert_eq!(s["status"], json!("sent"));
    assert!(
        s.get("message").is_none(),
        "the body is dropped once delivered"
    );
    assert!(admit_tests::pending_sends(&t.app).await.is_empty());
    // A duplicate delivery (a second stream record) sends nothing more.
    assert_eq!(
        outbox::deliver(&t.app, "m1").await.unwrap(),
        outbox::Outcome::AlreadyDone
    );
    assert_eq!(std::fs::read_dir(t.dir.join("mail")).unwrap().count(), 1);
}

#[tokio::test]
async fn email_and_push_go_through_ses_and_sns_on_the_emulator() {
    let t = TestApp::new(Backend::Emulator).await;
    let to = format!(
        "{}@example.com",
        &admit_shared::domain::secrets::random_hex_id()[..10]
    );
    queue(&t.app, "e1", &Message::Email(email(&to))).await;
    let device = format!("device-{}", admit_shared::domain::secrets::random_hex_id());
    let endpoint = t.app.pusher.register(Platform::Ios, &device).await.unwrap();
    assert!(endpoint.contains(":endpoint/APNS/"), "{endpoint}");
    let push = PushMessage {
        endpoint: endpoint.clone(),
        title: "Teams".into(),
        body: "You have new teams".into(),
        data: Default::default(),
    };
    queue(&t.app, "p1", &Message::Push(push)).await;

    // Delivered from a DynamoDB Streams batch, as the dispatch function receives it.
    let event = json!({"Records": [
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "OUTBOX#e1"}, "sk": {"S": "OUTBOX"}}, "SequenceNumber": "100"}},
        {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "OUTBOX#e1"}, "sk": {"S": "OUTBOX"}}, "SequenceNumber": "101"}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "USER#1"}, "sk": {"S": "USER"}}, "SequenceNumber": "102"}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "OUTBOX#p1"}, "sk": {"S": "OUTBOX"}}, "SequenceNumber": "103"}}
    ]});
    let out = admit_functions::dispatch_outbox::handler(&t.app, event).await;
    assert_eq!(out, json!({"batchItemFailures": []}));

    let data = emulator_data();
    let sent: Vec<&Value> = data["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destinations"][0] == json!(to))
        .collect();
    assert_eq!(sent.len(), 1, "one email to {to}");
    let mail = admit_tests::parse_mail(sent[0]["raw_data"].as_str().unwrap());
    assert_eq!(mail.subject, "Welcome to admit");
    assert_eq!(mail.text.trim_end(), "Hello,\nwelcome.");
    assert_eq!(sent[0]["source"], json!(t.app.config.mail_from));
    let ep = data["sns"]["PlatformEndpoint"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["arn"] == json!(endpoint))
        .unwrap();
    let msgs: Vec<&Value> = ep["messages"].as_object().unwrap().values().collect();
    assert_eq!(msgs.len(), 1);
    let payload: Value = serde_json::from_str(msgs[0].as_str().unwrap()).unwrap();
    let apns: Value = serde_json::from_str(payload["APNS"].as_str().unwrap()).unwrap();
    assert_eq!(apns["aps"]["alert"]["body"], json!("You have new teams"));
    assert_eq!(status(&t.app, "e1").await["status"], json!("sent"));
    assert_eq!(status(&t.app, "p1").await["status"], json!("sent"));
}

/// A mailer that is down for its first `fail` calls.
struct Flaky {
    fail: usize,
    calls: AtomicUsize,
    permanent: bool,
}

#[async_trait::async_trait]
impl Mailer for Flaky {
    async fn send(&self, _: &Email) -> Result<String, DeliveryError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.fail {
            return Err(if self.permanent {
                DeliveryError::Permanent("MessageRejected: address on the suppression list".into())
            } else {
                DeliveryError::Transient("could not reach the service".into())
            });
        }
        Ok(format!("id-{n}"))
    }
}

async fn an_outage_loses_nothing(backend: Backend) {
    let t = TestApp::new(backend).await;
    let flaky = Arc::new(Flaky {
        fail: 5,
        calls: AtomicUsize::new(0),
        permanent: false,
    });
    let app = App {
        mailer: flaky.clone(),
        ..t.app.clone()
    };
    queue(&app, "o1", &Message::Email(email("a@example.com"))).await;
    queue(&app, "o2", &Message::Email(email("b@example.com"))).await;
    let event = json!({"Records": [
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "OUTBOX#o1"}}, "SequenceNumber": "7"}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "OUTBOX#o2"}}, "SequenceNumber": "8"}}
    ]});
    // SES is down: three tries, then the record (and every later one) is handed back to the stream.
    assert_eq!(
        admit_functions::dispatch_outbox::handler(&app, event.clone()).await,
        json!({"batchItemFailures": [{"itemIdentifier": "7"}]})
    );
    let s = status(&app, "o1").await;
    assert_eq!(
        (s["status"].clone(), s["attempts"].clone()),
        (json!("pending"), json!(1))
    );
    assert!(
        s.get("message").is_some(),
        "the message is kept while undelivered"
    );
    assert_eq!(admit_tests::pending_sends(&app).await.len(), 2);
    // The stream retries the batch once SES is back: everything is delivered, once.
    assert_eq!(
        admit_functions::dispatch_outbox::handler(&app, event).await,
        json!({"batchItemFailures": []})
    );
    assert_eq!(status(&app, "o1").await["status"], json!("sent"));
    assert_eq!(status(&app, "o2").await["status"], json!("sent"));
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 5 + 2);
    // The scheduled sweep finds nothing left.
    assert_eq!(
        admit_functions::dispatch_outbox::handler(&app, json!({"source": "aws.events"})).await,
        json!({"delivered": 0})
    );
}
admit_tests::both_backends!(an_outage_loses_nothing);

async fn a_rejected_address_is_recorded_not_retried_forever(backend: Backend) {
    let t = TestApp::new(backend).await;
    let app = App {
        mailer: Arc::new(Flaky {
            fail: 100,
            calls: AtomicUsize::new(0),
            permanent: true,
        }),
        ..t.app.clone()
    };
    queue(&app, "r1", &Message::Email(email("bounce@example.com"))).await;
    assert_eq!(
        outbox::deliver(&app, "r1").await.unwrap(),
        outbox::Outcome::Failed
    );
    let s = status(&app, "r1").await;
    assert_eq!(s["status"], json!("failed"));
    assert!(s["lastError"].as_str().unwrap().contains("MessageRejected"));
    assert!(
        s.get("message").is_some(),
        "a failed message keeps its body for replay"
    );
    assert!(admit_tests::pending_sends(&app).await.is_empty());
}
admit_tests::both_backends!(a_rejected_address_is_recorded_not_retried_forever);

async fn a_failed_transaction_queues_nothing(backend: Backend) {
    let t = TestApp::new(backend).await;
    t.app
        .store
        .put(Key::new("STATE#dup", "STATE").to_item(), None)
        .await
        .unwrap();
    let r = t
        .app
        .store
        .transact(vec![
            Write::put_new(Key::new("STATE#dup", "STATE").to_item()),
            outbox_items::enqueue(
                "never",
                t.app.clock.now(),
                &Message::Email(email("x@example.com")),
            ),
        ])
        .await;
    assert!(r.unwrap_err().failed_at(0));
    assert!(t
        .app
        .store
        .get(&outbox_items::outbox_key("never"))
        .await
        .unwrap()
        .is_none());
    assert!(admit_tests::pending_sends(&t.app).await.is_empty());
}
admit_tests::both_backends!(a_failed_transaction_queues_nothing);

/// A mailer in front of the test's own (files or SES on the emulator) that records what it
/// sent, can be slow, and can "crash" right after sending: it signals and never returns, as a
/// dispatcher killed between the provider's acceptance and marking the message sent.
struct Recorder {
    inner: Arc<dyn Mailer>,
    delay: Duration,
    hang_after_send: bool,
    sent_signal: tokio::sync::Notify,
    sent: Mutex<Vec<Email>>,
}

impl Recorder {
    fn new(inner: Arc<dyn Mailer>, delay: Duration, hang_after_send: bool) -> Arc<Recorder> {
        Arc::new(Recorder {
            inner,
            delay,
            hang_after_send,
            sent_signal: tokio::sync::Notify::new(),
            sent: Mutex::new(Vec::new()),
        })
    }

    fn sent(&self) -> Vec<Email> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Mailer for Recorder {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        tokio::time::sleep(self.delay).await;
        let id = self.inner.send(email).await?;
        self.sent.lock().unwrap().push(email.clone());
        if self.hang_after_send {
            self.sent_signal.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(id)
    }
}

const REP: (&str, &str) = ("rep@outbox.test", "Rep-pass-2026");

/// A company whose rep invites `email`; returns the invitation email's outbox id.
async fn invited(app: &App, email: &str) -> String {
    let c = provision::create_company(app, "Acme")
        .await
        .unwrap()
        .company_id;
    let rep = NewUser {
        email: REP.0,
        password: REP.1,
        first_name: "Rita",
        last_name: "Rep",
        membership: Some((c, Role::Rep)),
    };
    provision::create_user(app, rep).await.unwrap();
    let token = auth_token(app, REP.0, REP.1).await;
    let body = json!({"companyId": c, "contact": {"firstname": "Ivy", "lastname": "Invitee", "email1": email}});
    let req = gateway_request(
        "POST",
        "/rest/user/miinvite",
        &[("x-nextinteract-authtoken", &token)],
        Some(&body.to_string()),
    );
    let (code, answer) = read_as(
        "invite_mi_user",
        admit_functions::invite_mi_user::handler(app, req).await,
    );
    assert_eq!(code, 200, "{answer}");
    // The events of the setup and the invitation go out first: the invitation's email is
    // then the one message a dispatcher has to send.
    for m in outbox::pending(app).await.unwrap() {
        if m.kind.as_deref() == Some("event") {
            assert_eq!(
                outbox::deliver(app, &m.outbox_id).await.unwrap(),
                Outcome::Delivered
            );
        }
    }
    let pending = admit_tests::pending_sends(app).await;
    assert_eq!(pending.len(), 1);
    pending[0].outbox_id.clone()
}

/// The invitation token in an email's link.
fn token_in(email: &Email) -> String {
    let rest = email.text.split("accept?token=").nth(1).expect("a link");
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

async fn preview(app: &App, token: &str) -> u16 {
    use lambda_http::RequestExt;
    let req = gateway_request("GET", "/rest/user/miinvite/accept", &[], None)
        .with_query_string_parameters(std::collections::HashMap::from([(
            "token".to_string(),
            token.to_string(),
        )]));
    read_as(
        "get_mi_invitation",
        admit_functions::get_mi_invitation::handler(app, req).await,
    )
    .0
}

async fn accept(app: &App, token: &str) -> (u16, Value) {
    let body = json!({"token": token, "password": "Accept3d-pass"}).to_string();
    let req = gateway_request("POST", "/rest/user/miinvite/accept", &[], Some(&body));
    read_as(
        "accept_mi_invitation",
        admit_functions::accept_mi_invitation::handler(app, req).await,
    )
}

fn random_address() -> String {
    format!(
        "{}@example.com",
        &admit_shared::domain::secrets::random_hex_id()[..12]
    )
}

/// Emails SES accepted (answered with a message id) for `to` from this test's app.
fn ses_sent_to(t: &TestApp, to: &str) -> usize {
    t.mail().iter().filter(|m| m.to == to).count()
}

async fn racing_dispatchers(backend: Backend) {
    let t = TestApp::new(backend).await;
    let to = random_address();
    let id = invited(&t.app, &to).await;
    // A slow provider: both dispatchers are inside a delivery at the same time.
    let rec = Recorder::new(t.app.mailer.clone(), Duration::from_millis(300), false);
    let app = App {
        mailer: rec.clone(),
        ..t.app.clone()
    };
    let (a, b) = tokio::join!(outbox::deliver(&app, &id), outbox::deliver(&app, &id));
    let (a, b) = (a.unwrap(), b.unwrap());
    let delivered = [&a, &b]
        .iter()
        .filter(|o| ***o == Outcome::Delivered)
        .count();
    assert_eq!(delivered, 1, "one delivery: {a:?}, {b:?}");
    assert!(
        [&a, &b]
            .iter()
            .any(|o| matches!(o, Outcome::Busy | Outcome::AlreadyDone)),
        "the other one left it alone: {a:?}, {b:?}"
    );
    let sent = rec.sent();
    assert_eq!(sent.len(), 1, "sent once");
    if backend == Backend::Emulator {
        assert_eq!(ses_sent_to(&t, &to), 1, "SES got one email");
    }
    assert_eq!(status(&app, &id).await["status"], json!("sent"));
    assert_eq!(preview(&app, &token_in(&sent[0])).await, 200);
    // A late duplicate (a retried stream record) sends nothing.
    assert_eq!(
        outbox::deliver(&app, &id).await.unwrap(),
        Outcome::AlreadyDone
    );
    assert_eq!(rec.sent().len(), 1);
}

admit_tests::both_backends!(two_dispatchers_racing_send_once, racing_dispatchers);

async fn crash_after_sending(backend: Backend) {
    let t = TestApp::new(backend).await;
    let to = random_address();
    let id = invited(&t.app, &to).await;
    let crashing = Recorder::new(t.app.mailer.clone(), Duration::ZERO, true);
    let crash_app = App {
        mailer: crashing.clone(),
        ..t.app.clone()
    };
    // The provider accepts the email; the dispatcher dies before marking it sent.
    tokio::select! {
        r = outbox::deliver(&crash_app, &id) => panic!("the delivery was to hang: {r:?}"),
        _ = crashing.sent_signal.notified() => {}
    }
    let first = token_in(&crashing.sent()[0]);
    let s = status(&t.app, &id).await;
    assert_eq!(s["status"], json!("pending"));
    assert!(s["leaseUntil"].as_i64().is_some(), "{s}");

    // While the dead dispatcher's lease lasts, nobody else sends it.
    let rec = Recorder::new(t.app.mailer.clone(), Duration::ZERO, false);
    let app = App {
        mailer: rec.clone(),
        ..t.app.clone()
    };
    assert_eq!(outbox::deliver(&app, &id).await.unwrap(), Outcome::Busy);
    let sweep = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
    assert_eq!(
        admit_functions::dispatch_outbox::handler(&app, sweep.clone()).await,
        json!({"delivered": 0})
    );
    // Once it ends, the sweep takes the message over and sends it again (at least once).
    t.clock
        .advance(outbox::LEASE + chrono::Duration::seconds(1));
    assert_eq!(
        admit_functions::dispatch_outbox::handler(&app, sweep).await,
        json!({"delivered": 1})
    );
    let second = token_in(&rec.sent()[0]);
    assert_ne!(first, second);
    if backend == Backend::Emulator {
        assert_eq!(ses_sent_to(&t, &to), 2);
    }
    // Both deliveries carry the outbox message's id (SES keeps this header; it replaces
    // Message-ID), so a mail filter or an archive can keep one.
    let ids: Vec<String> = t
        .raw_mail()
        .iter()
        .filter(|raw| admit_tests::parse_mail(raw).to == to)
        .filter_map(|raw| {
            raw.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("x-admit-message-id:"))
                .map(|l| l["x-admit-message-id:".len()..].trim().to_string())
        })
        .collect();
    assert_eq!(ids, [id.clone(), id.clone()]);
    // Both links of the one message work; the first accepts the invitation, once.
    assert_eq!(
        preview(&app, &first).await,
        200,
        "the first link survives the re-send"
    );
    assert_eq!(preview(&app, &second).await, 200);
    let (code, body) = accept(&app, &first).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(preview(&app, &second).await, 404);
    assert_eq!(accept(&app, &second).await.0, 404);
}

admit_tests::both_backends!(
    a_crash_after_sending_keeps_the_first_link,
    crash_after_sending
);

async fn sweep_grace(backend: Backend) {
    let t = TestApp::new(backend).await;
    queue(&t.app, "g1", &Message::Email(email(&random_address()))).await;
    let sweep = json!({"source": "aws.events"});
    // Fresh: the stream is delivering it; the sweep leaves it alone.
    assert_eq!(
        admit_functions::dispatch_outbox::handler(&t.app, sweep.clone()).await,
        json!({"delivered": 0})
    );
    assert_eq!(status(&t.app, "g1").await["status"], json!("pending"));
    t.clock
        .advance(outbox::SWEEP_GRACE + chrono::Duration::seconds(1));
    assert_eq!(
        admit_functions::dispatch_outbox::handler(&t.app, sweep).await,
        json!({"delivered": 1})
    );
    assert_eq!(status(&t.app, "g1").await["status"], json!("sent"));
}

admit_tests::both_backends!(the_sweep_leaves_fresh_messages_to_the_stream, sweep_grace);

/// A stand-in for SES or SNS that answers every call with one error code, as AWS's query
/// protocol does; returns its URL and the code to answer with.
fn failing_provider() -> (String, Arc<Mutex<String>>) {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let code = Arc::new(Mutex::new(String::from("AccessDenied")));
    let answer = code.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            admit_tests::read_http_request(&mut stream);
            let code = answer.lock().unwrap().clone();
            let xml = format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
            );
            let resp = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
            let _ = stream.write_all(resp.as_bytes());
        }
    });
    (url, code)
}

async fn sdk_at(url: &str) -> aws_config::SdkConfig {
    let creds = aws_sdk_ses::config::Credentials::new("test", "test", None, None, "admit-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

async fn unknown_provider_errors_are_retried_only_known_ones_fail_a_message(backend: Backend) {
    let (url, code) = failing_provider();
    let sdk = sdk_at(&url).await;
    let ses = SesMailer::new(aws_sdk_ses::Client::new(&sdk), "no-reply@admit.test");
    let sns = SnsPusher::new(aws_sdk_sns::Client::new(&sdk), None, None);
    let push = PushMessage {
        endpoint: "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/app/1".into(),
        title: "T".into(),
        body: "B".into(),
        data: Default::default(),
    };
    let cases: &[(&str, bool)] = &[
        ("AccessDenied", false),
        ("AccountSendingPausedException", false),
        ("ExpiredToken", false),
        ("RequestTimeTooSkewed", false),
        ("MailFromDomainNotVerifiedException", false),
        ("SomethingNobodyKnows", false),
        ("MessageRejected", true),
    ];
    for (c, permanent) in cases {
        *code.lock().unwrap() = c.to_string();
        let e = ses.send(&email("a@example.com")).await.unwrap_err();
        assert_eq!(
            matches!(e, DeliveryError::Permanent(_)),
            *permanent,
            "SES {c}: {e}"
        );
        assert!(e.to_string().contains(c), "{e}");
    }
    let cases: &[(&str, bool)] = &[
        ("AuthorizationError", false),
        ("PlatformApplicationDisabled", false),
        ("KMSAccessDenied", false),
        ("EndpointDisabled", true),
        ("InvalidParameter", true),
    ];
    for (c, permanent) in cases {
        *code.lock().unwrap() = c.to_string();
        let e = sns.send(&push).await.unwrap_err();
        assert_eq!(
            matches!(e, DeliveryError::Permanent(_)),
            *permanent,
            "SNS {c}: {e}"
        );
    }

    // Through the dispatcher: an unknown error keeps the message pending, body and all; only
    // running out of attempts fails it, and then it keeps its body too.
    *code.lock().unwrap() = "AccessDenied".into();
    let t = TestApp::new(backend).await;
    let app = App {
        mailer: Arc::new(ses),
        ..t.app.clone()
    };
    queue(&app, "u1", &Message::Email(email("a@example.com"))).await;
    assert_eq!(outbox::deliver(&app, "u1").await.unwrap(), Outcome::Retry);
    let s = status(&app, "u1").await;
    assert_eq!(
        (s["status"].clone(), s["attempts"].clone()),
        (json!("pending"), json!(1))
    );
    assert!(s["lastError"].as_str().unwrap().contains("AccessDenied"));
    assert!(s.get("message").is_some());
    assert!(s.get("leaseUntil").is_none(), "released for the next try");
    app.store
        .update(
            &outbox_items::outbox_key("u1"),
            Update::new().set("attempts", outbox::MAX_ATTEMPTS - 1),
            None,
        )
        .await
        .unwrap();
    assert_eq!(outbox::deliver(&app, "u1").await.unwrap(), Outcome::Failed);
    let s = status(&app, "u1").await;
    assert_eq!(s["status"], json!("failed"));
    assert_eq!(s["attempts"], json!(outbox::MAX_ATTEMPTS));
    assert_eq!(s["message"]["text"], json!("Hello,\nwelcome."));
}
admit_tests::both_backends!(unknown_provider_errors_are_retried_only_known_ones_fail_a_message);

/// A mailer that rejects every address, as SES does for one on the suppression list.
async fn rejecting_mailer(backend: Backend) -> Arc<dyn Mailer> {
    match backend {
        Backend::Embedded => Arc::new(Flaky {
            fail: usize::MAX,
            calls: AtomicUsize::new(0),
            permanent: true,
        }),
        // The emulator's SES rejects a sender that is not verified: MessageRejected.
        Backend::Emulator => Arc::new(SesMailer::new(
            aws_sdk_ses::Client::new(&emulator_sdk().await),
            format!("unverified-{}", random_address()),
        )),
    }
}

async fn list_and_replay(backend: Backend) {
    let t = TestApp::new(backend).await;
    let app = App {
        mailer: rejecting_mailer(backend).await,
        ..t.app.clone()
    };
    for id in ["f1", "f2", "f3"] {
        queue(&app, id, &Message::Email(email(&random_address()))).await;
        t.clock.advance(chrono::Duration::seconds(1));
    }
    queue(&app, "p1", &Message::Email(email(&random_address()))).await;
    for id in ["f1", "f2", "f3"] {
        assert_eq!(outbox::deliver(&app, id).await.unwrap(), Outcome::Failed);
    }
    let s = status(&app, "f1").await;
    assert!(
        s["lastError"].as_str().unwrap().contains("MessageRejected"),
        "{s}"
    );
    assert!(
        s.get("message").is_some(),
        "failed messages keep their body"
    );

    let ids = |items: Vec<outbox_items::OutboxItem>| -> Vec<String> {
        items.into_iter().map(|i| i.outbox_id).collect()
    };
    let failed = outbox::list(&app, Some(Listed::Failed), 100).await.unwrap();
    assert_eq!(ids(failed.clone()), ["f1", "f2", "f3"]);
    let line = outbox::summary(&failed[0]);
    assert_eq!(line["kind"], json!("email"));
    assert_eq!(line["status"], json!("failed"));
    assert_eq!(line["attempts"], json!(1));
    assert!(line["createdAt"].is_string());
    assert!(line.get("message").is_none());
    assert!(
        !line.to_string().contains("welcome"),
        "never a body: {line}"
    );
    assert_eq!(
        ids(outbox::list(&app, Some(Listed::Failed), 2).await.unwrap()),
        ["f1", "f2"]
    );
    assert_eq!(
        ids(outbox::list(&app, Some(Listed::Pending), 100)
            .await
            .unwrap()),
        ["p1"]
    );
    assert_eq!(
        ids(outbox::list(&app, None, 100).await.unwrap()),
        ["f1", "f2", "f3", "p1"]
    );

    // Replay: only failed messages, back to pending with a fresh count of attempts.
    assert_eq!(outbox::replay(&app, "f1").await.unwrap(), Ok(()));
    let s = status(&app, "f1").await;
    assert_eq!(
        (s["status"].clone(), s["attempts"].clone()),
        (json!("pending"), json!(0))
    );
    assert_eq!(
        outbox::replay(&app, "f1").await.unwrap(),
        Err(NotReplayed::NotFailed("pending".into()))
    );
    assert_eq!(
        outbox::replay(&app, "p1").await.unwrap(),
        Err(NotReplayed::NotFailed("pending".into()))
    );
    assert_eq!(
        outbox::replay(&app, "nope").await.unwrap(),
        Err(NotReplayed::NotFound)
    );
    assert_eq!(
        ids(outbox::list(&app, Some(Listed::Failed), 100).await.unwrap()),
        ["f2", "f3"]
    );
    // The dispatcher (here the test app's working mailer) sends the replayed message.
    assert_eq!(
        outbox::deliver(&t.app, "f1").await.unwrap(),
        Outcome::Delivered
    );
    let s = status(&app, "f1").await;
    assert_eq!(s["status"], json!("sent"));
    assert!(s.get("message").is_none(), "a sent message loses its body");
    assert_eq!(
        ids(outbox::list(&app, Some(Listed::Sent), 100).await.unwrap()),
        ["f1"]
    );
    assert_eq!(
        outbox::replay(&app, "f1").await.unwrap(),
        Err(NotReplayed::NotFailed("sent".into()))
    );
    // Every failed message at once; the sweep sends them (they are not fresh).
    let mut replayed = outbox::replay_all_failed(&app).await.unwrap();
    replayed.sort();
    assert_eq!(replayed, ["f2", "f3"]);
    assert!(outbox::list(&app, Some(Listed::Failed), 100)
        .await
        .unwrap()
        .is_empty());
    t.clock
        .advance(outbox::SWEEP_GRACE + chrono::Duration::seconds(1));
    assert_eq!(
        admit_functions::dispatch_outbox::handler(&t.app, json!({"source": "aws.events"})).await,
        json!({"delivered": 3})
    );
    assert_eq!(
        ids(outbox::list(&app, Some(Listed::Sent), 2).await.unwrap()).len(),
        2
    );
    assert_eq!(
        outbox::list(&app, Some(Listed::Sent), 100)
            .await
            .unwrap()
            .len(),
        4
    );
}

admit_tests::both_backends!(failed_messages_are_listed_and_replayed, list_and_replay);
