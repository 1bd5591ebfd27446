//! One call's voice emotion, utterance by utterance (sans-IO): the caller's baseline, the
//! trained voice model, the curve. Words and repetition join in [`super::score::score`], where
//! the conversation knows them.

use std::sync::Arc;

use super::acoustic::Features;
use super::baseline::Baseline;
use super::model::EmotionModel;
use super::score::{Curve, CurvePoint, EmotionScore, VoiceScore};

pub struct EmotionTracker {
    model: Arc<EmotionModel>,
    baseline: Baseline,
    curve: Curve,
}

impl EmotionTracker {
    pub fn new(model: Arc<EmotionModel>) -> Self {
        Self { model, baseline: Baseline::for_call(), curve: Curve::default() }
    }

    /// The voice model's view of one utterance, against this caller's baseline (which the
    /// utterance joins while the baseline is still forming). `None`: too little voice.
    pub fn voice(&mut self, features: Option<&Features>) -> Option<VoiceScore> {
        let f = features?;
        self.baseline.observe(f);
        let (arousal, anger) = self.model.score(&self.baseline.relative(f));
        Some(VoiceScore { arousal, anger })
    }

    /// Adds a scored utterance to the call's curve; returns its point.
    pub fn record(&mut self, at_ms: u64, score: &EmotionScore) -> CurvePoint {
        self.curve.push(at_ms, score)
    }

    pub fn curve(&self) -> &[CurvePoint] {
        self.curve.points()
    }
}
