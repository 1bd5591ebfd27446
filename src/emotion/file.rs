//! A recording scored the way a call is: cut into utterances by the call pipeline's VAD and
//! endpointer, each utterance scored against the speaker's baseline as it forms, the curve
//! smoothed. For `callbot emotion`.

use std::sync::Arc;

use serde::Serialize;

use super::acoustic;
use super::lexical::LexicalCues;
use super::model::EmotionModel;
use super::score::{CurvePoint, EmotionScore, Feeling, score};
use super::tracker::EmotionTracker;
use crate::asr::endpoint::{Boundary, CHUNK, EndpointConfig, Endpointer};
use crate::media::vad::Vad;

#[derive(Debug, Clone, Serialize)]
pub struct UtteranceEmotion {
    pub start_ms: u64,
    pub end_ms: u64,
    #[serde(flatten)]
    pub score: EmotionScore,
    /// The features the voice model saw (before the baseline), absent when too little voice.
    pub features: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEmotion {
    /// The utterance the file is summed up by: the most agitated one.
    pub overall: Option<EmotionScore>,
    pub utterances: Vec<UtteranceEmotion>,
    pub curve: Vec<CurvePoint>,
}

/// Utterance spans (sample ranges) of 16 kHz audio, found as a live call finds them.
pub fn utterances(samples: &[f32]) -> Vec<(usize, usize)> {
    let mut vad = Vad::new();
    let mut ends = Endpointer::new(EndpointConfig { pause_ms: 0, ..EndpointConfig::default() });
    let mut spans = Vec::new();
    let mut start = None;
    let mut boundaries = Vec::new();
    for chunk in samples.chunks_exact(CHUNK) {
        let chunk: &[f32; CHUNK] = chunk.try_into().expect("chunks_exact yields CHUNK-sized slices");
        boundaries.extend(ends.push(vad.score(chunk)));
    }
    boundaries.extend(ends.finish());
    for b in boundaries {
        match b {
            Boundary::Started { audio_start, .. } => start = Some(audio_start as usize * CHUNK),
            Boundary::Ended { voice_end, .. } => {
                if let Some(s) = start.take() {
                    spans.push((s, (voice_end as usize * CHUNK).min(samples.len())));
                }
            }
            Boundary::Discarded => start = None,
            Boundary::Paused { .. } => {}
        }
    }
    spans
}

/// Scores a 16 kHz recording with no transcript (voice only).
pub fn analyse(model: Arc<EmotionModel>, samples: &[f32]) -> FileEmotion {
    let mut tracker = EmotionTracker::new(model);
    let mut out = Vec::new();
    for (start, end) in utterances(samples) {
        let features = acoustic::extract(&samples[start..end]);
        let shown = features.as_ref().map(|f| {
            acoustic::NAMES.iter().zip(f.values).map(|(n, v)| (n.to_string(), serde_json::json!(v))).collect()
        });
        let voice = tracker.voice(features.as_ref());
        let score = score(Feeling::Voice(voice), &LexicalCues::default(), 0);
        let (start_ms, end_ms) = ((start / 16) as u64, (end / 16) as u64);
        tracker.record(end_ms, &score);
        out.push(UtteranceEmotion { start_ms, end_ms, score, features: shown });
    }
    let overall = out
        .iter()
        .filter(|u| u.score.voice.is_some())
        .max_by(|a, b| agitation(&a.score).total_cmp(&agitation(&b.score)))
        .map(|u| u.score.clone());
    FileEmotion { overall, curve: tracker.curve().to_vec(), utterances: out }
}

fn agitation(s: &EmotionScore) -> f32 {
    s.voice.map(|v| v.anger.max(v.arousal)).unwrap_or(0.0)
}
