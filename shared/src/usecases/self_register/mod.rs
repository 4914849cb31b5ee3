//! selfRegisterMIUser: a person registers from the app with the company's app key. Versions 1
//! to 5 as the vendor's operation defines them (`versions`). Everything the registration creates is one transaction.
//!
//! When the company already has a contact with the registering address, the registration
//! fills in what that contact lacks (ContactJSON fields, `condition`, the user link) and never
//! overwrites a value the contact has; the registration's own answers are kept in full on the
//! registration record.

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::contact::{self, Contact};
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::random_hex_id;
use crate::domain::{Caller, EmailAddress, Id, Name, Password};
use crate::ports::store::{StoreError, Write};
use crate::records::company::{self, EventSignup};
use crate::records::contact::{self as contacts, ContactRecord, Registration};
use crate::records::outbox::{self, AddressEmail, Message, Welcome};
use crate::records::{activity, user, ApiKeyType, Membership, QrCode, Settings, Status, User};
use crate::usecases::accounts::{email_field, hash_password, new_password};
use crate::usecases::{apikeys, distinct, failed, limits};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub mod versions;

pub const MAX_QR_CODES: usize = 20;

/// The selfRegisterMIUser body as sent. `null` is the same as absent for every field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfRegistration {
    pub version: Option<Value>,
    pub password: Option<String>,
    pub api_key: Option<String>,
    pub email_address: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub qr_access_code: Option<String>,
    pub qr_access_codes: Option<Vec<String>>,
    pub send_welcome_email: Option<bool>,
    pub contact_details: Option<Value>,
    pub title: Option<i64>,
    pub country_code: Option<String>,
    pub profession: Option<i64>,
    pub specialty: Option<i64>,
    pub condition: Option<i64>,
    pub other_title: Option<String>,
    pub other_profession: Option<String>,
    pub other_specialty: Option<String>,
    pub validation_fields: Option<Vec<ValidationField>>,
    pub dietary_requirements: Option<String>,
    pub store_contact_identifiers: Option<bool>,
    #[serde(rename = "uInteractTsAndCs")]
    pub u_interact_ts_and_cs: Option<String>,
    #[serde(rename = "uSAMTrackingConsent")]
    pub u_sam_tracking_consent: Option<String>,
    #[serde(rename = "uiCloudConsent")]
    pub ui_cloud_consent: Option<String>,
    #[serde(rename = "uGoogleConsent")]
    pub u_google_consent: Option<String>,
    #[serde(rename = "uFacebookConsent")]
    pub u_facebook_consent: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ValidationField {
    pub id: i64,
    pub value: String,
}

/// A registration, validated before anything is read or written.
#[derive(Debug)]
pub struct NewRegistration {
    pub version: u8,
    pub password: Password,
    pub api_key: String,
    pub email: EmailAddress,
    pub first: Name,
    pub last: Name,
    pub qr_codes: Vec<String>,
    pub welcome: bool,
    pub contact: Contact,
    /// The answers kept on the registration record, by request field name.
    pub answers: Map<String, Value>,
    pub profession: Option<i64>,
    pub condition: Option<i64>,
}

fn required(v: Option<String>, name: &str) -> Result<String, DomainError> {
    v.filter(|s| !s.trim().is_empty())
        .ok_or_else(|| DomainError::invalid(format!("{name} is required")))
}

fn text(v: Option<String>, name: &str, max: usize) -> Result<Option<String>, DomainError> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max => Err(DomainError::invalid(format!(
            "{name} is longer than {max} characters"
        ))),
        other => Ok(other),
    }
}

fn consent(v: Option<String>, name: &str) -> Result<Option<bool>, DomainError> {
    match v.as_deref().map(str::trim) {
        None => Ok(None),
        Some("Y") | Some("y") => Ok(Some(true)),
        Some("N") | Some("n") => Ok(Some(false)),
        Some(_) => Err(DomainError::invalid(format!("{name} is \"Y\" or \"N\""))),
    }
}

