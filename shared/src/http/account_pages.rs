//! The pages an account's emails link to, in the accept page's style and with its safety
//! (`pages`): the verification page (`/account/verify`: which address, confirm with the
//! account's password), the password reset page (`/account/password/reset`: the address, the
//! new password twice) and the page that asks for a new reset link
//! (`/account/password/forgot`). Opening a page never uses its link up; a successful `POST`
//! answers `303` to a result page that shows what happened without the token in its URL.
//! Every dead end (used, unknown, expired, locked, already done) says what to do next.

use super::pages::{
    dead_end, document, error_response, escape, field, html_response, no_outcome, outcome,
    outcome_field, password_policy, problem_html, result_page, see_other, sentence, FormPost,
};
use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::Password;
use crate::usecases::password_reset::{ResetPreview, RESET_MINUTES};
use crate::usecases::verification::VerificationPreview;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};

/// Where each form sends the browser once done (relative to the form's page).
pub const VERIFIED_PAGE: &str = "verify/done";
pub const RESET_DONE_PAGE: &str = "reset/done";
pub const FORGOT_SENT_PAGE: &str = "forgot/sent";

/// The reset-request page, from the verification and reset pages (relative links).
const FORGOT_FROM_VERIFY: &str = "password/forgot";
const FORGOT_FROM_RESET: &str = "forgot";

fn when(at: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        at.format("%-d %B %Y, %H:%M UTC")
    )
}

fn hidden_token(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"token\" value=\"{}\">\n",
        escape(token)
    )
}

fn address_field(email: &str) -> String {
    format!(
        "<label for=\"email\">Email address</label>\n<input id=\"email\" type=\"email\" value=\"{}\" readonly autocomplete=\"username\">\n",
        escape(email)
    )
}

/// A form page: `status` 200, or the refusal's status when the form is shown again.
fn form_page(title: &str, main: String, refused: Option<&DomainError>) -> Response<Body> {
    let html = document(title, &main);
    match refused {
        Some(e) => error_response(e, html),
        None => html_response(200, html),
    }
}

// ---- Email verification -------------------------------------------------------------------

/// The verification page: the address, and a form that confirms it with the account's
/// password; `refused` shows what went wrong at the password field.
pub fn verify_page(
    p: &VerificationPreview,
    token: &str,
    refused: Option<&DomainError>,
) -> Response<Body> {
    if p.already_verified {
        return html_response(
            200,
            document(
                "Your address is already confirmed",
                &format!(
                    "<h1>Your address is already confirmed</h1>\n<p><strong>{}</strong> is confirmed: there is nothing more to do.</p>\n<p>Sign in to the app with this address and your password.</p>\n",
                    escape(&p.email_address)
                ),
            ),
        );
    }
    let message = refused.map(|e| match e.kind {
        ErrorKind::InvalidLogin if e.message.starts_with("sign in") => {
            "Enter the password of your account to confirm.".to_string()
        }
        ErrorKind::InvalidLogin => "That is not the password of this account. Try again.".into(),
        _ => sentence(&e.message),
    });
    // Which field a refusal is about: the current password, the new one, or the repeat.
    let at = |name: &str| refused.filter(|e| e.is_at(name)).and(message.as_deref());
    let new_input = |name: &str| {
        format!(
            "name=\"{name}\" type=\"password\" required minlength=\"{}\" maxlength=\"{}\" autocomplete=\"new-password\"",
            Password::NEW_MIN_CHARS,
            Password::NEW_MAX_CHARS
        )
    };
    // Nothing the registrant chose (their name) is shown: anyone may have registered this
    // address, and their words beside a password prompt would be a lure.
    let main = format!(
        concat!(
            "<h1>Confirm your email address</h1>\n",
            "<p>Confirm that <strong>{email}</strong> is yours: enter the password of the account ",
            "registered with it (the mailbox alone does not confirm an account) and choose a new ",
            "one. Confirming signs out every device signed in to the account.</p>\n",
            "<dl>\n<dt>The link expires</dt><dd>{expires}</dd>\n</dl>\n{problem}",
            "<form method=\"post\" action=\"verify\">\n{token}{address}{password}{new}{confirm}",
            "<button type=\"submit\">Confirm my address</button>\n</form>\n",
            "<p>Did you not register this address, or forgot the password? ",
            "<a href=\"{forgot}\">Get a link to choose a new password</a>: it confirms the address ",
            "and takes the account back, with nothing anyone else did in its name.</p>\n",
        ),
        email = escape(&p.email_address),
        expires = when(p.expires_at),
        problem = message.as_deref().map_or_else(String::new, problem_html),
        token = hidden_token(token),
        address = address_field(&p.email_address),
        password = field(
            "password",
            "Current password of the account",
            "name=\"password\" type=\"password\" required autocomplete=\"current-password\"",
            None,
            at("password"),
        ),
        new = field(
            "newPassword",
            "New password",
            &new_input("newPassword"),
            Some(&password_policy()),
            at("newPassword"),
        ),
        confirm = field(
            "confirm",
            "The new password again",
            &new_input("confirm"),
            None,
            at("confirm"),
        ),
        forgot = FORGOT_FROM_VERIFY,
    );
    form_page("Confirm your email address", main, refused)
}

