//! Logging setup: `tracing` to stderr, level from `CALLBOT_LOG` (default `warn`, with
//! symphonia's own probe chatter off), with
//! whisper.cpp's and ggml's own chatter routed into it instead of printed raw.

use std::ffi::{CStr, c_char, c_void};
use std::sync::Once;

use whisper_rs_sys as sys;

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CALLBOT_LOG")
        // symphonia logs its probing failures itself; the user gets our clearer error instead.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,symphonia_core=off,symphonia_format_riff=off"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// whisper.cpp prints model details and timings on every load; route them through tracing.
pub fn route_whisper_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        whisper_rs::install_logging_hooks();
        // SAFETY: `whisper_log` is a plain function that only reads the string it is given.
        unsafe { sys::whisper_log_set(Some(whisper_log), std::ptr::null_mut()) };
    });
}

/// whisper.cpp's own messages. A decode we cancel (`DecodeOptions::cancel`) makes whisper.cpp
/// log "failed to encode/decode" as an error; every real failure also comes back to us as an
/// `Err` that we report, so those two lines are only debug detail.
unsafe extern "C" fn whisper_log(level: sys::ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper.cpp passes a NUL-terminated string valid for the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let text = text.trim_end();
    if text.is_empty() {
        return;
    }
    let aborted = text.contains("failed to encode") || text.contains("failed to decode");
    match level {
        sys::ggml_log_level_GGML_LOG_LEVEL_ERROR if !aborted => tracing::error!(target: "whisper", "{text}"),
        sys::ggml_log_level_GGML_LOG_LEVEL_WARN => tracing::warn!(target: "whisper", "{text}"),
        sys::ggml_log_level_GGML_LOG_LEVEL_INFO => tracing::info!(target: "whisper", "{text}"),
        _ => tracing::debug!(target: "whisper", "{text}"),
    }
}
