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
    /// A self-registered account whose owner has not yet proven control of the address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
    /// Sessions created at or before this time are revoked (deactivation, a password reset).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::time::rfc3339_opt"
    )]
    pub sessions_after: Option<DateTime<Utc>>,
    /// The login attempt that set the lock (it alone may clear it with the right password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
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
            locked_by: None,
            unverified: false,
            sessions_after: None,
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

/// The update that reserves one password check before it is made. It counts the attempt as
/// `next` failed logins and, when `lock` is given, locks the account from now on for every
/// other attempt (the attempt `lock.1` may still clear it with the right password). It only
/// applies to the user exactly as read (`seen`): a concurrent attempt makes it fail, so every
/// check is counted once and none runs without a reservation.
pub fn reserve_login_attempt(
    seen: &User,
    next: u32,
    lock: Option<(DateTime<Utc>, &str)>,
    clear_expired_lock: bool,
) -> Write {
    let mut update = Update::new().set("failedLogins", next);
    match lock {
        Some((until, attempt)) => {
            update = update
                .set("lockedUntil", crate::domain::time::format(until))
                .set("lockedBy", attempt);
        }
        None if clear_expired_lock => update = update.remove("lockedUntil").remove("lockedBy"),
        None => {}
    }
    let count = if seen.failed_logins == 0 {
        Cond::Or(vec![
            Cond::NotExists("failedLogins".into()),
            Cond::eq("failedLogins", 0),
        ])
    } else {
        Cond::eq("failedLogins", seen.failed_logins)
    };
    let lock_as_seen = match seen.locked_until {
        Some(until) => Cond::eq("lockedUntil", crate::domain::time::format(until)),
        None => Cond::NotExists("lockedUntil".into()),
    };
    Write::Update {
        key: user_key(seen.user_id),
        update,
        cond: Some(Cond::present().and(count).and(lock_as_seen)),
    }
}

/// The update that ends a successful login: clears the count and any lock, but only if the
/// account is not locked by another attempt (an expired lock, or one this attempt set, is no
/// obstacle).
pub fn finish_login(user: Id, attempt: &str, now: DateTime<Utc>) -> Write {
    let unlocked = Cond::Or(vec![
        Cond::NotExists("lockedUntil".into()),
        Cond::Le(
            "lockedUntil".into(),
            crate::domain::time::format(now).into(),
        ),
        Cond::eq("lockedBy", attempt),
    ]);
    Write::Update {
        key: user_key(user),
        update: Update::new()
            .set("failedLogins", 0)
            .remove("lockedUntil")
            .remove("lockedBy"),
        cond: Some(Cond::present().and(unlocked)),
    }
}

/// The update that activates or deactivates an account; deactivating revokes every session.
pub fn set_status(user: Id, status: Status, now: DateTime<Utc>) -> Write {
    let mut update = Update::new().set("status", json!(status));
    if status == Status::Inactive {
        update = update.set("sessionsAfter", crate::domain::time::format(now));
    }
    Write::Update {
        key: user_key(user),
        update,
        cond: Some(Cond::present()),
    }
}

/// The update that marks an account's address verified.
pub fn mark_verified(user: Id) -> Write {
    Write::Update {
        key: user_key(user),
        update: Update::new().remove("unverified"),
        cond: Some(Cond::present()),
    }
}

/// The update that gives an account a new password, proven by control of its address: the
/// address is verified, failed logins and any lock are cleared, and every session is revoked.
/// `seen_hash` is the password hash it was read with (a concurrent change makes it fail).
pub fn replace_password(user: Id, seen_hash: &str, new_hash: &str, now: DateTime<Utc>) -> Write {
    Write::Update {
        key: user_key(user),
        update: Update::new()
            .set("passwordHash", new_hash)
            .set("sessionsAfter", crate::domain::time::format(now))
            .set("failedLogins", 0)
            .remove("lockedUntil")
            .remove("lockedBy")
            .remove("unverified"),
        cond: Some(Cond::present().and(Cond::eq("passwordHash", seen_hash))),
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
    /// For a session kept in a browser cookie: the SHA-256 of the CSRF token issued with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_hash: Option<String>,
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

/// The two writes that record a login attempt for an address no account has, under the
/// SHA-256 of the address (never the address): the counter (made before the dummy password
/// check, as a reservation is for a real account) and the attempt (after it), both kept a day.
pub fn unknown_email_attempt(
    email: &EmailAddress,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> (Write, Write) {
    let hash = sha256_hex(email.as_str().as_bytes());
    let ttl = json!((now + chrono::Duration::days(1)).timestamp());
    let at = crate::domain::time::format(now);
    let mut attempt = login_attempt_key(&hash, &at, &random_hex_id()[..8]).to_item();
    attempt.insert("at".into(), json!(at));
    attempt.insert("ipAddress".into(), json!(ip));
    attempt.insert("ttl".into(), ttl.clone());
    (
        Write::Update {
            key: login_failures_key(&hash),
            update: Update::new()
                .add("attempts", 1)
                .set("lastAttemptAt", at.as_str())
                .set("ttl", ttl),
            cond: None,
        },
        Write::put_new(attempt),
    )
}
