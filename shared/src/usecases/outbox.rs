//! The outbox: use cases never call SES or SNS inside a request. They add an outbox message to
//! the same transaction as the state change; the `dispatch_outbox` function (DynamoDB Streams in
//! the cloud, an in-process loop under `admit serve`) delivers it through `Mailer` or `Pusher`,
//! retrying transient failures, so an SES or SNS outage loses nothing. Delivery is at least
//! once; a delivered message keeps only its metadata (the body, which may hold a single-use
//! link, is removed).

use crate::app::App;
use crate::ports::mail::{DeliveryError, Email};
use crate::ports::push::PushMessage;
use crate::ports::store::{Cond, Index, Item, Key, Query, StoreError, Update, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

pub const PENDING_PARTITION: &str = "OUTBOX#PENDING";
/// Delivery attempts (each with its own in-call retries) before a message is marked failed.
pub const MAX_ATTEMPTS: i64 = 20;
/// Delivered and failed messages' metadata is kept this long.
pub const KEEP_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Message {
    Email(Email),
    Push(PushMessage),
    /// An invitation email, rendered (with a freshly issued single-use token) when it is sent.
    Invitation(crate::usecases::invite::InvitationEmail),
}

pub fn outbox_key(id: &str) -> Key {
    Key::new(format!("OUTBOX#{id}"), "OUTBOX")
}

/// The write that queues `message`; put it in the use case's transaction.
pub fn enqueue(id: &str, now: DateTime<Utc>, message: &Message) -> Write {
    let key = outbox_key(id);
    let mut item = key.to_item();
    let created = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    item.insert("outboxId".into(), json!(id));
    item.insert(
        "message".into(),
        serde_json::to_value(message).unwrap_or(Value::Null),
    );
    item.insert("status".into(), json!("pending"));
    item.insert("attempts".into(), json!(0));
    item.insert("createdAt".into(), json!(created));
    item.insert("gsi1pk".into(), json!(PENDING_PARTITION));
    item.insert("gsi1sk".into(), json!(format!("{created}#{id}")));
    item.insert(
        "ttl".into(),
        json!((now + chrono::Duration::days(KEEP_DAYS)).timestamp()),
    );
    Write::put_new(item)
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Already delivered or failed (a duplicate stream record, a second dispatcher).
    AlreadyDone,
    /// Failed for good (rejected address, disabled endpoint): recorded, not retried.
    Failed,
    /// Failed for now; the message stays pending and will be retried.
    Retry,
}

#[derive(Debug)]
pub enum DispatchError {
    Store(StoreError),
}

impl std::fmt::Display for DispatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DispatchError::Store(e) => write!(f, "outbox store failure: {e}"),
        }
    }
}

impl std::error::Error for DispatchError {}

impl From<StoreError> for DispatchError {
    fn from(e: StoreError) -> Self {
        DispatchError::Store(e)
    }
}

async fn send_once(app: &App, message: &Message) -> Result<String, DeliveryError> {
    match message {
        Message::Email(e) => app.mailer.send(e).await,
        Message::Push(p) => app.pusher.send(p).await,
        Message::Invitation(_) => Err(DeliveryError::Permanent("invitation not rendered".into())),
    }
}

/// Sends with up to three tries for transient failures (100 ms, then 400 ms apart).
async fn send_with_retries(app: &App, message: &Message) -> Result<String, DeliveryError> {
    let mut wait = Duration::from_millis(100);
    let mut last = None;
    for _ in 0..3 {
        match send_once(app, message).await {
            Ok(id) => return Ok(id),
            Err(DeliveryError::Permanent(m)) => return Err(DeliveryError::Permanent(m)),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
        }
    }
    Err(last.unwrap_or_else(|| DeliveryError::Transient("no attempt made".into())))
}

