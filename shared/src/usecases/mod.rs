//! Use cases: one file per capability. Plain Rust: a validated input and an authenticated
//! principal in, a typed result or a domain error out. No request, header or status code.

pub mod accounts;
pub mod apikeys;
pub mod devices;
pub mod invite;
pub mod login;
pub mod notifications;
pub mod outbox;
pub mod provision;
pub mod register;
pub mod teams;
