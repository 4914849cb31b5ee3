//! admit's bench: the figures docs/performance.md reports, measured in one run against a
//! baseline measured in the same run. `scripts/bench` builds the release binaries, starts the
//! emulator behind TLS and runs this; see docs/performance.md for what each figure means.
//!
//!   admit-bench cold [--runs N] [--warm N] [--bin-dir DIR] [FUNCTION ...]
//!     Every function binary (or those named) and a bare lambda_http hello-world, each started
//!     cold under a Lambda Runtime API stand-in: init, first invoke (with and without the
//!     DynamoDB connection made ready during init), warm invoke, peak RSS, stripped size, zip.
//!     Needs the emulator (`ADMIT_TEST_AWS_ENDPOINT`).
//!
//!   admit-bench heat [--scale F] [--seconds N] [--entries N]
//!     The target load of docs/scale.md in simulated seconds, on the embedded store behind a
//!     store that charges each partition DynamoDB's units: the hottest partitions per phase.
//!
//!   admit-bench latency [--walks N]
//!     Every endpoint's successful request in process on the embedded store: p50 and p99, and
//!     one password hash on its own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "a bench: a failed step stops it loudly, and the Runtime API stand-in gives each \
              event a real deadline"
)]

use admit_functions::{Endpoint, ENDPOINTS};
use admit_tests::walk::{self, InProcess, Step, Watch};
use admit_tests::{gateway_event, Backend, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

mod heat;

const HELLO: &str = "lambda-hello";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args
        .split_first()
        .map_or(("", &[][..]), |(c, r)| (c.as_str(), r));
    let mut opts = Opts::default();
    let mut names = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let mut number = |what: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{what} takes a whole number")))
        };
        match a.as_str() {
            "--runs" => opts.runs = number("--runs"),
            "--warm" => opts.warm = number("--warm"),
            "--walks" => opts.walks = number("--walks"),
            "--seconds" => opts.heat.seconds = number("--seconds"),
            "--entries" => opts.heat.report_entries = number("--entries"),
            "--scale" => {
                opts.heat.scale = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|f: &f64| *f > 0.0 && *f <= 1.0)
                    .unwrap_or_else(|| usage("--scale takes a fraction above 0, at most 1"))
            }
            "--bin-dir" => {
                opts.bin_dir = it
                    .next()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| usage("--bin-dir takes a directory"))
            }
            name if !name.starts_with('-') => names.push(name.to_string()),
            other => usage(&format!("unknown option {other}")),
        }
    }
    match command {
        "cold" => cold(&opts, &names).await,
        "latency" => latency(&opts).await,
        "heat" => heat::heat(&opts.heat).await,
        _ => usage("the command is cold, latency or heat"),
    }
}

fn usage(why: &str) -> ! {
    eprintln!(
        "{why}\nusage: admit-bench cold [--runs N] [--warm N] [--bin-dir DIR] [FUNCTION ...]\n       admit-bench latency [--walks N]\n       admit-bench heat [--scale F] [--seconds N] [--entries N]"
    );
    std::process::exit(2)
}

struct Opts {
    runs: usize,
    warm: usize,
    walks: usize,
    bin_dir: PathBuf,
    heat: heat::HeatOpts,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            runs: 7,
            warm: 5,
            walks: 30,
            bin_dir: PathBuf::from("target/release"),
            heat: heat::HeatOpts {
                scale: 0.005,
                seconds: 20,
                report_entries: 20_000,
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The Lambda Runtime API stand-in

/// What the stand-in saw the runtime do, and when (a failure's body is printed with `{:?}`).
#[derive(Debug)]
#[allow(
    dead_code,
    reason = "an error's body is read through Debug, in the bench's message"
)]
enum Seen {
    /// `GET /invocation/next`: the runtime waits for an event (the first ends init).
    Next(Instant),
    Response(String, Instant),
    Error(String),
    InitError(String),
}

/// The Runtime API (`/2018-06-01/runtime/...`) on loopback, as Lambda serves it to a function's
/// process: events go out on `next`, answers come back on `response` or `error`.
struct RuntimeApi {
    addr: SocketAddr,
    seen: mpsc::UnboundedReceiver<Seen>,
    events: mpsc::UnboundedSender<(String, String)>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel::<(String, String)>();
        let events_rx = Arc::new(Mutex::new(events_rx));
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve(stream, seen_tx.clone(), events_rx.clone()));
            }
        });
        RuntimeApi {
            addr,
            seen,
            events,
            server,
        }
    }

    async fn wait(&mut self, within: Duration) -> Option<Seen> {
        tokio::time::timeout(within, self.seen.recv())
            .await
            .ok()
            .flatten()
    }
}

