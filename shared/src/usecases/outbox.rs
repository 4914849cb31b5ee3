//! The outbox dispatcher: use cases never call SES or SNS inside a request. They add an outbox
//! message to the same transaction as the state change (`records::outbox`); the
//! `dispatch_outbox` function (DynamoDB Streams in the cloud, plus a scheduled sweep; an
//! in-process loop under `admit serve`) delivers it through `Mailer` or `Pusher`, retrying
//! transient failures, so an SES or SNS outage loses nothing.
//!
//! **Claims.** A delivery first claims the message: one conditional update sets a random
//! `claimId` and `leaseUntil = now + LEASE`, and succeeds only if the message is pending and
//! no live lease exists. So the stream trigger, the sweep and a retried stream batch never
//! send one message at the same time: the loser gets `Outcome::Busy` and leaves it alone.
//! Every later write of the delivery (attempt counted, sent, failed) is conditional on the
//! same `claimId`. `LEASE` outlasts the function's timeout (60 s), so a lease only expires once
//! its holder is finished or dead; an expired lease is taken over by the next delivery.
//!
//! **At least once.** A crash after the provider accepted a message but before it is marked
//! sent (or a timeout that hid an acceptance) means it is sent again once the lease ends.
//! Delivery is at least once; the claim makes duplicates need a crash, not just a race.
//!
//! **Invitation links across re-sends.** An invitation email's token is issued when it is
//! sent, and only its SHA-256 is stored. A re-send of the same outbox message cannot rebuild
//! the earlier raw token, so it issues another one *for the same message* and keeps the
//! earlier ones live: the invitation records the outbox id its tokens belong to
//! (`tokenOutboxId`), each token's lookup item records the outbox id it was issued for, and a
//! token opens the invitation if it is the latest or belongs to that same message. A token
//! for another (newer) message revokes the previous one, as before. We chose this over
//! deriving the token from a server-side secret and the outbox id: that needs a new secret
//! to provision, rotate and keep out of the table on every stage (and locally), while this
//! keeps the rule "tokens exist only as hashes" with no key management. The cost is that a
//! re-sent invitation has two working links (either accepts it, once); tokens issued for an
//! attempt that never reached the provider are live but exist nowhere in clear.
//!
//! **Errors.** Only errors known to be permanent for *that message* (a rejected address, a
//! disabled endpoint) fail it at once; everything else, including errors the classifier does
//! not know, is transient and retried up to `MAX_ATTEMPTS` deliveries. A failed message keeps
//! its body (only a sent one loses it) so an operator can list and replay it (`list`,
//! `replay`).
//!
//! **Sweep.** The scheduled sweep leaves messages younger than `SWEEP_GRACE` to the stream,
//! which is already delivering them; it catches what the stream gave up on, what a crashed
//! delivery left behind and what an operator replayed (a replay is not an insert, so the
//! stream does not see it).

use crate::app::App;
use crate::domain::secrets::random_hex_id;
use crate::ports::mail::DeliveryError;
use crate::ports::store::StoreError;
pub use crate::records::outbox::NotReplayed;
use crate::records::outbox::{self, Claim, End, Message, OutboxItem};
use crate::usecases::{invitations, password_reset, verification};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::time::Duration;

