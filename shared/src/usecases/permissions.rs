//! Who may grant what: the one set of rules every door that invites applies (inviteMIUser,
//! the platform's `POST /api/users/invitations`, the site family's Invite Users, resend and
//! revoke). An invitation never grants more than its sender holds:
//!
//! - a sender needs an active membership of the company; one whose own access is temporary
//!   invites nobody (what they would hand out would outlast what they hold);
//! - reps and admins invite to any team of the company; a plain member only while the
//!   company's `usersMayInvite` is on, and only to public teams and teams they are in;
//! - only reps and admins replace a pending invitation or undo a revocation;
//! - an address is not emailed again within `QUIET_MINUTES` of its last invitation, nor more
//!   than `SENDS_PER_HOUR` times in an hour (besides the hourly limits of `usecases::limits`).

use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::Id;
use crate::records::invitation::{Invitation, InvitationStatus};
use crate::records::{Membership, Role, Settings, Team};
use chrono::{DateTime, Duration, Utc};

/// An address is not emailed again within this many minutes of its last invitation.
pub const QUIET_MINUTES: i64 = 10;
/// Sends (invites and resends) of one invitation in an hour.
pub const SENDS_PER_HOUR: usize = 3;

/// Whether a role holds the vendor's inviting powers (any team, replacing, undoing revocations).
pub fn privileged(role: Role) -> bool {
    matches!(role, Role::Rep | Role::Admin)
}

/// Checks `sender` (their membership of the company, active at `now`) may invite at all.
pub fn may_invite(
    sender: &Membership,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if !sender.is_active_at(now) {
        return Err(DomainError::new(
            ErrorKind::NotPermitted,
            "only active members of the company may invite",
        ));
    }
    if sender.expires_at.is_some() {
        return Err(DomainError::new(
            ErrorKind::NotPermitted,
            "your own access to this company is temporary: you may not invite anyone",
        ));
    }
    if !privileged(sender.role) && !settings.users_may_invite.unwrap_or(true) {
        return Err(DomainError::new(
            ErrorKind::InvitingDisabled,
            "this company lets only its reps and admins invite",
        ));
    }
    Ok(())
}

/// Checks every team asked for is one of `found` (the company's teams among those asked) and
/// one `sender` may grant. A plain member gets the same answer for a private team they are not
/// in as for a team that does not exist: private teams are not theirs to see.
pub fn may_grant_teams(
    sender: &Membership,
    asked: &[Id],
    found: &[Team],
    not_grantable: impl Fn(Id) -> DomainError,
) -> Result<(), DomainError> {
    for t in asked {
        let team = found.iter().find(|f| f.team_id == *t);
        let grantable = match team {
            None => false,
            Some(_) if privileged(sender.role) => true,
            Some(team) => team.public || sender.teams.contains(t),
        };
        if !grantable {
            return Err(not_grantable(*t));
        }
    }
    Ok(())
}

/// What a new invitation of an address does to the invitation it already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Left as it is: an admin or rep revoked it, and only they may undo that.
    Revoked,
    /// Left as it is: it is pending, and another person chose its teams and link (only reps
    /// and admins replace a pending invitation).
    NotYours,
    /// Left as it is: it went out less than `QUIET_MINUTES` ago, or `SENDS_PER_HOUR` times this
    /// hour; the seconds until it may be sent again.
    Quiet(u64),
    /// Replaced by the new invitation (new link, new expiry; the history goes on).
    Replaced,
}

/// Decides what a new invitation by a sender (`privileged` or not) does to `previous`.
pub fn decide(previous: &Invitation, privileged: bool, now: DateTime<Utc>) -> Existing {
    match previous.status_at(now) {
        InvitationStatus::Revoked if !privileged => Existing::Revoked,
        InvitationStatus::Pending if !privileged => Existing::NotYours,
        InvitationStatus::Pending => match quiet_for(previous, now) {
            Some(secs) => Existing::Quiet(secs),
            None => Existing::Replaced,
        },
        _ => Existing::Replaced,
    }
}

