//! `callbot eval intents FILE.jsonl`: intent accuracy, per-intent precision and recall, and
//! the confusions, on lines of `{"text", "lang", "intent"}`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::nlu::IntentClassifier;

#[derive(Debug, Deserialize)]
pub struct Labelled {
    pub text: String,
    pub lang: Lang,
    pub intent: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IntentEvalError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}: {why}")]
    Line { path: String, line: usize, why: String },
    #[error("{path} holds no examples")]
    Empty { path: String },
}

pub fn read(path: &Path) -> Result<Vec<Labelled>, IntentEvalError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| IntentEvalError::Read { path: name.clone(), source })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: Labelled = serde_json::from_str(line).map_err(|e| IntentEvalError::Line {
            path: name.clone(),
            line: i + 1,
            why: e.to_string(),
        })?;
        out.push(item);
    }
    if out.is_empty() {
        return Err(IntentEvalError::Empty { path: name });
    }
    Ok(out)
}

#[derive(Debug, Default, Serialize)]
pub struct IntentScore {
    pub precision: f64,
    pub recall: f64,
    pub support: usize,
}

#[derive(Debug, Serialize)]
pub struct Confusion {
    pub text: String,
    pub lang: Lang,
    pub expected: String,
    pub got: String,
    pub confidence: f32,
}

#[derive(Debug, Serialize)]
pub struct IntentReport {
    pub total: usize,
    pub correct: usize,
    pub accuracy: f64,
    pub accuracy_by_lang: BTreeMap<Lang, f64>,
    pub per_intent: BTreeMap<String, IntentScore>,
    pub confusions: Vec<Confusion>,
}

pub fn evaluate(classifier: &IntentClassifier, items: &[Labelled]) -> IntentReport {
    let mut tp: BTreeMap<String, usize> = BTreeMap::new();
    let mut predicted: BTreeMap<String, usize> = BTreeMap::new();
    let mut support: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_lang: BTreeMap<Lang, (usize, usize)> = BTreeMap::new();
    let mut confusions = Vec::new();
    for item in items {
        let p = classifier.predict(&item.text);
        *support.entry(item.intent.clone()).or_default() += 1;
        *predicted.entry(p.intent.clone()).or_default() += 1;
        let lang = by_lang.entry(item.lang).or_default();
        lang.1 += 1;
        if p.intent == item.intent {
            *tp.entry(p.intent).or_default() += 1;
            lang.0 += 1;
        } else {
            confusions.push(Confusion {
                text: item.text.clone(),
                lang: item.lang,
                expected: item.intent.clone(),
                got: p.intent,
                confidence: p.confidence,
            });
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_intent = support
        .keys()
        .chain(predicted.keys())
        .map(|k| {
            let hit = tp.get(k).copied().unwrap_or(0);
            let score = IntentScore {
                precision: ratio(hit, predicted.get(k).copied().unwrap_or(0)),
                recall: ratio(hit, support.get(k).copied().unwrap_or(0)),
                support: support.get(k).copied().unwrap_or(0),
            };
            (k.clone(), score)
        })
        .collect();
    let correct = tp.values().sum();
    IntentReport {
        total: items.len(),
        correct,
        accuracy: ratio(correct, items.len()),
        accuracy_by_lang: by_lang.into_iter().map(|(l, (c, n))| (l, ratio(c, n))).collect(),
        per_intent,
        confusions,
    }
}
