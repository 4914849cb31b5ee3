//! Every Lambda function of admit, and the one table that names them.
//!
//! Each endpoint is a row of `endpoints!` below: its name (the handler module in
//! `src/handlers/` and the binary in `src/bin/`), its SAM logical id, family, routes, memory
//! and what it may touch (`grants`: its IAM policy, and the ports its cold start builds). From
//! the table come the routes `admit serve` mounts and its dispatch, each function's resource and
//! policy in template.yaml and the route table of docs/api.md (`admit generate` writes those;
//! a test fails when they differ), and each binary's `main`.
//!
//! Adding an endpoint: a row here, a handler in `src/handlers/<name>.rs`, the one-line
//! `src/bin/<name>.rs`, the use case in admit-shared, and its tests (docs/architecture.md).

pub mod endpoint;
mod handlers;
pub mod iam;
pub mod render;
#[macro_use]
mod table;

pub mod gateway;
pub use endpoint::{Auth, Endpoint, Family, PathParams, Route, Trigger, HASHING_MEMORY};
pub use iam::Grant;

/// What a binary's `main` returns (the Lambda runtime's error type).
pub type Error = lambda_http::Error;

use admit_shared::usecases::invitations::{ACCEPTED_PAGE_PATH, ACCEPT_PAGE_PATH};
use endpoint::route;
use iam::Grant::*;

