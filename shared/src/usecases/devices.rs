//! The logged-in user's devices for native push. Registering creates the device's SNS platform
//! endpoint (SNS keeps the device token; admit stores only the endpoint and a hash-derived id).

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::sha256_hex;
use crate::domain::Id;
use crate::ports::mail::DeliveryError;
use crate::ports::push::{Platform, NOT_CONFIGURED};
use crate::records::notification::{self, Device};
use crate::records::Session;
use crate::usecases::failed;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterDevice {
    pub platform: Option<String>,
    pub device_token: Option<String>,
    pub push_enabled: Option<bool>,
}

/// A device registration, validated.
#[derive(Debug, PartialEq)]
pub struct DeviceRegistration {
    pub platform: Platform,
    pub token: String,
    pub push_enabled: bool,
}

impl TryFrom<RegisterDevice> for DeviceRegistration {
    type Error = DomainError;
    fn try_from(body: RegisterDevice) -> Result<Self, DomainError> {
        let platform = match body
            .platform
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("ios") => Platform::Ios,
            Some("android") => Platform::Android,
            Some(other) => {
                return Err(DomainError::invalid(format!(
                    "platform is ios or android, not {other}"
                )))
            }
            None => {
                return Err(DomainError::invalid(
                    "platform is required (ios or android)",
                ))
            }
        };
        let token = body
            .device_token
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        if token.is_empty() || token.len() > 4096 || token.chars().any(char::is_whitespace) {
            return Err(DomainError::invalid(
                "deviceToken is required: the push token the platform gave the app",
            ));
        }
        Ok(DeviceRegistration {
            platform,
            token,
            push_enabled: body.push_enabled.unwrap_or(true),
        })
    }
}

/// A registered device as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRef {
    pub device_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_enabled: Option<bool>,
}

fn unavailable(e: DeliveryError) -> DomainError {
    match e {
        DeliveryError::Permanent(m) if m == NOT_CONFIGURED => DomainError::invalid(m),
        DeliveryError::Permanent(m) => {
            tracing::info!(reason = %m, "push registration refused");
            DomainError::invalid("the device token was refused for push on this platform")
        }
        DeliveryError::Transient(m) => {
            tracing::warn!(reason = %m, "push service unavailable");
            DomainError::new(
                ErrorKind::UserServiceUnavailable,
                "push registration is unavailable; try again shortly",
            )
        }
    }
}

/// How many devices one user may have; registering one more retires the least recently
/// registered.
pub const MAX_DEVICES: usize = 10;

/// Registers (or updates) a device for the session's user; the same platform and token always
/// give the same device id. A device token has one owner: the user who registered it last
/// (registering takes it away from anyone else). Logging the session out removes the device.
pub async fn register(
    app: &App,
    session: &Session,
    r: DeviceRegistration,
) -> Result<DeviceRef, DomainError> {
    let user = session.user_id;
    let fail = failed(Service::User);
    let store = app.store.as_ref();
    let device_id =
        sha256_hex(format!("{:?}:{}", r.platform, r.token).as_bytes())[..20].to_string();
    let endpoint = app
        .pusher
        .register(r.platform, &r.token)
        .await
        .map_err(unavailable)?;
    let device = Device {
        device_id: device_id.clone(),
        platform: r.platform,
        endpoint,
        push_enabled: r.push_enabled,
        updated_at: app.clock.now(),
        session_id: Some(session.session_id.clone()),
    };
    let previous_owner = notification::device_owner(store, &device_id)
        .await
        .map_err(&fail)?;
    let mut writes = notification::register_device(user, &device, previous_owner);
    let mut mine = notification::devices(store, user).await.map_err(&fail)?;
    mine.retain(|d| d.device_id != device_id);
    mine.sort_by_key(|d| d.updated_at);
    let over = (mine.len() + 1).saturating_sub(MAX_DEVICES);
    let retired: Vec<String> = mine
        .iter()
        .take(over)
        .map(|d| d.device_id.clone())
        .collect();
    writes.extend(notification::forget_devices(user, &retired));
    // Only while the session still stands: a take-back, a new password or a deactivation
    // that forgot the account's devices is not undone by a registration that raced it.
    let session_at = writes.len();
    writes.push(crate::records::user::sessions_still_of(user, session.epoch));
    app.store.transact(writes).await.map_err(|e| {
        if e.failed_at(0) {
            DomainError::new(
                ErrorKind::Conflict,
                "the device was registered by another account at the same time; try again",
            )
        } else if e.failed_at(session_at) {
            DomainError::new(ErrorKind::InvalidAuthToken, "the session has ended")
        } else {
            fail(e)
        }
    })?;
    Ok(DeviceRef {
        device_id,
        platform: Some(r.platform),
        push_enabled: Some(r.push_enabled),
    })
}

/// Removes one of the caller's devices and its SNS endpoint.
pub async fn remove(app: &App, user: Id, device_id: &str) -> Result<DeviceRef, DomainError> {
    let not_found = || DomainError::new(ErrorKind::RecordNotFound, "device not found");
    if device_id.is_empty()
        || device_id.len() > 64
        || !device_id.chars().all(|c| c.is_ascii_hexdigit())
    {
        return Err(not_found());
    }
    let old = notification::remove_device(app.store.as_ref(), user, device_id)
        .await
        .map_err(failed(Service::User))?
        .ok_or_else(not_found)?;
    // The device is gone for admit either way; a stale SNS endpoint only costs a failed push.
    if let Err(e) = app.pusher.unregister(&old.endpoint).await {
        tracing::warn!(error = %e, "could not delete the SNS endpoint of a removed device");
    }
    Ok(DeviceRef {
        device_id: device_id.to_string(),
        platform: None,
        push_enabled: None,
    })
}

/// The writes that remove every device of `user`: when all its sessions are revoked (a password
/// reset, a taken-back address, deactivation), whoever held them gets no more of its pushes.
pub async fn forget_all(
    app: &App,
    user: Id,
) -> Result<Vec<crate::ports::store::Write>, DomainError> {
    let ids: Vec<String> = notification::devices(app.store.as_ref(), user)
        .await
        .map_err(failed(Service::User))?
        .into_iter()
        .map(|d| d.device_id)
        .collect();
    Ok(notification::forget_devices(user, &ids))
}
