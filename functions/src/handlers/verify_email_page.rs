//! `GET` and `POST /account/verify`: the page a verification email links to. `GET ?token=T`
//! shows which address the link confirms (without using it up); `POST` (the form, urlencoded)
//! confirms with the account's password and sets a new one through the same use case as
//! `POST /rest/user/verify` and answers `303` to `GET /account/verify/done`, the result page.

use admit_shared::http::account_pages as page;
use admit_shared::http::pages::{Form, FormPost};
use admit_shared::http::{self};
use admit_shared::usecases::verification::{self, Proof};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

/// Each route of the row, by the route API Gateway matched.
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    if http::came_by(&req, "GET", "/account/verify") {
        let token = http::query_param(&req, "token");
        match verification::preview(app, token.as_deref()).await {
            Ok(p) => page::verify_page(&p, token.as_deref().unwrap_or_default(), None),
            Err(e) => page::verify_problem(&e),
        }
    } else if http::came_by(&req, "POST", "/account/verify") {
        submit(app, &req).await
    } else if http::came_by(&req, "GET", "/account/verify/done") {
        page::verified_page(&req)
    } else {
        page::verify_problem(&http::no_such_route())
    }
}

/// The preview is read first: a refused form is shown again with it.
async fn submit(app: &App, req: &Request) -> Response<Body> {
    if let Err(e) = http::check_form_origin(req) {
        return page::verify_problem(&e);
    }
    let form = match Form::from_request(req) {
        Ok(f) => f,
        Err(e) => return page::verify_problem(&e),
    };
    let token = form.get("token");
    let preview = match verification::preview(app, token).await {
        Ok(p) => p,
        Err(e) => return page::verify_problem(&e),
    };
    if preview.already_verified {
        return page::verify_page(&preview, token.unwrap_or_default(), None);
    }
    let proof = Proof::Password(form.get("password"));
    let new_password = form.get("newPassword");
    if new_password.is_some() && new_password != form.get("confirm") {
        let e = page::passwords_differ();
        return page::verify_page(&preview, token.unwrap_or_default(), Some(&e));
    }
    match verification::confirm(app, token, proof, new_password, &http::caller(req)).await {
        Ok(v) => page::verified(&v.email_address, &FormPost::of(app, req)),
        Err(e) if page::verify_can_retry(e.kind) => {
            page::verify_page(&preview, token.unwrap_or_default(), Some(&e))
        }
        Err(e) => page::verify_problem(&e),
    }
}
