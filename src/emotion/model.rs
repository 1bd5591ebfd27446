//! The trained part of the emotion scorer: two logistic regressions over standardised acoustic
//! features, one for arousal (high: angry, happy, fearful; low: neutral, sad, bored) and one for
//! anger (angry against every other label). Fitted by [`super::train`], stored as a small JSON
//! file under `models/` (the only weights the project commits, because it trains them).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// `w·x + b` over standardised features, squashed to 0..1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Logistic {
    pub fn probability(&self, x: &[f32]) -> f32 {
        let z: f32 = self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + self.bias;
        1.0 / (1.0 + (-z).exp())
    }
}

/// Leave-one-speaker-out figures measured when the model was trained: with each clip scored
/// against its speaker's baseline, and "cold", each clip on its own (a call's first words).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub speakers: usize,
    pub clips: usize,
    pub angry_vs_neutral_auc: f32,
    pub arousal_auc: f32,
    pub cold_angry_vs_neutral_auc: f32,
    pub cold_arousal_auc: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmotionModel {
    /// Feature names, in the order the weights use them.
    pub features: Vec<String>,
    /// Standardisation: `(x - mean) / scale` before the weights.
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    pub arousal: Logistic,
    pub anger: Logistic,
    /// Where the weights came from (manifest, clip count).
    pub trained_on: String,
    pub validation: Validation,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {why}")]
    Read { path: String, why: String },
    #[error(
        "emotion model expects features {expected:?}, this build extracts {actual:?}; retrain with `callbot train emotion`"
    )]
    Features { expected: Vec<String>, actual: Vec<String> },
}

/// The model trained by `callbot train emotion ../shared/data/emotion/manifest.csv`, built in.
const BUILT_IN: &str = include_str!("../../models/emotion.json");

impl EmotionModel {
    /// The committed model, checked against the features this build extracts.
    pub fn built_in() -> Result<Self, ModelError> {
        let model = Self::parse(BUILT_IN, "models/emotion.json (built in)")?;
        model.check_features(&super::acoustic::NAMES)?;
        Ok(model)
    }

    /// The model at `path` (checked like the built-in one), or the built-in one.
    pub fn from_file_or_built_in(path: Option<&Path>) -> Result<Self, ModelError> {
        let Some(path) = path else { return Self::built_in() };
        let model = Self::load(path)?;
        model.check_features(&super::acoustic::NAMES)?;
        Ok(model)
    }

    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ModelError::Read { path: path.display().to_string(), why: e.to_string() })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<Self, ModelError> {
        let model: Self =
            serde_json::from_str(text).map_err(|e| ModelError::Read { path: path.into(), why: e.to_string() })?;
        let n = model.features.len();
        let sizes = [model.mean.len(), model.scale.len(), model.arousal.weights.len(), model.anger.weights.len()];
        if sizes.iter().any(|&s| s != n) {
            return Err(ModelError::Read {
                path: path.into(),
                why: format!("{n} features but parameter sizes {sizes:?}"),
            });
        }
        Ok(model)
    }

    /// Checks the model was trained on the features this build extracts, in the same order.
    pub fn check_features(&self, names: &[&str]) -> Result<(), ModelError> {
        if self.features.iter().map(String::as_str).eq(names.iter().copied()) {
            Ok(())
        } else {
            Err(ModelError::Features {
                expected: self.features.clone(),
                actual: names.iter().map(|s| s.to_string()).collect(),
            })
        }
    }

    pub fn standardise(&self, x: &[f32]) -> Vec<f32> {
        x.iter().zip(&self.mean).zip(&self.scale).map(|((v, m), s)| (v - m) / s).collect()
    }

    /// (arousal, anger probability), both 0..1.
    pub fn score(&self, features: &[f32]) -> (f32, f32) {
        let x = self.standardise(features);
        (self.arousal.probability(&x), self.anger.probability(&x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_model_is_trained_for_this_builds_features() {
        let m = EmotionModel::built_in().expect("built-in model loads");
        assert!(m.validation.clips >= 30 && m.validation.speakers >= 5, "{:?}", m.validation);
        assert!(m.anger.weights.iter().any(|w| w.abs() > 0.1), "trained weights: {:?}", m.anger);
    }

    #[test]
    fn a_model_for_other_features_or_a_broken_file_is_refused() {
        let mut m = EmotionModel::built_in().expect("built-in model loads");
        m.features.swap(0, 1);
        assert!(matches!(m.check_features(&crate::emotion::acoustic::NAMES), Err(ModelError::Features { .. })));
        let text = serde_json::to_string(&m).expect("json").replace("\"mean\":[", "\"mean\":[1.0,");
        assert!(matches!(EmotionModel::parse(&text, "x.json"), Err(ModelError::Read { .. })));
        assert!(EmotionModel::parse("{", "x.json").is_err());
    }
}
