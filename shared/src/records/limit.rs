//! Rate limits: one counter item per limit, subject and hour, kept two hours (TTL). A counter
//! only grows while it stays within its limit: the conditional update that would pass it fails
//! and leaves it as it was.
//!
//! The counters one tenant's concurrent requests all charge inside their transactions (a
//! sender's, a company's) are split into `SLOTS` items of one partition, each holding a share
//! of the hour's allowance: two transactions that charge different slots do not conflict, and
//! the slots' sum is never more than the limit (docs/scale.md).

use super::user_pk;
use crate::domain::secrets::sha256_hex;
use crate::domain::{EmailAddress, Id};
use crate::ports::store::{Cond, Key, Store, StoreError, Update, Write};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Who or what a limit counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Emails a user caused to be sent to other people.
    Sender(Id),
    /// Emails one company (`Some`) or the account flows (`None`: verification, reset) sent to
    /// one address. Counted per company so that one company cannot block another's invitation.
    Recipient(Option<Id>, EmailAddress),
    /// Emails one company sent to anyone.
    Company(Id),
    /// Logins from one source IP to one account address (a company behind one NAT address
    /// is many people: each account is counted apart).
    LoginIp(String, EmailAddress),
    /// Self-registrations from one source IP in one company (a company can allow a venue's
    /// QR sign-ups more).
    RegistrationIp(Id, String),
}

/// How many slots a slotted counter is split into (at most; never more than its limit).
pub const SLOTS: u32 = 8;

impl Subject {
    /// The counter's partition: addresses and IPs only as their SHA-256.
    fn partition(&self) -> String {
        match self {
            Subject::Sender(u) => format!("LIMIT#SENDER#{}", user_pk(*u)),
            Subject::Recipient(c, e) => {
                let scope = c.map_or_else(|| "ACCOUNT".to_string(), |c| format!("COMPANY#{c}"));
                format!(
                    "LIMIT#RECIPIENT#{scope}#{}",
                    sha256_hex(e.as_str().as_bytes())
                )
            }
            Subject::Company(c) => format!("LIMIT#COMPANY#{c}"),
            Subject::LoginIp(ip, email) => format!(
                "LIMIT#LOGINIP#{}#{}",
                sha256_hex(ip.as_bytes()),
                sha256_hex(email.as_str().as_bytes())
            ),
            Subject::RegistrationIp(c, ip) => {
                format!("LIMIT#REGISTERIP#COMPANY#{c}#{}", sha256_hex(ip.as_bytes()))
            }
        }
    }

    /// Whether the counter is split into slots (charged inside transactions that one
    /// tenant's requests make at once).
    pub fn slotted(&self) -> bool {
        matches!(self, Subject::Sender(_) | Subject::Company(_))
    }
}

/// How many slots a slotted counter of `limit` has: `SLOTS`, or fewer so each holds at least
/// one.
pub fn slots(limit: u32) -> u32 {
    SLOTS.min(limit).max(1)
}

/// The share of `limit` slot `i` holds (the remainder goes to the first slots).
pub fn share(limit: u32, i: u32) -> u32 {
    let n = slots(limit);
    limit / n + u32::from(i < limit % n)
}

/// The counter of slot `slot` of a slotted `subject` in hour `hour`.
pub fn slot_key(subject: &Subject, hour: i64, slot: u32) -> Key {
    Key::new(subject.partition(), format!("HOUR#{hour}#{slot:02}"))
}

/// Every counter of `subject` in `hour` for `limit`: its slots, or its one item.
pub fn counter_keys(subject: &Subject, hour: i64, limit: u32) -> Vec<Key> {
    if subject.slotted() {
        (0..slots(limit))
            .map(|i| slot_key(subject, hour, i))
            .collect()
    } else {
        vec![limit_key(subject, hour)]
    }
}

/// The writes that count `plan` (slot, how many) for a slotted `subject` this hour, each
/// conditional on its slot keeping within its share of `limit`.
pub fn charge_slots(
    subject: &Subject,
    plan: &[(u32, u32)],
    limit: u32,
    now: DateTime<Utc>,
) -> Vec<Write> {
    let (hour, _) = hour_of(now);
    plan.iter()
        .filter(|(_, n)| *n > 0)
        .map(|&(slot, n)| {
            let room = Cond::Or(vec![
                Cond::NotExists("count".into()),
                Cond::Le("count".into(), json!(share(limit, slot).saturating_sub(n))),
            ]);
            Write::Update {
                key: slot_key(subject, hour, slot),
                update: Update::new()
                    .add("count", i64::from(n))
                    .set("ttl", json!((hour + 2) * 3600)),
                cond: Some(room),
            }
        })
        .collect()
}

/// The counter of `subject` in hour `hour` (hours since the epoch).
pub fn limit_key(subject: &Subject, hour: i64) -> Key {
    Key::new(subject.partition(), format!("HOUR#{hour}"))
}

/// The hour `now` falls in, and the seconds until the next one begins.
pub fn hour_of(now: DateTime<Utc>) -> (i64, u64) {
    let t = now.timestamp();
    (t.div_euclid(3600), (3600 - t.rem_euclid(3600)) as u64)
}

/// The conditional update that counts `n` more for `subject` this hour: its condition fails
/// (and leaves the counter as it was) when the count would pass `limit`. `None` when `n` alone
/// passes it.
fn counting(
    subject: &Subject,
    n: u32,
    limit: u32,
    now: DateTime<Utc>,
) -> Option<(Key, Update, Cond)> {
    if n > limit {
        return None;
    }
    let (hour, _) = hour_of(now);
    let room = Cond::Or(vec![
        Cond::NotExists("count".into()),
        Cond::Le("count".into(), json!(limit - n)),
    ]);
    let update = Update::new()
        .add("count", i64::from(n))
        .set("ttl", json!((hour + 2) * 3600));
    Some((limit_key(subject, hour), update, room))
}

/// The write that counts `n` more for `subject` this hour, for the transaction of the work it
/// counts (so work that does not commit spends nothing): it fails the transaction when the
/// count would pass `limit`. `None` when `n` alone passes it.
pub fn charge(subject: &Subject, n: u32, limit: u32, now: DateTime<Utc>) -> Option<Write> {
    counting(subject, n, limit, now).map(|(key, update, cond)| Write::Update {
        key,
        update,
        cond: Some(cond),
    })
}

/// How much `subject` has counted this hour (every slot of a slotted one with `limit`).
pub async fn used(
    store: &dyn Store,
    subject: &Subject,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let (hour, _) = hour_of(now);
    let items = store.batch_get(&counter_keys(subject, hour, limit)).await?;
    Ok(items.iter().map(|i| count_in(Some(i))).sum())
}

/// What a counter item (or its absence) has counted.
pub fn count_in(item: Option<&crate::ports::store::Item>) -> u32 {
    item.and_then(|i| i.get("count").and_then(serde_json::Value::as_u64))
        .map_or(0, |c| u32::try_from(c).unwrap_or(u32::MAX))
}

/// Counts `n` more for `subject` this hour unless that would pass `limit`: `false` (and
/// nothing counted) when it would. For what is counted whether or not anything follows (a
/// login, a registration attempt); work that commits takes a `charge` in its transaction.
pub async fn take(
    store: &dyn Store,
    subject: &Subject,
    n: u32,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if n == 0 {
        return Ok(true);
    }
    let Some((key, update, room)) = counting(subject, n, limit, now) else {
        return Ok(false);
    };
    match store.update(&key, update, Some(room)).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e),
    }
}
