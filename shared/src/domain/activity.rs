//! The activity log's vocabulary: what happened (`ActivityType`) and through which door
//! (`Source`). The items themselves are `records::activity`.

use super::Caller;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivityType {
    LoginSuccessful = 1,
    LoginFailed = 2,
    Logout = 3,
    SessionExpired = 4,
    AccountLocked = 5,
    Registered = 6,
    InvitationAccepted = 7,
    PasswordReset = 8,
    EmailVerified = 9,
    InvitationSent = 10,
    InvitationRevoked = 11,
    TeamsAssigned = 12,
    SiteAccessGranted = 13,
    SiteAccessExpired = 14,
    SiteLeft = 15,
}

impl ActivityType {
    pub fn label(self) -> &'static str {
        match self {
            ActivityType::LoginSuccessful => "Login Successful",
            ActivityType::LoginFailed => "Login Failed",
            ActivityType::Logout => "Logout",
            ActivityType::SessionExpired => "SessionExpired",
            ActivityType::AccountLocked => "Account Locked",
            ActivityType::Registered => "Registered",
            ActivityType::InvitationAccepted => "Invitation Accepted",
            ActivityType::PasswordReset => "Password Reset",
            ActivityType::EmailVerified => "Email Verified",
            ActivityType::InvitationSent => "Invitation Sent",
            ActivityType::InvitationRevoked => "Invitation Revoked",
            ActivityType::TeamsAssigned => "Teams Assigned",
            ActivityType::SiteAccessGranted => "Site Access Granted",
            ActivityType::SiteAccessExpired => "Site Access Expired",
            ActivityType::SiteLeft => "Site Left",
        }
    }

    /// Every type, by id.
    pub const ALL: [ActivityType; 15] = [
        ActivityType::LoginSuccessful,
        ActivityType::LoginFailed,
        ActivityType::Logout,
        ActivityType::SessionExpired,
        ActivityType::AccountLocked,
        ActivityType::Registered,
        ActivityType::InvitationAccepted,
        ActivityType::PasswordReset,
        ActivityType::EmailVerified,
        ActivityType::InvitationSent,
        ActivityType::InvitationRevoked,
        ActivityType::TeamsAssigned,
        ActivityType::SiteAccessGranted,
        ActivityType::SiteAccessExpired,
        ActivityType::SiteLeft,
    ];

    pub fn id(self) -> u8 {
        self as u8
    }

    pub fn from_id(id: u64) -> Option<ActivityType> {
        Self::ALL.into_iter().find(|t| u64::from(t.id()) == id)
    }

    /// Whether the event concerns the account, whichever site it is used in (a login), rather
    /// than one site (an invitation, a team assignment, site access).
    pub fn is_account_wide(self) -> bool {
        matches!(
            self,
            ActivityType::LoginSuccessful
                | ActivityType::LoginFailed
                | ActivityType::Logout
                | ActivityType::SessionExpired
                | ActivityType::AccountLocked
                | ActivityType::PasswordReset
                | ActivityType::EmailVerified
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    Web = 1,
    App = 2,
    Api = 3,
    /// admit itself, not a request: temporary site access coming to its end.
    System = 4,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Web => "Web",
            Source::App => "App",
            Source::Api => "API",
            Source::System => "System",
        }
    }

    pub const ALL: [Source; 4] = [Source::Web, Source::App, Source::Api, Source::System];

    pub fn id(self) -> u8 {
        self as u8
    }

    pub fn from_id(id: u64) -> Option<Source> {
        Self::ALL.into_iter().find(|s| u64::from(s.id()) == id)
    }

    /// An app key in the request means the mobile app; a browser's user agent, the web;
    /// anything else is an API client.
    pub fn of(caller: &Caller, with_app_key: bool) -> Source {
        if with_app_key {
            Source::App
        } else if caller
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("Mozilla/"))
        {
            Source::Web
        } else {
            Source::Api
        }
    }
}

/// An IP address as the activity report shows it: an IPv4 address (or an IPv4-mapped IPv6
/// one) as the 32-bit number `a·2^24 + b·2^16 + c·2^8 + d`; `None` for anything else.
pub fn ipv4_number(ip: &str) -> Option<u32> {
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => Some(u32::from(v4)),
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(u32::from),
    }
}

/// The table of activity types and sources, as published in docs/api.md.
pub fn markdown_table() -> String {
    let mut out = String::from("| activityTypeId | activityType |\n|---|---|\n");
    for t in ActivityType::ALL {
        out.push_str(&format!("| {} | {} |\n", t.id(), t.label()));
    }
    out.push_str("\n| sourceTypeId | sourceType |\n|---|---|\n");
    for s in Source::ALL {
        out.push_str(&format!("| {} | {} |\n", s.id(), s.label()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_seed_and_are_unique() {
        assert_eq!(ActivityType::LoginSuccessful.id(), 1);
        assert_eq!(ActivityType::LoginSuccessful.label(), "Login Successful");
        assert_eq!(ActivityType::SessionExpired.id(), 4);
        assert_eq!(ActivityType::SessionExpired.label(), "SessionExpired");
        assert_eq!(Source::Web.id(), 1);
        assert_eq!(Source::Web.label(), "Web");
        for (i, t) in ActivityType::ALL.iter().enumerate() {
            assert_eq!(usize::from(t.id()), i + 1);
            assert_eq!(ActivityType::from_id(u64::from(t.id())), Some(*t));
        }
        for (i, s) in Source::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.id()), i + 1);
            assert_eq!(Source::from_id(u64::from(s.id())), Some(*s));
        }
        assert_eq!(ActivityType::from_id(0), None);
        assert_eq!(ActivityType::from_id(16), None);
        assert_eq!(Source::from_id(5), None);
    }

    #[test]
    fn ip_addresses_in_the_seed_s_integer_form() {
        assert_eq!(ipv4_number("10.255.241.240"), Some(184_545_776));
        assert_eq!(ipv4_number("203.0.113.7"), Some(3_405_803_783));
        assert_eq!(ipv4_number("::ffff:10.255.241.240"), Some(184_545_776));
        assert_eq!(ipv4_number("2001:db8::1"), None);
        assert_eq!(ipv4_number("not an address"), None);
    }

    #[test]
    fn docs_api_md_has_the_table() {
        let doc = include_str!("../../../docs/api.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/api.md's activity table is out of date; paste this:\n{}",
            markdown_table()
        );
    }
}
