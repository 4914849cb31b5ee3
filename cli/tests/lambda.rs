//! Every function binary of template.yaml as Lambda runs it: under AWS's own Runtime Interface
//! Emulator (`aws-lambda-rie`, from the aws-sam-cli package), with the environment the
//! template's Globals give every function, its store on the DynamoDB emulator (moto). Each
//! HTTP function answers a real API Gateway HTTP API (payload 2.0) event for every route in its
//! family's shape; a login, a platform invitation and a site's activity report succeed end to
//! end; the dispatcher takes a real DynamoDB stream event (and sends the invitation through
//! SES) and a real schedule event.
//!
//! Run by `./scripts/test`, which builds the function binaries and names the emulator in
//! `ADMIT_TEST_RIE`: `cargo test -p admit --test lambda -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests: a failed step fails the test loudly, and waiting for a child process \
              blocks its test thread only"
)]

use admit_functions::{Auth, Endpoint, Family, Trigger, ENDPOINTS};
mod cloud;

use admit_tests::{emulator_endpoint, emulator_mail, http_request, temp_dir};
use cloud::{dynamodb, ses_verify, World, PASSWORD};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The emulator binary the test command found in aws-sam-cli.
fn rie() -> PathBuf {
    let rie = std::env::var("ADMIT_TEST_RIE").unwrap_or_else(|_| {
        panic!("ADMIT_TEST_RIE is not set: run ./scripts/test, which installs aws-sam-cli (it ships aws-lambda-rie)")
    });
    assert!(Path::new(&rie).is_file(), "ADMIT_TEST_RIE={rie} is no file");
    rie.into()
}

