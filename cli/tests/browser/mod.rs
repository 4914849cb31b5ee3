//! Headless Chromium follows every kind of email admit sends as a person would, through the
//! developer inbox of a fresh `admit serve`: an invitation (accept with a new account), a
//! welcome email's verification link (confirm with the password), a password reset (asked for
//! on the page, set on the page), and a site invitation (temporary access to groups). Each
//! form's answer is a result page that reloads without doing anything again. Then the server
//! starts again with its clock 8 days ahead and an invitation link shows that it expired.
//! Every link of every captured email is opened as a browser opens it: each answers a page.
//! Every page is shown 1280 and 390 pixels wide, must fit the narrow screen, and is kept as a
//! screenshot in `target/browser/`. Chromium is required: `./scripts/test` installs it, so a
//! missing Chromium fails the test.

mod cdp;

use super::{serve, serve_with_args, DEMO_LOGIN};
use admit_shared::ports::mail::mime;
use admit_tests::{http_request, temp_dir};
use cdp::Browser;
use serde_json::json;
use std::path::Path;
use std::process::Stdio;

/// Where the screenshots go: the workspace's `target/browser/`.
fn artefacts() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&dir).expect("target/browser");
    dir
}

const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// Shows the page at both widths: it must fit the phone's screen (no sideways scrolling), and a
/// screenshot of each is kept as `target/browser/<name>-<width>.png`.
fn shoot(b: &mut Browser, name: &str) {
    for (width, height, mobile) in [(PHONE.0, PHONE.1, true), (DESKTOP.0, DESKTOP.1, false)] {
        b.viewport(width, height, mobile);
        let content = b.content_width();
        assert!(
            content <= f64::from(width) + 0.5,
            "{name} is {content} px wide on a {width} px screen"
        );
        let shot = b.screenshot();
        assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 1000);
        std::fs::write(artefacts().join(format!("{name}-{width}.png")), &shot)
            .expect("write screenshot");
    }
}

fn mail_count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
            .count()
    })
}

/// The inbox's count once the server's outbox loop has delivered what the last request queued
/// (it delivers in the background, events and emails alike): unchanged for half a second.
fn settled_mail_count(dir: &Path) -> usize {
    let mut last = mail_count(dir);
    let mut steady = 0;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = mail_count(dir);
        steady = if now == last { steady + 1 } else { 0 };
        last = now;
        if steady >= 5 {
            break;
        }
    }
    last
}

