//! Calls: what happens in one call, whatever the transport.
//!
//! - [`driver`]: the async driver of one call (media link, recogniser, synthesis, timers).
//! - [`event`]: the `CallEvent` vocabulary every observer reads (store, API, dashboards).
//! - [`pipeline`]: the sans-IO media pipeline: RTP in → 16 kHz audio for ASR; bot speech → RTP out.
//! - [`registry`]: live and recent calls as the API sees them, fed by the event stream.
//! - [`routes`]: which dialplan answers a called number.
//! - [`session`]: the sans-IO call session: turn-taking, barge-in, keypad, dialog decisions.
//!
//! A call's driver owns the I/O (media transport, decoder pool, TTS) and feeds the session.

pub mod driver;
pub mod event;
pub mod pipeline;
pub mod registry;
pub mod routes;
pub mod session;

pub use event::{CallEvent, CallEventRecord, Channel, Speaker, TranscriptLine, UtteranceEmotion};
pub use session::{CallSession, CallState, Input, Output, SessionConfig};
