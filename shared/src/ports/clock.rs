//! The `Clock` and `Ids` ports.

use crate::domain::Id;
use crate::ports::store::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Mutex;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the Clock port itself: the one place that reads the wall clock for the rules"
    )]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock set ahead by a fixed time: `admit serve --clock-ahead` (try expiries on a
/// laptop: links, temporary access, lockouts). Never used by a Lambda function.
pub struct AheadClock(pub chrono::Duration);

impl Clock for AheadClock {
    fn now(&self) -> DateTime<Utc> {
        SystemClock.now() + self.0
    }
}

/// A clock that only moves when told to (tests: lockouts, expiry).
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Allocates record ids: small sequential numbers per kind, as the vendor's API numbers them.
#[async_trait]
pub trait Ids: Send + Sync {
    async fn next(&self, kind: &str) -> Result<Id, StoreError>;
}
