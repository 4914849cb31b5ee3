//! End to end: the real `admit` binary, `admit serve` on a free port, driven over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests: a failed step fails the test loudly, and waiting for a child process \
              blocks its test thread only"
)]

mod browser;
mod cloud;
mod races;
mod rules;
mod secrets;

use admit_tests::{http_request, temp_dir};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    base: String,
    banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &std::path::Path) -> Server {
    serve_logging_to(dir, Stdio::null())
}

fn serve_logging_to(dir: &std::path::Path, stderr: Stdio) -> Server {
    serve_with(dir, stderr, &[])
}

/// `admit serve` on a free loopback port with extra environment variables.
fn serve_with(dir: &std::path::Path, stderr: Stdio, env: &[(&str, &str)]) -> Server {
    serve_command(dir, stderr, env, &[])
}

/// `admit serve` on a free loopback port with extra arguments.
fn serve_with_args(dir: &std::path::Path, stderr: Stdio, args: &[&str]) -> Server {
    serve_command(dir, stderr, &[], args)
}

fn serve_command(
    dir: &std::path::Path,
    stderr: Stdio,
    env: &[(&str, &str)],
    args: &[&str],
) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_admit"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start admit serve");
    let mut banner = String::new();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("admit serve exited early")
            .expect("line");
        banner.push_str(&line);
        banner.push('\n');
        if let Some(url) = line.strip_prefix("admit listening on ") {
            break url.to_string();
        }
    };
    Server {
        child,
        base,
        banner,
    }
}

/// Runs `admit` and returns its exit status, its stdout as JSON (or null) and its stderr.
fn admit(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_admit"))
        .args(args)
        .output()
        .expect("run admit");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const DEMO_LOGIN: &str = r#"{"emailAddress":"demo@admit.example","password":"demo-pass-2026"}"#;

#[test]
fn the_printed_curl_line_logs_the_demo_user_in() {
    let dir = temp_dir("e2e");
    let s = serve(&dir);
    assert!(s.banner.contains("admin API key:"), "{}", s.banner);
    assert!(s.banner.contains(DEMO_LOGIN), "{}", s.banner);
    let json_ct = [("Content-Type", "application/json")];
    let login_url = format!("{}/rest/user/login", s.base);
    let logout_url = format!("{}/rest/user/logout", s.base);
    let (status, body) = http_request(&login_url, "POST", &json_ct, Some(DEMO_LOGIN));
    assert_eq!(status, 200, "{body}");
    let token = body["authToken"].as_str().expect("token").to_string();
    let auth = [("x-nextinteract-authtoken", token.as_str())];
    let (status, body) = http_request(&logout_url, "POST", &auth, None);
    assert_eq!(
        (status, body),
        (200, json!({"errorCode": 0, "errorMsg": "User logged out."}))
    );
    let expect = |got: (u16, Value), status: u16, exception: &str| {
        assert_eq!(got.0, status, "{}", got.1);
        assert_eq!(got.1["exception"], json!(exception), "{}", got.1);
    };
    expect(
        http_request(&logout_url, "POST", &auth, None),
        401,
        "WSInvalidAuthTokenException",
    );
    expect(
        http_request(&format!("{}/rest/nothing", s.base), "POST", &[], None),
        404,
        "WSNotFoundException",
    );
    expect(
        http_request(&login_url, "GET", &[], None),
        405,
        "WSMethodNotAllowedException",
    );
    // RFC 9110: a 405 names the methods the path has.
    let head = raw_head(&login_url, "GET");
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("\r\nallow: post\r\n"),
        "{head}"
    );
    expect(
        http_request(&login_url, "POST", &json_ct, Some("{\"emailAddress\":")),
        400,
        "WSInvalidParameterException",
    );
    let big = "x".repeat(200_000);
    expect(
        http_request(&login_url, "POST", &json_ct, Some(&big)),
        413,
        "WSRequestTooLargeException",
    );
    drop(s);

    // A restart keeps the data and does not provision the demo twice.
    let s = serve(&dir);
    assert!(!s.banner.contains("admin API key:"), "{}", s.banner);
    assert!(s.banner.contains(DEMO_LOGIN), "{}", s.banner);
    assert!(
        s.banner.contains("(user 1, admin of company 1)"),
        "{}",
        s.banner
    );
    let login_url = format!("{}/rest/user/login", s.base);
    assert_eq!(
        http_request(&login_url, "POST", &json_ct, Some(DEMO_LOGIN)).0,
        200
    );
    drop(s);
    // No raw token or password in the data directory.
    let journal = std::fs::read_to_string(dir.join("store/store.journal")).expect("journal");
    assert!(!journal.contains(&token));
    assert!(!journal.contains("demo-pass-2026"));
}

