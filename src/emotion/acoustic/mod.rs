//! Acoustic features of one utterance, on 16 kHz pipeline audio: pitch level, range and slope;
//! loudness level and variability; spectral balance; voicing and pauses; syllable rate; jitter
//! and shimmer estimates. Level features are later taken relative to the caller's own baseline
//! ([`super::baseline`]); the rest describe the utterance on its own.

mod frames;
pub mod pitch;
mod syllables;

use frames::Frame;

/// Names of the features, in vector order. The trained model records them and refuses a
/// mismatch.
pub const NAMES: [&str; 12] = [
    "f0_level_st",
    "f0_range_st",
    "f0_slope_st_per_s",
    "loudness_db",
    "loudness_sd_db",
    "hf_balance_db",
    "centroid_khz",
    "voiced_ratio",
    "pause_ratio",
    "syllable_rate",
    "jitter",
    "shimmer_db",
];

/// Which features depend on who is speaking, in what language and over what line (a voice's
/// pitch, a tone language's pitch range, a language's syllable rate, a handset's gain and
/// brightness): those are compared with the caller's own baseline rather than taken as they are.
pub const RELATIVE: [bool; 12] = [true, true, false, true, false, true, true, false, false, true, false, false];

/// Below this much voiced speech (10 ms frames) an utterance carries too little to score.
const MIN_VOICED_FRAMES: usize = 15;
/// Frames within this many dB of the utterance's loud frames count as speech.
const ACTIVE_RANGE_DB: f32 = 30.0;
const FLOOR_DB: f32 = -60.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub values: [f32; 12],
    /// Seconds of voiced speech the figures rest on.
    pub voiced_s: f32,
}

impl Features {
    pub fn get(&self, name: &str) -> Option<f32> {
        NAMES.iter().position(|n| *n == name).map(|i| self.values[i])
    }
}

/// Features of a 16 kHz mono utterance; `None` when it holds too little voiced speech.
pub fn extract(samples: &[f32]) -> Option<Features> {
    let frames = frames::analyse(samples);
    let pitch = pitch::track(&pitch::decimate_16k(samples));
    let n = frames.len().min(pitch.len());
    if n == 0 {
        return None;
    }
    let (frames, pitch) = (&frames[..n], &pitch[..n]);
    let mut levels: Vec<f32> = frames.iter().map(|f| f.db).collect();
    levels.sort_by(f32::total_cmp);
    let loud = levels[(levels.len() * 95 / 100).min(levels.len() - 1)];
    let threshold = (loud - ACTIVE_RANGE_DB).max(FLOOR_DB);
    let active: Vec<bool> = frames.iter().map(|f| f.db > threshold).collect();
    let voiced: Vec<bool> = active.iter().zip(pitch).map(|(a, p)| *a && p.period.is_some()).collect();
    let voiced_count = voiced.iter().filter(|v| **v).count();
    if voiced_count < MIN_VOICED_FRAMES {
        return None;
    }
    let active_count = active.iter().filter(|a| **a).count();
    // Pauses are counted between the first and last speech frames, not in the clip's margins.
    let first = active.iter().position(|a| *a).unwrap_or(0);
    let last = active.iter().rposition(|a| *a).unwrap_or(0);
    let span = last + 1 - first;

    let semitones: Vec<(f32, f32)> = (0..n)
        .filter(|&i| voiced[i])
        .filter_map(|i| pitch[i].hz().map(|hz| (i as f32 * 0.01, 12.0 * (hz / 100.0).log2())))
        .collect();
    let semitones = without_octave_jumps(semitones);
    let mut st: Vec<f32> = semitones.iter().map(|(_, s)| *s).collect();
    st.sort_by(f32::total_cmp);

    let active_db: Vec<f32> = (0..n).filter(|&i| active[i]).map(|i| frames[i].db).collect();
    let voiced_frames: Vec<&Frame> = (0..n).filter(|&i| voiced[i]).map(|i| &frames[i]).collect();
    let low: f32 = voiced_frames.iter().map(|f| f.low_energy).sum();
    let high: f32 = voiced_frames.iter().map(|f| f.high_energy).sum();
    let centroid = voiced_frames.iter().map(|f| f.centroid_hz).sum::<f32>() / voiced_frames.len() as f32;

    let values = [
        percentile(&st, 50),
        percentile(&st, 90) - percentile(&st, 10),
        slope(&semitones),
        power_mean_db(&active_db),
        std_dev(&active_db),
        10.0 * ((high + 1e-12) / (low + 1e-12)).log10(),
        centroid / 1000.0,
        voiced_count as f32 / active_count.max(1) as f32,
        1.0 - active[first..=last].iter().filter(|a| **a).count() as f32 / span.max(1) as f32,
        syllables::count(frames, &voiced) as f32 / (active_count as f32 * 0.01),
        jitter(pitch, &voiced),
        shimmer_db(frames, &voiced),
    ];
    Some(Features { values, voiced_s: voiced_count as f32 * 0.01 })
}