/// Waits until the inbox holds more than `seen` emails.
fn wait_for_mail(dir: &Path, seen: usize) {
    for _ in 0..100 {
        if mail_count(dir) > seen {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no new email captured in {}", dir.display());
}

/// Opens the inbox, then the newest email whose subject contains `subject`, then the link in
/// it whose URL contains `marker` (in the text part, beside the HTML part's frame). Returns the
/// link.
fn follow_email(
    b: &mut Browser,
    base: &str,
    subject: &str,
    marker: &str,
    shot: Option<&str>,
) -> String {
    b.goto(&format!("{base}/_dev/inbox"));
    let list = b.html();
    let href = list
        .split("<a href=\"")
        .skip(1)
        .find(|a| a.split("</a>").next().is_some_and(|s| s.contains(subject)))
        .and_then(|a| a.split('"').next())
        .unwrap_or_else(|| panic!("no email `{subject}` in the inbox:\n{list}"))
        .to_string();
    b.navigating(|b| b.click(&format!("a[href='{href}']"), 1));
    let email = b.html();
    assert!(
        email.contains("<iframe sandbox="),
        "the HTML part is shown: {email}"
    );
    assert!(
        email.contains("<h2 id=\"text-part\">Text part</h2>"),
        "{email}"
    );
    if let Some(name) = shot {
        shoot(b, name);
    }
    let link = email
        .split("<a href=\"")
        .find_map(|a| a.split('"').next().filter(|h| h.contains(marker)))
        .unwrap_or_else(|| panic!("no link with {marker} in the email:\n{email}"))
        .replace("&amp;", "&");
    b.navigating(|b| b.click(&format!("pre a[href*='{marker}']"), 1));
    link
}

/// Types `text` into the field `selector`, as a person does (click, select what is there, type).
fn fill(b: &mut Browser, selector: &str, text: &str) {
    b.click(selector, 3);
    b.type_text(text);
}

/// Submits the form; the answer is a result page (303 followed): its URL holds no token, and a
/// reload shows the same page and sends no email. Returns the result page's HTML.
fn submit_to_result(b: &mut Browser, mail: &Path, path: &str) -> String {
    b.navigating(|b| b.click("button[type='submit']", 1));
    let url = b.url();
    assert!(url.ends_with(path), "a result page, not {url}");
    assert!(!url.contains("token"), "{url}");
    let done = b.html();
    let emails = settled_mail_count(mail);
    b.reload();
    assert_eq!(b.url(), url);
    let again = b.html();
    assert_eq!(
        again.split("<main>").nth(1),
        done.split("<main>").nth(1),
        "a reload shows the same result"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(mail_count(mail), emails, "a reload sends nothing");
    done
}

#[test]
fn chromium_follows_every_email_from_the_dev_inbox() {
    let dir = temp_dir("browser");
    let data = dir.join("data");
    let mail = data.join("mail");
    let s = serve(&data);
    let base = s.base.clone();
    let url = |p: &str| format!("{base}{p}");
    let (_, login) = http_request(&url("/rest/user/login"), "POST", &[], Some(DEMO_LOGIN));
    let token = login["authToken"].as_str().expect("token").to_string();
    let session = [("x-nextinteract-authtoken", token.as_str())];
    let mut b = Browser::launch(&dir.join("profile"), DESKTOP.0, DESKTOP.1);

    // 1. An invitation: a new account accepts it.
    let invite = json!({"companyId": 1, "contact": {"firstname": "Jane", "lastname": "Mead", "email1": "jane@example.com"}, "inviteTeams": [{"teamId": 1}, {"teamId": 2}]});
    let (status, body) = http_request(
        &url("/rest/user/miinvite"),
        "POST",
        &session,
        Some(&invite.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    wait_for_mail(&mail, 0);
    let link = follow_email(
        &mut b,
        &base,
        "Demo Admin invited you to Demo Company",
        "/invitations/accept?token=inv_",
        Some("invitation-email"),
    );
    assert!(
        link.starts_with(&url("/invitations/accept?token=")),
        "{link}"
    );
    let form = b.html();
    assert!(form.contains("<h1>Join Demo Company</h1>"), "{form}");
    assert!(form.contains("Demo Admin invited you"), "{form}");
    // A refusal is shown at its field: a password without a digit.
    fill(&mut b, "#firstName", "Janet");
    fill(&mut b, "#password", "no-digits-here");
    b.navigating(|b| b.click("button[type='submit']", 1));
    let refused = b.html();
    assert!(refused.contains("id=\"password-error\""), "{refused}");
    shoot(&mut b, "accept-refused");
    fill(&mut b, "#password", "Browser-pass-2026");
    shoot(&mut b, "accept-form");
    let done = submit_to_result(&mut b, &mail, "/invitations/accepted");
    assert!(
        done.contains("<h1>You have joined Demo Company</h1>"),
        "{done}"
    );
    assert!(done.contains("<strong>jane@example.com</strong>"), "{done}");
    shoot(&mut b, "accept-success");
    let jane = json!({"emailAddress": "jane@example.com", "password": "Browser-pass-2026"});
    let (status, body) = http_request(
        &url("/rest/user/login"),
        "POST",
        &[],
        Some(&jane.to_string()),
    );
    assert_eq!(status, 200, "the account the form made signs in: {body}");
    // The link again: used up, and the page says why.
    b.goto(&link);
    let used = b.html();
    assert!(
        used.contains("<h1>This invitation link no longer works</h1>"),
        "{used}"
    );
    assert!(used.contains("already accepted"), "{used}");
    shoot(&mut b, "accept-used");

    // 2. A welcome email's verification link: confirmed with the account's password.
    let app_key = s
        .banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("app API key:"))
        .expect("the app key in the banner")
        .trim()
        .to_string();
    let register = json!({"version": 2, "apiKey": app_key, "emailAddress": "sam@example.com",
        "password": "Sam-pass-2026", "firstName": "Sam", "lastName": "Lee", "sendWelcomeEmail": true});
    let seen = mail_count(&mail);
    let (status, body) = http_request(
        &url("/rest/user/mi/selfregister"),
        "POST",
        &[],
        Some(&register.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    wait_for_mail(&mail, seen);
    follow_email(
        &mut b,
        &base,
        "Welcome to Demo Company",
        "/account/verify?token=ver_",
        Some("verification-email"),
    );
    let page = b.html();
    assert!(
        page.contains("<h1>Confirm your email address</h1>"),
        "{page}"
    );
    assert!(page.contains("<strong>sam@example.com</strong>"), "{page}");
    shoot(&mut b, "verify-form");
    // Nothing the registrant chose is shown beside the password prompt.
    assert!(!page.contains("Sam Lee"), "{page}");
    fill(&mut b, "#password", "Sam-pass-2026");
    fill(&mut b, "#newPassword", "Sam-new-pass-2026");
    fill(&mut b, "#confirm", "Sam-new-pass-2026");
    let done = submit_to_result(&mut b, &mail, "/account/verify/done");
    assert!(
        done.contains("<h1>Your address is confirmed</h1>"),
        "{done}"
    );
    shoot(&mut b, "verify-success");

    // 3. A password reset, asked for on the page.
    b.goto(&url("/account/password/forgot"));
    shoot(&mut b, "forgot-form");
    fill(&mut b, "#emailAddress", "jane@example.com");
    let seen = mail_count(&mail);
    let sent = submit_to_result(&mut b, &mail, "/account/password/forgot/sent");
    assert!(sent.contains("<h1>Check your email</h1>"), "{sent}");
    shoot(&mut b, "forgot-sent");
    wait_for_mail(&mail, seen);
    follow_email(
        &mut b,
        &base,
        "Reset your password",
        "/account/password/reset?token=rst_",
        Some("reset-email"),
    );
    let page = b.html();
    assert!(page.contains("<strong>jane@example.com</strong>"), "{page}");
    fill(&mut b, "#password", "Reset-pass-2026");
    fill(&mut b, "#confirm", "Reset-pass-2027");
    b.navigating(|b| b.click("button[type='submit']", 1));
    let refused = b.html();
    assert!(refused.contains("id=\"confirm-error\""), "{refused}");
    shoot(&mut b, "reset-refused");
    fill(&mut b, "#password", "Reset-pass-2026");
    fill(&mut b, "#confirm", "Reset-pass-2026");
    let done = submit_to_result(&mut b, &mail, "/account/password/reset/done");
    assert!(
        done.contains("Every other session was signed out"),
        "{done}"
    );
    shoot(&mut b, "reset-success");
    let jane = json!({"emailAddress": "jane@example.com", "password": "Reset-pass-2026"});
    let (status, _) = http_request(
        &url("/rest/user/login"),
        "POST",
        &[],
        Some(&jane.to_string()),
    );
    assert_eq!(status, 200, "the new password signs in");

    // 4. A site invitation: temporary access to a group.
    let seen = mail_count(&mail);
    let bearer = format!("Bearer {token}");
    let site = json!({"email": "sita@example.com", "duration": 30, "groups": [2]});
    let (status, body) = http_request(
        &url("/api/rest/v1/management/users/invite"),
        "POST",
        &[("authorization", &bearer)],
        Some(&site.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    wait_for_mail(&mail, seen);
    follow_email(
        &mut b,
        &base,
        "invited you to Demo Company",
        "/invitations/accept?token=inv_",
        Some("site-invitation-email"),
    );
    let page = b.html();
    assert!(page.contains("<h1>Access to Demo Company</h1>"), "{page}");
    assert!(page.contains("<dt>Groups</dt>"), "{page}");
    assert!(
        page.contains("Temporary: 30 days from when you accept (until "),
        "{page}"
    );
    shoot(&mut b, "site-invitation-form");
    fill(&mut b, "#firstName", "Sita");
    fill(&mut b, "#lastName", "Rao");
    fill(&mut b, "#password", "Sita-pass-2026");
    let done = submit_to_result(&mut b, &mail, "/invitations/accepted");
    assert!(
        done.contains("<h1>You have access to Demo Company</h1>"),
        "{done}"
    );
    assert!(
        done.contains("Your access is temporary: it ends on "),
        "{done}"
    );
    shoot(&mut b, "site-invitation-success");

    // An invitation left pending, for the expired link below.
    let later = json!({"companyId": 1, "contact": {"firstname": "Kim", "lastname": "Late", "email1": "kim@example.com"}});
    let seen = mail_count(&mail);
    let (status, body) = http_request(
        &url("/rest/user/miinvite"),
        "POST",
        &session,
        Some(&later.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    wait_for_mail(&mail, seen);

    // Every link in every email opens a page (never JSON, never a 405).
    let links = every_link(&mail);
    assert!(
        links.len() >= 5,
        "one link an email, five emails: {links:?}"
    );
    for link in &links {
        let (status, content_type) = browser_get(link);
        assert_ne!(status, 405, "{link}");
        assert!(
            content_type.starts_with("text/html"),
            "{link}: {status} {content_type}"
        );
    }
    let kim = std::fs::read_dir(&mail)
        .expect("mail dir")
        .flatten()
        .map(|e| mime::parse(&std::fs::read_to_string(e.path()).unwrap_or_default()))
        .find(|m| m.to == "kim@example.com")
        .and_then(|m| {
            m.text
                .split_whitespace()
                .find(|w| w.contains("/invitations/accept?token=inv_"))
                .map(str::to_string)
        })
        .expect("Kim's link");
    drop(s);

    // 5. Eight days later, the pending invitation's link has expired.
    let later = serve_with_args(&data, Stdio::null(), &["--clock-ahead", "8d"]);
    assert!(later.banner.contains("ahead"), "{}", later.banner);
    let kim = kim.replace(&base, &later.base);
    b.goto(&kim);
    let expired = b.html();
    assert!(
        expired.contains("<h1>This invitation has expired</h1>"),
        "{expired}"
    );
    assert!(
        expired.contains("Ask whoever invited you to send a new one."),
        "{expired}"
    );
    shoot(&mut b, "invitation-expired");
    assert_eq!(browser_get(&kim).0, 410);
}

/// Every http(s) link in every captured email, from the text part and the HTML part's hrefs.
fn every_link(mail: &Path) -> Vec<String> {
    let mut links = Vec::new();
    for entry in std::fs::read_dir(mail).expect("mail dir").flatten() {
        let raw = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let eml = mime::parse(&raw);
        let from_text = eml
            .text
            .split_whitespace()
            .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
            .map(str::to_string);
        let from_html: Vec<String> = eml
            .html
            .iter()
            .flat_map(|h| h.split("href=\"").skip(1))
            .filter_map(|a| a.split('"').next())
            .map(|h| h.replace("&amp;", "&"))
            .collect();
        assert!(
            eml.html.is_some(),
            "every email has an HTML part: {}",
            eml.subject
        );
        for l in from_text.chain(from_html) {
            if !links.contains(&l) {
                links.push(l);
            }
        }
    }
    links.sort();
    links
}

/// A GET as a browser sends it (it accepts HTML first): the status and Content-Type.
fn browser_get(url: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("a path");
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let head = out.split("\r\n\r\n").next().unwrap_or_default();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type)
}
