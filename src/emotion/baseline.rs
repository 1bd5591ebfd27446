//! How this caller normally sounds: the mean of their first utterances' features. Anger is a
//! change from a person's own voice, so pitch level, loudness and brightness are scored as
//! differences from it (features flagged in [`super::acoustic::RELATIVE`]).

use super::acoustic::{Features, NAMES, RELATIVE};

/// Utterances that form a caller's baseline; after them it stays put, so that a caller who
/// grows angry is compared with how they started, not with their anger.
pub const CALL_BASELINE_UTTERANCES: usize = 3;

#[derive(Debug, Clone)]
pub struct Baseline {
    sum: [f32; NAMES.len()],
    count: usize,
    limit: usize,
}

impl Baseline {
    /// A live call's baseline: its first [`CALL_BASELINE_UTTERANCES`] utterances.
    pub fn for_call() -> Self {
        Self { sum: [0.0; NAMES.len()], count: 0, limit: CALL_BASELINE_UTTERANCES }
    }

    /// A speaker's baseline over all their recordings (training and corpus evaluation).
    pub fn of_all<'a>(clips: impl IntoIterator<Item = &'a Features>) -> Self {
        let mut b = Self { sum: [0.0; NAMES.len()], count: 0, limit: usize::MAX };
        for f in clips {
            b.observe(f);
        }
        b
    }

    pub fn observe(&mut self, f: &Features) {
        if self.count < self.limit {
            for (s, v) in self.sum.iter_mut().zip(&f.values) {
                *s += v;
            }
            self.count += 1;
        }
    }

    /// The model's input: relative features minus the baseline, the others as measured. With
    /// no baseline yet the utterance is its own (relative features 0: nothing to compare with).
    pub fn relative(&self, f: &Features) -> Vec<f32> {
        f.values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if !RELATIVE[i] {
                    *v
                } else if self.count == 0 {
                    0.0
                } else {
                    v - self.sum[i] / self.count as f32
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(level: f32) -> Features {
        let mut values = [1.0; NAMES.len()];
        values[0] = level;
        Features { values, voiced_s: 1.0 }
    }

    #[test]
    fn relative_features_are_measured_from_the_first_utterances() {
        let mut b = Baseline::for_call();
        assert_eq!(b.relative(&features(5.0))[0], 0.0, "no baseline: no difference");
        for level in [2.0, 4.0, 6.0, 30.0] {
            b.observe(&features(level));
        }
        let x = b.relative(&features(10.0));
        assert_eq!(x[0], 6.0, "the fourth utterance is not part of the baseline");
        let absolute = RELATIVE.iter().position(|r| !r).expect("some feature is absolute");
        assert_eq!(x[absolute], 1.0, "absolute features pass through");
    }
}
