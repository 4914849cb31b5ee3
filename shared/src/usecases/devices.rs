//! The logged-in user's devices for native push. Registering creates the device's SNS platform
//! endpoint (SNS keeps the device token; admit stores only the endpoint and a hash-derived id).

use crate::app::App;
use crate::domain::error::{ApiError, Exception, Service, Success};
use crate::domain::secrets::sha256_hex;
use crate::domain::Id;
use crate::http::store_failure;
use crate::ports::mail::DeliveryError;
use crate::ports::push::Platform;
use crate::ports::store::{Cond, Key};
use crate::records::to_item;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterDevice {
    pub platform: Option<String>,
    pub device_token: Option<String>,
    pub push_enabled: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub device_id: String,
    pub platform: Platform,
    pub endpoint: String,
    pub push_enabled: bool,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub fn device_key(user: Id, device_id: &str) -> Key {
    Key::new(format!("USER#{user}"), format!("DEVICE#{device_id}"))
}

fn unavailable(e: DeliveryError) -> ApiError {
    match e {
        DeliveryError::Permanent(m) if m == crate::ports::push::NOT_CONFIGURED => {
            ApiError::invalid(m)
        }
        DeliveryError::Permanent(m) => {
            tracing::info!(reason = %m, "push registration refused");
            ApiError::invalid("the device token was refused for push on this platform")
        }
        DeliveryError::Transient(m) => {
            tracing::warn!(reason = %m, "push service unavailable");
            ApiError::new(
                Exception::UserServiceUnavailable,
                "push registration is unavailable; try again shortly",
            )
        }
    }
}

/// Registers (or updates) a device; the same platform and token always give the same device id.
pub async fn register(
    app: &App,
    user: Id,
    body: RegisterDevice,
) -> Result<Success<'static, Value>, ApiError> {
    let platform = match body
        .platform
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("ios") => Platform::Ios,
        Some("android") => Platform::Android,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "platform is ios or android, not {other}"
            )))
        }
        None => return Err(ApiError::invalid("platform is required (ios or android)")),
    };
    let token = body
        .device_token
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    if token.is_empty() || token.len() > 4096 || token.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid(
            "deviceToken is required: the push token the platform gave the app",
        ));
    }
    let push_enabled = body.push_enabled.unwrap_or(true);
    let device_id = sha256_hex(format!("{platform:?}:{token}").as_bytes())[..20].to_string();
    let endpoint = app
        .pusher
        .register(platform, &token)
        .await
        .map_err(unavailable)?;
    let device = Device {
        device_id: device_id.clone(),
        platform,
        endpoint,
        push_enabled,
        updated_at: app.clock.now(),
    };
    app.store
        .put(to_item(&device_key(user, &device_id), &device, &[]), None)
        .await
        .map_err(store_failure(Service::User))?;
    Ok(Success {
        error_code: 0,
        error_msg: "Device registered.",
        extra: json!({ "deviceId": device_id, "platform": platform, "pushEnabled": push_enabled }),
    })
}

/// Removes one of the caller's devices and its SNS endpoint.
pub async fn remove(
    app: &App,
    user: Id,
    device_id: &str,
) -> Result<Success<'static, Value>, ApiError> {
    if device_id.is_empty()
        || device_id.len() > 64
        || !device_id.chars().all(|c| c.is_ascii_hexdigit())
    {
        return Err(ApiError::new(Exception::RecordNotFound, "device not found"));
    }
    let old = app
        .store
        .delete(&device_key(user, device_id), Some(Cond::present()))
        .await
        .map_err(|e| {
            if e.is_condition_failure() {
                ApiError::new(Exception::RecordNotFound, "device not found")
            } else {
                store_failure(Service::User)(e)
            }
        })?;
    if let Some(endpoint) = old
        .as_ref()
        .and_then(|d| d.get("endpoint"))
        .and_then(Value::as_str)
    {
        // The device is gone for admit either way; a stale SNS endpoint only costs a failed push.
        if let Err(e) = app.pusher.unregister(endpoint).await {
            tracing::warn!(error = %e, "could not delete the SNS endpoint of a removed device");
        }
    }
    Ok(Success {
        error_code: 0,
        error_msg: "Device removed.",
        extra: json!({ "deviceId": device_id }),
    })
}
