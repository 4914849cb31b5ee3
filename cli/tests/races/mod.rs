//! Races against one `admit serve` (the embedded store serialises transactions as DynamoDB
//! does): 50 requests at once per scenario, then the stored state is checked. One user per
//! email; one pending invitation per company and address; one membership from 50 accepts of
//! one invitation; revoke racing accept has one winner; 50 team assignments lose no team and
//! count every notification; and, the server stopped, no guard or token item in the store
//! points at nothing.

use super::{serve_with, Server};
use admit_tests::{http_request, temp_dir};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Arc;

const AT_ONCE: usize = 50;

/// `n` requests at once (each thread waits at a barrier, then sends): the statuses and bodies.
fn at_once(
    n: usize,
    request: impl Fn(usize) -> (u16, Value) + Send + Sync + 'static,
) -> Vec<(u16, Value)> {
    let request = Arc::new(request);
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (request, barrier) = (request.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                request(i)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("a thread"))
        .collect()
}

fn statuses(got: &[(u16, Value)]) -> BTreeMap<u16, usize> {
    let mut count = BTreeMap::new();
    for (s, _) in got {
        *count.entry(*s).or_insert(0) += 1;
    }
    count
}

fn token_mailed(mail: &std::path::Path, to: &str) -> String {
    for _ in 0..100 {
        let mut found = Vec::new();
        for e in std::fs::read_dir(mail).into_iter().flatten().flatten() {
            let raw = std::fs::read_to_string(e.path()).unwrap_or_default();
            let m = admit_shared::ports::mail::mime::parse(&raw);
            if m.to == to {
                if let Some(t) = admit_tests::link_token(&m.text, "accept?token=") {
                    found.push((e.file_name(), t));
                }
            }
        }
        found.sort();
        if let Some((_, t)) = found.pop() {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no invitation to {to}");
}

struct World {
    server: Server,
    token: String,
    admin_key: String,
    app_key: String,
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }
}

fn world(dir: &std::path::Path) -> World {
    let high = "100000";
    let server = serve_with(
        dir,
        Stdio::null(),
        &[
            ("ADMIT_LIMIT_SENDER_PER_HOUR", high),
            ("ADMIT_LIMIT_RECIPIENT_PER_HOUR", high),
            ("ADMIT_LIMIT_COMPANY_PER_HOUR", high),
            ("ADMIT_LIMIT_LOGIN_IP_PER_HOUR", high),
            ("ADMIT_LIMIT_REGISTER_IP_PER_HOUR", high),
        ],
    );
    let key = |label: &str| {
        server
            .banner
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .expect("a key in the banner")
            .trim()
            .to_string()
    };
    let (admin_key, app_key) = (key("admin API key:"), key("app API key:"));
    let (_, login) = http_request(
        &format!("{}/rest/user/login", server.base),
        "POST",
        &[],
        Some(super::DEMO_LOGIN),
    );
    let token = login["authToken"].as_str().expect("a token").to_string();
    World {
        server,
        token,
        admin_key,
        app_key,
    }
}

#[test]
fn fifty_requests_at_once_leave_consistent_state() {
    let dir = temp_dir("races");
    let data = dir.join("data");
    let mail = data.join("mail");
    let w = Arc::new(world(&data));

    // One user per email: 50 registrations of one address, each with its own password.
    let w2 = w.clone();
    let got = at_once(AT_ONCE, move |i| {
        let body = json!({"version": 2, "apiKey": w2.app_key, "emailAddress": "race@example.com",
            "password": format!("Race-pass-{i:04}"), "firstName": "R", "lastName": "C"});
        http_request(
            &w2.url("/rest/user/mi/selfregister"),
            "POST",
            &[],
            Some(&body.to_string()),
        )
    });
    let count = statuses(&got);
    assert_eq!(count.get(&200), Some(&1), "{count:?}");
    assert_eq!(count.get(&409), Some(&(AT_ONCE - 1)), "{count:?}");
    let won = got.iter().position(|g| g.0 == 200).expect("a winner");
    let sign_in = |i: usize| {
        let body =
            json!({"emailAddress": "race@example.com", "password": format!("Race-pass-{i:04}")});
        http_request(
            &w.url("/rest/user/login"),
            "POST",
            &[],
            Some(&body.to_string()),
        )
        .0
    };
    assert_eq!(
        sign_in((won + 1) % AT_ONCE),
        401,
        "a loser's password is not the account's"
    );
    assert_eq!(sign_in(won), 200, "one account, with the winner's password");

    // One pending invitation per company and address: 50 invitations of one address at once.
    let w2 = w.clone();
    let got = at_once(AT_ONCE, move |_| {
        let body = json!({"companyId": 1, "contact": {"firstname": "Pat", "lastname": "Race", "email1": "pat@example.com"}});
        http_request(
            &w2.url("/rest/user/miinvite"),
            "POST",
            &[("x-nextinteract-authtoken", &w2.token)],
            Some(&body.to_string()),
        )
    });
    // A request that reads the address after another's invitation committed is told to wait
    // (the address was invited a moment ago: 429); one that raced it to the write, 409.
    for (s, b) in &got {
        assert!([200, 409, 429].contains(s), "{s}: {b}");
        if *s == 429 {
            assert_eq!(b["exception"], json!("WSTooManyRequestsException"), "{b}");
        }
    }
    let bearer = format!("Bearer {}", w.token);
    let (status, list) = http_request(
        &w.url("/api/businesses/1/invitations?Status=pending"),
        "GET",
        &[("authorization", &bearer)],
        None,
    );
    assert_eq!(status, 200, "{list}");
    let pending: Vec<&Value> = list["Invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .filter(|i| i["EmailAddress"] == json!("pat@example.com"))
        .collect();
    assert_eq!(pending.len(), 1, "{list}");

    // 50 accepts of one invitation: one membership, with the winner's password.
    let token = token_mailed(&mail, "pat@example.com");
    let w2 = w.clone();
    let t2 = token.clone();
    let got = at_once(AT_ONCE, move |i| {
        let body = json!({"token": t2, "password": format!("Pat-pass-{i:04}")});
        http_request(
            &w2.url("/rest/user/miinvite/accept"),
            "POST",
            &[],
            Some(&body.to_string()),
        )
    });
    let count = statuses(&got);
    assert_eq!(count.get(&200), Some(&1), "{count:?}");
    assert!(
        count.iter().all(|(s, _)| [200, 404, 409].contains(s)),
        "{count:?}"
    );
    let pat_winner = got.iter().position(|g| g.0 == 200).expect("a winner");
    let winner = &got[pat_winner];
    let user = winner.1["userId"].as_u64().expect("the member's id");
    let (status, member) = http_request(
        &w.url(&format!("/rest/company/membership/user?userId={user}")),
        "GET",
        &[("x-nextinteract-company-api-key", &w.admin_key)],
        None,
    );
    assert_eq!(status, 200, "{member}");
    assert_eq!(member["membership"]["status"], json!("active"), "{member}");

    // Revoke racing accept: one winner, and the state says which.
    let body = json!({"companyId": 1, "contact": {"firstname": "Kim", "lastname": "Race", "email1": "kim@example.com"}});
    let (status, b) = http_request(
        &w.url("/rest/user/miinvite"),
        "POST",
        &[("x-nextinteract-authtoken", &w.token)],
        Some(&body.to_string()),
    );
    assert_eq!(status, 200, "{b}");
    let token = token_mailed(&mail, "kim@example.com");
    let w2 = w.clone();
    let got = at_once(AT_ONCE, move |i| {
        if i % 2 == 0 {
            let body = json!({"token": token, "password": "Kim-pass-2026", "firstName": "Kim", "lastName": "Race"});
            http_request(
                &w2.url("/rest/user/miinvite/accept"),
                "POST",
                &[],
                Some(&body.to_string()),
            )
        } else {
            let body = json!({"EmailAddress": "kim@example.com"});
            let bearer = format!("Bearer {}", w2.token);
            http_request(
                &w2.url("/api/businesses/1/invitations/revoke"),
                "POST",
                &[("authorization", &bearer)],
                Some(&body.to_string()),
            )
        }
    });
    let accepted = got
        .iter()
        .enumerate()
        .filter(|(i, g)| i % 2 == 0 && g.0 == 200)
        .count();
    let revoked = got
        .iter()
        .enumerate()
        .filter(|(i, g)| i % 2 == 1 && g.0 == 200)
        .count();
    assert_eq!(accepted + revoked, 1, "one winner: {:?}", statuses(&got));
    let kim = json!({"emailAddress": "kim@example.com", "password": "Kim-pass-2026"});
    let can_sign_in = http_request(
        &w.url("/rest/user/login"),
        "POST",
        &[],
        Some(&kim.to_string()),
    )
    .0 == 200;
    assert_eq!(
        can_sign_in,
        accepted == 1,
        "an account exists exactly when the accept won"
    );

    // 50 assignments at once, each to one of the three teams with a notification: no team is
    // lost and every notification is there.
    let w2 = w.clone();
    // A 409 says another change won the race: the client tries again, as it is told to.
    let got = at_once(AT_ONCE, move |i| {
        let body = json!({"userId": user, "teams": [i % 3 + 1], "sendNotification": true});
        let mut last = (0, Value::Null);
        for _ in 0..50 {
            last = http_request(
                &w2.url("/rest/company/membership/teams/assign"),
                "POST",
                &[("x-nextinteract-company-api-key", &w2.admin_key)],
                Some(&body.to_string()),
            );
            if last.0 != 409 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10 + (i as u64 % 7) * 5));
        }
        last
    });
    let done = got.iter().filter(|g| g.0 == 200).count();
    assert_eq!(
        done,
        AT_ONCE,
        "every assignment is made in the end: {:?}",
        statuses(&got)
    );
    let (_, member) = http_request(
        &w.url(&format!("/rest/company/membership/user?userId={user}")),
        "GET",
        &[("x-nextinteract-company-api-key", &w.admin_key)],
        None,
    );
    let teams: BTreeSet<u64> = member["membership"]["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let asked: BTreeSet<u64> = got
        .iter()
        .enumerate()
        .filter(|(_, g)| g.0 == 200)
        .map(|(i, _)| (i % 3 + 1) as u64)
        .collect();
    assert!(
        asked.is_subset(&teams),
        "lost a team: asked {asked:?}, has {teams:?}"
    );
    let pat_won = pat_winner;
    let body =
        json!({"emailAddress": "pat@example.com", "password": format!("Pat-pass-{pat_won:04}")});
    let (s_, b) = http_request(
        &w.url("/rest/user/login"),
        "POST",
        &[],
        Some(&body.to_string()),
    );
    assert_eq!(
        s_, 200,
        "the member signs in with the winner's password: {b}"
    );
    let pat_token = b["authToken"].as_str().unwrap().to_string();
    let (status, notes) = http_request(
        &w.url("/rest/user/notifications?limit=100"),
        "GET",
        &[("x-nextinteract-authtoken", &pat_token)],
        None,
    );
    assert_eq!(status, 200, "{notes}");
    let assignments = notes["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .filter(|n| n["kind"] == json!("teamAssignment"))
        .count();
    assert_eq!(
        assignments, done,
        "one notification per assignment that was made"
    );

    // The server stopped, the store is read back: no guard or token points at nothing.
    drop(
        Arc::try_unwrap(w)
            .ok()
            .expect("the world, once the threads are done"),
    );
    orphans(&data.join("store"));
}

/// Replays the embedded store's journal and checks that every guard and lookup item points at
/// an item that exists.
fn orphans(store: &std::path::Path) {
    let mut items: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(store)
        .expect("store dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n == "store.journal"))
        .collect();
    files.sort();
    for f in &files {
        for line in std::fs::read_to_string(f).unwrap_or_default().lines() {
            let Ok(entry) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            for w in entry["w"].as_array().into_iter().flatten() {
                if let Some(put) = w.get("put") {
                    let key = (
                        put["pk"].as_str().unwrap_or_default().to_string(),
                        put["sk"].as_str().unwrap_or_default().to_string(),
                    );
                    items.insert(key, put.clone());
                } else if let Some(del) = w.get("del") {
                    let key = (
                        del["pk"].as_str().unwrap_or_default().to_string(),
                        del["sk"].as_str().unwrap_or_default().to_string(),
                    );
                    items.remove(&key);
                }
            }
        }
    }
    assert!(
        items.len() > 20,
        "the journal was read: {} items from {files:?}",
        items.len()
    );
    let has = |pk: String, sk: &str| items.contains_key(&(pk, sk.to_string()));
    for ((pk, sk), item) in &items {
        if pk.starts_with("EMAIL#") && sk == "EMAIL" {
            let user = item["userId"].as_u64().unwrap_or(0);
            assert!(
                has(format!("USER#{user}"), "USER"),
                "{pk} points at no user"
            );
        }
        if sk.starts_with("CONTACTEMAIL#") {
            let contact = item["contactId"].as_u64().unwrap_or(0);
            assert!(
                has(pk.clone(), &format!("CONTACT#{contact}")),
                "{pk} {sk} points at no contact"
            );
        }
        if sk.starts_with("MEMBER#") {
            let user = item["userId"].as_u64().unwrap_or(0);
            assert!(
                has(format!("USER#{user}"), "USER"),
                "{pk} {sk}: a membership of no user"
            );
        }
        if pk.starts_with("INVITETOKEN#") && item.get("spent").is_none() {
            let company = item["companyId"].as_u64().unwrap_or(0);
            let email = item["email"].as_str().unwrap_or_default();
            assert!(
                has(format!("COMPANY#{company}"), &format!("INVITE#{email}")),
                "{pk} points at no invitation"
            );
        }
    }
}