/// Delivery attempts (each with its own in-call retries) before a message is marked failed.
pub const MAX_ATTEMPTS: i64 = 20;
/// How long a claim holds a message: longer than `dispatch_outbox`'s timeout (60 s), so the
/// holder is done or dead before anyone else may take it.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(120);
/// Messages younger than this are left to the stream by the scheduled sweep.
pub const SWEEP_GRACE: chrono::Duration = chrono::Duration::seconds(120);

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Already delivered, failed or skipped (a duplicate stream record, a second dispatcher).
    AlreadyDone,
    /// Another delivery holds the message's lease: it is being sent (or its holder died, and
    /// the sweep takes it over once the lease ends).
    Busy,
    /// Failed for good (rejected address, disabled endpoint, or out of attempts): recorded
    /// with its body, not retried until an operator replays it.
    Failed,
    /// Failed for now; the message stays pending and will be retried.
    Retry,
    /// Scheduled for later (an event of something that runs out): left pending for the sweep
    /// that runs once it is due.
    NotDue,
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
        Message::Event(e) => app
            .events
            .publish(std::slice::from_ref(e))
            .await
            .pop()
            .unwrap_or_else(|| Err(DeliveryError::Transient("no answer".into()))),
        // All or again: a retry publishes those that went out too, under the same ids
        // (consumers deduplicate by id).
        Message::Events { events } => {
            let answers = app.events.publish(events).await;
            let mut ids = Vec::with_capacity(answers.len());
            let mut failure = None;
            for a in answers {
                match a {
                    Ok(id) => ids.push(id),
                    Err(e @ DeliveryError::Transient(_)) => failure = Some(e),
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            match failure {
                Some(e) => Err(e),
                None => Ok(ids.join(",")),
            }
        }
        Message::Invitation(_)
        | Message::Verification(_)
        | Message::PasswordReset(_)
        | Message::InvitationsExpire(_) => {
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

/// One delivery of one message: the claim it holds.
struct Delivery<'a> {
    app: &'a App,
    item: OutboxItem,
    claim_id: String,
}

impl Delivery<'_> {
    fn id(&self) -> &str {
        &self.item.outbox_id
    }

    /// Ends the delivery; a lost claim (a delivery that outlived its lease) changes nothing.
    async fn finish(&self, end: End<'_>) -> Result<(), StoreError> {
        let store = self.app.store.as_ref();
        let now = self.app.clock.now();
        if !outbox::finish(store, &self.item, &self.claim_id, end, now).await? {
            tracing::warn!(outbox_id = self.id(), "outbox claim lost before finishing");
        }
        Ok(())
    }

    /// The message to send, rendered (invitations get their token now), or the outcome when
    /// there is nothing to send.
    async fn prepare(&self) -> Result<Result<Message, Outcome>, StoreError> {
        let id = self.id();
        let parsed = self
            .item
            .message
            .clone()
            .map(serde_json::from_value::<Message>);
        let Some(Ok(message)) = parsed else {
            tracing::error!(
                outbox_id = id,
                "outbox message is malformed; marking it failed"
            );
            let end = End::Failed {
                reason: "malformed message",
                counted: false,
            };
            self.finish(end).await?;
            return Ok(Err(Outcome::Failed));
        };
        let message = match message {
            Message::InvitationsExpire(due) => {
                let expired = invitations::expired_events(self.app, &due).await?;
                if expired.is_empty() {
                    let why_not = "no invitation still pending with that expiry";
                    tracing::info!(outbox_id = id, why_not, "nothing to send");
                    self.finish(End::Skipped(why_not)).await?;
                    return Ok(Err(Outcome::AlreadyDone));
                }
                return Ok(Ok(Message::Events { events: expired }));
            }
            other => other,
        };
        let (rendered, why_not) = match message {
            Message::Invitation(inv) => (
                invitations::issue(self.app, id, &self.item.created_at, &inv).await?,
                "invitation no longer pending",
            ),
            Message::Verification(m) => (
                verification::issue(self.app, &m).await?,
                "address already verified",
            ),
            Message::PasswordReset(m) => (
                password_reset::issue(self.app, &m).await?,
                "account gone or its address changed",
            ),
            other => return Ok(Ok(other)),
        };
        match rendered {
            Some(email) => Ok(Ok(Message::Email(email))),
            None => {
                tracing::info!(outbox_id = id, why_not, "nothing to send");
                self.finish(End::Skipped(why_not)).await?;
                Ok(Err(Outcome::AlreadyDone))
            }
        }
    }

    /// Records a failed send: permanent (or out of attempts) fails the message, keeping its
    /// body; anything else counts an attempt and releases the claim for the next try.
    async fn failed(&self, kind: &str, error: DeliveryError) -> Result<Outcome, StoreError> {
        let id = self.id();
        let attempts = self.item.attempts + 1;
        let (reason, permanent) = match error {
            DeliveryError::Permanent(r) => (r, true),
            DeliveryError::Transient(r) => (r, false),
        };
        if permanent || attempts >= MAX_ATTEMPTS {
            tracing::error!(outbox_id = id, kind, attempts, permanent, %reason, "outbox message failed; kept for replay");
            let end = End::Failed {
                reason: &reason,
                counted: true,
            };
            self.finish(end).await?;
            return Ok(Outcome::Failed);
        }
        let store = self.app.store.as_ref();
        if !outbox::retry_later(store, id, &self.claim_id, &reason).await? {
            return Ok(Outcome::AlreadyDone);
        }
        tracing::warn!(outbox_id = id, kind, attempts, %reason, "outbox delivery will be retried");
        Ok(Outcome::Retry)
    }

    async fn run(&self) -> Result<Outcome, StoreError> {
        let message = match self.prepare().await? {
            // Every delivery of one message carries its id (a crash before the bookkeeping
            // sends it again: the recipient's mail system sees the same message).
            Ok(Message::Email(mut email)) => {
                email.message_id = Some(self.id().to_string());
                Message::Email(email)
            }
            Ok(m) => m,
            Err(outcome) => return Ok(outcome),
        };
        let kind = message.kind();
        match send_with_retries(self.app, &message).await {
            Ok(provider_id) => {
                self.finish(End::Sent).await?;
                tracing::info!(outbox_id = self.id(), kind, provider_id = %provider_id, "outbox message delivered");
                Ok(Outcome::Delivered)
            }
            Err(e) => self.failed(kind, e).await,
        }
    }
}

/// Delivers the outbox message `id` if it is pending and nobody else holds it.
pub async fn deliver(app: &App, id: &str) -> Result<Outcome, DispatchError> {
    let claim_id = random_hex_id();
    let store = app.store.as_ref();
    let now = app.clock.now();
    let item = match outbox::claim(store, id, &claim_id, now, LEASE).await? {
        Claim::Held(item) => *item,
        Claim::Busy => return Ok(Outcome::Busy),
        Claim::Done => return Ok(Outcome::AlreadyDone),
    };
    if crate::domain::time::parse(&item.created_at).is_some_and(|due| due > now) {
        outbox::release(store, id, &claim_id).await?;
        return Ok(Outcome::NotDue);
    }
    let delivery = Delivery {
        app,
        item,
        claim_id,
    };
    match delivery.run().await {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // Give the message back at once so a retry need not wait for the lease to end.
            if let Err(release) = outbox::release(store, id, &delivery.claim_id).await {
                tracing::warn!(outbox_id = id, error = %release, "outbox claim not released");
            }
            Err(e.into())
        }
    }
}

