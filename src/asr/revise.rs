//! Transcript revision: which utterances to decode again together. Sans-IO; times in samples.
//!
//! Turn-taking ends a turn at the first pause after a sentence that sounds complete, because
//! every millisecond there delays the bot's answer. A caller who hesitates mid-thought ("…in our
//! presence. [pause] It's a very pleasant meeting") is then cut into utterances, each decoded
//! without the words after it, and Whisper does worst at exactly such edges. The dialog has to
//! act on those finals, but the transcript (what is stored, what an agent and supervisors read)
//! need not keep them: the utterances of one run of speech, separated by pauses no longer than
//! `gap`, are decoded again as one clip once the run is over, and that text replaces theirs.
//! Once per run, when no more speech can join it: a run costs one more decode, not one per pause.

/// One utterance that ended, as the recogniser saw it (sample positions in the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub id: u64,
    /// Where its left context starts, its own audio (pre-roll included) starts and ends.
    pub context_start: u64,
    pub audio_start: u64,
    pub audio_end: u64,
    pub voice_start: u64,
    pub voice_end: u64,
}

/// A run of utterances to decode again as one clip, `context_start..audio_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rerun {
    pub first: u64,
    pub last: u64,
    pub context_start: u64,
    pub audio_start: u64,
    pub audio_end: u64,
    pub voice_start: u64,
    pub voice_end: u64,
    /// The final text before the run, to recognise its words decoded again over the context.
    pub before: String,
}

#[derive(Debug)]
pub struct Runs {
    gap: u64,
    max_len: u64,
    run: Option<Rerun>,
}

impl Runs {
    /// `gap` = 0 turns revision off; a run never spans more than `max_len` of audio.
    pub fn new(gap: u64, max_len: u64) -> Self {
        Self { gap, max_len, run: None }
    }

    /// An utterance ended: it joins the current run if the pause before it was short enough.
    /// Returns the run it could not join, if that one is to be decoded again.
    pub fn ended(&mut self, u: Ended) -> Option<Rerun> {
        if self.gap == 0 {
            return None;
        }
        if let Some(run) = self.run.as_mut()
            && u.id > run.last
            && u.voice_start.saturating_sub(run.voice_end) <= self.gap
            && u.audio_end.saturating_sub(run.audio_start) <= self.max_len
        {
            run.last = u.id;
            run.voice_end = u.voice_end;
            run.audio_end = u.audio_end;
            return None;
        }
        let fresh = Rerun {
            first: u.id,
            last: u.id,
            context_start: u.context_start,
            audio_start: u.audio_start,
            audio_end: u.audio_end,
            voice_start: u.voice_start,
            voice_end: u.voice_end,
            before: String::new(),
        };
        self.run.replace(fresh).filter(|r| r.last > r.first)
    }

    /// The current run, once speech whose voice starts at `voice_start` (or later; `slack`
    /// allows for voice the detector confirms only later) can no longer join it: it is over,
    /// and returned if it is to be decoded again.
    pub fn closed(&mut self, voice_start: u64, slack: u64) -> Option<Rerun> {
        let over = self.run.as_ref()?.voice_end + self.gap + slack < voice_start;
        self.run.take_if(|_| over).filter(|r| r.last > r.first)
    }

    /// The stream ended: the current run is over.
    pub fn finish(&mut self) -> Option<Rerun> {
        self.run.take().filter(|r| r.last > r.first)
    }

    /// Utterance `id`'s final came out, after `before`: kept if it opens the current run.
    pub fn final_after(&mut self, id: u64, before: &str) {
        if let Some(run) = self.run.as_mut().filter(|r| r.first == id) {
            before.clone_into(&mut run.before);
        }
    }

    /// Where the audio starts that the current run needs (for trimming history).
    pub fn keep_from(&self) -> Option<u64> {
        self.run.as_ref().map(|r| r.context_start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 16;

    fn utterance(id: u64, voice_start_ms: u64, voice_end_ms: u64) -> Ended {
        let audio_start = (voice_start_ms - 300) * MS;
        Ended {
            id,
            context_start: audio_start,
            audio_start,
            audio_end: (voice_end_ms + 200) * MS,
            voice_start: voice_start_ms * MS,
            voice_end: voice_end_ms * MS,
        }
    }

    fn span(run: Option<Rerun>) -> Option<(u64, u64)> {
        run.map(|r| (r.first, r.last))
    }

    #[test]
    fn utterances_split_at_short_pauses_are_decoded_again_together_once_the_run_is_over() {
        let mut runs = Runs::new(1000 * MS, 20_000 * MS);
        assert_eq!(runs.ended(utterance(0, 1000, 3000)), None);
        runs.final_after(0, "Hello.");
        assert_eq!(runs.ended(utterance(1, 3400, 5000)), None, "400 ms pause: the run grows");
        assert_eq!(runs.ended(utterance(3, 5900, 7000)), None, "900 ms pause: it grows again");
        assert_eq!(runs.closed(8000 * MS, 0), None, "speech may still join it");
        let run = runs.closed(8100 * MS, 0).expect("over");
        assert_eq!((run.first, run.last, run.voice_start, run.voice_end), (0, 3, 1000 * MS, 7000 * MS));
        assert_eq!((run.context_start, run.audio_end, run.before.as_str()), (700 * MS, 7200 * MS, "Hello."));
        assert_eq!(runs.closed(9000 * MS, 0), None, "once");
    }

    #[test]
    fn a_long_pause_or_the_end_of_the_stream_ends_a_run_and_lone_utterances_are_left_alone() {
        let mut runs = Runs::new(1000 * MS, 20_000 * MS);
        runs.ended(utterance(0, 1000, 3000));
        assert_eq!(runs.ended(utterance(1, 5000, 6000)), None, "a lone utterance is not decoded again");
        runs.ended(utterance(2, 6500, 7000));
        assert_eq!(span(runs.ended(utterance(3, 9000, 9500))), Some((1, 2)));
        runs.ended(utterance(4, 9800, 10_000));
        assert_eq!(span(runs.finish()), Some((3, 4)));
    }

    #[test]
    fn a_run_stops_growing_at_the_longest_clip_and_revision_can_be_off() {
        let mut runs = Runs::new(1000 * MS, 5000 * MS);
        runs.ended(utterance(0, 1000, 2000));
        runs.ended(utterance(1, 2500, 3500));
        assert_eq!(span(runs.ended(utterance(2, 4000, 5600))), Some((0, 1)), "5.1 s of audio: too long");
        assert_eq!(runs.keep_from(), Some(3700 * MS));

        let mut off = Runs::new(0, 20_000 * MS);
        off.ended(utterance(0, 1000, 3000));
        assert_eq!(off.ended(utterance(1, 3100, 4000)), None);
        assert_eq!((off.finish(), off.keep_from()), (None, None));
    }
}
