//! The outbox's items: messages queued in the same transaction as the change they announce,
//! delivered later by the dispatcher (`usecases::outbox`).
//!
//! Where a message sits in gsi1 says what became of it, in one of `SHARDS` partitions its id
//! picks (every tenant's messages go through here, so no one partition takes them all):
//! - `OUTBOX#PENDING#<shard>` / `<createdAt>#<id>` while pending (oldest first: the sweep's
//!   queue, read from every shard);
//! - `OUTBOX#FAILED#<shard>` / `<createdAt>#<id>` once failed for good, with its body kept so
//!   an operator can list and replay it;
//! - `OUTBOX#DONE#<day of finishedAt>#<shard>` / `<finishedAt>#<id>` once sent or skipped
//!   (body dropped: it may hold a single-use link), per day so listing the latest reads only a
//!   few days' shards.
//!
//! A dispatcher sends a pending message only while it holds its claim: `claimId` (random,
//! per delivery) and `leaseUntil` (epoch milliseconds). Claiming is one conditional update
//! that succeeds only when no live lease exists, so two dispatchers never hold one message at
//! once; every later step (count an attempt, mark sent or failed) is conditional on the same
//! `claimId`, so a dispatcher that outlived its lease changes nothing.

use super::keyed_item;
use crate::domain::{EmailAddress, Id};
use crate::ports::mail::Email;
use crate::ports::push::PushMessage;
use crate::ports::store::{
    Cond, Index, Item, Key, Query, SortKey, Store, StoreError, Update, Write,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How many partitions each of the outbox's index states is spread over. At the target peak
/// (docs/scale.md) the pending shards take about 27,000 write units a second together, so 128
/// keep each near 200, well under a partition's 1,000.
pub const SHARDS: u32 = 128;

/// The shard of message `id`, so every write of one message lands in the same shard of each
/// state.
pub fn shard_of(id: &str) -> u32 {
    super::shard(id, SHARDS)
}

fn pending_partition(id: &str) -> String {
    format!("OUTBOX#PENDING#{:03}", shard_of(id))
}

fn failed_partition(id: &str) -> String {
    format!("OUTBOX#FAILED#{:03}", shard_of(id))
}

fn shard_partitions(prefix: &str) -> Vec<String> {
    (0..SHARDS).map(|s| format!("{prefix}#{s:03}")).collect()
}
/// Sent and failed messages' records are kept this long (failed ones: after they failed).
pub const KEEP_DAYS: i64 = 30;

/// What a message asks the dispatcher to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Message {
    Email(Email),
    Push(PushMessage),
    /// An invitation email, rendered (with a single-use token issued for this outbox message)
    /// when it is sent.
    Invitation(InvitationEmail),
    /// An email that proves control of an address (with a token issued when it is sent).
    Verification(AddressEmail),
    /// A password reset email (with a token issued when it is sent).
    #[serde(rename = "passwordReset")]
    PasswordReset(AddressEmail),
    /// A domain event, published as it is (`domain::event`).
    Event(crate::domain::event::Event),
    /// Several events of one change, published together (PutEvents takes up to 10 a call).
    /// A struct variant: the tagged form cannot hold a bare list.
    Events {
        events: Vec<crate::domain::event::Event>,
    },
    /// Invitations whose links run out at `expires_at`: rendered when due into the
    /// `invitation.expired` events of those still pending then.
    #[serde(rename = "invitationsExpire")]
    InvitationsExpire(InvitationsExpire),
}

/// See `Message::InvitationsExpire`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationsExpire {
    pub company_id: Id,
    pub emails: Vec<EmailAddress>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

impl Message {
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Email(_) => "email",
            Message::Push(_) => "push",
            Message::Invitation(_) => "invitation",
            Message::Verification(_) => "verification",
            Message::PasswordReset(_) => "passwordReset",
            Message::Event(_) | Message::Events { .. } => "event",
            Message::InvitationsExpire(_) => "invitationsExpire",
        }
    }
}

