//! The terms of a site's access that an invite grants: how long, and in which groups, given the
//! membership it finds. Pure rules on the membership as read, shared by the site's Invite Users
//! (a live member's access extended at once) and by accepting the invitation it sends.

use crate::domain::error::DomainError;
use crate::domain::Id;
use crate::records::{Membership, Status};
use crate::usecases::distinct;
use chrono::{DateTime, Duration, Utc};

/// What an invite does to the membership it finds.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub teams: Vec<Id>,
    /// The end of access; `None`: permanent.
    pub end: Option<DateTime<Utc>>,
    /// A recorded end that has not come and no longer will.
    pub cancel: Option<DateTime<Utc>>,
    /// The end to record.
    pub record: Option<DateTime<Utc>>,
}

/// Decides the access an invite grants, given the user's membership as read (`seen`). An
/// ended membership starts afresh; a live one keeps its groups and never loses time.
pub fn plan(
    seen: Option<&Membership>,
    days: Option<u32>,
    groups: &[Id],
    now: DateTime<Utc>,
) -> Result<Plan, DomainError> {
    let asked = days.map(|d| now + Duration::days(d.into()));
    if let Some(m) = seen.filter(|m| m.status == Status::Inactive) {
        return Err(DomainError::invalid(format!(
            "user {}'s access to this site was deactivated; an invite does not restore it",
            m.user_id
        )));
    }
    let Some(m) = seen.filter(|m| !m.has_expired_at(now)) else {
        return Ok(Plan {
            teams: groups.to_vec(),
            end: asked,
            cancel: None,
            record: asked,
        });
    };
    let end = match (m.expires_at, asked) {
        (None, Some(_)) if m.status == Status::Active => {
            return Err(DomainError::invalid(format!(
                "user {} already has permanent access to this site; an invite never shortens access",
                m.user_id
            )))
        }
        (_, None) => None,
        (None, Some(a)) => Some(a),
        (Some(current), Some(a)) => Some(current.max(a)),
    };
    Ok(Plan {
        teams: distinct(m.teams.iter().chain(groups).copied()),
        end,
        cancel: m.expires_at.filter(|e| Some(*e) != end),
        record: end.filter(|e| m.expires_at != Some(*e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invite_extends_or_makes_permanent_and_never_shortens() {
        let now = crate::domain::time::fixed_instant();
        let id = Id::new(1).unwrap();
        let g = |n| Id::new(n).unwrap();
        let fresh = plan(None, Some(10), &[g(2)], now).unwrap();
        assert_eq!(fresh.end, Some(now + Duration::days(10)));
        assert_eq!((fresh.cancel, fresh.record), (None, fresh.end));
        let mut temp = Membership::new_member(id, id, vec![g(3)], now);
        temp.expires_at = Some(now + Duration::days(5));
        let longer = plan(Some(&temp), Some(10), &[g(2)], now).unwrap();
        assert_eq!(longer.teams, vec![g(3), g(2)]);
        assert_eq!(longer.cancel, temp.expires_at);
        assert_eq!(longer.record, Some(now + Duration::days(10)));
        let shorter = plan(Some(&temp), Some(1), &[], now).unwrap();
        assert_eq!(
            (shorter.end, shorter.cancel, shorter.record),
            (temp.expires_at, None, None)
        );
        let permanent = plan(Some(&temp), None, &[], now).unwrap();
        assert_eq!((permanent.end, permanent.cancel), (None, temp.expires_at));
        let later = now + Duration::days(6);
        let again = plan(Some(&temp), Some(1), &[g(2)], later).unwrap();
        assert_eq!(again.teams, vec![g(2)], "an ended membership starts afresh");
        assert_eq!(again.cancel, None, "an end that came stays recorded");
        let forever = Membership::new_member(id, id, vec![], now);
        assert!(plan(Some(&forever), Some(3), &[], now).is_err());
        let mut off = forever.clone();
        off.status = Status::Inactive;
        assert!(plan(Some(&off), None, &[], now).is_err());
    }
}
