//! Test support: apps on either store, requests in API Gateway's shape, the emulator wiring,
//! a tiny HTTP client, and the `Store` conformance suite.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "test support: a failed step fails the test loudly, the manual clock starts at the \
              real time, and waiting for a child process blocks its test thread only"
)]

pub mod conformance;
pub mod heat;
pub mod iam;
pub mod openapi;
pub mod seeds;
pub mod trips;
pub mod walk;

use admit_shared::config::Config;
use admit_shared::ports::clock::ManualClock;
use admit_shared::ports::events::{EventBridgePublisher, LocalPublisher, Publisher};
use admit_shared::ports::mail::{LocalMailer, Mailer, SesMailer};
use admit_shared::ports::push::{LocalPusher, Pusher, SnsPusher};
use admit_shared::ports::store::dynamodb::{create_table, DynamoStore};
use admit_shared::ports::store::embedded::EmbeddedStore;
use admit_shared::ports::store::Store;
use admit_shared::App;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// A fresh temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "admit-test-{tag}-{}",
        admit_shared::domain::secrets::random_hex_id()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The emulator endpoint the test command started. Emulator tests never skip: without it they fail.
pub fn emulator_endpoint() -> String {
    std::env::var("ADMIT_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!("ADMIT_TEST_AWS_ENDPOINT is not set: run ./scripts/test, which installs and starts the AWS emulator (moto) for these tests")
    })
}

pub async fn emulator_sdk() -> aws_config::SdkConfig {
    let creds =
        aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "admit-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(emulator_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                // moto copies a whole table for each transaction: a test that fills its table
                // waits seconds for one while other tests run.
                .operation_timeout(std::time::Duration::from_secs(30))
                .build(),
        )
        // moto deep-copies a table for every transaction without a lock, and a request of
        // another test that writes at the same time can make that copy fail with a 500
        // ("dictionary changed size during iteration"; seen in CI's emulator log). DynamoDB
        // has no such failure; more tries than the default three keep it from failing a test.
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(8))
        .load()
        .await
}

/// A new, empty table on the emulator, laid out as template.yaml declares it.
pub async fn emulator_store() -> (Arc<DynamoStore>, aws_sdk_dynamodb::Client) {
    let client = aws_sdk_dynamodb::Client::new(&emulator_sdk().await);
    let table = format!(
        "admit-test-{}",
        &admit_shared::domain::secrets::random_hex_id()[..12]
    );
    create_table(&client, &table)
        .await
        .expect("create table on the emulator");
    (Arc::new(DynamoStore::new(client.clone(), table)), client)
}

type Ports = (
    Arc<dyn Store>,
    Arc<dyn Mailer>,
    Arc<dyn Pusher>,
    Option<(aws_sdk_dynamodb::Client, String)>,
);

/// The backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Emulator,
}

/// Runs one scenario, an `async fn(Backend)` in the calling module, on both backends:
/// `both_backends!(login_and_logout, login_logout_scenario);` declares the module
/// `login_and_logout` with the tests `embedded` (`Backend::Embedded`) and `emulator`
/// (`Backend::Emulator`, which needs `ADMIT_TEST_AWS_ENDPOINT`). The calling crate depends
/// on tokio, as every test crate here does.
#[macro_export]
macro_rules! both_backends {
    // `both_backends!(scenario);`: the module takes the scenario's own name (a module and a
    // function live in different namespaces), so a test reads `scenario::emulator`.
    ($scenario:ident) => {
        $crate::both_backends!($scenario, $scenario);
    };
    // A scenario that needs several worker threads (requests racing each other).
    (multi_thread $scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$scenario($crate::Backend::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn emulator() {
                super::$scenario($crate::Backend::Emulator).await;
            }
        }
    };
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test]
            async fn embedded() {
                super::$scenario($crate::Backend::Embedded).await;
            }

            #[tokio::test]
            async fn emulator() {
                super::$scenario($crate::Backend::Emulator).await;
            }
        }
    };
}

pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub dir: PathBuf,
    pub dynamo: Option<(aws_sdk_dynamodb::Client, String)>,
    /// On the emulator: every message SES accepted from this app, as it was handed over.
    accepted: Arc<std::sync::Mutex<Vec<String>>>,
    /// Every event the publisher took (the emulator's EventBridge answered with an event id,
    /// or the local file has its line), in order.
    published: Arc<std::sync::Mutex<Vec<admit_shared::domain::event::Event>>>,
}

/// A test's files go with it (a run makes hundreds of data directories).
impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestApp {
    /// An app on the chosen backend: the embedded store on disk with email and push captured
    /// in files, or DynamoDB, SES and SNS on the emulator. The clock is manual.
    pub async fn new(backend: Backend) -> TestApp {
        let dir = temp_dir("app");
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        // On the emulator every test's mail lands in one SES outbox: a sender of its own tells
        // this app's mail apart (`TestApp::mail`).
        let mail_from = match backend {
            Backend::Embedded => "no-reply@admit.test".to_string(),
            Backend::Emulator => format!(
                "no-reply-{}@admit.test",
                &admit_shared::domain::secrets::random_hex_id()[..10]
            ),
        };
        // Ids in blocks, as a function takes them (one app: still consecutive).
        let config = Config {
            mail_from,
            id_block: 8,
            ..Config::local()
        };
        let (store, mailer, pusher, dynamo): Ports = match backend {
            Backend::Embedded => (
                Arc::new(EmbeddedStore::open(&dir.join("store")).expect("open store")),
                Arc::new(LocalMailer::new(dir.join("mail"), config.mail_from.clone())),
                Arc::new(LocalPusher::new(dir.join("push"))),
                None,
            ),
            Backend::Emulator => {
                let sdk = emulator_sdk().await;
                let (store, client) = emulator_store().await;
                let ses = aws_sdk_ses::Client::new(&sdk);
                ses.verify_email_identity()
                    .email_address(&config.mail_from)
                    .send()
                    .await
                    .expect("verify SES identity on the emulator");
                let sns = aws_sdk_sns::Client::new(&sdk);
                let ios = sns
                    .create_platform_application()
                    .name(format!(
                        "ios-{}",
                        &admit_shared::domain::secrets::random_hex_id()[..8]
                    ))
                    .platform("APNS")
                    .send()
                    .await
                    .expect("create SNS platform application");
                let android = sns
                    .create_platform_application()
                    .name(format!(
                        "android-{}",
                        &admit_shared::domain::secrets::random_hex_id()[..8]
                    ))
                    .platform("GCM")
                    .send()
                    .await
                    .expect("create SNS platform application");
                let table = store.table().to_string();
                (
                    store as Arc<dyn Store>,
                    Arc::new(SesMailer::new(ses, config.mail_from.clone())) as Arc<dyn Mailer>,
                    Arc::new(SnsPusher::new(
                        sns,
                        ios.platform_application_arn().map(str::to_string),
                        android.platform_application_arn().map(str::to_string),
                    )) as Arc<dyn Pusher>,
                    Some((client, table)),
                )
            }
        };
        let events: Arc<dyn Publisher> = match backend {
            Backend::Embedded => Arc::new(LocalPublisher::new(dir.join("events"))),
            Backend::Emulator => {
                let sdk = emulator_sdk().await;
                let client = aws_sdk_eventbridge::Client::new(&sdk);
                let bus = format!(
                    "admit-test-{}",
                    &admit_shared::domain::secrets::random_hex_id()[..12]
                );
                client
                    .create_event_bus()
                    .name(&bus)
                    .send()
                    .await
                    .expect("create an event bus on the emulator");
                Arc::new(EventBridgePublisher::new(client, bus))
            }
        };
        let published = Arc::new(std::sync::Mutex::new(Vec::new()));
        let events: Arc<dyn Publisher> = Arc::new(Published {
            inner: events,
            kept: published.clone(),
        });
        let accepted = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mailer: Arc<dyn Mailer> = Arc::new(Accepted {
            inner: mailer,
            from: config.mail_from.clone(),
            kept: accepted.clone(),
        });
        // Every call a handler makes is held to its function's grants (IAM as deployed).
        let app = App::new(
            Arc::new(iam::RecordingStore(store)),
            Arc::new(iam::RecordingMailer(mailer)),
            Arc::new(iam::RecordingPusher(pusher)),
            clock.clone(),
            config,
        )
        .with_events(Arc::new(iam::RecordingPublisher(events)));
        TestApp {
            app,
            clock,
            dir,
            dynamo,
            accepted,
            published,
        }
    }

    /// Delivers the outbox (every due message, as the dispatcher function) and returns every
    /// event published so far, in the order published: on the embedded store read back from
    /// the local `events/` files, on the emulator what its EventBridge took.
    pub async fn events(&self) -> Vec<admit_shared::domain::event::Event> {
        // As the dispatcher delivers them (its grants hold every call).
        admit_shared::app::as_function(
            admit_functions::dispatch_outbox::ENDPOINT.name,
            admit_shared::usecases::outbox::dispatch_pending(&self.app, 1000),
        )
        .await
        .expect("the outbox delivers");
        match &self.dynamo {
            None => {
                let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("events"))
                    .map(|d| d.flatten().map(|f| f.path()).collect())
                    .unwrap_or_default();
                files.sort();
                files
                    .iter()
                    .flat_map(|f| {
                        std::fs::read_to_string(f)
                            .unwrap_or_default()
                            .lines()
                            .map(|l| serde_json::from_str(l).expect("an event line"))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            }
            Some(_) => self.published.lock().unwrap().clone(),
        }
    }

    /// Every email this app sent, oldest first, as its recipient reads it.
    pub fn mail(&self) -> Vec<Mail> {
        self.raw_mail().iter().map(|m| parse_mail(m)).collect()
    }

    /// Every email this app sent, oldest first, exactly as it left: the captured `.eml` files,
    /// or each message the emulator's SES accepted (answered with a message id) from this app.
    /// The emulator's own record of sent mail is one dump of everything it ever held, which
    /// grows with every test of a run (seconds per read by its end); the tests that read SES's
    /// record itself are in `outbox.rs` and `cli/tests/lambda.rs`.
    pub fn raw_mail(&self) -> Vec<String> {
        match &self.dynamo {
            None => captured_raw_mail(&self.dir.join("mail")),
            Some(_) => self.accepted.lock().unwrap().clone(),
        }
    }

    /// Every byte the backend holds: the embedded store's files, or a scan of the table (an
    /// item a line).
    pub async fn stored_text(&self) -> String {
        match &self.dynamo {
            None => {
                let mut s = String::new();
                for entry in std::fs::read_dir(self.dir.join("store"))
                    .expect("store dir")
                    .flatten()
                {
                    s.push_str(&String::from_utf8_lossy(
                        &std::fs::read(entry.path()).unwrap_or_default(),
                    ));
                }
                s
            }
            Some((client, table)) => {
                let out = client.scan().table_name(table).send().await.expect("scan");
                // One item a line, in key order (as the embedded store's files hold them).
                let mut items: Vec<String> = out
                    .items()
                    .iter()
                    .map(|i| {
                        Value::Object(admit_shared::ports::store::dynamodb::from_attrs(i))
                            .to_string()
                    })
                    .collect();
                items.sort();
                items.join("\n")
            }
        }
    }
}

/// Keeps each event its publisher took.
struct Published {
    inner: Arc<dyn Publisher>,
    kept: Arc<std::sync::Mutex<Vec<admit_shared::domain::event::Event>>>,
}

#[async_trait::async_trait]
impl Publisher for Published {
    async fn publish(
        &self,
        events: &[admit_shared::domain::event::Event],
    ) -> Vec<Result<String, admit_shared::ports::mail::DeliveryError>> {
        let answers = self.inner.publish(events).await;
        let mut kept = self.kept.lock().unwrap();
        for (e, a) in events.iter().zip(&answers) {
            if a.is_ok() {
                kept.push(e.clone());
            }
        }
        answers
    }
}

/// Keeps each message its mailer delivered, in the MIME form the mailer sends.
struct Accepted {
    inner: Arc<dyn Mailer>,
    from: String,
    kept: Arc<std::sync::Mutex<Vec<String>>>,
}

#[async_trait::async_trait]
impl Mailer for Accepted {
    async fn send(
        &self,
        email: &admit_shared::ports::mail::Email,
    ) -> Result<String, admit_shared::ports::mail::DeliveryError> {
        let id = self.inner.send(email).await?;
        let (raw, _) = email.to_mime(&self.from, chrono::Utc::now())?;
        self.kept
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&raw).into_owned());
        Ok(id)
    }
}