/// What the outbox carries for an invitation: no token, just which invitation to send and
/// where its link points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationEmail {
    pub company_id: Id,
    pub email: EmailAddress,
    pub link_base: String,
}

/// What the outbox carries for an email whose link proves control of the address: no token,
/// just whose address, where the link points and, for a self-registration, the welcome text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressEmail {
    pub user_id: Id,
    pub email: EmailAddress,
    pub link_base: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<Welcome>,
}

/// The welcome text of a self-registration's email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Welcome {
    pub first_name: String,
    pub company_name: String,
}

/// A stored outbox message. `message` is kept raw so a malformed one can be marked failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OutboxItem {
    pub outbox_id: String,
    /// `email`, `push` or `invitation`; also stored outside the body, which a sent message
    /// no longer has. `None` on messages queued before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Value>,
    pub status: String,
    #[serde(default)]
    pub attempts: i64,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The dispatcher delivery holding the message, and until when (epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<i64>,
}

impl OutboxItem {
    /// The kind, from the attribute or else from the body.
    pub fn kind(&self) -> &str {
        self.kind
            .as_deref()
            .or_else(|| self.message.as_ref()?.get("kind")?.as_str())
            .unwrap_or("unknown")
    }
}

pub fn outbox_key(id: &str) -> Key {
    Key::new(format!("OUTBOX#{id}"), "OUTBOX")
}

/// The gsi1 partitions of the messages sent or skipped on `day` (UTC), without the shard.
fn done_prefix(day: chrono::NaiveDate) -> String {
    format!("OUTBOX#DONE#{}", day.format("%Y-%m-%d"))
}

fn done_partition(day: chrono::NaiveDate, id: &str) -> String {
    format!("{}#{:03}", done_prefix(day), shard_of(id))
}

/// The id of the outbox message an item key belongs to (for stream records).
pub fn outbox_id_of(pk: &str) -> Option<&str> {
    pk.strip_prefix("OUTBOX#")
}

fn ttl_from(t: DateTime<Utc>) -> Value {
    json!((t + chrono::Duration::days(KEEP_DAYS)).timestamp())
}

/// The write that queues `message`; put it in the use case's transaction.
pub fn enqueue(id: &str, now: DateTime<Utc>, message: &Message) -> Write {
    enqueue_at(id, now, message)
}

/// Whether `w` queues a message for the dispatcher (an `enqueue` or a `schedule`).
pub fn is_enqueued(w: &Write) -> bool {
    matches!(w, Write::Put { item, .. } if item
        .get("gsi1pk")
        .and_then(Value::as_str)
        .is_some_and(|p| p.starts_with("OUTBOX#PENDING#")))
}

/// The write that queues `message` to be sent once `due` has come (a scheduled event: an
/// invitation or temporary access that runs out). Until then no dispatcher sends it: the sweep
/// reads the queue up to now, and a delivery that finds it early leaves it.
pub fn enqueue_at(id: &str, due: DateTime<Utc>, message: &Message) -> Write {
    let created = crate::domain::time::format(due);
    let record = OutboxItem {
        outbox_id: id.to_string(),
        kind: Some(message.kind().to_string()),
        message: Some(serde_json::to_value(message).unwrap_or(Value::Null)),
        status: "pending".into(),
        attempts: 0,
        created_at: created.clone(),
        last_error: None,
        finished_at: None,
        claim_id: None,
        lease_until: None,
    };
    let mut item = keyed_item(&outbox_key(id), &record);
    item.insert("gsi1pk".into(), json!(pending_partition(id)));
    item.insert("gsi1sk".into(), json!(format!("{created}#{id}")));
    item.insert("ttl".into(), ttl_from(due));
    Write::put_new(item)
}

