//! selfRegisterMIUser: a person registers from the app with the company's app key. Versions 1
//! to 5 as the vendor page lists them. Everything the registration creates is one transaction.

use crate::app::App;
use crate::domain::contact::{self, Contact};
use crate::domain::error::{ApiError, Exception, Service, Success};
use crate::domain::secrets::random_hex_id;
use crate::domain::Caller;
use crate::domain::{EmailAddress, EmailError, Id, Name, Password};
use crate::http::store_failure;
use crate::ports::mail::Email;
use crate::ports::store::{Key, Write};
use crate::records::activity;
use crate::records::*;
use crate::usecases::apikeys;
use crate::usecases::outbox::{self, Message};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const REGISTERED: &str = "MI User self-registered.";
pub const MAX_QR_CODES: usize = 20;

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

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidationField {
    pub id: i64,
    pub value: String,
}

fn required(v: Option<String>, name: &str) -> Result<String, ApiError> {
    v.filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(format!("{name} is required")))
}

fn text(v: Option<String>, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max => Err(ApiError::invalid(format!(
            "{name} is longer than {max} characters"
        ))),
        other => Ok(other),
    }
}

fn consent(v: Option<String>, name: &str) -> Result<Option<bool>, ApiError> {
    match v.as_deref().map(str::trim) {
        None => Ok(None),
        Some("Y") | Some("y") => Ok(Some(true)),
        Some("N") | Some("n") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid(format!("{name} is \"Y\" or \"N\""))),
    }
}

fn version_gate(version: u8, since: u8, present: bool, name: &str) -> Result<(), ApiError> {
    if present && version < since {
        return Err(ApiError::invalid(format!(
            "{name} needs version {since} or later (this request is version {version})"
        )));
    }
    Ok(())
}

/// The registration as validated, before anything is read or written.
struct Valid {
    version: u8,
    password: Password,
    api_key: String,
    email: EmailAddress,
    first: Name,
    last: Name,
    qr_codes: Vec<String>,
    welcome: bool,
    contact: Contact,
    profile: Map<String, Value>,
    condition: Option<i64>,
}

