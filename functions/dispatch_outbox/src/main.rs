use admit_shared::App;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    admit_shared::telemetry::init_lambda();
    let app = App::from_env(admit_shared::Ports::ALL).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, std::convert::Infallible>(dispatch_outbox::handler(app, event.payload).await)
    }))
    .await
}
