//! The site activity index: how a site's activity is found by key. An activity item lives once,
//! in its user's partition (`records::activity`); each site that may see it gets a small index
//! entry in the site's partition, written in the same transaction: one for a site event (an
//! invitation, a team assignment, site access), one per site the user had access to at the
//! time for an account event (a login: it is not tied to one site).
//!
//! An entry carries what the report filters on (user, type, source) and where the item is,
//! never the item's details (IP address, session). It is found three ways, newest first:
//! - a site's activity in a time range: the table, `COMPANY#<id>` / `ACTIVITY#<time>#...`;
//! - one user's in a site: gsi1, `COMPANY#<id>#USERACTIVITY#<userId>` / `<time>#<tail>`;
//! - one type's in a site: gsi2, `COMPANY#<id>#ACTIVITYTYPE#<typeId>` / `<time>#<userId>#<tail>`.

use super::activity::{activity_key, Activity};
use super::{company_pk, keyed_item};
use crate::domain::Id;
use crate::ports::store::{Cond, Index, Item, Key, Query, SortKey, Store, StoreError, Write, TTL};
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

impl SiteEntry {
    /// The key of the activity item the entry stands for.
    pub fn record_key(&self) -> Key {
        activity_key(self.user_id, self.event_date, &self.tail)
    }
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

/// The write that indexes activity `a` in `company` (a new entry).
pub fn entry(company: Id, a: &Activity, tail: &str) -> Write {
    entry_put(company, a, tail, Some(Cond::absent()))
}

/// The write that indexes activity `a` in `company`, with the given condition.
pub fn entry_put(company: Id, a: &Activity, tail: &str, cond: Option<Cond>) -> Write {
    let e = SiteEntry {
        user_id: a.user_id,
        event_date: a.event_date,
        activity_type_id: a.activity_type_id,
        source_type_id: a.source_type_id,
        tail: tail.to_string(),
        order: String::new(),
    };
    let at = time(a.event_date);
    let mut item = keyed_item(&entry_key(company, a.user_id, a.event_date, tail), &e);
    let index = [
        ("gsi1pk", by_user_pk(company, a.user_id)),
        ("gsi1sk", format!("{at}#{tail}")),
        ("gsi2pk", by_type_pk(company, a.activity_type_id)),
        ("gsi2sk", format!("{at}#{}#{tail}", a.user_id)),
    ];
    for (name, value) in index {
        item.insert(name.into(), json!(value));
    }
    if let Some(ttl) = a.ttl() {
        item.insert(TTL.into(), json!(ttl));
    }
    Write::Put { item, cond }
}

/// Whether a write creates a site index entry (the only writes that may leave their
/// transaction when it would be too large: see `usecases::activity_report::transact`).
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
    q.descending().limit(page)
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
        let mut e: SiteEntry = super::from_item(item)?;
        e.order = order;
        entries.push(e);
    }
    Ok((entries, page.next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::activity::{ActivityType, Source};
    use crate::domain::Caller;

    #[test]
    fn entries_sort_by_time_and_are_found_by_their_scopes() {
        let (c, u) = (Id::new(3).unwrap(), Id::new(42).unwrap());
        let at = DateTime::parse_from_rfc3339("2022-01-06T06:27:55.6Z")
            .unwrap()
            .with_timezone(&Utc);
        let caller = Caller::default();
        let writes = crate::records::activity::record_for_sites(
            &[c],
            u,
            ActivityType::LoginSuccessful,
            Source::Web,
            &caller,
            None,
            at,
        );
        let Write::Put { item, .. } = &writes[1] else {
            panic!("an entry is a put")
        };
        assert!(!is_entry(&writes[0]) && is_entry(&writes[1]));
        let sk = item["sk"].as_str().unwrap();
        assert!(
            sk.starts_with("ACTIVITY#2022-01-06T06:27:55.600Z#42#"),
            "{sk}"
        );
        assert_eq!(item["gsi1pk"], json!("COMPANY#3#USERACTIVITY#42"));
        assert_eq!(item["gsi2pk"], json!("COMPANY#3#ACTIVITYTYPE#1"));
        for scope in [Scope::Site(c), Scope::User(c, u), Scope::Type(c, 1)] {
            let q = query(scope, at, at, 10);
            let (_, sort_name) = q.index.key_names();
            let sort = item[sort_name].as_str().unwrap();
            assert!(q.sort.matches(sort), "{scope:?} finds {sort}");
            assert!(!q.ascending);
            let later = query(scope, at + chrono::Duration::milliseconds(1), at, 10);
            assert!(!later.sort.matches(sort), "{scope:?} starts at its from");
        }
    }
}
