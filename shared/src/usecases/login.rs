//! loginUser and logoutUser.

use crate::app::App;
use crate::domain::error::{ApiError, Exception, Service, Success};
use crate::domain::secrets::{self, random_hex_id, Token};
use crate::domain::Caller;
use crate::domain::{EmailAddress, Id, Password};
use crate::http::store_failure;
use crate::ports::store::{Cond, Update, Write};
use crate::records::activity::{self, ActivityType, Source};
use crate::records::{
    email_key, from_item, session_key, to_item, user_key, ApiKeyType, EmailGuard, Session, Status,
    User,
};
use crate::usecases::apikeys;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub email_address: Option<String>,
    pub password: Option<String>,
    pub api_key: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginGranted {
    pub auth_token: String,
    pub user_id: Id,
    pub expires_at: String,
}

pub const LOGGED_IN: &str = "User logged in.";
pub const LOGGED_OUT: &str = "User logged out.";

fn invalid_login() -> ApiError {
    ApiError::new(
        Exception::InvalidLogin,
        "The email address or password is incorrect.",
    )
}

fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> ApiError {
    let secs = (until - now).num_seconds().max(1) as u64;
    ApiError::new(
        Exception::AccountLocked,
        "Too many failed logins: the account is locked for a while; try again later.",
    )
    .with_retry_after(secs)
}

async fn check_password(password: &Password, phc: &str) -> Result<bool, ApiError> {
    let (pw, phc) = (password.clone(), phc.to_string());
    tokio::task::spawn_blocking(move || secrets::verify_password(pw.expose(), &phc))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password check task failed");
            ApiError::new(
                Exception::PasswordService,
                "The password could not be checked.",
            )
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "stored password hash is unusable");
            ApiError::new(
                Exception::PasswordService,
                "The password could not be checked.",
            )
        })
}

async fn find_user(app: &App, email: &EmailAddress) -> Result<Option<User>, ApiError> {
    let fail = store_failure(Service::User);
    let Some(guard) = app.store.get(&email_key(email)).await.map_err(&fail)? else {
        return Ok(None);
    };
    let guard: EmailGuard = from_item(guard).map_err(&fail)?;
    match app
        .store
        .get(&user_key(guard.user_id))
        .await
        .map_err(&fail)?
    {
        Some(item) => Ok(Some(from_item(item).map_err(&fail)?)),
        None => Ok(None),
    }
}

