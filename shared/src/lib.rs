//! The crate every admit endpoint shares, in layers (docs/architecture.md draws them):
//! `http` (the edge) -> `usecases` -> `records` (typed storage) -> `ports` (store, mail, push,
//! clock, with their adapters) -> `domain` (values, rules, the one error type). `app` and
//! `config` wire the ports once per cold start; `telemetry` sets up logs.

pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod ports;
pub mod records;
pub mod telemetry;
pub mod usecases;

pub use app::{App, PortSet};
