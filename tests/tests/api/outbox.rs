//! The outbox: messages committed with the state change, delivered by the dispatcher through
//! the local files, SES and SNS on the emulator; failures keep the message pending.

use admit_shared::ports::mail::{DeliveryError, Email, Mailer};
use admit_shared::ports::push::{Platform, PushMessage};
use admit_shared::ports::store::{Key, Write};
use admit_shared::records::outbox::{self as outbox_items, Message};
use admit_shared::usecases::outbox;
use admit_shared::App;
use admit_tests::{emulator_data, Backend, TestApp};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn email(to: &str) -> Email {
    Email {
        to: to.into(),
        subject: "Welcome to admit".into(),
        text: "Hello,\nwelcome.".into(),
    }
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
    assert_eq!(outbox::pending(&t.app).await.unwrap().len(), 1);
    assert_eq!(outbox::dispatch_pending(&t.app, 10).await.unwrap(), 1);
    let files: Vec<_> = std::fs::read_dir(t.dir.join("mail"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(eml.contains("To: jane.mead@acmepaymentscorp.com\r\n"));
    assert!(eml.contains("Subject: Welcome to admit\r\n"));
    assert!(eml.contains("Hello,\r\nwelcome."));
    let s = status(&t.app, "m1").await;
    assert_eq!(s["status"], json!("sent"));
    assert!(
        s.get("message").is_none(),
        "the body is dropped once delivered"
    );
    assert!(outbox::pending(&t.app).await.unwrap().is_empty());
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
    let out = dispatch_outbox::handler(&t.app, event).await;
    assert_eq!(out, json!({"batchItemFailures": []}));

    let data = emulator_data();
    let sent: Vec<&Value> = data["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == json!(to))
        .collect();
    assert_eq!(sent.len(), 1, "one email to {to}");
    assert_eq!(sent[0]["subject"], json!("Welcome to admit"));
    assert_eq!(sent[0]["source"], json!("no-reply@admit.test"));
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

#[tokio::test]
async fn an_outage_loses_nothing() {
    let t = TestApp::new(Backend::Embedded).await;
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
        dispatch_outbox::handler(&app, event.clone()).await,
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
    assert_eq!(outbox::pending(&app).await.unwrap().len(), 2);
    // The stream retries the batch once SES is back: everything is delivered, once.
    assert_eq!(
        dispatch_outbox::handler(&app, event).await,
        json!({"batchItemFailures": []})
    );
    assert_eq!(status(&app, "o1").await["status"], json!("sent"));
    assert_eq!(status(&app, "o2").await["status"], json!("sent"));
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 5 + 2);
    // The scheduled sweep finds nothing left.
    assert_eq!(
        dispatch_outbox::handler(&app, json!({"source": "aws.events"})).await,
        json!({"delivered": 0})
    );
}

#[tokio::test]
async fn a_rejected_address_is_recorded_not_retried_forever() {
    let t = TestApp::new(Backend::Embedded).await;
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
    assert!(outbox::pending(&app).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_transaction_queues_nothing() {
    let t = TestApp::new(Backend::Embedded).await;
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
    assert!(outbox::pending(&t.app).await.unwrap().is_empty());
}