/// The version rules (`versions`) for this request: which fields it sends.
fn check_versions(version: u8, dto: &SelfRegistration) -> Result<(), DomainError> {
    let sends_text = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    versions::check(version, |field| match field {
        "qrAccessCode" => dto.qr_access_code.is_some(),
        "contactDetails" => dto.contact_details.is_some(),
        "sendWelcomeEmail" => dto.send_welcome_email.is_some(),
        "condition" => dto.condition.is_some(),
        "qrAccessCodes" => dto.qr_access_codes.is_some(),
        "profession" => dto.profession.is_some(),
        "countryCode" => sends_text(&dto.country_code),
        _ => false,
    })
}

fn country(raw: Option<String>) -> Result<Option<String>, DomainError> {
    let country = text(raw, "countryCode", 2)?;
    if let Some(c) = &country {
        if c.len() != 2 || !c.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(DomainError::invalid(
                "countryCode is a two-letter country code such as AU",
            ));
        }
    }
    Ok(country.map(|c| c.to_ascii_uppercase()))
}

/// The QR access codes (`qrAccessCode` and `qrAccessCodes`), capped before they are deduped.
fn qr_codes(one: Option<String>, many: Option<Vec<String>>) -> Result<Vec<String>, DomainError> {
    let all: Vec<String> = one.into_iter().chain(many.unwrap_or_default()).collect();
    if all.len() > MAX_QR_CODES {
        return Err(DomainError::invalid(format!(
            "at most {MAX_QR_CODES} QR access codes"
        )));
    }
    let mut codes: Vec<String> = Vec::new();
    for code in all {
        let code = code.trim().to_string();
        if code.is_empty() || code.len() > 64 {
            return Err(DomainError::invalid(
                "a QR access code is 1 to 64 characters",
            ));
        }
        if !codes
            .iter()
            .any(|c| c.to_uppercase() == code.to_uppercase())
        {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// The contact details: `contactDetails`, completed with the registration's name, address and
/// country. A `contactDetails.email1` other than the registering address is refused: the
/// registration's contact is always the one of the address being registered.
fn contact_details(
    raw: Option<&Value>,
    email: &EmailAddress,
    first: &Name,
    last: &Name,
    country: Option<&str>,
) -> Result<Contact, DomainError> {
    let mut contact = match raw {
        Some(v) => contact::parse("contactDetails", v)?,
        None => Contact::default(),
    };
    if contact.email().is_some_and(|e| e != *email) {
        return Err(DomainError::invalid(
            "contactDetails.email1 must be the emailAddress being registered (or left out)",
        ));
    }
    contact.set_if_absent("firstname", first.as_str());
    contact.set_if_absent("lastname", last.as_str());
    contact.set_if_absent("email1", email.as_str());
    if let Some(c) = country {
        contact.set_if_absent("countryCode", c);
    }
    Ok(contact)
}

/// The answers the registration record keeps.
fn answers(
    dto: &mut SelfRegistration,
    version: u8,
    country: Option<&str>,
) -> Result<Map<String, Value>, DomainError> {
    let validation_fields = dto.validation_fields.take().unwrap_or_default();
    if validation_fields.len() > 20
        || validation_fields
            .iter()
            .any(|f| f.value.chars().count() > 200)
    {
        return Err(DomainError::invalid(
            "validationFields holds at most 20 values of up to 200 characters",
        ));
    }
    let entries = [
        ("version", json!(version)),
        ("title", json!(dto.title)),
        ("countryCode", json!(country)),
        ("profession", json!(dto.profession)),
        ("specialty", json!(dto.specialty)),
        ("condition", json!(dto.condition)),
        (
            "otherTitle",
            json!(text(dto.other_title.take(), "otherTitle", 100)?),
        ),
        (
            "otherProfession",
            json!(text(dto.other_profession.take(), "otherProfession", 100)?),
        ),
        (
            "otherSpecialty",
            json!(text(dto.other_specialty.take(), "otherSpecialty", 100)?),
        ),
        (
            "dietaryRequirements",
            json!(text(
                dto.dietary_requirements.take(),
                "dietaryRequirements",
                500
            )?),
        ),
        (
            "storeContactIdentifiers",
            json!(dto.store_contact_identifiers),
        ),
        ("validationFields", json!(validation_fields)),
        (
            "uInteractTsAndCs",
            json!(consent(
                dto.u_interact_ts_and_cs.take(),
                "uInteractTsAndCs"
            )?),
        ),
        (
            "uSAMTrackingConsent",
            json!(consent(
                dto.u_sam_tracking_consent.take(),
                "uSAMTrackingConsent"
            )?),
        ),
        (
            "uiCloudConsent",
            json!(consent(dto.ui_cloud_consent.take(), "uiCloudConsent")?),
        ),
        (
            "uGoogleConsent",
            json!(consent(dto.u_google_consent.take(), "uGoogleConsent")?),
        ),
        (
            "uFacebookConsent",
            json!(consent(dto.u_facebook_consent.take(), "uFacebookConsent")?),
        ),
    ];
    Ok(entries
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.to_string(), v))
        .collect())
}

impl TryFrom<SelfRegistration> for NewRegistration {
    type Error = DomainError;
    fn try_from(mut dto: SelfRegistration) -> Result<Self, DomainError> {
        let version = versions::version_of(&dto.version)?;
        let api_key = required(dto.api_key.take(), "apiKey")?;
        let raw_email = required(dto.email_address.take(), "emailAddress")?;
        let first = Name::parse(
            "firstName",
            &required(dto.first_name.take(), "firstName")?,
            100,
        )
        .map_err(DomainError::invalid)?;
        let last = Name::parse(
            "lastName",
            &required(dto.last_name.take(), "lastName")?,
            100,
        )
        .map_err(DomainError::invalid)?;
        let password = new_password(Some(required(dto.password.take(), "password")?))?;
        let email = email_field("emailAddress", &raw_email)?;
        check_versions(version, &dto)?;
        let country = country(dto.country_code.take())?;
        let qr_codes = qr_codes(dto.qr_access_code.take(), dto.qr_access_codes.take())?;
        let contact = contact_details(
            dto.contact_details.as_ref(),
            &email,
            &first,
            &last,
            country.as_deref(),
        )?;
        let mut answers = answers(&mut dto, version, country.as_deref())?;
        answers.insert("qrAccessCodes".into(), json!(qr_codes));
        Ok(NewRegistration {
            version,
            password,
            api_key,
            email,
            first,
            last,
            qr_codes,
            welcome: dto.send_welcome_email.unwrap_or(true),
            contact,
            answers,
            profession: dto.profession,
            condition: dto.condition,
        })
    }
}

/// selfRegisterMIUser's page names no key exceptions: a bad key is a bad parameter.
fn key_error(e: DomainError) -> DomainError {
    if e.kind.is_server_fault() {
        return e;
    }
    DomainError::invalid(format!("apiKey: {}", e.message))
}

/// The company's allowed email domains (empty or unset: any).
fn check_domain(settings: &Settings, email: &EmailAddress) -> Result<(), DomainError> {
    let allowed = settings
        .allowed_email_domains
        .as_deref()
        .unwrap_or_default();
    if !allowed.is_empty() && !allowed.iter().any(|d| d == email.domain()) {
        return Err(DomainError::new(
            ErrorKind::InvalidEmailDomainName,
            format!(
                "{} is not an email domain this company accepts",
                email.domain()
            ),
        ));
    }
    Ok(())
}

/// An existing account with this address: locked (with how long), or simply taken.
async fn check_unregistered(
    app: &App,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let Some(existing) = user::find_by_email(app.store.as_ref(), email)
        .await
        .map_err(failed(Service::User))?
    else {
        return Ok(());
    };
    if let Some(until) = existing.locked_until.filter(|t| *t > now) {
        return Err(DomainError::new(
            ErrorKind::AccountLocked,
            "This account is locked after too many failed logins; try again later.",
        )
        .with_retry_after((until - now).num_seconds().max(1) as u64));
    }
    Err(DomainError::new(
        ErrorKind::EmailAlreadyExists,
        "A user with this email address already exists.",
    ))
}

/// Each QR access code must be the company's.
async fn qr_records(app: &App, c: Id, codes: &[String]) -> Result<Vec<QrCode>, DomainError> {
    let mut qrs = Vec::new();
    for code in codes {
        match company::find_qr(app.store.as_ref(), c, code)
            .await
            .map_err(failed(Service::User))?
        {
            Some(qr) => qrs.push(qr),
            None => {
                return Err(DomainError::invalid(format!(
                    "qrAccessCode {code} is not a QR access code of this company"
                )))
            }
        }
    }
    Ok(qrs)
}

/// Where the uniqueness guards are in the transaction, to name what a cancellation broke.
#[derive(Default)]
struct Guards {
    contact_email: Option<usize>,
    external_id: Option<usize>,
}

/// The contact writes: a new contact, or what an existing one lacks.
async fn contact_writes(
    app: &App,
    c: Id,
    v: &NewRegistration,
    user_id: Id,
    now: DateTime<Utc>,
    writes: &mut Vec<Write>,
) -> Result<(Id, Guards), DomainError> {
    let fail = failed(Service::User);
    let existing = contacts::find_by_email(app.store.as_ref(), c, &v.email)
        .await
        .map_err(&fail)?;
    if let Some(existing) = existing {
        let mut fill = v.contact.clone();
        if existing.user_id.is_none() {
            fill.0.insert("userId".into(), json!(user_id));
        }
        let cw = contacts::fill_in_guarded(&existing, &fill, v.condition);
        let guards = Guards {
            contact_email: None,
            external_id: cw.external_id_guard_at.map(|i| i + writes.len()),
        };
        writes.extend(cw.writes);
        return Ok((existing.contact_id, guards));
    }
    let record = ContactRecord {
        contact_id: app.ids.next("contact").await.map_err(&fail)?,
        company_id: c,
        created_at: now,
        source: Some("selfRegistration".into()),
        user_id: Some(user_id),
        condition: v.condition,
        fields: v.contact.0.clone(),
    };
    let cw = contacts::create(&record);
    let guards = Guards {
        contact_email: cw.email_guard_at.map(|i| i + writes.len()),
        external_id: cw.external_id_guard_at.map(|i| i + writes.len()),
    };
    writes.extend(cw.writes);
    Ok((record.contact_id, guards))
}

/// The account and its membership. The account is unverified until its owner follows the
/// emailed link; in a company that accepts only some email domains the membership waits for
/// that too (a domain counts only for a proven address).
async fn account_writes(
    app: &App,
    c: Id,
    v: &NewRegistration,
    teams: Vec<Id>,
    restricted: bool,
    now: DateTime<Utc>,
) -> Result<(Id, Vec<Write>), DomainError> {
    let hash = hash_password(&v.password).await?;
    let user_id = app.ids.next("user").await.map_err(failed(Service::User))?;
    let mut user = User::new_active(
        user_id,
        v.email.clone(),
        v.first.as_str(),
        v.last.as_str(),
        hash,
        now,
    );
    user.unverified = true;
    let mut membership = Membership::new_member(c, user_id, teams, now);
    membership.condition = v.condition;
    if restricted {
        membership.status = Status::Pending;
    }
    let mut writes: Vec<Write> = user::create(&user).into();
    writes.push(crate::records::put_new(&membership));
    Ok((user_id, writes))
}

/// `account.registered`, and `membership.added` (pending while the company waits for the
/// address to be proven).
fn registration_events(
    c: Id,
    user_id: Id,
    v: &NewRegistration,
    restricted: bool,
    now: DateTime<Utc>,
) -> [Write; 2] {
    use crate::domain::event::{Actor, EventType};
    use crate::records::events;
    let actor = Actor::user(user_id);
    [
        events::publish(
            events::account_event(
                EventType::AccountRegistered,
                Some(c),
                user_id,
                v.email.as_str(),
                actor.clone(),
                now,
            )
            .with("via", "self_registration")
            .with("version", v.version),
        ),
        events::publish(
            events::membership_event(EventType::MembershipAdded, c, user_id, actor, now)
                .with("role", "member")
                .with("pending", restricted),
        ),
    ]
}

fn transaction_error(e: StoreError, g: &Guards) -> DomainError {
    if e.failed_at(0) || g.contact_email.is_some_and(|i| e.failed_at(i)) {
        DomainError::new(
            ErrorKind::EmailAlreadyExists,
            "A user with this email address already exists.",
        )
    } else if g.external_id.is_some_and(|i| e.failed_at(i)) {
        DomainError::invalid(
            "contactDetails.externalId is already used by another contact of this company",
        )
    } else {
        failed(Service::User)(e)
    }
}

/// The event sign-ups of the QR codes that name an event; two codes of one event sign the user
/// up once.
fn event_signups(c: Id, user_id: Id, qrs: &[QrCode], now: DateTime<Utc>) -> Vec<Write> {
    distinct(qrs.iter().filter_map(|q| q.event_id))
        .into_iter()
        .filter_map(|event_id| {
            let qr = qrs.iter().find(|q| q.event_id == Some(event_id))?;
            let signup = EventSignup {
                company_id: c,
                event_id,
                user_id,
                qr_access_code: qr.code.clone(),
                signed_up_at: now,
            };
            Some(signup.write())
        })
        .collect()
}

/// Registers; `link_base` is where the verification link points.
pub async fn self_register(
    app: &App,
    v: NewRegistration,
    caller: &Caller,
    link_base: &str,
) -> Result<(), DomainError> {
    let now = app.clock.now();
    v.contact
        .check_past_dates("contactDetails", now.date_naive())?;
    let (_, company) = apikeys::resolve(app, &v.api_key, ApiKeyType::App, Service::User)
        .await
        .map_err(key_error)?;
    let c = company.company_id;
    let fail = failed(Service::User);
    let settings = company::settings(app.store.as_ref(), c)
        .await
        .map_err(&fail)?;
    check_domain(&settings, &v.email)?;
    // Every attempt counts against the source's hourly allowance before any code is checked
    // (so codes cannot be guessed without limit), and an address that has an account gets the
    // same answer whatever codes come with it (a right code is not told from a wrong one).
    limits::registration_from(app, &settings, c, caller, now).await?;
    check_unregistered(app, &v.email, now).await?;
    let qrs = qr_records(app, c, &v.qr_codes).await?;
    let teams = v
        .profession
        .and_then(|p| {
            settings
                .profession_teams
                .as_ref()?
                .get(&p.to_string())
                .cloned()
        })
        .unwrap_or_default();

    let restricted = settings
        .allowed_email_domains
        .as_ref()
        .is_some_and(|d| !d.is_empty());
    let (user_id, mut writes) = account_writes(app, c, &v, teams, restricted, now).await?;
    let (contact_id, guards) = contact_writes(app, c, &v, user_id, now, &mut writes).await?;
    writes.push(crate::records::put_new(&Registration {
        company_id: c,
        user_id,
        contact_id,
        registered_at: now,
        answers: v.answers.clone(),
    }));
    writes.extend(event_signups(c, user_id, &qrs, now));
    // The email that proves the address goes out whatever sendWelcomeEmail says; that flag
    // only decides whether it also carries the welcome text.
    let message = Message::Verification(AddressEmail {
        user_id,
        email: v.email.clone(),
        link_base: link_base.to_string(),
        welcome: v.welcome.then(|| Welcome {
            first_name: v.first.to_string(),
            company_name: company.name.clone(),
        }),
    });
    // No recipient limit is needed here: an address is registered once, so it gets one such
    // email; the source IP's limit bounds the rest.
    writes.push(outbox::enqueue(&random_hex_id(), now, &message));
    writes.extend(activity::record_in_site(
        c,
        user_id,
        ActivityType::Registered,
        Source::App,
        caller,
        None,
        now,
    ));
    writes.extend(registration_events(c, user_id, &v, restricted, now));
    let mut unit = crate::usecases::unit::UnitOfWork::new();
    unit.extend(writes);
    unit.commit(app, |e| transaction_error(e, &guards)).await?;
    tracing::info!(user_id = %user_id, company_id = %c, version = v.version, "user self-registered");
    Ok(())
}
