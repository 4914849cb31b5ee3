//! dispatch_outbox: delivers queued emails and pushes. Invoked by the table's DynamoDB stream
//! (a batch of records; failures reported per item so only the rest is retried) and by a
//! schedule that sweeps what is still pending after `SWEEP_GRACE` (an SES or SNS outage that
//! outlasted the stream's retries, a delivery that crashed, a message an operator replayed).
//! Each message is claimed before it is sent, so the two never send one message together.

use admit_shared::usecases::outbox;
use admit_shared::App;
use serde_json::{json, Value};

/// Handles one invocation: a stream batch or a scheduled sweep.
pub async fn handler(app: &App, event: Value) -> Value {
    if event.get("Records").is_some() {
        return outbox::handle_stream_batch(app, &event).await;
    }
    match outbox::sweep(app, 100).await {
        Ok(n) => json!({ "delivered": n }),
        Err(e) => {
            tracing::error!(error = %e, "scheduled outbox sweep failed");
            json!({ "delivered": 0, "error": "sweep failed; see logs" })
        }
    }
}
