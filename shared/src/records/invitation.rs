//! Invitations: one per company and email, and the lookup from a single-use token's hash to
//! the invitation it opens.

use super::{company_pk, get, keyed_item, Record};
use crate::domain::{EmailAddress, Id};
use crate::ports::store::{Cond, Key, Store, StoreError, Update, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    /// Never stored: a pending invitation past its expiry is shown as expired.
    Expired,
}

/// One step of an invitation's life: `invited`, `resent`, `accepted`, `revoked`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InvitationEvent {
    #[serde(with = "crate::domain::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Id>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub company_id: Id,
    pub email: EmailAddress,
    /// The company's contact the invitation names (inviteMIUser); platform invitations name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Id>,
    pub teams: Vec<Id>,
    pub invited_by: Id,
    pub status: InvitationStatus,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::time::rfc3339_opt"
    )]
    pub accepted_at: Option<DateTime<Utc>>,
    /// The inviter's own words, plain text (platform invitations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The latest `MAX_HISTORY` events; `history_dropped` counts the older ones let go (so no
    /// number of re-invitations can grow the item past DynamoDB's 400 KB).
    #[serde(default)]
    pub history: Vec<InvitationEvent>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub history_dropped: u64,
    /// Site invitations: days of temporary access from accepting (`None`: permanent access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_days: Option<u32>,
    /// Made by the site family's Invite Users: accepting records site access granted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub via_site: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Events an invitation keeps (the newest).
pub const MAX_HISTORY: usize = 50;

/// `history` with `event` added, cut to the newest `MAX_HISTORY`, and the count of events let
/// go (`dropped` so far plus those cut now).
pub fn with_event(
    history: &[InvitationEvent],
    dropped: u64,
    event: InvitationEvent,
) -> (Vec<InvitationEvent>, u64) {
    let mut all: Vec<InvitationEvent> = history.to_vec();
    all.push(event);
    let cut = all.len().saturating_sub(MAX_HISTORY);
    (all.split_off(cut), dropped + cut as u64)
}

impl Invitation {
    /// The status as a person sees it at `now`: a pending invitation past its expiry is expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> InvitationStatus {
        match self.status {
            InvitationStatus::Pending if self.expires_at <= now => InvitationStatus::Expired,
            s => s,
        }
    }

    /// How many times it was sent (invited or resent) since `since`.
    pub fn sends_since(&self, since: DateTime<Utc>) -> usize {
        self.history
            .iter()
            .filter(|e| e.at > since && (e.event == "invited" || e.event == "resent"))
            .count()
    }
}

pub fn invitation_key(company: Id, email: &EmailAddress) -> Key {
    Key::new(company_pk(company), format!("INVITE#{email}"))
}

impl Record for Invitation {
    fn key(&self) -> Key {
        invitation_key(self.company_id, &self.email)
    }
}

pub async fn find(
    store: &dyn Store,
    company: Id,
    email: &EmailAddress,
) -> Result<Option<Invitation>, StoreError> {
    get(store, &invitation_key(company, email)).await
}

/// The write that stores `invitation` in place of `previous` (or as the first one): it fails
/// if another request replaced, created, accepted or revoked the invitation since it was read.
pub fn replace(invitation: &Invitation, previous: Option<&Invitation>) -> Write {
    let cond = match previous {
        None => Cond::absent(),
        Some(p) => Cond::eq(
            "createdAt",
            json!(crate::domain::time::format(p.created_at)),
        )
        .and(Cond::eq("status", json!(p.status))),
    };
    Write::Put {
        item: super::item(invitation),
        cond: Some(cond),
    }
}

/// A company's invitations, by address, a page at a time (`after`: the last address of the
/// previous page); `limit` counts invitations read, so a filtered page may be shorter.
pub async fn page(
    store: &dyn Store,
    company: Id,
    limit: usize,
    after: Option<&EmailAddress>,
) -> Result<(Vec<Invitation>, bool), StoreError> {
    let q = crate::ports::store::Query::partition(
        crate::ports::store::Index::Table,
        company_pk(company),
    )
    .sort(crate::ports::store::SortKey::BeginsWith("INVITE#".into()))
    .limit(limit)
    .start_after(after.map(|e| invitation_key(company, e).to_item()));
    let page = store.query(&q).await?;
    let more = page.next.is_some();
    let items = page
        .items
        .into_iter()
        .map(super::from_item)
        .collect::<Result<Vec<Invitation>, _>>()?;
    Ok((items, more))
}

/// The condition that the invitation is still the pending one that was read (the same
/// `createdAt`: not replaced by a newer invitation).
fn pending_as_read(inv: &Invitation) -> Cond {
    Cond::eq("status", "pending").and(Cond::eq(
        "createdAt",
        json!(crate::domain::time::format(inv.created_at)),
    ))
}

