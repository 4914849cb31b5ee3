//! The user activity report of a site (`POST /api/rest/v1/management/user/activity`). It only
//! reads: what is recorded, and how, is `usecases::account_activity` (account events) and each
//! site event's use case (with `records::activity::record_in_site`).
//!
//! The report reads the site activity index (`records::activity::site`) by key: a site's time
//! range, one user's in the site, or one type's in the site, newest first, and fetches the
//! activity items of the requested page only. Counting the matches reads index entries, never
//! the items, and never the table.

use crate::app::App;
use crate::domain::activity::{ipv4_number, ActivityType, Source};
use crate::domain::error::{DomainError, Service};
use crate::domain::Id;
use crate::ports::store::{Key, Query, StoreError};
use crate::records::activity::site::{self as site_activity, Scope, SiteEntry};
use crate::records::activity::Activity;
use crate::records::{user, Company, User};
use crate::usecases::{distinct, failed};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

pub const MAX_PAGE_SIZE: u64 = 100;
pub const MAX_USER_IDS: usize = 100;
/// Index entries buffered while merging (split among the queries of a report, so a report on
/// many users holds no more of them in memory than one on a whole site).
const SCAN_ENTRIES: usize = 1000;

/// How much one report may read: at most `max_counted` matches are counted (beyond the page
/// asked for), and at most `max_reads` pages of the index are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportLimits {
    pub max_counted: u64,
    pub max_reads: usize,
}

/// The limits of every report: 10,000 matches counted, 250 index pages read (enough for the
/// count on 100 users' indexes of 100 entries a page).
pub const LIMITS: ReportLimits = ReportLimits {
    max_counted: 10_000,
    max_reads: 250,
};

pub const REVERSED_RANGE: &str = "DateTo should be greater than DateFrom.";

/// The report's body as sent (the vendor's fields, and the paging this API adds).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRequest {
    pub user_ids: Option<Vec<u64>>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub activity: Option<u64>,
    pub source: Option<u64>,
    pub page: Option<u64>,
    pub page_size: Option<u64>,
    /// The `nextCursor` of the page before (this API's addition): the page after it, without
    /// counting again.
    pub cursor: Option<String>,
}

/// Whose activity a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Users {
    /// Every user of the site (`userIds` empty or left out).
    All,
    /// These users (ids that can name no user are left out, so this may be empty).
    Only(Vec<Id>),
}

/// A report request, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityQuery {
    pub users: Users,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub activity: Option<ActivityType>,
    pub source: Option<Source>,
    /// From 1.
    pub page: u64,
    pub page_size: u64,
    /// Where the page before ended: its rows come before this one's.
    pub cursor: Option<ReportCursor>,
}

/// Where a page ended: the sort key of its last entry (entries of every scope sort by their
/// key in the site's partition), and the count the first page made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportCursor {
    after: String,
    total: u64,
    capped: bool,
}

impl ReportCursor {
    /// Opaque to the client: hex of the cursor's JSON.
    fn encode(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn decode(raw: &str) -> Result<ReportCursor, DomainError> {
        let bad = || DomainError::invalid("cursor is not one this report returned");
        if raw.len() > 2048 {
            return Err(bad());
        }
        let bytes = crate::usecases::notifications::hex_bytes(raw).ok_or_else(bad)?;
        let c: ReportCursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if site_activity::time_of_order(&c.after).is_none() {
            return Err(bad());
        }
        Ok(c)
    }

    /// The time of the entry the page ended with (no later entry is read again).
    fn time(&self) -> Option<DateTime<Utc>> {
        site_activity::time_of_order(&self.after)
    }
}

/// A date and time in RFC 3339 (`2022-01-05T19:54:08.704Z`); one without a zone is UTC.
fn date_field(name: &str, raw: Option<&str>) -> Result<DateTime<Utc>, DomainError> {
    let raw = raw
        .map(str::trim)
        .ok_or_else(|| DomainError::invalid(format!("{name} is required")))?;
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| {
            DomainError::invalid(format!(
                "{name} must be a date and time such as 2022-01-05T19:54:08.704Z"
            ))
        })
}

