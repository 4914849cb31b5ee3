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
    /// The generation of the account's sessions: a session lives only while it carries the
    /// current one. Revoking every session (deactivation, a new password) moves it on in the
    /// same write that changes the account, and a login commits only if the password it checked
    /// and the generation it read are still the account's: whatever the interleaving, a session
    /// never outlives a revocation it raced.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub session_epoch: u64,
    /// The address was taken back from this unproven account by its owner (who has another
    /// account now): it is closed, and no link sent to it works.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub taken_back: bool,
    /// The login attempt that set the lock (it alone may clear it with the right password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
            taken_back: false,
            sessions_after: None,
            session_epoch: 0,
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
    finish_login_as_seen(user, attempt, now, None)
}

/// The condition that the account still has `seen`'s password and session generation.
fn same_password_and_epoch(seen: &User) -> Cond {
    let epoch = if seen.session_epoch == 0 {
        Cond::Or(vec![
            Cond::NotExists("sessionEpoch".into()),
            Cond::eq("sessionEpoch", 0),
        ])
    } else {
        Cond::eq("sessionEpoch", seen.session_epoch)
    };
    Cond::eq("passwordHash", seen.password_hash.as_str()).and(epoch)
}

/// The check that the account's sessions are still of generation `epoch` (no revocation, such
/// as a new password, a take-back or a deactivation, came in between): a write a session makes
/// on the account's behalf never outlives a revocation it raced.
pub fn sessions_still_of(user: Id, epoch: u64) -> Write {
    let cond = if epoch == 0 {
        Cond::Or(vec![
            Cond::NotExists("sessionEpoch".into()),
            Cond::eq("sessionEpoch", 0),
        ])
    } else {
        Cond::eq("sessionEpoch", epoch)
    };
    Write::Check {
        key: user_key(user),
        cond: Cond::present().and(cond),
    }
}

/// `finish_login`, and when `seen` is given (a login about to start a session), only if the
/// account still has the password that was checked and the session generation that was read.
pub fn finish_login_as_seen(
    user: Id,
    attempt: &str,
    now: DateTime<Utc>,
    seen: Option<&User>,
) -> Write {
    let unlocked = Cond::Or(vec![
        Cond::NotExists("lockedUntil".into()),
        Cond::Le(
            "lockedUntil".into(),
            crate::domain::time::format(now).into(),
        ),
        Cond::eq("lockedBy", attempt),
    ]);
    let mut cond = Cond::present().and(unlocked);
    if let Some(seen) = seen {
        cond = cond.and(same_password_and_epoch(seen));
    }
    Write::Update {
        key: user_key(user),
        update: Update::new()
            .set("failedLogins", 0)
            .remove("lockedUntil")
            .remove("lockedBy"),
        cond: Some(cond),
    }
}

/// The update that activates or deactivates an account; deactivating revokes every session.
pub fn set_status(user: Id, status: Status, now: DateTime<Utc>) -> Write {
    let mut update = Update::new().set("status", json!(status));
    if status == Status::Inactive {
        update = update
            .set("sessionsAfter", crate::domain::time::format(now))
            .add("sessionEpoch", 1);
    }
    Write::Update {
        key: user_key(user),
        update,
        cond: Some(Cond::present()),
    }
}

/// The check that an account is still active (a concurrent deactivation makes the
/// transaction fail).
pub fn still_active(user: Id) -> Write {
    Write::Check {
        key: user_key(user),
        cond: Cond::eq("status", json!(Status::Active)),
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
            .add("sessionEpoch", 1)
            .set("failedLogins", 0)
            .remove("lockedUntil")
            .remove("lockedBy")
            .remove("unverified"),
        cond: Some(Cond::present().and(Cond::eq("passwordHash", seen_hash))),
    }
}

/// The update that moves an address's guard from the account `from` to the account `to` (only
/// while it still names `from`): the address is taken back from an unproven account.
pub fn move_email(email: &EmailAddress, from: Id, to: Id) -> Write {
    Write::Update {
        key: email_key(email),
        update: Update::new().set("userId", json!(to)),
        cond: Some(Cond::eq("userId", json!(from))),
    }
}

/// The update that closes an unproven account whose address was taken back, as it was read
/// (`seen`): deactivated, every session revoked. It keeps its id, name and history (what was
/// done in its name stays its own); its address is no longer its (`move_email`).
pub fn close_taken_back(seen: &User, now: DateTime<Utc>) -> Write {
    Write::Update {
        key: user_key(seen.user_id),
        update: Update::new()
            .set("status", json!(Status::Inactive))
            .set("takenBack", true)
            .set("sessionsAfter", crate::domain::time::format(now))
            .add("sessionEpoch", 1),
        cond: Some(Cond::present().and(Cond::eq("passwordHash", seen.password_hash.as_str()))),
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
    /// The account's session generation when the session began (`User::session_epoch`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: u64,
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

/// Failed logins for an address no account has, as counted so far.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnknownEmailFailures {
    #[serde(default)]
    pub failed_logins: u32,
    #[serde(default, with = "crate::domain::time::rfc3339_opt")]
    pub locked_until: Option<DateTime<Utc>>,
}

/// The failed logins counted for `email` (an address no account has).
pub async fn unknown_email_failures(
    store: &dyn Store,
    email: &EmailAddress,
) -> Result<UnknownEmailFailures, StoreError> {
    let hash = sha256_hex(email.as_str().as_bytes());
    Ok(get(store, &login_failures_key(&hash))
        .await?
        .unwrap_or_default())
}

/// The two writes that record a login attempt for an address no account has, under the
/// SHA-256 of the address (never the address): the counter (made before the dummy password
/// check, as a reservation is for a real account; it locks the address, as an account is
/// locked, once `threshold` is reached) and the attempt (after it), both kept a day; and the
/// lock this attempt sets, if any.
pub fn unknown_email_attempt(
    email: &EmailAddress,
    seen: &UnknownEmailFailures,
    ip: Option<&str>,
    now: DateTime<Utc>,
    (threshold, lock_until): (u32, DateTime<Utc>),
) -> (Write, Write, Option<DateTime<Utc>>) {
    let hash = sha256_hex(email.as_str().as_bytes());
    let ttl = json!((now + chrono::Duration::days(1)).timestamp());
    let at = crate::domain::time::format(now);
    let mut attempt = login_attempt_key(&hash, &at, &random_hex_id()[..8]).to_item();
    attempt.insert("at".into(), json!(at));
    attempt.insert("ipAddress".into(), json!(ip));
    attempt.insert("ttl".into(), ttl.clone());
    // An expired lock starts a new count.
    let next = if seen.locked_until.is_some() {
        1
    } else {
        seen.failed_logins + 1
    };
    let locks = (next >= threshold).then_some(lock_until);
    let mut update = Update::new()
        .set("failedLogins", next)
        .set("lastAttemptAt", at.as_str())
        .set("ttl", ttl);
    update = match locks {
        Some(until) => update.set("lockedUntil", crate::domain::time::format(until)),
        None => update.remove("lockedUntil"),
    };
    let count_as_seen = if seen.failed_logins == 0 {
        Cond::Or(vec![
            Cond::NotExists("failedLogins".into()),
            Cond::eq("failedLogins", 0),
        ])
    } else {
        Cond::eq("failedLogins", seen.failed_logins)
    };
    (
        Write::Update {
            key: login_failures_key(&hash),
            update,
            cond: Some(count_as_seen),
        },
        Write::put_new(attempt),
        locks,
    )
}
