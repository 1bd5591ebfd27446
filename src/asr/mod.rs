//! Speech-to-text on local Whisper models (whisper.cpp through whisper-rs).
//!
//! - [`engine`]: one loaded model and per-worker decoders; file mode (whisper's own 30 s
//!   windows, as whisper.cpp's CLI does) and utterance mode (`audio_ctx` sized to the clip).
//! - [`pool`]: a shared pool of decoder threads with bounded, prioritised queues; finals before
//!   partials, partials dropped rather than queued when the pool is busy.
//! - [`endpoint`]: sans-IO endpointing on VAD scores: where utterances start and end.
//! - [`stream`]: sans-IO streaming recogniser for one call: PCM in, decode jobs and
//!   `speech_started` / `partial` / `final` events out.
//! - [`text`]: clean-up of Whisper output (Simplified Chinese, hallucinations, repetitions).
//!
//! All audio here is mono f32 at 16 kHz.

mod context;
pub mod endpoint;
pub mod engine;
pub mod identify;
pub mod offline;
pub mod pool;
mod revise;
pub mod session;
pub mod stream;
pub mod text;

use serde::Serialize;

pub const SAMPLE_RATE: u32 = 16_000;

/// Recognition language. Mandarin output is always Simplified Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Zh,
    /// Whisper's own language identification (needs a multilingual model).
    Auto,
}

impl Language {
    /// The model used when none is named: the fast English-only model for English, the largest
    /// multilingual model we can obtain for everything else.
    pub fn default_model(self) -> &'static str {
        match self {
            Language::En => "tiny.en",
            Language::Zh | Language::Auto => "base",
        }
    }

    /// Reads a language tag as manifests write it ("en", "en-US", "zh-CN", "cmn_Hans",
    /// "Mandarin"; any case); `None` for a language callbot does not transcribe.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let tag = tag.trim().to_ascii_lowercase();
        match tag.split(['-', '_']).next().unwrap_or_default() {
            "en" | "eng" | "english" => Some(Language::En),
            "zh" | "zho" | "chi" | "cmn" | "chinese" | "mandarin" => Some(Language::Zh),
            "auto" => Some(Language::Auto),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
            Language::Auto => "auto",
        }
    }
}

/// A speech-to-text decoder as the pool sees it: one per worker thread, fed whole clips.
/// Whisper ([`engine::Decoder`]) is the real one; tests use fakes to drive the pool.
pub trait Transcriber: Send + 'static {
    fn decode(&mut self, pcm: &[f32], options: &engine::DecodeOptions) -> Result<engine::Decoded, AsrError>;
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    pub text: String,
    /// Language that was decoded (detected one in `auto` mode), e.g. `en`, `zh`.
    pub language: String,
    pub segments: Vec<Segment>,
}

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error(transparent)]
    Model(#[from] crate::models::ModelsError),
    #[error("whisper failed to load {path}: {why}")]
    Load { path: String, why: String },
    #[error("whisper: {0}")]
    Whisper(String),
    #[error("decode cancelled: the caller kept talking past its audio")]
    Cancelled,
    #[error("model `{model}` is English-only; use a multilingual model (e.g. `base`) for --lang {lang}")]
    EnglishOnlyModel { model: String, lang: &'static str },
}
