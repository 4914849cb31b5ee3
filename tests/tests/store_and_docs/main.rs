//! The `Store` conformance suite against both adapters, and the checks that template.yaml,
//! the route table and the docs agree: one test binary for both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests: a failed step fails the test loudly, and waiting for a child process \
              blocks its test thread only"
)]

mod conformance;
mod events_doc;
mod layering;
mod openapi;
mod routes_and_docs;
mod template_policies;
