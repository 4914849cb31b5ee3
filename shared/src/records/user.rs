//! Accounts: users, the email guard that keeps addresses unique, sessions, and the counters of
//! failed logins for addresses no account has.

use super::{get, user_pk, Record, Status};
use crate::domain::secrets::{random_hex_id, sha256_hex};
use crate::domain::{EmailAddress, Id};
use crate::ports::store::{Cond, Key, Store, StoreError, Update, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: Id,
    pub email: EmailAddress,
    pub first_name: String,
    pub last_name: String,
    /// Argon2id PHC string; never leaves the store.
    pub password_hash: String,
    pub status: Status,
    #[serde(default)]
    pub failed_logins: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::time::rfc3339_opt"
    )]
    pub locked_until: Option<DateTime<Utc>>,
    /// selfRegisterMIUser's `condition` (version 4+), which the vendor page saves on the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<i64>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl User {
    /// A new, active account with no failed logins.
    pub fn new_active(
        user_id: Id,
        email: EmailAddress,
        first_name: &str,
        last_name: &str,
        password_hash: String,
        created_at: DateTime<Utc>,
    ) -> User {
        User {
            user_id,
            email,
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            password_hash,
            status: Status::Active,
            failed_logins: 0,
            locked_until: None,
            condition: None,
            created_at,
        }
    }
}

pub fn user_key(user: Id) -> Key {
    Key::new(user_pk(user), "USER")
}

impl Record for User {
    fn key(&self) -> Key {
        user_key(self.user_id)
    }
}

pub async fn find(store: &dyn Store, user: Id) -> Result<Option<User>, StoreError> {
    get(store, &user_key(user)).await
}

/// The account that holds `email`, if any.
pub async fn find_by_email(
    store: &dyn Store,
    email: &EmailAddress,
) -> Result<Option<User>, StoreError> {
    match get::<EmailGuard>(store, &email_key(email)).await? {
        Some(guard) => find(store, guard.user_id).await,
        None => Ok(None),
    }
}

/// Whether any account holds `email`.
pub async fn email_taken(
    store: &dyn Store,
    email: &EmailAddress,
) -> Result<Option<Id>, StoreError> {
    Ok(get::<EmailGuard>(store, &email_key(email))
        .await?
        .map(|g| g.user_id))
}

/// The writes that create an account: the email guard (first, failing when the address is
/// taken) and the user.
pub fn create(user: &User) -> [Write; 2] {
    [
        Write::put_new(super::keyed_item(
            &email_key(&user.email),
            &EmailGuard {
                user_id: user.user_id,
            },
        )),
        super::put_new(user),
    ]
}

/// The update that counts a failed login (`seen` is the count it was read with), locking the
/// account until `lock_until` when given.
pub fn count_failed_login(user: Id, seen: u32, lock_until: Option<DateTime<Utc>>) -> Write {
    let update = match lock_until {
        Some(until) => Update::new()
            .set("failedLogins", 0)
            .set("lockedUntil", crate::domain::time::format(until)),
        None => Update::new().set("failedLogins", seen + 1),
    };
    Write::Update {
        key: user_key(user),
        update,
        cond: Some(Cond::present().and(Cond::eq("failedLogins", seen))),
    }
}

/// The update that clears failed logins and any lock after a successful login.
pub fn clear_failed_logins(user: Id) -> Write {
    Write::Update {
        key: user_key(user),
        update: Update::new().set("failedLogins", 0).remove("lockedUntil"),
        cond: Some(Cond::present()),
    }
}

/// Holds an email address for one account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EmailGuard {
    pub user_id: Id,
}

pub fn email_key(email: &EmailAddress) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// A non-secret id for the session (logs, activity); the token itself is never stored.
    pub session_id: String,
    pub user_id: Id,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// The SHA-256 of the token: the key, not an attribute.
    #[serde(skip)]
    pub token_hash: String,
}

pub fn session_key(token_hash: &str) -> Key {
    Key::new(format!("SESSION#{token_hash}"), "SESSION")
}

impl Record for Session {
    fn key(&self) -> Key {
        session_key(&self.token_hash)
    }
    fn index(&self) -> Vec<(&'static str, serde_json::Value)> {
        vec![("ttl", json!(self.expires_at.timestamp()))]
    }
}

/// The session stored under a token's hash.
pub async fn find_session(
    store: &dyn Store,
    token_hash: &str,
) -> Result<Option<Session>, StoreError> {
    let found: Option<Session> = get(store, &session_key(token_hash)).await?;
    Ok(found.map(|s| Session {
        token_hash: token_hash.to_string(),
        ..s
    }))
}

/// The write that revokes a session (failing if it is already gone).
pub fn revoke_session(token_hash: &str) -> Write {
    Write::Delete {
        key: session_key(token_hash),
        cond: Some(Cond::present()),
    }
}

/// The counter of failed logins for an address no account has (by the address's hash).
pub fn login_failures_key(email_hash: &str) -> Key {
    Key::new(format!("LOGINFAIL#{email_hash}"), "LOGINFAIL")
}

/// One failed login for an address no account has.
pub fn login_attempt_key(email_hash: &str, at: &str, tail: &str) -> Key {
    Key::new(
        format!("LOGINFAIL#{email_hash}"),
        format!("ATTEMPT#{at}#{tail}"),
    )
}

/// The writes that record a login attempt for an address no account has, under the SHA-256 of
/// the address (never the address): a counter and the attempt, both kept a day.
pub fn unknown_email_attempt(
    email: &EmailAddress,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Write> {
    let hash = sha256_hex(email.as_str().as_bytes());
    let ttl = json!((now + chrono::Duration::days(1)).timestamp());
    let at = crate::domain::time::format(now);
    let mut attempt = login_attempt_key(&hash, &at, &random_hex_id()[..8]).to_item();
    attempt.insert("at".into(), json!(at));
    attempt.insert("ipAddress".into(), json!(ip));
    attempt.insert("ttl".into(), ttl.clone());
    vec![
        Write::Update {
            key: login_failures_key(&hash),
            update: Update::new()
                .add("attempts", 1)
                .set("lastAttemptAt", at.as_str())
                .set("ttl", ttl),
            cond: None,
        },
        Write::put_new(attempt),
    ]
}
