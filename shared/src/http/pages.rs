//! HTML pages for people with a browser: what every page shares (the accept page is
//! `http::accept_page`, the account pages `http::account_pages`): escaping, the document around a page's `<main>`,
//! the headers (no caching, a strict Content-Security-Policy, no framing, no referrer: page
//! URLs carry tokens) and `application/x-www-form-urlencoded` bodies. No JavaScript anywhere.

use super::{body_bytes, nextinteract, MAX_BODY_BYTES};
use crate::domain::error::{DomainError, ErrorKind};
/// The one HTML escape (`& < > " '`), shared with the emails.
pub use crate::domain::html::escape;
use crate::domain::Password;
use lambda_http::{Body, Request, Response};

/// Nothing but the page's own inline styles, and forms that post back to admit.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = concat!(
    "body{margin:0;font:1rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#f6f6f4}",
    "main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.5rem}",
    "h1{font-size:1.5rem;margin-top:0}dt{font-weight:600}dd{margin:0 0 .75rem}",
    "label{display:block;font-weight:600;margin-top:1rem}",
    "input{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #767676;border-radius:.25rem}",
    "input[readonly]{background:#f0f0f0}.hint{margin:.25rem 0 0;color:#4a4a4a;font-size:.9rem}",
    "button{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit;color:#fff;background:#1f5f9f;border:0;border-radius:.25rem}",
    ":focus-visible{outline:3px solid #c05600;outline-offset:2px}",
    ".problem{padding:.75rem;border-left:4px solid #b00020;background:#fdecee}",
    ".field-error{margin:.25rem 0 0;color:#b00020;font-weight:600}input[aria-invalid]{border:2px solid #b00020}",
    "a{color:#1f5f9f}.ways{padding-left:1.2rem}",
    "@media (max-width:30rem){main{margin:0;border-radius:0;padding:1rem}}",
    "blockquote{margin:0 0 1rem;padding-left:1rem;border-left:3px solid #ccc;white-space:pre-line}",
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #ddd}",
);

/// A whole page: `title` is text (escaped here), `main` is the HTML inside `<main>`.
pub fn document(title: &str, main: &str) -> String {
    format!(
        concat!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            "<meta name=\"referrer\" content=\"strict-origin\">\n<title>{}</title>\n<style>{STYLE}</style>\n",
            "</head>\n<body>\n<main>\n{main}</main>\n</body>\n</html>\n",
        ),
        escape(title),
        STYLE = STYLE,
        main = main,
    )
}

/// An HTML answer with the headers every page has.
pub fn html_response(status: u16, html: String) -> Response<Body> {
    use http::header;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::REFERRER_POLICY, "strict-origin")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::Text(html))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// The cookie that carries a POST's outcome to its result page (post/redirect/get): what
/// happened, never a token, so the result page's URL holds no secret and reloading it only
/// shows the same outcome again.
pub const OUTCOME_COOKIE: &str = "admit_outcome";

/// How long a result page can be reloaded and still say what happened.
const OUTCOME_SECONDS: u32 = 3600;

/// Longest outcome cookie kept (browsers keep about 4 KiB a cookie).
const OUTCOME_MAX_BYTES: usize = 3000;

/// Where a page's form was posted, as its answer needs it: the path (the result page's
/// cookie is scoped to the result page alone) and whether cookies are `Secure` (always, except
/// on a stage served over plain http, such as `admit serve` on loopback, where a browser would
/// drop them).
#[derive(Debug, Clone)]
pub struct FormPost {
    path: String,
    secure: bool,
}

impl FormPost {
    pub fn new(path: &str, secure: bool) -> FormPost {
        FormPost {
            path: path.to_string(),
            secure,
        }
    }

    pub fn of(app: &crate::app::App, req: &Request) -> FormPost {
        FormPost {
            path: req.uri().path().to_string(),
            secure: super::stage_origin(app, req).is_none_or(|o| o.starts_with("https://")),
        }
    }

    /// The absolute path of `location`, relative to the form's page.
    fn resolve(&self, location: &str) -> String {
        let dir = self.path.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{location}")
    }
}

