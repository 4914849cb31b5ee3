//! The site activity index: how a site's activity is found by key. An activity item lives once,
//! in its user's partition (the parent module); each site that may see it gets a small index
//! entry in the site's partition, written in the same transaction: one for a site event (an
//! invitation, a team assignment, site access), one per site the user had access to at the
//! time for an account event (a login: it is not tied to one site).
//!
//! An entry carries what the report filters on (user, type, source) and where the item is,
//! never the item's details (IP address, session). It is found three ways, newest first:
//! - a site's activity in a time range: the table, `COMPANY#<id>#ACTIVITY#<shard>` /
//!   `ACTIVITY#<time>#...`, every shard read and merged;
//! - one user's in a site: gsi1, `COMPANY#<id>#USERACTIVITY#<userId>` / `<time>#<tail>`;
//! - one type's in a site: gsi2, `COMPANY#<id>#ACTIVITYTYPE#<typeId>#<shard>` /
//!   `<time>#<userId>#<tail>`, likewise.
//!
//! A large tenant's login peak writes an entry a login: the entries are spread over `SHARDS`
//! partitions (a hash of the user and the tail), so no one partition takes them all. Entries
//! written before they were spread (`COMPANY#<id>`, `COMPANY#<id>#ACTIVITYTYPE#<typeId>`) are
//! read as one more shard.

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

/// How many partitions a site's entries (and each type's) are spread over.
pub const SHARDS: u32 = 16;

/// The shard of an entry: by its user and tail, so its key is fixed by what names it (an end
/// of access is deleted by the same key it was written under).
fn shard_of(user: Id, tail: &str) -> u32 {
    crate::records::shard(&format!("{user}#{tail}"), SHARDS)
}

fn site_pk(company: Id, shard: Option<u32>) -> String {
    match shard {
        Some(s) => format!("{}#ACTIVITY#{s:02}", company_pk(company)),
        None => company_pk(company),
    }
}

fn by_type_pk(company: Id, type_id: u8, shard: Option<u32>) -> String {
    match shard {
        Some(s) => format!("COMPANY#{company}#ACTIVITYTYPE#{type_id}#{s:02}"),
        None => format!("COMPANY#{company}#ACTIVITYTYPE#{type_id}"),
    }
}

/// The key of the entry in `company`'s activity for the activity of `user` at `at` whose
/// item's key ends with `tail`.
pub fn entry_key(company: Id, user: Id, at: DateTime<Utc>, tail: &str) -> Key {
    Key::new(
        site_pk(company, Some(shard_of(user, tail))),
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
        (
            "gsi2pk",
            by_type_pk(company, e.activity_type_id, Some(shard_of(e.user_id, tail))),
        ),
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

/// The queries for a scope's entries from `from` to `to` (both included, to the millisecond),
/// newest first, `page` entries at a time: one for a user's, one a shard (and one for the
/// entries written before they were spread) for a site's or a type's. Their entries merge by
/// their `order`.
pub fn queries(scope: Scope, from: DateTime<Utc>, to: DateTime<Utc>, page: usize) -> Vec<Query> {
    // `~` sorts after every character of a key's tail, so entries at `to` itself are included.
    let (from, to) = (time(from), format!("{}#~", time(to)));
    let shards = || (0..SHARDS).map(Some).chain([None]);
    let qs: Vec<Query> = match scope {
        Scope::Site(c) => shards()
            .map(|s| {
                Query::partition(Index::Table, site_pk(c, s)).sort(SortKey::Between(
                    format!("ACTIVITY#{from}"),
                    format!("ACTIVITY#{to}"),
                ))
            })
            .collect(),
        Scope::User(c, u) => {
            vec![Query::partition(Index::Gsi1, by_user_pk(c, u)).sort(SortKey::Between(from, to))]
        }
        Scope::Type(c, t) => shards()
            .map(|s| {
                Query::partition(Index::Gsi2, by_type_pk(c, t, s))
                    .sort(SortKey::Between(from.clone(), to.clone()))
            })
            .collect(),
    };
    // A report, never a decision: half the read units of a consistent read.
    qs.into_iter()
        .map(|q| q.descending().limit(page).eventually_consistent())
        .collect()
}

/// The one query of a user's entries in a site (`queries` of `Scope::User`).
pub fn query(scope: Scope, from: DateTime<Utc>, to: DateTime<Utc>, page: usize) -> Query {
    queries(scope, from, to, page)
        .into_iter()
        .next()
        .unwrap_or_else(|| Query::partition(Index::Table, String::new()))
}

/// The time of the entry whose sort key (`SiteEntry::order`) is `order`; `None` for text that
/// is no entry's sort key.
pub fn time_of_order(order: &str) -> Option<DateTime<Utc>> {
    let rest = order.strip_prefix("ACTIVITY#")?;
    crate::domain::time::parse(rest.split('#').next()?)
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
