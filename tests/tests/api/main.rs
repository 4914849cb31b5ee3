//! The API through the Lambda handlers, on the embedded store and on the emulator: one test
//! binary (one link of the workspace) for all of them. Each module is one endpoint family.

mod accept_page;
mod accounts;
mod hardening;
mod login;
mod mi_invite;
mod mi_register;
mod mi_teams;
mod outbox;
mod platform;
mod rules;
mod site;
