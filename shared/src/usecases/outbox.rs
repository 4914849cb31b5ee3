//! The outbox dispatcher: use cases never call SES or SNS inside a request. They add an outbox
//! message to the same transaction as the state change (`records::outbox`); the
//! `dispatch_outbox` function (DynamoDB Streams in the cloud, an in-process loop under
//! `admit serve`) delivers it through `Mailer` or `Pusher`, retrying transient failures, so an
//! SES or SNS outage loses nothing. Delivery is at least once; a delivered message keeps only
//! its metadata (the body, which may hold a single-use link, is removed).

use crate::app::App;
use crate::ports::mail::DeliveryError;
use crate::ports::store::StoreError;
use crate::records::outbox::{self, Message, OutboxItem};
use crate::usecases::{invitations, password_reset, verification};
use serde_json::{json, Value};
use std::time::Duration;

/// Delivery attempts (each with its own in-call retries) before a message is marked failed.
pub const MAX_ATTEMPTS: i64 = 20;

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
        Message::Invitation(_) | Message::Verification(_) | Message::PasswordReset(_) => {
            Err(DeliveryError::Permanent("message not rendered".into()))
        }
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

async fn finish(app: &App, id: &str, status: &str, error: Option<&str>) -> Result<(), StoreError> {
    outbox::finish(app.store.as_ref(), id, status, error, app.clock.now()).await
}

/// The message to send, rendered (invitations get their token now), or the outcome when there
/// is nothing to send.
async fn prepare(app: &App, item: OutboxItem) -> Result<Result<Message, Outcome>, DispatchError> {
    let id = item.outbox_id.as_str();
    if item.status != "pending" {
        return Ok(Err(Outcome::AlreadyDone));
    }
    let Some(Ok(message)) = item.message.map(serde_json::from_value::<Message>) else {
        tracing::error!(
            outbox_id = id,
            "outbox message is malformed; marking it failed"
        );
        finish(app, id, "failed", Some("malformed message")).await?;
        return Ok(Err(Outcome::Failed));
    };
    match message {
        Message::Invitation(inv) => match invitations::issue(app, &inv).await? {
            Some(email) => Ok(Ok(Message::Email(email))),
            None => {
                tracing::info!(outbox_id = id, "invitation no longer pending; not sent");
                finish(app, id, "skipped", Some("invitation no longer pending")).await?;
                Ok(Err(Outcome::AlreadyDone))
            }
        },
        Message::Verification(m) => rendered(app, id, verification::issue(app, &m).await?).await,
        Message::PasswordReset(m) => rendered(app, id, password_reset::issue(app, &m).await?).await,
        m => Ok(Ok(m)),
    }
}

/// A rendered email, or the outcome when there was nothing to send.
async fn rendered(
    app: &App,
    id: &str,
    email: Option<crate::ports::mail::Email>,
) -> Result<Result<Message, Outcome>, DispatchError> {
    match email {
        Some(e) => Ok(Ok(Message::Email(e))),
        None => {
            tracing::info!(outbox_id = id, "nothing left to prove; not sent");
            finish(app, id, "skipped", Some("no longer needed")).await?;
            Ok(Err(Outcome::AlreadyDone))
        }
    }
}

/// Delivers the outbox message `id` if it is still pending.
pub async fn deliver(app: &App, id: &str) -> Result<Outcome, DispatchError> {
    let Some(item) = outbox::find(app.store.as_ref(), id).await? else {
        return Ok(Outcome::AlreadyDone);
    };
    let message = match prepare(app, item).await? {
        Ok(m) => m,
        Err(outcome) => return Ok(outcome),
    };
    let kind = message.kind();
    match send_with_retries(app, &message).await {
        Ok(provider_id) => {
            finish(app, id, "sent", None).await?;
            tracing::info!(outbox_id = id, kind, provider_id = %provider_id, "outbox message delivered");
            Ok(Outcome::Delivered)
        }
        Err(DeliveryError::Permanent(reason)) => {
            tracing::error!(outbox_id = id, kind, %reason, "outbox message failed permanently");
            finish(app, id, "failed", Some(&reason)).await?;
            Ok(Outcome::Failed)
        }
        Err(DeliveryError::Transient(reason)) => {
            let Some(attempts) = outbox::count_attempt(app.store.as_ref(), id, &reason).await?
            else {
                return Ok(Outcome::AlreadyDone);
            };
            if attempts >= MAX_ATTEMPTS {
                tracing::error!(outbox_id = id, kind, attempts, %reason, "outbox message gave up after retries");
                finish(app, id, "failed", Some(&reason)).await?;
                return Ok(Outcome::Failed);
            }
            tracing::warn!(outbox_id = id, kind, attempts, %reason, "outbox delivery will be retried");
            Ok(Outcome::Retry)
        }
    }
}

/// Delivers up to `limit` pending messages, oldest first (the local loop and the scheduled
/// sweep that catches anything the stream gave up on). Returns how many were delivered.
pub async fn dispatch_pending(app: &App, limit: usize) -> Result<usize, DispatchError> {
    let mut delivered = 0;
    for item in outbox::pending(app.store.as_ref(), Some(limit)).await? {
        if deliver(app, &item.outbox_id).await? == Outcome::Delivered {
            delivered += 1;
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
            let id = outbox::outbox_id_of(ddb.pointer("/Keys/pk/S")?.as_str()?)?;
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

/// The pending messages, oldest first (for tests and operators).
pub async fn pending(app: &App) -> Result<Vec<OutboxItem>, StoreError> {
    outbox::pending(app.store.as_ref(), None).await
}
