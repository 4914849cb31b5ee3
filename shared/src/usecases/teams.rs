//! Teams: the company's public teams (getPublicMITeams) and assignMemberToTeams.

use crate::app::App;
use crate::domain::activity::ActivityType;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::event::Actor;
use crate::domain::{Caller, Id};
use crate::records::{company, events, membership, user, Company, Membership, Status, Team};
use crate::usecases::notifications::{self, NewNotification};
use crate::usecases::unit::UnitOfWork;
use crate::usecases::{distinct, failed};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A team as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TeamRef {
    pub team_id: Id,
    pub team_name: String,
}

impl From<&Team> for TeamRef {
    fn from(t: &Team) -> TeamRef {
        TeamRef {
            team_id: t.team_id,
            team_name: t.team_name.clone(),
        }
    }
}

/// getPublicMITeams: the public teams of the caller's company.
pub async fn public_teams(app: &App, company: &Company) -> Result<Vec<TeamRef>, DomainError> {
    Ok(company::teams(app.store.as_ref(), company.company_id)
        .await
        .map_err(failed(Service::Company))?
        .iter()
        .filter(|t| t.public)
        .map(TeamRef::from)
        .collect())
}

pub const MAX_NOTIFICATION_CHARS: usize = 1024;
pub const MAX_TEAMS: usize = 100;

pub const DEFAULT_TEAM_ASSIGNMENT_MESSAGE: &str =
    "You have been assigned to new teams. Open the app to see what is new.";

/// The assignMemberToTeams body as sent (`null` is the same as absent everywhere).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignRequest {
    pub user_id: Option<Id>,
    pub teams: Option<Vec<Id>>,
    pub send_notification: Option<bool>,
    pub notification_msg: Option<String>,
}

/// An assignment, validated.
#[derive(Debug, PartialEq)]
pub struct Assignment {
    pub user_id: Id,
    /// Distinct, in the order asked.
    pub teams: Vec<Id>,
    /// `Some` when the member is to be notified, with the message if one was given.
    pub notify: Option<Option<String>>,
}

impl TryFrom<AssignRequest> for Assignment {
    type Error = DomainError;
    fn try_from(body: AssignRequest) -> Result<Self, DomainError> {
        let user_id = body
            .user_id
            .ok_or_else(|| DomainError::invalid("userId is required"))?;
        let requested = body
            .teams
            .ok_or_else(|| DomainError::invalid("teams is required"))?;
        if requested.is_empty() || requested.len() > MAX_TEAMS {
            return Err(DomainError::invalid(format!(
                "teams holds 1 to {MAX_TEAMS} team ids"
            )));
        }
        let message = body.notification_msg.filter(|m| !m.trim().is_empty());
        if message
            .as_ref()
            .is_some_and(|m| m.chars().count() > MAX_NOTIFICATION_CHARS)
        {
            return Err(DomainError::invalid(format!(
                "notificationMsg is longer than {MAX_NOTIFICATION_CHARS} characters"
            )));
        }
        Ok(Assignment {
            user_id,
            teams: distinct(requested),
            notify: body.send_notification.unwrap_or(false).then_some(message),
        })
    }
}