/// Delivers the outbox message `id` if it is still pending.
pub async fn deliver(app: &App, id: &str) -> Result<Outcome, DispatchError> {
    let key = outbox_key(id);
    let Some(item) = app.store.get(&key).await? else {
        return Ok(Outcome::AlreadyDone);
    };
    if item.get("status").and_then(Value::as_str) != Some("pending") {
        return Ok(Outcome::AlreadyDone);
    }
    let message: Message = match item
        .get("message")
        .cloned()
        .map(serde_json::from_value::<Message>)
    {
        Some(Ok(m)) => m,
        _ => {
            tracing::error!(
                outbox_id = id,
                "outbox message is malformed; marking it failed"
            );
            finish(app, &key, "failed", Some("malformed message")).await?;
            return Ok(Outcome::Failed);
        }
    };
    let kind = match &message {
        Message::Email(_) => "email",
        Message::Push(_) => "push",
        Message::Invitation(_) => "invitation",
    };
    let message = match message {
        Message::Invitation(inv) => match crate::usecases::invite::issue(app, &inv).await? {
            Some(email) => Message::Email(email),
            None => {
                tracing::info!(outbox_id = id, "invitation no longer pending; not sent");
                finish(app, &key, "skipped", Some("invitation no longer pending")).await?;
                return Ok(Outcome::AlreadyDone);
            }
        },
        m => m,
    };
    match send_with_retries(app, &message).await {
        Ok(provider_id) => {
            finish(app, &key, "sent", None).await?;
            tracing::info!(outbox_id = id, kind, provider_id = %provider_id, "outbox message delivered");
            Ok(Outcome::Delivered)
        }
        Err(DeliveryError::Permanent(reason)) => {
            tracing::error!(outbox_id = id, kind, %reason, "outbox message failed permanently");
            finish(app, &key, "failed", Some(&reason)).await?;
            Ok(Outcome::Failed)
        }
        Err(DeliveryError::Transient(reason)) => {
            let after = app
                .store
                .update(
                    &key,
                    Update::new()
                        .add("attempts", 1)
                        .set("lastError", reason.as_str()),
                    Some(Cond::eq("status", "pending")),
                )
                .await;
            let attempts = match after {
                Ok(item) => item.get("attempts").and_then(Value::as_i64).unwrap_or(0),
                Err(e) if e.is_condition_failure() => return Ok(Outcome::AlreadyDone),
                Err(e) => return Err(e.into()),
            };
            if attempts >= MAX_ATTEMPTS {
                tracing::error!(outbox_id = id, kind, attempts, %reason, "outbox message gave up after retries");
                finish(app, &key, "failed", Some(&reason)).await?;
                return Ok(Outcome::Failed);
            }
            tracing::warn!(outbox_id = id, kind, attempts, %reason, "outbox delivery will be retried");
            Ok(Outcome::Retry)
        }
    }
}

/// Marks a message done: drops the body and leaves the pending index.
async fn finish(app: &App, key: &Key, status: &str, error: Option<&str>) -> Result<(), StoreError> {
    let now = app
        .clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut u = Update::new()
        .set("status", status)
        .set("finishedAt", now)
        .remove("message")
        .remove("gsi1pk")
        .remove("gsi1sk");
    if let Some(e) = error {
        u = u.set("lastError", e);
    }
    match app
        .store
        .update(key, u, Some(Cond::eq("status", "pending")))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Delivers up to `limit` pending messages, oldest first (the local loop and the scheduled
/// sweep that catches anything the stream gave up on). Returns how many were delivered.
pub async fn dispatch_pending(app: &App, limit: usize) -> Result<usize, DispatchError> {
    let page = app
        .store
        .query(&Query::partition(Index::Gsi1, PENDING_PARTITION).limit(limit))
        .await?;
    let mut delivered = 0;
    for item in page.items {
        if let Some(id) = item.get("outboxId").and_then(Value::as_str) {
            if deliver(app, id).await? == Outcome::Delivered {
                delivered += 1;
            }
        }
    }
    Ok(delivered)
}

/// One record of a DynamoDB Streams event that concerns the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    pub sequence_number: String,
    pub outbox_id: String,
}

/// The outbox inserts in a DynamoDB Streams event, in order. Other records are skipped.
pub fn outbox_records(event: &Value) -> Vec<StreamRecord> {
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        return Vec::new();
    };
    records
        .iter()
        .filter(|r| r.get("eventName").and_then(Value::as_str) == Some("INSERT"))
        .filter_map(|r| {
            let ddb = r.get("dynamodb")?;
            let pk = ddb.pointer("/Keys/pk/S")?.as_str()?;
            let id = pk.strip_prefix("OUTBOX#")?;
            Some(StreamRecord {
                sequence_number: ddb.get("SequenceNumber")?.as_str()?.to_string(),
                outbox_id: id.to_string(),
            })
        })
        .collect()
}

/// Handles one DynamoDB Streams batch: delivers each outbox insert in order and reports the
/// first record that must be retried (and so every later one) as a batch item failure.
pub async fn handle_stream_batch(app: &App, event: &Value) -> Value {
    for r in outbox_records(event) {
        let retry = match deliver(app, &r.outbox_id).await {
            Ok(Outcome::Retry) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::error!(outbox_id = %r.outbox_id, error = %e, "outbox dispatch failed");
                true
            }
        };
        if retry {
            return json!({"batchItemFailures": [{"itemIdentifier": r.sequence_number}]});
        }
    }
    json!({"batchItemFailures": []})
}

/// The pending message ids, oldest first (for tests and operators).
pub async fn pending(app: &App) -> Result<Vec<Item>, StoreError> {
    Ok(app
        .store
        .query(&Query::partition(Index::Gsi1, PENDING_PARTITION))
        .await?
        .items)
}