/// A function binary, built beside `admit` by `cargo build -p admit-functions --bins`.
fn function_binary(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_admit")).with_file_name(name);
    assert!(
        bin.is_file(),
        "{} is missing: build the functions first (cargo build -p admit-functions --bins)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A parameter's `Default` in template.yaml.
fn parameter_default(template: &str, name: &str) -> Option<String> {
    let start = template.find(&format!("\n  {name}:\n"))?;
    let block = &template[start + 1..];
    for line in block.lines().skip(1) {
        if !line.starts_with("    ") {
            break;
        }
        if let Some(v) = line.trim().strip_prefix("Default: ") {
            return Some(v.trim_matches('"').to_string());
        }
    }
    None
}

/// The environment template.yaml's `Globals` give every function, each `!Ref` resolved: the
/// table to the emulator's table, the stage and sender to this test's, any other parameter
/// to its default. A variable naming anything else fails the test.
fn template_environment(table: &str) -> Vec<(String, String)> {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let globals = &template[template.find("\nGlobals:\n").expect("Globals")..];
    let vars = &globals[globals.find("      Variables:\n").expect("Variables")..];
    let mut env = Vec::new();
    for line in vars.lines().skip(1) {
        if !line.starts_with("        ") {
            break;
        }
        let (key, value) = line.trim().split_once(": ").expect("KEY: value");
        // A variable only `sam local` sets (the emulator's endpoint, set below for every run).
        if value.starts_with("!If [") && value.ends_with(", !Ref AWS::NoValue]") {
            continue;
        }
        let name = value
            .strip_prefix("!Ref ")
            .unwrap_or_else(|| panic!("{key}: {value} is not a !Ref"));
        let resolved = match name {
            "Table" => table.to_string(),
            "Stage" => "rie".to_string(),
            "MailFrom" => "no-reply@admit.example".to_string(),
            "EventBus" => {
                cloud::event_bus(&emulator_endpoint(), "admit-rie-events");
                "admit-rie-events".to_string()
            }
            other => parameter_default(&template, other)
                .unwrap_or_else(|| panic!("{key}: parameter {other} has no default")),
        };
        env.push((key.to_string(), resolved));
    }
    assert!(
        env.iter().any(|(k, _)| k == "ADMIT_TABLE"),
        "the template gives no ADMIT_TABLE: {env:?}"
    );
    env
}

/// One function under the emulator.
struct Function {
    child: Child,
    invoke_url: String,
    log: PathBuf,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Function {
    fn start(e: &Endpoint, env: &[(String, String)], dir: &Path) -> Function {
        let (api, runtime) = (free_port(), free_port());
        let log = dir.join(format!("{}.log", e.name));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(rie())
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{api}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{runtime}"))
            .arg(function_binary(e.name))
            // Only what Lambda and the template give a function: nothing of this shell's.
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("admit-rie-{}", e.name))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", e.memory.to_string())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_ENDPOINT_URL", emulator_endpoint())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start aws-lambda-rie");
        let addr: SocketAddr = format!("127.0.0.1:{api}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "the emulator did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Function {
            child,
            invoke_url: format!("http://{addr}/2015-03-31/functions/function/invocations"),
            log,
        }
    }

    /// Invokes the function with an event; the function's own answer (never an invocation
    /// error).
    fn invoke(&self, event: &Value) -> Value {
        let (status, answer) =
            http_request(&self.invoke_url, "POST", &[], Some(&event.to_string()));
        let log = || std::fs::read_to_string(&self.log).unwrap_or_default();
        assert_eq!(status, 200, "the emulator answered {answer}\n{}", log());
        assert!(
            answer.get("errorType").is_none() && answer.get("errorMessage").is_none(),
            "an invocation error: {answer}\n{}",
            log()
        );
        answer
    }
}

/// The API Gateway event for a request to a route, as `admit serve` makes it.
fn api_event(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Value {
    let (_, route, params) = admit_functions::find(method, path.split('?').next().unwrap())
        .unwrap_or_else(|_| panic!("no route for {method} {path}"));
    let mut req = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (parts, ()) = req
        .header("user-agent", "lambda-test")
        .body(())
        .unwrap()
        .into_parts();
    let peer: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    admit_functions::gateway::event(
        &parts,
        body.as_bytes(),
        route,
        &params,
        peer,
        &format!("rie-{}", admit_shared::domain::secrets::random_hex_id()),
        chrono::Utc::now(),
    )
}

/// An API answer: status, content type and body (JSON when it is JSON).
fn answer(a: &Value) -> (u16, String, Value) {
    let status = a["statusCode"].as_u64().expect("statusCode") as u16;
    let content_type = a["headers"]["content-type"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let text = a["body"].as_str().unwrap_or("");
    let body = serde_json::from_str(text).unwrap_or(Value::String(text.to_string()));
    (status, content_type, body)
}

/// The answer is an error in the family's documented shape.
fn assert_family_error(e: &Endpoint, route: &str, got: &(u16, String, Value)) {
    let (status, content_type, body) = got;
    assert!((400..500).contains(status), "{route}: {status} {body}");
    match e.family {
        Family::NextInteract => {
            assert!(body["exception"].is_string(), "{route}: {body}");
            assert!(body["errorCode"].is_u64(), "{route}: {body}");
            assert!(body["errorMsg"].is_string(), "{route}: {body}");
        }
        Family::Platform => {
            assert_eq!(body["Status"], json!(status), "{route}: {body}");
            assert!(body["Message"].is_string(), "{route}: {body}");
        }
        Family::Site => assert!(body["message"].is_string(), "{route}: {body}"),
        Family::Page => assert!(
            content_type.starts_with("text/html"),
            "{route}: {content_type}"
        ),
        Family::Event => panic!("{route}: an event function has no route"),
    }
}

#[test]
#[ignore = "needs the Lambda emulator and the built functions: run by ./scripts/test"]
fn every_function_binary_answers_its_events_under_the_lambda_emulator() {
    let endpoint = emulator_endpoint();
    let World {
        id,
        table,
        company,
        admin,
    } = World::new(&endpoint, "rie");
    let env = template_environment(&table);
    let sender = &env
        .iter()
        .find(|(k, _)| k == "ADMIT_MAIL_FROM")
        .expect("a sender")
        .1;
    ses_verify(&endpoint, sender);
    let dir = temp_dir("rie");
    let row = |name: &str| ENDPOINTS.iter().find(|e| e.name == name).unwrap();

    // Every route of every HTTP function, without a credential: the family's error.
    let mut routes = 0;
    for e in ENDPOINTS.iter().filter(|e| e.trigger == Trigger::Http) {
        let f = Function::start(e, &env, &dir);
        for r in e.routes {
            let path = r
                .path
                .replace(['{', '}'], "")
                .replace("BusinessID", &company);
            let path = path.replace("deviceId", "device-1");
            let body = if r.method == "GET" { "" } else { "{}" };
            let headers: &[(&str, &str)] = if e.family == Family::Page {
                &[("content-type", "application/x-www-form-urlencoded")]
            } else {
                &[("content-type", "application/json")]
            };
            let got = answer(&f.invoke(&api_event(r.method, &path, headers, body)));
            let route = format!("{} {} ({})", r.method, r.path, e.name);
            // The one page that needs no link: asking for a reset link.
            if e.family == Family::Page && r.method == "GET" && r.path.ends_with("/forgot") {
                assert_eq!(got.0, 200, "{route}");
                assert!(got.1.starts_with("text/html"), "{route}: {}", got.1);
                routes += 1;
                continue;
            }
            assert_family_error(e, &route, &got);
            match e.auth {
                Auth::Public | Auth::OptionalSession | Auth::Internal => {}
                // The vendor's key calls list no 401: a missing key is a missing parameter.
                Auth::AdminKey | Auth::CompanyKey => assert_eq!(
                    (got.0, &got.2["exception"]),
                    (400, &json!("WSInvalidParameterException")),
                    "{route} without a key: {}",
                    got.2
                ),
                Auth::Session | Auth::Bearer | Auth::PlatformSession => {
                    assert_eq!(got.0, 401, "{route} without a session: {}", got.2)
                }
            }
            routes += 1;
        }
    }
    assert_eq!(
        routes,
        ENDPOINTS.iter().map(|e| e.routes.len()).sum::<usize>()
    );

    // A login (NextInteract).
    let login = Function::start(row("login_user"), &env, &dir);
    let body = json!({"emailAddress": admin, "password": PASSWORD}).to_string();
    let (status, _, session) = answer(&login.invoke(&api_event(
        "POST",
        "/rest/user/login",
        &[("content-type", "application/json")],
        &body,
    )));
    assert_eq!(status, 200, "{session}");
    let token = session["authToken"]
        .as_str()
        .expect("authToken")
        .to_string();
    let bearer = format!("Bearer {token}");

    // A platform invitation, which queues its email in the outbox.
    let invitee = format!("invitee-{id}@lambda.example");
    let invite = Function::start(row("invite_platform_users"), &env, &dir);
    let body = json!({"EmailAddresses": [invitee], "Message": "Join us on Lambda"}).to_string();
    let (status, _, invited) = answer(&invite.invoke(&api_event(
        "POST",
        "/api/users/invitations",
        &[
            ("content-type", "application/json"),
            ("authorization", &bearer),
        ],
        &body,
    )));
    assert_eq!(
        (status, invited.clone()),
        (200, json!([invitee])),
        "{invited}"
    );

    // The site's activity report shows the login.
    let report = Function::start(row("user_activity_report"), &env, &dir);
    let body = json!({"userIds": [], "dateFrom": "2020-01-01T00:00:00.000Z", "dateTo": "2100-01-01T00:00:00.000Z", "activity": 1}).to_string();
    let (status, _, rows) = answer(&report.invoke(&api_event(
        "POST",
        "/api/rest/v1/management/user/activity",
        &[
            ("content-type", "application/json"),
            ("authorization", &bearer),
        ],
        &body,
    )));
    assert_eq!(status, 200, "{rows}");
    assert!(rows["totalRecords"].as_u64().unwrap() >= 1, "{rows}");
    assert_eq!(rows["rows"][0]["userName"], json!(admin), "{rows}");

    // The dispatcher: the stream event Lambda sends for the outbox insert delivers the email.
    let items = dynamodb(
        &endpoint,
        "Scan",
        &json!({
            "TableName": table,
            "FilterExpression": "begins_with(pk, :p)",
            "ExpressionAttributeValues": {":p": {"S": "OUTBOX#"}},
        }),
    )["Items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let of_kind = |kind: &str| -> Vec<Value> {
        items
            .iter()
            .filter(|i| i["kind"]["S"] == json!(kind))
            .cloned()
            .collect()
    };
    let emails = of_kind("invitation");
    assert_eq!(emails.len(), 1, "one email queued: {items:?}");
    let events = of_kind("event");
    assert!(
        !events.is_empty(),
        "the invitation's events queued: {items:?}"
    );
    let stream_arn = format!(
        "arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-12-02T00:00:00.000"
    );
    let stream_event = |item: &Value| {
        json!({"Records": [{
            "eventID": "c4ca4238a0b923820dcc509a6f75849b",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_796_000_000,
                "Keys": {"pk": item["pk"], "sk": item["sk"]},
                "NewImage": item,
                "SequenceNumber": "4421584500000000017450439091",
                "SizeBytes": 512,
                "StreamViewType": "NEW_IMAGE",
            },
            "eventSourceARN": stream_arn,
        }]})
    };
    let dispatcher = Function::start(row("dispatch_outbox"), &env, &dir);
    let done = dispatcher.invoke(&stream_event(&emails[0]));
    assert_eq!(done, json!({"batchItemFailures": []}), "{done}");
    // An event, published to the stage's bus on the emulator by the dispatcher's own
    // EventBridge client (the only binary that has one).
    let done = dispatcher.invoke(&stream_event(&events[0]));
    assert_eq!(done, json!({"batchItemFailures": []}), "{done}");
    let key = json!({"pk": events[0]["pk"], "sk": events[0]["sk"]});
    let stored = dynamodb(
        &endpoint,
        "GetItem",
        &json!({"TableName": table, "Key": key}),
    );
    assert_eq!(stored["Item"]["status"]["S"], json!("sent"), "{stored}");
    let mail: Vec<_> = emulator_mail()
        .into_iter()
        .filter(|m| m.to.contains(&invitee))
        .collect();
    assert_eq!(mail.len(), 1, "one invitation email through SES: {mail:?}");
    assert!(
        mail[0].text.contains("Join us on Lambda"),
        "{}",
        mail[0].text
    );

    // The sweep's schedule event finds nothing left to send.
    let schedule_event = json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-02T04:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/admit-rie-sweep"],
        "detail": {},
    });
    let swept = dispatcher.invoke(&schedule_event);
    assert_eq!(swept, json!({"delivered": 0}), "{swept}");
    let again = emulator_mail()
        .into_iter()
        .filter(|m| m.to.contains(&invitee))
        .count();
    assert_eq!(again, 1, "the email went once");
}
