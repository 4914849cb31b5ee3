//! The Notification Centre: a user's notifications (newest first, paged, marked read), and the
//! native pushes that go with them through the outbox.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::random_hex_id;
use crate::domain::Id;
use crate::ports::push::PushMessage;
use crate::ports::store::{Key, Write};
use crate::records::notification::{self, Notification};
use crate::records::outbox::{self, Message};
use crate::usecases::failed;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A notification to send.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub company_id: Id,
    pub kind: &'static str,
    pub title: String,
    pub message: String,
    pub data: Value,
}

/// The writes that put a notification in the user's Notification Centre (full text) and queue
/// a native push (text cut to the platforms' payload limit) to each of the user's devices with
/// push enabled. Add them to the use case's transaction.
pub async fn notify(
    app: &App,
    user: Id,
    n: NewNotification,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Write>, DomainError> {
    let fail = failed(Service::Membership);
    let notification = Notification {
        notification_id: app.ids.next("notification").await.map_err(&fail)?,
        company_id: n.company_id,
        kind: n.kind.to_string(),
        title: n.title,
        message: n.message,
        data: n.data,
        created_at: now,
        read: false,
    };
    let mut writes = vec![notification.deliver_to(user)];
    let devices = notification::devices(app.store.as_ref(), user)
        .await
        .map_err(&fail)?;
    for d in devices.into_iter().filter(|d| d.push_enabled) {
        let mut data = serde_json::Map::new();
        data.insert("notificationId".into(), json!(notification.notification_id));
        data.insert("kind".into(), json!(notification.kind));
        let push =
            PushMessage::fitted(d.endpoint, &notification.title, &notification.message, data);
        writes.push(outbox::enqueue(&random_hex_id(), now, &Message::Push(push)));
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

/// A cursor: the key of the last notification of a page, as hex of `{"pk":..,"sk":..}`.
fn encode_cursor(key: &Key) -> String {
    let text = json!({"pk": key.pk, "sk": key.sk}).to_string();
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Only cursors this API issued for the caller's own list are accepted: exactly `pk` and
/// `sk`, naming one of the caller's notifications.
fn decode_cursor(user: Id, raw: &str) -> Result<Key, DomainError> {
    let bad = || DomainError::invalid("cursor is not one this API returned");
    if raw.len() > 2048 {
        return Err(bad());
    }
    let bytes = hex_bytes(raw).ok_or_else(bad)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cursor {
        pk: String,
        sk: String,
    }
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let key = Key::new(c.pk, c.sk);
    if !notification::is_notification_of(&key, user) {
        return Err(bad());
    }
    Ok(key)
}

/// The bytes written as hex digits in `raw` (two per byte, either case), or `None` for any
/// other text. Works on bytes, so any caller-supplied text (non-ASCII included) is refused,
/// never sliced inside a character.
pub(crate) fn hex_bytes(raw: &str) -> Option<Vec<u8>> {
    fn nibble(d: u8) -> Option<u8> {
        char::from(d)
            .to_digit(16)
            .and_then(|n| u8::try_from(n).ok())
    }
    let digits = raw.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

/// Parses the `limit` query parameter: 1 to 100, default 20.
pub fn page_limit(raw: Option<&str>) -> Result<usize, DomainError> {
    match raw {
        None => Ok(20),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| DomainError::invalid("limit is a whole number from 1 to 100")),
    }
}

/// The user's notifications, newest first, `limit` at a time.
pub async fn list(
    app: &App,
    user: Id,
    limit: usize,
    cursor: Option<&str>,
) -> Result<NotificationPage, DomainError> {
    let start = cursor.map(|c| decode_cursor(user, c)).transpose()?;
    let (notifications, next) = notification::page(app.store.as_ref(), user, limit, start)
        .await
        .map_err(failed(Service::User))?;
    let unread = notifications.iter().filter(|n| !n.read).count();
    Ok(NotificationPage {
        notifications,
        unread,
        next_cursor: next.as_ref().map(encode_cursor),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkRead {
    pub notification_ids: Vec<Id>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkedRead {
    pub notification_ids: Vec<Id>,
}

/// Marks the caller's notifications read. Ids that are not the caller's are not found.
pub async fn mark_read(app: &App, user: Id, body: MarkRead) -> Result<MarkedRead, DomainError> {
    if body.notification_ids.is_empty() || body.notification_ids.len() > 100 {
        return Err(DomainError::invalid("notificationIds holds 1 to 100 ids"));
    }
    let mut ids = body.notification_ids;
    ids.sort();
    ids.dedup();
    let writes = ids
        .iter()
        .map(|id| notification::mark_read(user, *id))
        .collect();
    app.store.transact(writes).await.map_err(|e| {
        if e.is_condition_failure() {
            let missing: Vec<String> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| e.failed_at(*i))
                .map(|(_, id)| id.to_string())
                .collect();
            DomainError::new(
                ErrorKind::RecordNotFound,
                format!("notification {} not found", missing.join(", ")),
            )
        } else {
            failed(Service::User)(e)
        }
    })?;
    Ok(MarkedRead {
        notification_ids: ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let user = Id::new(7).unwrap();
        let key = Key::new("USER#7", "NOTIF#0000000000000003");
        assert_eq!(decode_cursor(user, &encode_cursor(&key)).unwrap(), key);
        let other = Key::new("USER#8", "NOTIF#0000000000000003");
        assert!(decode_cursor(user, &encode_cursor(&other)).is_err());
        let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        let extra = hex(r#"{"pk":"USER#7","sk":"NOTIF#1","gsi1pk":"x"}"#);
        assert!(
            decode_cursor(user, &extra).is_err(),
            "extra fields are refused"
        );
        assert!(decode_cursor(user, "zz").is_err());
        assert!(
            decode_cursor(user, "a\u{e9}b").is_err(),
            "non-ASCII is refused"
        );
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text at all, as a cursor, is refused or accepted: never a panic.
        #[test]
        fn any_cursor_text_is_answered(raw in any::<String>(), user in 1u64..1000) {
            let _ = decode_cursor(Id::new(user).unwrap(), &raw);
        }

        /// Hex-looking text of any length, with stray characters, never panics.
        #[test]
        fn hex_like_cursors_are_answered(raw in "[0-9a-fA-F\u{e9}\u{1F600}]{0,64}") {
            let _ = decode_cursor(Id::new(7).unwrap(), &raw);
        }

        /// Every cursor this API issues for a user's notification comes back as its key.
        #[test]
        fn issued_cursors_round_trip(
            user in 1u64..=crate::domain::values::MAX_SAFE_ID,
            n in 1u64..=crate::domain::values::MAX_SAFE_ID,
        ) {
            let id = Id::new(user).unwrap();
            let key = notification::notification_key(id, Id::new(n).unwrap());
            prop_assert_eq!(decode_cursor(id, &encode_cursor(&key)).unwrap(), key);
        }

        /// Hex of any bytes decodes to those bytes.
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
            prop_assert_eq!(hex_bytes(&text), Some(bytes));
        }
    }
}
