//! The route table: one entry per endpoint, each served by its own Lambda function. template.yaml,
//! `admit serve` and docs/api.md list exactly these routes (a test checks all three). A function
//! may serve more than one route (the accept page: `GET` shows it, `POST` submits its form).

use crate::usecases::invitations::ACCEPT_PAGE_PATH;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// The function crate and binary that serves it (`functions/<function>`).
    pub function: &'static str,
    /// The SAM logical id of the function.
    pub logical_id: &'static str,
    pub summary: &'static str,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/rest/user/login",
        function: "login_user",
        logical_id: "LoginUserFunction",
        summary: "loginUser: exchange email and password for an auth token",
    },
    Route {
        method: "POST",
        path: "/rest/user/logout",
        function: "logout_user",
        logical_id: "LogoutUserFunction",
        summary: "logoutUser: revoke the auth token in x-nextinteract-authtoken",
    },
    Route {
        method: "POST",
        path: "/rest/company/membership/teams/assign",
        function: "assign_member_to_teams",
        logical_id: "AssignMemberToTeamsFunction",
        summary: "assignMemberToTeams: add a member to teams, optionally notify them",
    },
    Route {
        method: "GET",
        path: "/rest/company/teams/public",
        function: "get_public_mi_teams",
        logical_id: "GetPublicMITeamsFunction",
        summary: "getPublicMITeams: the company's public teams",
    },
    Route {
        method: "GET",
        path: "/rest/user/notifications",
        function: "list_notifications",
        logical_id: "ListNotificationsFunction",
        summary: "Notification Centre: the caller's notifications, newest first, paged",
    },
    Route {
        method: "POST",
        path: "/rest/user/notifications/read",
        function: "mark_notifications_read",
        logical_id: "MarkNotificationsReadFunction",
        summary: "Notification Centre: mark notifications read",
    },
    Route {
        method: "POST",
        path: "/rest/user/devices",
        function: "register_device",
        logical_id: "RegisterDeviceFunction",
        summary: "Devices: register the caller's device for push (SNS platform endpoint)",
    },
    Route {
        method: "DELETE",
        path: "/rest/user/devices/{deviceId}",
        function: "remove_device",
        logical_id: "RemoveDeviceFunction",
        summary: "Devices: remove one of the caller's devices",
    },
    Route {
        method: "POST",
        path: "/rest/user/mi/selfregister",
        function: "self_register_mi_user",
        logical_id: "SelfRegisterMIUserFunction",
        summary: "selfRegisterMIUser: register from the app (versions 1 to 5, QR access codes)",
    },
    Route {
        method: "POST",
        path: "/rest/user/miinvite",
        function: "invite_mi_user",
        logical_id: "InviteMIUserFunction",
        summary: "inviteMIUser: invite a contact to the company wall and teams by email",
    },
    Route {
        method: "GET",
        path: "/rest/user/miinvite/accept",
        function: "get_mi_invitation",
        logical_id: "GetMIInvitationFunction",
        summary: "Invitations: what an invitation offers (token from the email)",
    },
    Route {
        method: "POST",
        path: "/rest/user/miinvite/accept",
        function: "accept_mi_invitation",
        logical_id: "AcceptMIInvitationFunction",
        summary: "Invitations: accept with the single-use token from the email",
    },
    Route {
        method: "GET",
        path: ACCEPT_PAGE_PATH,
        function: "accept_invitation_page",
        logical_id: "AcceptInvitationPageFunction",
        summary:
            "Invitations: the page the email links to, showing the invitation and a form (HTML)",
    },
    Route {
        method: "POST",
        path: ACCEPT_PAGE_PATH,
        function: "accept_invitation_page",
        logical_id: "AcceptInvitationPageFunction",
        summary: "Invitations: the page's form accepts the invitation and shows the outcome (HTML)",
    },
    Route {
        method: "GET",
        path: "/rest/company/membership/user",
        function: "get_member_profile",
        logical_id: "GetMemberProfileFunction",
        summary:
            "Members: a member's user, membership, contact and registration details (admin key)",
    },
    Route {
        method: "GET",
        path: "/rest/user/verify",
        function: "get_email_verification",
        logical_id: "GetEmailVerificationFunction",
        summary: "Email verification: what a verification link is for (token from the email)",
    },
    Route {
        method: "POST",
        path: "/rest/user/verify",
        function: "verify_email",
        logical_id: "VerifyEmailFunction",
        summary: "Email verification: prove control of the address with the emailed token",
    },
    Route {
        method: "POST",
        path: "/rest/user/password/reset",
        function: "request_password_reset",
        logical_id: "RequestPasswordResetFunction",
        summary: "Password reset: email a single-use reset link (same answer for any address)",
    },
    Route {
        method: "POST",
        path: "/rest/user/password/reset/confirm",
        function: "reset_password",
        logical_id: "ResetPasswordFunction",
        summary: "Password reset: set a new password with the emailed token",
    },
    Route {
        method: "POST",
        path: "/api/users/invitations",
        function: "invite_platform_users",
        logical_id: "InvitePlatformUsersFunction",
        summary: "Platform: invite addresses into the caller's business (seed 003)",
    },
    Route {
        method: "GET",
        path: "/api/businesses/{BusinessID}/settings",
        function: "get_business_settings",
        logical_id: "GetBusinessSettingsFunction",
        summary: "Platform: a business's settings (security settings for its admins, when asked)",
    },
    Route {
        method: "GET",
        path: "/api/users/me/businesses",
        function: "my_businesses",
        logical_id: "MyBusinessesFunction",
        summary: "Platform: the businesses (sites) the caller belongs to",
    },
    Route {
        method: "DELETE",
        path: "/api/users/me/businesses/{BusinessID}",
        function: "my_businesses",
        logical_id: "MyBusinessesFunction",
        summary: "Platform: leave a business (its last admin may not)",
    },
    Route {
        method: "PUT",
        path: "/api/businesses/{BusinessID}/settings",
        function: "put_business_settings",
        logical_id: "PutBusinessSettingsFunction",
        summary: "Platform: the business's admins change its settings",
    },
    Route {
        method: "GET",
        path: "/api/businesses/{BusinessID}/invitations",
        function: "list_invitations",
        logical_id: "ListInvitationsFunction",
        summary: "Invitations: the business's invitations by status, paged (admins)",
    },
    Route {
        method: "POST",
        path: "/api/businesses/{BusinessID}/invitations/resend",
        function: "resend_invitation",
        logical_id: "ResendInvitationFunction",
        summary: "Invitations: send one again with a new link (admins; 3 an hour)",
    },
    Route {
        method: "POST",
        path: "/api/businesses/{BusinessID}/invitations/revoke",
        function: "revoke_invitation",
        logical_id: "RevokeInvitationFunction",
        summary: "Invitations: revoke one; its link stops working (admins)",
    },
    Route {
        method: "POST",
        path: "/api/rest/v1/management/users/invite",
        function: "invite_site_users",
        logical_id: "InviteSiteUsersFunction",
        summary: "Site: invite a user to the caller's site, temporarily or permanently (access starts when they accept)",
    },
    Route {
        method: "POST",
        path: "/api/rest/v1/management/user/activity",
        function: "user_activity_report",
        logical_id: "UserActivityReportFunction",
        summary: "Site: the user activity report of the caller's site, newest first, paged",
    },
];

