//! A member as their company sees them: the user (allow-listed fields, never a secret), the
//! membership, the contact and what they answered when they registered.

use crate::app::App;
use crate::domain::contact::Contact;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::Id;
use crate::records::{contact, membership, user, Company, ContactRecord, Membership, Registration};
use crate::usecases::failed;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// The user as a company sees them: only these fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberUser {
    pub user_id: Id,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub status: crate::records::Status,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberContact {
    pub contact_id: Id,
    #[serde(flatten)]
    pub details: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<i64>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRegistration {
    pub contact_id: Id,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub registered_at: DateTime<Utc>,
    #[serde(flatten)]
    pub answers: Map<String, Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberProfile {
    pub user: MemberUser,
    pub membership: Membership,
    pub contact: Option<MemberContact>,
    pub registration: Option<MemberRegistration>,
}

/// The answers a registration may show: the request fields it records.
pub const REGISTRATION_FIELDS: &[&str] = &[
    "version",
    "title",
    "countryCode",
    "profession",
    "specialty",
    "condition",
    "otherTitle",
    "otherProfession",
    "otherSpecialty",
    "dietaryRequirements",
    "storeContactIdentifiers",
    "validationFields",
    "uInteractTsAndCs",
    "uSAMTrackingConsent",
    "uiCloudConsent",
    "uGoogleConsent",
    "uFacebookConsent",
    "qrAccessCodes",
];

fn shown_contact(c: ContactRecord) -> MemberContact {
    let Contact(details) = c.details();
    MemberContact {
        contact_id: c.contact_id,
        details,
        condition: c.condition,
        created_at: c.created_at,
    }
}

fn shown_registration(r: Registration) -> MemberRegistration {
    MemberRegistration {
        contact_id: r.contact_id,
        registered_at: r.registered_at,
        answers: r
            .answers
            .into_iter()
            .filter(|(k, _)| REGISTRATION_FIELDS.contains(&k.as_str()))
            .collect(),
    }
}

/// A member of `company`; a user outside it (or whose temporary access ended) is not found.
pub async fn member_profile(
    app: &App,
    company: &Company,
    user_id: Id,
) -> Result<MemberProfile, DomainError> {
    let c = company.company_id;
    let store = app.store.as_ref();
    let fail = failed(Service::Membership);
    let not_found =
        || DomainError::new(ErrorKind::UserNotFound, format!("user {user_id} not found"));
    // A membership whose temporary access has ended is no longer one.
    let now = app.clock.now();
    // The three reads need only the ids: one round trip, not three.
    let (membership, user, registration) = tokio::join!(
        membership::find(store, c, user_id),
        user::find(store, user_id),
        contact::find_registration(store, c, user_id),
    );
    let membership = membership
        .map_err(&fail)?
        .filter(|m| !m.has_expired_at(now))
        .ok_or_else(not_found)?;
    let user = user.map_err(&fail)?.ok_or_else(not_found)?;
    let registration = registration.map_err(&fail)?;
    // A registration names its contact; otherwise the contact is the one with the user's email.
    let found = match &registration {
        Some(r) => contact::find(store, c, r.contact_id).await,
        None => contact::find_by_email(store, c, &user.email).await,
    }
    .map_err(&fail)?;
    Ok(MemberProfile {
        user: MemberUser {
            user_id: user.user_id,
            email: user.email.to_string(),
            first_name: user.first_name,
            last_name: user.last_name,
            status: user.status,
            created_at: user.created_at,
        },
        membership,
        contact: found.map(shown_contact),
        registration: registration.map(shown_registration),
    })
}