fn validate(dto: SelfRegistration) -> Result<Valid, ApiError> {
    let version = match &dto.version {
        Some(Value::Number(n)) => n.as_u64().filter(|v| (1..=5).contains(v)),
        _ => None,
    }
    .ok_or_else(|| ApiError::invalid("version is required: a number from 1 to 5"))?
        as u8;
    let api_key = required(dto.api_key, "apiKey")?;
    let raw_email = required(dto.email_address, "emailAddress")?;
    let first = Name::parse("firstName", &required(dto.first_name, "firstName")?, 100)
        .map_err(ApiError::invalid)?;
    let last = Name::parse("lastName", &required(dto.last_name, "lastName")?, 100)
        .map_err(ApiError::invalid)?;
    let password = crate::usecases::accounts::new_password(required(dto.password, "password")?)?;
    let email = EmailAddress::parse(&raw_email).map_err(|e| match e {
        EmailError::Domain(m) => ApiError::new(Exception::InvalidEmailDomainName, m),
        EmailError::Format(m) => ApiError::invalid(format!("emailAddress: {m}")),
    })?;

    version_gate(version, 2, dto.qr_access_code.is_some(), "qrAccessCode")?;
    version_gate(version, 2, dto.contact_details.is_some(), "contactDetails")?;
    version_gate(
        version,
        2,
        dto.send_welcome_email.is_some(),
        "sendWelcomeEmail",
    )?;
    version_gate(version, 4, dto.condition.is_some(), "condition")?;
    version_gate(version, 5, dto.qr_access_codes.is_some(), "qrAccessCodes")?;
    let country = text(dto.country_code, "countryCode", 2)?;
    if version >= 3 && country.is_none() {
        return Err(ApiError::invalid(format!(
            "countryCode is required from version 3 (this request is version {version})"
        )));
    }
    if let Some(c) = &country {
        if c.len() != 2 || !c.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ApiError::invalid(
                "countryCode is a two-letter country code such as AU",
            ));
        }
    }
    if version >= 4 && dto.profession.is_none() {
        return Err(ApiError::invalid(format!(
            "profession is required from version 4 (this request is version {version})"
        )));
    }

    let mut qr_codes: Vec<String> = Vec::new();
    for code in dto
        .qr_access_code
        .into_iter()
        .chain(dto.qr_access_codes.unwrap_or_default())
    {
        let code = code.trim().to_string();
        if code.is_empty() || code.len() > 64 {
            return Err(ApiError::invalid("a QR access code is 1 to 64 characters"));
        }
        if !qr_codes.iter().any(|c| c.eq_ignore_ascii_case(&code)) {
            qr_codes.push(code);
        }
    }
    if qr_codes.len() > MAX_QR_CODES {
        return Err(ApiError::invalid(format!(
            "at most {MAX_QR_CODES} QR access codes"
        )));
    }

    let mut contact = match &dto.contact_details {
        Some(v) => contact::parse("contactDetails", v)?,
        None => Contact::default(),
    };
    contact.set_if_absent("firstname", first.as_str());
    contact.set_if_absent("lastname", last.as_str());
    contact.set_if_absent("email1", email.as_str());
    if let Some(c) = &country {
        contact.set_if_absent("countryCode", &c.to_ascii_uppercase());
    }

    let validation_fields = dto.validation_fields.unwrap_or_default();
    if validation_fields.len() > 20
        || validation_fields
            .iter()
            .any(|f| f.value.chars().count() > 200)
    {
        return Err(ApiError::invalid(
            "validationFields holds at most 20 values of up to 200 characters",
        ));
    }
    let mut profile = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            profile.insert(k.to_string(), v);
        }
    };
    put("version", json!(version));
    put("title", json!(dto.title));
    put(
        "countryCode",
        json!(country.map(|c| c.to_ascii_uppercase())),
    );
    put("profession", json!(dto.profession));
    put("specialty", json!(dto.specialty));
    put("condition", json!(dto.condition));
    put(
        "otherTitle",
        json!(text(dto.other_title, "otherTitle", 100)?),
    );
    put(
        "otherProfession",
        json!(text(dto.other_profession, "otherProfession", 100)?),
    );
    put(
        "otherSpecialty",
        json!(text(dto.other_specialty, "otherSpecialty", 100)?),
    );
    put(
        "dietaryRequirements",
        json!(text(dto.dietary_requirements, "dietaryRequirements", 500)?),
    );
    put(
        "storeContactIdentifiers",
        json!(dto.store_contact_identifiers),
    );
    put("validationFields", json!(validation_fields));
    put(
        "uInteractTsAndCs",
        json!(consent(dto.u_interact_ts_and_cs, "uInteractTsAndCs")?),
    );
    put(
        "uSAMTrackingConsent",
        json!(consent(dto.u_sam_tracking_consent, "uSAMTrackingConsent")?),
    );
    put(
        "uiCloudConsent",
        json!(consent(dto.ui_cloud_consent, "uiCloudConsent")?),
    );
    put(
        "uGoogleConsent",
        json!(consent(dto.u_google_consent, "uGoogleConsent")?),
    );
    put(
        "uFacebookConsent",
        json!(consent(dto.u_facebook_consent, "uFacebookConsent")?),
    );
    put("qrAccessCodes", json!(qr_codes));
    Ok(Valid {
        version,
        password,
        api_key,
        email,
        first,
        last,
        qr_codes,
        welcome: dto.send_welcome_email.unwrap_or(true),
        contact,
        profile,
        condition: dto.condition,
    })
}

/// Keys of a company's contact records and their uniqueness guards.
pub fn contact_key(company: Id, contact: Id) -> Key {
    Key::new(format!("COMPANY#{company}"), format!("CONTACT#{contact}"))
}
pub fn contact_email_key(company: Id, email: &EmailAddress) -> Key {
    Key::new(
        format!("COMPANY#{company}"),
        format!("CONTACTEMAIL#{email}"),
    )
}
pub fn external_id_key(company: Id, external_id: &str) -> Key {
    Key::new(format!("COMPANY#{company}"), format!("EXTID#{external_id}"))
}
pub fn registration_key(company: Id, user: Id) -> Key {
    Key::new(format!("COMPANY#{company}"), format!("REGISTRATION#{user}"))
}

/// The contact of `email` in the company, if there is one: (contact id, stored details).
pub async fn existing_contact(
    app: &App,
    company: Id,
    email: &EmailAddress,
    service: Service,
) -> Result<Option<(Id, Value)>, ApiError> {
    let fail = store_failure(service);
    let Some(guard) = app
        .store
        .get(&contact_email_key(company, email))
        .await
        .map_err(&fail)?
    else {
        return Ok(None);
    };
    let id: Id = serde_json::from_value(guard.get("contactId").cloned().unwrap_or(Value::Null))
        .map_err(|e| {
            fail(crate::ports::store::StoreError::Internal(
                e.to_string().into(),
            ))
        })?;
    let stored = app
        .store
        .get(&contact_key(company, id))
        .await
        .map_err(&fail)?;
    Ok(Some((id, stored.map(Value::Object).unwrap_or(Value::Null))))
}

