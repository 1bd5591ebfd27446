//! Edit-distance scoring: word and character error rates.
//!
//! A minimum-edit alignment between reference and hypothesis is split into
//! substitutions, deletions and insertions, because the split tells apart a
//! recogniser that mishears from one that drops or invents speech. Counts are
//! kept per utterance and pooled over a corpus by adding them, which weights
//! each utterance by its length (summing errors, not averaging rates).
//! Normalise both texts first (see `super::normalize`): these functions
//! compare exactly what they are given.

use std::iter::Sum;
use std::ops::{Add, AddAssign};

/// Edit operations of one minimum-edit alignment, and the reference length
/// they are measured against. Serialisable for per-file evaluation reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ErrorCounts {
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
    pub reference_len: usize,
}

impl ErrorCounts {
    /// Total edits: substitutions + deletions + insertions.
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// Error rate, errors / reference length, as a fraction (0.25 = 25%). It
    /// can exceed 1.0 when the hypothesis adds many units. With an empty
    /// reference the rate is 0.0 for an empty hypothesis and otherwise 1.0 per
    /// inserted unit, as if the reference had length 1, so that output on
    /// silence is still penalised instead of dividing by zero.
    pub fn rate(&self) -> f64 {
        self.errors() as f64 / self.reference_len.max(1) as f64
    }
}

impl AddAssign for ErrorCounts {
    fn add_assign(&mut self, other: Self) {
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
        self.reference_len += other.reference_len;
    }
}

impl Add for ErrorCounts {
    type Output = Self;

    fn add(mut self, other: Self) -> Self {
        self += other;
        self
    }
}

impl Sum for ErrorCounts {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), Add::add)
    }
}

/// Aligns `hypothesis` to `reference` with unit-cost Levenshtein distance and
/// counts the edits of one minimum-cost alignment. When several alignments
/// cost the same, substitutions are preferred over deletions over
/// insertions.
pub fn align<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> ErrorCounts {
    // Each cell carries the edit counts of its best path instead of a pointer
    // for a backtrace, so only two rows are ever alive: memory stays
    // O(hypothesis length) even when scoring whole-call transcripts.
    let mut prev: Vec<ErrorCounts> =
        (0..=hypothesis.len()).map(|j| ErrorCounts { insertions: j, ..ErrorCounts::default() }).collect();
    let mut row = prev.clone();
    for (i, r) in reference.iter().enumerate() {
        row[0] = ErrorCounts { deletions: i + 1, ..ErrorCounts::default() };
        for (j, h) in hypothesis.iter().enumerate() {
            let mut best = prev[j];
            best.substitutions += usize::from(r != h);
            let mut deletion = prev[j + 1];
            deletion.deletions += 1;
            let mut insertion = row[j];
            insertion.insertions += 1;
            // Strict comparisons keep the earlier, preferred operation on ties.
            for candidate in [deletion, insertion] {
                if candidate.errors() < best.errors() {
                    best = candidate;
                }
            }
            row[j + 1] = best;
        }
        std::mem::swap(&mut prev, &mut row);
    }
    ErrorCounts { reference_len: reference.len(), ..prev[hypothesis.len()] }
}

/// Word-level counts over whitespace-separated tokens (for word error rate).
pub fn word_errors(reference: &str, hypothesis: &str) -> ErrorCounts {
    let reference: Vec<&str> = reference.split_whitespace().collect();
    let hypothesis: Vec<&str> = hypothesis.split_whitespace().collect();
    align(&reference, &hypothesis)
}

/// Character-level counts over Unicode scalar values, whitespace ignored (for
/// character error rate, the usual measure for Chinese, which has no spaces).
pub fn char_errors(reference: &str, hypothesis: &str) -> ErrorCounts {
    let reference: Vec<char> = reference.chars().filter(|c| !c.is_whitespace()).collect();
    let hypothesis: Vec<char> = hypothesis.chars().filter(|c| !c.is_whitespace()).collect();
    align(&reference, &hypothesis)
}

