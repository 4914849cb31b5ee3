//! Logging: JSON lines in Lambda (one object per line, request id on each), readable lines locally.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// ANSI colours only for a terminal: a log written to a file or a pipe carries no escape codes.
/// `NO_COLOR` (any non-empty value) turns them off on a terminal too.
fn colour(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// For Lambda functions: JSON to stdout, level from `RUST_LOG` (default info), never ANSI
/// colours (CloudWatch is not a terminal).
pub fn init_lambda() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .try_init();
}

/// For the local server and the CLI: human-readable lines on stderr, coloured only when stderr
/// is a terminal.
pub fn init_local() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colour(std::io::stderr().is_terminal()))
        .with_writer(std::io::stderr)
        .try_init();
}