/// The write that schedules `message` under an id made from what it is about: written again,
/// it is the same message (no condition, so a second write is no failure).
pub fn schedule(id: &str, due: DateTime<Utc>, message: &Message) -> Write {
    match enqueue_at(id, due, message) {
        Write::Put { item, .. } => Write::Put { item, cond: None },
        other => other,
    }
}

/// The write that takes back a scheduled message whose time has not come (the invitation was
/// accepted, the access extended): callers name only such messages, which no dispatcher has
/// sent (`deliver` leaves a message that is not due). Unconditional, so a message that was
/// never queued (an invitation made before events were) is no failure.
pub fn cancel(id: &str) -> Write {
    Write::Delete {
        key: outbox_key(id),
        cond: None,
    }
}

pub async fn find(store: &dyn Store, id: &str) -> Result<Option<OutboxItem>, StoreError> {
    super::get(store, &outbox_key(id)).await
}

/// Up to `limit` pending messages (all when `None`), oldest first; with `before`, only those
/// queued before it. Reads every shard at once and merges them.
pub async fn pending(
    store: &dyn Store,
    limit: Option<usize>,
    before: Option<DateTime<Utc>>,
) -> Result<Vec<OutboxItem>, StoreError> {
    let queries = shard_partitions("OUTBOX#PENDING").into_iter().map(|p| {
        let q = Query::partition(Index::Gsi1, p);
        match before {
            Some(t) => q.sort(SortKey::Lt(crate::domain::time::format(t))),
            None => q,
        }
    });
    merged(store, queries, limit, |_| true, true).await
}

/// Up to `limit` failed messages (all when `None`), oldest first.
pub async fn failed(
    store: &dyn Store,
    limit: Option<usize>,
) -> Result<Vec<OutboxItem>, StoreError> {
    let queries = shard_partitions("OUTBOX#FAILED")
        .into_iter()
        .map(|p| Query::partition(Index::Gsi1, p));
    merged(store, queries, limit, |_| true, true).await
}

