//! The site activity index: how a site's activity is found by key. An activity item lives once,
//! in its user's partition (the parent module); each site that may see it gets a small index
//! entry in the site's partition, written in the same transaction: one for a site event (an
//! invitation, a team assignment, site access), one per site the user had access to at the
//! time for an account event (a login: it is not tied to one site).
//!
//! An entry carries what the report filters on (user, type, source) and where the item is,
//! never the item's details (IP address, session). It is found three ways, newest first:
//! - a site's activity in a time range: the table, `COMPANY#<id>` / `ACTIVITY#<time>#...`;
//! - one user's in a site: gsi1, `COMPANY#<id>#USERACTIVITY#<userId>` / `<time>#<tail>`;
//! - one type's in a site: gsi2, `COMPANY#<id>#ACTIVITYTYPE#<typeId>` / `<time>#<userId>#<tail>`.

use crate::domain::Id;
use crate::ports::store::{Cond, Index, Item, Key, Query, SortKey, Store, StoreError, Write, TTL};
use crate::records::{company_pk, keyed_item};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One index entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SiteEntry {
    pub user_id: Id,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub event_date: DateTime<Utc>,
    pub activity_type_id: u8,
    pub source_type_id: u8,
    /// The random tail of the activity item's key.
    pub tail: String,
    /// The entry's sort key in its site: entries of several queries merge in this order.
    #[serde(skip)]
    pub order: String,
}

fn time(at: DateTime<Utc>) -> String {
    crate::domain::time::format(at)
}

fn by_user_pk(company: Id, user: Id) -> String {
    format!("COMPANY#{company}#USERACTIVITY#{user}")
}

fn by_type_pk(company: Id, type_id: u8) -> String {
    format!("COMPANY#{company}#ACTIVITYTYPE#{type_id}")
}

/// The key of the entry in `company`'s partition for the activity of `user` at `at` whose
/// item's key ends with `tail`.
pub fn entry_key(company: Id, user: Id, at: DateTime<Utc>, tail: &str) -> Key {
    Key::new(
        company_pk(company),
        format!("ACTIVITY#{}#{user}#{tail}", time(at)),
    )
}

/// The write that indexes entry `e` in `company`, with the given condition; the entry expires
/// with its item (`ttl`, epoch seconds).
pub fn entry_put(company: Id, e: &SiteEntry, ttl: Option<i64>, cond: Option<Cond>) -> Write {
    let at = time(e.event_date);
    let tail = &e.tail;
    let mut item = keyed_item(&entry_key(company, e.user_id, e.event_date, tail), e);
    let index = [
        ("gsi1pk", by_user_pk(company, e.user_id)),
        ("gsi1sk", format!("{at}#{tail}")),
        ("gsi2pk", by_type_pk(company, e.activity_type_id)),
        ("gsi2sk", format!("{at}#{}#{tail}", e.user_id)),
    ];
    for (name, value) in index {
        item.insert(name.into(), json!(value));
    }
    if let Some(ttl) = ttl {
        item.insert(TTL.into(), json!(ttl));
    }
    Write::Put { item, cond }
}

/// Whether a write creates a site index entry (the only writes that may leave their
/// transaction when it would be too large: see `usecases::account_activity::transact`).
pub fn is_entry(write: &Write) -> bool {
    matches!(write, Write::Put { .. })
        && write
            .key()
            .is_ok_and(|k| k.pk.starts_with("COMPANY#") && k.sk.starts_with("ACTIVITY#"))
}

/// Which entries of a site a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every entry of the site.
    Site(Id),
    /// The site's entries of one user.
    User(Id, Id),
    /// The site's entries of one activity type.
    Type(Id, u8),
}

/// The query for a scope's entries from `from` to `to` (both included, to the millisecond),
/// newest first, `page` entries at a time.
pub fn query(scope: Scope, from: DateTime<Utc>, to: DateTime<Utc>, page: usize) -> Query {
    // `~` sorts after every character of a key's tail, so entries at `to` itself are included.
    let (from, to) = (time(from), format!("{}#~", time(to)));
    let q = match scope {
        Scope::Site(c) => Query::partition(Index::Table, company_pk(c)).sort(SortKey::Between(
            format!("ACTIVITY#{from}"),
            format!("ACTIVITY#{to}"),
        )),
        Scope::User(c, u) => {
            Query::partition(Index::Gsi1, by_user_pk(c, u)).sort(SortKey::Between(from, to))
        }
        Scope::Type(c, t) => {
            Query::partition(Index::Gsi2, by_type_pk(c, t)).sort(SortKey::Between(from, to))
        }
    };
    // A report, never a decision: half the read units of a consistent read.
    q.descending().limit(page).eventually_consistent()
}

/// One page of a scope's entries and the cursor to the next, if any.
pub async fn page(
    store: &dyn Store,
    query: &Query,
) -> Result<(Vec<SiteEntry>, Option<Item>), StoreError> {
    let page = store.query(query).await?;
    let mut entries = Vec::with_capacity(page.items.len());
    for item in page.items {
        let order = Key::of(&item).map(|k| k.sk).unwrap_or_default();
        let mut e: SiteEntry = crate::records::from_item(item)?;
        e.order = order;
        entries.push(e);
    }
    Ok((entries, page.next))
}
