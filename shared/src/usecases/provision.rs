//! Operator use cases (the `admit` CLI and the demo data of `admit serve`): companies, teams,
//! API keys, users, QR access codes and company settings. Every multi-item write is one
//! transaction; uniqueness is held by guard items.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::{EmailAddress, Id, Name};
use crate::ports::store::Write;
use crate::records::company::{company_exists, team_key};
use crate::records::{self, apikey, company, user, ApiKey, ApiKeyType, Company, Membership};
use crate::records::{QrCode, Role, Status, Team, User};
use crate::usecases::accounts::{email_field, hash_password, new_password};
use crate::usecases::{apikeys, failed};
use serde_json::{json, Value};

fn no_company(company: Id) -> DomainError {
    DomainError::new(
        ErrorKind::RecordNotFound,
        format!("company {company} does not exist"),
    )
}

async fn next_id(app: &App, kind: &str) -> Result<Id, DomainError> {
    app.ids.next(kind).await.map_err(failed(Service::Company))
}

/// Runs `writes` in one transaction after a check that the company exists; `taken` names what
/// already holds the key of the write at index 0 of `writes`, if that write is a create.
async fn transact_in_company(
    app: &App,
    company: Id,
    mut writes: Vec<Write>,
    taken: Option<&dyn Fn() -> DomainError>,
) -> Result<(), DomainError> {
    writes.insert(0, company_exists(company));
    app.store.transact(writes).await.map_err(|e| {
        if e.failed_at(0) {
            no_company(company)
        } else if let Some(taken) = taken.filter(|_| e.failed_at(1)) {
            taken()
        } else {
            failed(Service::Company)(e)
        }
    })
}

pub async fn create_company(app: &App, name: &str) -> Result<Company, DomainError> {
    let name = Name::parse("name", name, 200).map_err(DomainError::invalid)?;
    let company = Company {
        company_id: next_id(app, "company").await?,
        name: name.to_string(),
        status: Status::Active,
        created_at: app.clock.now(),
    };
    app.store
        .transact(vec![records::put_new(&company)])
        .await
        .map_err(failed(Service::Company))?;
    Ok(company)
}

pub async fn create_team(
    app: &App,
    company: Id,
    name: &str,
    public: bool,
) -> Result<Team, DomainError> {
    let name = Name::parse("name", name, 200).map_err(DomainError::invalid)?;
    let team = Team {
        team_id: next_id(app, "team").await?,
        company_id: company,
        team_name: name.to_string(),
        public,
        created_at: app.clock.now(),
    };
    transact_in_company(app, company, vec![records::put_new(&team)], None).await?;
    Ok(team)
}

/// Imports a key the company already uses (for example one issued by the platform admit
/// replaces), so existing apps keep working. Only its hash is stored.
pub async fn import_api_key(
    app: &App,
    company: Id,
    key_type: ApiKeyType,
    secret: &str,
) -> Result<ApiKey, DomainError> {
    let secret = secret.trim();
    if secret.len() < 8 || secret.len() > 128 || !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(DomainError::invalid(
            "an imported key is 8 to 128 printable ASCII characters",
        ));
    }
    store_api_key(app, company, key_type, secret).await
}

/// Creates a key (a version-4 UUID) and returns it with its one-time secret.
pub async fn create_api_key(
    app: &App,
    company: Id,
    key_type: ApiKeyType,
) -> Result<(ApiKey, String), DomainError> {
    let secret = apikeys::generate();
    Ok((
        store_api_key(app, company, key_type, &secret).await?,
        secret,
    ))
}

/// Stores a key's hash with its record, listed under its company.
async fn store_api_key(
    app: &App,
    company: Id,
    key_type: ApiKeyType,
    secret: &str,
) -> Result<ApiKey, DomainError> {
    let key = ApiKey {
        key_id: next_id(app, "apikey").await?,
        company_id: company,
        key_type,
        status: Status::Active,
        created_at: app.clock.now(),
        hash: apikey::hash(secret),
    };
    let taken = || DomainError::invalid("this key is already in use");
    transact_in_company(app, company, vec![records::put_new(&key)], Some(&taken)).await?;
    Ok(key)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub membership: Option<(Id, Role)>,
}