fn paging(page: Option<u64>, size: Option<u64>) -> Result<(u64, u64), DomainError> {
    let page = page.unwrap_or(1);
    if page == 0 {
        return Err(DomainError::invalid("page counts from 1"));
    }
    let size = size.unwrap_or(MAX_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(DomainError::invalid(format!(
            "pageSize must be from 1 to {MAX_PAGE_SIZE}"
        )));
    }
    Ok((page, size))
}

impl TryFrom<ActivityRequest> for ActivityQuery {
    type Error = DomainError;
    fn try_from(body: ActivityRequest) -> Result<Self, DomainError> {
        let from = date_field("dateFrom", body.date_from.as_deref())?;
        let to = date_field("dateTo", body.date_to.as_deref())?;
        if to <= from {
            return Err(DomainError::invalid(REVERSED_RANGE));
        }
        let ids = body.user_ids.unwrap_or_default();
        if ids.len() > MAX_USER_IDS {
            return Err(DomainError::invalid(format!(
                "userIds holds at most {MAX_USER_IDS} user ids"
            )));
        }
        let users = if ids.is_empty() {
            Users::All
        } else {
            Users::Only(distinct(ids.into_iter().filter_map(|n| Id::new(n).ok())))
        };
        let activity = body
            .activity
            .map(|n| ActivityType::from_id(n).ok_or(n))
            .transpose()
            .map_err(|n| {
                DomainError::invalid(format!(
                    "activity {n} is not an activity type id (1 to {}; see the API reference)",
                    ActivityType::ALL.len()
                ))
            })?;
        let source = body
            .source
            .map(|n| Source::from_id(n).ok_or(n))
            .transpose()
            .map_err(|n| {
                DomainError::invalid(format!(
                    "source {n} is not a source id (1 to {}; see the API reference)",
                    Source::ALL.len()
                ))
            })?;
        let (page, page_size) = paging(body.page, body.page_size)?;
        let cursor = body
            .cursor
            .as_deref()
            .map(ReportCursor::decode)
            .transpose()?;
        if cursor.is_some() && page > 1 {
            return Err(DomainError::invalid("send page or cursor, not both"));
        }
        Ok(ActivityQuery {
            users,
            from,
            to,
            activity,
            source,
            page,
            page_size,
            cursor,
        })
    }
}

/// One row, in the vendor's shape.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRow {
    pub user_name: String,
    pub full_name: String,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub event_date: DateTime<Utc>,
    pub activity_type_id: u8,
    pub activity_type: String,
    pub source_type_id: u8,
    pub source_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<u32>,
    pub user_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// The answer: the matches counted, one page of rows.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActivityPage {
    pub total_records: u64,
    /// True when counting stopped at a limit: there are more matches than `total_records`.
    /// Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub total_records_capped: bool,
    pub rows: Vec<ActivityRow>,
    /// The page after this one, for `cursor` (this API's addition; absent on the last page):
    /// it reads on from this page's last row and does not count again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The report as the site's admin asks for it: the site `requested` (or the admin's only one,
/// see `site_access::admin_site`), then its report within `LIMITS`, both at one `now`.
pub async fn report_as(
    app: &App,
    admin: Id,
    requested: Option<Id>,
    q: ActivityQuery,
) -> Result<ActivityPage, DomainError> {
    let now = app.clock.now();
    let site = crate::usecases::site_access::admin_site(app, admin, requested, now).await?;
    report_at(app, &site, q, LIMITS, now).await
}

/// The user activity report of `site`, newest first, within `LIMITS`.
pub async fn report(
    app: &App,
    site: &Company,
    q: ActivityQuery,
) -> Result<ActivityPage, DomainError> {
    report_within(app, site, q, LIMITS).await
}

/// The user activity report of `site`, newest first, reading no more than `limits` allow.
pub async fn report_within(
    app: &App,
    site: &Company,
    q: ActivityQuery,
    limits: ReportLimits,
) -> Result<ActivityPage, DomainError> {
    report_at(app, site, q, limits, app.clock.now()).await
}

