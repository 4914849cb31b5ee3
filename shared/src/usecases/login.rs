//! loginUser and logoutUser.

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::{self, random_hex_id, Token};
use crate::domain::{Caller, EmailAddress, Id, Password};
use crate::records::{self, notification, user, ApiKeyType, Session, Status, User};
use crate::usecases::account_activity::{account_sites, record_for, transact, AccountEvent};
use crate::usecases::{apikeys, failed, limits};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The loginUser body as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub email_address: Option<String>,
    pub password: Option<String>,
    pub api_key: Option<String>,
    /// Keep the session in a browser cookie too (the platform family's calls read it, with a
    /// CSRF token answered here).
    pub set_cookie: Option<bool>,
}

/// A login request, validated.
#[derive(Debug)]
pub struct Credentials {
    pub email: EmailAddress,
    pub password: Password,
    pub app_key: Option<String>,
    pub cookie: bool,
}

impl TryFrom<LoginRequest> for Credentials {
    type Error = DomainError;
    fn try_from(req: LoginRequest) -> Result<Self, DomainError> {
        let raw_email = req
            .email_address
            .ok_or_else(|| DomainError::invalid("emailAddress is required"))?;
        let email = EmailAddress::parse(&raw_email)
            .map_err(|e| DomainError::invalid(format!("emailAddress: {e}")))?;
        let password =
            Password::presented(req.password.unwrap_or_default()).map_err(DomainError::invalid)?;
        Ok(Credentials {
            email,
            password,
            app_key: req.api_key,
            cookie: req.set_cookie.unwrap_or(false),
        })
    }
}

/// What a successful login returns: the token, shown this once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginGranted {
    /// Left out of the body of a cookie login (see loginUser's handler): emptied there.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_token: String,
    pub user_id: Id,
    /// RFC 3339, UTC, whole seconds (the one timestamp format of the API).
    pub expires_at: String,
    /// For a cookie session: the token to send as `X-Csrf-Token_{companyId}` (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

fn invalid_login() -> DomainError {
    DomainError::new(
        ErrorKind::InvalidLogin,
        "The email address or password is incorrect.",
    )
}

fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> DomainError {
    let secs = (until - now).num_seconds().max(1) as u64;
    DomainError::new(
        ErrorKind::AccountLocked,
        "Too many failed logins: the account is locked for a while; try again later.",
    )
    .with_retry_after(secs)
}

async fn check_password(password: &Password, phc: &str) -> Result<bool, DomainError> {
    crate::usecases::accounts::note_hashing();
    let (pw, phc) = (password.clone(), phc.to_string());
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "password check failed");
        DomainError::new(
            ErrorKind::PasswordService,
            "The password could not be checked.",
        )
    };
    tokio::task::spawn_blocking(move || secrets::verify_password(pw.expose(), &phc))
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))
}

/// Logs a user in: checks the password (the same answer, in the same time, for an unknown
/// email and a wrong password), locks the account after repeated failures, and on success
/// stores a new session under the hash of a fresh token. Every password check is reserved
/// atomically before it runs, so no burst of concurrent attempts gets more than the threshold.
pub async fn login(
    app: &App,
    credentials: Credentials,
    caller: &Caller,
) -> Result<LoginGranted, DomainError> {
    let now = app.clock.now();
    let fail = failed(Service::User);
    let with_app_key = match credentials.app_key.as_deref() {
        Some(k) => {
            apikeys::resolve(app, k, ApiKeyType::App, Service::User).await?;
            true
        }
        None => false,
    };
    let source = Source::of(caller, with_app_key);
    // Counted before anything is looked up: the answer never depends on the address.
    limits::login_from(app, caller, &credentials.email, now).await?;
    let store = app.store.as_ref();
    let Some(user) = user::find_by_email(store, &credentials.email)
        .await
        .map_err(&fail)?
    else {
        return Err(unknown_email(app, &credentials, caller, now).await?);
    };
    let attempt = reserve(app, user, source, caller, now).await?;
    let user = &attempt.user;
    let (checked, sites) = check_with_sites(app, &credentials.password, user, now).await;
    let sites = sites.map_err(&fail)?;
    if !checked? {
        return Err(failed_check(app, &attempt, source, caller, now, &sites).await?);
    }
    if user.status != Status::Active {
        return Err(DomainError::new(
            ErrorKind::UserNotActive,
            "The user is not active.",
        ));
    }
    start_session(
        app,
        &attempt,
        credentials.cookie,
        source,
        caller,
        now,
        &sites,
    )
    .await
}

/// Checks the password while reading the sites that see the attempt (`account_sites`): the
/// read hides in the check's time, so a wrong password takes as long as an unknown email.
async fn check_with_sites(
    app: &App,
    password: &Password,
    user: &User,
    now: DateTime<Utc>,
) -> (
    Result<bool, DomainError>,
    Result<Vec<Id>, crate::ports::store::StoreError>,
) {
    tokio::join!(
        check_password(password, &user.password_hash),
        account_sites(app, user.user_id, now)
    )
}

