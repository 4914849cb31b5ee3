//! Operator use cases (the `admit` CLI and the demo data of `admit serve`): companies, teams,
//! API keys, users, QR access codes and company settings. Every multi-item write is one
//! transaction; uniqueness is held by guard items.

use crate::app::App;
use crate::domain::error::{ApiError, Exception, Service};
use crate::domain::{EmailAddress, Id, Name};
use crate::http::store_failure;
use crate::ports::store::{Cond, Write};
use crate::records::*;
use crate::usecases::apikeys;
use serde_json::{json, Value};

fn company_exists(company: Id) -> Write {
    Write::Check {
        key: company_key(company),
        cond: Cond::present(),
    }
}

fn no_company(company: Id) -> ApiError {
    ApiError::new(
        Exception::RecordNotFound,
        format!("company {company} does not exist"),
    )
}

async fn next_id(app: &App, kind: &str) -> Result<Id, ApiError> {
    app.ids
        .next(kind)
        .await
        .map_err(store_failure(Service::Company))
}

/// Runs a transaction whose first write checks the company exists.
async fn transact_in_company(
    app: &App,
    company: Id,
    mut writes: Vec<Write>,
) -> Result<(), ApiError> {
    writes.insert(0, company_exists(company));
    app.store.transact(writes).await.map_err(|e| {
        if e.failed_at(0) {
            no_company(company)
        } else {
            store_failure(Service::Company)(e)
        }
    })
}

/// Puts a new item into a company that must exist; `taken` says what already holds its key.
async fn put_new_in_company(
    app: &App,
    company: Id,
    item: crate::ports::store::Item,
    taken: impl FnOnce() -> ApiError,
) -> Result<(), ApiError> {
    app.store
        .transact(vec![company_exists(company), Write::put_new(item)])
        .await
        .map_err(|e| {
            if e.failed_at(0) {
                no_company(company)
            } else if e.failed_at(1) {
                taken()
            } else {
                store_failure(Service::Company)(e)
            }
        })
}

pub async fn create_company(app: &App, name: &str) -> Result<Company, ApiError> {
    let name = Name::parse("name", name, 200).map_err(ApiError::invalid)?;
    let company = Company {
        company_id: next_id(app, "company").await?,
        name: name.to_string(),
        status: Status::Active,
        created_at: app.clock.now(),
    };
    app.store
        .put(
            to_item(&company_key(company.company_id), &company, &[]),
            Some(Cond::absent()),
        )
        .await
        .map_err(store_failure(Service::Company))?;
    Ok(company)
}

pub async fn create_team(
    app: &App,
    company: Id,
    name: &str,
    public: bool,
) -> Result<Team, ApiError> {
    let name = Name::parse("name", name, 200).map_err(ApiError::invalid)?;
    let team = Team {
        team_id: next_id(app, "team").await?,
        company_id: company,
        team_name: name.to_string(),
        public,
        created_at: app.clock.now(),
    };
    let item = to_item(&team_key(company, team.team_id), &team, &[]);
    transact_in_company(app, company, vec![Write::put_new(item)]).await?;
    Ok(team)
}

/// Imports a key the company already uses (for example one issued by the platform admit
/// replaces), so existing apps keep working. Only its hash is stored.
pub async fn import_api_key(
    app: &App,
    company: Id,
    key_type: ApiKeyType,
    secret: &str,
) -> Result<ApiKey, ApiError> {
    let secret = secret.trim();
    if secret.len() < 8 || secret.len() > 128 || !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "an imported key is 8 to 128 printable ASCII characters",
        ));
    }
    store_api_key(app, company, key_type, secret).await
}

/// Creates a key and returns it with its one-time secret.
pub async fn create_api_key(
    app: &App,
    company: Id,
    key_type: ApiKeyType,
) -> Result<(ApiKey, String), ApiError> {
    let secret = apikeys::generate().map_err(|e| {
        tracing::error!(error = %e, "OS random generator failed");
        ApiError::new(Exception::CompanyService, "could not generate a key")
    })?;
    Ok((
        store_api_key(app, company, key_type, &secret).await?,
        secret,
    ))
}

/// Stores a key's hash with its record, listed under its company (gsi1).
async fn store_api_key(
    app: &App,
    company: Id,
    key_type: ApiKeyType,
    secret: &str,
) -> Result<ApiKey, ApiError> {
    let key = ApiKey {
        key_id: next_id(app, "apikey").await?,
        company_id: company,
        key_type,
        status: Status::Active,
        created_at: app.clock.now(),
    };
    let item = to_item(
        &api_key_key(&apikeys::hash(secret)),
        &key,
        &[
            ("gsi1pk", json!(format!("COMPANY#{company}#APIKEYS"))),
            ("gsi1sk", json!(key.created_at.to_rfc3339())),
        ],
    );
    put_new_in_company(app, company, item, || {
        ApiError::invalid("this key is already in use")
    })
    .await?;
    Ok(key)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub membership: Option<(Id, Role)>,
}

