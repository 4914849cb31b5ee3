//! `endpoints!`: turns the table of `lib.rs` into the crate. For every row it makes a public
//! module of the same name (its handler is `src/handlers/<name>.rs`, declared in
//! `src/handlers/mod.rs` as an ordinary module) holding
//! `ENDPOINT` (the row), `handler` (the handler, run as that function so the test recorders
//! know whose call they see) and `main` (what `src/bin/<name>.rs` calls). It also makes
//! `ENDPOINTS` (every row, HTTP ones first) and `dispatch` (an HTTP endpoint's handler by name,
//! for `admit serve`). A binary names only its own module, so it links only its own handler.

macro_rules! endpoints {
    (
        http { $( $http:ident { $($hfield:ident : $hvalue:expr),* $(,)? } ),* $(,)? }
        event { $( $event:ident { $($efield:ident : $evalue:expr),* $(,)? } ),* $(,)? }
    ) => {
        /// The rows, as constants (the modules below hold them as `ENDPOINT`).
        #[allow(non_upper_case_globals)]
        mod rows {
            use super::*;
            $(
                pub const $http: Endpoint = Endpoint {
                    name: stringify!($http),
                    $($hfield: $hvalue,)*
                    ..Endpoint::DEFAULTS
                };
            )*
            $(
                pub const $event: Endpoint = Endpoint {
                    name: stringify!($event),
                    $($efield: $evalue,)*
                    ..Endpoint::DEFAULTS
                };
            )*
        }

        /// Every endpoint: the HTTP ones in the table's order, then the event-driven ones.
        pub const ENDPOINTS: &[Endpoint] = &[$(rows::$http,)* $(rows::$event,)*];

        $(
            pub mod $http {
                #[allow(unused_imports)]
                pub use crate::handlers::$http::*;
                use admit_shared::App;
                use lambda_http::{Body, Request, Response};

                pub const ENDPOINT: $crate::Endpoint = crate::rows::$http;

                /// The handler, run as this function in a span named after it (with the
                /// request id); a POST or PUT with an `Idempotency-Key` runs under it
                /// (`admit_shared::http::idempotency`).
                pub async fn handler(app: &App, req: Request) -> Response<Body> {
                    use admit_shared::http::idempotency;
                    use tracing::Instrument;
                    let span = tracing::info_span!(
                        stringify!($http),
                        request_id = %admit_shared::http::request_id(&req)
                    );
                    admit_shared::app::as_function(ENDPOINT.name, async move {
                        if let Err(e) = ENDPOINT.negotiate(&req) {
                            return (ENDPOINT.refusal())(&e);
                        }
                        if ENDPOINT.replays() && idempotency::wanted(&req) {
                            idempotency::guard(
                                app,
                                ENDPOINT.name,
                                req,
                                ENDPOINT.refusal(),
                                |app, req| async move {
                                    crate::handlers::$http::handler(&app, req).await
                                },
                            )
                            .await
                        } else {
                            crate::handlers::$http::handler(app, req).await
                        }
                    }.instrument(span))
                    .await
                }

                /// The Lambda binary: the ports this function is granted, then the runtime.
                /// Inline, so the runtime is instantiated in the binary that calls it and the
                /// library holds none of it: a binary's link-time optimisation then reads its
                /// own function's runtime only, not every endpoint's.
                #[tokio::main]
                #[inline]
                pub async fn main() -> Result<(), $crate::Error> {
                    admit_shared::telemetry::init_lambda();
                    let app = App::from_env(ENDPOINT.ports()).await?;
                    let app = &app;
                    lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
                        Ok::<_, std::convert::Infallible>(handler(app, req).await)
                    }))
                    .await
                }
            }
        )*

        $(
            pub mod $event {
                #[allow(unused_imports)]
                pub use crate::handlers::$event::*;
                use admit_shared::App;
                use serde_json::Value;

                pub const ENDPOINT: $crate::Endpoint = crate::rows::$event;

                /// The handler, run as this function.
                pub async fn handler(app: &App, event: Value) -> Value {
                    admit_shared::app::as_function(
                        ENDPOINT.name,
                        crate::handlers::$event::handler(app, event),
                    )
                    .await
                }

                /// The Lambda binary: the ports this function is granted, then the runtime.
                /// Inline, so the runtime is instantiated in the binary that calls it and the
                /// library holds none of it: a binary's link-time optimisation then reads its
                /// own function's runtime only, not every endpoint's.
                #[tokio::main]
                #[inline]
                pub async fn main() -> Result<(), $crate::Error> {
                    admit_shared::telemetry::init_lambda();
                    let app = App::from_env(ENDPOINT.ports()).await?;
                    // A constant test: a binary that publishes no events has no EventBridge
                    // client in it.
                    let app = if ENDPOINT.ports().events {
                        app.with_event_bus().await
                    } else {
                        app
                    };
                    let app = &app;
                    lambda_runtime::run(lambda_runtime::service_fn(
                        move |event: lambda_runtime::LambdaEvent<Value>| async move {
                            Ok::<_, std::convert::Infallible>(handler(app, event.payload).await)
                        },
                    ))
                    .await
                }
            }
        )*

        /// Calls the handler of the HTTP endpoint `name` (`None` for no such endpoint).
        pub async fn dispatch(
            name: &str,
            app: &admit_shared::App,
            req: lambda_http::Request,
        ) -> Option<lambda_http::Response<lambda_http::Body>> {
            match name {
                $( stringify!($http) => Some($http::handler(app, req).await), )*
                _ => None,
            }
        }
    };
}

/// A binary's whole source: `admit_functions::main!(login_user);` runs that function. A
/// binary has no tests of its own, so its test build (`cargo test` makes one per binary) links
/// nothing of the function.
#[macro_export]
macro_rules! main {
    ($name:ident) => {
        #[cfg(not(test))]
        fn main() -> Result<(), $crate::Error> {
            $crate::$name::main()
        }
    };
}