/// Records a password check that failed: the error to answer (locked when this check used up
/// the last one the threshold allows).
async fn failed_check(
    app: &App,
    attempt: &Attempt,
    source: Source,
    caller: &Caller,
    now: DateTime<Utc>,
    sites: &[Id],
) -> Result<DomainError, DomainError> {
    let user = attempt.user.user_id;
    let failed_check = record_for(
        sites,
        AccountEvent {
            user,
            kind: ActivityType::LoginFailed,
            source,
            caller,
            session_id: None,
            now,
        },
    );
    transact(app, failed_check)
        .await
        .map_err(failed(Service::User))?;
    Ok(match attempt.locks {
        Some(until) => {
            tracing::warn!(user_id = %user, "account locked after repeated failed logins");
            locked(until, now)
        }
        None => invalid_login(),
    })
}

/// Checks an account's password the way login does (reserved before it runs, counted, locked
/// after the threshold), for calls that need the owner's proof; success clears the count.
pub async fn check_account_password(
    app: &App,
    account: User,
    password: &Password,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let source = Source::of(caller, false);
    let attempt = reserve(app, account, source, caller, now).await?;
    let (checked, sites) = check_with_sites(app, password, &attempt.user, now).await;
    let sites = sites.map_err(failed(Service::User))?;
    if !checked? {
        return Err(failed_check(app, &attempt, source, caller, now, &sites).await?);
    }
    let clear = user::finish_login(attempt.user.user_id, &attempt.id, now);
    match app.store.transact(vec![clear]).await {
        Ok(()) => Ok(()),
        Err(e) if e.failed_at(0) => Err(locked(now + chrono::Duration::seconds(1), now)),
        Err(e) => Err(failed(Service::User)(e)),
    }
}