endpoints! {
    http {
        login_user {
            logical_id: "LoginUserFunction",
            family: Family::NextInteract,
            auth: Auth::Public,
            description: "loginUser - POST /rest/user/login",
            routes: &[
                route("POST", "/rest/user/login", "loginUser: exchange email and password for an auth token"),
            ],
            memory: HASHING_MEMORY,
            grants: &[GetItem, QueryGsi1, PutItem, UpdateItem],
            no_replay: Some("Its answer holds a new auth token, a secret shown once and never stored; a retried login signs in again."),
        },
        logout_user {
            logical_id: "LogoutUserFunction",
            family: Family::NextInteract,
            auth: Auth::Session,
            description: "logoutUser - POST /rest/user/logout",
            routes: &[
                route("POST", "/rest/user/logout", "logoutUser: revoke the auth token in `x-nextinteract-authtoken`"),
            ],
            grants: &[Query],
        },
        assign_member_to_teams {
            logical_id: "AssignMemberToTeamsFunction",
            family: Family::NextInteract,
            auth: Auth::AdminKey,
            description: "assignMemberToTeams - POST /rest/company/membership/teams/assign",
            routes: &[
                route("POST", "/rest/company/membership/teams/assign", "assignMemberToTeams: add a member to teams, optionally notify them"),
            ],
            grants: &[BatchGetItem, Query, PutItem, UpdateItem],
        },
        get_public_mi_teams {
            logical_id: "GetPublicMITeamsFunction",
            family: Family::NextInteract,
            auth: Auth::CompanyKey,
            description: "getPublicMITeams - GET /rest/company/teams/public",
            routes: &[
                route("GET", "/rest/company/teams/public", "getPublicMITeams: the company's public teams"),
            ],
            grants: &[Query],
        },
        list_notifications {
            logical_id: "ListNotificationsFunction",
            family: Family::NextInteract,
            auth: Auth::Session,
            description: "Notification Centre - GET /rest/user/notifications",
            routes: &[
                route("GET", "/rest/user/notifications", "Notification Centre: the caller's notifications, newest first, paged"),
            ],
            grants: &[Query],
        },
        mark_notifications_read {
            logical_id: "MarkNotificationsReadFunction",
            family: Family::NextInteract,
            auth: Auth::Session,
            description: "Notification Centre - POST /rest/user/notifications/read",
            routes: &[
                route("POST", "/rest/user/notifications/read", "Notification Centre: mark notifications read"),
            ],
            grants: &[UpdateItem],
        },
        register_device {
            logical_id: "RegisterDeviceFunction",
            family: Family::NextInteract,
            auth: Auth::Session,
            description: "Devices - POST /rest/user/devices",
            routes: &[
                route("POST", "/rest/user/devices", "Devices: register the caller's device for push (SNS platform endpoint)"),
            ],
            grants: &[Query, ConditionCheckItem, SnsCreatePlatformEndpoint],
        },
        remove_device {
            logical_id: "RemoveDeviceFunction",
            family: Family::NextInteract,
            auth: Auth::Session,
            description: "Devices - DELETE /rest/user/devices/{deviceId}",
            routes: &[
                route("DELETE", "/rest/user/devices/{deviceId}", "Devices: remove one of the caller's devices"),
            ],
            grants: &[SnsDeleteEndpoint],
        },
        self_register_mi_user {
            logical_id: "SelfRegisterMIUserFunction",
            family: Family::NextInteract,
            auth: Auth::Public,
            description: "selfRegisterMIUser - POST /rest/user/mi/selfregister",
            routes: &[
                route("POST", "/rest/user/mi/selfregister", "selfRegisterMIUser: register from the app (versions 1 to 5, QR access codes)"),
            ],
            memory: HASHING_MEMORY,
            grants: &[GetItem, PutItem, UpdateItem],
        },
        invite_mi_user {
            logical_id: "InviteMIUserFunction",
            family: Family::NextInteract,
            auth: Auth::Session,
            description: "inviteMIUser - POST /rest/user/miinvite",
            routes: &[
                route("POST", "/rest/user/miinvite", "inviteMIUser: invite a contact to the company wall and teams by email"),
            ],
            grants: &[BatchGetItem, UpdateItem],
        },
        get_mi_invitation {
            logical_id: "GetMIInvitationFunction",
            family: Family::NextInteract,
            auth: Auth::Public,
            description: "Invitations - GET /rest/user/miinvite/accept",
            routes: &[
                route("GET", "/rest/user/miinvite/accept", "Invitations: what an invitation offers (token from the email)"),
            ],
            grants: &[GetItem, BatchGetItem],
        },
        accept_mi_invitation {
            logical_id: "AcceptMIInvitationFunction",
            family: Family::NextInteract,
            auth: Auth::OptionalSession,
            description: "Invitations - POST /rest/user/miinvite/accept",
            routes: &[
                route("POST", "/rest/user/miinvite/accept", "Invitations: accept with the single-use token from the email"),
            ],
            memory: HASHING_MEMORY,
            grants: &[BatchGetItem, Query, UpdateItem, ConditionCheckItem],
        },
        accept_invitation_page {
            logical_id: "AcceptInvitationPageFunction",
            family: Family::Page,
            auth: Auth::Public,
            description: "Invitations - the accept page (HTML), GET and POST /invitations/accept",
            routes: &[
                route("GET", ACCEPT_PAGE_PATH, "Invitations: the page the email links to, showing the invitation and a form (HTML)"),
                route("POST", ACCEPT_PAGE_PATH, "Invitations: the page's form accepts the invitation and redirects (303) to the result page (HTML)"),
                route("GET", ACCEPTED_PAGE_PATH, "Invitations: the result page after accepting (HTML)"),
            ],
            memory: HASHING_MEMORY,
            grants: &[GetItem, BatchGetItem, Query, QueryGsi1, PutItem, UpdateItem, DeleteItem, ConditionCheckItem],
        },
        verify_email_page {
            logical_id: "VerifyEmailPageFunction",
            family: Family::Page,
            auth: Auth::Public,
            description: "Email verification - the page (HTML), GET and POST /account/verify",
            routes: &[
                route("GET", "/account/verify", "Email verification: the page the email links to, showing the address and a form (HTML)"),
                route("POST", "/account/verify", "Email verification: the page's form confirms the address and redirects (303) to the result page (HTML)"),
                route("GET", "/account/verify/done", "Email verification: the result page after confirming (HTML)"),
            ],
            memory: HASHING_MEMORY,
            grants: &[GetItem, Query, QueryGsi1, PutItem, UpdateItem, DeleteItem],
        },
        reset_password_page {
            logical_id: "ResetPasswordPageFunction",
            family: Family::Page,
            auth: Auth::Public,
            description: "Password reset - the pages (HTML), /account/password/reset and /account/password/forgot",
            routes: &[
                route("GET", "/account/password/reset", "Password reset: the page the email links to, showing the account and a form for the new password (HTML)"),
                route("POST", "/account/password/reset", "Password reset: the page's form sets the new password and redirects (303) to the result page (HTML)"),
                route("GET", "/account/password/reset/done", "Password reset: the result page after a reset (HTML)"),
                route("GET", "/account/password/forgot", "Password reset: the page that asks for a reset link (HTML)"),
                route("POST", "/account/password/forgot", "Password reset: the page's form asks for a reset link and redirects (303) to the result page (HTML)"),
                route("GET", "/account/password/forgot/sent", "Password reset: the result page after asking (HTML)"),
            ],
            memory: HASHING_MEMORY,
            grants: &[GetItem, Query, QueryGsi1, PutItem, UpdateItem, DeleteItem],
        },
        invite_platform_users {
            logical_id: "InvitePlatformUsersFunction",
            family: Family::Platform,
            auth: Auth::PlatformSession,
            description: "Platform - POST /api/users/invitations",
            routes: &[
                route("POST", "/api/users/invitations", "Platform: invite addresses into the caller's business"),
            ],
            grants: &[BatchGetItem, UpdateItem],
        },
        get_business_settings {
            logical_id: "GetBusinessSettingsFunction",
            family: Family::Platform,
            auth: Auth::PlatformSession,
            description: "Platform - GET /api/businesses/{BusinessID}/settings",
            routes: &[
                route("GET", "/api/businesses/{BusinessID}/settings", "Platform: a business's settings (security settings for its admins, when asked)"),
            ],
            grants: &[],
        },
        my_businesses {
            logical_id: "MyBusinessesFunction",
            family: Family::Platform,
            auth: Auth::PlatformSession,
            description: "Platform - the caller's businesses, GET /api/users/me/businesses and DELETE one to leave it",
            routes: &[
                route("GET", "/api/users/me/businesses", "Platform: the businesses (sites) the caller belongs to"),
                route("DELETE", "/api/users/me/businesses/{BusinessID}", "Platform: leave a business (its last admin may not)"),
            ],
            grants: &[Query, QueryGsi2, ConditionCheckItem],
        },
        put_business_settings {
            logical_id: "PutBusinessSettingsFunction",
            family: Family::Platform,
            auth: Auth::PlatformSession,
            description: "Platform - PUT /api/businesses/{BusinessID}/settings",
            routes: &[
                route("PUT", "/api/businesses/{BusinessID}/settings", "Platform: the business's admins change its settings"),
            ],
            grants: &[UpdateItem],
        },
        list_invitations {
            logical_id: "ListInvitationsFunction",
            family: Family::Platform,
            auth: Auth::PlatformSession,
            description: "Invitations - GET /api/businesses/{BusinessID}/invitations",
            routes: &[
                route("GET", "/api/businesses/{BusinessID}/invitations", "Invitations: the business's invitations by status, paged (admins)"),
            ],
            grants: &[Query],
        },
        resend_invitation {
            logical_id: "ResendInvitationFunction",
            family: Family::Platform,
            auth: Auth::PlatformSession,
            description: "Invitations - POST /api/businesses/{BusinessID}/invitations/resend",
            routes: &[
                route("POST", "/api/businesses/{BusinessID}/invitations/resend", "Invitations: send one again with a new link (admins; 3 an hour)"),
            ],
            grants: &[UpdateItem],
        },
        revoke_invitation {
            logical_id: "RevokeInvitationFunction",
            family: Family::Platform,
            auth: Auth::PlatformSession,
            description: "Invitations - POST /api/businesses/{BusinessID}/invitations/revoke",
            routes: &[
                route("POST", "/api/businesses/{BusinessID}/invitations/revoke", "Invitations: revoke one; its link stops working (admins)"),
            ],
            grants: &[UpdateItem],
        },
        get_email_verification {
            logical_id: "GetEmailVerificationFunction",
            family: Family::NextInteract,
            auth: Auth::Public,
            description: "Email verification - GET /rest/user/verify",
            routes: &[
                route("GET", "/rest/user/verify", "Email verification: what a verification link is for (token from the email)"),
            ],
            grants: &[GetItem],
        },
        verify_email {
            logical_id: "VerifyEmailFunction",
            family: Family::NextInteract,
            auth: Auth::OptionalSession,
            description: "Email verification - POST /rest/user/verify",
            routes: &[
                route("POST", "/rest/user/verify", "Email verification: prove control of the address with the emailed token"),
            ],
            memory: HASHING_MEMORY,
            grants: &[Query, UpdateItem],
        },
        request_password_reset {
            logical_id: "RequestPasswordResetFunction",
            family: Family::NextInteract,
            auth: Auth::Public,
            description: "Password reset - POST /rest/user/password/reset",
            routes: &[
                route("POST", "/rest/user/password/reset", "Password reset: email a single-use reset link (same answer for any address)"),
            ],
            grants: &[GetItem, PutItem, UpdateItem],
        },
        reset_password {
            logical_id: "ResetPasswordFunction",
            family: Family::NextInteract,
            auth: Auth::Public,
            description: "Password reset - POST /rest/user/password/reset/confirm",
            routes: &[
                route("POST", "/rest/user/password/reset/confirm", "Password reset: set a new password with the emailed token"),
            ],
            memory: HASHING_MEMORY,
            grants: &[GetItem, Query, QueryGsi1, PutItem, UpdateItem, DeleteItem],
        },
        get_member_profile {
            logical_id: "GetMemberProfileFunction",
            family: Family::NextInteract,
            auth: Auth::AdminKey,
            description: "Members - GET /rest/company/membership/user",
            routes: &[
                route("GET", "/rest/company/membership/user", "Members: a member's user, membership, contact and registration details (admin key)"),
            ],
            grants: &[],
        },
        invite_site_users {
            logical_id: "InviteSiteUsersFunction",
            family: Family::Site,
            auth: Auth::Bearer,
            description: "Invite Users (site) - POST /api/rest/v1/management/users/invite",
            routes: &[
                route("POST", "/api/rest/v1/management/users/invite", "Site: invite a user to the caller's site, temporarily or permanently (access starts when they accept)"),
            ],
            grants: &[BatchGetItem, UpdateItem],
        },
        user_activity_report {
            logical_id: "UserActivityReportFunction",
            family: Family::Site,
            auth: Auth::Bearer,
            description: "User activity report (site) - POST /api/rest/v1/management/user/activity",
            routes: &[
                route("POST", "/api/rest/v1/management/user/activity", "Site: the user activity report of the caller's site, newest first, paged"),
            ],
            memory: 512,
            timeout: Some((29, "A report counts every index entry of its range: give it API Gateway's whole 30 seconds.")),
            grants: &[BatchGetItem, Query, QueryGsi2],
        },
    }
    event {
        dispatch_outbox {
            logical_id: "DispatchOutboxFunction",
            family: Family::Event,
            auth: Auth::Internal,
            description: "Delivers outbox emails (SES), pushes (SNS) and domain events (EventBridge) from the table's stream, and sweeps what is pending",
            trigger: Trigger::Outbox,
            timeout: Some((60, "A sweep delivers up to 100 messages, one SES or SNS call each.")),
            grants: &[GetItem, BatchGetItem, QueryGsi1, PutItem, UpdateItem, SesSendRawEmail, SnsPublish, EventsPutEvents, SqsSendToDeadLetterQueue],
        },
    }
}

