//! Domain events: what other systems hear of a change of access (docs/events.md). Each is
//! written to the outbox in the same transaction as the change it describes and published by
//! the dispatcher: to Amazon EventBridge in the cloud, to `events/` JSON lines locally. An
//! event names ids and the address concerned, never a secret, a link or an email's body.

use crate::domain::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The version of the schema below; a change that is not only an addition raises it.
pub const SCHEMA_VERSION: u32 = 1;

/// The `source` every admit event carries on EventBridge.
pub const SOURCE: &str = "admit";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "invitation.created")]
    InvitationCreated,
    #[serde(rename = "invitation.resent")]
    InvitationResent,
    #[serde(rename = "invitation.accepted")]
    InvitationAccepted,
    #[serde(rename = "invitation.revoked")]
    InvitationRevoked,
    #[serde(rename = "invitation.expired")]
    InvitationExpired,
    #[serde(rename = "membership.added")]
    MembershipAdded,
    #[serde(rename = "membership.teams_changed")]
    MembershipTeamsChanged,
    #[serde(rename = "membership.ended")]
    MembershipEnded,
    #[serde(rename = "account.registered")]
    AccountRegistered,
    #[serde(rename = "account.verified")]
    AccountVerified,
    #[serde(rename = "account.deactivated")]
    AccountDeactivated,
}

impl EventType {
    /// Every event type, in the order docs/events.md lists them.
    pub const ALL: [EventType; 11] = [
        EventType::InvitationCreated,
        EventType::InvitationResent,
        EventType::InvitationAccepted,
        EventType::InvitationRevoked,
        EventType::InvitationExpired,
        EventType::MembershipAdded,
        EventType::MembershipTeamsChanged,
        EventType::MembershipEnded,
        EventType::AccountRegistered,
        EventType::AccountVerified,
        EventType::AccountDeactivated,
    ];

    /// The name on the wire (`invitation.created`), EventBridge's `detail-type`.
    pub fn name(self) -> &'static str {
        match self {
            EventType::InvitationCreated => "invitation.created",
            EventType::InvitationResent => "invitation.resent",
            EventType::InvitationAccepted => "invitation.accepted",
            EventType::InvitationRevoked => "invitation.revoked",
            EventType::InvitationExpired => "invitation.expired",
            EventType::MembershipAdded => "membership.added",
            EventType::MembershipTeamsChanged => "membership.teams_changed",
            EventType::MembershipEnded => "membership.ended",
            EventType::AccountRegistered => "account.registered",
            EventType::AccountVerified => "account.verified",
            EventType::AccountDeactivated => "account.deactivated",
        }
    }
}

/// Who caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Actor {
    /// A signed-in user (or a company key acting for its company: `user_id` is then none).
    User {
        #[serde(rename = "userId", skip_serializing_if = "Option::is_none", default)]
        user_id: Option<Id>,
    },
    /// A company's API key (the admin or app key).
    Company,
    /// An operator (`admit` on the command line, provisioning).
    Operator,
    /// admit itself (time: an invitation or temporary access that ran out).
    System,
}

impl Actor {
    pub fn user(id: Id) -> Actor {
        Actor::User { user_id: Some(id) }
    }

    /// A user when there is one, else an operator.
    pub fn user_or_operator(id: Option<Id>) -> Actor {
        id.map_or(Actor::Operator, Actor::user)
    }
}

/// Whom or what it concerns: ids, and the address for what is addressed by it (an
/// invitation, an account).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contact_id: Option<Id>,
}

/// One domain event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Made when the change is written and kept by every delivery: consumers deduplicate by it.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub version: u32,
    /// The company (site, business) it happened in; none for an account's own events.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub company_id: Option<Id>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub subject: Subject,
    /// What else the type says (docs/events.md, per type): teams, the reason, the door.
    #[serde(default)]
    pub data: Map<String, Value>,
}

impl Event {
    /// A new event with a fresh id.
    pub fn new(
        kind: EventType,
        company_id: Option<Id>,
        occurred_at: DateTime<Utc>,
        actor: Actor,
        subject: Subject,
    ) -> Event {
        Event {
            id: format!("evt_{}", crate::domain::secrets::random_hex_id()),
            kind,
            version: SCHEMA_VERSION,
            company_id,
            occurred_at,
            actor,
            subject,
            data: Map::new(),
        }
    }

    /// With `key` set to `value` in its data.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Event {
        self.data.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// With this id (a scheduled event's, made from what it is about, so that the change that
    /// cancels it can name it).
    pub fn with_id(mut self, id: String) -> Event {
        self.id = id;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_wire_names() {
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), Value::from(t.name()));
        }
    }

    #[test]
    fn an_event_round_trips_and_names_no_secret_field() {
        let e = Event::new(
            EventType::InvitationCreated,
            Id::new(1).ok(),
            chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            Actor::user(Id::new(7).unwrap()),
            Subject {
                email: Some("jo@example.com".into()),
                ..Subject::default()
            },
        )
        .with("teams", [1, 2]);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "invitation.created");
        assert_eq!(v["actor"], serde_json::json!({"type": "user", "userId": 7}));
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);
    }
}
