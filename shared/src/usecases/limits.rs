//! The limits every door shares: who may email people who did not ask for it, and how much
//! email, how many logins and how many registrations one party may cause in an hour
//! (`Config::limits`). Each limit is a counter in the table (`records::limit`); a call over one
//! is refused with `TooManyRequests` and the seconds until the hour turns. Each takes the use
//! case's `now` (the hour it counts in).

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::{Caller, EmailAddress, Id};
use crate::ports::store::{Item, Key};
use crate::records;
use crate::records::limit::{self, Subject};
use crate::records::user;
use crate::usecases::failed;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

fn too_many(what: &str, limit: u32, now: DateTime<Utc>) -> DomainError {
    let (_, retry) = limit::hour_of(now);
    DomainError::new(
        ErrorKind::TooManyRequests,
        format!("{what} (at most {limit} an hour); try again later"),
    )
    .with_retry_after(retry)
}

/// Counts `n` for `subject` against `max` at once (attempts, counted whether or not anything
/// follows), or refuses with `what` as the reason.
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

/// Counts that a piece of work takes, written in the work's own transaction (`commit`): an
/// outage, a conflict or a crash that stops the work spends nothing, and two requests racing
/// for the last of an hour cannot both have it (the counter's condition fails one transaction).
#[derive(Default)]
pub struct Charges(Vec<Charge>);

struct Charge {
    subject: Subject,
    n: u32,
    max: u32,
    now: DateTime<Utc>,
    refusal: DomainError,
}

impl Charges {
    /// How many counters the charges write (at most: one each).
    pub fn charged(&self) -> usize {
        self.0.len()
    }

    fn add(
        mut self,
        subject: Subject,
        n: u32,
        max: u32,
        what: &str,
        now: DateTime<Utc>,
    ) -> Result<Charges, DomainError> {
        let refusal = too_many(what, max, now);
        if n > max {
            return Err(refusal);
        }
        if n > 0 {
            self.0.push(Charge {
                subject,
                n,
                max,
                now,
                refusal,
            });
        }
        Ok(self)
    }

    /// These and `other`.
    pub fn and(mut self, other: Charges) -> Charges {
        self.0.extend(other.0);
        self
    }

    /// Whether every count still has room this hour (a read of every counter at once: the
    /// transaction decides).
    pub async fn fit(&self, app: &App, now: DateTime<Utc>) -> Result<bool, DomainError> {
        let read = records::read_keys(app.store.as_ref(), &self.counters(now))
            .await
            .map_err(failed(Service::Company))?;
        Ok(self.fits_in(&read, now))
    }

    /// The keys of this hour's counters, to be read with other keys (`fits_in`).
    pub fn counters(&self, now: DateTime<Utc>) -> Vec<Key> {
        let (hour, _) = limit::hour_of(now);
        self.0
            .iter()
            .map(|c| limit::limit_key(&c.subject, hour))
            .collect()
    }

    /// Whether every count has room this hour, by the counters among `read`.
    pub fn fits_in(&self, read: &BTreeMap<Key, Item>, now: DateTime<Utc>) -> bool {
        let (hour, _) = limit::hour_of(now);
        self.0.iter().all(|c| {
            let used = limit::count_in(read.get(&limit::limit_key(&c.subject, hour)));
            used.saturating_add(c.n) <= c.max
        })
    }
}

/// Writes `writes` and `charges` in one transaction. A counter that has no room left answers
/// `TooManyRequests` with its reason; any other failure is `otherwise`'s to answer.
pub async fn commit(
    app: &App,
    mut writes: Vec<crate::ports::store::Write>,
    charges: Charges,
    otherwise: impl FnOnce(crate::ports::store::StoreError) -> DomainError,
) -> Result<(), DomainError> {
    let first = writes.len();
    let mut refusals = Vec::new();
    for c in charges.0 {
        if let Some(w) = limit::charge(&c.subject, c.n, c.max, c.now) {
            writes.push(w);
            refusals.push(c.refusal);
        }
    }
    match app.store.transact(writes).await {
        Ok(()) => Ok(()),
        Err(e) => Err(
            match refusals
                .iter()
                .enumerate()
                .find(|(i, _)| e.failed_at(first + i))
            {
                Some((_, refusal)) => refusal.clone(),
                None => otherwise(e),
            },
        ),
    }
}
/// The counts of `n` emails that `sender` (none: an operator) has `company` send to other
/// people: against the sender's hourly limit and, for a plain member (not `privileged`),
/// against the company's hourly ceiling for its plain members' email. The ceiling is theirs
/// alone: plain members (anyone with the app key can become one) can never use up the hour of
/// the company's reps, admins and operators. Refused at once when `n` alone is over a limit.
pub fn emails_to_others(
    app: &App,
    sender: Option<Id>,
    privileged: bool,
    company: Id,
    n: u32,
    now: DateTime<Utc>,
) -> Result<Charges, DomainError> {
    let l = app.config.limits;
    let mut charges = Charges::default();
    if let Some(sender) = sender {
        charges = charges.add(
            Subject::Sender(sender),
            n,
            l.sender_per_hour,
            "you have invited too many addresses this hour",
            now,
        )?;
    }
    if privileged || sender.is_none() {
        return Ok(charges);
    }
    charges.add(
        Subject::Company(company),
        n,
        l.company_per_hour,
        "this company's members have sent too many invitations this hour",
        now,
    )
}

/// The count of one email from `company` to `email`.
pub fn email_to(
    app: &App,
    company: Id,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<Charges, DomainError> {
    let max = app.config.limits.recipient_per_hour;
    let what = format!("{email} was emailed too often from this company this hour");
    Charges::default().add(
        Subject::Recipient(Some(company), email.clone()),
        1,
        max,
        &what,
        now,
    )
}

/// The count of one email of the account flows (verification, password reset) to `email`.
pub fn account_email(
    app: &App,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<Charges, DomainError> {
    Charges::default().add(
        Subject::Recipient(None, email.clone()),
        1,
        app.config.limits.recipient_per_hour,
        "too many emails were sent to this address this hour",
        now,
    )
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
