//! How the caller feels, from the voice and the words.
//!
//! - [`lexical`]: cues in the words of an utterance (valence, hostility, urgency, worry), English
//!   and Mandarin.

pub mod lexical;