/// Nearest-rank percentile (`p` in 0..=1) of an ascending slice; `None` when it is empty.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get((last as f64 * p).round() as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(s: usize, d: usize, i: usize, n: usize) -> ErrorCounts {
        ErrorCounts { substitutions: s, deletions: d, insertions: i, reference_len: n }
    }

    #[test]
    fn identical_texts_have_no_errors() {
        let c = word_errors("the cat sat", "the cat sat");
        assert_eq!(c, counts(0, 0, 0, 3));
        assert_eq!(c.rate(), 0.0);
    }

    #[test]
    fn one_insertion() {
        let c = word_errors("the cat sat", "the cat sat down");
        assert_eq!(c, counts(0, 0, 1, 3));
        assert_eq!(c.errors(), 1);
        assert!((c.rate() * 100.0 - 33.333).abs() < 1e-3);
    }

    #[test]
    fn one_deletion_and_one_substitution() {
        assert_eq!(word_errors("the cat sat down", "the cat sat"), counts(0, 1, 0, 4));
        assert_eq!(word_errors("the cat sat", "the dog sat"), counts(1, 0, 0, 3));
        assert_eq!(word_errors("a b c d", "a x c"), counts(1, 1, 0, 4));
    }

    #[test]
    fn whitespace_does_not_matter_for_words() {
        assert_eq!(word_errors("  the\tcat \n", "the cat"), counts(0, 0, 0, 2));
    }

    #[test]
    fn kitten_sitting() {
        // k→s, e→i, +g
        let c = char_errors("kitten", "sitting");
        assert_eq!(c, counts(2, 0, 1, 6));
        assert!((c.rate() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn chars_ignore_whitespace_and_handle_cjk() {
        assert_eq!(char_errors("今天 天气", "今天天气"), counts(0, 0, 0, 4));
        assert_eq!(char_errors("今天天气很好", "今天天很好"), counts(0, 1, 0, 6));
        assert_eq!(char_errors("我们说话", "我门说话"), counts(1, 0, 0, 4));
    }

    #[test]
    fn empty_reference_and_hypothesis() {
        assert_eq!(word_errors("", "").rate(), 0.0);
        let inserted = word_errors("", "hello there");
        assert_eq!(inserted, counts(0, 0, 2, 0));
        assert_eq!(inserted.rate(), 2.0);
        let deleted = word_errors("hello there", " ");
        assert_eq!(deleted, counts(0, 2, 0, 2));
        assert_eq!(deleted.rate(), 1.0);
    }

    #[test]
    fn rate_can_exceed_one() {
        let c = word_errors("yes", "no no no");
        assert_eq!(c.errors(), 3);
        assert_eq!(c.rate(), 3.0);
    }

    #[test]
    fn total_is_the_edit_distance_whatever_the_split() {
        // Two equally cheap alignments exist; only the total is fixed.
        let c = word_errors("a b c d", "x a c d e");
        assert_eq!(c.errors(), 3);
        assert_eq!(c.reference_len, 4);
        let c = align(&[1, 2, 3, 4, 5], &[5, 4, 3, 2, 1]);
        assert_eq!(c.errors(), 4);
    }

    #[test]
    fn prefers_substitution_on_ties() {
        assert_eq!(align(&['a'], &['b']), counts(1, 0, 0, 1));
        assert_eq!(align(&['a', 'b'], &['c']), counts(1, 1, 0, 2));
    }

    #[test]
    fn pooling_weights_by_reference_length() {
        let mut pooled = word_errors("a b c d", "a b c d");
        pooled += word_errors("e", "f");
        assert_eq!(pooled, counts(1, 0, 0, 5));
        assert!((pooled.rate() - 0.2).abs() < 1e-12);
        let summed: ErrorCounts = [counts(1, 0, 0, 4), counts(0, 2, 1, 6)].into_iter().sum();
        assert_eq!(summed, counts(1, 2, 1, 10) + ErrorCounts::default());
    }

    #[test]
    fn agrees_with_brute_force_distance() {
        // Plain Levenshtein distance to cross-check the counting recurrence.
        fn distance(a: &[u8], b: &[u8]) -> usize {
            match (a.split_first(), b.split_first()) {
                (None, _) => b.len(),
                (_, None) => a.len(),
                (Some((x, ra)), Some((y, rb))) => {
                    (distance(ra, rb) + usize::from(x != y)).min(distance(ra, b) + 1).min(distance(a, rb) + 1)
                }
            }
        }
        let texts: [&[u8]; 6] = [b"", b"a", b"abc", b"acb", b"abca", b"cabba"];
        for a in texts {
            for b in texts {
                let c = align(a, b);
                assert_eq!(c.errors(), distance(a, b), "{a:?} {b:?}");
                assert_eq!(c.reference_len - c.deletions + c.insertions, b.len());
                assert!(c.substitutions + c.deletions <= a.len());
            }
        }
    }

    #[test]
    fn long_inputs_stay_cheap() {
        let reference: Vec<u32> = (0..2000).collect();
        let hypothesis: Vec<u32> = (0..2000).filter(|x| x % 10 != 0).collect();
        assert_eq!(align(&reference, &hypothesis), counts(0, 200, 0, 2000));
    }

    #[test]
    fn percentile_takes_the_nearest_rank() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.95), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.5), Some(3));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.95), Some(5));
    }
}