/// One connection of the runtime's HTTP client (kept alive between requests).
async fn serve(
    stream: TcpStream,
    seen: mpsc::UnboundedSender<Seen>,
    events: Arc<Mutex<mpsc::UnboundedReceiver<(String, String)>>>,
) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    while let Some((method, path, body)) = read_request(&mut read).await {
        let reply = match (method.as_str(), path.as_str()) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                let _ = seen.send(Seen::Next(Instant::now()));
                let Some((id, event)) = events.lock().await.recv().await else {
                    return;
                };
                let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     lambda-runtime-aws-request-id: {id}\r\n\
                     lambda-runtime-deadline-ms: {deadline}\r\n\
                     lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                     lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\
                     content-length: {}\r\n\r\n{event}",
                    event.len()
                )
            }
            ("POST", "/2018-06-01/runtime/init/error") => {
                let _ = seen.send(Seen::InitError(body));
                accepted()
            }
            ("POST", p) if p.ends_with("/response") => {
                let _ = seen.send(Seen::Response(body, Instant::now()));
                accepted()
            }
            ("POST", p) if p.ends_with("/error") => {
                let _ = seen.send(Seen::Error(body));
                accepted()
            }
            _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_string(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn accepted() -> String {
    let body = r#"{"status":"OK"}"#;
    format!(
        "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One HTTP/1.1 request: method, path and body (`Content-Length` or chunked).
async fn read_request<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Option<(String, String, String)> {
    let mut line = String::new();
    r.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await.ok().filter(|n| *n > 0)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.trim().eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        r.read_exact(&mut body).await.ok()?;
    }
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

// ---------------------------------------------------------------------------------------------
// Cold starts

/// One cold start's figures.
struct Cold {
    init: Duration,
    first: Duration,
    warm: Duration,
    peak_rss_kib: u64,
    first_status: String,
}

/// Starts `bin` as Lambda would, with `env`; delivers `event` once cold and `warm` times more;
/// returns what it measured, or why the function failed.
async fn cold_start(
    bin: &Path,
    env: &[(String, String)],
    event: &str,
    warm: usize,
    log: &Path,
) -> Result<Cold, String> {
    let mut api = RuntimeApi::start().await;
    let out = std::fs::File::create(log).unwrap();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let pid = child.id();
    let result = async {
        let init = match api.wait(Duration::from_secs(30)).await {
            Some(Seen::Next(at)) => at - started,
            other => return Err(format!("no first `next`: {other:?}")),
        };
        let mut times = Vec::new();
        let mut first_status = String::new();
        for i in 0..=warm {
            let sent = Instant::now();
            api.events
                .send((format!("bench-{i}"), event.to_string()))
                .map_err(|_| "the stand-in stopped".to_string())?;
            match api.wait(Duration::from_secs(30)).await {
                Some(Seen::Response(body, at)) => {
                    times.push(at - sent);
                    if i == 0 {
                        first_status = serde_json::from_str::<Value>(&body)
                            .ok()
                            .and_then(|v| v.get("statusCode").and_then(Value::as_u64))
                            .map_or_else(|| "event".to_string(), |s| s.to_string());
                    }
                }
                other => return Err(format!("invoke {i}: {other:?}")),
            }
            match api.wait(Duration::from_secs(30)).await {
                Some(Seen::Next(_)) => {}
                other => return Err(format!("after invoke {i}: {other:?}")),
            }
        }
        let first = times[0];
        let warm = median(&times[1..]);
        Ok(Cold {
            init,
            first,
            warm,
            peak_rss_kib: peak_rss_kib(pid),
            first_status,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result.map_err(|e| format!("{e}\n{}", std::fs::read_to_string(log).unwrap_or_default()))
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(d: &[Duration]) -> Duration {
    let mut d = d.to_vec();
    d.sort();
    match d.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => d[n / 2],
        n => (d[n / 2 - 1] + d[n / 2]) / 2,
    }
}

fn median_u64(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    match v.len() {
        0 => 0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The first API Gateway event of each endpoint the walk called, for the functions to be sent
/// (the walk itself sets up the store they will read).
#[derive(Default)]
struct Recorder {
    events: BTreeMap<&'static str, Value>,
}

impl Watch for Recorder {
    fn after(&mut self, step: &Step, _: Duration) {
        self.events
            .entry(step.endpoint)
            .or_insert_with(|| step.event.clone());
    }
}

/// The event a function is sent: the walk's request for it, or for one the walk does not make
/// (the pages, the dispatcher) a request of its own that reads the store.
fn event_for(e: &Endpoint, walked: &BTreeMap<&'static str, Value>) -> Value {
    if let Some(event) = walked.get(e.name) {
        return event.clone();
    }
    match e.routes.first() {
        Some(route) => {
            let path = if route.path.contains('{') {
                route.path.replace(['{', '}'], "")
            } else {
                format!("{}?token=bench-unknown-token", route.path)
            };
            gateway_event(route.method, &path, &[], None)
        }
        // The dispatcher's schedule: a sweep of the outbox.
        None => json!({
            "version": "0", "id": "bench-sweep", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-12-02T00:00:00Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/bench"],
            "detail": {}
        }),
    }
}

/// Stripped size of the binary and of its deployment zip (`bootstrap`, deflate level 9).
fn sizes(bin: &Path, dir: &Path) -> (u64, u64) {
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    let zip = dir.join("bootstrap.zip");
    let _ = std::fs::remove_file(&zip);
    let ok = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:\n\
             \x20   z.write(sys.argv[1], 'bootstrap')",
        )
        .arg(bin)
        .arg(&zip)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let zipped = if ok {
        std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0)
    } else {
        0
    };
    (size, zipped)
}

/// What a function's process is given: Lambda's variables, the template's, and the emulator.
fn environment(
    name: &str,
    memory: u32,
    t: &TestApp,
    table: &str,
    bus: &str,
    arns: &(String, String),
    prewarm: bool,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("_HANDLER", "bootstrap"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "test"),
        ("ADMIT_STAGE", "bench"),
        ("RUST_LOG", "info"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push((
        "AWS_LAMBDA_FUNCTION_NAME".into(),
        format!("admit-bench-{name}"),
    ));
    env.push(("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), memory.to_string()));
    env.push(("AWS_ENDPOINT_URL".into(), admit_tests::emulator_endpoint()));
    env.push(("ADMIT_TABLE".into(), table.to_string()));
    env.push(("ADMIT_MAIL_FROM".into(), t.app.config.mail_from.clone()));
    env.push(("ADMIT_EVENT_BUS".into(), bus.to_string()));
    env.push(("ADMIT_IOS_PLATFORM_ARN".into(), arns.0.clone()));
    env.push(("ADMIT_ANDROID_PLATFORM_ARN".into(), arns.1.clone()));
    env.push((
        "ADMIT_PREWARM".into(),
        if prewarm { "on" } else { "off" }.into(),
    ));
    // The emulator's TLS root (scripts/bench puts it beside the system's roots).
    if let Ok(roots) = std::env::var("SSL_CERT_FILE") {
        env.push(("SSL_CERT_FILE".into(), roots));
    }
    env
}

/// Figures of one binary over its cold starts.
#[derive(Default)]
struct Figures {
    init: Vec<Duration>,
    init_prewarm: Vec<Duration>,
    first: Vec<Duration>,
    first_prewarm: Vec<Duration>,
    warm: Vec<Duration>,
    rss: Vec<u64>,
    /// Every answer the first invoke got (a replayed one-time action answers differently once
    /// it is spent).
    statuses: Vec<String>,
    memory: u32,
    size: u64,
    zip: u64,
}

async fn cold(opts: &Opts, names: &[String]) {
    let endpoints: Vec<&Endpoint> = ENDPOINTS
        .iter()
        .filter(|e| names.is_empty() || names.iter().any(|n| n == e.name))
        .collect();
    if endpoints.is_empty() {
        usage("no such function");
    }
    let work = PathBuf::from("target/bench");
    std::fs::create_dir_all(&work).unwrap();

    // The store the functions read: the walk's company, every endpoint called once.
    let t = TestApp::new(Backend::Emulator).await;
    let (admin_key, app_key) = walk::company(&t).await;
    let mut door = InProcess {
        app: t.app.clone(),
        watch: Recorder::default(),
    };
    walk::every_endpoint(&t, &admin_key, &app_key, &mut door).await;
    let mut recorder = door.watch;
    // The walk ends by signing the member out: the member's other requests get a new session,
    // so they do their work again rather than answer 401 (logout keeps the ended one).
    let ended = recorder.events["logout_user"]["headers"]["x-nextinteract-authtoken"]
        .as_str()
        .unwrap()
        .to_string();
    let fresh = admit_tests::auth_token(&t.app, walk::MEMBER, walk::PW).await;
    for (name, event) in recorder.events.iter_mut() {
        if *name != "logout_user" {
            *event = serde_json::from_str(&event.to_string().replace(&ended, &fresh)).unwrap();
        }
    }
    let table = t.dynamo.as_ref().unwrap().1.clone();
    let sdk = admit_tests::emulator_sdk().await;
    let bus = "admit-bench-events";
    let _ = aws_sdk_eventbridge::Client::new(&sdk)
        .create_event_bus()
        .name(bus)
        .send()
        .await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let mut arns = Vec::new();
    for (name, platform) in [("bench-ios", "APNS"), ("bench-android", "GCM")] {
        let made = sns
            .create_platform_application()
            .name(name)
            .platform(platform)
            .send()
            .await
            .unwrap();
        arns.push(
            made.platform_application_arn()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let arns = (arns[0].clone(), arns[1].clone());

    let mut figures: BTreeMap<String, Figures> = BTreeMap::new();
    let mut targets: Vec<(String, PathBuf, u32, String)> = vec![(
        HELLO.to_string(),
        opts.bin_dir.join(HELLO),
        128,
        recorder.events["login_user"].to_string(),
    )];
    for e in &endpoints {
        targets.push((
            e.name.to_string(),
            opts.bin_dir.join(e.name),
            e.memory,
            event_for(e, &recorder.events).to_string(),
        ));
    }
    for (name, bin, memory, _) in &targets {
        let (size, zip) = sizes(bin, &work);
        figures.insert(
            name.clone(),
            Figures {
                memory: *memory,
                size,
                zip,
                ..Figures::default()
            },
        );
    }
    // Rounds: every binary, the hello-world among them, once per round with the warm-up off
    // and once with it on, which of the two goes first alternating from round to round, so
    // neither the machine's load nor what earlier replays wrote to the table favours one.
    for round in 0..opts.runs {
        eprintln!("round {} of {}", round + 1, opts.runs);
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for (name, bin, memory, event) in &targets {
            for prewarm in order {
                let env = environment(name, *memory, &t, &table, bus, &arns, prewarm);
                let log = work.join(format!("{name}.log"));
                let got = cold_start(bin, &env, event, opts.warm, &log)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let f = figures.get_mut(name).unwrap();
                if prewarm {
                    f.init_prewarm.push(got.init);
                    f.first_prewarm.push(got.first);
                } else {
                    f.init.push(got.init);
                    f.first.push(got.first);
                }
                f.warm.push(got.warm);
                f.rss.push(got.peak_rss_kib);
                if !f.statuses.contains(&got.first_status) {
                    f.statuses.push(got.first_status);
                }
            }
        }
    }
    report(&figures, opts);
}

fn report(figures: &BTreeMap<String, Figures>, opts: &Opts) {
    let hello = &figures[HELLO];
    let hello_init = median(&hello.init);
    println!(
        "\nCold starts under a Lambda Runtime API stand-in: medians of {} per binary, each with \
         the DynamoDB warm-up off and on; {} warm invokes each.\n",
        opts.runs, opts.warm
    );
    println!(
        "| function | MB | init ms | x hello | init, warm-up on | first invoke ms | first, warm-up on | warm invoke ms | first (on) / warm | peak RSS MiB | stripped B | zip B | status |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    let mut first_ratios = Vec::new();
    for (name, f) in figures {
        let init = median(&f.init);
        let ratio = ms(init) / ms(hello_init).max(f64::EPSILON);
        let warm = median(&f.warm);
        let first_on = median(&f.first_prewarm);
        let first_ratio = ms(first_on) / ms(warm).max(f64::EPSILON);
        if name != HELLO {
            ratios.push(ratio);
            first_ratios.push((first_ratio, name.clone()));
        }
        println!(
            "| `{name}` | {} | {:.2} | {ratio:.2}x | {:.2} | {:.2} | {:.2} | {:.2} | {first_ratio:.2}x | {:.1} | {} | {} | {} |",
            f.memory,
            ms(init),
            ms(median(&f.init_prewarm)),
            ms(median(&f.first)),
            ms(first_on),
            ms(warm),
            median_u64(&f.rss) as f64 / 1024.0,
            f.size,
            f.zip,
            f.statuses.join("/"),
        );
    }
    if ratios.is_empty() {
        return;
    }
    ratios.sort_by(f64::total_cmp);
    let functions: Vec<(&String, &Figures)> = figures.iter().filter(|(n, _)| *n != HELLO).collect();
    let max_zip = functions.iter().map(|(_, f)| f.zip).max().unwrap_or(0);
    let max_rss = functions
        .iter()
        .map(|(_, f)| median_u64(&f.rss))
        .max()
        .unwrap_or(0);
    let worst_first = first_ratios
        .iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .cloned()
        .unwrap_or_default();
    println!(
        "\ninit against the hello-world ({:.2} ms): {:.2}x to {:.2}x, median {:.2}x (target 1.5x)",
        ms(hello_init),
        ratios[0],
        ratios[ratios.len() - 1],
        ratios[ratios.len() / 2]
    );
    let mut with_warm_up: Vec<f64> = functions
        .iter()
        .map(|(_, f)| ms(median(&f.init_prewarm)))
        .collect();
    with_warm_up.sort_by(f64::total_cmp);
    println!(
        "init with the warm-up (the deployed default): {:.2} to {:.2} ms, median {:.2}",
        with_warm_up[0],
        with_warm_up[with_warm_up.len() - 1],
        with_warm_up[with_warm_up.len() / 2]
    );
    println!(
        "first invoke (warm-up on) against a warm invoke: at most {:.2}x ({}) (target 2x)",
        worst_first.0, worst_first.1
    );
    println!(
        "largest zip: {max_zip} B (target under 4 MB, 4,194,304 B); largest peak RSS: {:.1} MiB (target under 48 MiB)",
        max_rss as f64 / 1024.0
    );
}

// ---------------------------------------------------------------------------------------------
// In-process latency

/// How long each endpoint's handler took, every time the walk called it.
#[derive(Default)]
struct Timed {
    times: BTreeMap<&'static str, Vec<Duration>>,
}

impl Watch for Timed {
    fn after(&mut self, step: &Step, took: Duration) {
        self.times.entry(step.endpoint).or_default().push(took);
    }
}

/// Whether an endpoint hashes passwords: the table gives those, and only those, the memory for
/// it (a test holds it to that).
fn hashes_passwords(name: &str) -> bool {
    ENDPOINTS
        .iter()
        .any(|e| e.name == name && e.memory == admit_functions::HASHING_MEMORY)
}

async fn latency(opts: &Opts) {
    let mut times: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    for i in 0..opts.walks {
        eprintln!("walk {} of {}", i + 1, opts.walks);
        let t = TestApp::new(Backend::Embedded).await;
        let (admin_key, app_key) = walk::company(&t).await;
        let mut door = InProcess {
            app: t.app.clone(),
            watch: Timed::default(),
        };
        walk::every_endpoint(&t, &admin_key, &app_key, &mut door).await;
        let timed = door.watch;
        for (name, d) in timed.times {
            times.entry(name).or_default().extend(d);
        }
    }
    let mut hashes = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        admit_shared::domain::secrets::hash_password(walk::PW).unwrap();
        hashes.push(started.elapsed());
    }
    let hash = median(&hashes);
    println!(
        "\nIn-process latency on the embedded store, {} walks (every endpoint's successful \
         request; p99 of n samples is the slowest but n/100).\n",
        opts.walks
    );
    println!("| endpoint | n | p50 ms | p99 ms | hashes a password |");
    println!("|---|---|---|---|---|");
    for (name, mut d) in times {
        d.sort();
        let p = |q: f64| d[((d.len() as f64 * q).ceil() as usize).clamp(1, d.len()) - 1];
        println!(
            "| `{name}` | {} | {:.2} | {:.2} | {} |",
            d.len(),
            ms(p(0.5)),
            ms(p(0.99)),
            if hashes_passwords(name) { "yes" } else { "" }
        );
    }
    println!(
        "\none Argon2id hash (19 MiB, 2 passes, 1 lane) on this machine: {:.2} ms (median of 20)",
        ms(hash)
    );
}
