//! The table in memory, with DynamoDB's semantics: items in a B-tree by key, each global
//! secondary index a B-tree of (partition, sort, key) entries kept with its items (sparse: an
//! item without the index's attributes is not in it), conditions evaluated on the item as it
//! is, queries by partition and sort-key condition in either order, cut into pages at the
//! query's limit or at 1 MB of item data as DynamoDB cuts them, and items past their TTL left
//! to the compaction (as DynamoDB deletes them in the background, readers never rely on it).

use crate::ports::store::{
    check_item, evaluate, item_size, Cond, Index, Item, Key, Page, Query, StoreError, Write,
    MAX_PAGE_BYTES, PK, SK, TTL,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub(super) type IndexEntry = (String, String, Key);

/// The table in memory.
#[derive(Default)]
pub(super) struct Data {
    pub(super) items: BTreeMap<Key, Item>,
    pub(super) gsi: [BTreeSet<IndexEntry>; 2],
}

/// What a committed batch does to the data: the items' final states.
pub(super) enum Change {
    Put(Item),
    Delete(Key),
}

// A panic while holding the data lock cannot leave a half-applied batch (changes are applied
// in memory, after the journal write, without fallible steps), so poisoning is ignored.
pub(super) fn read(d: &RwLock<Data>) -> RwLockReadGuard<'_, Data> {
    d.read().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn write(d: &RwLock<Data>) -> RwLockWriteGuard<'_, Data> {
    d.write().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn index_entry(index: Index, item: &Item, key: &Key) -> Option<IndexEntry> {
    let (p, s) = index.key_names();
    Some((
        item.get(p)?.as_str()?.to_string(),
        item.get(s)?.as_str()?.to_string(),
        key.clone(),
    ))
}

pub(super) const GSIS: [Index; 2] = [Index::Gsi1, Index::Gsi2];

pub(super) fn apply(data: &mut Data, change: Change) {
    let key = match &change {
        Change::Put(item) => match Key::of(item) {
            Some(k) => k,
            None => return,
        },
        Change::Delete(k) => k.clone(),
    };
    if let Some(old) = data.items.remove(&key) {
        for (index, entries) in GSIS.iter().zip(data.gsi.iter_mut()) {
            if let Some(e) = index_entry(*index, &old, &key) {
                entries.remove(&e);
            }
        }
    }
    if let Change::Put(item) = change {
        for (index, entries) in GSIS.iter().zip(data.gsi.iter_mut()) {
            if let Some(e) = index_entry(*index, &item, &key) {
                entries.insert(e);
            }
        }
        data.items.insert(key, item);
    }
}

pub(super) fn drop_expired(data: &mut Data, now: i64) {
    let expired: Vec<Key> = data
        .items
        .iter()
        .filter(|(_, item)| {
            item.get(TTL)
                .and_then(Value::as_i64)
                .is_some_and(|t| t < now)
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in expired {
        apply(data, Change::Delete(k));
    }
}

pub(super) fn holds(cond: Option<&Cond>, current: Option<&Item>) -> bool {
    cond.is_none_or(|c| evaluate(c, current))
}

/// The state a write leaves its item in, if its condition holds.
pub(super) fn resolve(data: &Data, w: &Write) -> Result<Option<Change>, StoreError> {
    let key = w.key()?;
    let current = data.items.get(&key);
    if !holds(w.cond(), current) {
        return Err(StoreError::ConditionFailed {
            current: current.cloned(),
        });
    }
    Ok(match w {
        Write::Put { item, .. } => {
            check_item(item)?;
            Some(Change::Put(item.clone()))
        }
        Write::Update { update, .. } => {
            let next = update.apply(&key, current)?;
            check_item(&next)?;
            Some(Change::Put(next))
        }
        Write::Delete { .. } => Some(Change::Delete(key)),
        Write::Check { .. } => None,
    })
}

pub(super) fn cursor_of(index: Index, item: &Item) -> Item {
    let mut c = Item::new();
    let (p, s) = index.key_names();
    for name in [PK, SK, p, s] {
        if let Some(v) = item.get(name) {
            c.insert(name.to_string(), v.clone());
        }
    }
    c
}

pub(super) type Hit<'a> = (&'a str, &'a Key);

/// The (sort key, table key) pairs of a query's partition that match its sort key condition,
/// in the query's order.
pub(super) fn hits<'a>(data: &'a Data, q: &'a Query) -> Box<dyn Iterator<Item = Hit<'a>> + 'a> {
    let p = q.partition.as_str();
    let upper = format!("{p}\u{0}");
    let all: Box<dyn DoubleEndedIterator<Item = Hit<'a>> + 'a> = match q.index {
        Index::Table => Box::new(
            data.items
                .range((
                    Bound::Included(Key::new(p, "")),
                    Bound::Excluded(Key::new(upper, "")),
                ))
                .map(|(k, _)| (k.sk.as_str(), k)),
        ),
        Index::Gsi1 | Index::Gsi2 => {
            let [gsi1, gsi2] = &data.gsi;
            let entries = if q.index == Index::Gsi2 { gsi2 } else { gsi1 };
            let lo = (p.to_string(), String::new(), Key::new("", ""));
            let hi = (upper, String::new(), Key::new("", ""));
            Box::new(
                entries
                    .range((Bound::Included(lo), Bound::Excluded(hi)))
                    .map(|(_, sk, k)| (sk.as_str(), k)),
            )
        }
    };
    let ordered: Box<dyn Iterator<Item = Hit<'a>> + 'a> = if q.ascending {
        all
    } else {
        Box::new(all.rev())
    };
    Box::new(ordered.filter(|(sk, _)| q.sort.matches(sk)))
}

/// One page of a query, as DynamoDB cuts it: at the limit, or before the item that would take
/// the page past `MAX_PAGE_BYTES` of item data (never empty for that reason). `next` is the
/// last item's key when the page was cut with more items to come.
pub(super) fn query_page(data: &Data, q: &Query) -> Result<Page, StoreError> {
    let after = match &q.start_after {
        None => None,
        Some(cur) => {
            let (_, s) = q.index.key_names();
            let key = Key::of(cur)
                .ok_or_else(|| StoreError::Invalid("cursor without pk and sk".into()))?;
            let sk = cur.get(s).and_then(Value::as_str).unwrap_or_default();
            Some((sk.to_string(), key))
        }
    };
    let past_cursor = |h: &Hit<'_>| match &after {
        None => true,
        Some((sk, key)) => {
            let ord = (h.0, h.1).cmp(&(sk.as_str(), key));
            if q.ascending {
                ord.is_gt()
            } else {
                ord.is_lt()
            }
        }
    };
    let limit = q.limit.unwrap_or(usize::MAX);
    let (mut items, mut bytes, mut cut) = (Vec::new(), 0, false);
    for (_, key) in hits(data, q).skip_while(|h| !past_cursor(h)) {
        let Some(item) = data.items.get(key) else {
            continue;
        };
        let size = item_size(item);
        if items.len() >= limit || (!items.is_empty() && bytes + size > MAX_PAGE_BYTES) {
            cut = true;
            break;
        }
        bytes += size;
        items.push(item.clone());
    }
    let next = if cut {
        items.last().map(|i| cursor_of(q.index, i))
    } else {
        None
    };
    Ok(Page { items, next })
}

#[cfg(test)]
mod tests {
    use super::super::EmbeddedStore;
    use super::*;
    use crate::ports::store::Store;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    #[tokio::test]
    async fn query_pages_are_cut_at_one_megabyte_and_next_walks_every_item_once() {
        let s = EmbeddedStore::in_memory();
        let blob = "x".repeat(100_000);
        for i in 0..40 {
            let it = json!({"pk": "BIG", "sk": format!("{i:03}"), "blob": blob,
                            "gsi1pk": "BIGIDX", "gsi1sk": "same"});
            s.put(item(it), None).await.unwrap();
        }
        s.put(item(json!({"pk": "BIH", "sk": "000"})), None)
            .await
            .unwrap();
        for index in [Index::Table, Index::Gsi1] {
            let partition = if index == Index::Table {
                "BIG"
            } else {
                "BIGIDX"
            };
            for (descending, limit) in [(false, None), (true, None), (false, Some(7))] {
                let mut query = Query::partition(index, partition);
                if descending {
                    query = query.descending();
                }
                if let Some(n) = limit {
                    query = query.limit(n);
                }
                let mut seen = Vec::new();
                let mut pages = 0;
                loop {
                    let page = s.query(&query).await.unwrap();
                    pages += 1;
                    let bytes: usize = page
                        .items
                        .iter()
                        .map(|i| serde_json::to_vec(i).unwrap().len())
                        .sum();
                    assert!(bytes <= MAX_PAGE_BYTES, "page of {bytes} bytes");
                    assert!(page.items.len() <= limit.unwrap_or(usize::MAX));
                    seen.extend(
                        page.items
                            .iter()
                            .map(|i| i["sk"].as_str().unwrap().to_string()),
                    );
                    match page.next {
                        Some(n) => query = query.start_after(Some(n)),
                        None => break,
                    }
                }
                assert!(pages >= 4, "{index:?}: {pages} pages");
                let mut want: Vec<String> = (0..40).map(|i| format!("{i:03}")).collect();
                if descending && index == Index::Table {
                    want.reverse();
                }
                if index == Index::Gsi1 {
                    seen.sort();
                    if descending {
                        want.sort();
                    }
                }
                assert_eq!(
                    seen, want,
                    "{index:?} descending={descending} limit={limit:?}"
                );
            }
        }
    }
}
