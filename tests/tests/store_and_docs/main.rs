//! The `Store` conformance suite against both adapters, and the checks that template.yaml,
//! the route table and the docs agree: one test binary for both.

mod conformance;
mod routes_and_docs;