/// The endpoint and route that serve a method and path, with the path's parameters:
/// `Err(true)` when the path exists with other methods, `Err(false)` when it does not exist.
pub fn find(
    method: &str,
    path: &str,
) -> Result<(&'static Endpoint, &'static Route, PathParams), bool> {
    let mut path_known = false;
    for e in ENDPOINTS {
        for r in e.routes {
            if let Some(params) = endpoint::match_path(r.path, path) {
                if r.method.eq_ignore_ascii_case(method) {
                    return Ok((e, r, params));
                }
                path_known = true;
            }
        }
    }
    Err(path_known)
}

/// The methods a path is served with (for `Allow` on a 405).
pub fn methods(path: &str) -> Vec<&'static str> {
    ENDPOINTS
        .iter()
        .flat_map(|e| e.routes)
        .filter(|r| endpoint::match_path(r.path, path).is_some())
        .map(|r| r.method)
        .collect()
}

/// An endpoint by name.
pub fn endpoint(name: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.name == name)
}

/// The files made from the table: a test compares each with its rendering (and writes it when
/// `ADMIT_GENERATE=1`, which is what `scripts/generate` does).
#[cfg(test)]
mod generated {
    use super::render::*;
    use super::ENDPOINTS;
    use std::path::PathBuf;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Compares the part of `file` between the markers with `body`; rewrites it when asked.
    fn keep(file: &str, begin: &str, end: &str, body: &str) {
        let path = root().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let Some(want) = splice(&text, begin, end, body) else {
            panic!("{file} lacks the lines `{begin}` and `{end}` around the generated part");
        };
        if want == text {
            return;
        }
        if std::env::var("ADMIT_GENERATE").as_deref() == Ok("1") {
            std::fs::write(&path, want).unwrap_or_else(|e| panic!("writing {file}: {e}"));
            return;
        }
        panic!("{file} is not what the endpoint table makes: run scripts/generate");
    }