/// A request exactly as API Gateway's HTTP API (payload 2.0) delivers it to Lambda, parsed by
/// lambda_http the way the Lambda runtime does. The event is made by the one builder `admit
/// serve` uses (`admit_functions::gateway::event`), routed by the endpoint table, so a path's
/// parameters are in it; `path` may carry a query string.
pub fn gateway_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    let event = gateway_event(method, path, headers, body);
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}

/// The API Gateway event (HTTP API, payload 2.0) `gateway_request` parses: what Lambda hands a
/// function for this request.
pub fn gateway_event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Value {
    gateway_event_from(
        method,
        path,
        headers,
        body,
        std::net::SocketAddr::from(([203, 0, 113, 7], 40_000)),
    )
}

/// `gateway_event` from the source address `peer` (API Gateway's `sourceIp`).
pub fn gateway_event_from(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    peer: std::net::SocketAddr,
) -> Value {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("user-agent", "admit-tests/1.0")
        .header("host", "api.example.com");
    for (k, v) in headers {
        let name = k.to_ascii_lowercase();
        if let Some(h) = builder.headers_mut() {
            h.remove(name.as_str());
        }
        builder = builder.header(name, *v);
    }
    let (parts, ()) = builder
        .body(())
        .expect("a request the tests can build")
        .into_parts();
    let bare = path.split('?').next().unwrap_or_default();
    let (route, params) = match admit_functions::find(method, bare) {
        Ok((_, route, params)) => (route, params),
        // A path no route has (a handler called directly with a made-up path).
        Err(_) => {
            let route: &'static admit_functions::Route =
                Box::leak(Box::new(admit_functions::Route {
                    method: Box::leak(method.to_string().into_boxed_str()),
                    path: Box::leak(bare.to_string().into_boxed_str()),
                    summary: "",
                }));
            (route, Vec::new())
        }
    };
    let request_id = format!(
        "req-{}",
        &admit_shared::domain::secrets::random_hex_id()[..8]
    );
    let arrived = chrono::DateTime::from_timestamp_millis(1_795_460_400_000).unwrap_or_default();
    admit_functions::gateway::event(
        &parts,
        body.unwrap_or_default().as_bytes(),
        route,
        &params,
        peer,
        &request_id,
        arrived,
    )
}

