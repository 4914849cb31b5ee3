//! The activity log's items: in the user's partition, sorted by time, so a user's date range is
//! one query. The writes that record one also index it for the sites that may see it
//! (`site`, whose module imports nothing from this one).

pub mod site;

use crate::domain::activity::{ActivityType, Source};
use crate::domain::secrets::random_hex_id;
use crate::domain::{Caller, Id};
use crate::ports::store::{Cond, Index, Key, Query, SortKey, Store, StoreError, Write, TTL};
use crate::records::{keyed_item, user_pk};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use site::SiteEntry;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub user_id: Id,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub event_date: DateTime<Utc>,
    pub activity_type_id: u8,
    pub activity_type: String,
    pub source_type_id: u8,
    pub source_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The site (company) a site event concerns; absent for account events (a login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Id>,
}

impl Activity {
    fn new(
        user: Id,
        kind: ActivityType,
        source: Source,
        caller: &Caller,
        session_id: Option<&str>,
        at: DateTime<Utc>,
        company: Option<Id>,
    ) -> Activity {
        Activity {
            user_id: user,
            event_date: at,
            activity_type_id: kind.id(),
            activity_type: kind.label().into(),
            source_type_id: source.id(),
            source_type: source.label().into(),
            ip_address: caller.ip.clone(),
            session_id: session_id.map(str::to_string),
            company_id: company,
        }
    }

    /// When the item expires (epoch seconds), for the kinds that are not kept for good.
    pub fn ttl(&self) -> Option<i64> {
        let unauthenticated = [ActivityType::LoginFailed, ActivityType::AccountLocked]
            .iter()
            .any(|k| k.id() == self.activity_type_id);
        // Unauthenticated callers cause these: they expire, so a flood cannot grow the table.
        unauthenticated
            .then(|| (self.event_date + chrono::Duration::days(FAILED_LOGIN_DAYS)).timestamp())
    }
}

/// How long failed-login and lockout items are kept (other activity is kept for good).
pub const FAILED_LOGIN_DAYS: i64 = 90;

/// Sorted by time within the user's partition; the random tail keeps two events of one
/// millisecond apart.
pub fn activity_key(user: Id, at: DateTime<Utc>, tail: &str) -> Key {
    Key::new(
        user_pk(user),
        format!("ACTIVITY#{}#{tail}", crate::domain::time::format(at)),
    )
}

impl SiteEntry {
    /// The key of the activity item the entry stands for.
    pub fn record_key(&self) -> Key {
        activity_key(self.user_id, self.event_date, &self.tail)
    }
}

/// The site index entry of activity `a` whose item's key ends with `tail`.
fn entry_of(a: &Activity, tail: &str) -> SiteEntry {
    SiteEntry {
        user_id: a.user_id,
        event_date: a.event_date,
        activity_type_id: a.activity_type_id,
        source_type_id: a.source_type_id,
        tail: tail.to_string(),
        order: String::new(),
    }
}

/// The write that indexes activity `a` in `company`; a new entry unless `cond` says otherwise.
fn index_in(company: Id, a: &Activity, tail: &str, cond: Option<Cond>) -> Write {
    site::entry_put(company, &entry_of(a, tail), a.ttl(), cond)
}

/// The item of one activity under its key's random `tail`.
fn put(a: &Activity, tail: &str, cond: Option<Cond>) -> Write {
    let mut item = keyed_item(&activity_key(a.user_id, a.event_date, tail), a);
    if let Some(ttl) = a.ttl() {
        item.insert(TTL.into(), serde_json::json!(ttl));
    }
    Write::Put { item, cond }
}

fn new_tail() -> String {
    random_hex_id()[..8].to_string()
}

/// The writes that record an account event (a login, a logout, ...): the activity item, then
/// one site index entry for each of `sites` (the sites the user has access to), last, so a
/// caller may move entries beyond a transaction's limit into another.
pub fn record_for_sites(
    sites: &[Id],
    user: Id,
    kind: ActivityType,
    source: Source,
    caller: &Caller,
    session_id: Option<&str>,
    at: DateTime<Utc>,
) -> Vec<Write> {
    let a = Activity::new(user, kind, source, caller, session_id, at, None);
    let tail = new_tail();
    let mut writes = vec![put(&a, &tail, Some(Cond::absent()))];
    writes.extend(
        sites
            .iter()
            .map(|c| index_in(*c, &a, &tail, Some(Cond::absent()))),
    );
    writes
}

