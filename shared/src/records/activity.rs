//! The activity log's items: in the user's partition, sorted by time, so a user's date range is
//! one query.

use super::{keyed_item, user_pk};
use crate::domain::activity::{ActivityType, Source};
use crate::domain::secrets::random_hex_id;
use crate::domain::{Caller, Id};
use crate::ports::store::{Key, Write, TTL};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub user_id: Id,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub event_date: DateTime<Utc>,
    pub activity_type_id: u8,
    pub activity_type: String,
    pub source_type_id: u8,
    pub source_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// How long failed-login and lockout items are kept (other activity is kept for good).
pub const FAILED_LOGIN_DAYS: i64 = 90;

/// Sorted by time within the user's partition; the random tail keeps two events of one
/// millisecond apart.
pub fn activity_key(user: Id, at: DateTime<Utc>, tail: &str) -> Key {
    Key::new(
        user_pk(user),
        format!("ACTIVITY#{}#{tail}", crate::domain::time::format(at)),
    )
}

/// The write that records one activity; add it to the use case's transaction.
pub fn record(
    user: Id,
    kind: ActivityType,
    source: Source,
    caller: &Caller,
    session_id: Option<&str>,
    at: DateTime<Utc>,
) -> Write {
    let a = Activity {
        user_id: user,
        event_date: at,
        activity_type_id: kind as u8,
        activity_type: kind.label().into(),
        source_type_id: source as u8,
        source_type: source.label().into(),
        ip_address: caller.ip.clone(),
        session_id: session_id.map(str::to_string),
    };
    let mut item = keyed_item(&activity_key(user, at, &random_hex_id()[..8]), &a);
    if matches!(
        kind,
        ActivityType::LoginFailed | ActivityType::AccountLocked
    ) {
        // Unauthenticated callers cause these: they expire, so a flood cannot grow the table.
        let expires = at + chrono::Duration::days(FAILED_LOGIN_DAYS);
        item.insert(TTL.into(), serde_json::json!(expires.timestamp()));
    }
    Write::put_new(item)
}
