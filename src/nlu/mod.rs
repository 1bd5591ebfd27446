//! Understanding callers, locally: intents with a confidence, and slots (order numbers, phone
//! numbers, dates, amounts, products) from ASR-style text in Mandarin and English.

pub mod classifier;
pub mod features;
pub mod numbers;
pub mod slots;

pub use classifier::{IntentClassifier, Prediction};
