//! Audio handling shared by every path: decoding files, resampling to the 16 kHz the
//! recogniser works at, and voice activity detection.
//!
//! - [`codec`]: the call codecs (G.711 µ-law/A-law, Opus) behind one decoder/encoder type.
//! - [`opus`]: Opus at 48 kHz with loss concealment and in-band FEC (libopus).
//! - [`decode`]: WAV/FLAC (any rate, any channel count) → mono f32.
//! - [`resample`]: whole-buffer and streaming sample-rate conversion (rubato).
//! - [`vad`]: per-chunk voice scores (earshot).

pub mod codec;
pub mod decode;
pub mod opus;
pub mod resample;
pub mod vad;

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Decode(#[from] decode::DecodeError),
    #[error(transparent)]
    Resample(#[from] resample::ResampleError),
}

/// A file as the recogniser wants it: mono f32 at 16 kHz.
pub fn load_for_asr(path: &Path) -> Result<Vec<f32>, MediaError> {
    let audio = decode::decode_file(path)?;
    Ok(resample::resample(&audio.samples, audio.sample_rate, crate::asr::SAMPLE_RATE)?)
}
