//! How the caller feels, from the voice and the words.
//!
//! - [`lexical`]: cues in the words of an utterance (valence, hostility, urgency, worry), English
//!   and Mandarin.
//! - [`model`], [`train`]: the trained acoustic part (arousal, anger), fitted with
//!   leave-one-speaker-out validation.

pub mod lexical;
pub mod model;
pub mod train;