#[test]
fn operator_commands_print_json_and_refuse_bad_input_with_status_2() {
    let dir = temp_dir("ops");
    let d = dir.to_str().expect("utf-8 path");
    let (code, company, _) = admit(&["company", "create", "--name", "Acme", "--data-dir", d]);
    assert_eq!(code, 0);
    assert_eq!(company["name"], json!("Acme"));
    let id = company["companyId"].to_string();
    let (code, team, _) = admit(&[
        "team",
        "create",
        "--company",
        &id,
        "--name",
        "Equity Investments",
        "--public",
        "--data-dir",
        d,
    ]);
    assert_eq!(
        (code, team["teamName"].clone(), team["public"].clone()),
        (0, json!("Equity Investments"), json!(true))
    );
    let (code, key, _) = admit(&[
        "apikey",
        "create",
        "--company",
        &id,
        "--type",
        "admin",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0);
    let secret = key["apiKey"].as_str().expect("key").to_string();
    assert_eq!(secret.len(), 36);
    let (code, user, _) = admit(&[
        "user",
        "create",
        "--email",
        "Rep@Acme.com",
        "--password",
        "Rep-pass-2026",
        "--first",
        "Rita",
        "--last",
        "Rep",
        "--company",
        &id,
        "--role",
        "rep",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0);
    assert_eq!(user["email"], json!("rep@acme.com"));
    assert!(user.get("passwordHash").is_none());
    let (code, qr, _) = admit(&[
        "qr",
        "create",
        "--company",
        &id,
        "--code",
        "WALL1",
        "--data-dir",
        d,
    ]);
    assert_eq!((code, qr["code"].clone()), (0, json!("WALL1")));
    let (code, s, _) = admit(&[
        "settings",
        "set",
        "--company",
        &id,
        "usersMayInvite",
        "true",
        "--data-dir",
        d,
    ]);
    assert_eq!((code, s["value"].clone()), (0, json!(true)));

    let journal = std::fs::read_to_string(dir.join("store/store.journal")).expect("journal");
    assert!(!journal.contains(&secret), "API keys are stored hashed");
    assert!(!journal.contains("Rep-pass-2026"));

    let bad: Vec<Vec<&str>> = vec![
        vec!["company", "create"],
        vec!["team", "create", "--company", "abc", "--name", "x"],
        vec!["team", "create", "--company", "999", "--name", "x"],
        vec!["apikey", "create", "--company", &id, "--type", "root"],
        vec![
            "user",
            "create",
            "--email",
            "rep@acme.com",
            "--password",
            "Rep-pass-2026",
            "--first",
            "A",
            "--last",
            "B",
        ],
        vec![
            "user",
            "create",
            "--email",
            "x@acme.com",
            "--password",
            "short1",
            "--first",
            "A",
            "--last",
            "B",
        ],
        vec![
            "settings",
            "set",
            "--company",
            &id,
            "favouriteColour",
            "blue",
        ],
        vec!["frobnicate", "now"],
        vec!["company", "create", "--name", "X", "--colour", "red"],
    ];
    for args in bad {
        let mut full = args.clone();
        full.extend(["--data-dir", d]);
        let (code, _, stderr) = admit(&full);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{args:?} says why");
    }
}

#[test]
fn operator_commands_work_on_dynamodb_through_aws_endpoint_url() {
    let endpoint = admit_tests::emulator_endpoint();
    let table = format!(
        "admit-cli-{}",
        &admit_shared::domain::secrets::random_hex_id()[..10]
    );
    let run = |args: &[&str]| {
        let out = cloud::admit_on(&endpoint)
            .args(args)
            .output()
            .expect("run admit");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), v)
    };
    assert_eq!(run(&["table", "create", "--table", &table]).0, 0);
    let on = ["--store", "dynamodb", "--table", table.as_str()];
    let on_table = |args: &[&str]| run(&[args, &on[..]].concat());
    let (code, company) = on_table(&["company", "create", "--name", "Cloud Co"]);
    assert_eq!((code, company["companyId"].clone()), (0, json!(1)));
    let (code, team) = on_table(&["team", "create", "--company", "1", "--name", "Ops"]);
    assert_eq!((code, team["teamId"].clone()), (0, json!(1)));
    let (code, _) = on_table(&["team", "create", "--company", "2", "--name", "Ops"]);
    assert_eq!(code, 2, "an unknown company is bad input");
}

