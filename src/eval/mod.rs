//! Quality measurement against labelled data: manifests, text normalisation, error rates, and
//! the `callbot eval asr` runner.

pub mod asr;
pub mod manifest;
pub mod metrics;
pub mod normalize;