/// The writes that create a new contact with its email and externalId guards, and where the
/// guards are among them (to tell which uniqueness a cancelled transaction broke).
pub struct ContactWrites {
    pub writes: Vec<Write>,
    pub email_guard_at: Option<usize>,
    pub external_id_guard_at: Option<usize>,
}

pub fn new_contact_writes(
    company: Id,
    id: Id,
    contact: &Contact,
    extra: &[(&str, Value)],
    now: chrono::DateTime<chrono::Utc>,
) -> ContactWrites {
    let key = contact_key(company, id);
    let mut item = contact.0.clone();
    item.extend(key.to_item());
    item.insert("contactId".into(), json!(id));
    item.insert("companyId".into(), json!(company));
    item.insert("createdAt".into(), json!(now));
    for (k, v) in extra {
        item.insert((*k).to_string(), v.clone());
    }
    let mut writes = vec![Write::put_new(item)];
    let mut email_guard_at = None;
    if let Some(email) = contact.email() {
        let mut guard = contact_email_key(company, &email).to_item();
        guard.insert("contactId".into(), json!(id));
        email_guard_at = Some(writes.len());
        writes.push(Write::put_new(guard));
    }
    let mut external_id_guard_at = None;
    if let Some(ext) = contact.get("externalId") {
        let mut guard = external_id_key(company, ext).to_item();
        guard.insert("contactId".into(), json!(id));
        external_id_guard_at = Some(writes.len());
        writes.push(Write::put_new(guard));
    }
    ContactWrites {
        writes,
        email_guard_at,
        external_id_guard_at,
    }
}

fn key_error(e: ApiError) -> ApiError {
    // selfRegisterMIUser's page names no key exceptions: a bad key is a bad parameter.
    if e.status >= 500 {
        return e;
    }
    ApiError::invalid(format!("apiKey: {}", e.message))
}