/// How long `inv` must wait before another send, if it must: `QUIET_MINUTES` after its last
/// send, and until the oldest send of the last hour leaves the hour once it has had
/// `SENDS_PER_HOUR`.
pub fn quiet_for(inv: &Invitation, now: DateTime<Utc>) -> Option<u64> {
    wait_for(inv, now, true)
}

/// `quiet_for`, with or without the `QUIET_MINUTES` after the last send (a correction waits
/// only for the hour's `SENDS_PER_HOUR`).
fn wait_for(inv: &Invitation, now: DateTime<Utc>, quiet_after_send: bool) -> Option<u64> {
    let sends: Vec<DateTime<Utc>> = inv
        .history
        .iter()
        .filter(|e| e.event == "invited" || e.event == "resent")
        .map(|e| e.at)
        .filter(|at| *at > now - Duration::hours(1))
        .collect();
    let quiet = sends
        .iter()
        .max()
        .map(|last| *last + Duration::minutes(QUIET_MINUTES))
        .filter(|until| quiet_after_send && *until > now);
    let full = (sends.len() >= SENDS_PER_HOUR)
        .then(|| sends.iter().min().map(|first| *first + Duration::hours(1)))
        .flatten();
    [quiet, full].into_iter().flatten().max().map(|until| {
        ((until - now).num_milliseconds() + 999)
            .div_euclid(1000)
            .max(1) as u64
    })
}