/// Drops frames more than 7 semitones from the utterance median: YIN's rare octave slips
/// would otherwise dominate range and slope.
fn without_octave_jumps(track: Vec<(f32, f32)>) -> Vec<(f32, f32)> {
    let mut sorted: Vec<f32> = track.iter().map(|(_, s)| *s).collect();
    sorted.sort_by(f32::total_cmp);
    let median = percentile(&sorted, 50);
    track.into_iter().filter(|(_, s)| (s - median).abs() <= 7.0).collect()
}

fn percentile(sorted: &[f32], p: usize) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[(sorted.len() - 1) * p / 100]
}

/// Least-squares slope of (time, value) points.
fn slope(points: &[(f32, f32)]) -> f32 {
    let n = points.len() as f32;
    if n < 2.0 {
        return 0.0;
    }
    let (mt, mv) = (points.iter().map(|p| p.0).sum::<f32>() / n, points.iter().map(|p| p.1).sum::<f32>() / n);
    let cov: f32 = points.iter().map(|(t, v)| (t - mt) * (v - mv)).sum();
    let var: f32 = points.iter().map(|(t, _)| (t - mt).powi(2)).sum();
    if var > 0.0 { cov / var } else { 0.0 }
}

/// Level of the frames' mean power, in dB (loud frames weigh as they sound).
fn power_mean_db(db: &[f32]) -> f32 {
    let mean = db.iter().map(|d| 10f32.powf(d / 10.0)).sum::<f32>() / db.len().max(1) as f32;
    10.0 * (mean + 1e-10).log10()
}

fn std_dev(values: &[f32]) -> f32 {
    let n = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt()
}

/// Mean relative change of the period between consecutive voiced frames: a frame-rate stand-in
/// for cycle-to-cycle jitter, which needs glottal-cycle marking this pipeline does not do.
fn jitter(pitch: &[pitch::PitchFrame], voiced: &[bool]) -> f32 {
    let pairs: Vec<(f32, f32)> = (1..voiced.len())
        .filter(|&i| voiced[i] && voiced[i - 1])
        .filter_map(|i| Some((pitch[i - 1].period?, pitch[i].period?)))
        .filter(|(a, b)| (a / b).max(b / a) < 1.3)
        .collect();
    if pairs.is_empty() {
        return 0.0;
    }
    let mean_period = pairs.iter().map(|(a, b)| a + b).sum::<f32>() / (2 * pairs.len()) as f32;
    pairs.iter().map(|(a, b)| (a - b).abs()).sum::<f32>() / pairs.len() as f32 / mean_period
}

/// Mean absolute change of peak amplitude between consecutive voiced frames, in dB: the
/// frame-rate counterpart of shimmer.
fn shimmer_db(frames: &[Frame], voiced: &[bool]) -> f32 {
    let changes: Vec<f32> = (1..voiced.len())
        .filter(|&i| voiced[i] && voiced[i - 1])
        .map(|i| 20.0 * ((frames[i].peak + 1e-6) / (frames[i - 1].peak + 1e-6)).log10().abs())
        .collect();
    changes.iter().sum::<f32>() / changes.len().max(1) as f32
}

#[cfg(test)]
mod tests;
