//! Endpointing: turns per-chunk voice-activity scores into utterance boundaries. Sans-IO and
//! clock-free: time is the chunk index (one chunk = [`CHUNK`] samples = 16 ms at 16 kHz).
//!
//! Speech starts after a short run of voiced chunks (so clicks do not open an utterance) and
//! reaches back a pre-roll so the first consonant is kept; it ends after a hangover of
//! silence. Hysteresis (a lower threshold to stay in speech) keeps soft word endings inside
//! the utterance. Utterances longer than the maximum are cut at the quietest recent chunk,
//! which is a pause between words far more often than a fixed-length cut would be.

use serde::{Deserialize, Serialize};

/// Samples per VAD chunk at 16 kHz (earshot's frame size).
pub const CHUNK: usize = 256;
pub const CHUNK_MS: f64 = CHUNK as f64 * 1000.0 / 16_000.0;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EndpointConfig {
    /// VAD score that counts as voice when not in speech.
    pub threshold: f32,
    /// Lower score that keeps an utterance going.
    pub continue_threshold: f32,
    /// Voiced run needed to open an utterance.
    pub start_ms: u32,
    /// Silence that closes an utterance.
    pub hangover_ms: u32,
    /// Audio kept before the detected start.
    pub pre_roll_ms: u32,
    /// Utterances with less voiced audio than this are noise, not speech.
    pub min_speech_ms: u32,
    /// Longest utterance before a forced cut.
    pub max_utterance_ms: u32,
    /// Silence after which a `Paused` boundary says the utterance may be over, so that its
    /// final is decoded early: if the caller stays silent, that decode is the final, already
    /// done when the hangover ends (or sooner, see `StreamConfig::end_on_complete`). 0: none.
    pub pause_ms: u32,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            continue_threshold: 0.35,
            start_ms: 64,
            hangover_ms: 560,
            pre_roll_ms: 320,
            min_speech_ms: 160,
            max_utterance_ms: 20_000,
            pause_ms: 48,
        }
    }
}

fn chunks(ms: u32) -> u64 {
    (ms as f64 / CHUNK_MS).ceil() as u64
}

/// Boundaries in chunk indices; `end` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// An utterance opened; audio from `audio_start` (pre-roll included) belongs to it, and the
    /// voice itself began at `voice_start`.
    Started { audio_start: u64, voice_start: u64 },
    /// The utterance closed; `voice_end` is one past the last voiced chunk.
    Ended { voice_end: u64, voiced_chunks: u64, reason: EndReason },
    /// `pause_ms` of silence since `voice_end` (one past the last voiced chunk): the utterance
    /// may be over. Once per silence; more voice makes it void.
    Paused { voice_end: u64 },
    /// Too little voice to be speech; forget the utterance.
    Discarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Silence,
    /// Ended early: what was said already read as a complete sentence.
    Complete,
    MaxLength,
    EndOfStream,
}

#[derive(Debug)]
enum State {
    Idle { voiced_run: u64 },
    Speaking { audio_start: u64, last_voiced: u64, voiced: u64, scores: Vec<f32> },
}

#[derive(Debug)]
pub struct Endpointer {
    cfg: EndpointConfig,
    state: State,
    /// Index of the next chunk to be pushed.
    next: u64,
}

