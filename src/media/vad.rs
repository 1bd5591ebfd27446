//! Voice activity detection with earshot (a small neural VAD in pure Rust, ~3000x real time).
//! Consumes 16 kHz mono audio in [`crate::asr::endpoint::CHUNK`]-sample chunks and yields one
//! voice score in 0..=1 per chunk.
//!
//! earshot is recurrent, and after speech its score decays slowly: on telephone audio (8 kHz,
//! nothing above 4 kHz) it stays at 0.4–0.6 for seconds of near-silence, so an utterance only
//! ended when the call did or noise broke the spell, and every answer came that much later.
//! A level gate fixes that: a chunk far quieter than speech is not voice, whatever earshot
//! says. The gate only ever turns voice into silence, never noise into voice.

use crate::asr::endpoint::CHUNK;

/// Scores chunks for voice; earshot in production, simple fakes in tests.
pub trait VoiceDetector: Send {
    fn score(&mut self, chunk: &[f32; CHUNK]) -> f32;
}

impl VoiceDetector for Vad {
    fn score(&mut self, chunk: &[f32; CHUNK]) -> f32 {
        Vad::score(self, chunk)
    }
}

/// Quieter than this (dBFS) is never voice: line silence, comfort noise, a breath.
const GATE_FLOOR_DB: f32 = -60.0;
/// Nor is anything this far below the loudest recent speech.
const GATE_BELOW_PEAK_DB: f32 = 45.0;
/// The peak level forgets at this rate (per 16 ms chunk: about 6 dB a second).
const PEAK_DECAY_DB: f32 = 0.1;

pub struct Vad {
    detector: Box<earshot::Detector>,
    /// Loudest recent chunk, decaying, in dBFS.
    peak_db: f32,
}

impl Default for Vad {
    fn default() -> Self {
        Self::new()
    }
}

impl Vad {
    pub fn new() -> Self {
        Self { detector: earshot::Detector::default_boxed(), peak_db: GATE_FLOOR_DB }
    }

    /// Score of one chunk; samples outside [-1, 1] are clipped first (earshot requires it).
    pub fn score(&mut self, chunk: &[f32; CHUNK]) -> f32 {
        let mut clipped = *chunk;
        for s in clipped.iter_mut() {
            *s = if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 };
        }
        // earshot hears every chunk, gated or not, so its state stays in step with the audio.
        let score = self.detector.predict_f32(&clipped);
        let level = level_db(&clipped);
        self.peak_db = (self.peak_db - PEAK_DECAY_DB).max(level);
        if level < GATE_FLOOR_DB.max(self.peak_db - GATE_BELOW_PEAK_DB) { 0.0 } else { score }
    }

    pub fn reset(&mut self) {
        self.detector.reset();
        self.peak_db = GATE_FLOOR_DB;
    }
}

/// RMS level of a chunk in dBFS (-120 for digital silence).
fn level_db(chunk: &[f32]) -> f32 {
    let mean_square = chunk.iter().map(|s| s * s).sum::<f32>() / chunk.len().max(1) as f32;
    10.0 * mean_square.max(1e-12).log10()
}

/// Whether any chunk of a whole clip contains voice (used to skip Whisper on silent files,
/// where it would otherwise invent text).
pub fn contains_speech(pcm16k: &[f32], threshold: f32, min_chunks: usize) -> bool {
    let mut vad = Vad::new();
    let mut run = 0;
    for chunk in pcm16k.chunks_exact(CHUNK) {
        let chunk: &[f32; CHUNK] = chunk.try_into().expect("chunks_exact yields CHUNK-sized slices");
        if vad.score(chunk) >= threshold {
            run += 1;
            if run >= min_chunks {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}
