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
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub company_id: Id,
    pub email: EmailAddress,
    pub contact_id: Id,
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
/// if another request replaced or created the invitation since it was read.
pub fn replace(invitation: &Invitation, previous: Option<&Invitation>) -> Write {
    let cond = match previous {
        None => Cond::absent(),
        Some(p) => Cond::eq(
            "createdAt",
            json!(crate::domain::time::format(p.created_at)),
        ),
    };
    Write::Put {
        item: super::item(invitation),
        cond: Some(cond),
    }
}

/// Where a token's hash leads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct TokenLookup {
    company_id: Id,
    email: EmailAddress,
    expires_at: DateTime<Utc>,
    ttl: i64,
}

pub fn token_key(hash: &str) -> Key {
    Key::new(format!("INVITETOKEN#{hash}"), "INVITETOKEN")
}

/// The invitation a token's hash leads to, if the token is known.
pub async fn find_by_token(
    store: &dyn Store,
    hash: &str,
) -> Result<Option<Invitation>, StoreError> {
    let Some(item) = store.get(&token_key(hash)).await? else {
        return Ok(None);
    };
    let Ok(lookup) = serde_json::from_value::<TokenLookup>(serde_json::Value::Object(item)) else {
        return Ok(None);
    };
    find(store, lookup.company_id, &lookup.email).await
}

/// The writes that issue a token for a pending invitation (revoking its previous token): they
/// fail at index 0 when the invitation is no longer the pending one that was read.
pub fn issue_token(inv: &Invitation, hash: &str) -> Vec<Write> {
    let lookup = TokenLookup {
        company_id: inv.company_id,
        email: inv.email.clone(),
        expires_at: inv.expires_at,
        ttl: inv.expires_at.timestamp(),
    };
    let mut writes = vec![
        Write::Update {
            key: inv.key(),
            update: Update::new().set("tokenHash", hash),
            cond: Some(Cond::eq("status", "pending").and(Cond::eq(
                "createdAt",
                json!(crate::domain::time::format(inv.created_at)),
            ))),
        },
        Write::put_new(keyed_item(&token_key(hash), &lookup)),
    ];
    writes.extend(revoke_token(inv));
    writes
}

/// The write that deletes an invitation's current token, if it has one.
pub fn revoke_token(inv: &Invitation) -> Option<Write> {
    inv.token_hash.as_ref().map(|old| Write::Delete {
        key: token_key(old),
        cond: None,
    })
}

/// The writes that use up a token and mark its invitation accepted (indexes 0 and 1 fail when
/// the token was used or replaced meanwhile).
pub fn accept(inv: &Invitation, hash: &str, now: DateTime<Utc>) -> [Write; 2] {
    [
        Write::Delete {
            key: token_key(hash),
            cond: Some(Cond::present()),
        },
        Write::Update {
            key: inv.key(),
            update: Update::new()
                .set("status", "accepted")
                .set("acceptedAt", json!(crate::domain::time::format(now)))
                .remove("tokenHash"),
            cond: Some(Cond::eq("status", "pending").and(Cond::eq("tokenHash", hash))),
        },
    ]
}
