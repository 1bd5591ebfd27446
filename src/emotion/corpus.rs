//! Labelled recordings for training and evaluation: a manifest with `file`, `label` and
//! `speaker` columns (the layout of `../shared/data/emotion`). Each clip is scored against its
//! speaker's baseline over all of that speaker's clips, the corpus counterpart of a caller's
//! running baseline; clips without a speaker are their own baseline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::acoustic::{self, Features};
use super::baseline::Baseline;
use super::train::Sample;
use crate::eval::manifest::{self, ManifestError};
use crate::media::{decode, resample};

#[derive(Debug, Clone)]
pub struct Clip {
    pub path: PathBuf,
    pub label: String,
    pub speaker: String,
    /// `None` when the clip holds too little voiced speech to measure.
    pub features: Option<Features>,
    pub duration_s: f32,
    /// CPU time the feature extraction took (the cost emotion adds to a call).
    pub extract_s: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{0}: no clips")]
    Empty(PathBuf),
    #[error("{path}: {why}")]
    Audio { path: PathBuf, why: String },
}

/// Any mono or stereo WAV/FLAC at the pipeline's 16 kHz.
pub fn pcm16k(path: &Path) -> Result<Vec<f32>, CorpusError> {
    let audio = decode::decode_file(path).map_err(|e| CorpusError::Audio { path: path.into(), why: e.to_string() })?;
    resample::resample(&audio.samples, audio.sample_rate, 16000)
        .map_err(|e| CorpusError::Audio { path: path.into(), why: e.to_string() })
}

pub fn load(manifest_path: &Path) -> Result<Vec<Clip>, CorpusError> {
    let entries = manifest::read(manifest_path)?;
    if entries.is_empty() {
        return Err(CorpusError::Empty(manifest_path.into()));
    }
    entries
        .into_iter()
        .map(|e| {
            let pcm = pcm16k(&e.path)?;
            let started = std::time::Instant::now();
            let features = acoustic::extract(&pcm);
            Ok(Clip {
                features,
                duration_s: pcm.len() as f32 / 16000.0,
                extract_s: started.elapsed().as_secs_f32(),
                path: e.path,
                label: e.row.label.trim().to_lowercase(),
                speaker: e.row.speaker.trim().to_string(),
            })
        })
        .collect()
}

/// Model inputs for every clip with features, each scored on its own (no baseline: a call's
/// first utterance); returns the clip index beside each sample.
pub fn cold_samples(clips: &[Clip]) -> Vec<(usize, Sample)> {
    clips
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let f = c.features.as_ref()?;
            let speaker = if c.speaker.is_empty() { format!("#{i}") } else { c.speaker.clone() };
            Some((i, Sample { features: Baseline::of_all([f]).relative(f), label: c.label.clone(), speaker }))
        })
        .collect()
}

/// Model inputs for every clip with features, each relative to its speaker's baseline;
/// returns the clip index beside each sample.
pub fn samples(clips: &[Clip]) -> Vec<(usize, Sample)> {
    let mut by_speaker: BTreeMap<&str, Vec<&Features>> = BTreeMap::new();
    for c in clips.iter().filter(|c| !c.speaker.is_empty()) {
        if let Some(f) = &c.features {
            by_speaker.entry(&c.speaker).or_default().push(f);
        }
    }
    let baselines: BTreeMap<&str, Baseline> = by_speaker.into_iter().map(|(s, fs)| (s, Baseline::of_all(fs))).collect();
    clips
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let f = c.features.as_ref()?;
            let features = match baselines.get(c.speaker.as_str()) {
                Some(b) => b.relative(f),
                None => Baseline::of_all([f]).relative(f),
            };
            let speaker = if c.speaker.is_empty() { format!("#{i}") } else { c.speaker.clone() };
            Some((i, Sample { features, label: c.label.clone(), speaker }))
        })
        .collect()
}
