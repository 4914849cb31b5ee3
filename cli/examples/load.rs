//! A bounded mixed load against `admit serve` on loopback, and a soak: `scripts/load` runs it.
//!
//! It starts its own `admit serve` (the binary given by `--admit`) on a free loopback port and
//! an empty data directory, with the hourly limits raised, signs in as the demo admin, then
//! `--clients` threads send a mix of reads, writes that email, and logins for `--seconds`. It
//! prints, per endpoint, the requests served, the errors (5xx or no answer), the conflicts
//! (409, which a client retries), p50 and p99; and, every `--sample` seconds, the server's
//! resident memory and the store journal's size, so a soak shows whether they stay flat. Only
//! loopback is ever a target.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "a measuring tool: a failed step ends it loudly, and it reads the wall clock to time"
)]

use admit_tests::http_request;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Options {
    admit: String,
    /// Only the operations whose name contains this (a way to find what costs).
    only: Option<String>,
    seconds: u64,
    clients: usize,
    sample: u64,
}

fn options() -> Options {
    let mut o = Options {
        admit: "target/release/admit".into(),
        only: None,
        seconds: 20,
        clients: 8,
        sample: 5,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--admit" => o.admit = value,
            "--only" => o.only = Some(value),
            "--seconds" => o.seconds = value.parse().expect("--seconds N"),
            "--clients" => o.clients = value.parse().expect("--clients N"),
            "--sample" => o.sample = value.parse().expect("--sample N"),
            other => panic!("unknown option {other}: --admit PATH --seconds N --clients N --sample N --only TEXT"),
        }
    }
    assert!(
        o.seconds <= 3600 && o.clients <= 64,
        "a bounded run: at most an hour and 64 clients"
    );
    o
}

