//! The Notification Centre: a user's notifications (newest first, paged, marked read), and the
//! native pushes that go with them through the outbox.

use crate::app::App;
use crate::domain::error::{ApiError, Service, Success};
use crate::domain::secrets::random_hex_id;
use crate::domain::Id;
use crate::http::store_failure;
use crate::ports::push::PushMessage;
use crate::ports::store::{Cond, Index, Item, Key, Query, SortKey, Update, Write};
use crate::records::{from_item, to_item};
use crate::usecases::outbox::{self, Message};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub notification_id: Id,
    pub company_id: Id,
    pub kind: String,
    pub title: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// Notification ids grow with time, so the sort key (zero-padded id) orders newest last.
pub fn notification_key(user: Id, id: Id) -> Key {
    Key::new(format!("USER#{user}"), format!("NOTIF#{:016}", id.get()))
}

pub fn device_prefix() -> &'static str {
    "DEVICE#"
}

/// The writes that put a notification in the user's Notification Centre and queue a native push
/// to each of the user's devices with push enabled. Add them to the use case's transaction.
pub async fn notify(
    app: &App,
    user: Id,
    notification: &Notification,
) -> Result<Vec<Write>, ApiError> {
    let fail = store_failure(Service::Membership);
    let mut writes = vec![Write::put_new(to_item(
        &notification_key(user, notification.notification_id),
        notification,
        &[],
    ))];
    let devices = app
        .store
        .query(
            &Query::partition(Index::Table, format!("USER#{user}"))
                .sort(SortKey::BeginsWith(device_prefix().into())),
        )
        .await
        .map_err(&fail)?;
    for d in devices.items {
        let push_on = d
            .get("pushEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let endpoint = d.get("endpoint").and_then(Value::as_str);
        if let (true, Some(endpoint)) = (push_on, endpoint) {
            let mut data = serde_json::Map::new();
            data.insert("notificationId".into(), json!(notification.notification_id));
            data.insert("kind".into(), json!(notification.kind));
            let push = PushMessage {
                endpoint: endpoint.to_string(),
                title: notification.title.clone(),
                body: notification.message.clone(),
                data,
            };
            writes.push(outbox::enqueue(
                &random_hex_id(),
                app.clock.now(),
                &Message::Push(push),
            ));
        }
    }
    Ok(writes)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    pub notifications: Vec<Notification>,
    pub unread: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn encode_cursor(item: &Item) -> String {
    let text = Value::Object(item.clone()).to_string();
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(user: Id, raw: &str) -> Result<Item, ApiError> {
    let bad = || ApiError::invalid("cursor is not one this API returned");
    if raw.len() > 2048 || !raw.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&raw[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let item: Item = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    // A cursor can only continue the caller's own list.
    let own = format!("USER#{user}");
    if item.get("pk").and_then(Value::as_str) != Some(own.as_str())
        || !item
            .get("sk")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("NOTIF#"))
    {
        return Err(bad());
    }
    Ok(item)
}

/// The user's notifications, newest first, `limit` (1 to 100, default 20) at a time.
pub async fn list(
    app: &App,
    user: Id,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Success<'static, NotificationPage>, ApiError> {
    let limit = match limit {
        None => 20,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::invalid("limit is a whole number from 1 to 100"))?,
    };
    let start = cursor.map(|c| decode_cursor(user, c)).transpose()?;
    let fail = store_failure(Service::User);
    let page = app
        .store
        .query(
            &Query::partition(Index::Table, format!("USER#{user}"))
                .sort(SortKey::BeginsWith("NOTIF#".into()))
                .descending()
                .limit(limit)
                .start_after(start),
        )
        .await
        .map_err(&fail)?;
    let notifications: Vec<Notification> = page
        .items
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()
        .map_err(&fail)?;
    let unread = notifications.iter().filter(|n| !n.read).count();
    Ok(Success {
        error_code: 0,
        error_msg: "Notifications.",
        extra: NotificationPage {
            notifications,
            unread,
            next_cursor: page.next.as_ref().map(encode_cursor),
        },
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkRead {
    pub notification_ids: Vec<Id>,
}

/// Marks the caller's notifications read. Ids that are not the caller's are not found.
pub async fn mark_read(
    app: &App,
    user: Id,
    body: MarkRead,
) -> Result<Success<'static, Value>, ApiError> {
    if body.notification_ids.is_empty() || body.notification_ids.len() > 100 {
        return Err(ApiError::invalid("notificationIds holds 1 to 100 ids"));
    }
    let mut ids = body.notification_ids;
    ids.sort();
    ids.dedup();
    let writes = ids
        .iter()
        .map(|id| Write::Update {
            key: notification_key(user, *id),
            update: Update::new().set("read", true),
            cond: Some(Cond::present()),
        })
        .collect();
    app.store.transact(writes).await.map_err(|e| {
        if e.is_condition_failure() {
            let missing: Vec<String> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| e.failed_at(*i))
                .map(|(_, id)| id.to_string())
                .collect();
            ApiError::new(
                crate::domain::error::Exception::RecordNotFound,
                format!("notification {} not found", missing.join(", ")),
            )
        } else {
            store_failure(Service::User)(e)
        }
    })?;
    Ok(Success {
        error_code: 0,
        error_msg: "Notifications marked read.",
        extra: json!({ "notificationIds": ids }),
    })
}