pub async fn create_user(app: &App, new: NewUser<'_>) -> Result<User, DomainError> {
    let email: EmailAddress = email_field("email", new.email)?;
    let password = new_password(Some(new.password.to_string()))?;
    let first = Name::parse("first name", new.first_name, 100).map_err(DomainError::invalid)?;
    let last = Name::parse("last name", new.last_name, 100).map_err(DomainError::invalid)?;
    let hash = hash_password(&password).await?;
    let now = app.clock.now();
    let id = next_id(app, "user").await?;
    let user = User::new_active(id, email.clone(), first.as_str(), last.as_str(), hash, now);
    let mut writes: Vec<Write> = user::create(&user).into();
    let company = new.membership.map(|(c, _)| c);
    writes.push(crate::records::events::publish(
        crate::records::events::account_event(
            crate::domain::event::EventType::AccountRegistered,
            company,
            user.user_id,
            user.email.as_str(),
            crate::domain::event::Actor::Operator,
            now,
        )
        .with("via", "operator"),
    ));
    let taken = || {
        DomainError::new(
            ErrorKind::EmailAlreadyExists,
            format!("a user with email {email} already exists"),
        )
    };
    match new.membership {
        Some((company, role)) => {
            let mut m = Membership::new_member(company, user.user_id, Vec::new(), now);
            m.role = role;
            writes.push(records::put_new(&m));
            writes.push(crate::records::events::publish(
                crate::records::events::membership_event(
                    crate::domain::event::EventType::MembershipAdded,
                    company,
                    user.user_id,
                    crate::domain::event::Actor::Operator,
                    now,
                )
                .with("role", m.role),
            ));
            transact_in_company(app, company, writes, Some(&taken)).await?;
        }
        None => app.store.transact(writes).await.map_err(|e| {
            if e.failed_at(0) {
                taken()
            } else {
                failed(Service::User)(e)
            }
        })?,
    }
    Ok(user)
}

pub async fn create_qr(
    app: &App,
    company: Id,
    code: &str,
    event: Option<Id>,
) -> Result<QrCode, DomainError> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > 64
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DomainError::invalid(
            "a QR access code is 1 to 64 letters, digits, - or _",
        ));
    }
    let qr = QrCode {
        company_id: company,
        code: code.to_string(),
        event_id: event,
        created_at: app.clock.now(),
    };
    let taken = || {
        DomainError::invalid(format!(
            "QR access code {code} already exists in company {company}"
        ))
    };
    transact_in_company(app, company, vec![records::put_new(&qr)], Some(&taken)).await?;
    Ok(qr)
}

/// Company settings an operator may change: stored name, kind, description.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    (
        "teamAssignmentMessage",
        "text",
        "Default message of a team-assignment notification (up to 1024 characters).",
    ),
    (
        "allowedEmailDomains",
        "list",
        "Comma-separated email domains allowed to self-register; empty allows any.",
    ),
    (
        "usersMayInvite",
        "bool",
        "Whether every member may invite users (platform call and inviteMIUser); when false only reps and admins may, through inviteMIUser (true/false; default true).",
    ),
    (
        "csrfRequired",
        "bool",
        "Whether browser (cookie) sessions must send X-Csrf-Token_{companyId} on platform calls (true/false; default true).",
    ),
    (
        "invitationDays",
        "days",
        "How many days an invitation's link works (1 to 30; default 7).",
    ),
    (
        "senderPerHour",
        "limit",
        "Addresses one user of this company may have emailed (invitations, resends) in an hour, over the stage's ADMIT_LIMIT_SENDER_PER_HOUR (1 to 1000000): raise it for a bulk onboarding.",
    ),
    (
        "companyPerHour",
        "limit",
        "Invitations this company's plain members may send in an hour, all together, over the stage's ADMIT_LIMIT_COMPANY_PER_HOUR (1 to 1000000).",
    ),
    (
        "registrationsPerHour",
        "limit",
        "Self-registrations in this company from one source address in an hour, over the stage's ADMIT_LIMIT_REGISTER_IP_PER_HOUR (1 to 1000000): raise it for a venue's QR sign-ups.",
    ),
    (
        "professionTeams",
        "map",
        "Default teams per profession for self-registration (V4+): PROFESSION=TEAM[+TEAM],... e.g. 1=6,2=7+8.",
    ),
];