/// The writes that revoke a pending invitation (its link stops working at once): fail at
/// index 0 if it changed since it was read.
pub fn revoke(inv: &Invitation, by: Option<Id>, now: DateTime<Utc>) -> Vec<Write> {
    let event = InvitationEvent {
        at: now,
        event: "revoked".into(),
        by,
    };
    let (history, dropped) = with_event(&inv.history, inv.history_dropped, event);
    let mut writes = vec![Write::Update {
        key: inv.key(),
        update: Update::new()
            .set("status", "revoked")
            .set("history", json!(history))
            .set("historyDropped", dropped)
            .remove("tokenHash")
            .remove("tokenOutboxId"),
        // As read, expiry included: of two resends at once one wins, and neither's event is
        // lost nor the hour's count of sends passed.
        cond: Some(pending_as_read(inv).and(Cond::eq(
            "expiresAt",
            json!(crate::domain::time::format(inv.expires_at)),
        ))),
    }];
    writes.extend(revoke_token(inv, Spent::Revoked));
    writes
}

/// The writes that renew a pending (or expired) invitation for a resend: a new expiry and a
/// `resent` event. The old link stops working at once (its token is deleted, not merely
/// outdated), so the new expiry never brings it back; the dispatcher issues the new one.
pub fn renew(
    inv: &Invitation,
    by: Option<Id>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Vec<Write> {
    let event = InvitationEvent {
        at: now,
        event: "resent".into(),
        by,
    };
    let (history, dropped) = with_event(&inv.history, inv.history_dropped, event);
    let mut writes = vec![Write::Update {
        key: inv.key(),
        update: Update::new()
            .set("expiresAt", crate::domain::time::format(expires_at))
            .set("history", json!(history))
            .set("historyDropped", dropped)
            .remove("tokenHash")
            .remove("tokenOutboxId"),
        // As read, expiry included: of two resends at once one wins, and neither's event is
        // lost nor the hour's count of sends passed.
        cond: Some(pending_as_read(inv).and(Cond::eq(
            "expiresAt",
            json!(crate::domain::time::format(inv.expires_at)),
        ))),
    }];
    writes.extend(revoke_token(inv, Spent::Replaced));
    writes
}

/// Where a token's hash leads. `outbox_id`: the outbox message the token was issued for
/// (absent on tokens issued before tokens were tied to their message).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct TokenLookup {
    company_id: Id,
    email: EmailAddress,
    expires_at: DateTime<Utc>,
    ttl: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_id: Option<String>,
    /// Why the token no longer opens its invitation (kept to say so, until the TTL): see
    /// `Spent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spent: Option<Spent>,
}

/// Why an invitation link stopped working, as the link's holder is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Spent {
    /// The invitation was accepted (with this link or another).
    Accepted,
    /// An admin revoked the invitation.
    Revoked,
    /// A newer email (a resend, or a new invitation of the address) replaced the link.
    Replaced,
}

pub fn token_key(hash: &str) -> Key {
    Key::new(format!("INVITETOKEN#{hash}"), "INVITETOKEN")
}

/// The invitation item's `tokenOutboxId`: the outbox message its live tokens were issued for.
/// It is not part of `Invitation`: an invitation written anew (a new invite) has none.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssuedFor {
    #[serde(default)]
    token_outbox_id: Option<String>,
}

/// The invitation for `company` and `email` with the outbox message its live tokens were
/// issued for, if any.
pub async fn find_issued(
    store: &dyn Store,
    company: Id,
    email: &EmailAddress,
) -> Result<Option<(Invitation, Option<String>)>, StoreError> {
    let Some(item) = store.get(&invitation_key(company, email)).await? else {
        return Ok(None);
    };
    let issued: IssuedFor =
        serde_json::from_value(serde_json::Value::Object(item.clone())).unwrap_or_default();
    Ok(Some((super::from_item(item)?, issued.token_outbox_id)))
}

/// An invitation a presented token opens.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub invitation: Invitation,
    /// Set when the token is live as one issued for the outbox message the invitation's
    /// tokens are current for (rather than as its latest token): accepting must check that.
    pub outbox_id: Option<String>,
}

/// The invitation a token's hash opens, if the token is live: the invitation's latest token
/// (`tokenHash`), or any token issued for the same outbox message as the latest (a re-send
/// of one message keeps every link it sent working). Tokens of an earlier message, or of an
/// invitation since replaced, open nothing.
pub async fn find_by_token(store: &dyn Store, hash: &str) -> Result<Option<Opened>, StoreError> {
    let Some(item) = store.get(&token_key(hash)).await? else {
        return Ok(None);
    };
    let Ok(lookup) = serde_json::from_value::<TokenLookup>(serde_json::Value::Object(item)) else {
        return Ok(None);
    };
    if lookup.spent.is_some() {
        return Ok(None);
    }
    let Some((inv, issued_for)) = find_issued(store, lookup.company_id, &lookup.email).await?
    else {
        return Ok(None);
    };
    let by_message = lookup.outbox_id.is_some()
        && lookup.outbox_id == issued_for
        && lookup.expires_at == inv.expires_at;
    if by_message {
        return Ok(Some(Opened {
            invitation: inv,
            outbox_id: lookup.outbox_id,
        }));
    }
    if inv.token_hash.as_deref() == Some(hash) {
        return Ok(Some(Opened {
            invitation: inv,
            outbox_id: None,
        }));
    }
    Ok(None)
}

