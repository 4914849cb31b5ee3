//! The outbox's items: messages queued in the same transaction as the change they announce,
//! delivered later by the dispatcher (`usecases::outbox`). While pending, a message is in the
//! `OUTBOX#PENDING` partition of gsi1, oldest first.

use super::keyed_item;
use crate::domain::{EmailAddress, Id};
use crate::ports::mail::Email;
use crate::ports::push::PushMessage;
use crate::ports::store::{Cond, Index, Key, Query, Store, StoreError, Update, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const PENDING_PARTITION: &str = "OUTBOX#PENDING";
/// Delivered and failed messages' metadata is kept this long.
pub const KEEP_DAYS: i64 = 30;

/// What a message asks the dispatcher to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Message {
    Email(Email),
    Push(PushMessage),
    /// An invitation email, rendered (with a freshly issued single-use token) when it is sent.
    Invitation(InvitationEmail),
    /// An email that proves control of an address (with a token issued when it is sent).
    Verification(AddressEmail),
    /// A password reset email (with a token issued when it is sent).
    #[serde(rename = "passwordReset")]
    PasswordReset(AddressEmail),
}

impl Message {
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Email(_) => "email",
            Message::Push(_) => "push",
            Message::Invitation(_) => "invitation",
            Message::Verification(_) => "verification",
            Message::PasswordReset(_) => "passwordReset",
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
}

pub fn outbox_key(id: &str) -> Key {
    Key::new(format!("OUTBOX#{id}"), "OUTBOX")
}

/// The id of the outbox message an item key belongs to (for stream records).
pub fn outbox_id_of(pk: &str) -> Option<&str> {
    pk.strip_prefix("OUTBOX#")
}

/// The write that queues `message`; put it in the use case's transaction.
pub fn enqueue(id: &str, now: DateTime<Utc>, message: &Message) -> Write {
    let created = crate::domain::time::format(now);
    let record = OutboxItem {
        outbox_id: id.to_string(),
        message: Some(serde_json::to_value(message).unwrap_or(Value::Null)),
        status: "pending".into(),
        attempts: 0,
        created_at: created.clone(),
        last_error: None,
        finished_at: None,
    };
    let mut item = keyed_item(&outbox_key(id), &record);
    item.insert("gsi1pk".into(), json!(PENDING_PARTITION));
    item.insert("gsi1sk".into(), json!(format!("{created}#{id}")));
    item.insert(
        "ttl".into(),
        json!((now + chrono::Duration::days(KEEP_DAYS)).timestamp()),
    );
    Write::put_new(item)
}

pub async fn find(store: &dyn Store, id: &str) -> Result<Option<OutboxItem>, StoreError> {
    super::get(store, &outbox_key(id)).await
}

/// Up to `limit` pending messages (every one, over all pages, when `None`), oldest first.
pub async fn pending(
    store: &dyn Store,
    limit: Option<usize>,
) -> Result<Vec<OutboxItem>, StoreError> {
    let q = Query::partition(Index::Gsi1, PENDING_PARTITION);
    match limit {
        None => super::query_all(store, q).await,
        Some(n) => {
            let page = store.query(&q.limit(n)).await?;
            page.items.into_iter().map(super::from_item).collect()
        }
    }
}

/// Counts a failed delivery attempt of a pending message; the count after it, or `None` when
/// the message is no longer pending.
pub async fn count_attempt(
    store: &dyn Store,
    id: &str,
    reason: &str,
) -> Result<Option<i64>, StoreError> {
    match store
        .update(
            &outbox_key(id),
            Update::new().add("attempts", 1).set("lastError", reason),
            Some(Cond::eq("status", "pending")),
        )
        .await
    {
        Ok(item) => Ok(Some(
            item.get("attempts").and_then(Value::as_i64).unwrap_or(0),
        )),
        Err(e) if e.is_condition_failure() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Marks a pending message done (`sent`, `failed`, `skipped`): drops the body and leaves the
/// pending index. Already finished messages are left as they are.
pub async fn finish(
    store: &dyn Store,
    id: &str,
    status: &str,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut u = Update::new()
        .set("status", status)
        .set("finishedAt", crate::domain::time::format(now))
        .remove("message")
        .remove("gsi1pk")
        .remove("gsi1sk");
    if let Some(e) = error {
        u = u.set("lastError", e);
    }
    match store
        .update(&outbox_key(id), u, Some(Cond::eq("status", "pending")))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failure() => Ok(()),
        Err(e) => Err(e),
    }
}