/// The writes that record an event of one site (an invitation, a team assignment, site
/// access): the activity item, naming the site, and the site's index entry.
pub fn record_in_site(
    company: Id,
    user: Id,
    kind: ActivityType,
    source: Source,
    caller: &Caller,
    session_id: Option<&str>,
    at: DateTime<Utc>,
) -> [Write; 2] {
    let a = Activity::new(user, kind, source, caller, session_id, at, Some(company));
    let tail = new_tail();
    [
        put(&a, &tail, Some(Cond::absent())),
        index_in(company, &a, &tail, Some(Cond::absent())),
    ]
}

/// Temporary access's end, recorded when it is granted: a `Site Access Expired` item dated
/// `end` (reports never read past their request's time, so it shows once `end` has passed).
/// Its key is fixed by the site, user and time, so a later invite that moves the end can
/// remove it (`cancel_expiry`).
fn expiry(company: Id, user: Id, end: DateTime<Utc>) -> (Activity, String) {
    let a = Activity::new(
        user,
        ActivityType::SiteAccessExpired,
        Source::System,
        &Caller::default(),
        None,
        end,
        Some(company),
    );
    (a, format!("end{company}"))
}

/// The writes that record the end of temporary access at `end` (idempotent), and the
/// `membership.ended` event that waits for it.
pub fn record_expiry(company: Id, user: Id, end: DateTime<Utc>) -> [Write; 3] {
    let (a, tail) = expiry(company, user, end);
    [
        put(&a, &tail, None),
        index_in(company, &a, &tail, None),
        super::events::access_ends(company, user, end),
    ]
}

/// The writes that remove an end of temporary access recorded for `end`, which has not come.
pub fn cancel_expiry(company: Id, user: Id, end: DateTime<Utc>) -> [Write; 3] {
    let (_, tail) = expiry(company, user, end);
    [
        Write::Delete {
            key: activity_key(user, end, &tail),
            cond: None,
        },
        Write::Delete {
            key: site::entry_key(company, user, end, &tail),
            cond: None,
        },
        super::events::access_end_cancelled(company, user, end),
    ]
}

/// Every activity item of a user, oldest first.
pub async fn of_user(store: &dyn Store, user: Id) -> Result<Vec<Activity>, StoreError> {
    super::query_all(
        store,
        Query::partition(Index::Table, user_pk(user)).sort(SortKey::BeginsWith("ACTIVITY#".into())),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::site::{is_entry, queries, Scope};
    use super::*;
    use serde_json::json;

    #[test]
    fn site_entries_sort_by_time_and_are_found_by_their_scopes() {
        let (c, u) = (Id::new(3).unwrap(), Id::new(42).unwrap());
        let at = DateTime::parse_from_rfc3339("2022-01-06T06:27:55.6Z")
            .unwrap()
            .with_timezone(&Utc);
        let caller = Caller::default();
        let writes = record_for_sites(
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
        let pk = item["pk"].as_str().unwrap();
        let shard = pk.strip_prefix("COMPANY#3#ACTIVITY#").unwrap();
        assert_eq!(
            item["gsi2pk"],
            json!(format!("COMPANY#3#ACTIVITYTYPE#1#{shard}")),
            "a type's entries are spread as the site's"
        );
        for scope in [Scope::Site(c), Scope::User(c, u), Scope::Type(c, 1)] {
            let qs = queries(scope, at, at, 10);
            let (pk_name, sort_name) = qs[0].index.key_names();
            let q = qs
                .iter()
                .find(|q| item[pk_name] == json!(q.partition))
                .unwrap_or_else(|| panic!("{scope:?} reads the entry's partition"));
            let sort = item[sort_name].as_str().unwrap();
            assert!(q.sort.matches(sort), "{scope:?} finds {sort}");
            assert!(!q.ascending);
            let later = queries(scope, at + chrono::Duration::milliseconds(1), at, 10);
            assert!(
                later.iter().all(|l| !l.sort.matches(sort)),
                "{scope:?} starts at its from"
            );
        }
    }
}
