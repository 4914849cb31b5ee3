//! Headless Chromium follows an invitation as a person would: in the developer inbox of a fresh
//! `admit serve`, it opens the invitation email, clicks its link, fills in the accept form,
//! submits it and sees the success page. Screenshots are kept in `target/browser/`. Chromium is
//! required: `./scripts/test` installs it, so a missing Chromium fails the test.

mod cdp;

use super::{serve, DEMO_LOGIN};
use admit_tests::{http_request, temp_dir};
use cdp::Browser;
use serde_json::json;

/// Where the screenshots go: the workspace's `target/browser/`.
fn artefacts() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&dir).expect("target/browser");
    dir
}

#[test]
fn chromium_accepts_an_invitation_from_the_dev_inbox() {
    let dir = temp_dir("browser");
    let s = serve(&dir.join("data"));
    let url = |p: &str| format!("{}{p}", s.base);
    let (_, login) = http_request(&url("/rest/user/login"), "POST", &[], Some(DEMO_LOGIN));
    let token = login["authToken"].as_str().expect("token").to_string();
    let invite = json!({"companyId": 1, "contact": {"firstname": "Jane", "lastname": "Mead", "email1": "jane@example.com"}, "inviteTeams": [{"teamId": 1}, {"teamId": 2}]});
    let (status, body) = http_request(
        &url("/rest/user/miinvite"),
        "POST",
        &[("x-nextinteract-authtoken", &token)],
        Some(&invite.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    wait_for_mail(&dir.join("data/mail"));

    let mut b = Browser::launch(&dir.join("profile"), 900, 1100);
    b.goto(&url("/_dev/inbox"));
    assert!(b.html().contains("Demo Admin invited you to Demo Company"));
    b.navigating(|b| b.click("a[href^='/_dev/inbox/']", 1));
    let email = b.html();
    let link = email
        .split("<a href=\"")
        .find_map(|a| {
            a.split('"')
                .next()
                .filter(|h| h.contains("accept?token=inv_"))
        })
        .expect("the accept link in the email")
        .to_string();
    assert!(
        link.starts_with(&url("/invitations/accept?token=")),
        "{link}"
    );
    b.navigating(|b| b.click("a[href*='/invitations/accept?token=inv_']", 1));
    let form = b.html();
    assert!(form.contains("<h1>Join Demo Company</h1>"), "{form}");
    assert!(form.contains("Demo Admin invited you"), "{form}");

    // Like a person: select the suggested first name and retype it, type a password, submit.
    b.click("#firstName", 3);
    b.type_text("Janet");
    b.click("#password", 1);
    b.type_text("Browser-pass-2026");
    let shot = b.screenshot();
    std::fs::write(artefacts().join("accept-form.png"), &shot).expect("write screenshot");
    b.navigating(|b| b.click("button[type='submit']", 1));
    let done = b.html();
    assert!(
        done.contains("<h1>You have joined Demo Company</h1>"),
        "{done}"
    );
    assert!(done.contains("<strong>jane@example.com</strong>"), "{done}");
    let shot = b.screenshot();
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 1000);
    std::fs::write(artefacts().join("accept-success.png"), &shot).expect("write screenshot");

    // The browser's form made the account: the password it typed logs in, with the name typed.
    let login = json!({"emailAddress": "jane@example.com", "password": "Browser-pass-2026"});
    let (status, body) = http_request(
        &url("/rest/user/login"),
        "POST",
        &[],
        Some(&login.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    let admin_key = s
        .banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("admin API key:"))
        .expect("the admin key in the banner")
        .trim()
        .to_string();
    let profile = url(&format!(
        "/rest/company/membership/user?userId={}",
        body["userId"]
    ));
    let key = [("x-nextinteract-company-api-key", admin_key.as_str())];
    let (status, member) = http_request(&profile, "GET", &key, None);
    assert_eq!(status, 200, "{member}");
    assert!(
        member.to_string().contains("\"firstName\":\"Janet\""),
        "{member}"
    );
    // The link again: used up.
    b.goto(&link);
    let used = b.html();
    assert!(
        used.contains("<h1>This invitation link no longer works</h1>"),
        "{used}"
    );
}

fn wait_for_mail(dir: &std::path::Path) {
    for _ in 0..100 {
        if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no email captured in {}", dir.display());
}