/// The default teams for a profession (the company's `professionTeams` setting, from the
/// settings item the registration already read).
fn profession_teams(
    settings: Option<&crate::ports::store::Item>,
    profession: Option<i64>,
) -> Vec<Id> {
    let Some(p) = profession else {
        return Vec::new();
    };
    settings
        .and_then(|s| s.get("professionTeams"))
        .and_then(|m| m.get(p.to_string()))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| serde_json::from_value::<Id>(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

pub async fn self_register(
    app: &App,
    dto: SelfRegistration,
    caller: &Caller,
) -> Result<Success<'static, Map<String, Value>>, ApiError> {
    let v = validate(dto)?;
    let (_, company) = apikeys::resolve(app, &v.api_key, ApiKeyType::App, Service::User)
        .await
        .map_err(key_error)?;
    let c = company.company_id;
    let fail = store_failure(Service::User);

    // Allowed email domains (a company setting).
    let settings = app.store.get(&settings_key(c)).await.map_err(&fail)?;
    if let Some(allowed) = settings
        .as_ref()
        .and_then(|s| s.get("allowedEmailDomains"))
        .and_then(Value::as_array)
    {
        let domain = v.email.domain();
        if !allowed.is_empty() && !allowed.iter().any(|d| d.as_str() == Some(domain)) {
            return Err(ApiError::new(
                Exception::InvalidEmailDomainName,
                format!("{domain} is not an email domain this company accepts"),
            ));
        }
    }

    // An existing account: locked, or simply taken.
    let now = app.clock.now();
    if let Some(guard) = app.store.get(&email_key(&v.email)).await.map_err(&fail)? {
        let guard: EmailGuard = from_item(guard).map_err(&fail)?;
        if let Some(u) = app
            .store
            .get(&user_key(guard.user_id))
            .await
            .map_err(&fail)?
        {
            let user: User = from_item(u).map_err(&fail)?;
            if user.locked_until.is_some_and(|t| t > now) {
                return Err(ApiError::new(
                    Exception::AccountLocked,
                    "This account is locked after too many failed logins; try again later.",
                ));
            }
        }
        return Err(ApiError::new(
            Exception::EmailAlreadyExists,
            "A user with this email address already exists.",
        ));
    }

    // QR access codes: each must be the company's; they sign the user up to its wall or event.
    let mut qrs = Vec::new();
    for code in &v.qr_codes {
        match app.store.get(&qr_key(c, code)).await.map_err(&fail)? {
            Some(item) => qrs.push(from_item::<QrCode>(item).map_err(&fail)?),
            None => {
                return Err(ApiError::invalid(format!(
                    "qrAccessCode {code} is not a QR access code of this company"
                )))
            }
        }
    }
    let teams = profession_teams(
        settings.as_ref(),
        v.profile.get("profession").and_then(Value::as_i64),
    );
    let contact_email = v.contact.email().unwrap_or_else(|| v.email.clone());
    let contact = existing_contact(app, c, &contact_email, Service::User).await?;

    let hash = crate::usecases::accounts::hash_password(&v.password).await?;
    let user_id = app.ids.next("user").await.map_err(&fail)?;
    let user = User::new_active(
        user_id,
        v.email.clone(),
        v.first.as_str(),
        v.last.as_str(),
        hash,
        now,
    );
    let condition: Vec<(&str, Value)> = v
        .condition
        .map(|c| ("condition", json!(c)))
        .into_iter()
        .collect();
    let [email_guard, user_item] = crate::usecases::accounts::new_user_writes(&user, &condition);
    let membership = Membership {
        company_id: c,
        user_id,
        role: Role::Member,
        status: Status::Active,
        teams,
        created_at: now,
    };
    let mut writes = vec![
        email_guard,
        user_item,
        Write::put_new(crate::usecases::accounts::membership_item(&membership)),
    ];
    let contact_id = match &contact {
        Some((id, _)) => *id,
        None => app.ids.next("contact").await.map_err(&fail)?,
    };
    let (mut contact_guard_at, mut ext_at) = (None, None);
    if contact.is_none() {
        let mut extra = vec![
            ("userId", json!(user_id)),
            ("source", json!("selfRegistration")),
        ];
        if let Some(cond) = v.condition {
            extra.push(("condition", json!(cond)));
        }
        let cw = new_contact_writes(c, contact_id, &v.contact, &extra, now);
        contact_guard_at = cw.email_guard_at.map(|i| i + writes.len());
        ext_at = cw.external_id_guard_at.map(|i| i + writes.len());
        writes.extend(cw.writes);
    }
    let mut profile = v.profile.clone();
    profile.extend(registration_key(c, user_id).to_item());
    profile.insert("userId".into(), json!(user_id));
    profile.insert("contactId".into(), json!(contact_id));
    profile.insert("registeredAt".into(), json!(now));
    writes.push(Write::put_new(profile));
    for qr in &qrs {
        if let Some(event) = qr.event_id {
            let mut signup = Key::new(
                format!("COMPANY#{c}"),
                format!("EVENT#{event}#USER#{user_id}"),
            )
            .to_item();
            signup.insert("eventId".into(), json!(event));
            signup.insert("userId".into(), json!(user_id));
            signup.insert("qrAccessCode".into(), json!(qr.code));
            signup.insert("signedUpAt".into(), json!(now));
            writes.push(Write::Put {
                item: signup,
                cond: None,
            });
        }
    }
    if v.welcome {
        let email = Email {
            to: v.email.to_string(),
            subject: format!("Welcome to {}", company.name),
            text: format!(
                "Hello {},\n\nWelcome to {}. Your account is ready: sign in to the app with {}.\n",
                v.first, company.name, v.email
            ),
        };
        writes.push(outbox::enqueue(
            &random_hex_id(),
            now,
            &Message::Email(email),
        ));
    }
    writes.push(activity::record(
        user_id,
        activity::ActivityType::Registered,
        activity::Source::App,
        caller,
        None,
        now,
    ));
    app.store.transact(writes).await.map_err(|e| {
        if e.failed_at(0) || contact_guard_at.is_some_and(|i| e.failed_at(i)) {
            ApiError::new(
                Exception::EmailAlreadyExists,
                "A user with this email address already exists.",
            )
        } else if ext_at.is_some_and(|i| e.failed_at(i)) {
            ApiError::invalid(
                "contactDetails.externalId is already used by another contact of this company",
            )
        } else {
            fail(e)
        }
    })?;
    app.outbox_written.notify_one();
    tracing::info!(user_id = %user_id, company_id = %c, version = v.version, "user self-registered");
    Ok(Success::message(REGISTERED))
}
