//! Voice activity detection with earshot (a small neural VAD in pure Rust, ~3000x real time).
//! Consumes 16 kHz mono audio in [`crate::asr::endpoint::CHUNK`]-sample chunks and yields one
//! voice score in 0..=1 per chunk.

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

pub struct Vad {
    detector: Box<earshot::Detector>,
}

impl Default for Vad {
    fn default() -> Self {
        Self::new()
    }
}

impl Vad {
    pub fn new() -> Self {
        Self { detector: earshot::Detector::default_boxed() }
    }

    /// Score of one chunk; samples outside [-1, 1] are clipped first (earshot requires it).
    pub fn score(&mut self, chunk: &[f32; CHUNK]) -> f32 {
        let mut clipped = *chunk;
        for s in clipped.iter_mut() {
            *s = if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 };
        }
        self.detector.predict_f32(&clipped)
    }

    pub fn reset(&mut self) {
        self.detector.reset();
    }
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