    #[test]
    fn every_route_of_a_function_has_an_event_of_its_own() {
        for e in ENDPOINTS {
            let names: Vec<String> = e.routes.iter().map(|r| event_name(e, r)).collect();
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{}: {names:?}", e.name);
        }
        let page = super::endpoint("reset_password_page").expect("a row");
        let names: Vec<String> = page.routes.iter().map(|r| event_name(page, r)).collect();
        assert_eq!(
            names,
            [
                "Get",
                "Post",
                "GetDone",
                "GetForgot",
                "PostForgot",
                "GetSent"
            ]
        );
    }

    #[test]
    fn generated_template_functions() {
        keep(
            "template.yaml",
            TEMPLATE_BEGIN,
            TEMPLATE_END,
            &render_template_functions(ENDPOINTS),
        );
    }

    /// A row without `memory` gets the template's global size: the two say the same.
    #[test]
    fn the_default_memory_is_the_templates() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let template = std::fs::read_to_string(path).unwrap();
        let globals = &template[template.find("\nGlobals:\n").unwrap()..];
        let globals = &globals[..globals.find("\nResources:").unwrap()];
        assert!(
            globals.contains(&format!(
                "\n    MemorySize: {}\n",
                crate::endpoint::DEFAULT_MEMORY
            )),
            "template.yaml's Globals.Function.MemorySize is not DEFAULT_MEMORY ({})",
            crate::endpoint::DEFAULT_MEMORY
        );
    }

    #[test]
    fn generated_makefile_targets() {
        keep(
            "Makefile",
            MAKEFILE_BEGIN,
            MAKEFILE_END,
            &render_makefile_targets(ENDPOINTS),
        );
    }

    #[test]
    fn generated_route_settings() {
        keep(
            "template.yaml",
            ROUTE_SETTINGS_BEGIN,
            ROUTE_SETTINGS_END,
            &render_route_settings(ENDPOINTS),
        );
    }

    #[test]
    fn generated_api_routes() {
        keep(
            "docs/api.md",
            DOC_BEGIN,
            DOC_END,
            &render_routes_doc(ENDPOINTS),
        );
    }
}

