//! The developer inbox of `admit serve` (not a Lambda function): `GET /_dev/inbox` lists the
//! emails captured in `<data-dir>/mail/`, newest first, and `GET /_dev/inbox/{name}` shows one:
//! its HTML part as the recipient sees it, in a sandboxed frame (`{name}/html`: no script, no
//! request leaves it, a click opens the link in the whole window), beside its text part with
//! the links clickable, so a flow that sends email can be followed by clicking. It answers
//! only when the server listens on loopback, and only to loopback peers; to anyone else the
//! path does not exist.

use admit_shared::http::pages::{document, escape, html_response};
use admit_shared::ports::mail::mime::{self, Received};
use lambda_http::{Body, Response};
use std::net::SocketAddr;
use std::path::Path;

pub const PATH: &str = "/_dev/inbox";

/// The most emails the list shows.
const LIST_LIMIT: usize = 200;

/// Whether a `Host` header names this machine by a loopback name (`localhost`, `127.0.0.1`,
/// `[::1]`, with any port).
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The inbox's answer for a request, or `None` when the request is not the inbox's to answer
/// (another path, no inbox on this server, or a peer that is not on loopback).
pub async fn answer(
    mail_dir: Option<&Path>,
    method: &http::Method,
    path: &str,
    peer: SocketAddr,
) -> Option<Response<Body>> {
    let rest = path.strip_prefix(PATH)?;
    if !(rest.is_empty() || rest.starts_with('/')) || !peer.ip().is_loopback() {
        return None;
    }
    let dir = mail_dir?;
    if method != http::Method::GET {
        let mut resp = page(
            405,
            "Method not allowed",
            "<p>The inbox is read with GET.</p>\n",
        );
        resp.headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("GET"));
        return Some(resp);
    }
    let name = rest.trim_start_matches('/');
    Some(if name.is_empty() {
        list(dir).await
    } else if let Some(name) = name.strip_suffix(HTML_PART) {
        html_part(dir, name).await
    } else {
        show(dir, name).await
    })
}

fn page(status: u16, title: &str, main: &str) -> Response<Body> {
    let main = format!(
        "<p><a href=\"{PATH}\">Inbox</a></p>\n<h1>{}</h1>\n{main}",
        escape(title)
    );
    html_response(
        status,
        document(&format!("{title} – admit dev inbox"), &main),
    )
}

/// The captured emails' file names, newest first (they start with the time they were written).
async fn names(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            if let Some(n) = e.file_name().to_str().filter(|n| n.ends_with(".eml")) {
                names.push(n.to_string());
            }
        }
    }
    names.sort_unstable_by(|a, b| b.cmp(a));
    names
}

async fn list(dir: &Path) -> Response<Body> {
    let names = names(dir).await;
    let mut rows = String::new();
    for name in names.iter().take(LIST_LIMIT) {
        let raw = tokio::fs::read_to_string(dir.join(name))
            .await
            .unwrap_or_default();
        let eml = mime::parse(&raw);
        rows.push_str(&format!(
            "<tr><td>{}</td><td><a href=\"{PATH}/{}\">{}</a></td><td>{}</td></tr>\n",
            escape(&eml.to),
            escape(name),
            escape(&eml.subject),
            escape(&eml.date),
        ));
    }
    let main = if rows.is_empty() {
        format!(
            "<p>No emails yet. Emails admit sends are captured in {} and listed here.</p>\n",
            escape(&dir.display().to_string())
        )
    } else {
        format!(
            concat!(
                "<p>{} captured in {}, newest first.</p>\n<table>\n",
                "<thead><tr><th scope=\"col\">To</th><th scope=\"col\">Subject</th><th scope=\"col\">Time</th></tr></thead>\n",
                "<tbody>\n{rows}</tbody>\n</table>\n",
            ),
            match names.len() {
                1 => "1 email".to_string(),
                n => format!("{n} emails"),
            },
            escape(&dir.display().to_string()),
            rows = rows,
        )
    };
    let main = main + &events(&dir.parent().unwrap_or(dir).join("events")).await;
    page(200, "Captured emails", &main)
}

/// The most events the inbox shows.
const EVENTS_LIMIT: usize = 100;

