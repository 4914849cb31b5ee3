//! The limits every door shares: who may email people who did not ask for it, and how much
//! email, how many logins and how many registrations one party may cause in an hour
//! (`Config::limits`). Each limit is a counter in the table (`records::limit`); a call over one
//! is refused with `TooManyRequests` and the seconds until the hour turns. Each takes the use
//! case's `now` (the hour it counts in).

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::{Caller, EmailAddress, Id};
use crate::ports::store::{Item, Key, Write, MAX_TRANSACTION_WRITES};
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

/// How often a commit tries again: after a transaction conflict (with a jittered pause), or
/// after a slot it charged turned out full while others had room.
const ATTEMPTS: u32 = 10;

/// Where the next slotted charge of this process starts (spread from a random start, so the
/// concurrent requests of one process, and most of several processes', charge different
/// slots).
static NEXT_SLOT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);

fn first_slot() -> u32 {
    use std::sync::atomic::Ordering;
    let _ = NEXT_SLOT.compare_exchange(
        u32::MAX,
        random_u32() % limit::SLOTS,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    NEXT_SLOT.fetch_add(1, Ordering::SeqCst) % limit::SLOTS
}

fn random_u32() -> u32 {
    let hex = crate::domain::secrets::random_hex_id();
    u32::from_str_radix(&hex[..8], 16).unwrap_or(0)
}

impl Charge {
    /// The writes that count this charge, at most `budget` of them. Without `read` (the
    /// slots' counts): all of `n` in the slots from `start` on, as if empty (the transaction's
    /// conditions decide). With it: over the slots with the most room, or `None` when those
    /// the budget allows have too little together.
    fn writes(
        &self,
        start: u32,
        read: Option<&BTreeMap<Key, Item>>,
        budget: usize,
    ) -> Option<Vec<Write>> {
        if !self.subject.slotted() {
            return limit::charge(&self.subject, self.n, self.max, self.now).map(|w| vec![w]);
        }
        let (hour, _) = limit::hour_of(self.now);
        let slots = limit::slots(self.max);
        let mut rooms: Vec<(u32, u32)> = (0..slots)
            .map(|k| {
                let slot = (start + k) % slots;
                let used = read.map_or(0, |r| {
                    limit::count_in(r.get(&limit::slot_key(&self.subject, hour, slot)))
                });
                (slot, limit::share(self.max, slot).saturating_sub(used))
            })
            .collect();
        if read.is_some() {
            rooms.sort_by_key(|&(_, room)| std::cmp::Reverse(room));
        }
        let mut plan = Vec::new();
        let mut left = self.n;
        for (slot, room) in rooms.into_iter().take(budget) {
            if left == 0 {
                break;
            }
            let take = room.min(left);
            if take > 0 {
                plan.push((slot, take));
                left -= take;
            }
        }
        (left == 0).then(|| limit::charge_slots(&self.subject, &plan, self.max, self.now))
    }

    /// How many writes the first try makes (slots from any start, as if empty), and one more
    /// for a later try that spreads further.
    fn writes_expected(&self) -> usize {
        if !self.subject.slotted() {
            return 1;
        }
        let slots = limit::slots(self.max);
        let least = (self.max / slots).max(1);
        (self.n.div_ceil(least).min(slots) as usize + 1).min(slots as usize)
    }
}

impl Charges {
    /// How many counter writes the charges may make (at most: one each, or for one spread
    /// over slots one a slot it takes from).
    pub fn charged(&self) -> usize {
        self.0.iter().map(Charge::writes_expected).sum()
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
        let read = self.read(app, now).await?;
        Ok(self.fits_in(&read, now))
    }

    async fn read(
        &self,
        app: &App,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<Key, Item>, DomainError> {
        records::read_keys(app.store.as_ref(), &self.counters(now))
            .await
            .map_err(failed(Service::Company))
    }

    /// Every counter of this hour, each read by its key, all at once.
    async fn read_each(
        &self,
        app: &App,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<Key, Item>, DomainError> {
        let keys = self.counters(now);
        let reads = keys.iter().map(|k| app.store.get(k));
        let mut out = BTreeMap::new();
        for (k, got) in keys.iter().zip(futures_util::future::join_all(reads).await) {
            if let Some(item) = got.map_err(failed(Service::Company))? {
                out.insert(k.clone(), item);
            }
        }
        Ok(out)
    }

    /// The keys of this hour's counters (every slot of a slotted one), to be read with other
    /// keys (`fits_in`).
    pub fn counters(&self, now: DateTime<Utc>) -> Vec<Key> {
        let (hour, _) = limit::hour_of(now);
        self.0
            .iter()
            .flat_map(|c| limit::counter_keys(&c.subject, hour, c.max))
            .collect()
    }

    /// Whether every count has room this hour, by the counters among `read`.
    pub fn fits_in(&self, read: &BTreeMap<Key, Item>, now: DateTime<Utc>) -> bool {
        let (hour, _) = limit::hour_of(now);
        self.0.iter().all(|c| {
            let used: u32 = limit::counter_keys(&c.subject, hour, c.max)
                .iter()
                .map(|k| limit::count_in(read.get(k)))
                .sum();
            used.saturating_add(c.n) <= c.max
        })
    }
}

/// Writes `writes` and `charges` in one transaction. A counter that has no room left answers
/// `TooManyRequests` with its reason; any other failure is `otherwise`'s to answer.
///
/// A slotted charge first goes to this process's next slot without reading it; when that slot
/// is full the slots are read and the charge spread over those with room (refused only when
/// all together have too little). A transaction that lost a race with another (a conflict,
/// nothing written) is tried again after a short jittered pause, up to `ATTEMPTS` times.
pub async fn commit(
    app: &App,
    writes: Vec<crate::ports::store::Write>,
    charges: Charges,
    otherwise: impl FnOnce(crate::ports::store::StoreError) -> DomainError,
) -> Result<(), DomainError> {
    let first = writes.len();
    let mut read: Option<BTreeMap<Key, Item>> = None;
    let mut attempt = 0;
    loop {
        attempt += 1;
        // Each try takes the process's next slot: two tries that met on one slot part.
        let start = first_slot();
        let mut all = writes.clone();
        let mut owner = Vec::new();
        for (i, c) in charges.0.iter().enumerate() {
            let budget = MAX_TRANSACTION_WRITES.saturating_sub(all.len());
            let Some(ws) = c.writes(start, read.as_ref(), budget) else {
                return Err(c.refusal.clone());
            };
            owner.extend(std::iter::repeat_n(i, ws.len()));
            all.extend(ws);
        }
        let e = match app.store.transact(all).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let full = owner
            .iter()
            .enumerate()
            .find(|(k, _)| e.failed_at(first + k))
            .and_then(|(_, &i)| charges.0.get(i));
        if let Some(c) = full {
            if !c.subject.slotted() || attempt >= ATTEMPTS {
                return Err(c.refusal.clone());
            }
            // A slot was full: read them all (each by key, at once: every door may read an
            // item, not every one may batch) and spread the charge over those with room.
            read = Some(charges.read_each(app, c.now).await?);
            continue;
        }
        let conflict = matches!(&e, crate::ports::store::StoreError::TransactionCanceled { failed } if failed.is_empty());
        if conflict && attempt < ATTEMPTS {
            let pause = 5 + u64::from(random_u32() % (10 << attempt.min(4)));
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            continue;
        }
        return Err(otherwise(e));
    }
}

/// The stage's limits with `company`'s own (company settings) over them.
pub fn of_company(app: &App, settings: &crate::records::Settings) -> crate::config::Limits {
    let mut l = app.config.limits;
    if let Some(n) = settings.sender_per_hour {
        l.sender_per_hour = n;
    }
    if let Some(n) = settings.company_per_hour {
        l.company_per_hour = n;
    }
    if let Some(n) = settings.registrations_per_hour {
        l.register_ip_per_hour = n;
    }
    l
}

/// The counts of `n` emails that `sender` (none: an operator) has `company` send to other
/// people: against the sender's hourly limit and, for a plain member (not `privileged`),
/// against the company's hourly ceiling for its plain members' email. The ceiling is theirs
/// alone: plain members (anyone with the app key can become one) can never use up the hour of
/// the company's reps, admins and operators. Refused at once when `n` alone is over a limit.
pub fn emails_to_others(
    app: &App,
    settings: &crate::records::Settings,
    sender: Option<Id>,
    privileged: bool,
    company: Id,
    n: u32,
    now: DateTime<Utc>,
) -> Result<Charges, DomainError> {
    let l = of_company(app, settings);
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

/// Counts one login attempt to `email` from the caller's source IP: each account address
/// apart, so the people of a company behind one NAT address do not share one allowance.
pub async fn login_from(
    app: &App,
    caller: &Caller,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let max = app.config.limits.login_ip_per_hour;
    let what = "too many login attempts from your network this hour";
    let subject = |ip| Subject::LoginIp(ip, email.clone());
    from_ip(app, caller, subject, max, what, now).await
}

/// Counts one self-registration in `company` from the caller's source IP, against the
/// company's own allowance when it has one (a venue's QR sign-ups) or the stage's.
pub async fn registration_from(
    app: &App,
    settings: &crate::records::Settings,
    company: Id,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let max = of_company(app, settings).register_ip_per_hour;
    let what = "too many registrations from your network this hour";
    let subject = |ip| Subject::RegistrationIp(company, ip);
    from_ip(app, caller, subject, max, what, now).await
}

/// Counts one call from the caller's source IP (a caller without one is not counted).
async fn from_ip(
    app: &App,
    caller: &Caller,
    subject: impl FnOnce(String) -> Subject,
    max: u32,
    what: &str,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    match caller.ip.clone() {
        Some(ip) => take(app, subject(ip), 1, max, what, now).await,
        None => Ok(()),
    }
}