/// Checks that a new invitation by a sender (`privileged` or not) may take the place of the
/// address's earlier one, if any: the refusal a door that invites one address answers.
/// A `correction` (a rep or admin changing what a pending invitation offers: its teams or its
/// terms) is not held to the 10 minutes after the invitation's last send: it replaces the
/// invitation and emails again, within `SENDS_PER_HOUR` sends of the invitation an hour and the
/// recipient's hourly limit, which the door charges.
pub fn may_replace(
    previous: Option<&Invitation>,
    privileged: bool,
    correction: bool,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if let Some(p) = previous.filter(|_| privileged && correction) {
        return match wait_for(p, now, false) {
            Some(secs) => Err(
                refusal(Existing::Quiet(secs), p.email.as_str()).unwrap_or_else(|| {
                    DomainError::new(ErrorKind::TooManyRequests, "try again later")
                }),
            ),
            None => Ok(()),
        };
    }
    match previous {
        Some(p) => match refusal(decide(p, privileged, now), p.email.as_str()) {
            Some(refused) => Err(refused),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// Whether a new invitation changes what the pending `previous` offers: other teams, or other
/// terms of access (days of temporary access, or permanent instead).
pub fn corrects(
    previous: Option<&Invitation>,
    teams: &[Id],
    access_days: Option<u32>,
    now: DateTime<Utc>,
) -> bool {
    let Some(p) = previous.filter(|p| p.status_at(now) == InvitationStatus::Pending) else {
        return false;
    };
    let sorted = |t: &[Id]| {
        let mut t = t.to_vec();
        t.sort();
        t.dedup();
        t
    };
    sorted(&p.teams) != sorted(teams) || p.access_days != access_days
}

/// The refusal a door that invites one address gives for an existing invitation it leaves as
/// it is.
pub fn refusal(existing: Existing, email: &str) -> Option<DomainError> {
    match existing {
        Existing::Replaced => None,
        Existing::Revoked => Some(DomainError::new(
            ErrorKind::NotPermitted,
            format!(
                "the invitation of {email} was revoked: only a rep or admin may invite it again"
            ),
        )),
        Existing::NotYours => Some(DomainError::new(
            ErrorKind::NotPermitted,
            format!("{email} already has a pending invitation: only a rep or admin may replace it"),
        )),
        Existing::Quiet(secs) => Some(
            DomainError::new(
                ErrorKind::TooManyRequests,
                format!("{email} was sent an invitation a short while ago; try again later"),
            )
            .with_retry_after(secs),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EmailAddress;
    use crate::records::invitation::InvitationEvent;

    fn id(n: u64) -> Id {
        Id::new(n).unwrap()
    }

    fn team(n: u64, public: bool) -> Team {
        Team {
            company_id: id(1),
            team_id: id(n),
            team_name: format!("T{n}"),
            public,
            created_at: crate::domain::time::fixed_instant(),
        }
    }

    fn member(role: Role, teams: &[u64]) -> Membership {
        let mut m = Membership::new_member(
            id(1),
            id(2),
            teams.iter().map(|t| id(*t)).collect(),
            crate::domain::time::fixed_instant(),
        );
        m.role = role;
        m
    }

    #[test]
    fn a_plain_member_grants_public_teams_and_their_own_only() {
        let found = [team(10, true), team(11, false), team(12, false)];
        let refuse = |t: Id| DomainError::invalid(format!("team {t}"));
        let plain = member(Role::Member, &[12]);
        assert!(may_grant_teams(&plain, &[id(10), id(12)], &found, refuse).is_ok());
        let e = may_grant_teams(&plain, &[id(11)], &found, refuse).unwrap_err();
        let unknown = may_grant_teams(&plain, &[id(99)], &found, refuse).unwrap_err();
        assert_eq!(
            (e.kind, e.message.replace("11", "N")),
            (unknown.kind, unknown.message.replace("99", "N")),
            "a private team answers like one that does not exist"
        );
        for role in [Role::Rep, Role::Admin] {
            assert!(may_grant_teams(&member(role, &[]), &[id(11)], &found, refuse).is_ok());
            assert!(may_grant_teams(&member(role, &[]), &[id(99)], &found, refuse).is_err());
        }
    }

    #[test]
    fn temporary_access_invites_nobody_and_members_need_the_setting() {
        let now = crate::domain::time::fixed_instant();
        let on = Settings::default();
        let off = Settings {
            users_may_invite: Some(false),
            ..Settings::default()
        };
        for role in [Role::Member, Role::Rep, Role::Admin] {
            let mut m = member(role, &[]);
            assert!(may_invite(&m, &on, now).is_ok());
            m.expires_at = Some(now + Duration::days(3));
            assert_eq!(
                may_invite(&m, &on, now).unwrap_err().kind,
                ErrorKind::NotPermitted
            );
        }
        assert_eq!(
            may_invite(&member(Role::Member, &[]), &off, now)
                .unwrap_err()
                .kind,
            ErrorKind::InvitingDisabled
        );
        assert!(may_invite(&member(Role::Rep, &[]), &off, now).is_ok());
    }

    #[test]
    fn only_reps_and_admins_replace_or_undo_and_sends_are_spaced() {
        let now = crate::domain::time::fixed_instant();
        let sent = |mins_ago: &[i64], status| Invitation {
            company_id: id(1),
            email: EmailAddress::parse("a@b.co").unwrap(),
            contact_id: None,
            teams: vec![],
            invited_by: id(2),
            status,
            created_at: now - Duration::days(1),
            expires_at: now + Duration::days(6),
            token_hash: None,
            accepted_at: None,
            message: None,
            history: mins_ago
                .iter()
                .map(|m| InvitationEvent {
                    at: now - Duration::minutes(*m),
                    event: "invited".into(),
                    by: None,
                })
                .collect(),
            history_dropped: 0,
            access_days: None,
            via_site: false,
        };
        let old = sent(&[300], InvitationStatus::Pending);
        assert_eq!(decide(&old, false, now), Existing::NotYours);
        assert_eq!(decide(&old, true, now), Existing::Replaced);
        let revoked = sent(&[300], InvitationStatus::Revoked);
        assert_eq!(decide(&revoked, false, now), Existing::Revoked);
        assert_eq!(decide(&revoked, true, now), Existing::Replaced);
        assert_eq!(
            decide(&sent(&[4], InvitationStatus::Pending), true, now),
            Existing::Quiet(6 * 60)
        );
        assert_eq!(
            decide(&sent(&[50, 30, 15], InvitationStatus::Pending), true, now),
            Existing::Quiet(10 * 60),
            "three sends this hour: wait until the first leaves the hour"
        );
        let accepted = sent(&[1], InvitationStatus::Accepted);
        assert_eq!(decide(&accepted, false, now), Existing::Replaced);
    }
}
