//! How the caller feels, from the voice and the words.
//!
//! - [`acoustic`]: pitch, loudness, spectral balance, voicing, rate, jitter and shimmer of one
//!   utterance; [`baseline`]: how this caller normally sounds, for the features that differ
//!   between voices and lines.
//! - [`model`], [`train`], [`corpus`]: the trained voice model (arousal, anger), fitted on
//!   labelled recordings with leave-one-speaker-out validation.
//! - [`lexical`]: cues in the words (valence, hostility, urgency, worry), English and Mandarin.
//! - [`score`]: voice + words + repetition → `{arousal, valence, label, confidence}`, and the
//!   smoothed curve; [`tracker`]: all of it for one call; [`file`]: for one recording.

pub mod acoustic;
pub mod baseline;
pub mod corpus;
pub mod file;
pub mod lexical;
pub mod model;
pub mod score;
pub mod tracker;
pub mod train;

pub use model::EmotionModel;
pub use score::{CurvePoint, EmotionLabel, EmotionScore, Feeling, VoiceScore};
pub use tracker::EmotionTracker;
