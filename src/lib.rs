//! callbot: a voice contact-center bot. See README.md for what it does and
//! ../shared/ARCHITECTURE.md (summarised in docs/architecture.md) for how the parts fit.

pub mod asr;
pub mod call;
pub mod cli;
pub mod dialog;
pub mod dialplan;
pub mod emotion;
pub mod eval;
pub mod lang;
pub mod logging;
pub mod media;
pub mod metrics;
pub mod models;
pub mod nlu;
pub mod orders;
pub mod rtp;
pub mod server;
pub mod sip;
pub mod store;
pub mod tts;
pub mod web;
pub mod webrtc;
