//! Teams: the company's public teams (getPublicMITeams) and assignMemberToTeams.

use crate::app::App;
use crate::domain::error::{ApiError, Exception, Service};
use crate::domain::Id;
use crate::http::store_failure;
use crate::ports::store::{Cond, Index, Query, SortKey, Update, Write};
use crate::records::{
    from_item, member_key, settings_key, team_key, user_key, ApiKeyType, Membership, Status, Team,
    User,
};
use crate::usecases::apikeys;
use crate::usecases::notifications::{self, Notification};
use crate::usecases::provision::DEFAULT_TEAM_ASSIGNMENT_MESSAGE;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A team as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TeamRef {
    pub team_id: Id,
    pub team_name: String,
}

/// All teams of a company.
pub async fn company_teams(
    app: &App,
    company: Id,
    service: Service,
) -> Result<Vec<Team>, ApiError> {
    let fail = store_failure(service);
    let mut teams = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store
            .query(
                &Query::partition(Index::Table, format!("COMPANY#{company}"))
                    .sort(SortKey::BeginsWith("TEAM#".into()))
                    .start_after(cursor.take()),
            )
            .await
            .map_err(&fail)?;
        for item in page.items {
            teams.push(from_item::<Team>(item).map_err(&fail)?);
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    teams.sort_by_key(|t| t.team_id);
    Ok(teams)
}

/// getPublicMITeams: the public teams of the key's company (admin or app key).
pub async fn public_teams(app: &App, req: &Request) -> Result<Vec<TeamRef>, ApiError> {
    let (_, company) = apikeys::from_header(
        app,
        req,
        &[ApiKeyType::Admin, ApiKeyType::App],
        Service::Company,
    )
    .await?;
    Ok(company_teams(app, company.company_id, Service::Company)
        .await?
        .into_iter()
        .filter(|t| t.public)
        .map(|t| TeamRef {
            team_id: t.team_id,
            team_name: t.team_name,
        })
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignRequest {
    pub user_id: Option<Id>,
    pub teams: Option<Vec<Id>>,
    #[serde(default)]
    pub send_notification: bool,
    pub notification_msg: Option<String>,
}

pub const MAX_NOTIFICATION_CHARS: usize = 1024;

/// The company's default team-assignment message (the `teamAssignmentMessage` setting).
pub async fn default_message(app: &App, company: Id) -> Result<String, ApiError> {
    let settings = app
        .store
        .get(&settings_key(company))
        .await
        .map_err(store_failure(Service::Membership))?;
    Ok(settings
        .and_then(|s| {
            s.get("teamAssignmentMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEAM_ASSIGNMENT_MESSAGE.to_string()))
}

/// assignMemberToTeams: adds teams to a member of the admin key's company and optionally
/// notifies them (Notification Centre and native push), all in one transaction.
pub async fn assign(
    app: &App,
    req: &Request,
    body: AssignRequest,
) -> Result<Vec<TeamRef>, ApiError> {
    // Validate the body before touching the store.
    let user_id = body
        .user_id
        .ok_or_else(|| ApiError::invalid("userId is required"))?;
    let requested = body
        .teams
        .ok_or_else(|| ApiError::invalid("teams is required"))?;
    if requested.is_empty() || requested.len() > 100 {
        return Err(ApiError::invalid("teams holds 1 to 100 team ids"));
    }
    let message = body.notification_msg.filter(|m| !m.trim().is_empty());
    if let Some(m) = &message {
        if m.chars().count() > MAX_NOTIFICATION_CHARS {
            return Err(ApiError::invalid(format!(
                "notificationMsg is longer than {MAX_NOTIFICATION_CHARS} characters"
            )));
        }
    }
    let mut wanted: Vec<Id> = Vec::new();
    for t in requested {
        if !wanted.contains(&t) {
            wanted.push(t);
        }
    }

    let (_, company) =
        apikeys::from_header(app, req, &[ApiKeyType::Admin], Service::Company).await?;
    let c = company.company_id;
    let fail = store_failure(Service::Membership);
    let not_found = || ApiError::new(Exception::UserNotFound, format!("user {user_id} not found"));
    let membership: Membership = match app
        .store
        .get(&member_key(c, user_id))
        .await
        .map_err(&fail)?
    {
        Some(item) => from_item(item).map_err(&fail)?,
        None => return Err(not_found()),
    };
    let user: User = match app.store.get(&user_key(user_id)).await.map_err(&fail)? {
        Some(item) => from_item(item).map_err(&fail)?,
        None => return Err(not_found()),
    };
    if user.status != Status::Active {
        return Err(ApiError::new(
            Exception::UserNotActive,
            format!("user {user_id} is not active"),
        ));
    }
    if membership.status != Status::Active {
        return Err(ApiError::new(
            Exception::ConnectionStatusNotActive,
            format!("user {user_id}'s connection to the company is not active"),
        ));
    }
    let keys: Vec<_> = wanted.iter().map(|t| team_key(c, *t)).collect();
    let found: Vec<Team> = app
        .store
        .batch_get(&keys)
        .await
        .map_err(&fail)?
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()
        .map_err(&fail)?;
    let mut answer = Vec::with_capacity(wanted.len());
    for t in &wanted {
        match found.iter().find(|f| f.team_id == *t) {
            Some(team) => answer.push(TeamRef {
                team_id: team.team_id,
                team_name: team.team_name.clone(),
            }),
            None => {
                return Err(ApiError::new(
                    Exception::RecordNotFound,
                    format!("team {t} not found"),
                ))
            }
        }
    }

    let mut teams = membership.teams.clone();
    for t in &wanted {
        if !teams.contains(t) {
            teams.push(*t);
        }
    }
    let mut writes = vec![Write::Update {
        key: member_key(c, user_id),
        update: Update::new().set("teams", json!(teams)),
        cond: Some(Cond::eq("status", "active").and(Cond::eq("teams", json!(membership.teams)))),
    }];
    if body.send_notification {
        let text = match message {
            Some(m) => m,
            None => default_message(app, c).await?,
        };
        let notification = Notification {
            notification_id: app.ids.next("notification").await.map_err(&fail)?,
            company_id: c,
            kind: "teamAssignment".into(),
            title: company.name.clone(),
            message: text,
            data: json!({ "teams": answer }),
            created_at: app.clock.now(),
            read: false,
        };
        writes.extend(notifications::notify(app, user_id, &notification).await?);
    }
    app.store.transact(writes).await.map_err(|e| {
        if e.failed_at(0) {
            // The membership changed under us (deactivated, or a concurrent assignment).
            ApiError::new(
                Exception::ConnectionStatusNotActive,
                "the membership changed while assigning; try again",
            )
            .with_status(409)
        } else {
            fail(e)
        }
    })?;
    app.outbox_written.notify_one();
    Ok(answer)
}

/// A member as their company sees them (admin key): the user (never the password hash), the
/// membership, the contact and what they gave when they registered (consents, validation
/// fields, profession, ...). A user outside the company is not found.
pub async fn member_profile(
    app: &App,
    req: &Request,
    user: Option<&str>,
) -> Result<Value, ApiError> {
    let user_id: Id = user
        .ok_or_else(|| ApiError::invalid("userId is required"))?
        .parse()
        .map_err(|e: String| ApiError::invalid(format!("userId: {e}")))?;
    let (_, company) =
        apikeys::from_header(app, req, &[ApiKeyType::Admin], Service::Company).await?;
    let c = company.company_id;
    let fail = store_failure(Service::Membership);
    let not_found = || ApiError::new(Exception::UserNotFound, format!("user {user_id} not found"));
    let membership = app
        .store
        .get(&member_key(c, user_id))
        .await
        .map_err(&fail)?
        .ok_or_else(not_found)?;
    let mut user = app
        .store
        .get(&user_key(user_id))
        .await
        .map_err(&fail)?
        .ok_or_else(not_found)?;
    for private in ["pk", "sk", "passwordHash", "failedLogins", "lockedUntil"] {
        user.remove(private);
    }
    let registration = app
        .store
        .get(&crate::usecases::register::registration_key(c, user_id))
        .await
        .map_err(&fail)?;
    let email: crate::domain::EmailAddress =
        serde_json::from_value(user.get("email").cloned().unwrap_or_default())
            .map_err(|_| not_found())?;
    // A registration names its contact; otherwise the contact is the one with the user's email.
    let registered_contact = registration
        .as_ref()
        .and_then(|r| r.get("contactId").cloned())
        .and_then(|v| serde_json::from_value::<Id>(v).ok());
    let contact = match registered_contact {
        Some(id) => app
            .store
            .get(&crate::usecases::register::contact_key(c, id))
            .await
            .map_err(&fail)?,
        None => crate::usecases::register::existing_contact(app, c, &email, Service::Membership)
            .await?
            .and_then(|(_, stored)| stored.as_object().cloned()),
    };
    let clean = |item: Option<crate::ports::store::Item>| {
        item.map(|mut i| {
            i.remove("pk");
            i.remove("sk");
            i.remove("gsi1pk");
            i.remove("gsi1sk");
            Value::Object(i)
        })
        .unwrap_or(Value::Null)
    };
    Ok(json!({
        "errorCode": 0,
        "errorMsg": "Member.",
        "user": Value::Object(user),
        "membership": clean(Some(membership)),
        "contact": clean(contact),
        "registration": clean(registration),
    }))
}
