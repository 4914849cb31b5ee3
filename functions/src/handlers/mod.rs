//! Each endpoint's handler, a module per row of the endpoint table (`crate::endpoints!` in
//! `lib.rs` wires each into its function; a row without its module here does not compile).
//! Declared here, outside the macro, so that rustfmt formats them and an editor finds them.

pub mod accept_invitation_page;
pub mod accept_mi_invitation;
pub mod assign_member_to_teams;
pub mod dispatch_outbox;
pub mod get_business_settings;
pub mod get_email_verification;
pub mod get_member_profile;
pub mod get_mi_invitation;
pub mod get_public_mi_teams;
pub mod invite_mi_user;
pub mod invite_platform_users;
pub mod invite_site_users;
pub mod list_invitations;
pub mod list_notifications;
pub mod login_user;
pub mod logout_user;
pub mod mark_notifications_read;
pub mod my_businesses;
pub mod put_business_settings;
pub mod register_device;
pub mod remove_device;
pub mod request_password_reset;
pub mod resend_invitation;
pub mod reset_password;
pub mod reset_password_page;
pub mod revoke_invitation;
pub mod self_register_mi_user;
pub mod user_activity_report;
pub mod verify_email;
pub mod verify_email_page;
