//! The password reset pages. `GET /account/password/reset?token=T`, the page a reset email
//! links to, shows the account's address and asks for the new password twice (without using
//! the link up); its `POST` sets it through the same use case as
//! `POST /rest/user/password/reset/confirm` and answers `303` to
//! `GET /account/password/reset/done`. `GET` and `POST /account/password/forgot` ask for a new
//! link, as `POST /rest/user/password/reset` does (the same answer for any address), and answer
//! `303` to `GET /account/password/forgot/sent`.

use admit_shared::http::account_pages as page;
use admit_shared::http::pages::{Form, FormPost};
use admit_shared::http::{self};
use admit_shared::usecases::password_reset::{self, ResetConfirmation, ResetRequest};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

/// Each route of the row, by the route API Gateway matched.
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let by = |method: &str, path: &str| http::came_by(&req, method, path);
    if by("GET", "/account/password/reset") {
        let token = http::query_param(&req, "token");
        match password_reset::preview(app, token.as_deref()).await {
            Ok(p) => page::reset_page(&p, token.as_deref().unwrap_or_default(), None),
            Err(e) => page::reset_problem(&e),
        }
    } else if by("POST", "/account/password/reset") {
        submit(app, &req).await
    } else if by("GET", "/account/password/reset/done") {
        page::reset_done_page(&req)
    } else if by("GET", "/account/password/forgot") {
        page::forgot_page(None, None)
    } else if by("POST", "/account/password/forgot") {
        ask(app, &req).await
    } else if by("GET", "/account/password/forgot/sent") {
        page::forgot_sent_page(&req)
    } else {
        page::reset_problem(&http::no_such_route())
    }
}

async fn submit(app: &App, req: &Request) -> Response<Body> {
    if let Err(e) = http::check_form_origin(req) {
        return page::reset_problem(&e);
    }
    let form = match Form::from_request(req) {
        Ok(f) => f,
        Err(e) => return page::reset_problem(&e),
    };
    let token = form.get("token");
    let preview = match password_reset::preview(app, token).await {
        Ok(p) => p,
        Err(e) => return page::reset_problem(&e),
    };
    // Taking an address back, the owner names the account (nothing the registrant chose stays).
    let missing_name = ["firstName", "lastName"]
        .into_iter()
        .find(|f| preview.takes_back && form.get(f).is_none_or(|v| v.trim().is_empty()));
    let result = if form.get("password").is_some() && form.get("password") != form.get("confirm") {
        Err(page::passwords_differ())
    } else if let Some(field) = missing_name {
        Err(
            admit_shared::domain::error::DomainError::invalid(format!("{field} is required"))
                .at(field),
        )
    } else {
        let body = ResetConfirmation {
            token: form.owned("token"),
            password: form.owned("password"),
            first_name: form.owned("firstName"),
            last_name: form.owned("lastName"),
        };
        password_reset::confirm(app, body, &http::caller(req)).await
    };
    match result {
        Ok(()) => page::reset_done(&preview.email_address, &FormPost::of(app, req)),
        Err(e) => match page::reset_retry_at(&e) {
            Some(at) => page::reset_page(&preview, token.unwrap_or_default(), Some((at, &e))),
            None => page::reset_problem(&e),
        },
    }
}

async fn ask(app: &App, req: &Request) -> Response<Body> {
    if let Err(e) = http::check_form_origin(req) {
        return page::forgot_problem(&e);
    }
    let form = match Form::from_request(req) {
        Ok(f) => f,
        Err(e) => return page::forgot_problem(&e),
    };
    let typed = form.get("emailAddress");
    let email = match password_reset::requested_address(ResetRequest {
        email_address: form.owned("emailAddress"),
    }) {
        Ok(email) => email,
        Err(e) => return page::forgot_page(typed, Some(&e)),
    };
    match password_reset::request(app, email.clone(), &http::public_base(app, req)).await {
        Ok(()) => page::forgot_sent(email.as_str(), &FormPost::of(app, req)),
        Err(e) => page::forgot_problem(&e),
    }
}
