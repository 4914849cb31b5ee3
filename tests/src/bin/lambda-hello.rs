//! The bench's baseline: a bare lambda_http hello-world, built in this workspace with the same
//! profile and lockfile as admit's functions (`scripts/bench`, docs/performance.md). It answers
//! every request `200 hello` and reads nothing.

use lambda_http::{service_fn, Body, Request, Response};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, std::convert::Infallible>(Response::new(Body::from("hello")))
    }))
    .await
}