/// The report of `site` as of `now`.
async fn report_at(
    app: &App,
    site: &Company,
    q: ActivityQuery,
    limits: ReportLimits,
    now: DateTime<Utc>,
) -> Result<ActivityPage, DomainError> {
    let c = site.company_id;
    // Nothing has happened after now (a temporary access's end is recorded ahead of time), nor
    // after the entry the page before ended with.
    let mut to = q.to.min(now);
    if let Some(t) = q.cursor.as_ref().and_then(ReportCursor::time) {
        to = to.min(t);
    }
    let scopes: Vec<Scope> = match (&q.users, q.activity) {
        (Users::All, Some(t)) => vec![Scope::Type(c, t.id())],
        (Users::All, None) => vec![Scope::Site(c)],
        (Users::Only(ids), _) => ids.iter().map(|u| Scope::User(c, *u)).collect(),
    };
    let queries = |page| -> Vec<Query> {
        scopes
            .iter()
            .flat_map(|s| site_activity::queries(*s, q.from, to, page))
            .collect()
    };
    let per_query = (SCAN_ENTRIES / queries(1).len().max(1)).max(100);
    let mut cursors: Vec<Cursor> = if to < q.from {
        Vec::new()
    } else {
        queries(per_query).into_iter().map(Cursor::new).collect()
    };
    let after = q.cursor.as_ref().map(|c| c.after.clone());
    let wanted = |e: &SiteEntry| {
        q.activity.is_none_or(|t| e.activity_type_id == t.id())
            && q.source.is_none_or(|s| e.source_type_id == s.id())
            && after.as_ref().is_none_or(|a| e.order < *a)
    };
    let skip = (q.page - 1).saturating_mul(q.page_size);
    let mut budget = limits.max_reads;
    // A page after a cursor is not counted again: the first page's count goes on.
    let count_to = match q.cursor {
        Some(_) => None,
        None => Some(limits.max_counted.max(skip.saturating_add(q.page_size))),
    };
    let scanned = scan(
        app,
        &mut cursors,
        &wanted,
        (skip, q.page_size),
        count_to,
        &mut budget,
    )
    .await
    .map_err(failed(Service::User))?;
    answer(app, &q, skip, scanned).await
}

/// The answer to `q` from what its scan found: the count (the first page's, after a cursor),
/// the rows, and the cursor to the page after when there may be one.
async fn answer(
    app: &App,
    q: &ActivityQuery,
    skip: u64,
    scanned: Scanned,
) -> Result<ActivityPage, DomainError> {
    let (total, capped) = match &q.cursor {
        Some(c) => (c.total, c.capped),
        None => (scanned.total, scanned.capped),
    };
    let more = match &q.cursor {
        Some(_) => scanned.capped,
        None => scanned.capped || scanned.total > skip.saturating_add(q.page_size),
    };
    let next_cursor = scanned
        .window
        .last()
        .filter(|_| more && scanned.window.len() as u64 == q.page_size)
        .map(|last| {
            ReportCursor {
                after: last.order.clone(),
                total,
                capped,
            }
            .encode()
        });
    let rows = rows(app, scanned.window)
        .await
        .map_err(failed(Service::User))?;
    Ok(ActivityPage {
        total_records: total,
        total_records_capped: capped,
        rows,
        next_cursor,
    })
}

/// Reads one query's entries a page at a time.
struct Cursor {
    query: Query,
    buffered: VecDeque<SiteEntry>,
    done: bool,
}

impl Cursor {
    fn new(query: Query) -> Cursor {
        Cursor {
            query,
            buffered: VecDeque::new(),
            done: false,
        }
    }

    /// Reads the next page if nothing is buffered and there is more, while `budget` (store
    /// reads left for the report) lasts.
    async fn fill(&mut self, app: &App, budget: &mut usize) -> Result<(), StoreError> {
        while self.buffered.is_empty() && !self.done && *budget > 0 {
            *budget -= 1;
            let (entries, next) = site_activity::page(app.store.as_ref(), &self.query).await?;
            self.buffered.extend(entries);
            match next {
                Some(cursor) => self.query = self.query.clone().start_after(Some(cursor)),
                None => self.done = true,
            }
        }
        Ok(())
    }

