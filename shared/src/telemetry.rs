//! Logging: JSON lines in Lambda (one object per line, request id on each), readable lines locally.

use tracing_subscriber::EnvFilter;

/// For Lambda functions: JSON to stdout, level from `RUST_LOG` (default info), no ANSI colours.
pub fn init_lambda() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// For the local server and the CLI: human-readable lines on stderr.
pub fn init_local() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
