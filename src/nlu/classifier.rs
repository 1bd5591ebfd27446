//! Intent classifier: multinomial logistic regression over [`Featurizer`] features, trained
//! when the dialplan loads on its intents' examples (both languages together, so concepts
//! shared by the languages carry what one language's examples teach to the other). Training is
//! deterministic and takes well under a second for a few hundred examples.

use std::collections::HashMap;

use serde::Serialize;

use super::features::Featurizer;
use crate::dialplan::{Dialplan, UNKNOWN};

const EPOCHS: usize = 60;
const LEARNING_RATE: f32 = 0.3;
/// Strong enough that no single word decides alone: better on paraphrases (docs/benchmarks.md).
const L2: f32 = 1e-2;

pub struct IntentClassifier {
    featurizer: Featurizer,
    vocab: HashMap<String, usize>,
    classes: Vec<String>,
    /// `classes.len()` rows of `vocab.len()` weights.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Prediction {
    pub intent: String,
    pub confidence: f32,
    /// Every intent with its probability, likeliest first.
    pub ranked: Vec<(String, f32)>,
    /// The dialplan concepts the utterance mentions.
    pub concepts: Vec<String>,
}

impl IntentClassifier {
    pub fn train(dialplan: &Dialplan) -> Self {
        let featurizer = Featurizer::new(&dialplan.concepts);
        let mut classes: Vec<String> = dialplan.intents.iter().map(|i| i.id.clone()).collect();
        if !classes.iter().any(|c| c == UNKNOWN) {
            classes.push(UNKNOWN.to_string());
        }
        let mut vocab = HashMap::new();
        let mut data: Vec<(Vec<usize>, usize)> = Vec::new();
        for intent in &dialplan.intents {
            let class = classes.iter().position(|c| *c == intent.id).unwrap_or(0);
            for example in intent.examples.values().flatten() {
                let ids = featurizer
                    .features(example)
                    .into_iter()
                    .map(|f| {
                        let next = vocab.len();
                        *vocab.entry(f).or_insert(next)
                    })
                    .collect();
                data.push((ids, class));
            }
        }
        let mut model = Self {
            featurizer,
            weights: vec![0.0; classes.len() * vocab.len()],
            bias: vec![0.0; classes.len()],
            vocab,
            classes,
        };
        model.fit(&data);
        model
    }

    fn scores(&self, ids: &[usize]) -> Vec<f32> {
        let dims = self.vocab.len();
        let mut logits: Vec<f32> = (0..self.classes.len())
            .map(|c| self.bias[c] + ids.iter().map(|&i| self.weights[c * dims + i]).sum::<f32>())
            .collect();
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for l in &mut logits {
            *l = (*l - max).exp();
            sum += *l;
        }
        logits.iter_mut().for_each(|l| *l /= sum);
        logits
    }

    /// Stochastic gradient descent on cross-entropy, examples visited in a fixed shuffled order.
    fn fit(&mut self, data: &[(Vec<usize>, usize)]) {
        let dims = self.vocab.len();
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for epoch in 0..EPOCHS {
            for i in (1..order.len()).rev() {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (seed >> 33) as usize % (i + 1));
            }
            let rate = LEARNING_RATE / (1.0 + epoch as f32 * 0.05);
            for &n in &order {
                let (ids, class) = &data[n];
                let probs = self.scores(ids);
                for (c, p) in probs.iter().enumerate() {
                    let grad = p - if c == *class { 1.0 } else { 0.0 };
                    self.bias[c] -= rate * grad;
                    for &i in ids {
                        let w = &mut self.weights[c * dims + i];
                        *w -= rate * (grad + L2 * *w);
                    }
                }
            }
        }
    }

    pub fn predict(&self, text: &str) -> Prediction {
        let features = self.featurizer.features(text);
        let concepts = features.iter().filter_map(|f| f.strip_prefix("C:")).map(str::to_string).collect();
        let ids: Vec<usize> = features.iter().filter_map(|f| self.vocab.get(f).copied()).collect();
        if ids.is_empty() {
            // Nothing the bot has ever seen: not understood, and sure of it.
            let ranked = vec![(UNKNOWN.to_string(), 1.0)];
            return Prediction { intent: UNKNOWN.into(), confidence: 1.0, ranked, concepts };
        }
        let probs = self.scores(&ids);
        let mut ranked: Vec<(String, f32)> = self.classes.iter().cloned().zip(probs).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let (intent, confidence) = ranked[0].clone();
        Prediction { intent, confidence, ranked, concepts }
    }
}