    /// Whether entries may be left: buffered, or not read yet.
    fn has_more(&self) -> bool {
        !self.buffered.is_empty() || !self.done
    }
}

/// Fills every cursor that needs a page, all at once (a report on many users reads their
/// indexes concurrently), each read spending one of `budget`.
async fn fill_all(app: &App, cursors: &mut [Cursor], budget: &mut usize) -> Result<(), StoreError> {
    let mut reads = Vec::new();
    for c in cursors.iter_mut() {
        if c.buffered.is_empty() && !c.done && *budget > 0 {
            *budget -= 1;
            reads.push(c);
        }
    }
    let pages = futures_util::future::join_all(reads.iter().map(|c| {
        let query = c.query.clone();
        async move { site_activity::page(app.store.as_ref(), &query).await }
    }))
    .await;
    for (c, page) in reads.into_iter().zip(pages) {
        let (entries, next) = page?;
        c.buffered.extend(entries);
        match next {
            Some(cursor) => c.query = c.query.clone().start_after(Some(cursor)),
            None => c.done = true,
        }
    }
    // A cursor whose page held nothing it kept (there is none) reads on, one by one.
    for c in cursors.iter_mut() {
        c.fill(app, budget).await?;
    }
    Ok(())
}

/// What a scan found: the matches counted (at most the count limit), whether there are more
/// than that, and the page's entries.
struct Scanned {
    total: u64,
    capped: bool,
    window: Vec<SiteEntry>,
}

/// Merges the cursors newest first: counts the wanted entries and keeps the `take` after the
/// first `skip` (`page`). Once the page is full the rest is only counted, up to `count_to`
/// (none: not counted; `capped` then says whether entries may be left).
/// Every store read spends one of `budget`; when the count limit or the budget stops the scan
/// with entries left, the count is `capped`.
async fn scan(
    app: &App,
    cursors: &mut [Cursor],
    wanted: &impl Fn(&SiteEntry) -> bool,
    (skip, take): (u64, u64),
    count_to: Option<u64>,
    budget: &mut usize,
) -> Result<Scanned, StoreError> {
    let mut total = 0u64;
    let mut window = Vec::new();
    let more_left = |cursors: &[Cursor]| cursors.iter().any(Cursor::has_more);
    while (window.len() as u64) < take {
        fill_all(app, cursors, budget).await?;
        if *budget == 0 && cursors.iter().any(|c| c.buffered.is_empty() && !c.done) {
            // A cursor could not be read: the merge would no longer be newest first.
            return Ok(Scanned {
                total,
                capped: true,
                window,
            });
        }
        let newest = cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.buffered.front().map(|e| (i, &e.order)))
            .max_by(|a, b| a.1.cmp(b.1))
            .map(|(i, _)| i);
        let Some(e) = newest
            .and_then(|i| cursors.get_mut(i))
            .and_then(|c| c.buffered.pop_front())
        else {
            return Ok(Scanned {
                total,
                capped: false,
                window,
            });
        };
        if wanted(&e) {
            if total >= skip {
                window.push(e);
            }
            total += 1;
        }
    }
    let Some(count_to) = count_to else {
        return Ok(Scanned {
            total,
            capped: more_left(cursors),
            window,
        });
    };
    for c in cursors.iter_mut() {
        loop {
            total += c.buffered.drain(..).filter(|e| wanted(e)).count() as u64;
            if total > count_to {
                return Ok(Scanned {
                    total: count_to,
                    capped: true,
                    window,
                });
            }
            c.fill(app, budget).await?;
            if c.buffered.is_empty() {
                break;
            }
        }
    }
    Ok(Scanned {
        total,
        capped: more_left(cursors),
        window,
    })
}

