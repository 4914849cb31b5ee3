//! The activity log: every login, failed login, lockout and logout, per user, newest last.
//! Items live in the user's partition (`USER#<id>`, sort key `ACTIVITY#<time>#<rand>`) so a
//! date range for a user is one query.

use crate::domain::secrets::random_hex_id;
use crate::domain::Caller;
use crate::domain::Id;
use crate::ports::store::{Key, Write};
use crate::records::to_item;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivityType {
    LoginSuccessful = 1,
    LoginFailed = 2,
    Logout = 3,
    SessionExpired = 4,
    AccountLocked = 5,
    Registered = 6,
    InvitationAccepted = 7,
}

impl ActivityType {
    pub fn label(self) -> &'static str {
        match self {
            ActivityType::LoginSuccessful => "Login Successful",
            ActivityType::LoginFailed => "Login Failed",
            ActivityType::Logout => "Logout",
            ActivityType::SessionExpired => "SessionExpired",
            ActivityType::AccountLocked => "Account Locked",
            ActivityType::Registered => "Registered",
            ActivityType::InvitationAccepted => "Invitation Accepted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    Web = 1,
    App = 2,
    Api = 3,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Web => "Web",
            Source::App => "App",
            Source::Api => "API",
        }
    }

    /// An app key in the request means the mobile app; a browser's user agent, the web;
    /// anything else is an API client.
    pub fn of(caller: &Caller, with_app_key: bool) -> Source {
        if with_app_key {
            Source::App
        } else if caller
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("Mozilla/"))
        {
            Source::Web
        } else {
            Source::Api
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub user_id: Id,
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

pub fn activity_partition(user: Id) -> String {
    format!("USER#{user}")
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
    let sk = format!(
        "ACTIVITY#{}#{}",
        at.to_rfc3339_opts(SecondsFormat::Millis, true),
        &random_hex_id()[..8]
    );
    Write::put_new(to_item(&Key::new(activity_partition(user), sk), &a, &[]))
}
