//! HTML pages for people with a browser: the page where an invitee accepts an invitation and
//! its outcomes, and what every page shares: escaping, the document around a page's `<main>`,
//! the headers (no caching, a strict Content-Security-Policy, no framing, no referrer: page
//! URLs carry tokens) and `application/x-www-form-urlencoded` bodies. No JavaScript anywhere.

use super::{body_bytes, nextinteract, MAX_BODY_BYTES};
use crate::domain::error::{DomainError, ErrorKind};
/// The one HTML escape (`& < > " '`), shared with the emails.
pub use crate::domain::html::escape;
use crate::domain::Password;
use crate::usecases::invitations::{AcceptRequest, Accepted, AccountState, InvitationDetails};
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

/// The fields of the accept form, as a browser posts them. An empty field is a missing one.
#[derive(Debug, Default, Clone)]
pub struct AcceptForm {
    pub token: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
}

impl AcceptForm {
    /// Reads an `application/x-www-form-urlencoded` body (the first value of each field; other
    /// fields are ignored). Over 64 KiB is `BodyTooLarge`.
    pub fn from_request(req: &Request) -> Result<AcceptForm, DomainError> {
        Ok(Self::from_form(&Form::from_request(req)?))
    }

    /// The form's fields from an urlencoded body.
    pub fn parse(bytes: &[u8]) -> AcceptForm {
        Self::from_form(&Form::parse(bytes))
    }

    fn from_form(f: &Form) -> AcceptForm {
        AcceptForm {
            token: f.owned("token"),
            first_name: f.owned("firstName"),
            last_name: f.owned("lastName"),
            password: f.owned("password"),
        }
    }

    /// The same request the JSON API takes.
    pub fn request(&self) -> AcceptRequest {
        AcceptRequest {
            token: self.token.clone(),
            password: self.password.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
        }
    }
}

/// The invitation: who invited, to which company (a site) and teams (its groups), for how
/// long, until when the link works; what they wrote.
fn offer_html(d: &InvitationDetails) -> String {
    let p = &d.preview;
    let company = escape(&p.company_name);
    let note = d.message.as_deref().map_or_else(String::new, |m| {
        format!(
            "<figure>\n<blockquote>{}</blockquote>\n<figcaption>{}</figcaption>\n</figure>\n",
            escape(m),
            escape(&d.inviter)
        )
    });
    let (heading, offer, teams) = if d.via_site {
        (
            format!("Access to {company}"),
            format!("{} invited you to the site {company}.", escape(&d.inviter)),
            "Groups",
        )
    } else {
        (
            format!("Join {company}"),
            format!("{} invited you to join {company}.", escape(&d.inviter)),
            "Teams",
        )
    };
    format!(
        concat!(
            "<h1>{heading}</h1>\n<p>{offer}</p>\n{note}",
            "<dl>\n<dt>{teams_label}</dt><dd>{teams}</dd>\n<dt>Access</dt><dd>{access}</dd>\n",
            "<dt>The link expires</dt><dd><time datetime=\"{at}\">{expires}</time></dd>\n</dl>\n"
        ),
        heading = heading,
        offer = offer,
        note = note,
        teams_label = teams,
        teams = teams_html(d),
        access = escape(&access_text(d)),
        at = p
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        expires = p.expires_at.format("%-d %B %Y, %H:%M UTC"),
    )
}

/// Temporary (for how long, and until when if accepted now) or permanent.
fn access_text(d: &InvitationDetails) -> String {
    match d.preview.access_days {
        Some(days) => format!(
            "Temporary: {days} days from when you accept (until {} if you accept now)",
            (d.read_at + chrono::Duration::days(i64::from(days))).format("%-d %B %Y, %H:%M UTC")
        ),
        None => "Permanent".to_string(),
    }
}

fn teams_html(d: &InvitationDetails) -> String {
    if d.preview.teams.is_empty() {
        return if d.via_site {
            "None: you get access to the site only.".into()
        } else {
            "None: you join the company only.".into()
        };
    }
    let items: String = d
        .preview
        .teams
        .iter()
        .map(|t| format!("<li>{}</li>", escape(&t.team_name)))
        .collect();
    format!("<ul>{items}</ul>")
}