#[test]
fn the_mi_family_over_http_with_the_in_process_dispatcher() {
    let dir = temp_dir("e2e-mi");
    let s = serve(&dir);
    let admin_key = s
        .banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("admin API key:"))
        .expect("admin key in the banner")
        .trim()
        .to_string();
    let url = |p: &str| format!("{}{p}", s.base);
    let key = [("x-nextinteract-company-api-key", admin_key.as_str())];
    let (status, teams) = http_request(&url("/rest/company/teams/public"), "GET", &key, None);
    assert_eq!(status, 200, "{teams}");
    assert_eq!(teams.as_array().expect("teams").len(), 2, "{teams}");
    let first_team = teams[0]["teamId"].clone();

    let (_, login) = http_request(&url("/rest/user/login"), "POST", &[], Some(DEMO_LOGIN));
    let token = login["authToken"].as_str().expect("token").to_string();
    let user = login["userId"].clone();
    let auth = [("x-nextinteract-authtoken", token.as_str())];
    let (status, device) = http_request(
        &url("/rest/user/devices"),
        "POST",
        &auth,
        Some(r#"{"platform": "android", "deviceToken": "e2e-device-token"}"#),
    );
    assert_eq!(status, 200, "{device}");

    let body = json!({"userId": user, "teams": [first_team], "sendNotification": true, "notificationMsg": "Hello from e2e"}).to_string();
    let (status, assigned) = http_request(
        &url("/rest/company/membership/teams/assign"),
        "POST",
        &key,
        Some(&body),
    );
    assert_eq!(status, 200, "{assigned}");
    // The in-process dispatcher delivers the push to the local outbox.
    let push_dir = dir.join("push");
    let mut pushed = String::new();
    for _ in 0..50 {
        if let Some(f) = std::fs::read_dir(&push_dir).ok().and_then(|mut d| d.next()) {
            pushed = std::fs::read_to_string(f.expect("entry").path()).expect("push file");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(pushed.contains("Hello from e2e"), "push captured: {pushed}");

    let (status, page) = http_request(&url("/rest/user/notifications?limit=5"), "GET", &auth, None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["notifications"][0]["message"], json!("Hello from e2e"));

    let device_url = url(&format!(
        "/rest/user/devices/{}",
        device["deviceId"].as_str().expect("id")
    ));
    assert_eq!(http_request(&device_url, "DELETE", &auth, None).0, 200);
    assert_eq!(http_request(&device_url, "DELETE", &auth, None).0, 404);
}

#[test]
fn the_command_line_is_checked_before_any_store_is_opened() {
    let dir = temp_dir("args");
    let data = dir.join("data");
    let d = data.to_str().expect("utf-8 path");
    let refused: &[(&[&str], &str)] = &[
        (&["company", "create", "--data-dir", d], "--name <NAME>"),
        (
            &["company", "create", "--nmae", "Acme", "--data-dir", d],
            "a similar argument exists: '--name'",
        ),
        (
            &[
                "team",
                "create",
                "--company",
                "one",
                "--name",
                "x",
                "--data-dir",
                d,
            ],
            "`one` is not an id",
        ),
        (
            &[
                "company",
                "create",
                "--name",
                "X",
                "--table",
                "t",
                "--data-dir",
                d,
            ],
            "cannot be used with",
        ),
        (
            &["serve", "--data-dir", d, "--adr", "127.0.0.1:0"],
            "a similar argument exists: '--addr'",
        ),
    ];
    for (args, says) in refused {
        let (code, out, stderr) = admit(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(out, Value::Null, "{args:?}: nothing on stdout");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!data.exists(), "{args:?} opened the store in {d}");
    }
    // With no --data-dir the default is .admit in the working directory: still not opened.
    let out = Command::new(env!("CARGO_BIN_EXE_admit"))
        .args(["company", "create", "--name", "X", "--table", "t"])
        .current_dir(&dir)
        .output()
        .expect("run admit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--table works only with --store dynamodb"),
        "{stderr}"
    );
    assert!(!dir.join(".admit").exists());

    let out = Command::new(env!("CARGO_BIN_EXE_admit"))
        .arg("--version")
        .output()
        .expect("run admit");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("admit {}", env!("CARGO_PKG_VERSION"))
    );

    let out = Command::new(env!("CARGO_BIN_EXE_admit"))
        .args(["apikey", "import", "--help"])
        .output()
        .expect("run admit");
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(help.contains("Usage: admit apikey import"), "{help}");
    assert!(help.contains("--key <K>"), "{help}");
}

