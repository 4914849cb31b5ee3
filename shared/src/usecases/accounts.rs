//! Pieces every way of creating an account shares (operator, self-registration, invitation).

use crate::domain::error::{ApiError, Exception};
use crate::domain::secrets;
use crate::domain::{Password, PasswordPolicyError};
use crate::ports::store::Item;
use crate::ports::store::Write;
use crate::records::{email_key, member_key, to_item, user_key, EmailGuard, Membership, User};
use serde_json::json;

/// A new password under the policy: a wrong length is WSPasswordLengthException, anything else
/// the policy refuses is WSInvalidParameterException.
pub fn new_password(raw: String) -> Result<Password, ApiError> {
    Password::new_policy(raw).map_err(|e| match e {
        PasswordPolicyError::Length => ApiError::new(Exception::PasswordLength, e.to_string()),
        _ => ApiError::invalid(e.to_string()),
    })
}

/// Hashes a password on a blocking thread (Argon2id takes tens of milliseconds of CPU); a
/// failure is WSPasswordServiceException.
pub async fn hash_password(password: &Password) -> Result<String, ApiError> {
    let pw = password.clone();
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "password hashing failed");
        ApiError::new(
            Exception::PasswordService,
            "The password could not be stored.",
        )
    };
    tokio::task::spawn_blocking(move || secrets::hash_password(pw.expose()))
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))
}

/// The membership item, indexed under its user (gsi1) so a user's companies are one query.
pub fn membership_item(m: &Membership) -> Item {
    to_item(
        &member_key(m.company_id, m.user_id),
        m,
        &[
            ("gsi1pk", json!(format!("USER#{}", m.user_id))),
            ("gsi1sk", json!(format!("COMPANY#{}", m.company_id))),
        ],
    )
}

/// The writes that create an account: the email guard (index 0 of the two, failing when the
/// email is taken) and the user, with extra attributes on the user item.
pub fn new_user_writes(user: &User, extra: &[(&str, serde_json::Value)]) -> [Write; 2] {
    [
        Write::put_new(to_item(
            &email_key(&user.email),
            &EmailGuard {
                user_id: user.user_id,
            },
            &[],
        )),
        Write::put_new(to_item(&user_key(user.user_id), user, extra)),
    ]
}