/// Whether a refused confirmation shows the form again.
pub fn verify_can_retry(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::InvalidLogin
            | ErrorKind::InvalidParameter
            | ErrorKind::PasswordLength
            | ErrorKind::Conflict
    )
}

/// The page for a verification link that cannot be used.
pub fn verify_problem(e: &DomainError) -> Response<Body> {
    let forgot = [(
        FORGOT_FROM_VERIFY,
        "Get a password reset link instead (setting a new password confirms the address)",
    )];
    match e.kind {
        ErrorKind::RecordNotFound => dead_end(
            e,
            "This confirmation link no longer works",
            "It was already used, or it is not a link we sent. If you confirmed your address, sign in to the app with it.",
            &forgot,
        ),
        ErrorKind::Expired => dead_end(
            e,
            "This confirmation link has expired",
            "Confirmation links work for 7 days.",
            &forgot,
        ),
        ErrorKind::AccountLocked => dead_end(
            e,
            "Too many wrong passwords",
            "The account is locked for a while after too many wrong passwords. Try again later, or choose a new password by email.",
            &forgot,
        ),
        _ => common_problem(e, "confirmation"),
    }
}

/// A result page about the address its outcome names; without an outcome (bookmarked, or
/// after an hour), that there is nothing to show of `what`.
fn address_result(
    req: &Request,
    page: &str,
    what: &str,
    title: &str,
    say: impl Fn(&str) -> Vec<String>,
) -> Response<Body> {
    match outcome(req, page) {
        Some(o) => result_page(title, &say(outcome_field(&o, "email").unwrap_or_default())),
        None => no_outcome(what),
    }
}

/// The result page after confirming (`GET /account/verify/done`).
pub fn verified_page(req: &Request) -> Response<Body> {
    address_result(
        req,
        VERIFIED_PAGE,
        "confirming an address",
        "Your address is confirmed",
        |email| {
            vec![
                format!("{email} is confirmed."),
                "Every device signed in to the account was signed out: sign in to the app with this address and your new password.".into(),
            ]
        },
    )
}

/// The answer to a confirmed address.
pub fn verified(email: &str, post: &FormPost) -> Response<Body> {
    see_other(post, VERIFIED_PAGE, &[("email", email)])
}

// ---- Password reset -----------------------------------------------------------------------

/// The reset form's fields: which field a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetField {
    FirstName,
    LastName,
    Password,
    Confirm,
    Form,
}