/// `303 See Other` to `location` (relative to the form's page), with `outcome` for that result
/// page alone to show: the cookie's path is the result page's, and it names the page, so no
/// other result page shows it. A field that would make the cookie too large is trimmed, line by
/// line, from the last (the list of teams), never the first fields.
pub fn see_other(post: &FormPost, location: &str, outcome: &[(&str, &str)]) -> Response<Body> {
    let mut fields: Vec<(&str, String)> = vec![("page", location.to_string())];
    fields.extend(outcome.iter().map(|(k, v)| (*k, v.to_string())));
    let encode = |fields: &[(&str, String)]| {
        let mut value = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            value.append_pair(k, v);
        }
        value.finish()
    };
    let mut value = encode(&fields);
    while value.len() > OUTCOME_MAX_BYTES {
        let Some(longest) = fields.iter_mut().skip(1).max_by_key(|(_, v)| v.len()) else {
            break;
        };
        let kept = longest.1.rsplit_once('\n').map_or("", |(head, _)| head);
        longest.1 = if kept.len() < longest.1.len() {
            kept.to_string()
        } else {
            longest
                .1
                .chars()
                .take(longest.1.chars().count() / 2)
                .collect()
        };
        value = encode(&fields);
    }
    let cookie = format!(
        "{OUTCOME_COOKIE}={value}; Path={}; Max-Age={OUTCOME_SECONDS}; HttpOnly; SameSite=Strict{}",
        post.resolve(location),
        if post.secure { "; Secure" } else { "" }
    );
    let mut resp = html_response(
        303,
        document("Done", "<h1>Done</h1>\n<p>The result page follows.</p>\n"),
    );
    let headers = resp.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(location) {
        headers.insert(http::header::LOCATION, v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&cookie) {
        headers.insert(http::header::SET_COOKIE, v);
    }
    resp
}

/// The outcome the result page `location` shows: the fields of the outcome cookie, when it
/// has one written for that page.
pub fn outcome(req: &Request, location: &str) -> Option<Vec<(String, String)>> {
    let raw = super::cookie(req, OUTCOME_COOKIE)?;
    let fields: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (outcome_field(&fields, "page") == Some(location)).then_some(fields)
}

/// The value of `name` in an outcome.
pub fn outcome_field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A page's form as a browser posts it (`application/x-www-form-urlencoded`): the first
/// non-empty value of each field (an empty field is a missing one).
#[derive(Debug, Default, Clone)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Reads the body; over 64 KiB is `BodyTooLarge`.
    pub fn from_request(req: &Request) -> Result<Form, DomainError> {
        let bytes = body_bytes(req);
        if bytes.len() > MAX_BODY_BYTES {
            return Err(DomainError::new(
                ErrorKind::BodyTooLarge,
                format!("the form is over the limit of {MAX_BODY_BYTES} bytes"),
            ));
        }
        Ok(Self::parse(bytes))
    }

    pub fn parse(bytes: &[u8]) -> Form {
        let mut fields: Vec<(String, String)> = Vec::new();
        for (key, value) in form_urlencoded::parse(bytes) {
            if !value.is_empty() && !fields.iter().any(|(k, _)| *k == key) {
                fields.push((key.into_owned(), value.into_owned()));
            }
        }
        Form(fields)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }
}

/// A labelled input: `attrs` are the input's own attributes (type, name, autocomplete...);
/// a hint and an error are tied to it with `aria-describedby`, and an error marks it invalid.
pub fn field(
    id: &str,
    label: &str,
    attrs: &str,
    hint: Option<&str>,
    error: Option<&str>,
) -> String {
    let mut described = Vec::new();
    let mut after = String::new();
    if let Some(e) = error {
        described.push(format!("{id}-error"));
        after.push_str(&format!(
            "<p id=\"{id}-error\" class=\"field-error\">{}</p>\n",
            escape(e)
        ));
    }
    if let Some(h) = hint {
        described.push(format!("{id}-hint"));
        after.push_str(&format!(
            "<p id=\"{id}-hint\" class=\"hint\">{}</p>\n",
            escape(h)
        ));
    }
    let mut extra = String::new();
    if !described.is_empty() {
        extra.push_str(&format!(" aria-describedby=\"{}\"", described.join(" ")));
    }
    if error.is_some() {
        extra.push_str(" aria-invalid=\"true\"");
    }
    format!(
        "<label for=\"{id}\">{label}</label>\n<input id=\"{id}\" {attrs}{extra}>\n{after}",
        label = escape(label),
    )
}

