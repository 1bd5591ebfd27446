//! Left context for utterance decoding. A phrase cut out of running speech ("ask not…" after a
//! pause) decodes badly on its own; decoded with the second or two of audio before it, Whisper
//! hears how it started. The words Whisper decodes over that context must then be dropped:
//! this module sorts them by their alignment-head (DTW) times.
//!
//! DTW times run a few hundred ms late and are approximate, so words near the boundary are
//! "uncertain": they stay in the text, and the stream drops them only if they repeat the end
//! of the previous final (`text::strip_repeated_prefix`).

/// Words whose DTW time lies less than this after the boundary belong to the context.
const DROP_BEFORE_CS: i64 = 20;
/// Words from here on are the utterance's own for certain.
const CERTAIN_FROM_CS: i64 = 50;

pub struct ContextCut {
    context_cs: i64,
    seen_certain: bool,
    word_kept: bool,
    /// Text of the uncertain words that open the utterance.
    pub uncertain: Vec<u8>,
}

impl ContextCut {
    /// `context_ms` of context open the decoded audio.
    pub fn new(context_ms: u64) -> Self {
        Self { context_cs: (context_ms / 10) as i64, seen_certain: false, word_kept: false, uncertain: Vec::new() }
    }

    /// Sorts one text token: `starts_word` when it opens a word (its DTW time decides for the
    /// whole word). Returns whether the token belongs to the utterance.
    pub fn keep(&mut self, starts_word: bool, dtw_cs: i64, piece: &[u8]) -> bool {
        if starts_word {
            let after = dtw_cs - self.context_cs;
            if self.seen_certain || after >= CERTAIN_FROM_CS {
                self.seen_certain = true;
                self.word_kept = true;
            } else {
                self.word_kept = after >= DROP_BEFORE_CS;
            }
        }
        if self.word_kept && !self.seen_certain {
            self.uncertain.extend_from_slice(piece);
        }
        self.word_kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_sort_by_time_after_the_boundary() {
        let mut cut = ContextCut::new(2000); // boundary at 200 cs
        let words = [(" for", 150), (" you", 234), (" ask", 260), (" what", 230)];
        let kept: String = words.iter().filter(|(w, t)| cut.keep(true, *t, w.as_bytes())).map(|(w, _)| *w).collect();
        // "for" is context; "you" is uncertain; "ask" is certain, and so is all that follows.
        assert_eq!(kept, " you ask what");
        assert_eq!(cut.uncertain, b" you");
    }

    #[test]
    fn a_word_s_pieces_follow_its_first_token() {
        let mut cut = ContextCut::new(1000);
        assert!(!cut.keep(true, 105, b" Amer"));
        assert!(!cut.keep(false, 190, b"icans"));
        assert!(cut.keep(true, 180, b" ask"));
        assert!(cut.keep(false, 120, b"ed"));
    }
}