/// Logs a user in: checks the password (the same answer, in the same time, for an unknown
/// email and a wrong password), locks the account after repeated failures, and on success
/// stores a new session under the hash of a fresh token.
pub async fn login(
    app: &App,
    req: LoginRequest,
    caller: &Caller,
) -> Result<Success<'static, LoginGranted>, ApiError> {
    let raw_email = req
        .email_address
        .ok_or_else(|| ApiError::invalid("emailAddress is required"))?;
    let email = EmailAddress::parse(&raw_email)
        .map_err(|e| ApiError::invalid(format!("emailAddress: {e}")))?;
    let password =
        Password::presented(req.password.unwrap_or_default()).map_err(ApiError::invalid)?;
    let with_app_key = match req.api_key.as_deref() {
        Some(k) => {
            apikeys::resolve(app, k, ApiKeyType::App, Service::User).await?;
            true
        }
        None => false,
    };
    let source = Source::of(caller, with_app_key);
    let now = app.clock.now();

    let Some(user) = find_user(app, &email).await? else {
        let pw = password.clone();
        let _ =
            tokio::task::spawn_blocking(move || secrets::verify_against_dummy(pw.expose())).await;
        record_unknown_email(app, &email, caller, now).await?;
        return Err(invalid_login());
    };
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        app.store
            .transact(vec![activity::record(
                user.user_id,
                ActivityType::AccountLocked,
                source,
                caller,
                None,
                now,
            )])
            .await
            .map_err(store_failure(Service::User))?;
        return Err(locked(until, now));
    }

    if !check_password(&password, &user.password_hash).await? {
        return Err(record_failure(app, &user, source, caller, now).await?);
    }
    if user.status != Status::Active {
        return Err(ApiError::new(
            Exception::UserNotActive,
            "The user is not active.",
        ));
    }

    let token = Token::generate("").map_err(|e| {
        tracing::error!(error = %e, "OS random generator failed");
        ApiError::new(
            Exception::UserService,
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
    };
    let session_item = to_item(
        &session_key(&token.hash()),
        &session,
        &[("ttl", serde_json::json!(expires_at.timestamp()))],
    );
    let mut writes = vec![
        Write::put_new(session_item),
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
        writes.push(Write::Update {
            key: user_key(user.user_id),
            update: Update::new().set("failedLogins", 0).remove("lockedUntil"),
            cond: Some(Cond::present()),
        });
    }
    app.store
        .transact(writes)
        .await
        .map_err(store_failure(Service::User))?;
    tracing::info!(user_id = %user.user_id, session_id = %session.session_id, "user logged in");
    Ok(Success {
        error_code: 0,
        error_msg: LOGGED_IN,
        extra: LoginGranted {
            auth_token: token.reveal().to_string(),
            user_id: user.user_id,
            expires_at: expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
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
) -> Result<ApiError, ApiError> {
    let fail = store_failure(Service::User);
    let mut seen = user.failed_logins;
    for _ in 0..5 {
        let failures = seen + 1;
        let locking = failures >= app.config.lockout_threshold;
        let until = now
            + chrono::Duration::from_std(app.config.lockout)
                .unwrap_or(chrono::Duration::minutes(15));
        let update = if locking {
            Update::new().set("failedLogins", 0).set(
                "lockedUntil",
                until.to_rfc3339_opts(SecondsFormat::Millis, true),
            )
        } else {
            Update::new().set("failedLogins", failures)
        };
        let writes = vec![
            Write::Update {
                key: user_key(user.user_id),
                update,
                cond: Some(Cond::present().and(Cond::eq("failedLogins", seen))),
            },
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
                tracing::warn!(user_id = %user.user_id, failures, "account locked after repeated failed logins");
                return Ok(locked(until, now));
            }
            Ok(()) => return Ok(invalid_login()),
            Err(e) if e.failed_at(0) => {
                let fresh = app
                    .store
                    .get(&user_key(user.user_id))
                    .await
                    .map_err(&fail)?;
                let Some(fresh) = fresh else {
                    return Ok(invalid_login());
                };
                let fresh: User = from_item(fresh).map_err(&fail)?;
                if fresh.locked_until.is_some_and(|u| u > now) {
                    return Ok(locked(fresh.locked_until.unwrap_or(now), now));
                }
                seen = fresh.failed_logins;
            }
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(invalid_login())
}

/// Records a login attempt for an email no user has, under the SHA-256 of the address (never
/// the address itself): a counter and the attempt, kept a day. It is the same amount of work as
/// a wrong password's bookkeeping, so the two cannot be told apart by their timing.
async fn record_unknown_email(
    app: &App,
    email: &EmailAddress,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let pk = format!(
        "LOGINFAIL#{}",
        secrets::sha256_hex(email.as_str().as_bytes())
    );
    let ttl = serde_json::json!((now + chrono::Duration::days(1)).timestamp());
    let at = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut attempt = crate::ports::store::Key::new(
        pk.clone(),
        format!("ATTEMPT#{at}#{}", &random_hex_id()[..8]),
    )
    .to_item();
    attempt.insert("at".into(), serde_json::json!(at));
    attempt.insert("ipAddress".into(), serde_json::json!(caller.ip));
    attempt.insert("ttl".into(), ttl.clone());
    let writes = vec![
        Write::Update {
            key: crate::ports::store::Key::new(pk, "LOGINFAIL"),
            update: Update::new()
                .add("attempts", 1)
                .set("lastAttemptAt", at.as_str())
                .set("ttl", ttl),
            cond: None,
        },
        Write::put_new(attempt),
    ];
    app.store
        .transact(writes)
        .await
        .map_err(store_failure(Service::User))
}

/// Revokes the caller's auth token.
pub async fn logout(
    app: &App,
    token: &Token,
    session: &Session,
    caller: &Caller,
) -> Result<Success<'static, serde_json::Map<String, serde_json::Value>>, ApiError> {
    let now = app.clock.now();
    let writes = vec![
        Write::Delete {
            key: session_key(&token.hash()),
            cond: Some(Cond::present()),
        },
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
        Ok(()) => {}
        // Revoked by a concurrent logout: the token is gone either way.
        Err(e) if e.failed_at(0) => {
            return Err(ApiError::new(
                Exception::InvalidAuthToken,
                "auth token is not valid",
            ))
        }
        Err(e) => return Err(store_failure(Service::Cache)(e)),
    }
    Ok(Success::message(LOGGED_OUT))
}
