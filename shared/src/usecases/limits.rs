//! The limits every door shares: who may email people who did not ask for it, and how much
//! email, how many logins and how many registrations one party may cause in an hour
//! (`Config::limits`). Each limit is a counter in the table (`records::limit`); a call over one
//! is refused with `TooManyRequests` and the seconds until the hour turns. Each takes the use
//! case's `now` (the hour it counts in).

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::{Caller, EmailAddress, Id};
use crate::records::limit::{self, Subject};
use crate::records::user;
use crate::usecases::failed;
use chrono::{DateTime, Utc};

fn too_many(what: &str, limit: u32, now: DateTime<Utc>) -> DomainError {
    let (_, retry) = limit::hour_of(now);
    DomainError::new(
        ErrorKind::TooManyRequests,
        format!("{what} (at most {limit} an hour); try again later"),
    )
    .with_retry_after(retry)
}

/// Counts `n` for `subject` against `max`, or refuses with `what` as the reason.
async fn take(
    app: &App,
    subject: Subject,
    n: u32,
    max: u32,
    what: &str,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if limit::take(app.store.as_ref(), &subject, n, max, now)
        .await
        .map_err(failed(Service::Company))?
    {
        Ok(())
    } else {
        Err(too_many(what, max, now))
    }
}

/// Only an account whose address is proven may make admit email other people (an address
/// anyone could have registered must not turn admit into their mail relay).
pub async fn proven_sender(app: &App, sender: Id) -> Result<(), DomainError> {
    let me = user::find(app.store.as_ref(), sender)
        .await
        .map_err(failed(Service::User))?;
    if me.is_none_or(|u| u.unverified || u.status != crate::records::Status::Active) {
        return Err(DomainError::new(
            ErrorKind::NotPermitted,
            "confirm your email address (the link we sent you) before inviting anyone",
        ));
    }
    Ok(())
}

/// Whether `company` may send `email` one more email this hour (counted when it may).
pub async fn recipient_room(
    app: &App,
    company: Id,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<bool, DomainError> {
    let max = app.config.limits.recipient_per_hour;
    limit::take(
        app.store.as_ref(),
        &Subject::Recipient(Some(company), email.clone()),
        1,
        max,
        now,
    )
    .await
    .map_err(failed(Service::Company))
}

/// Counts `n` emails that `sender` (none: an operator) has `company` send to other people:
/// against the sender's hourly limit and, for a plain member (not `privileged`), against the
/// company's hourly ceiling for its plain members' email. The ceiling is theirs alone: plain
/// members (anyone with the app key can become one) can never use up the hour of the company's
/// reps, admins and operators.
pub async fn emails_to_others(
    app: &App,
    sender: Option<Id>,
    privileged: bool,
    company: Id,
    n: u32,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let l = app.config.limits;
    if let Some(sender) = sender {
        take(
            app,
            Subject::Sender(sender),
            n,
            l.sender_per_hour,
            "you have invited too many addresses this hour",
            now,
        )
        .await?;
    }
    if privileged || sender.is_none() {
        return Ok(());
    }
    take(
        app,
        Subject::Company(company),
        n,
        l.company_per_hour,
        "this company's members have sent too many invitations this hour",
        now,
    )
    .await
}

/// Counts one email from `company` to `email`, or refuses it.
pub async fn email_to(
    app: &App,
    company: Id,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if recipient_room(app, company, email, now).await? {
        Ok(())
    } else {
        Err(too_many(
            &format!("{email} was emailed too often from this company this hour"),
            app.config.limits.recipient_per_hour,
            now,
        ))
    }
}

/// Counts one email of the account flows (verification, password reset) to `email`.
pub async fn account_email(
    app: &App,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    take(
        app,
        Subject::Recipient(None, email.clone()),
        1,
        app.config.limits.recipient_per_hour,
        "too many emails were sent to this address this hour",
        now,
    )
    .await
}

/// Counts one login attempt from the caller's source IP.
pub async fn login_from(app: &App, caller: &Caller, now: DateTime<Utc>) -> Result<(), DomainError> {
    let max = app.config.limits.login_ip_per_hour;
    let what = "too many login attempts from your network this hour";
    from_ip(app, caller, Subject::LoginIp, max, what, now).await
}

/// Counts one self-registration from the caller's source IP.
pub async fn registration_from(
    app: &App,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let max = app.config.limits.register_ip_per_hour;
    let what = "too many registrations from your network this hour";
    from_ip(app, caller, Subject::RegistrationIp, max, what, now).await
}

/// Counts one call from the caller's source IP (a caller without one is not counted).
async fn from_ip(
    app: &App,
    caller: &Caller,
    subject: fn(String) -> Subject,
    max: u32,
    what: &str,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    match caller.ip.clone() {
        Some(ip) => take(app, subject(ip), 1, max, what, now).await,
        None => Ok(()),
    }
}