/// Path parameters taken from a request path (`{deviceId}` -> value).
pub type PathParams = Vec<(String, String)>;

/// Matches a path against a template such as `/rest/user/devices/{deviceId}`.
pub fn match_path(template: &str, path: &str) -> Option<PathParams> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (t, p) in t.iter().zip(p) {
        match t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            Some(name) if !p.is_empty() => params.push((name.to_string(), p.to_string())),
            Some(_) => return None,
            None if *t == p => {}
            None => return None,
        }
    }
    Some(params)
}

/// Finds the route for a method and path: `Ok((route, path parameters))`, `Err(true)` when the
/// path exists with other methods, `Err(false)` when it does not exist.
pub fn find(method: &str, path: &str) -> Result<(&'static Route, PathParams), bool> {
    let mut path_known = false;
    for r in ROUTES {
        if let Some(params) = match_path(r.path, path) {
            if r.method.eq_ignore_ascii_case(method) {
                return Ok((r, params));
            }
            path_known = true;
        }
    }
    Err(path_known)
}

/// The methods a path is served with (for `Allow` on a 405).
pub fn methods(path: &str) -> Vec<&'static str> {
    ROUTES
        .iter()
        .filter(|r| match_path(r.path, path).is_some())
        .map(|r| r.method)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_with_parameters() {
        assert_eq!(match_path("/a/b", "/a/b"), Some(vec![]));
        assert_eq!(match_path("/a/b", "/a/b/"), Some(vec![]));
        assert_eq!(
            match_path("/a/{id}", "/a/42"),
            Some(vec![("id".into(), "42".into())])
        );
        assert_eq!(match_path("/a/{id}", "/a/"), None);
        assert_eq!(match_path("/a/{id}", "/a/1/2"), None);
        assert_eq!(match_path("/a/b", "/a/c"), None);
    }
}
