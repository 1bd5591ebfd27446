//! Text-to-speech: what the bot says, as mono `f32` PCM at the rate the call's media wants.
//!
//! - [`Tts`]: the engine interface, shared as `Arc<dyn Tts>`; one [`TtsStream`] per utterance.
//! - [`EspeakTts`] (`espeak.rs`): the default engine, espeak-ng run as a child process per
//!   utterance, its WAV output read as it is produced and resampled on the way.
//! - [`PromptCache`] (`cache.rs`): keeps the audio of fixed prompts in memory (LRU, bounded in
//!   samples) and is itself a [`Tts`], so callers need not know whether audio was cached.
//! - [`TtsStream`] (`stream.rs`): chunks as they are synthesized; cancelling (or dropping) it
//!   stops the engine at once, for barge-in.
//! - [`write_wav`] (`wav.rs`): 16-bit mono WAV files, for the CLI.

mod cache;
mod espeak;
mod speakable;
mod stream;
mod wav;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::lang::Lang;
use crate::media::resample::ResampleError;

pub use cache::{CacheStats, PromptCache};
pub use espeak::{EspeakConfig, EspeakTts, VoiceConfig};
pub use stream::{Canceller, TtsStream};
pub use wav::write_wav;

/// Output rates accepted: narrowband telephony (8 kHz) up to studio rates. Outside this range a
/// request is almost surely a bug, and the resampler would refuse extreme ratios anyway.
pub const MIN_RATE: u32 = 8000;
pub const MAX_RATE: u32 = 192_000;

#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("espeak-ng not found: install it with apt-get install espeak-ng")]
    NotInstalled,
    #[error("espeak-ng has no voice {voice:?} (configured for {lang}); `espeak-ng --voices` lists the installed ones")]
    UnknownVoice { voice: String, lang: Lang },
    #[error("{program} failed ({status}): {stderr}")]
    Process { program: String, status: String, stderr: String },
    #[error("unsupported sample rate {0} Hz: expected {MIN_RATE} to {MAX_RATE} Hz")]
    BadRate(u32),
    #[error("invalid text-to-speech configuration: {0}")]
    Config(String),
    #[error("unreadable audio from the synthesizer: {0}")]
    BadAudio(String),
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    #[error("the synthesis thread panicked")]
    ProducerPanicked,
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error("cannot write {}: {source}", path.display())]
    Wav { path: PathBuf, source: hound::Error },
}

/// A speech synthesizer. Implementations are shared between calls (`Arc<dyn Tts>`), so
/// `synthesize` takes `&self` and may run concurrently.
pub trait Tts: Send + Sync {
    /// Starts synthesizing `text` in `lang`, as mono PCM at `rate` Hz. Audio arrives through the
    /// stream while synthesis goes on; failures after the start arrive through it too. Empty (or
    /// blank) text gives an empty stream. `rate` must lie in [`MIN_RATE`]..=[`MAX_RATE`].
    fn synthesize(&self, text: &str, lang: Lang, rate: u32) -> Result<TtsStream, TtsError>;

    /// Identifies the voice used for `lang` with all settings that change the audio (engine,
    /// voice, speed, pitch), so that a cache never serves audio made with other settings.
    fn voice_key(&self, lang: Lang) -> String;

    /// Synthesizes the whole of `text` and returns its audio.
    fn synthesize_all(&self, text: &str, lang: Lang, rate: u32) -> Result<Vec<f32>, TtsError> {
        self.synthesize(text, lang, rate)?.read_all()
    }
}

/// So that a shared engine (`Arc<dyn Tts>`) can be wrapped, e.g. by [`PromptCache`].
impl<T: Tts + ?Sized> Tts for Arc<T> {
    fn synthesize(&self, text: &str, lang: Lang, rate: u32) -> Result<TtsStream, TtsError> {
        (**self).synthesize(text, lang, rate)
    }

    fn voice_key(&self, lang: Lang) -> String {
        (**self).voice_key(lang)
    }

    fn synthesize_all(&self, text: &str, lang: Lang, rate: u32) -> Result<Vec<f32>, TtsError> {
        (**self).synthesize_all(text, lang, rate)
    }
}

pub(crate) fn check_rate(rate: u32) -> Result<(), TtsError> {
    if (MIN_RATE..=MAX_RATE).contains(&rate) { Ok(()) } else { Err(TtsError::BadRate(rate)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_outside_the_range_are_refused() {
        for rate in [MIN_RATE, 16000, 22050, 48000, MAX_RATE] {
            assert!(check_rate(rate).is_ok(), "{rate}");
        }
        for rate in [0, 1, 7999, MAX_RATE + 1] {
            let err = check_rate(rate).expect_err("refused");
            assert!(err.to_string().contains(&format!("{rate} Hz")), "{err}");
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        assert_eq!(
            TtsError::NotInstalled.to_string(),
            "espeak-ng not found: install it with apt-get install espeak-ng"
        );
        let err = TtsError::UnknownVoice { voice: "xx".into(), lang: Lang::Zh };
        assert!(err.to_string().contains("\"xx\"") && err.to_string().contains("--voices"), "{err}");
    }

    #[test]
    fn the_trait_is_object_safe_and_shareable() {
        fn shareable<T: Send + Sync + ?Sized>() {}
        shareable::<dyn Tts>();
        shareable::<Arc<dyn Tts>>();
    }
}
