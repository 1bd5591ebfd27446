//! Quality measurement against labelled data: manifests, text normalisation, error rates, and
//! the `callbot eval asr` and `eval asr-load` runners.

pub mod asr;
pub mod emotion;
pub mod intents;
pub mod load;
pub mod manifest;
pub mod metrics;
pub mod normalize;
