//! The `Pusher` port: SNS mobile push (platform endpoints) in the cloud, JSON files locally.

use crate::ports::mail::{classify_sdk, DeliveryError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Ios,
    Android,
}

/// A native push to one device endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushMessage {
    pub endpoint: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// The largest notification payload APNs and FCM accept, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

impl PushMessage {
    /// A push whose text is cut (at a character boundary, with an ellipsis) so that each
    /// platform's payload fits `MAX_PAYLOAD_BYTES`; the full text stays in the Notification
    /// Centre.
    pub fn fitted(
        endpoint: String,
        title: &str,
        body: &str,
        data: serde_json::Map<String, serde_json::Value>,
    ) -> PushMessage {
        let mut m = PushMessage {
            endpoint,
            title: title.chars().take(200).collect(),
            body: body.to_string(),
            data,
        };
        let chars: Vec<char> = body.chars().collect();
        let (mut lo, mut hi) = (0, chars.len());
        if m.largest_payload() <= MAX_PAYLOAD_BYTES {
            return m;
        }
        // The longest prefix that fits.
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            m.body = chars.iter().take(mid).collect::<String>() + "…";
            if m.largest_payload() <= MAX_PAYLOAD_BYTES {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        m.body = chars.iter().take(lo).collect::<String>() + "…";
        m
    }

    fn platform_payloads(&self) -> (String, String) {
        let apns = json!({"aps": {"alert": {"title": self.title, "body": self.body}, "sound": "default"}, "data": self.data}).to_string();
        let fcm =
            json!({"notification": {"title": self.title, "body": self.body}, "data": self.data})
                .to_string();
        (apns, fcm)
    }

    /// The size in bytes of the larger platform payload.
    pub fn largest_payload(&self) -> usize {
        let (apns, fcm) = self.platform_payloads();
        apns.len().max(fcm.len())
    }

    /// The SNS message with one payload per platform (MessageStructure = json).
    pub fn sns_payload(&self) -> String {
        let (apns, fcm) = self.platform_payloads();
        json!({"default": self.body, "APNS": apns, "APNS_SANDBOX": apns, "GCM": fcm}).to_string()
    }
}

#[async_trait]
pub trait Pusher: Send + Sync {
    /// Registers a device token; returns the endpoint to push to.
    async fn register(
        &self,
        platform: Platform,
        device_token: &str,
    ) -> Result<String, DeliveryError>;

    /// Pushes a message; returns the provider's message id.
    async fn send(&self, message: &PushMessage) -> Result<String, DeliveryError>;

    /// Forgets an endpoint (device removed).
    async fn unregister(&self, endpoint: &str) -> Result<(), DeliveryError>;
}

/// SNS publish errors that are permanent for one push: the endpoint is disabled, gone or
/// invalid, or the message itself is invalid. A disabled platform application, denied access
/// and the like are account-wide and transient (see `classify_code`).
pub const SNS_PUBLISH_PERMANENT: &[&str] = &[
    "EndpointDisabled",
    "InvalidParameter",
    "ParameterValueInvalid",
    "NotFound",
];

/// The reason given when a stage has no platform application for a device's platform.
pub const NOT_CONFIGURED: &str = "push is not set up for this platform on this stage";

pub struct SnsPusher {
    client: aws_sdk_sns::Client,
    ios_application_arn: Option<String>,
    android_application_arn: Option<String>,
}

impl SnsPusher {
    pub fn new(
        client: aws_sdk_sns::Client,
        ios_application_arn: Option<String>,
        android_application_arn: Option<String>,
    ) -> SnsPusher {
        SnsPusher {
            client,
            ios_application_arn,
            android_application_arn,
        }
    }
}

#[async_trait]
impl Pusher for SnsPusher {
    async fn register(
        &self,
        platform: Platform,
        device_token: &str,
    ) -> Result<String, DeliveryError> {
        let arn = match platform {
            Platform::Ios => self.ios_application_arn.as_deref(),
            Platform::Android => self.android_application_arn.as_deref(),
        }
        .ok_or_else(|| DeliveryError::Permanent(NOT_CONFIGURED.into()))?;
        let out = self
            .client
            .create_platform_endpoint()
            .platform_application_arn(arn)
            .token(device_token)
            .send()
            .await
            .map_err(|e| classify_sdk(&e, &["InvalidParameter", "NotFound"]))?;
        out.endpoint_arn()
            .map(str::to_string)
            .ok_or_else(|| DeliveryError::Transient("SNS returned no endpoint ARN".into()))
    }

