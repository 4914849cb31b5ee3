use admit_shared::App;
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    admit_shared::telemetry::init_lambda();
    let app = App::from_env().await?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(login_user::handler(app, req).await)
    }))
    .await
}
