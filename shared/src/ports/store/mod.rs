//! The `Store` port, in DynamoDB's terms: items are maps of attributes keyed by `pk` + `sk`,
//! two sparse global secondary indexes (`gsi1pk`/`gsi1sk`, `gsi2pk`/`gsi2sk`), a TTL attribute
//! (`ttl`, epoch seconds), conditional writes and all-or-nothing transactions.
//!
//! Attribute values are JSON values: string -> S, number -> N, bool -> BOOL, null -> NULL,
//! array -> L, object -> M. Domain records are serialised with serde straight into items.

pub mod dynamodb;
pub mod embedded;
mod expr;
mod limits;

pub use expr::{compare_values, evaluate};
pub use limits::{
    check_item, item_size, validate_transaction, MAX_BATCH_GET_KEYS, MAX_ITEM_BYTES, MAX_NESTING,
    MAX_PAGE_BYTES, MAX_TRANSACTION_WRITES,
};

use async_trait::async_trait;
use serde_json::{Map, Value};
use std::fmt;

/// An item: attribute name -> value.
pub type Item = Map<String, Value>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL: &str = "ttl";

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The key of an item, if it has string `pk` and `sk` attributes.
    pub fn of(item: &Item) -> Option<Key> {
        Some(Key::new(
            item.get(PK)?.as_str()?.to_string(),
            item.get(SK)?.as_str()?.to_string(),
        ))
    }

    pub fn to_item(&self) -> Item {
        let mut m = Map::new();
        m.insert(PK.into(), Value::String(self.pk.clone()));
        m.insert(SK.into(), Value::String(self.sk.clone()));
        m
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.pk, self.sk)
    }
}

/// Where a query reads: the table or one of its global secondary indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
}

impl Index {
    /// The (partition, sort) attribute names of the index.
    pub fn key_names(self) -> (&'static str, &'static str) {
        match self {
            Index::Table => (PK, SK),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
            Index::Gsi2 => ("gsi2pk", "gsi2sk"),
        }
    }

    pub fn name(self) -> Option<&'static str> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some("gsi1"),
            Index::Gsi2 => Some("gsi2"),
        }
    }
}

/// A condition on the sort key of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Any,
    Eq(String),
    BeginsWith(String),
    /// Inclusive on both ends, as DynamoDB's BETWEEN.
    Between(String, String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

impl SortKey {
    pub fn matches(&self, sk: &str) -> bool {
        match self {
            SortKey::Any => true,
            SortKey::Eq(v) => sk == v,
            SortKey::BeginsWith(p) => sk.starts_with(p.as_str()),
            SortKey::Between(lo, hi) => sk >= lo.as_str() && sk <= hi.as_str(),
            SortKey::Lt(v) => sk < v.as_str(),
            SortKey::Le(v) => sk <= v.as_str(),
            SortKey::Gt(v) => sk > v.as_str(),
            SortKey::Ge(v) => sk >= v.as_str(),
        }
    }
}

/// A query: one partition of the table or an index, an optional sort key condition, a page.
#[derive(Debug, Clone)]
pub struct Query {
    pub index: Index,
    pub partition: String,
    pub sort: SortKey,
    /// Newest first when false (sort key descending).
    pub ascending: bool,
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub start_after: Option<Item>,
    /// A table query reads strongly consistent (what a write just committed) unless this is
    /// set: half the read units, and a write of the last second may be missing. An index is
    /// always read eventually consistent.
    pub eventually_consistent: bool,
}

impl Query {
    pub fn partition(index: Index, partition: impl Into<String>) -> Query {
        Query {
            index,
            partition: partition.into(),
            sort: SortKey::Any,
            ascending: true,
            limit: None,
            start_after: None,
            eventually_consistent: false,
        }
    }

    /// Read eventually consistent (a report, not a decision).
    pub fn eventually_consistent(mut self) -> Query {
        self.eventually_consistent = true;
        self
    }

    pub fn sort(mut self, sort: SortKey) -> Query {
        self.sort = sort;
        self
    }

    pub fn descending(mut self) -> Query {
        self.ascending = false;
        self
    }

    pub fn limit(mut self, n: usize) -> Query {
        self.limit = Some(n);
        self
    }

    pub fn start_after(mut self, cursor: Option<Item>) -> Query {
        self.start_after = cursor;
        self
    }
}

/// One page of a query. `next` is present when the page was cut, by the limit or (as DynamoDB
/// does) at 1 MB of item data: a caller that wants every item follows `next` until it is absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Item>,
}

/// A condition on an item's top-level attributes, as DynamoDB's condition expressions.
/// A missing item has no attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Exists(String),
    NotExists(String),
    Eq(String, Value),
    Ne(String, Value),
    Lt(String, Value),
    Le(String, Value),
    Gt(String, Value),
    Ge(String, Value),
    BeginsWith(String, String),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    /// The item must not exist yet (a uniqueness guard).
    pub fn absent() -> Cond {
        Cond::NotExists(PK.into())
    }

    /// The item must exist.
    pub fn present() -> Cond {
        Cond::Exists(PK.into())
    }

    pub fn eq(name: &str, v: impl Into<Value>) -> Cond {
        Cond::Eq(name.into(), v.into())
    }

    pub fn and(self, other: Cond) -> Cond {
        match self {
            Cond::And(mut v) => {
                v.push(other);
                Cond::And(v)
            }
            c => Cond::And(vec![c, other]),
        }
    }
}

/// An update: SET, REMOVE and ADD (numeric) actions on top-level attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    pub remove: Vec<String>,
    pub add: Vec<(String, i64)>,
}

impl Update {
    pub fn new() -> Update {
        Update::default()
    }

