//! Fitting the emotion model: L2-regularised logistic regression by gradient descent on
//! standardised features (a few dozen clips, a dozen features: exact enough and instant), with
//! leave-one-speaker-out validation, since the model must work for callers it never heard.

use super::model::{EmotionModel, Logistic, Validation};

/// One labelled clip's features.
#[derive(Debug, Clone)]
pub struct Sample {
    pub features: Vec<f32>,
    /// EmoDB-style label: angry, happy, fearful, neutral, sad, boredom, disgust.
    pub label: String,
    pub speaker: String,
}

/// Arousal class of a corpus label; `None` for labels whose arousal is in between (disgust).
pub fn high_arousal(label: &str) -> Option<bool> {
    match label {
        "angry" | "happy" | "fearful" => Some(true),
        "neutral" | "sad" | "boredom" => Some(false),
        _ => None,
    }
}

/// Regularisation strength: with ~30 clips, strong shrinkage keeps weights on the features
/// that separate classes for every speaker rather than on one speaker's quirks.
const L2: f32 = 0.5;
const STEPS: usize = 3000;
const RATE: f32 = 0.1;

/// Trains on every sample and validates by leaving each speaker out in turn.
pub fn train(names: &[&str], samples: &[Sample], trained_on: String) -> EmotionModel {
    let mut model = fit(names, samples, trained_on);
    model.validation = validate(names, samples);
    model
}

fn fit(names: &[&str], samples: &[Sample], trained_on: String) -> EmotionModel {
    let n = names.len();
    let count = samples.len().max(1) as f32;
    let mean: Vec<f32> = (0..n).map(|j| samples.iter().map(|s| s.features[j]).sum::<f32>() / count).collect();
    let scale: Vec<f32> = (0..n)
        .map(|j| {
            let var = samples.iter().map(|s| (s.features[j] - mean[j]).powi(2)).sum::<f32>() / count;
            var.sqrt().max(1e-6)
        })
        .collect();
    let standard =
        |s: &Sample| -> Vec<f32> { s.features.iter().zip(&mean).zip(&scale).map(|((v, m), d)| (v - m) / d).collect() };
    let arousal: Vec<(Vec<f32>, bool)> =
        samples.iter().filter_map(|s| high_arousal(&s.label).map(|y| (standard(s), y))).collect();
    let anger: Vec<(Vec<f32>, bool)> = samples.iter().map(|s| (standard(s), s.label == "angry")).collect();
    EmotionModel {
        features: names.iter().map(|s| s.to_string()).collect(),
        arousal: logistic(&arousal, n),
        anger: logistic(&anger, n),
        mean,
        scale,
        trained_on,
        validation: Validation::default(),
    }
}

/// Gradient descent on the mean log-loss plus L2 (classes weighted equally).
fn logistic(data: &[(Vec<f32>, bool)], n: usize) -> Logistic {
    let mut model = Logistic { weights: vec![0.0; n], bias: 0.0 };
    let positives = data.iter().filter(|(_, y)| *y).count().max(1) as f32;
    let negatives = data.iter().filter(|(_, y)| !*y).count().max(1) as f32;
    for _ in 0..STEPS {
        let mut grad = vec![0.0f32; n];
        let mut grad_b = 0.0f32;
        for (x, y) in data {
            let weight = if *y { 0.5 / positives } else { 0.5 / negatives };
            let err = (model.probability(x) - if *y { 1.0 } else { 0.0 }) * weight;
            for (g, v) in grad.iter_mut().zip(x) {
                *g += err * v;
            }
            grad_b += err;
        }
        for (w, g) in model.weights.iter_mut().zip(&grad) {
            *w -= RATE * (g + L2 * *w / data.len().max(1) as f32);
        }
        model.bias -= RATE * grad_b;
    }
    model
}

/// Leave-one-speaker-out: every clip is scored by a model that never heard its speaker.
fn validate(names: &[&str], samples: &[Sample]) -> Validation {
    let mut speakers: Vec<&str> = samples.iter().map(|s| s.speaker.as_str()).collect();
    speakers.sort_unstable();
    speakers.dedup();
    let mut scored: Vec<(&Sample, f32, f32)> = Vec::new();
    for speaker in &speakers {
        let rest: Vec<Sample> = samples.iter().filter(|s| s.speaker != *speaker).cloned().collect();
        let model = fit(names, &rest, String::new());
        for s in samples.iter().filter(|s| s.speaker == *speaker) {
            let (arousal, anger) = model.score(&s.features);
            scored.push((s, arousal, anger));
        }
    }
    let angry: Vec<f32> = scored.iter().filter(|(s, ..)| s.label == "angry").map(|(.., a)| *a).collect();
    let neutral: Vec<f32> = scored.iter().filter(|(s, ..)| s.label == "neutral").map(|(.., a)| *a).collect();
    let high: Vec<f32> =
        scored.iter().filter(|(s, ..)| high_arousal(&s.label) == Some(true)).map(|(_, a, _)| *a).collect();
    let low: Vec<f32> =
        scored.iter().filter(|(s, ..)| high_arousal(&s.label) == Some(false)).map(|(_, a, _)| *a).collect();
    Validation {
        speakers: speakers.len(),
        clips: samples.len(),
        angry_vs_neutral_auc: auc(&angry, &neutral),
        arousal_auc: auc(&high, &low),
    }
}

/// Area under the ROC curve: the chance a positive scores above a negative (ties count half).
pub fn auc(positives: &[f32], negatives: &[f32]) -> f32 {
    if positives.is_empty() || negatives.is_empty() {
        return f32::NAN;
    }
    let mut wins = 0.0f32;
    for p in positives {
        for n in negatives {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (positives.len() * negatives.len()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_random_and_inverted_rankings() {
        assert_eq!(auc(&[0.9, 0.8], &[0.1, 0.2]), 1.0);
        assert_eq!(auc(&[0.5], &[0.5]), 0.5);
        assert_eq!(auc(&[0.1], &[0.9]), 0.0);
    }

    /// Loud clips are angry for every speaker, whatever the speaker's own level.
    #[test]
    fn a_separable_feature_is_learned_and_validates_across_speakers() {
        let mut samples = Vec::new();
        for (k, speaker) in ["a", "b", "c", "d"].iter().enumerate() {
            let level = k as f32 * 0.3;
            for i in 0..4 {
                let noise = (i as f32 * 1.7).sin() * 0.2;
                samples.push(Sample {
                    features: vec![level + 3.0, noise],
                    label: "angry".into(),
                    speaker: speaker.to_string(),
                });
                samples.push(Sample {
                    features: vec![level, -noise],
                    label: "neutral".into(),
                    speaker: speaker.to_string(),
                });
            }
        }
        let model = train(&["loudness", "noise"], &samples, "synthetic".into());
        assert_eq!(model.validation.angry_vs_neutral_auc, 1.0);
        assert_eq!(model.validation.speakers, 4);
        assert!(model.anger.weights[0] > 1.0 && model.anger.weights[1].abs() < 0.5, "{:?}", model.anger);
        let (_, angry) = model.score(&[3.5, 0.0]);
        let (_, calm) = model.score(&[0.2, 0.0]);
        assert!(angry > 0.8 && calm < 0.2, "{angry} {calm}");
    }
}
