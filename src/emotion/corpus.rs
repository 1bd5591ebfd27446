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
use crate::media::{self, MediaError};

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
    #[error("{path}: {source}")]
    Audio { path: PathBuf, source: MediaError },
}

pub fn load(manifest_path: &Path) -> Result<Vec<Clip>, CorpusError> {
    let entries = manifest::read(manifest_path)?;
    if entries.is_empty() {
        return Err(CorpusError::Empty(manifest_path.into()));
    }
    entries
        .into_iter()
        .map(|e| {
            let pcm =
                media::load_for_asr(&e.path).map_err(|source| CorpusError::Audio { path: e.path.clone(), source })?;
            let started = std::time::Instant::now();
            let features = acoustic::extract(&pcm);
            Ok(Clip {
                features,
                duration_s: pcm.len() as f32 / crate::asr::SAMPLE_RATE as f32,
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
    measured(clips).map(|(i, c, f)| (i, sample(i, c, Baseline::of_all([f]).relative(f)))).collect()
}

/// Model inputs for every clip with features, each relative to its speaker's baseline (clips
/// without a speaker: their own); returns the clip index beside each sample.
pub fn samples(clips: &[Clip]) -> Vec<(usize, Sample)> {
    let mut by_speaker: BTreeMap<&str, Vec<&Features>> = BTreeMap::new();
    for (_, c, f) in measured(clips).filter(|(_, c, _)| !c.speaker.is_empty()) {
        by_speaker.entry(&c.speaker).or_default().push(f);
    }
    let baselines: BTreeMap<&str, Baseline> = by_speaker.into_iter().map(|(s, fs)| (s, Baseline::of_all(fs))).collect();
    measured(clips)
        .map(|(i, c, f)| {
            let own = || Baseline::of_all([f]);
            let features = baselines.get(c.speaker.as_str()).cloned().unwrap_or_else(own).relative(f);
            (i, sample(i, c, features))
        })
        .collect()
}

fn measured(clips: &[Clip]) -> impl Iterator<Item = (usize, &Clip, &Features)> {
    clips.iter().enumerate().filter_map(|(i, c)| Some((i, c, c.features.as_ref()?)))
}

/// A clip as a training sample; a clip without a speaker is a speaker of its own.
fn sample(i: usize, c: &Clip, features: Vec<f32>) -> Sample {
    let speaker = if c.speaker.is_empty() { format!("#{i}") } else { c.speaker.clone() };
    Sample { features, label: c.label.clone(), speaker }
}