fn domains(value: &str) -> Result<Value, DomainError> {
    let mut domains = Vec::new();
    for d in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let e = EmailAddress::parse(&format!("x@{d}"))
            .map_err(|_| DomainError::invalid(format!("{d} is not a domain name")))?;
        domains.push(json!(e.domain()));
    }
    Ok(Value::Array(domains))
}

async fn profession_teams(
    app: &App,
    company: Id,
    key: &str,
    value: &str,
) -> Result<Value, DomainError> {
    let mut m = serde_json::Map::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad =
            || DomainError::invalid(format!("{key} is PROFESSION=TEAM[+TEAM],... (got {pair})"));
        let (p, teams) = pair.split_once('=').ok_or_else(bad)?;
        let p: i64 = p.trim().parse().map_err(|_| bad())?;
        let mut ids = Vec::new();
        for t in teams.split('+') {
            let id: Id = t.parse().map_err(|_| bad())?;
            let team: Option<Team> = records::get(app.store.as_ref(), &team_key(company, id))
                .await
                .map_err(failed(Service::Company))?;
            if team.is_none() {
                return Err(DomainError::new(
                    ErrorKind::RecordNotFound,
                    format!("team {id} is not a team of company {company}"),
                ));
            }
            ids.push(json!(id));
        }
        m.insert(p.to_string(), Value::Array(ids));
    }
    Ok(Value::Object(m))
}

/// A setting's stored value from its text, validated (unknown settings are refused).
pub async fn setting_value(
    app: &App,
    company: Id,
    key: &str,
    value: &str,
) -> Result<Value, DomainError> {
    let Some((_, kind, _)) = SETTINGS.iter().find(|(k, _, _)| *k == key) else {
        let known: Vec<&str> = SETTINGS.iter().map(|(k, _, _)| *k).collect();
        return Err(DomainError::invalid(format!(
            "unknown setting {key}; known settings: {}",
            known.join(", ")
        )));
    };
    Ok(match *kind {
        "bool" => match value.trim() {
            "true" => json!(true),
            "false" => json!(false),
            _ => return Err(DomainError::invalid(format!("{key} is true or false"))),
        },
        "days" => match value.trim().parse::<u32>() {
            Ok(d) if (1..=30).contains(&d) => json!(d),
            _ => {
                return Err(DomainError::invalid(format!(
                    "{key} is a whole number from 1 to 30"
                )))
            }
        },
        "limit" => match value.trim().parse::<u32>() {
            Ok(n) if (1..=1_000_000).contains(&n) => json!(n),
            _ => {
                return Err(DomainError::invalid(format!(
                    "{key} is a whole number from 1 to 1000000"
                )))
            }
        },
        "list" => domains(value)?,
        "map" => profession_teams(app, company, key, value).await?,
        _ if value.chars().count() > 1024 => {
            return Err(DomainError::invalid(format!(
                "{key} is longer than 1024 characters"
            )))
        }
        _ => json!(value),
    })
}

pub async fn set_setting(
    app: &App,
    company: Id,
    key: &str,
    value: &str,
) -> Result<Value, DomainError> {
    let v = setting_value(app, company, key, value).await?;
    transact_in_company(
        app,
        company,
        vec![company::set_setting(company, key, v.clone())],
        None,
    )
    .await?;
    Ok(v)
}
/// Activates or deactivates the account of `email`. Deactivating revokes every session at
/// once (the next request with one of its tokens is refused) and stops logins.
pub async fn set_user_status(app: &App, email: &str, status: Status) -> Result<User, DomainError> {
    let email = email_field("email", email)?;
    let fail = failed(Service::User);
    let mut found = user::find_by_email(app.store.as_ref(), &email)
        .await
        .map_err(&fail)?
        .ok_or_else(|| {
            DomainError::new(
                ErrorKind::UserNotFound,
                format!("no user has email {email}"),
            )
        })?;
    let now = app.clock.now();
    let mut writes = vec![user::set_status(found.user_id, status, now)];
    if status == Status::Inactive && found.status != Status::Inactive {
        writes.extend(crate::usecases::devices::forget_all(app, found.user_id).await?);
        writes.push(crate::records::events::publish(
            crate::records::events::account_event(
                crate::domain::event::EventType::AccountDeactivated,
                None,
                found.user_id,
                found.email.as_str(),
                crate::domain::event::Actor::Operator,
                now,
            ),
        ));
    }
    app.store.transact(writes).await.map_err(&fail)?;
    found.status = status;
    Ok(found)
}
