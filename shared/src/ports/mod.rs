//! Ports: what admit needs from the outside world, each trait beside its cloud adapter and its
//! local one. `store` (DynamoDB / embedded journal), `mail` (SES / `.eml` files), `push` (SNS /
//! JSON files), `events` (EventBridge / JSON lines), `clock` (system / manual). Depends only on
//! `domain`.

pub mod clock;
pub mod events;
pub mod mail;
pub mod push;
pub mod store;
