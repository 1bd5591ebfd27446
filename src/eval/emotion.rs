//! `callbot eval emotion`: the voice model on labelled recordings. Accuracy per corpus label,
//! angry-vs-neutral ROC AUC, the arousal ordering of the labels, and the confusion matrix of
//! corpus labels against the scorer's labels.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::emotion::score::{EmotionLabel, VoiceScore, combine};
use crate::emotion::train::{self, auc, high_arousal};
use crate::emotion::{EmotionModel, acoustic, corpus::Clip, lexical::LexicalCues};

/// The scorer label a corpus label should get: what a contact centre would call it.
pub fn expected_label(corpus_label: &str) -> Option<EmotionLabel> {
    Some(match corpus_label {
        "angry" => EmotionLabel::Angry,
        "neutral" | "boredom" | "sad" => EmotionLabel::Neutral,
        "happy" => EmotionLabel::Positive,
        "fearful" => EmotionLabel::Anxious,
        "disgust" => EmotionLabel::Frustrated,
        _ => return None,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ClipResult {
    pub file: String,
    pub speaker: String,
    pub label: String,
    pub arousal: f32,
    pub anger: f32,
    pub predicted: EmotionLabel,
}

#[derive(Debug, Clone, Serialize)]
pub struct LabelStats {
    pub clips: usize,
    pub mean_arousal: f32,
    pub mean_anger: f32,
    /// Share scored with [`expected_label`].
    pub accuracy: f32,
    /// Share on the right side of arousal 0.5 (labels with a clear arousal class).
    pub arousal_accuracy: Option<f32>,
    pub predicted: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmotionReport {
    /// "built-in model" or "leave-one-speaker-out".
    pub mode: String,
    pub clips: Vec<ClipResult>,
    pub skipped: Vec<String>,
    pub per_label: BTreeMap<String, LabelStats>,
    pub angry_vs_neutral_auc: f32,
    pub arousal_auc: f32,
    /// Labels by mean arousal, highest first.
    pub arousal_order: Vec<String>,
    /// Every high-arousal label (angry, happy, fearful) ranks above every low one.
    pub arousal_order_holds: bool,
    pub accuracy: f32,
    /// Feature extraction CPU time per second of audio, ms (single thread).
    pub extract_ms_per_s: f32,
}

/// Scores every clip, with `model` or (None) by leave-one-speaker-out retraining.
pub fn evaluate(clips: &[Clip], model: Option<&EmotionModel>) -> EmotionReport {
    let samples = crate::emotion::corpus::samples(clips);
    let scores: Vec<(f32, f32)> = match model {
        Some(m) => samples.iter().map(|(_, s)| m.score(&s.features)).collect(),
        None => {
            // Trained as `callbot train emotion` trains: both conditions of every other speaker.
            let scored: Vec<train::Sample> = samples.iter().map(|(_, s)| s.clone()).collect();
            let cold: Vec<train::Sample> =
                crate::emotion::corpus::cold_samples(clips).into_iter().map(|(_, s)| s).collect();
            train::cross_validate(&acoustic::NAMES, &train::training_set(&scored, &cold), &scored)
        }
    };
    let results: Vec<ClipResult> = samples
        .iter()
        .zip(scores)
        .map(|((i, s), (arousal, anger))| ClipResult {
            file: clips[*i].path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            speaker: clips[*i].speaker.clone(),
            label: s.label.clone(),
            arousal,
            anger,
            predicted: combine(Some(VoiceScore { arousal, anger }), &LexicalCues::default(), 0).label,
        })
        .collect();
    let skipped = clips.iter().filter(|c| c.features.is_none()).map(|c| c.path.display().to_string()).collect();
    let audio_s: f32 = clips.iter().map(|c| c.duration_s).sum();
    let extract_ms_per_s = 1000.0 * clips.iter().map(|c| c.extract_s).sum::<f32>() / audio_s.max(1e-6);
    let mode = if model.is_some() { "built-in model" } else { "leave-one-speaker-out" };
    let mut report = report(results, skipped, mode);
    report.extract_ms_per_s = extract_ms_per_s;
    report
}

fn report(clips: Vec<ClipResult>, skipped: Vec<String>, mode: &str) -> EmotionReport {
    let mut per_label = BTreeMap::new();
    let labels: std::collections::BTreeSet<&str> = clips.iter().map(|c| c.label.as_str()).collect();
    for label in labels {
        let of: Vec<&ClipResult> = clips.iter().filter(|c| c.label == label).collect();
        let n = of.len() as f32;
        let mut predicted = BTreeMap::new();
        for c in &of {
            *predicted.entry(c.predicted.as_str().to_string()).or_insert(0) += 1;
        }
        let expected = expected_label(label);
        per_label.insert(
            label.to_string(),
            LabelStats {
                clips: of.len(),
                mean_arousal: of.iter().map(|c| c.arousal).sum::<f32>() / n,
                mean_anger: of.iter().map(|c| c.anger).sum::<f32>() / n,
                accuracy: of.iter().filter(|c| Some(c.predicted) == expected).count() as f32 / n,
                arousal_accuracy: high_arousal(label)
                    .map(|high| of.iter().filter(|c| (c.arousal >= 0.5) == high).count() as f32 / n),
                predicted,
            },
        );
    }
    let of = |keep: &dyn Fn(&ClipResult) -> bool, anger: bool| -> Vec<f32> {
        clips.iter().filter(|c| keep(c)).map(|c| if anger { c.anger } else { c.arousal }).collect()
    };
    let mut order: Vec<(&String, f32)> = per_label.iter().map(|(l, s)| (l, s.mean_arousal)).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let classes: Vec<bool> = order.iter().filter_map(|(l, _)| high_arousal(l)).collect();
    let arousal_order_holds = classes.windows(2).all(|w| w[0] || !w[1]);
    let scored: Vec<&ClipResult> = clips.iter().filter(|c| expected_label(&c.label).is_some()).collect();
    let accuracy = scored.iter().filter(|c| Some(c.predicted) == expected_label(&c.label)).count() as f32
        / scored.len().max(1) as f32;
    EmotionReport {
        mode: mode.to_string(),
        angry_vs_neutral_auc: auc(&of(&|c| c.label == "angry", true), &of(&|c| c.label == "neutral", true)),
        arousal_auc: auc(
            &of(&|c| high_arousal(&c.label) == Some(true), false),
            &of(&|c| high_arousal(&c.label) == Some(false), false),
        ),
        arousal_order: order.iter().map(|(l, _)| l.to_string()).collect(),
        arousal_order_holds,
        accuracy,
        extract_ms_per_s: 0.0,
        per_label,
        skipped,
        clips,
    }
}