#[test]
fn operator_commands_say_what_to_do_while_the_server_holds_the_data_directory() {
    let dir = temp_dir("locked");
    let d = dir.to_str().expect("utf-8 path");
    let s = serve(&dir);
    let (code, _, stderr) = admit(&["company", "create", "--name", "Acme", "--data-dir", d]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`admit serve`"), "{stderr}");
    assert!(stderr.contains("store.lock"), "{stderr}");
    assert!(
        stderr.contains("Stop the server first, or use another --data-dir."),
        "{stderr}"
    );
    drop(s);
    // Once the server is stopped, the same command works.
    let (code, company, stderr) = admit(&["company", "create", "--name", "Acme", "--data-dir", d]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(company["name"], json!("Acme"));
}

#[test]
fn a_data_directory_without_the_demo_user_gets_no_demo_credentials() {
    let dir = temp_dir("own-data");
    let d = dir.to_str().expect("utf-8 path");
    let (code, _, stderr) = admit(&["company", "create", "--name", "Acme", "--data-dir", d]);
    assert_eq!(code, 0, "{stderr}");
    let s = serve(&dir);
    assert!(!s.banner.contains(DEMO_LOGIN), "{}", s.banner);
    assert!(!s.banner.contains("demo-pass-2026"), "{}", s.banner);
    assert!(!s.banner.contains("curl "), "{}", s.banner);
    assert!(s.banner.contains("no demo user"), "{}", s.banner);
    // And indeed the demo login does not work there.
    let (status, body) = http_request(
        &format!("{}/rest/user/login", s.base),
        "POST",
        &[],
        Some(DEMO_LOGIN),
    );
    assert_ne!(status, 200, "{body}");
}

#[test]
fn logs_written_to_a_file_have_no_colour_codes() {
    let dir = temp_dir("logs");
    let log_path = dir.join("serve.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let s = serve_logging_to(&dir.join("data"), Stdio::from(log));
    let (status, _) = http_request(&format!("{}/rest/nothing", s.base), "GET", &[], None);
    assert_eq!(status, 404);
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(&log_path).expect("log");
        if text.contains("request") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(s);
    assert!(text.contains("/rest/nothing"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in a log file: {text:?}"
    );
}

#[test]
fn the_banner_lines_work_when_pasted_in_order() {
    let has_curl = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_curl {
        eprintln!("skipped: no curl on this machine");
        return;
    }
    let dir = temp_dir("paste");
    let s = serve(&dir);
    let script: String = s
        .banner
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("curl ") || l.starts_with("TOKEN=$(curl "))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = Command::new("sh")
        .args(["-e", "-c", &script])
        .output()
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{script}\n{stdout}");
    let answers: Vec<&str> = stdout.lines().collect();
    assert!(answers[0].starts_with("authToken: "), "{stdout}");
    assert!(answers[0].len() > "authToken: ".len() + 16, "{stdout}");
    // The calls that need the session ran before the logout, which is the last answer.
    assert!(
        stdout.contains("\"errorMsg\":\"MI User invited.\""),
        "{stdout}"
    );
    assert!(stdout.contains("\"notifications\":[{"), "{stdout}");
    assert!(stdout.contains(r#"["pat@example.com"]"#), "{stdout}");
    assert!(stdout.contains("\"totalRecords\":"), "{stdout}");
    assert!(!stdout.contains("\"Status\":4"), "{stdout}");
    assert_eq!(
        answers.last().copied(),
        Some(r#"{"errorCode":0,"errorMsg":"User logged out."}"#),
        "{stdout}"
    );
    assert!(!stdout.contains("Exception"), "{stdout}");
}

/// The status line and headers of a bodiless request, as the server sent them.
fn raw_head(url: &str, method: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("a path");
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    write!(
        s,
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out.split("\r\n\r\n").next().unwrap_or_default().to_string() + "\r\n"
}

/// 40 concurrent wrong passwords against `admit serve` are checked at most `threshold` (5)
/// times, and the right password afterwards is refused as locked.
#[test]
fn a_burst_of_wrong_passwords_against_the_server_locks_the_account() {
    let dir = temp_dir("e2e-burst");
    let s = serve(&dir);
    let url = format!("{}/rest/user/login", s.base);
    let wrong = r#"{"emailAddress":"demo@admit.example","password":"Wrong-pass-1"}"#;
    let threads: Vec<_> = (0..40)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || http_request(&url, "POST", &[], Some(wrong)).0)
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // A checked wrong password is 401, except the check that reaches the threshold (423);
    // every attempt refused without a check is 423.
    let checked_401 = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked_401 <= 4,
        "{checked_401} checks answered 401: {statuses:?}"
    );
    assert_eq!(
        checked_401 + statuses.iter().filter(|s| **s == 423).count(),
        40
    );
    let (status, body) = http_request(&url, "POST", &[], Some(DEMO_LOGIN));
    assert_eq!(status, 423, "{body}");
    assert_eq!(body["exception"], json!("WSAccountLockedException"));
}

/// The platform call through `admit serve`, then the operator's `admit invitation` commands on
/// the same data directory.
#[test]
fn operators_list_resend_and_revoke_invitations() {
    let dir = temp_dir("e2e-invitations");
    let s = serve(&dir);
    let (status, body) = http_request(
        &format!("{}/rest/user/login", s.base),
        "POST",
        &[],
        Some(DEMO_LOGIN),
    );
    assert_eq!(status, 200, "{body}");
    let bearer = format!("Bearer {}", body["authToken"].as_str().unwrap());
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let invite = r#"{"EmailAddresses": ["pat@example.com"], "Message": "Welcome aboard"}"#;
    let (status, body) = http_request(
        &format!("{}/api/users/invitations", s.base),
        "POST",
        &headers,
        Some(invite),
    );
    assert_eq!((status, body), (200, json!(["pat@example.com"])));
    drop(s);
    let d = dir.to_str().unwrap();
    let (code, page, err) = admit(&[
        "invitation",
        "list",
        "--company",
        "1",
        "--status",
        "pending",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        page["Invitations"][0]["EmailAddress"],
        json!("pat@example.com")
    );
    let (code, v, err) = admit(&[
        "invitation",
        "resend",
        "--company",
        "1",
        "--email",
        "pat@example.com",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["Status"], json!("pending"));
    let (code, v, err) = admit(&[
        "invitation",
        "revoke",
        "--company",
        "1",
        "--email",
        "Pat@Example.com",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["Status"], json!("revoked"));
    let (code, _, err) = admit(&[
        "invitation",
        "resend",
        "--company",
        "1",
        "--email",
        "pat@example.com",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 2, "a revoked invitation is not resent: {err}");
    let (code, _, err) = admit(&[
        "invitation",
        "revoke",
        "--company",
        "1",
        "--email",
        "nobody@example.com",
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 2, "{err}");
}

/// `admit serve`'s developer inbox lists what it captured and shows each email with its links
/// clickable; the banner says where it is.
#[test]
fn the_dev_inbox_shows_the_captured_emails() {
    let dir = temp_dir("inbox");
    let s = serve(&dir);
    let url = |p: &str| format!("{}{p}", s.base);
    assert!(
        s.banner.contains(&format!(
            "Read the emails in a browser: {}",
            url("/_dev/inbox")
        )),
        "{}",
        s.banner
    );
    let html = |got: (u16, Value)| (got.0, got.1.as_str().unwrap_or_default().to_string());
    let (status, empty) = html(http_request(&url("/_dev/inbox"), "GET", &[], None));
    assert_eq!(status, 200, "{empty}");
    assert!(empty.contains("No emails yet"), "{empty}");

    let (_, login) = http_request(&url("/rest/user/login"), "POST", &[], Some(DEMO_LOGIN));
    let token = login["authToken"].as_str().expect("token").to_string();
    let invite = json!({"companyId": 1, "contact": {"firstname": "Jane", "lastname": "Mead", "email1": "jane@example.com"}});
    let auth = [("x-nextinteract-authtoken", token.as_str())];
    let (status, _) = http_request(
        &url("/rest/user/miinvite"),
        "POST",
        &auth,
        Some(&invite.to_string()),
    );
    assert_eq!(status, 200);
    let mut list = String::new();
    for _ in 0..50 {
        list = html(http_request(&url("/_dev/inbox"), "GET", &[], None)).1;
        if list.contains("1 email captured") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(list.contains("<td>jane@example.com</td>"), "{list}");
    let href = list
        .split("<a href=\"")
        .filter_map(|a| a.split('"').next())
        .find(|h| h.ends_with(".eml"))
        .expect("a link to the email")
        .to_string();
    let (status, email) = html(http_request(&url(&href), "GET", &[], None));
    assert_eq!(status, 200, "{email}");
    assert!(
        email.contains("<h1>Demo Admin invited you to Demo Company</h1>"),
        "{email}"
    );
    assert!(
        email.contains(&format!(
            "<a href=\"{}",
            url("/invitations/accept?token=inv_")
        )),
        "{email}"
    );
    let head = raw_head(&url(&href), "GET");
    assert!(
        head.contains("content-type: text/html; charset=utf-8\r\n"),
        "{head}"
    );
    assert!(
        head.contains("referrer-policy: strict-origin\r\n"),
        "{head}"
    );
    let (status, missing) = html(http_request(&url("/_dev/inbox/nope.eml"), "GET", &[], None));
    assert_eq!(status, 404, "{missing}");
    assert!(missing.contains("No such email"), "{missing}");
    let (status, _) = http_request(&url("/_dev/inbox"), "POST", &[], None);
    assert_eq!(status, 405);
}

/// What the server answers to `request`, written as is: its status line and headers, and body.
fn raw_exchange(base: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let host = base.strip_prefix("http://").expect("http url");
    let host = host.trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("a read timeout");
    s.write_all(request.as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// A malformed `Host` is a `400` in the NextInteract shape (it used to drop the connection
/// after a panic), and a body that never arrives is answered `408` instead of holding the
/// connection forever.
#[test]
fn a_bad_host_is_refused_and_a_body_that_never_comes_times_out() {
    let dir = temp_dir("e2e-host");
    let s = serve(&dir);
    let path = "/rest/company/teams/public";
    for hosts in [
        "Host: 127.0.0.1:notaport\r\n",
        "Host: a:b:c\r\n",
        "Host: 127.0.0.1\r\nHost: 127.0.0.2\r\n",
    ] {
        let got = raw_exchange(
            &s.base,
            &format!("GET {path} HTTP/1.1\r\n{hosts}Connection: close\r\n\r\n"),
        );
        assert!(got.starts_with("HTTP/1.1 400"), "{hosts:?}: {got}");
        assert!(got.contains("WSInvalidParameterException"), "{got}");
    }
    let host = s
        .base
        .strip_prefix("http://")
        .unwrap()
        .trim_end_matches('/');
    let started = std::time::Instant::now();
    let got = raw_exchange(
        &s.base,
        &format!(
            "POST /rest/user/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        ),
    );
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
    // The server still answers.
    let ok = raw_exchange(
        &s.base,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    );
    assert!(
        ok.starts_with("HTTP/1.1 401") || ok.starts_with("HTTP/1.1 400"),
        "{ok}"
    );
}

/// `admit invitation list ... | head`: the reader of the output went away before the command
/// wrote. The command ends quietly with status 0 (it used to panic with a backtrace, 101).
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let dir = temp_dir("e2e-pipe");
    let d = dir.to_str().expect("utf-8 path");
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let child = Command::new(env!("CARGO_BIN_EXE_admit"))
        .args(["company", "create", "--name", "Piped", "--data-dir", d])
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run admit");
    let out = child.wait_with_output().expect("admit ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A mistyped `--data-dir` is an error that says so, not an empty answer from a new store
/// made on the spot; the first company or account of a new data directory still makes it.
#[test]
fn a_data_directory_that_does_not_exist_is_an_error_for_a_read() {
    let dir = temp_dir("e2e-typo").join("no-such-dir");
    let d = dir.to_str().expect("utf-8 path");
    let (code, out, stderr) = admit(&["invitation", "list", "--company", "1", "--data-dir", d]);
    assert_eq!(code, 1, "{out} {stderr}");
    assert!(stderr.contains("holds no admit data"), "{stderr}");
    assert!(!dir.exists(), "nothing is made for a read");
    let (code, _, stderr) = admit(&["company", "create", "--name", "New", "--data-dir", d]);
    assert_eq!(code, 0, "{stderr}");
    let (code, out, stderr) = admit(&["invitation", "list", "--company", "1", "--data-dir", d]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["Invitations"], json!([]), "{out}");
}
