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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    Web = 1,
    App = 2,
    Api = 3,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Web => "Web",
            Source::App => "App",
            Source::Api => "API",
        }
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
