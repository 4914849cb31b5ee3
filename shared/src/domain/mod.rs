//! Domain values and rules, valid by construction: ids, email addresses, names, passwords,
//! ContactJSON, secrets, the caller's origin, and the one error type every use case raises.
//! Depends on nothing else in the crate.

pub mod activity;
pub mod caller;
pub mod contact;
pub mod error;
pub mod event;
pub mod html;
pub mod secrets;
pub mod time;
pub mod values;

pub use caller::Caller;
pub use values::*;
