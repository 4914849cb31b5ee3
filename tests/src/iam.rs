//! IAM as the tests see it: recorders around the store, the mailer and the pusher that know
//! which function is calling (`admit_shared::app::current_function`, set by each handler) and
//! hold every call to that function's grants in the endpoint table, the way IAM holds a
//! deployed function to its policy. A call the policy does not grant panics in the test that
//! made it; every granted call is recorded (in memory, and in `ADMIT_IAM_RECORD`'s directory
//! when that is set) so `tests/tests/iam.rs` can name the grants no test used.
//!
//! Calls outside any function (a test's own setup, the operator commands) are not held.

use admit_functions::{endpoint, Grant};
use admit_shared::ports::mail::{DeliveryError, Email, Mailer};
use admit_shared::ports::push::{Platform, PushMessage, Pusher};
use admit_shared::ports::store::{
    Cond, Index, Item, Key, Page, Query, Store, StoreError, Update, Write,
};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

/// The environment variable naming the directory the records go to.
pub const RECORD_DIR: &str = "ADMIT_IAM_RECORD";

fn seen() -> &'static Mutex<BTreeSet<(&'static str, Grant)>> {
    static SEEN: OnceLock<Mutex<BTreeSet<(&'static str, Grant)>>> = OnceLock::new();
    SEEN.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// Every (function, grant) the recorders saw in this process.
pub fn recorded() -> BTreeSet<(&'static str, Grant)> {
    seen().lock().map(|s| s.clone()).unwrap_or_default()
}

/// Holds one call to the calling function's grants, and records it.
pub fn hold(grant: Grant) {
    let Some(function) = admit_shared::app::current_function() else {
        return;
    };
    let Some(row) = endpoint(function) else {
        panic!("IAM: {function} runs as a function that has no row in the endpoint table");
    };
    if !row.grants(grant) {
        panic!(
            "IAM: {function} calls {} on {} but its policy does not grant it \
             (add {grant:?} to its row in functions/src/lib.rs, then run scripts/generate)",
            grant.action(),
            grant.resources().join(", ")
        );
    }
    let new = seen()
        .lock()
        .map(|mut s| s.insert((function, grant)))
        .unwrap_or(false);
    if new {
        if let Ok(dir) = std::env::var(RECORD_DIR) {
            let _ = std::fs::create_dir_all(&dir);
            let file = std::path::Path::new(&dir).join(format!("{}.txt", std::process::id()));
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
            {
                let _ = writeln!(f, "{function} {grant:?}");
            }
        }
    }
}

fn query_grant(index: Index) -> Grant {
    match index {
        Index::Table => Grant::Query,
        Index::Gsi1 => Grant::QueryGsi1,
        Index::Gsi2 => Grant::QueryGsi2,
    }
}

/// The IAM action each write of a transaction needs (DynamoDB checks them one by one).
pub fn write_grant(write: &Write) -> Grant {
    match write {
        Write::Put { .. } => Grant::PutItem,
        Write::Update { .. } => Grant::UpdateItem,
        Write::Delete { .. } => Grant::DeleteItem,
        Write::Check { .. } => Grant::ConditionCheckItem,
    }
}

/// The store, held to the calling function's grants.
pub struct RecordingStore(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl Store for RecordingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        hold(Grant::GetItem);
        self.0.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        hold(Grant::BatchGetItem);
        self.0.batch_get(keys).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        hold(query_grant(query.index));
        self.0.query(query).await
    }
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        hold(Grant::PutItem);
        self.0.put(item, cond).await
    }
    async fn update(
        &self,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError> {
        hold(Grant::UpdateItem);
        self.0.update(key, update, cond).await
    }
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        hold(Grant::DeleteItem);
        self.0.delete(key, cond).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        for w in &writes {
            hold(write_grant(w));
        }
        self.0.transact(writes).await
    }
    async fn increment(&self, key: &Key, attr: &str, by: i64) -> Result<i64, StoreError> {
        hold(Grant::UpdateItem);
        self.0.increment(key, attr, by).await
    }
}

/// The mailer, held to the calling function's grants (SES `SendRawEmail`).
pub struct RecordingMailer(pub Arc<dyn Mailer>);

#[async_trait::async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        hold(Grant::SesSendRawEmail);
        self.0.send(email).await
    }
}

/// The event publisher, held to the calling function's grants (EventBridge).
pub struct RecordingPublisher(pub Arc<dyn admit_shared::ports::events::Publisher>);

#[async_trait::async_trait]
impl admit_shared::ports::events::Publisher for RecordingPublisher {
    async fn publish(
        &self,
        events: &[admit_shared::domain::event::Event],
    ) -> Vec<Result<String, DeliveryError>> {
        hold(Grant::EventsPutEvents);
        self.0.publish(events).await
    }
}

/// The pusher, held to the calling function's grants (SNS).
pub struct RecordingPusher(pub Arc<dyn Pusher>);

#[async_trait::async_trait]
impl Pusher for RecordingPusher {
    async fn register(
        &self,
        platform: Platform,
        device_token: &str,
    ) -> Result<String, DeliveryError> {
        hold(Grant::SnsCreatePlatformEndpoint);
        self.0.register(platform, device_token).await
    }
    async fn send(&self, message: &PushMessage) -> Result<String, DeliveryError> {
        hold(Grant::SnsPublish);
        self.0.send(message).await
    }
    async fn unregister(&self, endpoint: &str) -> Result<(), DeliveryError> {
        hold(Grant::SnsDeleteEndpoint);
        self.0.unregister(endpoint).await
    }
}
