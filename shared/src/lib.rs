//! The crate every admit endpoint shares: domain types and validation, the error registry,
//! auth, the ports (`Store`, `Mailer`, `Pusher`, `Clock`, `Ids`) and their adapters, and the
//! use cases the endpoints call.

pub mod activity;
pub mod apikeys;
pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod login;
pub mod mail;
pub mod outbox;
pub mod provision;
pub mod push;
pub mod records;
pub mod routes;
pub mod secrets;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use lambda_http;