/// Why a token that opens nothing stopped working: `None` for a token never issued (or gone
/// with its invitation's expiry, or whose invitation is gone).
pub async fn why_spent(store: &dyn Store, hash: &str) -> Result<Option<Spent>, StoreError> {
    let Some(item) = store.get(&token_key(hash)).await? else {
        return Ok(None);
    };
    let Ok(lookup) = serde_json::from_value::<TokenLookup>(serde_json::Value::Object(item)) else {
        return Ok(None);
    };
    if let Some(spent) = lookup.spent {
        return Ok(Some(spent));
    }
    // Another link of the same email, not marked itself: its invitation says what became of
    // it (accepted or revoked with the link it had then), else a newer email replaced it.
    let Some((inv, _)) = find_issued(store, lookup.company_id, &lookup.email).await? else {
        return Ok(None);
    };
    let replaced = inv.expires_at != lookup.expires_at;
    Ok(Some(match inv.status {
        _ if replaced => Spent::Replaced,
        InvitationStatus::Accepted => Spent::Accepted,
        InvitationStatus::Revoked => Spent::Revoked,
        InvitationStatus::Pending | InvitationStatus::Expired => Spent::Replaced,
    }))
}

/// The writes that issue a token for a pending invitation, sent by outbox message
/// `outbox_id`: they fail at index 0 when the invitation is no longer the pending one that was
/// read. `issued_for` is the message the invitation's live tokens were issued for: when it is
/// this same message (a re-send after a crash or an uncertain failure), those tokens stay
/// live; otherwise the previous token is revoked.
pub fn issue_token(
    inv: &Invitation,
    hash: &str,
    outbox_id: &str,
    issued_for: Option<&str>,
) -> Vec<Write> {
    let lookup = TokenLookup {
        company_id: inv.company_id,
        email: inv.email.clone(),
        expires_at: inv.expires_at,
        ttl: inv.expires_at.timestamp(),
        outbox_id: Some(outbox_id.to_string()),
        spent: None,
    };
    let mut writes = vec![
        Write::Update {
            key: inv.key(),
            update: Update::new()
                .set("tokenHash", hash)
                .set("tokenOutboxId", outbox_id),
            cond: Some(pending_as_read(inv)),
        },
        Write::put_new(keyed_item(&token_key(hash), &lookup)),
    ];
    if issued_for != Some(outbox_id) {
        writes.extend(revoke_token(inv, Spent::Replaced));
    }
    writes
}

/// The write that ends an invitation's latest token, if it has one: its lookup is kept, marked
/// with `why` (it opens nothing; the link's holder is told why) until the invitation's expiry.
/// Earlier tokens of the same outbox message are left to expire: a replaced invitation has no
/// `tokenOutboxId`, so they open nothing.
pub fn revoke_token(inv: &Invitation, why: Spent) -> Option<Write> {
    inv.token_hash.as_ref().map(|old| {
        let lookup = TokenLookup {
            company_id: inv.company_id,
            email: inv.email.clone(),
            expires_at: inv.expires_at,
            ttl: inv.expires_at.timestamp(),
            outbox_id: None,
            spent: Some(why),
        };
        Write::Put {
            item: keyed_item(&token_key(old), &lookup),
            cond: None,
        }
    })
}

/// The writes that use up a token and mark its invitation accepted (indexes 0 and 1 fail when
/// the token was used, revoked or replaced meanwhile). `outbox_id`: the message the token was
/// issued for, when it is live as one of that message's tokens (`Opened::outbox_id`).
pub fn accept(
    inv: &Invitation,
    hash: &str,
    outbox_id: Option<&str>,
    now: DateTime<Utc>,
) -> [Write; 2] {
    let live = match outbox_id {
        Some(id) => Cond::Or(vec![
            Cond::eq("tokenHash", hash),
            Cond::eq("tokenOutboxId", id),
        ]),
        None => Cond::eq("tokenHash", hash),
    };
    [
        // Spent rather than deleted: the link, opened again, can say it was accepted. It opens
        // nothing (the invitation keeps no token) and goes with its TTL.
        Write::Update {
            key: token_key(hash),
            update: Update::new().set("spent", json!(Spent::Accepted)),
            cond: Some(Cond::present().and(Cond::NotExists("spent".into()))),
        },
        Write::Update {
            key: inv.key(),
            update: Update::new()
                .set("status", "accepted")
                .set("acceptedAt", json!(crate::domain::time::format(now)))
                .remove("tokenHash")
                .remove("tokenOutboxId"),
            cond: Some(Cond::eq("status", "pending").and(live)),
        },
    ]
}
