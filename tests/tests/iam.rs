//! Every grant of the endpoint table is used: the API tests, run with `ADMIT_IAM_RECORD` set,
//! record each (function, grant) their handlers used (see `admit_tests::iam`); this reads the
//! records and fails on a grant no test used, so a policy grants only what its function does.
//! `scripts/test` runs it after the API tests; on its own it has nothing to read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests: a failed step fails the test loudly, and waiting for a child process \
              blocks its test thread only"
)]

use admit_functions::ENDPOINTS;
use std::collections::BTreeSet;

#[test]
#[ignore = "reads the API tests' records: scripts/test runs it after them"]
fn every_grant_is_used_by_its_function() {
    let dir = std::env::var(admit_tests::iam::RECORD_DIR)
        .expect("ADMIT_IAM_RECORD names the directory the API tests recorded to");
    let mut used = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("the records directory") {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some((function, grant)) = line.split_once(' ') {
                used.insert((function.to_string(), grant.to_string()));
            }
        }
    }
    assert!(
        !used.is_empty(),
        "no records in {dir}: run the API tests first"
    );
    let mut unused = Vec::new();
    for e in ENDPOINTS {
        for g in e.all_grants().iter().filter(|g| g.observable()) {
            if !used.contains(&(e.name.to_string(), format!("{g:?}"))) {
                unused.push(format!("{} {g:?} ({})", e.name, g.action()));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "grants no test used; take them out of the endpoint table (functions/src/lib.rs) and \
         run scripts/generate, or test the path that needs them:\n  {}",
        unused.join("\n  ")
    );
}
