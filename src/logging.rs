//! Logging setup: `tracing` to stderr, level from `CALLBOT_LOG` (default `warn`, with
//! symphonia's own probe chatter off), with
//! whisper.cpp's and ggml's own chatter routed into it instead of printed raw.

use std::sync::Once;

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CALLBOT_LOG")
        // symphonia logs its probing failures itself; the user gets our clearer error instead.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,symphonia_core=off,symphonia_format_riff=off"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// whisper.cpp prints model details and timings on every load; route them through tracing.
pub fn route_whisper_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}