/// The field a refusal is about, when it is about one.
/// The accept form's field a refusal concerns, as the validator that refused it said.
fn field_of(e: &DomainError) -> Option<&'static str> {
    ["firstName", "lastName", "password"]
        .into_iter()
        .find(|f| e.is_at(f))
}

/// The inputs the account's state asks for: names and a new password for a new account, a new
/// password for an unverified one, the account's password for a verified one; `error` is
/// shown at the field it is about.
fn account_fields(
    d: &InvitationDetails,
    entered: Option<&AcceptForm>,
    error: Option<(&str, &str)>,
) -> String {
    let value = |typed: Option<&Option<String>>, suggested: &str| {
        escape(typed.and_then(Option::as_deref).unwrap_or(suggested))
    };
    let error_at = |f: &str| error.filter(|(at, _)| *at == f).map(|(_, m)| m);
    let new_password = field(
        "password",
        "Choose a password",
        &format!(
            "name=\"password\" type=\"password\" required minlength=\"{}\" maxlength=\"{}\" autocomplete=\"new-password\"",
            Password::NEW_MIN_CHARS,
            Password::NEW_MAX_CHARS
        ),
        Some(&password_policy()),
        error_at("password"),
    );
    let names = format!(
        "{}{}",
        field(
            "firstName",
            "First name",
            &format!(
                "name=\"firstName\" required maxlength=\"100\" autocomplete=\"given-name\" value=\"{}\"",
                value(entered.map(|f| &f.first_name), &d.first_name)
            ),
            None,
            error_at("firstName"),
        ),
        field(
            "lastName",
            "Last name",
            &format!(
                "name=\"lastName\" required maxlength=\"100\" autocomplete=\"family-name\" value=\"{}\"",
                value(entered.map(|f| &f.last_name), &d.last_name)
            ),
            None,
            error_at("lastName"),
        ),
    );
    match d.account {
        AccountState::None => {
            format!("<p>Create your account to accept.</p>\n{names}{new_password}")
        }
        AccountState::Unverified => format!(
            concat!(
                "<p>This address has an account that nobody has confirmed, so anyone may have ",
                "registered it. Accepting takes it back: you choose its name and password, every ",
                "device signed in to it is signed out, and nothing done in its name before ",
                "(companies joined, answers given) is kept.</p>\n{names}{new_password}",
            ),
            names = names,
            new_password = new_password,
        ),
        AccountState::Verified => format!(
            "<p>This address already has an account: enter its password to accept.</p>\n{}",
            field(
                "password",
                "Password of your account",
                "name=\"password\" type=\"password\" required autocomplete=\"current-password\"",
                None,
                error_at("password"),
            )
        ),
    }
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

/// The accept page: the invitation and the form, with what went wrong last time (if anything:
/// the names typed are kept, the password never is).
pub fn accept_page(
    d: &InvitationDetails,
    token: &str,
    retry: Option<(&AcceptForm, &DomainError)>,
) -> Response<Body> {
    let message = retry.map(|(form, e)| form_message(d, form, e));
    let at = retry.and_then(|(_, e)| field_of(e));
    let problem = message.as_deref().map_or_else(String::new, problem_html);
    let error = at.zip(message.as_deref());
    let main = format!(
        concat!(
            "{offer}{problem}<form method=\"post\" action=\"accept\">\n",
            "<input type=\"hidden\" name=\"token\" value=\"{token}\">\n",
            "<label for=\"email\">Email address</label>\n",
            "<input id=\"email\" type=\"email\" value=\"{email}\" readonly autocomplete=\"username\">\n",
            "{fields}<button type=\"submit\">Accept the invitation</button>\n</form>\n",
        ),
        offer = offer_html(d),
        problem = problem,
        token = escape(token),
        email = escape(&d.preview.email_address),
        fields = account_fields(d, retry.map(|(f, _)| f), error),
    );
    let title = if d.via_site {
        format!("Access to {} – invitation", d.preview.company_name)
    } else {
        format!("Join {} – invitation", d.preview.company_name)
    };
    let html = document(&title, &main);
    match retry {
        Some((_, e)) => error_response(e, html),
        None => html_response(200, html),
    }
}

/// What to tell someone whose submission was refused, in the page's words.
fn form_message(d: &InvitationDetails, form: &AcceptForm, e: &DomainError) -> String {
    let email = &d.preview.email_address;
    match e.kind {
        ErrorKind::InvalidLogin if form.password.is_none() => {
            format!("Enter the password of the account for {email} to accept.")
        }
        ErrorKind::InvalidLogin => {
            format!("That is not the password of the account for {email}. Try again.")
        }
        _ => sentence(&e.message),
    }
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

/// Where the accept form sends the browser after accepting (relative to the accept page).
pub const ACCEPTED_PAGE: &str = "accepted";

/// The answer to an accepted invitation: `303` to the result page, with what it shows.
fn accepted(d: &InvitationDetails, post: &FormPost) -> Response<Body> {
    let p = &d.preview;
    let teams: Vec<&str> = p
        .teams
        .iter()
        .map(|t| t.team_name.as_str())
        .take(30)
        .collect();
    let access = match p.access_days {
        Some(days) => format!(
            "Your access is temporary: it ends on {}.",
            (d.read_at + chrono::Duration::days(i64::from(days))).format("%-d %B %Y, %H:%M UTC")
        ),
        None if d.via_site => "Your access is permanent.".to_string(),
        None => String::new(),
    };
    let kind = if d.via_site { "site" } else { "company" };
    see_other(
        post,
        ACCEPTED_PAGE,
        &[
            ("kind", kind),
            ("company", &p.company_name),
            ("email", &p.email_address),
            ("teams", &teams.join("\n")),
            ("access", &access),
        ],
    )
}

/// The result page after accepting (`GET /invitations/accepted`): what the outcome cookie
/// says, or that there is nothing to show.
pub fn accepted_page(req: &Request) -> Response<Body> {
    let Some(o) = outcome(req, ACCEPTED_PAGE) else {
        return no_outcome("accepting an invitation");
    };
    let get = |k: &str| outcome_field(&o, k).unwrap_or_default();
    let company = get("company");
    let site = get("kind") == "site";
    let teams: Vec<&str> = get("teams").lines().filter(|t| !t.is_empty()).collect();
    let teams = if teams.is_empty() {
        String::new()
    } else {
        let items: String = teams
            .iter()
            .map(|t| format!("<li>{}</li>", escape(t)))
            .collect();
        format!(
            "<p>Your {}:</p>\n<ul>{items}</ul>\n",
            if site { "groups" } else { "teams" }
        )
    };
    let access = match get("access") {
        "" => String::new(),
        a => format!("<p>{}</p>\n", escape(a)),
    };
    let (title, done) = if site {
        (
            format!("You have access to {company}"),
            "The invitation is accepted.",
        )
    } else {
        (
            format!("You have joined {company}"),
            "The invitation is accepted.",
        )
    };
    let main = format!(
        concat!(
            "<h1>{title}</h1>\n<p>{done}</p>\n{teams}{access}",
            "<p>Sign in to the app with <strong>{email}</strong> and your password.</p>\n"
        ),
        title = escape(&title),
        done = done,
        teams = teams,
        access = access,
        email = escape(get("email")),
    );
    html_response(200, document(&title, &main))
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

/// Whether a refused submission shows the form again (the person can fix it) rather than a
/// dead end.
fn can_retry(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::InvalidParameter
            | ErrorKind::PasswordLength
            | ErrorKind::InvalidLogin
            | ErrorKind::AccountLocked
            | ErrorKind::Conflict
    )
}

/// The answer to a submitted form: `303` to the result page once accepted, the form again with
/// what to fix, or the problem page.
pub fn accept_outcome(
    d: &InvitationDetails,
    form: &AcceptForm,
    result: Result<Accepted, DomainError>,
    post: &FormPost,
) -> Response<Body> {
    match result {
        Ok(_) => accepted(d, post),
        Err(e) if can_retry(e.kind) => accept_page(
            d,
            form.token.as_deref().unwrap_or_default(),
            Some((form, &e)),
        ),
        Err(e) => problem_page(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
