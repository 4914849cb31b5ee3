//! `App`: the ports, built once per cold start (Lambda) or once per process (`admit serve`).

use crate::config::Config;
use crate::ports::clock::{Clock, Ids, SystemClock};
use crate::ports::events::{LocalPublisher, NoPublisher, Publisher};
use crate::ports::mail::{LocalMailer, Mailer, NoMailer, SesMailer};
use crate::ports::push::{LocalPusher, NoPusher, Pusher, SnsPusher};
use crate::ports::store::dynamodb::DynamoStore;
use crate::ports::store::embedded::EmbeddedStore;
use crate::ports::store::{Store, StoreError};
use crate::records::counter::StoreIds;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Notify;

/// The outside services a function talks to besides the store; only these are built at its
/// cold start (login needs neither SES nor SNS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSet {
    pub mail: bool,
    pub push: bool,
    /// EventBridge: only the dispatcher publishes, and only its binary links the client
    /// (`App::with_event_bus`).
    pub events: bool,
}

impl PortSet {
    /// The store only: what almost every endpoint needs (email and push go through the outbox).
    pub const STORE: PortSet = PortSet {
        mail: false,
        push: false,
        events: false,
    };
    /// The store and SNS (device registration).
    pub const PUSH: PortSet = PortSet {
        mail: false,
        push: true,
        events: false,
    };
    /// Everything (the outbox dispatcher).
    pub const ALL: PortSet = PortSet {
        mail: true,
        push: true,
        events: true,
    };
}

#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub pusher: Arc<dyn Pusher>,
    /// Where domain events go (the dispatcher publishes what the outbox holds).
    pub events: Arc<dyn Publisher>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    pub config: Config,
    /// Woken when a use case commits outbox messages (the local dispatcher waits on it).
    pub outbox_written: Arc<Notify>,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        pusher: Arc<dyn Pusher>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> App {
        App {
            ids: Arc::new(StoreIds::new(store.clone(), config.id_block)),
            store,
            mailer,
            pusher,
            events: Arc::new(NoPublisher),
            clock,
            config,
            outbox_written: Arc::new(Notify::new()),
        }
    }

    /// This app, publishing its events through `events`.
    pub fn with_events(self, events: Arc<dyn Publisher>) -> App {
        App { events, ..self }
    }

    /// This app, publishing to the EventBridge bus `ADMIT_EVENT_BUS` names (none named: every
    /// event fails for good and waits in the outbox's failed list for a replay). Called by the
    /// binaries whose ports include events, and only there, so no other binary links the
    /// EventBridge client.
    pub async fn with_event_bus(self) -> App {
        let Some(bus) = self.config.event_bus.clone() else {
            tracing::warn!("ADMIT_EVENT_BUS is not set: events will not be published");
            return self;
        };
        let sdk = aws_sdk_config(&self.config).await;
        let publisher = crate::ports::events::EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            bus,
        );
        self.with_events(Arc::new(publisher))
    }

    /// The cloud wiring: DynamoDB, and SES and SNS when `ports` asks for them, configured
    /// from the environment.
    pub async fn from_env(ports: PortSet) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::from_env()?;
        let sdk = aws_sdk_config(&config).await;
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table.clone(),
        ));
        if config.prewarm {
            store.warm(std::time::Duration::from_millis(1500)).await;
        }
        let mailer: Arc<dyn Mailer> = if ports.mail {
            Arc::new(SesMailer::new(
                aws_sdk_ses::Client::new(&sdk),
                config.mail_from.clone(),
            ))
        } else {
            Arc::new(NoMailer)
        };
        let pusher: Arc<dyn Pusher> = if ports.push {
            Arc::new(SnsPusher::new(
                aws_sdk_sns::Client::new(&sdk),
                config.ios_platform_arn.clone(),
                config.android_platform_arn.clone(),
            ))
        } else {
            Arc::new(NoPusher)
        };
        Ok(App::new(
            store,
            mailer,
            pusher,
            Arc::new(SystemClock),
            config,
        ))
    }

    /// The local wiring: the embedded store and the file outbox under `data_dir`.
    pub fn local(data_dir: &Path, config: Config) -> Result<App, StoreError> {
        let store = Arc::new(EmbeddedStore::open(&data_dir.join("store"))?);
        let mailer = Arc::new(LocalMailer::new(
            data_dir.join("mail"),
            config.mail_from.clone(),
        ));
        let pusher = Arc::new(LocalPusher::new(data_dir.join("push")));
        Ok(
            App::new(store, mailer, pusher, Arc::new(SystemClock), config)
                .with_events(Arc::new(LocalPublisher::new(data_dir.join("events")))),
        )
    }
}

/// The AWS SDK configuration: the standard chain (region, credentials, `AWS_ENDPOINT_URL*`)
/// with an operation timeout, so a stuck dependency fails fast instead of hanging a request.
pub async fn aws_sdk_config(config: &Config) -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_timeout(config.aws_timeout)
        .connect_timeout(std::time::Duration::from_secs(2))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

tokio::task_local! {
    /// The function a request runs as (its row of the endpoint table).
    static FUNCTION: &'static str;
}

/// Runs `work` as the function `name`: what `current_function` answers inside it. The test
/// recorders attribute each store, mail and push call to the function that made it.
pub async fn as_function<F: std::future::Future>(name: &'static str, work: F) -> F::Output {
    FUNCTION.scope(name, work).await
}

/// The function the current task runs as, if it runs as one.
pub fn current_function() -> Option<&'static str> {
    FUNCTION.try_with(|f| *f).ok()
}
