//! The rules table of docs/api.md ("Who may grant what"), walked against `admit serve` over
//! HTTP: each door, each kind of caller, what it may grant, and the `429` with `Retry-After` at
//! each limit (set low for the run through the `ADMIT_LIMIT_*` variables).

use super::{admit, serve_with};
use admit_tests::{captured_mail, temp_dir};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::process::Stdio;

const PW: &str = "Rules-pass-2026";

/// Status, `Retry-After` and JSON body of one request.
fn call(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Option<u64>, Value) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("a path");
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let (head, payload) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let retry = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("retry-after")
            .then(|| v.trim().parse().ok())
            .flatten()
    });
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload
            .split("\r\n")
            .skip(1)
            .step_by(2)
            .collect::<Vec<_>>()
            .join("")
    } else {
        payload.to_string()
    };
    let json = serde_json::from_str(&payload).unwrap_or(Value::String(payload));
    (status, retry, json)
}

fn provision(dir: &str) {
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data-dir", dir]);
        let (code, out, err) = admit(&all);
        assert_eq!(code, 0, "admit {args:?}: {err}");
        out
    };
    run(&["company", "create", "--name", "Acme"]);
    run(&[
        "team",
        "create",
        "--company",
        "1",
        "--name",
        "Lobby",
        "--public",
    ]);
    run(&["team", "create", "--company", "1", "--name", "Board"]);
    for (email, role) in [
        ("admin@acme.example", Some("admin")),
        ("rep@acme.example", Some("rep")),
        ("member@acme.example", Some("member")),
        ("guest@else.example", None),
    ] {
        let mut args = vec![
            "user",
            "create",
            "--email",
            email,
            "--password",
            PW,
            "--first",
            "A",
            "--last",
            "B",
        ];
        if let Some(role) = role {
            args.extend(["--company", "1", "--role", role]);
        }
        run(&args);
    }
}