/// One request routed by the endpoint table and handled in process, as API Gateway would
/// deliver it: its status and JSON body, whatever they are.
pub async fn route(
    app: &App,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Value) {
    let path = uri.split('?').next().unwrap_or_default();
    let (endpoint, _, _) = admit_functions::find(method, path)
        .unwrap_or_else(|_| panic!("no route for {method} {uri}"));
    let event = gateway_event(method, uri, headers, body);
    let req = lambda_http::request::from_str(&event.to_string()).expect("a valid event");
    read(
        admit_functions::dispatch(endpoint.name, app, req)
            .await
            .expect("a routed endpoint"),
    )
}

/// Status and JSON body of a handler's response.
pub fn read(resp: Response<Body>) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    status_is_the_registrys(status, &body);
    (status, body)
}

/// `read`, and the answer is what docs/openapi.yaml says the operation answers.
pub fn read_as(operation_id: &str, resp: Response<Body>) -> (u16, Value) {
    let got = read(resp);
    openapi::assert_conforms(operation_id, got.0, &got.1);
    got
}

/// Every error answer's status is the one the registry gives its exception (so a use case can
/// never answer an exception with another status). Called on every response a test reads.
pub fn status_is_the_registrys(status: u16, body: &Value) {
    use admit_shared::http::nextinteract;
    let Some(name) = body.get("exception").and_then(Value::as_str) else {
        return;
    };
    let kind = nextinteract::ALL
        .iter()
        .find(|k| nextinteract::name(**k) == name)
        .unwrap_or_else(|| panic!("{name} is not in the registry: {body}"));
    assert_eq!(
        status,
        nextinteract::status(*kind),
        "{name} must be answered with the registry's status: {body}"
    );
}