/// Delivers up to `limit` pending messages, oldest first, with `before` only those queued
/// before it. Returns how many were delivered.
async fn deliver_pending(
    app: &App,
    limit: usize,
    before: Option<DateTime<Utc>>,
) -> Result<usize, DispatchError> {
    let mut delivered = 0;
    for item in outbox::pending(app.store.as_ref(), Some(limit), before).await? {
        if deliver(app, &item.outbox_id).await? == Outcome::Delivered {
            delivered += 1;
        }
    }
    Ok(delivered)
}

/// Delivers up to `limit` pending messages, oldest first, however young (the local loop of
/// `admit serve`, the only dispatcher there). Returns how many were delivered.
pub async fn dispatch_pending(app: &App, limit: usize) -> Result<usize, DispatchError> {
    // What is due by now (a scheduled message waits; `deliver` checks to the millisecond).
    let due = app.clock.now() + chrono::Duration::seconds(1);
    deliver_pending(app, limit, Some(due)).await
}

/// The scheduled sweep: delivers up to `limit` pending messages older than `SWEEP_GRACE`,
/// oldest first (younger ones are the stream's). Returns how many were delivered.
pub async fn sweep(app: &App, limit: usize) -> Result<usize, DispatchError> {
    deliver_pending(app, limit, Some(app.clock.now() - SWEEP_GRACE)).await
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
/// first record that must be retried (and so every later one) as a batch item failure. A
/// message another delivery holds is not retried here: its holder finishes it, or the sweep
/// takes it over once the lease ends.
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
    outbox::pending(app.store.as_ref(), None, None).await
}

/// Which messages `list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    Pending,
    Failed,
    Sent,
    Skipped,
}

/// What an operator sees of a message: never its body, which may hold a single-use link.
pub fn summary(item: &OutboxItem) -> Value {
    let mut v = json!({
        "id": item.outbox_id,
        "kind": item.kind(),
        "status": item.status,
        "attempts": item.attempts,
        "lastError": item.last_error,
        "createdAt": item.created_at,
    });
    if let (Some(at), Some(fields)) = (&item.finished_at, v.as_object_mut()) {
        fields.insert("finishedAt".into(), json!(at));
    }
    v
}

/// Up to `limit` messages with the status asked for (all when `None`: failed, then pending,
/// oldest first, then sent and skipped, newest first, from the last `KEEP_DAYS` days).
pub async fn list(
    app: &App,
    status: Option<Listed>,
    limit: usize,
) -> Result<Vec<OutboxItem>, StoreError> {
    let store = app.store.as_ref();
    let now = app.clock.now();
    Ok(match status {
        Some(Listed::Failed) => outbox::failed(store, Some(limit)).await?,
        Some(Listed::Pending) => outbox::pending(store, Some(limit), None).await?,
        Some(Listed::Sent) => outbox::done(store, now, Some("sent"), limit).await?,
        Some(Listed::Skipped) => outbox::done(store, now, Some("skipped"), limit).await?,
        None => {
            let mut all = outbox::failed(store, Some(limit)).await?;
            all.extend(outbox::pending(store, Some(limit - all.len()), None).await?);
            all.extend(outbox::done(store, now, None, limit - all.len()).await?);
            all
        }
    })
}

/// Moves a failed message back to pending, so the dispatcher sends it (the sweep in the
/// cloud, the loop of `admit serve` locally). Anything not failed is refused.
pub async fn replay(app: &App, id: &str) -> Result<Result<(), NotReplayed>, StoreError> {
    let done = outbox::replay(app.store.as_ref(), id, app.clock.now()).await?;
    if done.is_ok() {
        tracing::info!(outbox_id = id, "failed outbox message replayed");
    }
    Ok(done)
}

/// Replays every failed message; returns the ids replayed.
pub async fn replay_all_failed(app: &App) -> Result<Vec<String>, StoreError> {
    let mut replayed = Vec::new();
    for item in outbox::failed(app.store.as_ref(), None).await? {
        if replay(app, &item.outbox_id).await?.is_ok() {
            replayed.push(item.outbox_id);
        }
    }
    Ok(replayed)
}