/// The reset page: the account's address and the new password twice, with the policy.
pub fn reset_page(
    p: &ResetPreview,
    token: &str,
    refused: Option<(ResetField, &DomainError)>,
) -> Response<Body> {
    let message = refused.map(|(_, e)| sentence(&e.message));
    let at = |f: ResetField| refused.filter(|(at, _)| *at == f).and(message.as_deref());
    let input = |name: &str| {
        format!(
            "name=\"{name}\" type=\"password\" required minlength=\"{}\" maxlength=\"{}\" autocomplete=\"new-password\"",
            Password::NEW_MIN_CHARS,
            Password::NEW_MAX_CHARS
        )
    };
    let name = |name: &str, label: &str, f: ResetField| {
        field(
            name,
            label,
            &format!("name=\"{name}\" type=\"text\" required maxlength=\"100\""),
            None,
            at(f),
        )
    };
    let (takes_back, names) = match p.takes_back {
        true => (
            concat!(
                "<p>Nobody has confirmed this address yet, so anyone may have registered it. ",
                "Setting a password takes the account back: everything done in its name before ",
                "(companies joined, answers and consents given, its name) is dropped, and you ",
                "choose its name now.</p>\n",
            ),
            format!(
                "{}{}",
                name("firstName", "Your first name", ResetField::FirstName),
                name("lastName", "Your last name", ResetField::LastName)
            ),
        ),
        false => ("", String::new()),
    };
    let main = format!(
        concat!(
            "<h1>Choose a new password</h1>\n",
            "<p>For the account <strong>{email}</strong>. Once it is set, every device signed in ",
            "to the account is signed out.</p>\n{takes_back}",
            "<dl>\n<dt>The link expires</dt><dd>{expires}</dd>\n</dl>\n{problem}",
            "<form method=\"post\" action=\"reset\">\n{token}{address}{names}{password}{confirm}",
            "<button type=\"submit\">Set the new password</button>\n</form>\n",
        ),
        takes_back = takes_back,
        names = names,
        email = escape(&p.email_address),
        expires = when(p.expires_at),
        problem = message.as_deref().map_or_else(String::new, problem_html),
        token = hidden_token(token),
        address = address_field(&p.email_address),
        password = field(
            "password",
            "New password",
            &input("password"),
            Some(&password_policy()),
            at(ResetField::Password),
        ),
        confirm = field(
            "confirm",
            "The new password again",
            &input("confirm"),
            None,
            at(ResetField::Confirm),
        ),
    );
    form_page("Choose a new password", main, refused.map(|(_, e)| e))
}

/// The two passwords typed differ.
pub fn passwords_differ() -> DomainError {
    DomainError::invalid("the two passwords are not the same; type the new password twice")
        .at("confirm")
}

/// Where on the reset form a refusal belongs, or `None` for a dead end.
pub fn reset_retry_at(e: &DomainError) -> Option<ResetField> {
    match e.field.as_deref() {
        Some("password") => Some(ResetField::Password),
        Some("confirm") => Some(ResetField::Confirm),
        Some("firstName") => Some(ResetField::FirstName),
        Some("lastName") => Some(ResetField::LastName),
        _ if e.kind == ErrorKind::Conflict => Some(ResetField::Form),
        _ => None,
    }
}

/// The page for a reset link that cannot be used.
pub fn reset_problem(e: &DomainError) -> Response<Body> {
    let forgot = [(FORGOT_FROM_RESET, "Ask for a new reset link")];
    match e.kind {
        ErrorKind::RecordNotFound => dead_end(
            e,
            "This reset link no longer works",
            "It was already used, a newer password replaced the one it was for, or it is not a link we sent. If you set a new password, sign in with it.",
            &forgot,
        ),
        ErrorKind::Expired => dead_end(
            e,
            "This reset link has expired",
            &format!("Reset links work for {RESET_MINUTES} minutes."),
            &forgot,
        ),
        _ => common_problem(e, "reset"),
    }
}

/// The result page after a reset (`GET /account/password/reset/done`).
pub fn reset_done_page(req: &Request) -> Response<Body> {
    address_result(
        req,
        RESET_DONE_PAGE,
        "choosing a new password",
        "Your password is changed",
        |email| {
            vec![
            format!("The account {email} has its new password."),
            "Every other session was signed out: each device signed in to the account must sign in again.".into(),
            "Sign in to the app with your new password.".into(),
        ]
        },
    )
}

/// The answer to a password that was set.
pub fn reset_done(email: &str, post: &FormPost) -> Response<Body> {
    see_other(post, RESET_DONE_PAGE, &[("email", email)])
}

// ---- Asking for a reset link ----------------------------------------------------------------

/// The page that asks for a reset link: an address; `refused` shows what to fix at it.
pub fn forgot_page(email: Option<&str>, refused: Option<&DomainError>) -> Response<Body> {
    let message = refused.map(|e| sentence(&e.message.replace("emailAddress", "email address")));
    let main = format!(
        concat!(
            "<h1>Forgot your password?</h1>\n",
            "<p>Enter your account's email address: we send it a link to choose a new password. ",
            "The link works for {minutes} minutes.</p>\n{problem}",
            "<form method=\"post\" action=\"forgot\">\n{email}",
            "<button type=\"submit\">Send me a link</button>\n</form>\n",
        ),
        minutes = RESET_MINUTES,
        problem = message.as_deref().map_or_else(String::new, problem_html),
        email = field(
            "emailAddress",
            "Email address",
            &format!(
                "name=\"emailAddress\" type=\"email\" required maxlength=\"254\" autocomplete=\"email\" value=\"{}\"",
                escape(email.unwrap_or_default())
            ),
            None,
            message.as_deref(),
        ),
    );
    form_page("Forgot your password?", main, refused)
}