/// A page that explains where a link or a form stopped, with the ways forward (`href`, text).
pub fn dead_end(
    status_of: &DomainError,
    title: &str,
    detail: &str,
    ways: &[(&str, &str)],
) -> Response<Body> {
    let ways: String = ways
        .iter()
        .map(|(href, text)| format!("<li><a href=\"{}\">{}</a></li>", escape(href), escape(text)))
        .collect();
    let ways = if ways.is_empty() {
        String::new()
    } else {
        format!("<ul class=\"ways\">{ways}</ul>\n")
    };
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!("<p>{}</p>\n", escape(detail))
    };
    let main = format!("<h1>{}</h1>\n{detail}{ways}", escape(title));
    error_response(status_of, document(title, &main))
}

/// A result page: a heading and paragraphs of text (escaped here).
pub fn result_page(title: &str, paragraphs: &[String]) -> Response<Body> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>\n", escape(p)))
        .collect();
    html_response(
        200,
        document(title, &format!("<h1>{}</h1>\n{body}", escape(title))),
    )
}

/// A result page opened without an outcome (bookmarked, or after an hour): nothing to show.
pub fn no_outcome(what: &str) -> Response<Body> {
    let e = DomainError::new(ErrorKind::RecordNotFound, "nothing to show");
    dead_end(
        &e,
        "Nothing to show here",
        &format!("This page shows the result of {what} right after it is done, for an hour. Open the link in your email again to see where things stand."),
        &[],
    )
}

/// A page for `e`, with the status the API gives its kind (and `Retry-After` when it has one).
pub fn error_response(e: &DomainError, html: String) -> Response<Body> {
    let mut resp = html_response(nextinteract::status(e.kind), html);
    super::respond::retry_after(&mut resp, e);
    resp
}

/// The password policy as a page states it.
pub fn password_policy() -> String {
    format!(
        "{} to {} characters, with at least one letter and one digit.",
        Password::NEW_MIN_CHARS,
        Password::NEW_MAX_CHARS
    )
}

/// A refusal's problem paragraph at the top of a form (a summary; the field shows it too).
pub fn problem_html(message: &str) -> String {
    format!(
        "<p class=\"problem\" id=\"problem\" role=\"alert\">{}</p>\n",
        escape(message)
    )
}

/// A use case's message as a sentence on a page: field names as the labels say them.
pub fn sentence(message: &str) -> String {
    let labelled = [
        ("firstName", "First name"),
        ("lastName", "Last name"),
        ("password", "Password"),
    ]
    .iter()
    .find_map(|(field, label)| {
        message
            .strip_prefix(field)
            .map(|rest| format!("{label}{rest}"))
    })
    .unwrap_or_else(|| {
        let mut chars = message.chars();
        chars.next().map_or_else(String::new, |c| {
            c.to_uppercase().chain(chars).collect::<String>()
        })
    });
    if labelled.ends_with(['.', '!', '?']) {
        labelled
    } else {
        format!("{labelled}.")
    }
}

