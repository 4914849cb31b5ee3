//! The stage as an engineer runs it with SAM on their machine: `sam local start-api` on the
//! functions `sam build` made (scripts/sam-local), each request in SAM's Lambda container, the
//! store on an AWS emulator the containers reach. One success path of each family runs through
//! it: a login (NextInteract), a platform invitation, the site's activity report.
//!
//! Run by `./scripts/test` after `scripts/sam-local prepare`, with the emulator for the
//! containers in `ADMIT_TEST_SAM_AWS_ENDPOINT`: `cargo test -p admit --test sam_local -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests: a failed step fails the test loudly, and waiting for a child process \
              blocks its test thread only"
)]

mod cloud;

use admit_tests::http_request;
use cloud::{ses_verify, World, PASSWORD};
use serde_json::json;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `sam local start-api` in a process group of its own, interrupted when dropped (as Ctrl-C
/// would: sam removes its containers).
struct StartApi {
    child: Child,
    base: String,
}

impl Drop for StartApi {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-INT", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn start_api(endpoint: &str, table: &str, log: &Path) -> StartApi {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = std::fs::File::create(log).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let child = Command::new(root.join("scripts/sam-local"))
        .args([
            "start-api",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(["--warm-containers", "LAZY"])
        .env("ADMIT_SAM_PREPARED", "1")
        .env("ADMIT_SAM_AWS_ENDPOINT", endpoint)
        .env("ADMIT_SAM_TABLE", table)
        .env("ADMIT_SAM_MAIL_FROM", "no-reply@admit.example")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .process_group(0)
        .spawn()
        .expect("start scripts/sam-local start-api");
    let mut api = StartApi {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            api.child.try_wait().unwrap().is_none(),
            "sam local start-api exited:\n{}",
            log()
        );
        assert!(
            Instant::now() < deadline,
            "sam local start-api did not listen:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    api.base = format!("http://{addr}");
    api
}

#[test]
#[ignore = "needs Docker, SAM and the built functions: run by ./scripts/test"]
fn one_success_path_of_each_family_through_sam_local_start_api() {
    let endpoint = std::env::var("ADMIT_TEST_SAM_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!("ADMIT_TEST_SAM_AWS_ENDPOINT is not set: run ./scripts/test, which prepares sam local and an emulator its containers reach")
    });
    let world = World::new(&endpoint, "sam");
    ses_verify(&endpoint, "no-reply@admit.example");
    let log = admit_tests::temp_dir("sam-local").join("start-api.log");
    let api = start_api(&endpoint, &world.table, &log);
    let url = |p: &str| format!("{}{p}", api.base);
    let show = || std::fs::read_to_string(&log).unwrap_or_default();
    let json = [("content-type", "application/json")];

    let body = json!({"emailAddress": world.admin, "password": PASSWORD}).to_string();
    let (status, session) = http_request(&url("/rest/user/login"), "POST", &json, Some(&body));
    assert_eq!(status, 200, "{session}\n{}", show());
    let bearer = format!(
        "Bearer {}",
        session["authToken"].as_str().expect("authToken")
    );
    let auth = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];

    let invitee = format!("invitee-{}@lambda.example", world.id);
    let body = json!({"EmailAddresses": [invitee], "Message": "Join us through SAM"}).to_string();
    let (status, invited) =
        http_request(&url("/api/users/invitations"), "POST", &auth, Some(&body));
    assert_eq!(
        (status, invited.clone()),
        (200, json!([invitee])),
        "{}",
        show()
    );

    let body = json!({"userIds": [], "dateFrom": "2020-01-01T00:00:00.000Z", "dateTo": "2100-01-01T00:00:00.000Z", "activity": 1}).to_string();
    let (status, report) = http_request(
        &url("/api/rest/v1/management/user/activity"),
        "POST",
        &auth,
        Some(&body),
    );
    assert_eq!(status, 200, "{report}\n{}", show());
    assert_eq!(
        report["rows"][0]["userName"],
        json!(world.admin),
        "{report}"
    );
}