    pub fn set(mut self, name: &str, v: impl Into<Value>) -> Update {
        self.set.push((name.into(), v.into()));
        self
    }

    pub fn remove(mut self, name: &str) -> Update {
        self.remove.push(name.into());
        self
    }

    pub fn add(mut self, name: &str, by: i64) -> Update {
        self.add.push((name.into(), by));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty() && self.add.is_empty()
    }

    /// Applies the update to an item (a missing item starts with just its key), as DynamoDB does.
    pub fn apply(&self, key: &Key, current: Option<&Item>) -> Result<Item, StoreError> {
        let mut item = current.cloned().unwrap_or_else(|| key.to_item());
        for (name, v) in &self.set {
            check_not_key(name)?;
            item.insert(name.clone(), v.clone());
        }
        for name in &self.remove {
            check_not_key(name)?;
            item.remove(name);
        }
        for (name, by) in &self.add {
            check_not_key(name)?;
            let now = match item.get(name) {
                None => 0,
                Some(v) => v.as_i64().ok_or_else(|| {
                    StoreError::Invalid(format!("ADD on non-integer attribute {name}"))
                })?,
            };
            let next = now
                .checked_add(*by)
                .ok_or_else(|| StoreError::Invalid(format!("ADD overflows attribute {name}")))?;
            item.insert(name.clone(), Value::from(next));
        }
        Ok(item)
    }
}

fn check_not_key(name: &str) -> Result<(), StoreError> {
    if name == PK || name == SK {
        Err(StoreError::Invalid(format!(
            "cannot update key attribute {name}"
        )))
    } else {
        Ok(())
    }
}

/// One write of a transaction. Every write has an optional condition on the item's current state.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        item: Item,
        cond: Option<Cond>,
    },
    Update {
        key: Key,
        update: Update,
        cond: Option<Cond>,
    },
    Delete {
        key: Key,
        cond: Option<Cond>,
    },
    /// No write: the transaction only happens if the condition holds.
    Check {
        key: Key,
        cond: Cond,
    },
}

impl Write {
    pub fn key(&self) -> Result<Key, StoreError> {
        match self {
            Write::Put { item, .. } => Key::of(item)
                .ok_or_else(|| StoreError::Invalid("put item without string pk and sk".into())),
            Write::Update { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => {
                Ok(key.clone())
            }
        }
    }

    pub fn cond(&self) -> Option<&Cond> {
        match self {
            Write::Put { cond, .. } | Write::Update { cond, .. } | Write::Delete { cond, .. } => {
                cond.as_ref()
            }
            Write::Check { cond, .. } => Some(cond),
        }
    }

    pub fn put(item: Item) -> Write {
        Write::Put { item, cond: None }
    }

    /// Put an item that must not exist yet.
    pub fn put_new(item: Item) -> Write {
        Write::Put {
            item,
            cond: Some(Cond::absent()),
        }
    }
}

/// Storage failures, typed so use cases can tell a conflict from an outage.
#[derive(Debug)]
pub enum StoreError {
    /// A single write's condition did not hold. `current` is the item as it was.
    ConditionFailed { current: Option<Item> },
    /// A transaction was cancelled; `failed` lists the indexes of the writes whose condition
    /// did not hold. Empty `failed` means a conflict with a concurrent transaction.
    TransactionCanceled { failed: Vec<usize> },
    /// The store is unreachable, timed out or throttled after retries: try again later.
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// The request itself was invalid (a bug in the caller): never retried.
    Invalid(String),
    /// Anything else.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Worth retrying: an outage, a throttle, or a transaction that lost a race.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::TransactionCanceled { failed } => failed.is_empty(),
            _ => false,
        }
    }

    /// Whether the write at `index` of a cancelled transaction failed its condition.
    pub fn failed_at(&self, index: usize) -> bool {
        matches!(self, StoreError::TransactionCanceled { failed } if failed.contains(&index))
    }

    pub fn is_condition_failure(&self) -> bool {
        matches!(self, StoreError::ConditionFailed { .. })
            || matches!(self, StoreError::TransactionCanceled { failed } if !failed.is_empty())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::ConditionFailed { .. } => f.write_str("the write's condition did not hold"),
            StoreError::TransactionCanceled { failed } if failed.is_empty() => {
                f.write_str("transaction cancelled by a conflicting transaction")
            }
            StoreError::TransactionCanceled { failed } => {
                write!(f, "transaction cancelled: conditions failed at {failed:?}")
            }
            StoreError::Unavailable(e) => write!(f, "store unavailable: {e}"),
            StoreError::Invalid(m) => write!(f, "invalid store request: {m}"),
            StoreError::Internal(e) => write!(f, "store failure: {e}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Unavailable(e) | StoreError::Internal(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// The storage port. Both adapters (DynamoDB and the embedded store) pass one conformance suite.
#[async_trait]
pub trait Store: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// Items that exist among `keys` (any order; missing keys are left out). At most 100 keys.
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError>;

    async fn query(&self, query: &Query) -> Result<Page, StoreError>;

    /// Writes the whole item if the condition holds.
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError>;

    /// Updates (or creates) the item if the condition holds; returns the item after the update.
    async fn update(
        &self,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError>;

    /// Deletes the item if the condition holds; returns the item as it was, if any.
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError>;

    /// All writes happen, or none. At most `MAX_TRANSACTION_WRITES`, each on a different item.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Atomically adds `by` to a numeric attribute (created at 0) and returns the new value.
    async fn increment(&self, key: &Key, attr: &str, by: i64) -> Result<i64, StoreError> {
        let item = self.update(key, Update::new().add(attr, by), None).await?;
        item.get(attr)
            .and_then(Value::as_i64)
            .ok_or_else(|| StoreError::Invalid(format!("counter {attr} is not an integer")))
    }
}