    async fn send(&self, message: &PushMessage) -> Result<String, DeliveryError> {
        let out = self
            .client
            .publish()
            .target_arn(&message.endpoint)
            .message_structure("json")
            .message(message.sns_payload())
            .send()
            .await
            .map_err(|e| classify_sdk(&e, SNS_PUBLISH_PERMANENT))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }

    async fn unregister(&self, endpoint: &str) -> Result<(), DeliveryError> {
        self.client
            .delete_endpoint()
            .endpoint_arn(endpoint)
            .send()
            .await
            .map_err(|e| classify_sdk(&e, &["InvalidParameter"]))?;
        Ok(())
    }
}

/// Writes each push as a JSON file under `dir` and logs one line.
pub struct LocalPusher {
    dir: PathBuf,
}

impl LocalPusher {
    pub fn new(dir: PathBuf) -> LocalPusher {
        LocalPusher { dir }
    }
}

#[async_trait]
impl Pusher for LocalPusher {
    async fn register(
        &self,
        platform: Platform,
        device_token: &str,
    ) -> Result<String, DeliveryError> {
        let p = match platform {
            Platform::Ios => "ios",
            Platform::Android => "android",
        };
        Ok(format!(
            "local:{p}:{}",
            &crate::domain::secrets::sha256_hex(device_token.as_bytes())[..16]
        ))
    }

    async fn send(&self, message: &PushMessage) -> Result<String, DeliveryError> {
        let id = crate::domain::secrets::random_hex_id();
        #[allow(
            clippy::disallowed_methods,
            reason = "the captured file is named and dated when it was written, as SNS would"
        )]
        let now = chrono::Utc::now();
        let path = self.dir.join(format!(
            "{}-{}.json",
            now.format("%Y%m%dT%H%M%S%.3fZ"),
            &id[..8]
        ));
        let doc = json!({"messageId": id, "sentAt": crate::domain::time::format(now), "message": message});
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?;
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        tokio::fs::write(&path, text)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?;
        tracing::info!(endpoint = %message.endpoint, title = %message.title, file = %path.display(), "push captured locally");
        Ok(id)
    }

    async fn unregister(&self, _endpoint: &str) -> Result<(), DeliveryError> {
        Ok(())
    }
}

/// The pusher of a function that does not talk to SNS. Using it is a permanent failure.
pub struct NoPusher;

const NOT_WIRED: &str = "this function is not wired to push";

#[async_trait]
impl Pusher for NoPusher {
    async fn register(&self, _: Platform, _: &str) -> Result<String, DeliveryError> {
        Err(DeliveryError::Permanent(NOT_WIRED.into()))
    }
    async fn send(&self, _: &PushMessage) -> Result<String, DeliveryError> {
        Err(DeliveryError::Permanent(NOT_WIRED.into()))
    }
    async fn unregister(&self, _: &str) -> Result<(), DeliveryError> {
        Err(DeliveryError::Permanent(NOT_WIRED.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_endpoint_and_message_errors_fail_a_push_for_good() {
        use crate::ports::mail::classify_code;
        for code in SNS_PUBLISH_PERMANENT {
            assert!(matches!(
                classify_code(code, "m", SNS_PUBLISH_PERMANENT),
                DeliveryError::Permanent(_)
            ));
        }
        for code in [
            "AuthorizationError",
            "PlatformApplicationDisabled",
            "KMSAccessDenied",
            "ExpiredToken",
            "Throttled",
            "InternalError",
            "SomethingNew",
        ] {
            assert!(
                matches!(
                    classify_code(code, "m", SNS_PUBLISH_PERMANENT),
                    DeliveryError::Transient(_)
                ),
                "{code} must be retried"
            );
        }
    }

    #[test]
    fn long_multibyte_text_is_cut_to_fit_the_payload_limit() {
        let long = "😀".repeat(1024);
        let m = PushMessage::fitted("arn".into(), "Acme", &long, serde_json::Map::new());
        assert!(
            m.largest_payload() <= MAX_PAYLOAD_BYTES,
            "{}",
            m.largest_payload()
        );
        assert!(m.body.ends_with('…'));
        assert!(m.body.chars().count() > 500, "cut no more than needed");
        let short = PushMessage::fitted("arn".into(), "Acme", "Hello", serde_json::Map::new());
        assert_eq!(short.body, "Hello");
    }
}
