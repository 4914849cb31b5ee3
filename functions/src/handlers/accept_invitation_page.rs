//! `GET` and `POST /invitations/accept`: the page an invitation email links to. `GET ?token=T`
//! shows the invitation and a form (without using the link up); `POST` (the form, urlencoded)
//! accepts through the same use case as the JSON API and answers `303` to
//! `GET /invitations/accepted`, the result page (reloading it submits nothing), or shows the
//! form again with what to fix.

use admit_shared::http::accept_page::{self, AcceptForm};
use admit_shared::http::pages;
use admit_shared::http::{self};
use admit_shared::usecases::invitations::{self, ACCEPTED_PAGE_PATH, ACCEPT_PAGE_PATH};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

/// Each route of the row, by the route API Gateway matched.
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    if http::came_by(&req, "GET", ACCEPT_PAGE_PATH) {
        show(app, &req).await
    } else if http::came_by(&req, "POST", ACCEPT_PAGE_PATH) {
        submit(app, &req).await
    } else if http::came_by(&req, "GET", ACCEPTED_PAGE_PATH) {
        accept_page::accepted_page(&req)
    } else {
        pages::problem_page(&http::no_such_route())
    }
}

async fn show(app: &App, req: &Request) -> Response<Body> {
    let token = http::query_param(req, "token");
    match invitations::details(app, token.as_deref()).await {
        Ok(d) => accept_page::accept_page(&d, token.as_deref().unwrap_or_default(), None),
        Err(e) => pages::problem_page(&e),
    }
}

/// The details are read before accepting: the outcome page shows them, and a refused form is
/// shown again with them.
async fn submit(app: &App, req: &Request) -> Response<Body> {
    if let Err(e) = http::check_form_origin(req) {
        return pages::problem_page(&e);
    }
    let form = match AcceptForm::from_request(req) {
        Ok(f) => f,
        Err(e) => return pages::problem_page(&e),
    };
    let details = match invitations::details(app, form.token.as_deref()).await {
        Ok(d) => d,
        Err(e) => return pages::problem_page(&e),
    };
    let caller = http::caller(req);
    let result = invitations::accept(app, form.request(), None, &caller).await;
    accept_page::accept_outcome(&details, &form, result, &pages::FormPost::of(app, req))
}