#[cfg(test)]
mod handler_modules {
    use std::collections::BTreeSet;

    /// rustfmt formats what `mod` declarations outside macros reach: every row's handler is
    /// declared in `handlers/mod.rs`, which `lib.rs` declares, so `cargo fmt --check` (in the
    /// test command) covers each of them.
    #[test]
    fn every_handler_is_an_ordinary_module_rustfmt_formats() {
        let listed: BTreeSet<&str> = include_str!("handlers/mod.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
            .collect();
        let rows: BTreeSet<&str> = super::ENDPOINTS.iter().map(|e| e.name).collect();
        assert_eq!(listed, rows);
        assert!(include_str!("lib.rs")
            .lines()
            .any(|l| l.trim() == "mod handlers;"));
    }

    /// What checking a caller needs comes with the row's `auth`: no row writes it again.
    #[test]
    fn no_row_writes_its_authentication_s_grants() {
        for e in super::ENDPOINTS {
            let by_hand: Vec<_> = e
                .grants
                .iter()
                .filter(|g| e.auth.grants().contains(g))
                .collect();
            assert!(
                by_hand.is_empty(),
                "{}: {by_hand:?} come with {:?}",
                e.name,
                e.auth
            );
            assert!(e.auth.grants().iter().all(|g| e.grants(*g)), "{}", e.name);
        }
    }
}