/// The rows of a page: its activity items and their users, read by key.
async fn rows(app: &App, window: Vec<SiteEntry>) -> Result<Vec<ActivityRow>, StoreError> {
    let store = app.store.as_ref();
    let keys: Vec<Key> = window.iter().map(SiteEntry::record_key).collect();
    let items: HashMap<Key, Activity> = crate::records::get_many(store, &keys)
        .await?
        .into_iter()
        .collect();
    let user_ids = distinct(window.iter().map(|e| e.user_id));
    let user_keys: Vec<Key> = user_ids.iter().map(|u| user::user_key(*u)).collect();
    let users: HashMap<Id, User> = crate::records::get_many::<User>(store, &user_keys)
        .await?
        .into_iter()
        .map(|(_, u)| (u.user_id, u))
        .collect();
    let mut rows = Vec::with_capacity(window.len());
    for (e, key) in window.iter().zip(&keys) {
        let Some(a) = items.get(key) else {
            tracing::warn!(key = %key, "an activity index entry has no activity item");
            continue;
        };
        rows.push(row(a, users.get(&e.user_id)));
    }
    Ok(rows)
}

fn row(a: &Activity, u: Option<&User>) -> ActivityRow {
    let kind = ActivityType::from_id(a.activity_type_id.into());
    let source = Source::from_id(a.source_type_id.into());
    ActivityRow {
        user_name: u.map(|u| u.email.to_string()).unwrap_or_default(),
        full_name: u
            .map(|u| {
                format!("{} {}", u.first_name, u.last_name)
                    .trim()
                    .to_string()
            })
            .unwrap_or_default(),
        event_date: a.event_date,
        activity_type_id: a.activity_type_id,
        activity_type: kind.map_or_else(|| a.activity_type.clone(), |k| k.label().into()),
        source_type_id: a.source_type_id,
        source_type: source.map_or_else(|| a.source_type.clone(), |s| s.label().into()),
        ip_address: a.ip_address.as_deref().and_then(ipv4_number),
        user_id: a.user_id,
        session_id: a.session_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(v: serde_json::Value) -> Result<ActivityQuery, DomainError> {
        ActivityQuery::try_from(serde_json::from_value::<ActivityRequest>(v).unwrap())
    }

    #[test]
    fn the_seed_s_sample_request_is_valid() {
        let q = query(
            json!({"userIds": [1], "dateFrom": "2022-01-05T19:54:08.704Z",
            "dateTo": "2022-05-05T19:54:08.704Z", "activity": 1, "source": 1}),
        )
        .unwrap();
        assert_eq!(q.users, Users::Only(vec![Id::new(1).unwrap()]));
        assert_eq!(q.activity, Some(ActivityType::LoginSuccessful));
        assert_eq!(q.source, Some(Source::Web));
        assert_eq!((q.page, q.page_size), (1, MAX_PAGE_SIZE));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let range = |from: &str, to: &str| json!({"dateFrom": from, "dateTo": to});
        let cases = [
            (
                range("2021-05-05T19:54:08.704Z", "2021-05-05T19:54:08.704Z"),
                REVERSED_RANGE.to_string(),
            ),
            (
                range("2022-05-05T00:00:00Z", "2022-01-05T00:00:00Z"),
                REVERSED_RANGE.to_string(),
            ),
            (
                json!({"dateTo": "2022-01-05T00:00:00Z"}),
                "dateFrom is required".into(),
            ),
            (
                range("yesterday", "2022-01-05T00:00:00Z"),
                "dateFrom must be a date and time such as 2022-01-05T19:54:08.704Z".into(),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(query(body.clone()).unwrap_err().message, want, "{body}");
        }
        let base = range("2022-01-05T00:00:00Z", "2022-01-06T00:00:00");
        let with = |k: &str, v: serde_json::Value| {
            let mut b = base.clone();
            b[k] = v;
            query(b)
        };
        assert!(with("activity", json!(16)).is_err());
        assert!(with("source", json!(0)).is_err());
        assert!(with("pageSize", json!(101)).is_err());
        assert!(with("page", json!(0)).is_err());
        assert!(with("userIds", json!(vec![1; 101])).is_err());
        assert_eq!(with("userIds", json!([])).unwrap().users, Users::All);
        assert_eq!(
            with("userIds", json!([0])).unwrap().users,
            Users::Only(vec![])
        );
    }
}