/// The answer to a reset request (the same whether the address has an account or not).
pub fn forgot_sent(email: &str, post: &FormPost) -> Response<Body> {
    see_other(post, FORGOT_SENT_PAGE, &[("email", email)])
}

/// The result page after asking (`GET /account/password/forgot/sent`).
pub fn forgot_sent_page(req: &Request) -> Response<Body> {
    address_result(
        req,
        FORGOT_SENT_PAGE,
        "asking for a reset link",
        "Check your email",
        |email| {
            vec![
            format!("If {email} has an account, a link to choose a new password is on its way. It works for {RESET_MINUTES} minutes."),
            "No email after a few minutes? Check the spam folder, or ask again (3 times an hour at most).".into(),
        ]
        },
    )
}

/// The page for a refusal the person cannot fix on a form.
pub fn forgot_problem(e: &DomainError) -> Response<Body> {
    match e.kind {
        ErrorKind::TooManyRequests => dead_end(
            e,
            "Too many requests for this address",
            "Links were asked for this address too often in the last hour. Use the link in the newest email, or ask again later.",
            &[],
        ),
        _ => common_problem(e, "reset"),
    }
}

/// Problems every account page answers alike: an incomplete link, a form too large, a failure
/// on admit's side.
fn common_problem(e: &DomainError, what: &str) -> Response<Body> {
    if e.kind.is_server_fault() {
        return dead_end(
            e,
            "Something went wrong on our side",
            "Please try again in a moment.",
            &[],
        );
    }
    match e.kind {
        ErrorKind::InvalidParameter if e.message.starts_with("token") => dead_end(
            e,
            "This link is incomplete",
            &format!("Open the {what} link in the email again (if you copied it, copy all of it)."),
            &[],
        ),
        _ => dead_end(e, "This cannot be done", &sentence(&e.message), &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::fixed_instant;

    fn html(resp: &Response<Body>) -> &str {
        match resp.body() {
            Body::Text(t) => t,
            _ => panic!("a text body"),
        }
    }

    fn verification(already: bool) -> VerificationPreview {
        VerificationPreview {
            email_address: "zoë@example.com".into(),
            expires_at: fixed_instant(),
            already_verified: already,
        }
    }

    #[test]
    fn a_wrong_password_is_shown_at_its_field() {
        let e = DomainError::new(ErrorKind::InvalidLogin, "wrong").at("password");
        let resp = verify_page(&verification(false), "ver_<x>", Some(&e));
        assert_eq!(resp.status(), 401);
        let page = html(&resp);
        assert!(
            page.contains("aria-describedby=\"password-error\" aria-invalid=\"true\""),
            "{page}"
        );
        assert!(
            page.contains("id=\"password-error\" class=\"field-error\">That is not the password"),
            "{page}"
        );
        assert!(page.contains("value=\"ver_&lt;x&gt;\""), "{page}");
        assert!(page.contains("<label for=\"password\">"), "{page}");
        assert!(page.contains("<label for=\"newPassword\">"), "{page}");
        let short = DomainError::new(ErrorKind::PasswordLength, "too short, in any words")
            .at("newPassword");
        let resp = verify_page(&verification(false), "ver_1", Some(&short));
        assert!(
            html(&resp).contains("id=\"newPassword-error\""),
            "{}",
            html(&resp)
        );
        let done = verify_page(&verification(true), "ver_1", None);
        assert_eq!(done.status(), 200);
        assert!(html(&done).contains("already confirmed"));
        assert!(!html(&done).contains("<form"));
    }

    #[test]
    fn the_reset_form_states_the_policy_and_places_each_refusal() {
        let p = ResetPreview {
            email_address: "a@b.example".into(),
            expires_at: fixed_instant(),
            takes_back: false,
        };
        let differ = passwords_differ();
        assert_eq!(reset_retry_at(&differ), Some(ResetField::Confirm));
        let resp = reset_page(&p, "rst_1", Some((ResetField::Confirm, &differ)));
        assert_eq!(resp.status(), 400);
        let page = html(&resp);
        assert!(page.contains(&password_policy()), "{page}");
        assert!(page.contains("id=\"confirm-error\""), "{page}");
        assert!(!page.contains("id=\"password-error\""), "{page}");
        assert!(
            page.contains("aria-describedby=\"password-hint\""),
            "{page}"
        );
        let short = DomainError::new(
            ErrorKind::PasswordLength,
            "password must be between 8 and 30 characters",
        )
        .at("password");
        assert_eq!(reset_retry_at(&short), Some(ResetField::Password));
        // Reworded, a refusal stays at its field.
        let reworded = DomainError::invalid("Those two did not match, sorry").at("confirm");
        assert_eq!(reset_retry_at(&reworded), Some(ResetField::Confirm));
        let named = DomainError::invalid("Tell us your given name").at("firstName");
        assert_eq!(reset_retry_at(&named), Some(ResetField::FirstName));
        assert_eq!(
            reset_retry_at(&DomainError::new(ErrorKind::RecordNotFound, "gone")),
            None
        );
    }

    #[test]
    fn every_dead_end_has_a_way_forward_and_its_status() {
        let cases = [
            (
                verify_problem(&DomainError::new(ErrorKind::RecordNotFound, "x")),
                404,
                "password/forgot",
            ),
            (
                verify_problem(&DomainError::new(ErrorKind::Expired, "x")),
                410,
                "password/forgot",
            ),
            (
                verify_problem(
                    &DomainError::new(ErrorKind::AccountLocked, "x").with_retry_after(60),
                ),
                423,
                "password/forgot",
            ),
            (
                reset_problem(&DomainError::new(ErrorKind::RecordNotFound, "x")),
                404,
                "href=\"forgot\"",
            ),
            (
                reset_problem(&DomainError::new(ErrorKind::Expired, "x")),
                410,
                "href=\"forgot\"",
            ),
            (
                reset_problem(&DomainError::invalid("token is required")),
                400,
                "incomplete",
            ),
            (
                forgot_problem(
                    &DomainError::new(ErrorKind::TooManyRequests, "x").with_retry_after(30),
                ),
                429,
                "newest email",
            ),
            (
                reset_problem(&DomainError::new(ErrorKind::UserService, "secret detail")),
                500,
                "on our side",
            ),
        ];
        for (resp, status, says) in cases {
            assert_eq!(resp.status(), status, "{says}");
            assert!(html(&resp).contains(says), "{}", html(&resp));
            assert!(!html(&resp).contains("secret detail"));
        }
    }

    #[test]
    fn a_done_form_redirects_with_its_outcome_and_no_token() {
        let post = FormPost::new("/account/password/reset", true);
        let resp = reset_done("a+b@example.com", &post);
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()["location"], RESET_DONE_PAGE);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap();
        assert!(
            cookie.starts_with(
                "admit_outcome=page=reset%2Fdone&email=a%2Bb%40example.com; Path=/account/password/reset/done;"
            ),
            "{cookie}"
        );
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
                && cookie.contains("; Secure"),
            "{cookie}"
        );
        let mut req = Request::default();
        req.headers_mut().insert(
            "cookie",
            "other=1; admit_outcome=page=reset%2Fdone&email=a%2Bb%40example.com"
                .parse()
                .unwrap(),
        );
        let page = reset_done_page(&req);
        assert_eq!(page.status(), 200);
        assert!(
            html(&page).contains("a+b@example.com has its new password"),
            "{}",
            html(&page)
        );
        assert!(html(&page).contains("Every other session was signed out"));
        let bare = reset_done_page(&Request::default());
        assert_eq!(bare.status(), 404);
        // The outcome of asking for a link is not a reset's.
        let mut asked = Request::default();
        asked.headers_mut().insert(
            "cookie",
            "admit_outcome=page=forgot%2Fsent&email=a%40b.example"
                .parse()
                .unwrap(),
        );
        assert_eq!(reset_done_page(&asked).status(), 404);
        assert_eq!(forgot_sent_page(&asked).status(), 200);
        // The outcome of asking for a link is not a reset's.
        let mut asked = Request::default();
        asked.headers_mut().insert(
            "cookie",
            "admit_outcome=page=forgot%2Fsent&email=a%40b.example"
                .parse()
                .unwrap(),
        );
        assert_eq!(reset_done_page(&asked).status(), 404);
        assert_eq!(forgot_sent_page(&asked).status(), 200);
        assert!(html(&bare).contains("Nothing to show here"));
    }
}