/// An unknown email: the same work and the same answers as a wrong password (a write, a
/// password check, a write; locked for the same time after the same number of failures),
/// recorded under the address's hash, so a lockout never tells that an account exists.
async fn unknown_email(
    app: &App,
    credentials: &Credentials,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<DomainError, DomainError> {
    let fail = failed(Service::User);
    let store = app.store.as_ref();
    let lockout =
        chrono::Duration::from_std(app.config.lockout).unwrap_or(chrono::Duration::minutes(15));
    // Counted like a reservation on an account: retried while concurrent attempts move the
    // count on, so a burst is counted whole and locks as an account's would.
    let mut counted = None;
    for _ in 0..RESERVE_TRIES {
        let failures = user::unknown_email_failures(store, &credentials.email)
            .await
            .map_err(&fail)?;
        if let Some(until) = failures.locked_until.filter(|u| *u > now) {
            return Err(locked(until, now));
        }
        let (counter, attempt, locks) = user::unknown_email_attempt(
            &credentials.email,
            &failures,
            caller.ip.as_deref(),
            now,
            (app.config.lockout_threshold, now + lockout),
        );
        match app.store.transact(vec![counter]).await {
            Ok(()) => {
                counted = Some((attempt, locks));
                break;
            }
            Err(e) if e.failed_at(0) => continue,
            Err(e) => return Err(fail(e)),
        }
    }
    let Some((attempt, locks)) = counted else {
        return Err(locked(now + chrono::Duration::seconds(1), now));
    };
    let pw = credentials.password.clone();
    crate::usecases::accounts::note_hashing();
    let _ = tokio::task::spawn_blocking(move || secrets::verify_against_dummy(pw.expose())).await;
    app.store.transact(vec![attempt]).await.map_err(&fail)?;
    Ok(match locks {
        Some(until) => locked(until, now),
        None => invalid_login(),
    })
}

/// A reserved password check: the user as it was reserved on, the attempt's id, and the lock
/// this attempt set (it was the last one the threshold allows).
struct Attempt {
    user: User,
    id: String,
    locks: Option<DateTime<Utc>>,
}

/// How often a reservation is retried when concurrent attempts keep changing the user.
const RESERVE_TRIES: usize = 10;

/// Reserves one password check, or refuses the attempt as locked without checking anything.
async fn reserve(
    app: &App,
    mut current: User,
    source: Source,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Attempt, DomainError> {
    let fail = failed(Service::User);
    let lockout =
        chrono::Duration::from_std(app.config.lockout).unwrap_or(chrono::Duration::minutes(15));
    for _ in 0..RESERVE_TRIES {
        if let Some(until) = current.locked_until.filter(|u| *u > now) {
            let sites = account_sites(app, current.user_id, now)
                .await
                .map_err(&fail)?;
            let seen = record_for(
                &sites,
                AccountEvent {
                    user: current.user_id,
                    kind: ActivityType::AccountLocked,
                    source,
                    caller,
                    session_id: None,
                    now,
                },
            );
            transact(app, seen).await.map_err(&fail)?;
            return Err(locked(until, now));
        }
        // An expired lock starts a new count.
        let expired = current.locked_until.is_some();
        let next = if expired {
            1
        } else {
            current.failed_logins + 1
        };
        let locks = (next >= app.config.lockout_threshold).then_some(now + lockout);
        let id = random_hex_id();
        let write =
            user::reserve_login_attempt(&current, next, locks.map(|u| (u, id.as_str())), expired);
        match app.store.transact(vec![write]).await {
            Ok(()) => {
                return Ok(Attempt {
                    user: current,
                    id,
                    locks,
                })
            }
            Err(e) if e.failed_at(0) => {
                current = user::find(app.store.as_ref(), current.user_id)
                    .await
                    .map_err(&fail)?
                    .ok_or_else(invalid_login)?;
            }
            Err(e) => return Err(fail(e)),
        }
    }
    // So many attempts at once on one account: refuse rather than check unreserved.
    Err(locked(now + chrono::Duration::seconds(1), now))
}

/// A new secret token from the OS generator; its failure is the user service's.
fn fresh_token(prefix: &str) -> Result<Token, DomainError> {
    Token::generate(prefix).map_err(|e| {
        tracing::error!(error = %e, "OS random generator failed");
        DomainError::new(
            ErrorKind::UserService,
            "The service failed; try again later.",
        )
    })
}

/// Stores a new session for the attempt's user with its activity item, clearing failed logins
/// unless another attempt has locked the account meanwhile.
async fn start_session(
    app: &App,
    attempt: &Attempt,
    cookie: bool,
    source: Source,
    caller: &Caller,
    now: DateTime<Utc>,
    sites: &[Id],
) -> Result<LoginGranted, DomainError> {
    let user = &attempt.user;
    let token = fresh_token("")?;
    let expires_at = now
        + chrono::Duration::from_std(app.config.session_ttl).unwrap_or(chrono::Duration::hours(12));
    let mut session = Session {
        session_id: random_hex_id(),
        user_id: user.user_id,
        created_at: now,
        expires_at,
        token_hash: token.hash(),
        csrf_hash: None,
        epoch: user.session_epoch,
    };
    let csrf = if cookie {
        let csrf = fresh_token("csrf_")?;
        session.csrf_hash = Some(csrf.hash());
        Some(csrf)
    } else {
        None
    };
    // Only if the password checked and the session generation read are still the account's:
    // a reset or deactivation that committed meanwhile wins (see `User::session_epoch`).
    let mut writes = vec![
        user::finish_login_as_seen(user.user_id, &attempt.id, now, Some(user)),
        records::put_new(&session),
    ];
    writes.extend(record_for(
        sites,
        AccountEvent {
            user: user.user_id,
            kind: ActivityType::LoginSuccessful,
            source,
            caller,
            session_id: Some(&session.session_id),
            now,
        },
    ));
    match transact(app, writes).await {
        Ok(()) => {}
        Err(e) if e.failed_at(0) => {
            let current = user::find(app.store.as_ref(), user.user_id)
                .await
                .map_err(failed(Service::User))?;
            return Err(match current {
                // The password changed or every session was revoked meanwhile.
                Some(u) if u.password_hash != user.password_hash => invalid_login(),
                Some(u) if u.session_epoch != user.session_epoch => {
                    DomainError::new(ErrorKind::UserNotActive, "The user is not active.")
                }
                Some(u) => locked(u.locked_until.unwrap_or(now), now),
                None => invalid_login(),
            });
        }
        Err(e) => return Err(failed(Service::User)(e)),
    }
    tracing::info!(user_id = %user.user_id, session_id = %session.session_id, "user logged in");
    Ok(LoginGranted {
        auth_token: token.reveal().to_string(),
        user_id: user.user_id,
        expires_at: crate::domain::time::format(expires_at),
        csrf_token: csrf.map(|c| c.reveal().to_string()),
    })
}

/// Revokes the caller's auth token and removes the devices that session registered (they
/// receive no more pushes for this account).
pub async fn logout(app: &App, session: &Session, caller: &Caller) -> Result<(), DomainError> {
    let now = app.clock.now();
    let registered: Vec<String> = notification::devices(app.store.as_ref(), session.user_id)
        .await
        .map_err(failed(Service::Cache))?
        .into_iter()
        .filter(|d| d.session_id.as_deref() == Some(session.session_id.as_str()))
        .map(|d| d.device_id)
        .collect();
    let sites = account_sites(app, session.user_id, now)
        .await
        .map_err(failed(Service::Cache))?;
    let mut writes = vec![user::revoke_session(&session.token_hash)];
    writes.extend(notification::forget_devices(session.user_id, &registered));
    // The index entries last (see `transact`).
    writes.extend(record_for(
        &sites,
        AccountEvent {
            user: session.user_id,
            kind: ActivityType::Logout,
            source: Source::of(caller, false),
            caller,
            session_id: Some(&session.session_id),
            now,
        },
    ));
    match transact(app, writes).await {
        Ok(()) => Ok(()),
        // Revoked by a concurrent logout: the token is gone either way.
        Err(e) if e.failed_at(0) => Err(DomainError::new(
            ErrorKind::InvalidAuthToken,
            "auth token is not valid",
        )),
        Err(e) => Err(failed(Service::Cache)(e)),
    }
}