/// The member `user` of `company`, checked active (user and membership, whose temporary
/// access must not have ended).
async fn active_member(
    app: &App,
    company: Id,
    user_id: Id,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Membership, DomainError> {
    let fail = failed(Service::Membership);
    let not_found =
        || DomainError::new(ErrorKind::UserNotFound, format!("user {user_id} not found"));
    let store = app.store.as_ref();
    let m = membership::find(store, company, user_id)
        .await
        .map_err(&fail)?
        .ok_or_else(not_found)?;
    let u = user::find(store, user_id)
        .await
        .map_err(&fail)?
        .ok_or_else(not_found)?;
    if u.status != Status::Active {
        return Err(DomainError::new(
            ErrorKind::UserNotActive,
            format!("user {user_id} is not active"),
        ));
    }
    if !m.is_active_at(now) {
        return Err(DomainError::new(
            ErrorKind::ConnectionStatusNotActive,
            format!("user {user_id}'s connection to the company is not active"),
        ));
    }
    Ok(m)
}

/// assignMemberToTeams: adds teams to a member of the caller's company and optionally
/// notifies them (Notification Centre and native push), all in one transaction with its
/// `Teams Assigned` activity.
pub async fn assign(
    app: &App,
    company: &Company,
    a: Assignment,
    caller: &Caller,
) -> Result<Vec<TeamRef>, DomainError> {
    let now = app.clock.now();
    let c = company.company_id;
    let fail = failed(Service::Membership);
    let member = active_member(app, c, a.user_id, now).await?;
    let found = company::teams_among(app.store.as_ref(), c, &a.teams)
        .await
        .map_err(&fail)?;
    if let Some(missing) = a
        .teams
        .iter()
        .find(|t| !found.iter().any(|f| f.team_id == **t))
    {
        return Err(DomainError::new(
            ErrorKind::RecordNotFound,
            format!("team {missing} not found"),
        ));
    }
    let answer: Vec<TeamRef> = found.iter().map(TeamRef::from).collect();
    let teams = distinct(member.teams.iter().chain(&a.teams).copied());
    // The membership as read comes first: its condition failing is a concurrent change.
    let mut writes = UnitOfWork::new();
    writes.push(membership::set_teams(&member, &teams, false, true));
    if let Some(message) = a.notify {
        let text = match message {
            Some(m) => m,
            None => default_message(app, c).await?,
        };
        let note = NewNotification {
            company_id: c,
            kind: "teamAssignment",
            title: company.name.clone(),
            message: text,
            data: json!({ "teams": answer }),
        };
        writes.extend(notifications::notify(app, a.user_id, note, now).await?);
    }
    let (before, user) = (&member.teams, a.user_id);
    writes.extend(events::teams_changed(
        c,
        user,
        before,
        &teams,
        Actor::Company,
        now,
    ));
    writes.activity(c, a.user_id, ActivityType::TeamsAssigned, caller, now);
    writes
        .commit(app, |e| {
            if e.failed_at(0) {
                // The membership changed under us (deactivated, or a concurrent assignment).
                DomainError::new(
                    ErrorKind::Conflict,
                    "the membership changed while assigning; try again",
                )
            } else {
                fail(e)
            }
        })
        .await?;
    Ok(answer)
}

/// The company's default team-assignment message (the `teamAssignmentMessage` setting).
pub async fn default_message(app: &App, company: Id) -> Result<String, DomainError> {
    let settings = company::settings(app.store.as_ref(), company)
        .await
        .map_err(failed(Service::Membership))?;
    Ok(settings
        .team_assignment_message
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEAM_ASSIGNMENT_MESSAGE.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: serde_json::Value) -> Result<Assignment, DomainError> {
        Assignment::try_from(serde_json::from_value::<AssignRequest>(v).unwrap())
    }

    #[test]
    fn assignments_are_validated() {
        let a = req(json!({"userId": 1, "teams": [2, 3, 2], "sendNotification": null})).unwrap();
        assert_eq!(a.teams.len(), 2);
        assert_eq!(a.notify, None);
        let a = req(
            json!({"userId": 1, "teams": [2], "sendNotification": true, "notificationMsg": " "}),
        )
        .unwrap();
        assert_eq!(a.notify, Some(None));
        for (bad, msg) in [
            (json!({"teams": [1]}), "userId is required"),
            (json!({"userId": 1}), "teams is required"),
            (
                json!({"userId": 1, "teams": []}),
                "teams holds 1 to 100 team ids",
            ),
            (
                json!({"userId": 1, "teams": [1], "notificationMsg": "x".repeat(1025)}),
                "notificationMsg is longer than 1024 characters",
            ),
        ] {
            assert_eq!(req(bad).unwrap_err().message, msg);
        }
    }
}
