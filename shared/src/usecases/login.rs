//! loginUser and logoutUser.

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::{self, random_hex_id, Token};
use crate::domain::{Caller, EmailAddress, Id, Password};
use crate::records::{self, activity, user, ApiKeyType, Session, Status, User};
use crate::usecases::{apikeys, failed};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The loginUser body as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub email_address: Option<String>,
    pub password: Option<String>,
    pub api_key: Option<String>,
}

/// A login request, validated.
#[derive(Debug)]
pub struct Credentials {
    pub email: EmailAddress,
    pub password: Password,
    pub app_key: Option<String>,
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
        })
    }
}

/// What a successful login returns: the token, shown this once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginGranted {
    pub auth_token: String,
    pub user_id: Id,
    /// RFC 3339, UTC, whole seconds (the one timestamp format of the API).
    pub expires_at: String,
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
/// stores a new session under the hash of a fresh token.
pub async fn login(
    app: &App,
    credentials: Credentials,
    caller: &Caller,
) -> Result<LoginGranted, DomainError> {
    let fail = failed(Service::User);
    let with_app_key = match credentials.app_key.as_deref() {
        Some(k) => {
            apikeys::resolve(app, k, ApiKeyType::App, Service::User).await?;
            true
        }
        None => false,
    };
    let source = Source::of(caller, with_app_key);
    let now = app.clock.now();
    let store = app.store.as_ref();

    let Some(user) = user::find_by_email(store, &credentials.email)
        .await
        .map_err(&fail)?
    else {
        let pw = credentials.password.clone();
        let _ =
            tokio::task::spawn_blocking(move || secrets::verify_against_dummy(pw.expose())).await;
        let writes = user::unknown_email_attempt(&credentials.email, caller.ip.as_deref(), now);
        store.transact(writes).await.map_err(&fail)?;
        return Err(invalid_login());
    };
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        let seen = activity::record(
            user.user_id,
            ActivityType::AccountLocked,
            source,
            caller,
            None,
            now,
        );
        store.transact(vec![seen]).await.map_err(&fail)?;
        return Err(locked(until, now));
    }
    if !check_password(&credentials.password, &user.password_hash).await? {
        return Err(record_failure(app, &user, source, caller, now).await?);
    }
    if user.status != Status::Active {
        return Err(DomainError::new(
            ErrorKind::UserNotActive,
            "The user is not active.",
        ));
    }
    start_session(app, &user, source, caller, now).await
}

/// Stores a new session for `user` with its activity item, clearing failed logins.
async fn start_session(
    app: &App,
    user: &User,
    source: Source,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<LoginGranted, DomainError> {
    let token = Token::generate("").map_err(|e| {
        tracing::error!(error = %e, "OS random generator failed");
        DomainError::new(
            ErrorKind::UserService,
            "The service failed; try again later.",
        )
    })?;
    let expires_at = now
        + chrono::Duration::from_std(app.config.session_ttl).unwrap_or(chrono::Duration::hours(12));
    let session = Session {
        session_id: random_hex_id(),
        user_id: user.user_id,
        created_at: now,
        expires_at,
        token_hash: token.hash(),
    };
    let mut writes = vec![
        records::put_new(&session),
        activity::record(
            user.user_id,
            ActivityType::LoginSuccessful,
            source,
            caller,
            Some(&session.session_id),
            now,
        ),
    ];
    if user.failed_logins > 0 || user.locked_until.is_some() {
        writes.push(user::clear_failed_logins(user.user_id));
    }
    app.store
        .transact(writes)
        .await
        .map_err(failed(Service::User))?;
    tracing::info!(user_id = %user.user_id, session_id = %session.session_id, "user logged in");
    Ok(LoginGranted {
        auth_token: token.reveal().to_string(),
        user_id: user.user_id,
        expires_at: crate::domain::time::format(expires_at),
    })
}

/// Counts a failed login in one transaction with its activity item; the failure that reaches
/// the threshold locks the account. The count is updated only if no concurrent attempt changed
/// it first (then the attempt is counted again on the fresh value).
async fn record_failure(
    app: &App,
    user: &User,
    source: Source,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<DomainError, DomainError> {
    let fail = failed(Service::User);
    let lockout =
        chrono::Duration::from_std(app.config.lockout).unwrap_or(chrono::Duration::minutes(15));
    let mut seen = user.failed_logins;
    for _ in 0..5 {
        let locking = seen + 1 >= app.config.lockout_threshold;
        let until = now + lockout;
        let writes = vec![
            user::count_failed_login(user.user_id, seen, locking.then_some(until)),
            activity::record(
                user.user_id,
                ActivityType::LoginFailed,
                source,
                caller,
                None,
                now,
            ),
        ];
        match app.store.transact(writes).await {
            Ok(()) if locking => {
                tracing::warn!(user_id = %user.user_id, "account locked after repeated failed logins");
                return Ok(locked(until, now));
            }
            Ok(()) => return Ok(invalid_login()),
            Err(e) if e.failed_at(0) => {
                let Some(fresh) = user::find(app.store.as_ref(), user.user_id)
                    .await
                    .map_err(&fail)?
                else {
                    return Ok(invalid_login());
                };
                if let Some(u) = fresh.locked_until.filter(|u| *u > now) {
                    return Ok(locked(u, now));
                }
                seen = fresh.failed_logins;
            }
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(invalid_login())
}

/// Revokes the caller's auth token.
pub async fn logout(app: &App, session: &Session, caller: &Caller) -> Result<(), DomainError> {
    let now = app.clock.now();
    let writes = vec![
        user::revoke_session(&session.token_hash),
        activity::record(
            session.user_id,
            ActivityType::Logout,
            Source::of(caller, false),
            caller,
            Some(&session.session_id),
            now,
        ),
    ];
    match app.store.transact(writes).await {
        Ok(()) => Ok(()),
        // Revoked by a concurrent logout: the token is gone either way.
        Err(e) if e.failed_at(0) => Err(DomainError::new(
            ErrorKind::InvalidAuthToken,
            "auth token is not valid",
        )),
        Err(e) => Err(failed(Service::Cache)(e)),
    }
}
