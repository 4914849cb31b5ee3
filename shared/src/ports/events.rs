//! The `Publisher` port: domain events (`domain::event`) leave admit through it. Amazon
//! EventBridge in the cloud (PutEvents on the stage's bus, built only by the dispatcher), JSON
//! lines under `events/` in the data directory locally.

use crate::domain::event::{Event, SOURCE};
use crate::ports::mail::DeliveryError;
use async_trait::async_trait;
use std::path::PathBuf;
use std::time::Duration;

/// The most entries one PutEvents call takes.
pub const MAX_BATCH: usize = 10;

#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publishes `events`: one answer per event, in order (the bus's id for it, or why not).
    async fn publish(&self, events: &[Event]) -> Vec<Result<String, DeliveryError>>;
}

/// Appends each event as one JSON line to `<dir>/<day>.jsonl` (the day it was published, UTC,
/// so the files hold events in the order they went out): the file `admit serve`'s dev inbox
/// lists and a developer can `tail -f`.
pub struct LocalPublisher {
    dir: PathBuf,
}

impl LocalPublisher {
    pub fn new(dir: PathBuf) -> LocalPublisher {
        LocalPublisher { dir }
    }

    async fn append(&self, event: &Event) -> Result<String, DeliveryError> {
        use tokio::io::AsyncWriteExt;
        let line = serde_json::to_string(event)
            .map_err(|e| DeliveryError::Permanent(e.to_string()))?
            + "\n";
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?;
        #[allow(
            clippy::disallowed_methods,
            reason = "the file is named for the day it is written, as a log file is"
        )]
        let today = chrono::Utc::now();
        let path = self.dir.join(format!("{}.jsonl", today.format("%Y-%m-%d")));
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?;
        file.write_all(line.as_bytes())
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?;
        tracing::info!(event_id = %event.id, event_type = event.kind.name(), file = %path.display(), "event published locally");
        Ok(event.id.clone())
    }
}

#[async_trait]
impl Publisher for LocalPublisher {
    async fn publish(&self, events: &[Event]) -> Vec<Result<String, DeliveryError>> {
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            out.push(self.append(e).await);
        }
        out
    }
}

/// The publisher of a function that publishes nothing (only the dispatcher does): a
/// permanent failure, never a panic.
pub struct NoPublisher;

#[async_trait]
impl Publisher for NoPublisher {
    async fn publish(&self, events: &[Event]) -> Vec<Result<String, DeliveryError>> {
        events
            .iter()
            .map(|_| {
                Err(DeliveryError::Permanent(
                    "this function publishes no events".into(),
                ))
            })
            .collect()
    }
}

/// PutEvents entry errors that retrying cannot fix. Anything else (throttling, an internal
/// failure, a code this list does not know) is retried.
pub const EVENTBRIDGE_PERMANENT: &[&str] = &["MalformedDetail", "InvalidArgument"];

/// Amazon EventBridge: PutEvents on one bus, at most `MAX_BATCH` entries a call; the entries
/// a call reports failed are sent again (three tries in all, 100 ms then 400 ms apart).
pub struct EventBridgePublisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(
        client: aws_sdk_eventbridge::Client,
        bus: impl Into<String>,
    ) -> EventBridgePublisher {
        EventBridgePublisher {
            client,
            bus: bus.into(),
        }
    }

    /// One PutEvents call for `batch` (indexes into `events`): the answers of those it took,
    /// and the indexes to send again.
    async fn put(
        &self,
        events: &[Event],
        batch: &[usize],
        answers: &mut [Option<Result<String, DeliveryError>>],
    ) -> Vec<usize> {
        use aws_sdk_eventbridge::types::PutEventsRequestEntry;
        let entries: Vec<PutEventsRequestEntry> = batch
            .iter()
            .filter_map(|&i| events.get(i))
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .source(SOURCE)
                    .detail_type(e.kind.name())
                    .detail(serde_json::to_string(e).unwrap_or_default())
                    .event_bus_name(&self.bus)
                    .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(
                        e.occurred_at.timestamp_millis(),
                    ))
                    .build()
            })
            .collect();
        let sent = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                let why = crate::ports::mail::classify_sdk(&e, &[]);
                for &i in batch {
                    if let Some(a) = answers.get_mut(i) {
                        *a = Some(Err(why.clone()));
                    }
                }
                return match why {
                    DeliveryError::Transient(_) => batch.to_vec(),
                    DeliveryError::Permanent(_) => Vec::new(),
                };
            }
        };
        let mut again = Vec::new();
        for (n, &i) in batch.iter().enumerate() {
            let entry = out.entries().get(n);
            let answer = match entry.and_then(|r| r.error_code()) {
                None => Ok(entry
                    .and_then(|r| r.event_id())
                    .unwrap_or_default()
                    .to_string()),
                Some(code) => {
                    let message = entry.and_then(|r| r.error_message()).unwrap_or_default();
                    let why =
                        crate::ports::mail::classify_code(code, message, EVENTBRIDGE_PERMANENT);
                    if matches!(why, DeliveryError::Transient(_)) {
                        again.push(i);
                    }
                    Err(why)
                }
            };
            if let Some(a) = answers.get_mut(i) {
                *a = Some(answer);
            }
        }
        again
    }
}

#[async_trait]
impl Publisher for EventBridgePublisher {
    async fn publish(&self, events: &[Event]) -> Vec<Result<String, DeliveryError>> {
        let mut answers: Vec<Option<Result<String, DeliveryError>>> = vec![None; events.len()];
        let mut todo: Vec<usize> = (0..events.len()).collect();
        let mut wait = Duration::from_millis(100);
        for attempt in 0..3 {
            if todo.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
            let mut again = Vec::new();
            for batch in todo.chunks(MAX_BATCH) {
                again.extend(self.put(events, batch, &mut answers).await);
            }
            todo = again;
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(DeliveryError::Transient("not sent".into()))))
            .collect()
    }
}