/// The domain events `admit serve` published (the JSON lines of `<data-dir>/events/`), newest
/// first, each with its whole JSON under it.
async fn events(dir: &Path) -> String {
    let mut files = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            if e.file_name()
                .to_str()
                .is_some_and(|n| n.ends_with(".jsonl"))
            {
                files.push(e.path());
            }
        }
    }
    files.sort_unstable_by(|a, b| b.cmp(a));
    let mut lines: Vec<String> = Vec::new();
    for f in files {
        let text = tokio::fs::read_to_string(&f).await.unwrap_or_default();
        lines.extend(text.lines().rev().map(str::to_string));
        if lines.len() >= EVENTS_LIMIT {
            break;
        }
    }
    let mut rows = String::new();
    for line in lines.iter().take(EVENTS_LIMIT) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let text = |k: &str| match v.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            None | Some(serde_json::Value::Null) => String::new(),
            Some(other) => other.to_string(),
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><details><summary>{}</summary><pre>{}</pre></details></td></tr>\n",
            escape(&text("occurredAt")),
            escape(&text("type")),
            escape(&text("companyId")),
            escape(&v.get("subject").map(|s| s.to_string()).unwrap_or_default()),
            escape(&text("id")),
            escape(&serde_json::to_string_pretty(&v).unwrap_or_default()),
        ));
    }
    let shown = escape(&dir.display().to_string());
    if rows.is_empty() {
        return format!("<h2>Events</h2>\n<p>No events yet. The events admit publishes are written to {shown} and listed here.</p>\n");
    }
    format!(
        concat!(
            "<h2>Events</h2>\n<p>Published to {shown} (one JSON line each), newest first.</p>\n<table>\n",
            "<thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Type</th><th scope=\"col\">Company</th><th scope=\"col\">Subject</th><th scope=\"col\">Event</th></tr></thead>\n",
            "<tbody>\n{rows}</tbody>\n</table>\n",
        ),
        shown = shown,
        rows = rows,
    )
}

/// The path after an email's name that serves its HTML part.
const HTML_PART: &str = "/html";

/// What the frame's document may do: nothing but its own inline styles and inline images; a
/// click on a link navigates the whole window (the pages refuse to be framed).
const HTML_PART_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox allow-top-navigation-by-user-activation";

/// The email file `name`, when the directory lists it (no path can reach outside it).
async fn read_email(dir: &Path, name: &str) -> Option<String> {
    if !names(dir).await.iter().any(|n| n == name) {
        return None;
    }
    tokio::fs::read_to_string(dir.join(name)).await.ok()
}

fn no_such(name: &str) -> Response<Body> {
    page(
        404,
        "No such email",
        &format!("<p>There is no email {} in the inbox.</p>\n", escape(name)),
    )
}

