//! The Notification Centre's items and the devices that receive native pushes, both in the
//! user's partition.

use super::{query_all, user_pk};
use crate::domain::Id;
use crate::ports::push::Platform;
use crate::ports::store::{
    Cond, Index, Item, Key, Page, Query, SortKey, Store, StoreError, Update, Write,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub notification_id: Id,
    pub company_id: Id,
    pub kind: String,
    pub title: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

const NOTIFICATION_PREFIX: &str = "NOTIF#";

/// Notification ids grow with time, so the sort key (zero-padded id) orders newest last.
pub fn notification_key(user: Id, id: Id) -> Key {
    Key::new(
        user_pk(user),
        format!("{NOTIFICATION_PREFIX}{:016}", id.get()),
    )
}

impl Notification {
    /// The write that puts this notification in `user`'s Notification Centre.
    pub fn deliver_to(&self, user: Id) -> Write {
        Write::put_new(super::keyed_item(
            &notification_key(user, self.notification_id),
            self,
        ))
    }
}

/// A page of a user's notifications, newest first, after `start` (a key from a previous page).
pub async fn page(
    store: &dyn Store,
    user: Id,
    limit: usize,
    start: Option<Key>,
) -> Result<(Vec<Notification>, Option<Key>), StoreError> {
    let page: Page = store
        .query(
            &Query::partition(Index::Table, user_pk(user))
                .sort(SortKey::BeginsWith(NOTIFICATION_PREFIX.into()))
                .descending()
                .limit(limit)
                .start_after(start.map(|k| k.to_item())),
        )
        .await?;
    let next = page.next.as_ref().and_then(Key::of);
    let notifications = page
        .items
        .into_iter()
        .map(super::from_item)
        .collect::<Result<_, _>>()?;
    Ok((notifications, next))
}

/// Whether `key` is a notification key of `user` (a cursor can only continue one's own list).
pub fn is_notification_of(key: &Key, user: Id) -> bool {
    key.pk == user_pk(user) && key.sk.starts_with(NOTIFICATION_PREFIX)
}

/// The update that marks a notification read (it must exist).
pub fn mark_read(user: Id, id: Id) -> Write {
    Write::Update {
        key: notification_key(user, id),
        update: Update::new().set("read", true),
        cond: Some(Cond::present()),
    }
}

/// A device registered for native push; SNS keeps the device token, admit the endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub device_id: String,
    pub platform: Platform,
    pub endpoint: String,
    pub push_enabled: bool,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// The session that registered it: logging that session out removes the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// Who a device token belongs to: the user who registered it last.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeviceOwner {
    pub user_id: Id,
}

const DEVICE_PREFIX: &str = "DEVICE#";

pub fn device_key(user: Id, device_id: &str) -> Key {
    Key::new(user_pk(user), format!("{DEVICE_PREFIX}{device_id}"))
}

pub fn device_owner_key(device_id: &str) -> Key {
    Key::new(format!("{DEVICE_PREFIX}{device_id}"), "OWNER")
}

impl Device {
    pub fn item(&self, user: Id) -> Item {
        super::keyed_item(&device_key(user, &self.device_id), self)
    }
}

/// The user a device token belongs to now, if anyone's.
pub async fn device_owner(store: &dyn Store, device_id: &str) -> Result<Option<Id>, StoreError> {
    Ok(
        super::get::<DeviceOwner>(store, &device_owner_key(device_id))
            .await?
            .map(|o| o.user_id),
    )
}

/// The writes that make `user` the one owner of `device`: the device under the user, the owner
/// item (only if the owner is still `previous_owner`, so two registrations of one token at
/// once cannot both win), and the device taken away from the previous owner.
pub fn register_device(user: Id, device: &Device, previous_owner: Option<Id>) -> Vec<Write> {
    let owner = super::keyed_item(
        &device_owner_key(&device.device_id),
        &DeviceOwner { user_id: user },
    );
    let cond = match previous_owner {
        Some(p) => Cond::eq("userId", serde_json::json!(p)),
        None => Cond::absent(),
    };
    let mut writes = vec![
        Write::Put {
            item: owner,
            cond: Some(cond),
        },
        Write::Put {
            item: device.item(user),
            cond: None,
        },
    ];
    if let Some(p) = previous_owner.filter(|p| *p != user) {
        writes.push(Write::Delete {
            key: device_key(p, &device.device_id),
            cond: None,
        });
    }
    writes
}

/// The writes that remove devices of `user` (the owner items are left: an owner item naming a
/// user who no longer has the device only means the next registration has nothing to take).
pub fn forget_devices(user: Id, device_ids: &[String]) -> Vec<Write> {
    device_ids
        .iter()
        .map(|d| Write::Delete {
            key: device_key(user, d),
            cond: None,
        })
        .collect()
}

/// The writes that remove a device of `user` and its owner item (if the user still owns it).
pub fn unregister_device(user: Id, device_id: &str) -> Vec<Write> {
    vec![
        Write::Delete {
            key: device_key(user, device_id),
            cond: None,
        },
        Write::Delete {
            key: device_owner_key(device_id),
            cond: Some(Cond::Or(vec![
                Cond::absent(),
                Cond::eq("userId", serde_json::json!(user)),
            ])),
        },
    ]
}

/// Every device of a user (all pages).
pub async fn devices(store: &dyn Store, user: Id) -> Result<Vec<Device>, StoreError> {
    query_all(
        store,
        Query::partition(Index::Table, user_pk(user))
            .sort(SortKey::BeginsWith(DEVICE_PREFIX.into())),
    )
    .await
}

/// Removes a device of `user`, returning it (`None` when the user has no such device).
pub async fn remove_device(
    store: &dyn Store,
    user: Id,
    device_id: &str,
) -> Result<Option<Device>, StoreError> {
    let Some(device) = super::get::<Device>(store, &device_key(user, device_id)).await? else {
        return Ok(None);
    };
    match store.transact(unregister_device(user, device_id)).await {
        Ok(()) => Ok(Some(device)),
        // Registered by someone else meanwhile: it is theirs now, and gone from this user.
        Err(e) if e.failed_at(1) => {
            store.delete(&device_key(user, device_id), None).await?;
            Ok(Some(device))
        }
        Err(e) => Err(e),
    }
}
