//! The crate every admit endpoint shares: domain types and validation, the error registry,
//! auth, the ports (`Store`, `Mailer`, `Pusher`, `Clock`, `Ids`) and their adapters, and the
//! use cases the endpoints call.

pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod ports;
pub mod records;
pub mod telemetry;
pub mod usecases;

pub use app::App;
pub use lambda_http;

/// The `main` of an HTTP endpoint's Lambda binary: JSON logs, `App` built once per cold start
/// (a configuration error stops the cold start with a message naming the variable), then every
/// request through `handler`, which never fails.
#[macro_export]
macro_rules! http_function {
    ($handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), $crate::lambda_http::Error> {
            $crate::telemetry::init_lambda();
            let app = $crate::App::from_env().await?;
            let app = &app;
            $crate::lambda_http::run($crate::lambda_http::service_fn(
                move |req: $crate::lambda_http::Request| async move {
                    Ok::<_, std::convert::Infallible>($handler(app, req).await)
                },
            ))
            .await
        }
    };
}