pub async fn create_user(app: &App, new: NewUser<'_>) -> Result<User, ApiError> {
    let email = EmailAddress::parse(new.email).map_err(|e| match e {
        crate::domain::EmailError::Domain(m) => ApiError::new(Exception::InvalidEmailDomainName, m),
        crate::domain::EmailError::Format(m) => ApiError::invalid(m),
    })?;
    let password = crate::usecases::accounts::new_password(new.password.to_string())?;
    let first = Name::parse("first name", new.first_name, 100).map_err(ApiError::invalid)?;
    let last = Name::parse("last name", new.last_name, 100).map_err(ApiError::invalid)?;
    let hash = crate::usecases::accounts::hash_password(&password).await?;
    let now = app.clock.now();
    let user = User::new_active(
        next_id(app, "user").await?,
        email.clone(),
        first.as_str(),
        last.as_str(),
        hash,
        now,
    );
    let mut writes = crate::usecases::accounts::new_user_writes(&user, &[]).to_vec();
    if let Some((company, role)) = new.membership {
        let m = Membership {
            company_id: company,
            user_id: user.user_id,
            role,
            status: Status::Active,
            teams: Vec::new(),
            created_at: now,
        };
        writes.push(Write::put_new(crate::usecases::accounts::membership_item(
            &m,
        )));
        writes.insert(0, company_exists(company));
    }
    let guard_at = usize::from(new.membership.is_some());
    app.store.transact(writes).await.map_err(|e| {
        if e.failed_at(guard_at) {
            ApiError::new(
                Exception::EmailAlreadyExists,
                format!("a user with email {email} already exists"),
            )
        } else if new.membership.is_some() && e.failed_at(0) {
            no_company(new.membership.map(|m| m.0).unwrap_or(user.user_id))
        } else {
            store_failure(Service::User)(e)
        }
    })?;
    Ok(user)
}

pub async fn create_qr(
    app: &App,
    company: Id,
    code: &str,
    event: Option<Id>,
) -> Result<QrCode, ApiError> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > 64
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::invalid(
            "a QR access code is 1 to 64 letters, digits, - or _",
        ));
    }
    let qr = QrCode {
        company_id: company,
        code: code.to_string(),
        event_id: event,
        created_at: app.clock.now(),
    };
    let item = to_item(&qr_key(company, code), &qr, &[]);
    put_new_in_company(app, company, item, || {
        ApiError::invalid(format!(
            "QR access code {code} already exists in company {company}"
        ))
    })
    .await?;
    Ok(qr)
}

/// Company settings an operator may change, with their type.
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
        "Whether platform users may invite other users (true/false).",
    ),
    (
        "professionTeams",
        "map",
        "Default teams per profession for self-registration (V4+): PROFESSION=TEAM[+TEAM],... e.g. 1=6,2=7+8.",
    ),
];

pub const DEFAULT_TEAM_ASSIGNMENT_MESSAGE: &str =
    "You have been assigned to new teams. Open the app to see what is new.";

pub async fn set_setting(
    app: &App,
    company: Id,
    key: &str,
    value: &str,
) -> Result<Value, ApiError> {
    let Some((_, kind, _)) = SETTINGS.iter().find(|(k, _, _)| *k == key) else {
        let known: Vec<&str> = SETTINGS.iter().map(|(k, _, _)| *k).collect();
        return Err(ApiError::invalid(format!(
            "unknown setting {key}; known settings: {}",
            known.join(", ")
        )));
    };
    let v = match *kind {
        "bool" => match value.trim() {
            "true" => json!(true),
            "false" => json!(false),
            _ => return Err(ApiError::invalid(format!("{key} is true or false"))),
        },
        "list" => {
            let mut domains = Vec::new();
            for d in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                let probe = format!("x@{d}");
                let e = EmailAddress::parse(&probe)
                    .map_err(|_| ApiError::invalid(format!("{d} is not a domain name")))?;
                domains.push(json!(e.domain()));
            }
            Value::Array(domains)
        }
        "map" => {
            let mut m = serde_json::Map::new();
            for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let bad = || {
                    ApiError::invalid(format!("{key} is PROFESSION=TEAM[+TEAM],... (got {pair})"))
                };
                let (p, teams) = pair.split_once('=').ok_or_else(bad)?;
                let p: i64 = p.trim().parse().map_err(|_| bad())?;
                let mut ids = Vec::new();
                for t in teams.split('+') {
                    let id: Id = t.parse().map_err(|_| bad())?;
                    if app
                        .store
                        .get(&team_key(company, id))
                        .await
                        .map_err(store_failure(Service::Company))?
                        .is_none()
                    {
                        return Err(ApiError::new(
                            Exception::RecordNotFound,
                            format!("team {id} is not a team of company {company}"),
                        ));
                    }
                    ids.push(json!(id));
                }
                m.insert(p.to_string(), Value::Array(ids));
            }
            Value::Object(m)
        }
        _ => {
            if value.chars().count() > 1024 {
                return Err(ApiError::invalid(format!(
                    "{key} is longer than 1024 characters"
                )));
            }
            json!(value)
        }
    };
    let update = crate::ports::store::Update::new()
        .set(key, v.clone())
        .set("companyId", json!(company));
    transact_in_company(
        app,
        company,
        vec![Write::Update {
            key: settings_key(company),
            update,
            cond: None,
        }],
    )
    .await?;
    Ok(v)
}