/// Up to `limit` messages sent or skipped (only those with `status`, if given) in the last
/// `KEEP_DAYS` days before `now`, newest first.
pub async fn done(
    store: &dyn Store,
    now: DateTime<Utc>,
    status: Option<&str>,
    limit: usize,
) -> Result<Vec<OutboxItem>, StoreError> {
    let mut out = Vec::new();
    let keep = |i: &OutboxItem| status.is_none_or(|s| i.status == s);
    for back in 0..=KEEP_DAYS {
        let day = (now - chrono::Duration::days(back)).date_naive();
        let queries = shard_partitions(&done_prefix(day))
            .into_iter()
            .map(|p| Query::partition(Index::Gsi1, p).descending());
        out.extend(merged(store, queries, Some(limit - out.len()), keep, false).await?);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// The records `queries` match that `keep` accepts, every query read at once (each up to
/// `limit`), merged by their index sort key (oldest first when `ascending`) and cut at `limit`.
async fn merged(
    store: &dyn Store,
    queries: impl Iterator<Item = Query>,
    limit: Option<usize>,
    keep: impl Fn(&OutboxItem) -> bool + Copy,
    ascending: bool,
) -> Result<Vec<OutboxItem>, StoreError> {
    let reads = queries.map(|q| async move {
        let mut out = Vec::new();
        up_to(store, q, limit, keep, &mut out).await.map(|()| out)
    });
    let mut all: Vec<OutboxItem> = Vec::new();
    for shard in futures_util::future::join_all(reads).await {
        all.extend(shard?);
    }
    // The index sort keys: `<createdAt>#<id>` for pending and failed, `<finishedAt>#<id>`
    // once done.
    let order = |i: &OutboxItem| {
        let at = if ascending {
            i.created_at.clone()
        } else {
            i.finished_at.clone().unwrap_or_default()
        };
        (at, i.outbox_id.clone())
    };
    all.sort_by_key(order);
    if !ascending {
        all.reverse();
    }
    if let Some(n) = limit {
        all.truncate(n);
    }
    Ok(all)
}

/// Adds to `out` the records a query matches that `keep` accepts, following pages until `out`
/// holds `limit` (or the query ends).
async fn up_to(
    store: &dyn Store,
    mut query: Query,
    limit: Option<usize>,
    keep: impl Fn(&OutboxItem) -> bool,
    out: &mut Vec<OutboxItem>,
) -> Result<(), StoreError> {
    loop {
        if let Some(n) = limit {
            if out.len() >= n {
                return Ok(());
            }
            query = query.limit(n - out.len());
        }
        let page = store.query(&query).await?;
        for item in page.items {
            let item: OutboxItem = super::from_item(item)?;
            if keep(&item) {
                out.push(item);
            }
        }
        match page.next {
            Some(next) => query = query.start_after(Some(next)),
            None => return Ok(()),
        }
    }
}

/// The outcome of trying to claim a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Ours until the lease ends: the message as it was claimed.
    Held(Box<OutboxItem>),
    /// Pending, but another delivery holds a live lease on it.
    Busy,
    /// Sent, failed, skipped or gone: nothing to do.
    Done,
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Claims a pending message for one delivery (`claim_id`) until `now + lease`: one conditional
/// update that succeeds only when the message is pending and no live lease exists (none was
/// taken, or it ended). An expired lease is taken over.
pub async fn claim(
    store: &dyn Store,
    id: &str,
    claim_id: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<Claim, StoreError> {
    let free = Cond::Or(vec![
        Cond::NotExists("leaseUntil".into()),
        Cond::Le("leaseUntil".into(), json!(millis(now))),
    ]);
    let update = Update::new()
        .set("claimId", claim_id)
        .set("leaseUntil", millis(now + lease));
    match store
        .update(
            &outbox_key(id),
            update,
            Some(Cond::eq("status", "pending").and(free)),
        )
        .await
    {
        Ok(item) => Ok(Claim::Held(Box::new(super::from_item(item)?))),
        Err(StoreError::ConditionFailed { current }) => {
            let current = match current {
                Some(item) => Some(item),
                None => store.get(&outbox_key(id)).await?,
            };
            let pending = |i: &Item| i.get("status") == Some(&json!("pending"));
            Ok(match current {
                Some(i) if pending(&i) => Claim::Busy,
                _ => Claim::Done,
            })
        }
        Err(e) => Err(e),
    }
}

/// The condition every step of a delivery carries: still pending, still ours.
fn held_by(claim_id: &str) -> Cond {
    Cond::eq("status", "pending").and(Cond::eq("claimId", claim_id))
}

/// Runs a write conditional on our claim; `false` when the claim was lost (taken over after
/// the lease ended, or the message finished by someone else).
async fn as_holder(
    store: &dyn Store,
    id: &str,
    claim_id: &str,
    update: Update,
) -> Result<bool, StoreError> {
    match store
        .update(&outbox_key(id), update, Some(held_by(claim_id)))
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives a claim back without counting an attempt (the delivery stopped before sending).
pub async fn release(store: &dyn Store, id: &str, claim_id: &str) -> Result<bool, StoreError> {
    let u = Update::new().remove("claimId").remove("leaseUntil");
    as_holder(store, id, claim_id, u).await
}

/// Counts a failed delivery attempt of a message we hold and releases it for the next try.
/// `false` when the claim was lost.
pub async fn retry_later(
    store: &dyn Store,
    id: &str,
    claim_id: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    let u = Update::new()
        .add("attempts", 1)
        .set("lastError", reason)
        .remove("claimId")
        .remove("leaseUntil");
    as_holder(store, id, claim_id, u).await
}

/// How a delivery ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End<'a> {
    Sent,
    /// Nothing to send (an invitation no longer pending): the body is dropped.
    Skipped(&'a str),
    /// Failed for good; `counted` when this was a delivery attempt. The body is kept.
    Failed {
        reason: &'a str,
        counted: bool,
    },
}

/// Finishes a message we hold: sent and skipped messages lose their body and move to the
/// day's done partition; failed ones keep their body, move to the failed partition and are
/// kept `KEEP_DAYS` from now. `false` when the claim was lost.
pub async fn finish(
    store: &dyn Store,
    item: &OutboxItem,
    claim_id: &str,
    end: End<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let at = crate::domain::time::format(now);
    let id = item.outbox_id.as_str();
    let mut u = Update::new()
        .set("finishedAt", at.as_str())
        .remove("claimId")
        .remove("leaseUntil");
    u = match end {
        End::Sent | End::Skipped(_) => u
            .set("gsi1pk", done_partition(now.date_naive(), id))
            .set("gsi1sk", format!("{at}#{id}"))
            .remove("message"),
        End::Failed { counted, .. } => {
            let u = u
                .set("gsi1pk", failed_partition(id))
                .set("gsi1sk", format!("{}#{id}", item.created_at))
                .set("ttl", ttl_from(now));
            if counted {
                u.add("attempts", 1)
            } else {
                u
            }
        }
    };
    u = match end {
        End::Sent => u.set("status", "sent"),
        End::Skipped(reason) => u.set("status", "skipped").set("lastError", reason),
        End::Failed { reason, .. } => u.set("status", "failed").set("lastError", reason),
    };
    as_holder(store, id, claim_id, u).await
}

/// Why a message cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReplayed {
    NotFound,
    /// Only failed messages are replayed; this is its status.
    NotFailed(String),
    /// Failed before bodies were kept: there is nothing to send.
    NoBody,
}

/// Moves a failed message back to pending (attempts from zero, kept `KEEP_DAYS` from now), in
/// its old place in the pending queue so the next sweep sends it. Conditional on it still
/// being failed.
pub async fn replay(
    store: &dyn Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), NotReplayed>, StoreError> {
    let Some(item) = find(store, id).await? else {
        return Ok(Err(NotReplayed::NotFound));
    };
    if item.status != "failed" {
        return Ok(Err(NotReplayed::NotFailed(item.status)));
    }
    if item.message.is_none() {
        return Ok(Err(NotReplayed::NoBody));
    }
    let u = Update::new()
        .set("status", "pending")
        .set("attempts", 0)
        .set("replayedAt", crate::domain::time::format(now))
        .set("gsi1pk", pending_partition(id))
        .set("gsi1sk", format!("{}#{id}", item.created_at))
        .set("ttl", ttl_from(now))
        .remove("finishedAt");
    match store
        .update(&outbox_key(id), u, Some(Cond::eq("status", "failed")))
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(StoreError::ConditionFailed { .. }) => {
            let status = find(store, id).await?.map(|i| i.status);
            Ok(Err(
                status.map_or(NotReplayed::NotFound, NotReplayed::NotFailed)
            ))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{Actor, Event, EventType, Subject};

    /// Every kind of message survives the trip into an item and back (the tagged form refuses
    /// some shapes, a bare list among them, only when it is written).
    #[test]
    fn every_message_round_trips() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let event = Event::new(
            EventType::AccountVerified,
            None,
            at,
            Actor::System,
            Subject::default(),
        );
        let company = Id::new(1).unwrap_or_else(|_| unreachable!());
        let email = EmailAddress::parse("a@b.example").unwrap_or_else(|_| unreachable!());
        let messages = [
            Message::Email(Email::text("a@b.example", "S", "T")),
            Message::Event(event.clone()),
            Message::Events {
                events: vec![event.clone(), event],
            },
            Message::InvitationsExpire(InvitationsExpire {
                company_id: company,
                emails: vec![email],
                expires_at: at,
            }),
        ];
        for m in messages {
            let v = serde_json::to_value(&m).expect("a message serialises");
            assert_eq!(serde_json::from_value::<Message>(v).ok(), Some(m));
        }
    }
}