/// The newest invitation token emailed to `to`, once the in-process dispatcher has sent it.
fn invitation_token(dir: &std::path::Path, to: &str) -> String {
    for _ in 0..100 {
        let found = captured_mail(&dir.join("mail"))
            .into_iter()
            .rev()
            .filter(|m| m.to == to)
            .find_map(|m| admit_tests::link_token(&m.text, "accept?token="));
        if let Some(t) = found {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no invitation emailed to {to}")
}

fn mi_body(email: &str, team: u64) -> String {
    json!({"companyId": 1, "contact": {"firstname": "N", "lastname": "P", "email1": email},
        "inviteTeams": [{"teamId": team}]})
    .to_string()
}

#[test]
fn every_door_keeps_the_rules_table() {
    let dir = temp_dir("e2e-rules");
    let d = dir.to_str().unwrap();
    provision(d);
    let s = serve_with(
        &dir,
        Stdio::null(),
        &[
            ("ADMIT_LIMIT_SENDER_PER_HOUR", "3"),
            ("ADMIT_LIMIT_RECIPIENT_PER_HOUR", "1"),
            ("ADMIT_LIMIT_LOGIN_IP_PER_HOUR", "40"),
        ],
    );
    let url = |p: &str| format!("{}{p}", s.base);
    let login = |email: &str| {
        let body = json!({"emailAddress": email, "password": PW}).to_string();
        let (status, _, got) = call(&url("/rest/user/login"), "POST", &[], Some(&body));
        assert_eq!(status, 200, "login {email}: {got}");
        got["authToken"].as_str().unwrap().to_string()
    };
    let admin = login("admin@acme.example");
    let rep = login("rep@acme.example");
    let member = login("member@acme.example");
    let mi = |token: &str, email: &str, team: u64| {
        call(
            &url("/rest/user/miinvite"),
            "POST",
            &[("x-nextinteract-authtoken", token)],
            Some(&mi_body(email, team)),
        )
    };
    let platform = |token: &str, email: &str| {
        let bearer = format!("Bearer {token}");
        let body = json!({"EmailAddresses": [email]}).to_string();
        call(
            &url("/api/users/invitations"),
            "POST",
            &[("Authorization", &bearer)],
            Some(&body),
        )
    };
    let site = |token: &str, body: Value| {
        let bearer = format!("Bearer {token}");
        call(
            &url("/api/rest/v1/management/users/invite"),
            "POST",
            &[("Authorization", &bearer)],
            Some(&body.to_string()),
        )
    };

    // inviteMIUser: a plain member grants public teams only; a rep any team.
    assert_eq!(mi(&member, "m1@new.example", 1).0, 200);
    let (status, _, body) = mi(&member, "m2@new.example", 2);
    assert_eq!(
        (status, body["exception"].clone()),
        (400, json!("WSInvalidTeamException"))
    );
    assert_eq!(mi(&rep, "r1@new.example", 2).0, 200);

    // The platform door, the same sender: its third email is the last of the hour.
    assert_eq!(platform(&member, "m3@new.example").0, 200);
    assert_eq!(mi(&member, "m4@new.example", 1).0, 200);
    let (status, retry, body) = platform(&member, "m5@new.example");
    assert_eq!(
        (status, body["Status"].clone()),
        (429, json!(429)),
        "{body}"
    );
    assert!(retry.is_some_and(|r| (1..=3600).contains(&r)), "{retry:?}");
    let (status, retry, body) = mi(&member, "m6@new.example", 1);
    assert_eq!(
        (status, body["exception"].clone()),
        (429, json!("WSTooManyRequestsException"))
    );
    assert!(retry.is_some());

    // The site door: the same address is emailed by the company once an hour.
    let (status, retry, body) = site(&admin, json!({"email": "m1@new.example"}));
    assert_eq!(status, 429, "{body}");
    assert!(
        body["message"].as_str().is_some() && retry.is_some(),
        "{body}"
    );

    // A user who is not a member gets an invitation, the same answer as an unknown address;
    // the site sees nothing of them until they accept.
    let (status, _, guest) = site(
        &admin,
        json!({"email": "guest@else.example", "duration": 2}),
    );
    assert_eq!(status, 200, "{guest}");
    let (_, _, unknown) = site(
        &admin,
        json!({"email": "nobody@else.example", "duration": 2}),
    );
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("email");
        v.as_object_mut().unwrap().remove("contactId");
        v.as_object_mut().unwrap().remove("invitationExpiresAt");
        v
    };
    assert_eq!(strip(guest.clone()), strip(unknown));
    assert_eq!(guest["status"], json!("invited"));
    let guest_token = login("guest@else.example");
    let report = |token: &str| {
        let bearer = format!("Bearer {token}");
        let body = json!({"userIds": [], "dateFrom": "2020-01-01T00:00:00Z", "dateTo": "2100-01-01T00:00:00Z"});
        call(
            &url("/api/rest/v1/management/user/activity"),
            "POST",
            &[("Authorization", &bearer)],
            Some(&body.to_string()),
        )
        .2
    };
    let seen = report(&admin);
    assert!(
        seen["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["userName"] != json!("guest@else.example")),
        "{seen}"
    );
    let token = invitation_token(&dir, "guest@else.example");
    let body = json!({"token": token, "password": PW}).to_string();
    let (status, _, accepted) = call(&url("/rest/user/miinvite/accept"), "POST", &[], Some(&body));
    assert_eq!(status, 200, "{accepted}");

    // Temporary access invites nobody, at any door.
    let (status, _, body) = mi(&guest_token, "g1@new.example", 1);
    assert_eq!(
        (status, body["exception"].clone()),
        (403, json!("WSNotPermittedException"))
    );
    assert_eq!(platform(&guest_token, "g2@new.example").0, 403);

    // The guest sees the business, with the end of the access, and leaves it.
    let bearer = format!("Bearer {guest_token}");
    let (status, _, mine) = call(
        &url("/api/users/me/businesses"),
        "GET",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine[0]["BusinessID"], json!(1));
    assert!(mine[0]["ExpiresAt"].is_string(), "{mine}");
    let (status, _, left) = call(
        &url("/api/users/me/businesses/1"),
        "DELETE",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(
        (status, left),
        (200, json!({"BusinessID": 1, "Status": "left"}))
    );
    let bearer = format!("Bearer {admin}");
    assert_eq!(
        call(
            &url("/api/users/me/businesses/1"),
            "DELETE",
            &[("Authorization", &bearer)],
            None
        )
        .0,
        403
    );

    // Logins from one source address to one account: past the limit, 429. Each account
    // address is counted apart (people behind one NAT address), an unknown one too, and it
    // ends with the same 429.
    let body = json!({"emailAddress": "admin@acme.example", "password": PW}).to_string();
    let mut limited = None;
    for _ in 0..60 {
        let got = call(&url("/rest/user/login"), "POST", &[], Some(&body));
        if got.0 == 429 {
            limited = Some(got);
            break;
        }
        assert_eq!(got.0, 200, "{}", got.2);
    }
    let (_, retry, body) = limited.expect("the login limit was reached");
    assert_eq!(body["exception"], json!("WSTooManyRequestsException"));
    assert!(retry.is_some());
    let unknown = json!({"emailAddress": "nobody@else.example", "password": PW}).to_string();
    let mut statuses = Vec::new();
    for _ in 0..60 {
        let got = call(&url("/rest/user/login"), "POST", &[], Some(&unknown)).0;
        statuses.push(got);
        if got == 429 {
            break;
        }
    }
    assert_eq!(
        statuses.first(),
        Some(&401),
        "another account has its own count"
    );
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