/// The page for a link that cannot be shown or accepted: unknown, used, revoked, replaced or
/// expired, incomplete, or a failure on admit's side; each with the way forward.
pub fn problem_page(e: &DomainError) -> Response<Body> {
    let (title, advice) = match e.kind {
        ErrorKind::RecordNotFound => (
            "This invitation link no longer works",
            "If you accepted it, sign in to the app with your email address and password; otherwise ask whoever invited you for a new invitation.",
        ),
        ErrorKind::Expired => (
            "This invitation has expired",
            "Ask whoever invited you to send a new one.",
        ),
        ErrorKind::InvalidParameter => (
            "This link is incomplete",
            "Open the link in the invitation email again (if you copied it, copy all of it).",
        ),
        k if k.is_server_fault() => (
            "Something went wrong on our side",
            "Please try again in a moment.",
        ),
        _ => ("This invitation cannot be accepted", ""),
    };
    let detail = if e.kind.is_server_fault() {
        String::new()
    } else {
        format!("<p>{}</p>\n", escape(&sentence(&e.message)))
    };
    let main = format!(
        "<h1>{}</h1>\n{detail}<p>{}</p>\n",
        escape(title),
        escape(advice)
    );
    error_response(e, document(title, &main))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::accept_page::*;
    use crate::usecases::invitations::{Accepted, AccountState, InvitationDetails};

    #[test]
    fn the_form_reads_like_a_browser_sends_it() {
        let f = AcceptForm::parse(
            b"token=inv_ab12&firstName=Zo%C3%AB+Ann&lastName=&password=p%26ss+w0rd%3D&token=other&extra=1",
        );
        assert_eq!(f.token.as_deref(), Some("inv_ab12"));
        assert_eq!(f.first_name.as_deref(), Some("Zoë Ann"));
        assert_eq!(f.last_name, None, "an empty field is a missing one");
        assert_eq!(f.password.as_deref(), Some("p&ss w0rd="));
        let empty = AcceptForm::parse(b"");
        assert!(empty.token.is_none() && empty.password.is_none());
    }

    #[test]
    fn messages_read_as_sentences_with_the_labels() {
        assert_eq!(sentence("firstName is required"), "First name is required.");
        assert_eq!(
            sentence("password must be between 8 and 30 characters"),
            "Password must be between 8 and 30 characters."
        );
        assert_eq!(sentence("try again."), "Try again.");
        assert_eq!(sentence(""), ".");
    }

    #[test]
    fn every_page_has_the_security_headers() {
        let resp = problem_page(&DomainError::new(ErrorKind::Expired, "gone <b>"));
        assert_eq!(resp.status(), 410);
        let h = resp.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["content-security-policy"], CONTENT_SECURITY_POLICY);
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "strict-origin");
        let Body::Text(html) = resp.body() else {
            panic!("a text body")
        };
        assert!(html.contains("Gone &lt;b&gt;."), "{html}");
        assert!(
            html.starts_with("<!doctype html>\n<html lang=\"en\">"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn a_lockout_says_when_to_retry() {
        let e = DomainError::new(ErrorKind::AccountLocked, "locked").with_retry_after(60);
        let resp = problem_page(&e);
        assert_eq!(resp.status(), 423);
        assert_eq!(resp.headers()["retry-after"], "60");
    }

    fn details(account: AccountState) -> InvitationDetails {
        use crate::usecases::invitations::InvitationPreview;
        InvitationDetails {
            preview: InvitationPreview {
                company_id: crate::domain::Id::new(1).unwrap(),
                company_name: "Acme".into(),
                email_address: "a@b.example".into(),
                teams: Vec::new(),
                account_exists: account != AccountState::None,
                expires_at: crate::domain::time::fixed_instant(),
                access_days: None,
            },
            inviter: "Pat".into(),
            message: None,
            account,
            first_name: "A".into(),
            last_name: "B".into(),
            via_site: false,
            read_at: crate::domain::time::fixed_instant(),
        }
    }

    /// A form posted to the accept page of an HTTPS stage.
    fn post() -> FormPost {
        FormPost {
            path: "/invitations/accept".into(),
            secure: true,
        }
    }

    #[test]
    fn an_outcome_is_for_its_result_page_alone_and_fits_a_cookie() {
        let teams: Vec<String> = (0..120).map(|i| format!("Équipe numéro {i} ✓")).collect();
        let resp = see_other(
            &post(),
            ACCEPTED_PAGE,
            &[
                ("company", "Acme"),
                ("email", "a@b.example"),
                ("teams", &teams.join("\n")),
            ],
        );
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("; Path=/invitations/accepted;"), "{cookie}");
        assert!(cookie.ends_with("; Secure"), "{cookie}");
        let value = cookie.split(';').next().unwrap();
        assert!(
            value.len() <= OUTCOME_MAX_BYTES + OUTCOME_COOKIE.len() + 1,
            "{}",
            value.len()
        );
        let mut req = Request::default();
        req.headers_mut().insert("cookie", value.parse().unwrap());
        let page = accepted_page(&req);
        assert_eq!(page.status(), 200);
        assert!(
            html(&page).contains("You have joined Acme"),
            "company and address are kept"
        );
        assert!(
            html(&page).contains("<li>Équipe numéro 0 ✓</li>"),
            "the first teams are kept"
        );
        assert!(
            !html(&page).contains("numéro 119"),
            "the last teams are trimmed"
        );
        // Another page's outcome is not this page's.
        assert!(outcome(&req, "verify/done").is_none());
        let plain = FormPost {
            path: "/account/verify".into(),
            secure: false,
        };
        let resp = see_other(&plain, "verify/done", &[("email", "a@b.example")]);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap();
        assert!(
            cookie.contains("Path=/account/verify/done;") && !cookie.contains("Secure"),
            "{cookie}"
        );
    }

    fn html(resp: &Response<Body>) -> &str {
        match resp.body() {
            Body::Text(t) => t,
            _ => panic!("a text body"),
        }
    }

    /// The field a refusal concerns is the validator's word, not the message's: reworded, the
    /// highlight stays where it was.
    #[test]
    fn a_refusal_is_shown_at_its_field_whatever_its_words() {
        let d = details(AccountState::None);
        let form = AcceptForm::parse(b"token=inv_1&firstName=Al&lastName=&password=x");
        for (field, words) in [
            ("lastName", "lastName is required"),
            ("lastName", "Please tell us what your family calls you"),
            ("password", "Eight characters at the very least"),
            ("firstName", "Names cannot hold control characters"),
        ] {
            let e = DomainError::invalid(words).at(field);
            let page = html(&accept_outcome(&d, &form, Err(e), &post())).to_string();
            assert!(
                page.contains(&format!("id=\"{field}-error\"")),
                "{field} for {words:?}: {page}"
            );
            let others = ["firstName", "lastName", "password"];
            for other in others.iter().filter(|o| **o != field) {
                assert!(!page.contains(&format!("id=\"{other}-error\"")), "{page}");
            }
        }
        // A message that merely starts with a field's name highlights nothing.
        let e = DomainError::invalid("password managers are welcome here");
        let page = html(&accept_outcome(&d, &form, Err(e), &post())).to_string();
        assert!(!page.contains("-error\""), "{page}");
    }

    #[test]
    fn refusals_a_person_can_fix_show_the_form_again() {
        let d = details(AccountState::None);
        let form = AcceptForm::parse(b"token=inv_1&firstName=Al&password=x");
        let cases = [
            (ErrorKind::Conflict, 409, "Try again.", true),
            (ErrorKind::PasswordLength, 400, "Too short.", true),
            (ErrorKind::InvalidParameter, 400, "Too short.", true),
            (ErrorKind::RecordNotFound, 404, "no longer works", false),
            (ErrorKind::NotPermitted, 403, "cannot be accepted", false),
            (ErrorKind::UserService, 500, "on our side", false),
        ];
        for (kind, status, says, form_again) in cases {
            let message = if form_again { says } else { "x" };
            let e = DomainError::new(kind, message.to_lowercase());
            let resp = accept_outcome(&d, &form, Err(e), &post());
            assert_eq!(resp.status(), status, "{kind:?}");
            let page = html(&resp);
            assert!(page.contains(says), "{kind:?}: {page}");
            assert_eq!(page.contains("<form"), form_again, "{kind:?}: {page}");
            if form_again {
                assert!(page.contains("value=\"Al\""), "{page}");
                assert!(page.contains("value=\"inv_1\""), "{page}");
            }
        }
        let done = accept_outcome(
            &d,
            &form,
            Ok(Accepted {
                user_id: crate::domain::Id::new(5).unwrap(),
                company_id: crate::domain::Id::new(1).unwrap(),
            }),
            &post(),
        );
        assert_eq!(done.status(), 303, "accepted: see the result page");
        assert_eq!(done.headers()["location"], ACCEPTED_PAGE);
        let cookie = done.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            !cookie.contains("inv_1"),
            "no token in the outcome: {cookie}"
        );
        let mut req = Request::default();
        req.headers_mut()
            .insert("cookie", cookie.split(';').next().unwrap().parse().unwrap());
        let page = accepted_page(&req);
        assert_eq!(page.status(), 200);
        assert!(
            html(&page).contains("You have joined Acme"),
            "{}",
            html(&page)
        );
        assert!(html(&page).contains("<strong>a@b.example</strong>"));
    }
}
