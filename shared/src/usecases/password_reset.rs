//! Password reset by email: asking gives the same answer whether the address has an account
//! or not, and is limited per address and hour; the emailed single-use token (its hash alone
//! is stored) expires within the hour; the new password follows the policy; every session is
//! revoked; the address counts as verified (the owner proved control of it).

use crate::app::App;
use crate::domain::activity::ActivityType;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::html;
use crate::domain::secrets::{random_hex_id, Token};
use crate::domain::{Caller, EmailAddress};
use crate::ports::mail::Email;
use crate::ports::store::{StoreError, Write};
use crate::records::outbox::{self, AddressEmail, Message};
use crate::records::verification::{self, AddressToken, Purpose};
use crate::records::{user, User};
use crate::usecases::account_activity::{self, AccountEvent};
use crate::usecases::accounts::{email_field, hash_password, new_password};
use crate::usecases::unit::UnitOfWork;
use crate::usecases::{failed, limits, takeback, verification as verify};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Reset requests one address may make in an hour.
pub const RESETS_PER_HOUR: u32 = 3;
/// How long a reset link works.
pub const RESET_MINUTES: i64 = 60;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetRequest {
    pub email_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetConfirmation {
    pub token: Option<String>,
    pub password: Option<String>,
    /// The owner's name, for an account whose address was never proven (it is taken back, and
    /// nothing its registrant chose is kept); ignored otherwise.
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

/// The address a reset is asked for, validated.
pub fn requested_address(body: ResetRequest) -> Result<EmailAddress, DomainError> {
    let raw = body
        .email_address
        .ok_or_else(|| DomainError::invalid("emailAddress is required"))?;
    email_field("emailAddress", &raw)
}

/// Asks for a reset email. The answer is the same whether or not the address has an account;
/// more than `RESETS_PER_HOUR` requests for one address in an hour are refused, known or not.
pub async fn request(app: &App, email: EmailAddress, link_base: &str) -> Result<(), DomainError> {
    let fail = failed(Service::User);
    let store = app.store.as_ref();
    let now = app.clock.now();
    if !verification::count_reset_request(store, &email, now, RESETS_PER_HOUR)
        .await
        .map_err(&fail)?
    {
        let next_hour = 3600 - now.timestamp().rem_euclid(3600);
        return Err(DomainError::new(
            ErrorKind::TooManyRequests,
            "too many password reset requests for this address; try again later",
        )
        .with_retry_after(next_hour as u64));
    }
    let account = user::find_by_email(store, &email).await.map_err(&fail)?;
    // Over the address's hourly limit of account emails, nothing is sent, and the answer is
    // the same as ever (it must not tell that the account exists).
    // Counted for every address, known or not (the same work whether or not it has an
    // account), in the transaction that queues the email: a failed one spends nothing.
    let charges = match limits::account_email(app, &email, now) {
        Ok(charges) => charges,
        Err(e) if e.kind == ErrorKind::TooManyRequests => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut queued = UnitOfWork::new();
    queued.charge(charges);
    queued.extend(account.iter().map(|account| {
        let message = Message::PasswordReset(AddressEmail {
            user_id: account.user_id,
            email: email.clone(),
            link_base: link_base.to_string(),
            welcome: None,
        });
        outbox::enqueue(&random_hex_id(), now, &message)
    }));
    match queued.commit(app, &fail).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind == ErrorKind::TooManyRequests => Ok(()),
        Err(e) => Err(e),
    }
}

/// Called by the dispatcher: issues the reset token and renders the email (`None` when the
/// account is gone or has another address now).
pub async fn issue(app: &App, msg: &AddressEmail) -> Result<Option<Email>, StoreError> {
    let store = app.store.as_ref();
    let Some(account) = user::find(store, msg.user_id).await? else {
        return Ok(None);
    };
    if account.email != msg.email {
        return Ok(None);
    }
    let record = AddressToken {
        user_id: msg.user_id,
        email: msg.email.clone(),
        expires_at: app.clock.now() + chrono::Duration::minutes(RESET_MINUTES),
        password_fingerprint: Some(verification::password_fingerprint(&account.password_hash)),
    };
    let link = verify::mint_link(
        app,
        Purpose::Reset,
        &record,
        &msg.link_base,
        RESET_PAGE_PATH,
    )
    .await?;
    Ok(Some(reset_email(msg, &link)))
}

/// The page a reset email links to (`GET` shows the form, `POST` sets the password).
pub const RESET_PAGE_PATH: &str = "/account/password/reset";

/// The page where someone asks for a reset link (the way forward from a dead reset link).
pub const FORGOT_PAGE_PATH: &str = "/account/password/forgot";

fn reset_email(msg: &AddressEmail, link: &str) -> Email {
    let letter = html::Letter {
        heading: "Reset your password".into(),
        greeting: Some("Hello,".into()),
        paragraphs: vec![format!(
            "Someone asked to reset the password of the account {}.",
            msg.email
        )],
        action: Some(html::Action {
            label: "Choose a new password".into(),
            does: "Open the page to choose a new password; the link works once, and every device signed in to the account is signed out.".into(),
            url: link.to_string(),
            expires: Some(format!("in {RESET_MINUTES} minutes")),
        }),
        footer: vec!["If you did not ask, ignore this email: your password stays as it is.".into()],
        ..html::Letter::default()
    };
    Email::letter(msg.email.to_string(), "Reset your password", &letter)
}

fn gone() -> DomainError {
    DomainError::new(
        ErrorKind::RecordNotFound,
        "reset link not found or already used",
    )
}

/// What a reset link's page shows: the account's address and when the link stops working.
#[derive(Debug)]
pub struct ResetPreview {
    pub email_address: String,
    pub expires_at: DateTime<Utc>,
    /// Nobody has proven the address: the reset takes the account back, and the page asks for
    /// the owner's name too.
    pub takes_back: bool,
}

/// The reset link's account, checked as `confirm` checks it, without using the link up.
pub async fn preview(app: &App, token: Option<&str>) -> Result<ResetPreview, DomainError> {
    let token = presented(token)?;
    let (record, account) = live_link(app, &token, app.clock.now()).await?;
    Ok(ResetPreview {
        email_address: account.email.to_string(),
        expires_at: record.expires_at,
        takes_back: account.unverified,
    })
}

fn presented(raw: Option<&str>) -> Result<Token, DomainError> {
    raw.and_then(Token::presented)
        .ok_or_else(|| DomainError::invalid("token is required"))
}

/// A reset token's record and account, checked: known, unexpired, for the account's current
/// address and password (one reset uses up every link sent before it: they were for a
/// password that is gone).
async fn live_link(
    app: &App,
    token: &Token,
    now: DateTime<Utc>,
) -> Result<(AddressToken, User), DomainError> {
    let fail = failed(Service::User);
    let store = app.store.as_ref();
    let record = verification::find(store, Purpose::Reset, &token.hash())
        .await
        .map_err(&fail)?
        .ok_or_else(gone)?;
    if record.expires_at <= now {
        return Err(expired());
    }
    let account = user::find(store, record.user_id)
        .await
        .map_err(&fail)?
        .filter(|u| u.email == record.email && !u.taken_back)
        .ok_or_else(gone)?;
    if record.password_fingerprint.as_deref()
        != Some(verification::password_fingerprint(&account.password_hash).as_str())
    {
        return Err(gone());
    }
    Ok((record, account))
}

fn expired() -> DomainError {
    DomainError::new(
        ErrorKind::Expired,
        "the reset link has expired; ask for a new one",
    )
}

/// Sets the new password with a reset token, once; every session of the account is revoked.
pub async fn confirm(
    app: &App,
    body: ResetConfirmation,
    caller: &Caller,
) -> Result<(), DomainError> {
    let fail = failed(Service::User);
    let token = presented(body.token.as_deref())?;
    let password = new_password(body.password)?;
    let now = app.clock.now();
    let (_, account) = live_link(app, &token, now).await?;
    // The mailbox alone proved the address: an account nobody had proven is taken back whole.
    let names = match account.unverified {
        true => Some(takeback::owners_name(
            (body.first_name.as_deref(), body.last_name.as_deref()),
            Default::default(),
            &account.email,
        )?),
        false => None,
    };
    let hash = hash_password(&password).await?;
    let mut writes: Vec<Write> = vec![verification::use_up(Purpose::Reset, &token.hash())];
    let event = AccountEvent::of(account.user_id, ActivityType::PasswordReset, caller, now);
    match names {
        Some((first, last)) => {
            let taken = takeback::take_back(app, &account, hash, (&first, &last), now).await?;
            writes.extend(taken.writes);
            // The owner's new account is in no company yet: only its own log records it.
            let event = AccountEvent {
                user: taken.owner.user_id,
                ..event
            };
            writes.extend(account_activity::record_for(&[], event));
        }
        None => {
            writes.push(user::replace_password(
                account.user_id,
                &account.password_hash,
                &hash,
                now,
            ));
            writes.extend(verify::activate_pending(app, account.user_id, None).await?);
            writes.extend(crate::usecases::devices::forget_all(app, account.user_id).await?);
            writes.extend(account_activity::record(app, event).await.map_err(&fail)?);
        }
    }
    account_activity::transact(app, writes)
        .await
        .map_err(|e| crate::usecases::link_used_or_changed(e, 1, gone, fail))?;
    tracing::info!(user_id = %account.user_id, "password reset");
    Ok(())
}
