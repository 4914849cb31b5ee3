//! Pieces every way of creating an account shares (operator, self-registration, invitation).

use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::secrets;
use crate::domain::{EmailAddress, EmailError, Password, PasswordPolicyError};

/// A new password under the policy: a wrong length is `PasswordLength`, anything else the
/// policy refuses is `InvalidParameter`. A missing password is "password is required".
pub fn new_password(raw: Option<String>) -> Result<Password, DomainError> {
    let raw = raw
        .filter(|p| !p.is_empty())
        .ok_or_else(|| DomainError::invalid("password is required").at("password"))?;
    Password::new_policy(raw).map_err(|e| {
        match e {
            PasswordPolicyError::Length => {
                DomainError::new(ErrorKind::PasswordLength, e.to_string())
            }
            _ => DomainError::invalid(e.to_string()),
        }
        .at("password")
    })
}

/// An email address from a request field: a bad domain is `InvalidEmailDomainName`, anything
/// else `InvalidParameter`, both naming the field.
pub fn email_field(field: &str, raw: &str) -> Result<EmailAddress, DomainError> {
    EmailAddress::parse(raw).map_err(|e| match e {
        EmailError::Domain(m) => {
            DomainError::new(ErrorKind::InvalidEmailDomainName, format!("{field}: {m}")).at(field)
        }
        EmailError::Format(m) => DomainError::invalid(format!("{field}: {m}")).at(field),
    })
}

/// The functions (rows of the endpoint table, `app::current_function`) that have hashed or
/// checked a password in this process. Their memory is sized for Argon2id
/// (docs/performance.md, "Memory and hashing"); a test holds the endpoint table to this.
static HASHED_IN: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Notes that the current function hashes passwords (before it does).
pub fn note_hashing() {
    if let (Some(f), Ok(mut seen)) = (crate::app::current_function(), HASHED_IN.lock()) {
        seen.insert(f);
    }
}

/// Every function that has hashed or checked a password in this process so far.
pub fn functions_that_hashed() -> Vec<&'static str> {
    HASHED_IN
        .lock()
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default()
}

/// Hashes a password on a blocking thread (Argon2id takes tens of milliseconds of CPU); a
/// failure is `PasswordService`.
pub async fn hash_password(password: &Password) -> Result<String, DomainError> {
    note_hashing();
    let pw = password.clone();
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "password hashing failed");
        DomainError::new(
            ErrorKind::PasswordService,
            "The password could not be stored.",
        )
    };
    tokio::task::spawn_blocking(move || secrets::hash_password(pw.expose()))
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))
}