async fn show(dir: &Path, name: &str) -> Response<Body> {
    let Some(raw) = read_email(dir, name).await else {
        return no_such(name);
    };
    let eml = mime::parse(&raw);
    let text = format!(
        "<pre style=\"white-space:pre-wrap;overflow-wrap:anywhere;margin:0\">{}</pre>",
        linkify(eml.text.trim_end())
    );
    let parts = match &eml.html {
        Some(_) => format!(
            concat!(
                "<style>main{{max-width:76rem}}.parts{{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr))}}",
                "iframe{{width:100%;height:40rem;border:1px solid #ccc}}</style>\n",
                "<div class=\"parts\">\n<section aria-labelledby=\"html-part\"><h2 id=\"html-part\">HTML part</h2>\n",
                "<iframe sandbox=\"allow-top-navigation-by-user-activation\" src=\"{PATH}/{name}{HTML_PART}\" title=\"The email's HTML part\"></iframe></section>\n",
                "<section aria-labelledby=\"text-part\"><h2 id=\"text-part\">Text part</h2>\n{text}</section>\n</div>\n",
            ),
            PATH = PATH,
            name = escape(name),
            HTML_PART = HTML_PART,
            text = text,
        ),
        None => format!("{text}\n"),
    };
    let mut resp = page(200, &eml.subject, &format!("{}{parts}", fields(&eml)));
    // This page frames the HTML part, from this server only.
    let policy = format!(
        "{}; frame-src 'self'",
        admit_shared::http::pages::CONTENT_SECURITY_POLICY
    );
    if let Ok(v) = http::HeaderValue::from_str(&policy) {
        resp.headers_mut()
            .insert(http::header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// An email's HTML part, as it was sent, for the frame of its page; links open in the whole
/// window (`<base target="_top">`).
async fn html_part(dir: &Path, name: &str) -> Response<Body> {
    let Some(html) = read_email(dir, name)
        .await
        .and_then(|raw| mime::parse(&raw).html)
    else {
        return no_such(name);
    };
    let html = match html.find("<head>") {
        Some(i) => format!(
            "{}<head><base target=\"_top\">{}",
            &html[..i],
            &html[i + 6..]
        ),
        None => format!("<base target=\"_top\">{html}"),
    };
    let mut resp = html_response(200, html);
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static(HTML_PART_POLICY),
    );
    h.insert(
        http::header::X_FRAME_OPTIONS,
        http::HeaderValue::from_static("SAMEORIGIN"),
    );
    resp
}

fn fields(eml: &Received) -> String {
    let rows: String = [
        ("From", &eml.from),
        ("To", &eml.to),
        ("Subject", &eml.subject),
        ("Date", &eml.date),
    ]
    .iter()
    .map(|(name, value)| format!("<dt>{name}</dt><dd>{}</dd>\n", escape(value)))
    .collect();
    format!("<dl>\n{rows}</dl>\n")
}

/// `text` escaped, with every http(s) URL in it made a link.
fn linkify(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        out.push_str(&escape(&rest[..start]));
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(tail.len());
        let url = tail[..end].trim_end_matches(['.', ',', ')', ';']);
        let shown = escape(url);
        out.push_str(&format!("<a href=\"{shown}\">{shown}</a>"));
        rest = &tail[url.len()..];
    }
    out.push_str(&escape(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_clickable_and_everything_is_escaped() {
        assert_eq!(
            linkify("Accept: http://127.0.0.1:3000/invitations/accept?token=inv_1&x=<b>.\nBye"),
            "Accept: <a href=\"http://127.0.0.1:3000/invitations/accept?token=inv_1&amp;x=\">http://127.0.0.1:3000/invitations/accept?token=inv_1&amp;x=</a>&lt;b&gt;.\nBye"
        );
        assert_eq!(linkify("no links <here>"), "no links &lt;here&gt;");
        assert_eq!(
            linkify("(see https://a.example/x.) and http://b.example"),
            "(see <a href=\"https://a.example/x\">https://a.example/x</a>.) and <a href=\"http://b.example\">http://b.example</a>"
        );
    }

    fn text(resp: &Response<Body>) -> &str {
        match resp.body() {
            Body::Text(t) => t,
            _ => "",
        }
    }

    #[tokio::test]
    async fn only_loopback_peers_of_a_loopback_server_see_it() {
        let dir = std::env::temp_dir().join(format!(
            "admit-inbox-{}",
            admit_shared::domain::secrets::random_hex_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let name = "20260101T000000.000Z-0a0b0c0d.eml";
        std::fs::write(
            dir.join(name),
            "To: \"x<y>\"@example.com\r\nSubject: Hi <b>\r\n\r\nGo: http://h/invitations/accept?token=inv_1\r\n",
        )
        .unwrap();
        let get = http::Method::GET;
        let local: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let remote: SocketAddr = "203.0.113.7:4000".parse().unwrap();
        assert!(answer(Some(&dir), &get, PATH, remote).await.is_none());
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "[::1]:3000",
            "localhost",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "evil.example",
            "10.0.0.1:3000",
            "[2001:db8::1]:80",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
        assert!(answer(None, &get, PATH, local).await.is_none());
        assert!(answer(Some(&dir), &get, "/_dev/inboxes", local)
            .await
            .is_none());

        let list = answer(Some(&dir), &get, "/_dev/inbox/", local)
            .await
            .unwrap();
        assert_eq!(list.status(), 200);
        assert!(text(&list).contains("1 email captured"), "{}", text(&list));
        assert!(text(&list).contains(&format!("<a href=\"/_dev/inbox/{name}\">Hi &lt;b&gt;</a>")));
        assert!(text(&list).contains("<td>&quot;x&lt;y&gt;&quot;@example.com</td>"));

        let one = answer(Some(&dir), &get, &format!("{PATH}/{name}"), local)
            .await
            .unwrap();
        assert_eq!(one.status(), 200);
        assert!(text(&one).contains("<a href=\"http://h/invitations/accept?token=inv_1\">"));
        assert!(
            !text(&one).contains("<iframe"),
            "a text-only email has no frame"
        );
        let multi = "20260101T000001.000Z-0a0b0c0e.eml";
        std::fs::write(
            dir.join(multi),
            concat!(
                "To: a@example.com\r\nSubject: Both\r\nMIME-Version: 1.0\r\n",
                "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n",
                "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGo: http://h/x\r\n",
                "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
                "<html><head><title>T</title></head><body><a href=\"http://h/x\">Go</a></body></html>\r\n",
                "--b--\r\n"
            ),
        )
        .unwrap();
        let both = answer(Some(&dir), &get, &format!("{PATH}/{multi}"), local)
            .await
            .unwrap();
        assert!(
            text(&both).contains(&format!("<iframe sandbox=\"allow-top-navigation-by-user-activation\" src=\"{PATH}/{multi}/html\"")),
            "{}",
            text(&both)
        );
        assert!(both.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .ends_with("frame-src 'self'"));
        let part = answer(Some(&dir), &get, &format!("{PATH}/{multi}/html"), local)
            .await
            .unwrap();
        assert_eq!(part.status(), 200);
        assert!(
            text(&part).contains("<head><base target=\"_top\"><title>T</title>"),
            "{}",
            text(&part)
        );
        assert!(part.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox"));
        assert_eq!(part.headers()["x-frame-options"], "SAMEORIGIN");
        let none = answer(Some(&dir), &get, &format!("{PATH}/{name}/html"), local)
            .await
            .unwrap();
        assert_eq!(none.status(), 404, "a text-only email has no HTML part");
        std::fs::remove_file(dir.join(multi)).unwrap();

        for missing in ["nope.eml", "..%2Fsecret.eml", "../secret.eml"] {
            let r = answer(Some(&dir), &get, &format!("{PATH}/{missing}"), local)
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "{missing}");
        }
        let post = answer(Some(&dir), &http::Method::POST, PATH, local)
            .await
            .unwrap();
        assert_eq!(post.status(), 405);
        assert_eq!(post.headers()["allow"], "GET");

        std::fs::remove_file(dir.join(name)).unwrap();
        let empty = answer(Some(&dir), &get, PATH, local).await.unwrap();
        assert!(text(&empty).contains("No emails yet"));
    }

    #[tokio::test]
    async fn the_list_shows_the_published_events_newest_first_escaped() {
        let data = std::env::temp_dir().join(format!(
            "admit-inbox-events-{}",
            admit_shared::domain::secrets::random_hex_id()
        ));
        let mail = data.join("mail");
        std::fs::create_dir_all(&mail).unwrap();
        let local: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let get = http::Method::GET;
        let list = answer(Some(&mail), &get, PATH, local).await.unwrap();
        assert!(text(&list).contains("No events yet"), "{}", text(&list));
        std::fs::create_dir_all(data.join("events")).unwrap();
        std::fs::write(
            data.join("events/2026-12-02.jsonl"),
            concat!(
                r#"{"id":"evt_first","type":"invitation.created","version":1,"companyId":1,"occurredAt":"2026-12-02T09:00:00.000Z","actor":{"type":"system"},"subject":{"email":"<b>@x.example"},"data":{}}"#,
                "\n",
                r#"{"id":"evt_second","type":"invitation.accepted","version":1,"companyId":1,"occurredAt":"2026-12-02T10:00:00.000Z","actor":{"type":"system"},"subject":{"userId":3},"data":{}}"#,
                "\n"
            ),
        )
        .unwrap();
        let list = answer(Some(&mail), &get, PATH, local).await.unwrap();
        let page = text(&list);
        let (second, first) = (
            page.find("evt_second").unwrap(),
            page.find("evt_first").unwrap(),
        );
        assert!(second < first, "newest first: {page}");
        assert!(page.contains("invitation.accepted"));
        assert!(!page.contains("<b>@x"), "escaped: {page}");
        let _ = std::fs::remove_dir_all(&data);
    }
}