/// One operation of the mix: its name and how to send it (the client's number and a counter
/// make each write unique).
type Op = (&'static str, fn(&Ctx, u64) -> u16);

struct Ctx {
    base: String,
    token: String,
    admin_key: String,
    app_key: String,
}

fn status(got: (u16, serde_json::Value)) -> u16 {
    got.0
}

const MIX: &[Op] = &[
    ("GET /rest/company/teams/public", |c, _| {
        status(http_request(
            &format!("{}/rest/company/teams/public", c.base),
            "GET",
            &[("x-nextinteract-company-api-key", &c.app_key)],
            None,
        ))
    }),
    ("GET /rest/user/notifications", |c, _| {
        status(http_request(
            &format!("{}/rest/user/notifications", c.base),
            "GET",
            &[("x-nextinteract-authtoken", &c.token)],
            None,
        ))
    }),
    ("GET /api/businesses/1/settings", |c, _| {
        let b = format!("Bearer {}", c.token);
        status(http_request(
            &format!("{}/api/businesses/1/settings", c.base),
            "GET",
            &[("authorization", &b)],
            None,
        ))
    }),
    ("GET /api/businesses/1/invitations", |c, _| {
        let b = format!("Bearer {}", c.token);
        status(http_request(
            &format!("{}/api/businesses/1/invitations?Limit=20", c.base),
            "GET",
            &[("authorization", &b)],
            None,
        ))
    }),
    ("POST /rest/company/membership/teams/assign", |c, n| {
        let body = json!({"userId": 1, "teams": [n % 3 + 1], "sendNotification": n % 4 == 0});
        status(http_request(
            &format!("{}/rest/company/membership/teams/assign", c.base),
            "POST",
            &[("x-nextinteract-company-api-key", &c.admin_key)],
            Some(&body.to_string()),
        ))
    }),
    ("POST /rest/user/miinvite", |c, n| {
        let body = json!({"companyId": 1, "contact": {"firstname": "Load", "lastname": "Test", "email1": format!("load-{n}@example.com")}});
        status(http_request(
            &format!("{}/rest/user/miinvite", c.base),
            "POST",
            &[("x-nextinteract-authtoken", &c.token)],
            Some(&body.to_string()),
        ))
    }),
    ("POST /api/rest/v1/management/user/activity", |c, _| {
        let b = format!("Bearer {}", c.token);
        let body = json!({"userIds": [], "dateFrom": "2020-01-01T00:00:00Z", "dateTo": "2100-01-01T00:00:00Z", "pageSize": 20});
        status(http_request(
            &format!("{}/api/rest/v1/management/user/activity", c.base),
            "POST",
            &[("authorization", &b)],
            Some(&body.to_string()),
        ))
    }),
    ("POST /rest/user/login", |c, _| {
        let body = json!({"emailAddress": "demo@admit.example", "password": "demo-pass-2026"});
        status(http_request(
            &format!("{}/rest/user/login", c.base),
            "POST",
            &[],
            Some(&body.to_string()),
        ))
    }),
];

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let o = options();
    let dir = std::env::temp_dir().join(format!("admit-load-{}", std::process::id()));
    let data = dir.join("data");
    let high = "1000000";
    let mut child = Command::new(&o.admit)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .envs([
            ("ADMIT_LIMIT_SENDER_PER_HOUR", high),
            ("ADMIT_LIMIT_RECIPIENT_PER_HOUR", high),
            ("ADMIT_LIMIT_COMPANY_PER_HOUR", high),
            ("ADMIT_LIMIT_LOGIN_IP_PER_HOUR", high),
            ("ADMIT_LIMIT_REGISTER_IP_PER_HOUR", high),
            ("RUST_LOG", "warn"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e} (scripts/load builds it)", o.admit));
    let mut banner = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("admit serve exited").unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if let Some(url) = line.strip_prefix("admit listening on ") {
            break url.to_string();
        }
    };
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "loopback only: {base}"
    );
    let key = |label: &str| {
        banner
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap()
            .trim()
            .to_string()
    };
    let login = http_request(
        &format!("{base}/rest/user/login"),
        "POST",
        &[],
        Some(r#"{"emailAddress":"demo@admit.example","password":"demo-pass-2026"}"#),
    );
    let ctx = Arc::new(Ctx {
        base: base.clone(),
        token: login.1["authToken"].as_str().unwrap().to_string(),
        admin_key: key("admin API key:"),
        app_key: key("app API key:"),
    });

    let latencies: Arc<Mutex<BTreeMap<&'static str, Vec<f64>>>> = Arc::default();
    let failures: Arc<Mutex<BTreeMap<&'static str, (u64, u64)>>> = Arc::default();
    let counter = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let clients: Vec<_> = (0..o.clients)
        .map(|c| {
            let (ctx, latencies, failures, counter) = (
                ctx.clone(),
                latencies.clone(),
                failures.clone(),
                counter.clone(),
            );
            let only = o.only.clone();
            std::thread::spawn(move || {
                let mut i = c;
                while Instant::now() < deadline {
                    // Logins (an Argon2 hash each) are one request in twenty.
                    let (name, send) = if i % 20 == 19 { MIX[7] } else { MIX[i % 7] };
                    if only
                        .as_deref()
                        .is_some_and(|o| !o.split(',').any(|p| name.contains(p)))
                    {
                        i += 1;
                        continue;
                    }
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let status =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| send(&ctx, n)))
                            .unwrap_or(0);
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    latencies.lock().unwrap().entry(name).or_default().push(ms);
                    let mut f = failures.lock().unwrap();
                    let e = f.entry(name).or_default();
                    if status >= 500
                        || status == 0
                        || ((400..500).contains(&status) && status != 409)
                    {
                        e.0 += 1;
                    } else if status == 409 {
                        e.1 += 1;
                    }
                    i += 1;
                }
            })
        })
        .collect();
    let pid = child.id();
    let journal = data.join("store").join("store.journal");
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let size = std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0);
                samples.push((started.elapsed().as_secs(), rss_kib(pid), size));
                std::thread::sleep(Duration::from_secs(o.sample));
            }
            samples
        })
    };
    for c in clients {
        c.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let latencies = latencies.lock().unwrap();
    let failures = failures.lock().unwrap();
    let total: usize = latencies.values().map(Vec::len).sum();
    let errors: u64 = failures.values().map(|f| f.0).sum();
    println!("admit load: {} clients, {elapsed:.1} s, {total} requests, {:.0} requests/s, {errors} errors", o.clients, total as f64 / elapsed);
    println!();
    println!("| endpoint | requests | errors | 409 (retried by clients) | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    for (name, l) in latencies.iter() {
        let mut sorted = l.clone();
        sorted.sort_by(f64::total_cmp);
        let (e, conflicts) = failures.get(name).copied().unwrap_or_default();
        println!(
            "| `{name}` | {} | {e} | {conflicts} | {:.2} | {:.2} |",
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99)
        );
    }
    println!();
    println!("| second | server RSS (KiB) | store journal (bytes) |");
    println!("|---|---|---|");
    for (s, rss, size) in &samples {
        println!("| {s} | {rss} | {size} |");
    }
    if errors > 0 {
        std::process::exit(1);
    }
}
