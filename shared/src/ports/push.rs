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

impl PushMessage {
    /// The SNS message with one payload per platform (MessageStructure = json).
    pub fn sns_payload(&self) -> String {
        let apns = json!({"aps": {"alert": {"title": self.title, "body": self.body}, "sound": "default"}, "data": self.data}).to_string();
        let fcm =
            json!({"notification": {"title": self.title, "body": self.body}, "data": self.data})
                .to_string();
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
            .map_err(|e| {
                classify_sdk(
                    &e,
                    &[
                        "EndpointDisabled",
                        "InvalidParameter",
                        "NotFound",
                        "PlatformApplicationDisabled",
                    ],
                )
            })?;
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
        let now = chrono::Utc::now();
        let path = self.dir.join(format!(
            "{}-{}.json",
            now.format("%Y%m%dT%H%M%S%.3fZ"),
            &id[..8]
        ));
        let doc = json!({"messageId": id, "sentAt": now.to_rfc3339(), "message": message});
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
