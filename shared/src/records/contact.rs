//! A company's contacts (ContactJSON details), the guards that keep a contact's email and
//! externalId unique in the company, and the answers a self-registration gave.

use super::{company_pk, get, keyed_item, Record};
use crate::domain::contact::Contact;
use crate::domain::{EmailAddress, Id};
use crate::ports::store::{Cond, Key, Store, StoreError, Update, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A stored contact: its ContactJSON details and what admit adds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContactRecord {
    pub contact_id: Id,
    pub company_id: Id,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// How the contact came to be: `invitation` or `selfRegistration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<i64>,
    /// The ContactJSON fields (validated when written; read back through `details`).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl ContactRecord {
    /// The contact's ContactJSON details: only the fields ContactJSON defines.
    pub fn details(&self) -> Contact {
        Contact::from_stored(&self.fields)
    }
}

pub fn contact_key(company: Id, contact: Id) -> Key {
    Key::new(company_pk(company), format!("CONTACT#{contact}"))
}

pub(crate) fn contact_email_key(company: Id, email: &EmailAddress) -> Key {
    Key::new(company_pk(company), format!("CONTACTEMAIL#{email}"))
}

pub(crate) fn external_id_key(company: Id, external_id: &str) -> Key {
    Key::new(company_pk(company), format!("EXTID#{external_id}"))
}

impl Record for ContactRecord {
    fn key(&self) -> Key {
        contact_key(self.company_id, self.contact_id)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactGuard {
    contact_id: Id,
}

pub async fn find(
    store: &dyn Store,
    company: Id,
    contact: Id,
) -> Result<Option<ContactRecord>, StoreError> {
    get(store, &contact_key(company, contact)).await
}

/// The company's contact with this email, if any.
pub async fn find_by_email(
    store: &dyn Store,
    company: Id,
    email: &EmailAddress,
) -> Result<Option<ContactRecord>, StoreError> {
    match get::<ContactGuard>(store, &contact_email_key(company, email)).await? {
        Some(g) => find(store, company, g.contact_id).await,
        None => Ok(None),
    }
}

/// The writes that create a contact with its email and externalId guards, and where the guards
/// are among them (to tell which uniqueness a cancelled transaction broke).
pub struct ContactWrites {
    pub writes: Vec<Write>,
    pub email_guard_at: Option<usize>,
    pub external_id_guard_at: Option<usize>,
}

pub fn create(record: &ContactRecord) -> ContactWrites {
    let details = record.details();
    let guard = ContactGuard {
        contact_id: record.contact_id,
    };
    let mut writes = vec![super::put_new(record)];
    let mut email_guard_at = None;
    if let Some(email) = details.email() {
        email_guard_at = Some(writes.len());
        writes.push(Write::put_new(keyed_item(
            &contact_email_key(record.company_id, &email),
            &guard,
        )));
    }
    let mut external_id_guard_at = None;
    if let Some(ext) = details.get("externalId") {
        external_id_guard_at = Some(writes.len());
        writes.push(Write::put_new(keyed_item(
            &external_id_key(record.company_id, ext),
            &guard,
        )));
    }
    ContactWrites {
        writes,
        email_guard_at,
        external_id_guard_at,
    }
}

/// The update that links a contact to its user: the contact must exist and be linked to no
/// one or to that same user (a contact is never taken from the user it belongs to).
pub fn link_user(company: Id, contact: Id, user: Id) -> Write {
    let unlinked_or_same = Cond::Or(vec![
        Cond::NotExists("userId".into()),
        Cond::eq("userId", json!(user)),
    ]);
    Write::Update {
        key: contact_key(company, contact),
        update: Update::new().set("userId", json!(user)),
        cond: Some(Cond::present().and(unlinked_or_same)),
    }
}

/// The writes that fill in what an existing contact lacks (`fill_in`), with the guard that
/// keeps an externalId it gains unique in the company, and where that guard is among them.
pub fn fill_in_guarded(
    existing: &ContactRecord,
    fields: &Contact,
    condition: Option<i64>,
) -> ContactWrites {
    let mut writes: Vec<Write> = fill_in(existing, fields, condition).into_iter().collect();
    let mut external_id_guard_at = None;
    let gains = |name: &str| !existing.fields.contains_key(name);
    if let Some(ext) = fields.get("externalId").filter(|_| gains("externalId")) {
        external_id_guard_at = Some(writes.len());
        writes.push(Write::put_new(keyed_item(
            &external_id_key(existing.company_id, ext),
            &ContactGuard {
                contact_id: existing.contact_id,
            },
        )));
    }
    ContactWrites {
        writes,
        email_guard_at: None,
        external_id_guard_at,
    }
}

/// The update that fills in what an existing contact lacks (`fields` only where the contact has
/// no value), never overwriting what is there: the contact must still be as it was read.
pub fn fill_in(
    existing: &ContactRecord,
    fields: &Contact,
    condition: Option<i64>,
) -> Option<Write> {
    let mut update = Update::new();
    let mut changed = false;
    for (name, value) in fields.fields() {
        if !existing.fields.contains_key(name) {
            update = update.set(name, value.clone());
            changed = true;
        }
    }
    if existing.condition.is_none() {
        if let Some(c) = condition {
            update = update.set("condition", json!(c));
            changed = true;
        }
    }
    changed.then(|| Write::Update {
        key: existing.key(),
        update,
        cond: Some(Cond::present()),
    })
}

/// What a person answered when they self-registered (consents, profession, validation
/// fields, ...), kept per company.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub company_id: Id,
    pub user_id: Id,
    pub contact_id: Id,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub registered_at: DateTime<Utc>,
    /// The registration's answers, by their request field names.
    #[serde(flatten)]
    pub answers: Map<String, Value>,
}

pub fn registration_key(company: Id, user: Id) -> Key {
    Key::new(company_pk(company), format!("REGISTRATION#{user}"))
}

impl Record for Registration {
    fn key(&self) -> Key {
        registration_key(self.company_id, self.user_id)
    }
}

pub async fn find_registration(
    store: &dyn Store,
    company: Id,
    user: Id,
) -> Result<Option<Registration>, StoreError> {
    let Some(mut item) = store.get(&registration_key(company, user)).await? else {
        return Ok(None);
    };
    // Registrations written before records carried their company have none stored.
    item.entry("companyId").or_insert(json!(company));
    super::from_item(item).map(Some)
}
