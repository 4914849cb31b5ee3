//! The API through the Lambda handlers, on the embedded store and on the emulator: one test
//! binary (one link of the workspace) for all of them. Each module is one endpoint family.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests: a failed step fails the test loudly, and waiting for a child process \
              blocks its test thread only"
)]

mod accept_page;
mod account_pages;
mod accounts;
mod doors;
mod events;
mod hardening;
mod idempotency;
mod isolation;
mod login;
mod mi_invite;
mod mi_register;
mod mi_teams;
mod outbox;
mod platform;
mod round_trips;
mod rules;
mod scale;
mod site;
mod takeback;
