//! The page an invitation email links to: the invitation (who invited, to which company and
//! teams or site and groups, for how long), the form its account's state asks for, and the
//! answers to a submitted form (the result page, the form again with what to fix at its field,
//! or a dead end).

use super::pages::{
    document, error_response, escape, field, html_response, no_outcome, outcome, outcome_field,
    password_policy, problem_html, problem_page, see_other, sentence, Form, FormPost,
};
use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::Password;
use crate::usecases::invitations::{AcceptRequest, Accepted, AccountState, InvitationDetails};
use lambda_http::{Body, Request, Response};

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