impl Endpointer {
    pub fn new(cfg: EndpointConfig) -> Self {
        Self { cfg, state: State::Idle { voiced_run: 0 }, next: 0 }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    pub fn in_speech(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// In an utterance, one past its last voiced chunk.
    pub fn voice_end(&self) -> Option<u64> {
        match self.state {
            State::Speaking { last_voiced, .. } => Some(last_voiced + 1),
            State::Idle { .. } => None,
        }
    }

    /// Ends the open utterance now, before the hangover (the words made a complete turn).
    pub fn end_now(&mut self) -> Option<Boundary> {
        self.in_speech().then(|| self.close(EndReason::Complete))
    }

    /// Feeds the VAD score of the next chunk; returns the boundaries it caused (a forced cut
    /// yields an `Ended` followed by a `Started`).
    pub fn push(&mut self, score: f32) -> Vec<Boundary> {
        let index = self.next;
        self.next += 1;
        let mut out = Vec::new();
        match &mut self.state {
            State::Idle { voiced_run } => {
                if score >= self.cfg.threshold {
                    *voiced_run += 1;
                } else {
                    *voiced_run = 0;
                }
                if *voiced_run >= chunks(self.cfg.start_ms).max(1) {
                    let voice_start = index + 1 - *voiced_run;
                    let audio_start = voice_start.saturating_sub(chunks(self.cfg.pre_roll_ms));
                    let pre = (index + 1 - audio_start) as usize;
                    self.state = State::Speaking {
                        audio_start,
                        last_voiced: index,
                        voiced: *voiced_run,
                        scores: vec![0.0; pre - 1].into_iter().chain([score]).collect(),
                    };
                    out.push(Boundary::Started { audio_start, voice_start });
                }
            }
            State::Speaking { audio_start, last_voiced, voiced, scores } => {
                scores.push(score);
                if score >= self.cfg.continue_threshold {
                    *last_voiced = index;
                    *voiced += 1;
                }
                let silent = index - *last_voiced;
                let pause = chunks(self.cfg.pause_ms);
                if pause > 0
                    && silent == pause
                    && pause < chunks(self.cfg.hangover_ms)
                    && *voiced >= chunks(self.cfg.min_speech_ms)
                {
                    out.push(Boundary::Paused { voice_end: *last_voiced + 1 });
                }
                if silent >= chunks(self.cfg.hangover_ms) {
                    out.push(self.close(EndReason::Silence));
                } else if index + 1 - *audio_start >= chunks(self.cfg.max_utterance_ms) {
                    // Cut at the quietest chunk of the last quarter, then carry on in speech.
                    let len = scores.len();
                    let from = len - len / 4;
                    let (offset, _) = scores[from..]
                        .iter()
                        .enumerate()
                        .fold((0, f32::INFINITY), |best, (i, s)| if *s < best.1 { (i, *s) } else { best });
                    let cut = *audio_start + (from + offset) as u64;
                    let carried: Vec<f32> = scores[from + offset..].to_vec();
                    let carried_voiced = carried.iter().filter(|s| **s >= self.cfg.continue_threshold).count() as u64;
                    let voiced_before = voiced.saturating_sub(carried_voiced);
                    out.push(Boundary::Ended {
                        voice_end: cut,
                        voiced_chunks: voiced_before,
                        reason: EndReason::MaxLength,
                    });
                    out.push(Boundary::Started { audio_start: cut, voice_start: cut });
                    self.state = State::Speaking {
                        audio_start: cut,
                        last_voiced: index,
                        voiced: carried_voiced,
                        scores: carried,
                    };
                }
            }
        }
        out
    }

    /// End of the stream: closes an open utterance.
    pub fn finish(&mut self) -> Option<Boundary> {
        self.in_speech().then(|| self.close(EndReason::EndOfStream))
    }

    fn close(&mut self, reason: EndReason) -> Boundary {
        let state = std::mem::replace(&mut self.state, State::Idle { voiced_run: 0 });
        let State::Speaking { last_voiced, voiced, .. } = state else {
            return Boundary::Discarded;
        };
        if voiced < chunks(self.cfg.min_speech_ms) {
            return Boundary::Discarded;
        }
        Boundary::Ended { voice_end: last_voiced + 1, voiced_chunks: voiced, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ep: &mut Endpointer, scores: impl IntoIterator<Item = f32>) -> Vec<(u64, Boundary)> {
        let mut out = Vec::new();
        for s in scores {
            let i = ep.next;
            out.extend(ep.push(s).into_iter().map(|b| (i, b)));
        }
        out
    }

    fn repeat(v: f32, n: usize) -> impl Iterator<Item = f32> {
        std::iter::repeat_n(v, n)
    }

    #[test]
    fn speech_between_silences_is_one_utterance() {
        let mut ep = Endpointer::new(EndpointConfig::default());
        let scores = repeat(0.0, 50).chain(repeat(0.9, 100)).chain(repeat(0.0, 60));
        let events = run(&mut ep, scores);
        let hang = chunks(560);
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(events[0].1, Boundary::Started { audio_start: 50 - chunks(320), voice_start: 50 });
        assert_eq!(events[0].0, 53, "opens after 4 voiced chunks");
        assert_eq!(events[1], (149 + chunks(48), Boundary::Paused { voice_end: 150 }), "may be over");
        assert_eq!(events[2].0, 149 + hang, "closes after the hangover");
        assert!(matches!(
            events[2].1,
            Boundary::Ended { voice_end: 150, voiced_chunks: 100, reason: EndReason::Silence }
        ));
    }

    #[test]
    fn a_complete_turn_can_end_before_the_hangover() {
        let mut ep = Endpointer::new(EndpointConfig::default());
        run(&mut ep, repeat(0.9, 20).chain(repeat(0.0, 13)));
        assert_eq!(ep.voice_end(), Some(20));
        assert!(matches!(ep.end_now(), Some(Boundary::Ended { voice_end: 20, reason: EndReason::Complete, .. })));
        assert!(!ep.in_speech());
        assert_eq!(ep.end_now(), None);
    }

    #[test]
    fn short_pauses_and_soft_endings_stay_inside() {
        let mut ep = Endpointer::new(EndpointConfig::default());
        // 200 ms pause and a soft (0.4) tail do not split the utterance.
        let scores =
            repeat(0.9, 40).chain(repeat(0.1, 12)).chain(repeat(0.9, 40)).chain(repeat(0.4, 10)).chain(repeat(0.0, 40));
        let ends: Vec<_> =
            run(&mut ep, scores).into_iter().filter(|(_, b)| matches!(b, Boundary::Ended { .. })).collect();
        assert_eq!(ends.len(), 1);
        assert!(matches!(ends[0].1, Boundary::Ended { voice_end: 102, .. }));
    }

    #[test]
    fn clicks_do_not_open_and_noise_bursts_are_discarded() {
        let mut ep = Endpointer::new(EndpointConfig::default());
        let clicks = (0..20).flat_map(|_| [0.9, 0.9, 0.0, 0.0]);
        assert!(run(&mut ep, clicks).is_empty());
        let burst = repeat(0.9, 5).chain(repeat(0.0, 50));
        let events = run(&mut ep, burst);
        assert_eq!(events.last().map(|e| e.1), Some(Boundary::Discarded));
    }

    #[test]
    fn long_speech_is_cut_at_the_quietest_point() {
        let cfg = EndpointConfig { max_utterance_ms: 3200, pre_roll_ms: 0, ..Default::default() };
        let max = chunks(3200) as usize;
        let mut ep = Endpointer::new(cfg);
        // A dip to 0.36 (still voiced) near the end of the window is where the cut goes.
        let dip = max - 10;
        let scores = (0..max + 50).map(|i| if i == dip { 0.36 } else { 0.9 });
        let events = run(&mut ep, scores);
        let cut = events.iter().find_map(|(_, b)| match b {
            Boundary::Ended { voice_end, reason: EndReason::MaxLength, .. } => Some(*voice_end),
            _ => None,
        });
        assert_eq!(cut, Some(dip as u64));
        assert!(
            events.iter().any(|(_, b)| *b == Boundary::Started { audio_start: dip as u64, voice_start: dip as u64 })
        );
        assert!(ep.in_speech());
        assert!(matches!(ep.finish(), Some(Boundary::Ended { reason: EndReason::EndOfStream, .. })));
    }
}