/// Asserts a response is the family's error shape with this exception and status.
pub fn assert_error(got: &(u16, Value), status: u16, exception: &str) {
    assert_eq!(got.0, status, "status of {}", got.1);
    assert_eq!(
        got.1["exception"],
        json!(exception),
        "exception in {}",
        got.1
    );
    assert!(
        got.1["errorCode"].as_u64().is_some_and(|c| c > 0),
        "errorCode in {}",
        got.1
    );
    assert!(
        got.1["errorMsg"].as_str().is_some_and(|m| !m.is_empty()),
        "errorMsg in {}",
        got.1
    );
}

/// Everything the emulator recorded (sent emails, published pushes, ...).
pub fn emulator_data() -> Value {
    let url = format!("{}/moto-api/data.json", emulator_endpoint());
    // moto checks each attribute is JSON before it writes the whole dump; a concurrent test's
    // write can change an attribute in between (a DynamoDB stream record), and the dump then
    // fails with a 500. Such a failure is moto's race, not ours: read again.
    let mut last = (0, Value::Null);
    for _ in 0..10 {
        last = http_request(&url, "GET", &[], None);
        if last.0 == 200 {
            return last.1;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("moto data.json kept failing: {} {}", last.0, last.1)
}

/// A minimal blocking HTTP/1.1 client for loopback tests: returns status and JSON body.
pub fn http_request(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Value) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http:// url");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .ok();
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    let body = serde_json::from_str(&payload).unwrap_or(Value::String(payload));
    status_is_the_registrys(status, &body);
    (status, body)
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// A store that fails every operation touching a partition that starts with a chosen prefix:
/// `Internal` (a bug or corrupt item: 500) or `Unavailable` (an outage or throttle: 503).
pub struct FaultyStore {
    pub inner: Arc<dyn Store>,
    pub fault: std::sync::Mutex<Option<(String, bool)>>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> Arc<FaultyStore> {
        Arc::new(FaultyStore {
            inner,
            fault: std::sync::Mutex::new(None),
        })
    }

    /// Fail operations on partitions starting with `prefix`; `transient` picks 503 over 500.
    pub fn fail(&self, prefix: &str, transient: bool) {
        *self.fault.lock().unwrap() = Some((prefix.to_string(), transient));
    }

    pub fn heal(&self) {
        *self.fault.lock().unwrap() = None;
    }

    fn check(&self, pk: &str) -> Result<(), admit_shared::ports::store::StoreError> {
        use admit_shared::ports::store::StoreError;
        match &*self.fault.lock().unwrap() {
            Some((p, transient)) if pk.starts_with(p.as_str()) => Err(if *transient {
                StoreError::Unavailable("injected outage".into())
            } else {
                StoreError::Internal("injected failure".into())
            }),
            _ => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl Store for FaultyStore {
    async fn get(
        &self,
        key: &admit_shared::ports::store::Key,
    ) -> Result<Option<admit_shared::ports::store::Item>, admit_shared::ports::store::StoreError>
    {
        self.check(&key.pk)?;
        self.inner.get(key).await
    }
    async fn batch_get(
        &self,
        keys: &[admit_shared::ports::store::Key],
    ) -> Result<Vec<admit_shared::ports::store::Item>, admit_shared::ports::store::StoreError> {
        for k in keys {
            self.check(&k.pk)?;
        }
        self.inner.batch_get(keys).await
    }
    async fn query(
        &self,
        q: &admit_shared::ports::store::Query,
    ) -> Result<admit_shared::ports::store::Page, admit_shared::ports::store::StoreError> {
        self.check(&q.partition)?;
        self.inner.query(q).await
    }
    async fn put(
        &self,
        item: admit_shared::ports::store::Item,
        cond: Option<admit_shared::ports::store::Cond>,
    ) -> Result<(), admit_shared::ports::store::StoreError> {
        self.check(item.get("pk").and_then(Value::as_str).unwrap_or_default())?;
        self.inner.put(item, cond).await
    }
    async fn update(
        &self,
        key: &admit_shared::ports::store::Key,
        u: admit_shared::ports::store::Update,
        cond: Option<admit_shared::ports::store::Cond>,
    ) -> Result<admit_shared::ports::store::Item, admit_shared::ports::store::StoreError> {
        self.check(&key.pk)?;
        self.inner.update(key, u, cond).await
    }
    async fn delete(
        &self,
        key: &admit_shared::ports::store::Key,
        cond: Option<admit_shared::ports::store::Cond>,
    ) -> Result<Option<admit_shared::ports::store::Item>, admit_shared::ports::store::StoreError>
    {
        self.check(&key.pk)?;
        self.inner.delete(key, cond).await
    }
    async fn transact(
        &self,
        writes: Vec<admit_shared::ports::store::Write>,
    ) -> Result<(), admit_shared::ports::store::StoreError> {
        for w in &writes {
            self.check(&w.key()?.pk)?;
        }
        self.inner.transact(writes).await
    }
}

/// The outbox's pending emails and pushes (the events waiting beside them aside).
pub async fn pending_sends(app: &App) -> Vec<admit_shared::records::outbox::OutboxItem> {
    admit_shared::usecases::outbox::pending(app)
        .await
        .expect("the outbox reads")
        .into_iter()
        .filter(|m| !matches!(m.kind.as_deref(), Some("event" | "invitationsExpire")))
        .collect()
}

/// Delivers the outbox; how many emails and pushes went out (events are published too, and
/// not counted).
pub async fn send_pending(app: &App) -> usize {
    let before = pending_sends(app).await.len();
    admit_shared::usecases::outbox::dispatch_pending(app, 1000)
        .await
        .expect("the outbox delivers");
    before - pending_sends(app).await.len()
}

/// A company named `name` with public teams `teams` (ids 1, 2, ...), an admin (`admin`, user
/// 1) and a plain member (`member`, user 2), both with `password`; its admin and app API keys.
pub async fn small_company(
    app: &App,
    name: &str,
    teams: &[&str],
    (admin, member, password): (&str, &str, &str),
) -> (String, String) {
    use admit_shared::records::{ApiKeyType, Role};
    use admit_shared::usecases::provision::{self, NewUser};
    let c = provision::create_company(app, name)
        .await
        .expect("a company")
        .company_id;
    for team in teams {
        provision::create_team(app, c, team, true)
            .await
            .expect("a team");
    }
    for (email, role) in [(admin, Role::Admin), (member, Role::Member)] {
        let user = NewUser {
            email,
            password,
            first_name: "F",
            last_name: "L",
            membership: Some((c, role)),
        };
        provision::create_user(app, user).await.expect("a user");
    }
    let (_, admin_key) = provision::create_api_key(app, c, ApiKeyType::Admin)
        .await
        .expect("an admin key");
    let (_, app_key) = provision::create_api_key(app, c, ApiKeyType::App)
        .await
        .expect("an app key");
    (admin_key, app_key)
}

/// Reads one HTTP/1.1 request from a test's stand-in server: the head, and the body its
/// `Content-Length` announces.
pub fn read_http_request(stream: &mut std::net::TcpStream) -> (String, String) {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= len {
                return (head.to_string(), body.to_string());
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_string(), body.to_string())
}

/// loginUser through its handler: status and body.
pub async fn login(app: &App, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"emailAddress": email, "password": password}).to_string();
    read_as(
        "login_user",
        admit_functions::login_user::handler(
            app,
            gateway_request("POST", "/rest/user/login", &[], Some(&body)),
        )
        .await,
    )
}

/// Logs in and returns the auth token (the login must succeed).
pub async fn auth_token(app: &App, email: &str, password: &str) -> String {
    let (status, body) = login(app, email, password).await;
    assert_eq!(status, 200, "login of {email}: {body}");
    body["authToken"].as_str().expect("authToken").to_string()
}

/// An email as a recipient reads it: decoded from the MIME message admit sent.
pub use admit_shared::ports::mail::mime::Received as Mail;

/// Every email captured in `dir` (the local mailer's `.eml` files), oldest first.
pub fn captured_mail(dir: &std::path::Path) -> Vec<Mail> {
    captured_raw_mail(dir)
        .iter()
        .map(|m| parse_mail(m))
        .collect()
}

fn captured_raw_mail(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|f| f.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("an .eml file"))
        .collect()
}

/// Every email the emulator's SES received as a raw message.
pub fn emulator_mail() -> Vec<Mail> {
    emulator_raw_mail().iter().map(|m| parse_mail(m)).collect()
}

fn emulator_raw_mail() -> Vec<String> {
    emulator_data()["ses"]["RawMessage"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["raw_data"].as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Parses one MIME message (multipart/alternative or a single text part).
pub fn parse_mail(raw: &str) -> Mail {
    admit_shared::ports::mail::mime::parse(raw)
}

/// `gateway_request` with a query string (`a=1&cursor=a%C3%A9b`): its parameters decoded as
/// API Gateway decodes them into `queryStringParameters`.
pub fn gateway_request_with_query(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    raw_query: &str,
) -> Request {
    gateway_request(method, &format!("{path}?{raw_query}"), headers, body)
}

/// The token that follows `marker` (such as `accept?token=`) in an email's text, if any.
pub fn link_token(text: &str, marker: &str) -> Option<String> {
    let rest = text.split(marker).nth(1)?;
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// Writes `times.len()` `Login Successful` activity records of `user` in `site`, one at each
/// time, straight to the store (100 writes a transaction): a site's activity to report on.
pub async fn seed_logins(
    store: &dyn Store,
    site: admit_shared::domain::Id,
    users: &[admit_shared::domain::Id],
    times: &[chrono::DateTime<chrono::Utc>],
) {
    use admit_shared::domain::activity::{ActivityType, Source};
    let caller = admit_shared::domain::Caller {
        ip: Some("10.0.0.1".into()),
        user_agent: Some("heat".into()),
        request_id: "seed".into(),
    };
    let writes: Vec<_> = times
        .iter()
        .enumerate()
        .flat_map(|(i, at)| {
            let user = users[i % users.len()];
            admit_shared::records::activity::record_in_site(
                site,
                user,
                ActivityType::LoginSuccessful,
                Source::Web,
                &caller,
                None,
                *at,
            )
        })
        .collect();
    for chunk in writes.chunks(100) {
        store.transact(chunk.to_vec()).await.expect("seeded");
    }
}
