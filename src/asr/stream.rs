//! Streaming recogniser for one call. Sans-IO: 16 kHz PCM frames of any length go in; decode
//! requests (for the shared pool) and transcript events come out. Results of requests come back
//! through [`StreamingRecognizer::on_result`]. Time is the sample count: no clock is read, so
//! tests drive it deterministically and faster than real time.
//!
//! Invariants: finals are emitted in utterance order even when decoded out of order; a partial
//! never follows its utterance's final; at most one partial per utterance is in flight.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::endpoint::{Boundary, CHUNK, EndReason, EndpointConfig, Endpointer};
use super::engine::{DecodeOptions, Decoded, Window};
use super::identify::{self, LanguageCheck};
use super::pool::Priority;
use super::revise::{self, Rerun, Runs};
use super::{AsrError, Language, SAMPLE_RATE, text};
use crate::emotion::acoustic::Features;
use crate::media::vad::{Vad, VoiceDetector};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StreamConfig {
    pub endpoint: EndpointConfig,
    /// Interval between partial hypotheses while the caller speaks; 0 turns partials off.
    pub partial_interval_ms: u32,
    /// Audio kept after the last voiced chunk, so word endings reach Whisper.
    pub tail_ms: u32,
    /// Untranscribed speech beyond this raises a `falling_behind` event.
    pub lag_warning_ms: u32,
    /// Give Whisper the previous finals as a prompt (Whisper's `condition_on_previous_text`).
    /// Off by default: on our English set it made the decoder loop on digit strings and
    /// raised streaming WER from 4.15% to 13.49% (docs/benchmarks.md).
    pub condition_on_previous_text: bool,
    /// Encoder context beyond each clip, in 20 ms frames (see `DecodeOptions::context_margin`).
    pub context_margin: u32,
    /// The same for partials: less context, so a partial costs a third as much and is done
    /// before the final needs the worker (partials are only shown, and checked for barge-in).
    pub partial_context_margin: u32,
    /// Beam width for finals (partials are always greedy); 1 is greedy.
    pub final_beam_size: usize,
    /// Audio from before each utterance that Whisper hears as context (its words are dropped):
    /// a phrase cut out of running speech decodes better with what led up to it.
    pub left_context_ms: u32,
    /// End the utterance as soon as an early decode reads as a complete sentence (final
    /// punctuation, no dangling "and"/"the"), instead of waiting out the whole hangover.
    pub end_on_complete: bool,
    /// Silence needed before a complete-sounding early decode ends the turn. The early decode
    /// itself starts sooner (`EndpointConfig::pause_ms`), so the silence and the decode overlap.
    pub complete_silence_ms: u32,
    /// When a doubtful final is tried in the other language (see `identify`); only with a
    /// multilingual model to ask (`StreamSession::with_identifier`).
    pub language_check: LanguageCheck,
    /// Utterances separated by pauses up to this long are decoded again together, for the
    /// transcript (`AsrEvent::Revised`, see `revise`); 0 turns that off.
    pub revise_gap_ms: u32,
    /// Measure each utterance's voice for emotion (`StreamOutput::Analyse`, done off the
    /// call's thread); a final waits for its measurement, which is always done long before
    /// the decode.
    pub analyse_voice: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            endpoint: EndpointConfig::default(),
            partial_interval_ms: 1000,
            tail_ms: 200,
            lag_warning_ms: 4000,
            condition_on_previous_text: false,
            context_margin: super::engine::DEFAULT_CONTEXT_MARGIN,
            partial_context_margin: 32,
            final_beam_size: 1,
            left_context_ms: 2000,
            end_on_complete: true,
            complete_silence_ms: 200,
            language_check: LanguageCheck::default(),
            revise_gap_ms: 1000,
            analyse_voice: true,
        }
    }
}

/// What a caller's speech produced. Times are milliseconds from the start of the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AsrEvent {
    SpeechStarted {
        utterance: u64,
        at_ms: u64,
    },
    Partial {
        utterance: u64,
        text: String,
        start_ms: u64,
        end_ms: u64,
    },
    Final {
        utterance: u64,
        text: String,
        language: String,
        start_ms: u64,
        end_ms: u64,
        end_reason: EndReason,
        /// The voice's acoustic features, for emotion (`None`: too little voiced speech).
        #[serde(skip)]
        voice: Option<Features>,
    },
    /// Utterances `first..=last`, one run of speech cut at short pauses, decoded again as one
    /// clip: for the transcript, this text replaces theirs (their finals were acted on).
    /// Comes after the finals it revises.
    Revised {
        first: u64,
        last: u64,
        text: String,
        start_ms: u64,
        end_ms: u64,
    },
    /// The utterance turned out to hold no words (noise, or text Whisper invented).
    Dropped {
        utterance: u64,
        reason: String,
    },
    /// Decoding failed for this utterance; the stream itself carries on.
    Failed {
        utterance: u64,
        error: String,
    },
    /// Speech awaiting transcription exceeds the configured limit: the pool is not keeping up.
    FallingBehind {
        pending_ms: u64,
        pending_finals: usize,
    },
    CaughtUp,
}

/// Work for the decoder pool.
#[derive(Debug, Clone)]
pub struct DecodeRequest {
    pub utterance: u64,
    pub priority: Priority,
    /// Tells apart the decodes of one utterance's final: 0 for one requested when it ended,
    /// 1, 2, … for early ones (a pause may turn out not to be the end).
    pub attempt: u32,
    pub pcm: Vec<f32>,
    pub options: DecodeOptions,
}

#[derive(Debug)]
pub enum StreamOutput {
    Event(AsrEvent),
    Decode(DecodeRequest),
    /// A decode requested earlier is no longer wanted (the caller kept talking): stop it if
    /// it is still running. Its result, if one still comes, is ignored.
    Abandon {
        utterance: u64,
        priority: Priority,
        attempt: u32,
    },
    /// Measure this utterance's voice (`emotion::acoustic::extract`) and hand the result to
    /// [`StreamingRecognizer::on_voice`]: too slow for the call's own thread on long utterances.
    Analyse {
        utterance: u64,
        pcm: Vec<f32>,
    },
}

#[derive(Debug)]
struct OpenUtterance {
    id: u64,
    audio_start: u64,
    voice_start: u64,
    last_partial_at: u64,
    partial_in_flight: bool,
    /// The latest early decode: of the audio up to `voice_end` (samples).
    early: Option<Early>,
    attempts: u32,
}

#[derive(Debug)]
struct Early {
    attempt: u32,
    voice_end: u64,
    result: Option<Result<Decoded, AsrError>>,
    /// The result reads as a complete sentence.
    complete: bool,
    /// Refused by a busy pool and not running yet (the session retries it).
    waiting: bool,
}

#[derive(Debug)]
struct PendingFinal {
    attempt: u32,
    start_ms: u64,
    end_ms: u64,
    voiced_ms: u64,
    reason: EndReason,
    /// The voice's features; `None` while their measurement runs.
    voice: Option<Option<Features>>,
    result: Option<Result<Decoded, AsrError>>,
    /// The clip and its left context (ms), kept for a second decode in the other language.
    clip: Option<(Vec<f32>, u64)>,
    /// That second decode: `Some(None)` while it runs.
    second: Option<Option<Result<Decoded, AsrError>>>,
}

/// A run of utterances being decoded again (see `revise`).
#[derive(Debug)]
struct PendingRevision {
    last: u64,
    start_ms: u64,
    end_ms: u64,
    before: String,
    result: Option<Result<Decoded, AsrError>>,
}

/// What becomes of an early decode the pool refused (see `StreamingRecognizer::early_refused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedEarly {
    /// Submit it when a worker is free, unless superseded first.
    Wait,
    /// Its utterance has ended and its final is this decode: queue it like any final.
    NeededAsFinal,
    /// Nothing waits for it any more.
    Unneeded,
}

/// `attempt` of the second decode of a doubtful final (see `identify`).
pub const IDENTIFY_ATTEMPT: u32 = u32::MAX;

pub struct StreamingRecognizer {
    cfg: StreamConfig,
    language: Language,
    /// Doubtful finals are tried in the other language.
    identify: bool,
    vad: Box<dyn VoiceDetector>,
    endpointer: Endpointer,
    /// Samples not yet forming a whole VAD chunk.
    partial_chunk: Vec<f32>,
    /// Recent audio; `history[0]` is sample `history_start`.
    history: VecDeque<f32>,
    history_start: u64,
    /// Chunks fully processed.
    chunks_done: u64,
    open: Option<OpenUtterance>,
    /// Requested finals by utterance id, emitted strictly in order.
    finals: BTreeMap<u64, PendingFinal>,
    next_id: u64,
    /// Recent final text, given to Whisper as context for the next utterance (only kept when
    /// `condition_on_previous_text` is on).
    previous_text: String,
    /// The last final's text, to recognise left-context words decoded again.
    last_final: String,
    /// Voice start and end of the last utterance, in samples.
    previous_speech: Option<(u64, u64)>,
    runs: Runs,
    /// Revisions requested and not yet out, by their run's first utterance (one per run: a
    /// longer one supersedes).
    revisions: BTreeMap<u64, PendingRevision>,
    /// How much each recent final said (see `spoken`), to check revisions against.
    final_sizes: VecDeque<(u64, usize)>,
    lagging: bool,
    out: Vec<StreamOutput>,
}

/// What Whisper hears at once. A revision, left context included, fits in one window: so the
/// pieces of an utterance cut at `max_utterance_ms` (cut without a pause, mid-sentence) can be
/// decoded again together.
const WHISPER_WINDOW_MS: u32 = 30_000;
/// Finals remembered for checking revisions against (a run is far shorter).
const FINAL_SIZES_KEPT: usize = 64;
/// A revision stands only if it says 85–150% as much as the finals it replaces.
const REVISION_MIN_PERCENT: usize = 85;
const REVISION_MAX_PERCENT: usize = 150;

/// How much a text says: its letters and digits (any script).
fn spoken(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphanumeric()).count()
}

fn ms(samples: u64) -> u64 {
    samples * 1000 / SAMPLE_RATE as u64
}

fn samples(ms: u32) -> u64 {
    ms as u64 * SAMPLE_RATE as u64 / 1000
}

impl StreamingRecognizer {
    pub fn new(cfg: StreamConfig, language: Language) -> Self {
        Self::with_detector(cfg, language, Box::new(Vad::new()))
    }

    pub fn with_detector(cfg: StreamConfig, language: Language, vad: Box<dyn VoiceDetector>) -> Self {
        Self {
            endpointer: Endpointer::new(cfg.endpoint.clone()),
            runs: Runs::new(samples(cfg.revise_gap_ms), samples(WHISPER_WINDOW_MS.saturating_sub(cfg.left_context_ms))),
            revisions: BTreeMap::new(),
            final_sizes: VecDeque::new(),
            cfg,
            language,
            identify: false,
            vad,
            partial_chunk: Vec::with_capacity(CHUNK),
            history: VecDeque::new(),
            history_start: 0,
            chunks_done: 0,
            open: None,
            finals: BTreeMap::new(),
            next_id: 0,
            previous_text: String::new(),
            last_final: String::new(),
            previous_speech: None,
            lagging: false,
            out: Vec::new(),
        }
    }

    pub fn set_language(&mut self, language: Language) {
        self.language = language;
    }

    /// Tries doubtful finals in the other language; its requests carry
    /// `DecodeOptions::identify` and need a multilingual model.
    pub fn identify_languages(&mut self) {
        self.identify = true;
    }

    /// Milliseconds of audio consumed so far.
    pub fn position_ms(&self) -> u64 {
        ms(self.history_start + self.history.len() as u64 + self.partial_chunk.len() as u64)
    }

    /// Feeds audio; returns the requests and events it caused.
    pub fn push(&mut self, pcm: &[f32]) -> Vec<StreamOutput> {
        let mut rest = pcm;
        while !rest.is_empty() {
            let take = (CHUNK - self.partial_chunk.len()).min(rest.len());
            self.partial_chunk.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial_chunk.len() == CHUNK {
                let chunk: [f32; CHUNK] = std::mem::take(&mut self.partial_chunk)
                    .try_into()
                    .expect("partial_chunk holds exactly CHUNK samples here");
                self.process_chunk(&chunk);
            }
        }
        std::mem::take(&mut self.out)
    }

    /// End of the stream: the open utterance (if any) is finalised with what was heard.
    pub fn finish(&mut self) -> Vec<StreamOutput> {
        if !self.partial_chunk.is_empty() {
            let mut chunk = [0.0; CHUNK];
            chunk[..self.partial_chunk.len()].copy_from_slice(&self.partial_chunk);
            self.partial_chunk.clear();
            self.process_chunk(&chunk);
        }
        if let Some(b) = self.endpointer.finish() {
            self.on_boundary(b);
        }
        if let Some(run) = self.runs.finish() {
            self.request_revision(run);
        }
        std::mem::take(&mut self.out)
    }

    /// A revision the pool refused and that will not be tried again: its run keeps its finals.
    pub fn revision_refused(&mut self, first: u64) {
        self.revisions.remove(&first);
    }

    /// A decode the pool refused (busy). Partials are simply skipped; a refused final must be
    /// resubmitted by the driver, which keeps it.
    pub fn partial_refused(&mut self, utterance: u64) {
        if let Some(open) = self.open.as_mut().filter(|o| o.id == utterance) {
            open.partial_in_flight = false;
        }
    }

    /// An early decode the pool had no idle worker for. While its utterance is open it may
    /// wait (a final decoded when the utterance ends goes ahead of it). If the utterance ended
    /// in the same step that asked for it, its final is this very decode, which must then run.
    pub fn early_refused(&mut self, utterance: u64, attempt: u32) -> RefusedEarly {
        if self.mark_early(utterance, attempt, true) {
            RefusedEarly::Wait
        } else if self.finals.get(&utterance).is_some_and(|f| f.attempt == attempt && f.result.is_none()) {
            RefusedEarly::NeededAsFinal
        } else {
            RefusedEarly::Unneeded
        }
    }

    /// An early decode the pool refused has now been taken after all.
    pub fn early_accepted(&mut self, utterance: u64, attempt: u32) {
        self.mark_early(utterance, attempt, false);
    }

    /// Whether the open utterance's current early decode is `attempt`.
    fn mark_early(&mut self, utterance: u64, attempt: u32, waiting: bool) -> bool {
        if let Some(early) = self.open.as_mut().filter(|o| o.id == utterance).and_then(|o| o.early.as_mut())
            && early.attempt == attempt
        {
            early.waiting = waiting;
            return true;
        }
        false
    }

    /// Number of finals requested but not yet emitted.
    pub fn pending_finals(&self) -> usize {
        self.finals.len()
    }

    /// The result of a decode this recogniser requested, with the request's numbers.
    pub fn on_result(
        &mut self,
        utterance: u64,
        priority: Priority,
        attempt: u32,
        result: Result<Decoded, AsrError>,
    ) -> Vec<StreamOutput> {
        match priority {
            Priority::Partial => self.on_partial(utterance, result),
            Priority::Revision => {
                if let Some(revision) = self.revisions.get_mut(&utterance).filter(|r| r.last as u32 == attempt) {
                    revision.result = Some(result);
                    self.emit_ready_revisions();
                }
            }
            Priority::Final if attempt == IDENTIFY_ATTEMPT => {
                if let Some(slot) = self.finals.get_mut(&utterance) {
                    slot.second = Some(Some(result));
                    self.emit_ready_finals();
                }
            }
            Priority::Final | Priority::Early => match self.finals.get_mut(&utterance) {
                Some(slot) if slot.attempt == attempt => {
                    slot.result = Some(result);
                    self.emit_ready_finals();
                }
                Some(_) => {} // an early decode the utterance outgrew
                None => self.on_early(utterance, attempt, result),
            },
        }
        std::mem::take(&mut self.out)
    }

    /// An early decode came back while its utterance is still open: keep it for the final,
    /// and end the turn if it reads as complete (see `maybe_end_on_complete`).
    fn on_early(&mut self, utterance: u64, attempt: u32, result: Result<Decoded, AsrError>) {
        let Some(open) = self.open.as_mut().filter(|o| o.id == utterance) else { return };
        let Some(early) = open.early.as_mut().filter(|e| e.attempt == attempt) else { return };
        early.complete = matches!(&result, Ok(d) if text::looks_complete(&d.transcript.text));
        early.result = Some(result);
        self.maybe_end_on_complete();
    }

    /// Ends the turn when the early decode of the current silence reads as a complete
    /// sentence and the caller has been silent for `complete_silence_ms`.
    fn maybe_end_on_complete(&mut self) {
        let Some(early) = self.open.as_ref().and_then(|o| o.early.as_ref()) else { return };
        let silent_since = self.endpointer.voice_end().map(|e| e * CHUNK as u64);
        let silence = (self.chunks_done * CHUNK as u64).saturating_sub(early.voice_end);
        if self.cfg.end_on_complete
            && early.complete
            && silent_since == Some(early.voice_end)
            && silence >= samples(self.cfg.complete_silence_ms)
            && let Some(b) = self.endpointer.end_now()
        {
            self.on_boundary(b);
        }
    }

    fn process_chunk(&mut self, chunk: &[f32; CHUNK]) {
        let score = self.vad.score(chunk);
        self.history.extend(chunk.iter().copied());
        self.chunks_done += 1;
        for boundary in self.endpointer.push(score) {
            self.on_boundary(boundary);
        }
        self.abandon_stale_early();
        self.maybe_end_on_complete();
        self.maybe_revise();
        self.maybe_request_partial();
        self.trim_history();
    }

    /// The caller spoke again after a pause: the early decode of that pause is stale.
    fn abandon_stale_early(&mut self) {
        let voice_end = self.endpointer.voice_end().map(|e| e * CHUNK as u64);
        let Some(open) = self.open.as_mut() else { return };
        if let Some(early) = open.early.take_if(|e| voice_end.is_some_and(|v| v > e.voice_end))
            && early.result.is_none()
        {
            self.out.push(StreamOutput::Abandon {
                utterance: open.id,
                priority: Priority::Early,
                attempt: early.attempt,
            });
        }
    }

    fn on_boundary(&mut self, boundary: Boundary) {
        let chunk = CHUNK as u64;
        match boundary {
            Boundary::Started { audio_start, voice_start } => {
                let id = self.next_id;
                self.next_id += 1;
                let now = self.chunks_done * chunk;
                self.open = Some(OpenUtterance {
                    id,
                    audio_start: audio_start * chunk,
                    voice_start: voice_start * chunk,
                    last_partial_at: now,
                    partial_in_flight: false,
                    early: None,
                    attempts: 0,
                });
                self.out.push(StreamOutput::Event(AsrEvent::SpeechStarted {
                    utterance: id,
                    at_ms: ms(voice_start * chunk),
                }));
            }
            Boundary::Paused { voice_end } => {
                let voice_end = voice_end * chunk;
                let Some(open) = self.open.as_mut() else { return };
                open.attempts += 1;
                let attempt = open.attempts;
                open.early = Some(Early { attempt, voice_end, result: None, complete: false, waiting: false });
                // The early decode supersedes a partial still running, and needs its worker.
                if open.partial_in_flight {
                    self.out.push(StreamOutput::Abandon {
                        utterance: open.id,
                        priority: Priority::Partial,
                        attempt: 0,
                    });
                }
                let (id, audio_start) = (open.id, open.audio_start);
                let (context_start, audio_end) = self.final_clip(audio_start, voice_end, EndReason::Silence);
                let mut pcm = self.audio(context_start, audio_end);
                // The pause may be shorter than the tail: silence stands in for what has not come yet.
                pcm.resize((voice_end + samples(self.cfg.tail_ms) - context_start) as usize, 0.0);
                self.request(id, Priority::Early, attempt, pcm, ms(audio_start - context_start));
            }
            Boundary::Ended { voice_end, voiced_chunks, reason } => {
                let Some(open) = self.open.take() else { return };
                let voice_end = voice_end * chunk;
                let (context_start, audio_end) = self.final_clip(open.audio_start, voice_end, reason);
                self.previous_speech = Some((open.voice_start, voice_end));
                let context_ms = ms(open.audio_start - context_start);
                let clip = self.identify.then(|| (self.audio(context_start, audio_end), context_ms));
                // The emotion pipeline's share of the utterance: its voice, no margins.
                let voice = if self.cfg.analyse_voice {
                    let pcm = self.audio(open.audio_start, voice_end);
                    self.out.push(StreamOutput::Analyse { utterance: open.id, pcm });
                    None
                } else {
                    Some(None)
                };
                let ended = revise::Ended {
                    id: open.id,
                    context_start,
                    audio_start: open.audio_start,
                    audio_end,
                    voice_start: open.voice_start,
                    voice_end,
                };
                if let Some(run) = self.runs.ended(ended) {
                    self.request_revision(run);
                }
                let slot = |attempt, result| PendingFinal {
                    attempt,
                    start_ms: ms(open.voice_start),
                    end_ms: ms(voice_end),
                    voiced_ms: ms(voiced_chunks * chunk),
                    reason,
                    voice,
                    result,
                    clip,
                    second: None,
                };
                // The early decode covered exactly this audio when no voice came after it (if it
                // is still waiting for a worker, a final goes ahead of it instead).
                match open.early {
                    Some(early) if early.voice_end == voice_end && reason != EndReason::MaxLength && !early.waiting => {
                        self.finals.insert(open.id, slot(early.attempt, early.result));
                        self.emit_ready_finals();
                    }
                    _ => {
                        self.finals.insert(open.id, slot(0, None));
                        let pcm = self.audio(context_start, audio_end);
                        self.request(open.id, Priority::Final, 0, pcm, context_ms);
                    }
                }
                self.check_lag();
            }
            Boundary::Discarded => {
                if let Some(open) = self.open.take() {
                    self.out.push(StreamOutput::Event(AsrEvent::Dropped {
                        utterance: open.id,
                        reason: "too little voice".into(),
                    }));
                }
            }
        }
    }

    /// Asks for the revision of the run of speech that no speech can join any more.
    fn maybe_revise(&mut self) {
        // Without an utterance open, voice may have begun up to the pre-roll before it is found.
        let (voice_from, slack) = match &self.open {
            Some(open) => (open.voice_start, 0),
            None => (self.chunks_done * CHUNK as u64, samples(self.cfg.endpoint.pre_roll_ms)),
        };
        if let Some(run) = self.runs.closed(voice_from, slack) {
            self.request_revision(run);
        }
    }

    /// Decodes `run` (a run of speech that is over) again as one clip.
    fn request_revision(&mut self, run: Rerun) {
        if run.context_start < self.history_start {
            return; // cannot happen: history is kept for the run (see `trim_history`)
        }
        let pcm = self.audio(run.context_start, run.audio_end);
        let revision = PendingRevision {
            last: run.last,
            start_ms: ms(run.voice_start),
            end_ms: ms(run.voice_end),
            before: run.before,
            result: None,
        };
        self.revisions.insert(run.first, revision);
        self.request(run.first, Priority::Revision, run.last as u32, pcm, ms(run.audio_start - run.context_start));
    }

    /// Revisions whose result is in, once every final they revise is out.
    fn emit_ready_revisions(&mut self) {
        let unfinished = self.finals.keys().next().copied();
        let ready: Vec<u64> = self
            .revisions
            .iter()
            .filter(|(_, r)| r.result.is_some() && unfinished.is_none_or(|u| u > r.last))
            .map(|(first, _)| *first)
            .collect();
        for first in ready {
            let Some(r) = self.revisions.remove(&first) else { continue };
            // A failed or empty revision leaves the finals as they were.
            let Some(Ok(decoded)) = r.result else { continue };
            let text = text::strip_repeated_prefix(&r.before, &decoded.context_prefix, &decoded.transcript.text);
            if text.is_empty() || text::is_hallucination(&text, decoded.no_speech_prob, r.end_ms - r.start_ms) {
                continue;
            }
            // Over a longer clip Whisper sometimes skips a stretch of speech (or, rarely, loops):
            // a revision that says much less (or more) than the finals did is not better.
            let heard: usize =
                self.final_sizes.iter().filter(|(u, _)| (first..=r.last).contains(u)).map(|(_, n)| n).sum();
            let said = spoken(&text);
            if said * 100 < heard * REVISION_MIN_PERCENT || said * 100 > heard * REVISION_MAX_PERCENT {
                tracing::debug!(first, last = r.last, heard, said, "revision refused: {text:?}");
                continue;
            }
            let (start_ms, end_ms) = (r.start_ms, r.end_ms);
            self.out.push(StreamOutput::Event(AsrEvent::Revised { first, last: r.last, text, start_ms, end_ms }));
        }
    }

    /// Where a final's audio starts (with left context) and ends (with the tail).
    fn final_clip(&self, audio_start: u64, voice_end: u64, reason: EndReason) -> (u64, u64) {
        let chunk = CHUNK as u64;
        let audio_end = if reason == EndReason::MaxLength {
            voice_end
        } else {
            (voice_end + samples(self.cfg.tail_ms)).min(self.chunks_done * chunk)
        };
        // Context only helps when it holds the caller's speech that led up to this
        // utterance; silence before the first words would only change how they decode.
        let wanted = audio_start.saturating_sub(samples(self.cfg.left_context_ms));
        let context_start = match self.previous_speech {
            Some((start, end)) if end > wanted => wanted.max(start).max(self.history_start).min(audio_start),
            _ => audio_start,
        };
        (context_start, audio_end)
    }

    fn maybe_request_partial(&mut self) {
        let interval = samples(self.cfg.partial_interval_ms);
        let now = self.chunks_done * CHUNK as u64;
        // Not once the caller has gone quiet: a partial then only holds up the early final.
        let voiced_now = self.endpointer.voice_end() == Some(self.chunks_done);
        let Some(open) = self.open.as_mut() else { return };
        if interval == 0 || open.partial_in_flight || now - open.last_partial_at < interval || !voiced_now {
            return;
        }
        open.partial_in_flight = true;
        open.last_partial_at = now;
        let (id, start) = (open.id, open.audio_start);
        let pcm = self.audio(start, now);
        self.request(id, Priority::Partial, 0, pcm, 0);
    }

    fn request(&mut self, utterance: u64, priority: Priority, attempt: u32, pcm: Vec<f32>, context_ms: u64) {
        let mut options = DecodeOptions::new(self.language, Window::Utterance);
        options.context_ms = context_ms;
        options.context_margin =
            if priority == Priority::Partial { self.cfg.partial_context_margin } else { self.cfg.context_margin };
        if priority != Priority::Partial {
            options.beam_size = self.cfg.final_beam_size.max(1);
        }
        if self.cfg.condition_on_previous_text && !self.previous_text.is_empty() {
            options.previous_text = Some(self.previous_text.clone());
        }
        self.out.push(StreamOutput::Decode(DecodeRequest { utterance, priority, attempt, pcm, options }));
    }

    fn on_partial(&mut self, utterance: u64, result: Result<Decoded, AsrError>) {
        let Some(open) = self.open.as_mut().filter(|o| o.id == utterance) else {
            return; // its final was already requested: the partial is stale
        };
        open.partial_in_flight = false;
        if let Ok(decoded) = result {
            let text = decoded.transcript.text;
            if !text.is_empty() {
                let (start_ms, end_ms) = (ms(open.voice_start), ms(open.last_partial_at));
                self.out.push(StreamOutput::Event(AsrEvent::Partial { utterance, text, start_ms, end_ms }));
            }
        }
    }

    /// The measurement asked for by `StreamOutput::Analyse`.
    pub fn on_voice(&mut self, utterance: u64, features: Option<Features>) -> Vec<StreamOutput> {
        if let Some(slot) = self.finals.get_mut(&utterance) {
            slot.voice = Some(features);
            self.emit_ready_finals();
        }
        std::mem::take(&mut self.out)
    }

    fn emit_ready_finals(&mut self) {
        while let Some((&utterance, first)) = self.finals.first_key_value() {
            if first.result.is_none() || first.voice.is_none() {
                break;
            }
            let mut slot = self.finals.remove(&utterance).expect("first key");
            tracing::debug!(utterance, reason = ?slot.reason, start_ms = slot.start_ms, end_ms = slot.end_ms, "final ready");
            if self.try_other_language(utterance, &mut slot) {
                self.finals.insert(utterance, slot);
                break;
            }
            let result = match (slot.result, slot.second) {
                (_, Some(Some(Ok(second))))
                    if identify::other(self.language)
                        .is_some_and(|l| identify::accept(l, &second, &self.cfg.language_check)) =>
                {
                    Some(Ok(second))
                }
                (first, _) => first,
            };
            let event = match result {
                Some(Ok(decoded)) => {
                    let mut t = decoded.transcript;
                    t.text = text::strip_repeated_prefix(&self.last_final, &decoded.context_prefix, &t.text);
                    if text::is_hallucination(&t.text, decoded.no_speech_prob, slot.voiced_ms) {
                        AsrEvent::Dropped { utterance, reason: format!("no words recognised ({:?})", t.text) }
                    } else {
                        if self.cfg.condition_on_previous_text {
                            self.remember(&t.text);
                        }
                        self.runs.final_after(utterance, &self.last_final);
                        if self.final_sizes.len() == FINAL_SIZES_KEPT {
                            self.final_sizes.pop_front();
                        }
                        self.final_sizes.push_back((utterance, spoken(&t.text)));
                        self.last_final.clone_from(&t.text);
                        AsrEvent::Final {
                            utterance,
                            text: t.text,
                            language: t.language,
                            start_ms: slot.start_ms,
                            end_ms: slot.end_ms,
                            end_reason: slot.reason,
                            voice: slot.voice.flatten(),
                        }
                    }
                }
                Some(Err(e)) => AsrEvent::Failed { utterance, error: e.to_string() },
                None => unreachable!("loop only removes entries that have a result"),
            };
            self.out.push(StreamOutput::Event(event));
        }
        self.emit_ready_revisions();
        self.check_lag();
    }

    /// Whether `slot` waits for (or now asked for) a second decode in the other language.
    fn try_other_language(&mut self, utterance: u64, slot: &mut PendingFinal) -> bool {
        match &slot.second {
            Some(None) => return true,
            Some(Some(_)) => return false,
            None => {}
        }
        let (Some(Ok(first)), Some(language)) = (&slot.result, identify::other(self.language)) else { return false };
        if !self.identify || !identify::doubtful(self.language, first, &self.cfg.language_check) {
            return false;
        }
        let Some((pcm, context_ms)) = slot.clip.take() else { return false };
        slot.second = Some(None);
        let mut options = DecodeOptions::new(language, Window::Utterance);
        options.context_ms = context_ms;
        options.context_margin = self.cfg.context_margin;
        options.identify = true;
        let request = DecodeRequest { utterance, priority: Priority::Final, attempt: IDENTIFY_ATTEMPT, pcm, options };
        self.out.push(StreamOutput::Decode(request));
        true
    }

    /// Keeps the last ~200 characters of final text, cut at a word boundary.
    fn remember(&mut self, text: &str) {
        const KEEP: usize = 200;
        if !self.previous_text.is_empty() && !text.is_empty() {
            self.previous_text.push(' ');
        }
        self.previous_text.push_str(text);
        let chars = self.previous_text.chars().count();
        if chars > KEEP {
            let tail: String = self.previous_text.chars().skip(chars - KEEP).collect();
            let cut = tail.find(' ').map(|i| i + 1).filter(|i| *i < tail.len()).unwrap_or(0);
            self.previous_text = tail[cut..].to_string();
        }
    }

    /// Speech heard but not yet transcribed, in ms of audio.
    fn pending_ms(&self) -> u64 {
        self.finals.values().map(|f| f.end_ms.saturating_sub(f.start_ms)).sum()
    }

    fn check_lag(&mut self) {
        let pending = self.pending_ms();
        let behind = pending > self.cfg.lag_warning_ms as u64;
        if behind && !self.lagging {
            self.out.push(StreamOutput::Event(AsrEvent::FallingBehind {
                pending_ms: pending,
                pending_finals: self.finals.len(),
            }));
        } else if !behind && self.lagging {
            self.out.push(StreamOutput::Event(AsrEvent::CaughtUp));
        }
        self.lagging = behind;
    }

    fn audio(&self, from: u64, to: u64) -> Vec<f32> {
        let from = from.max(self.history_start);
        let end = self.history_start + self.history.len() as u64;
        let to = to.min(end);
        if from >= to {
            return Vec::new();
        }
        let (a, b) = ((from - self.history_start) as usize, (to - self.history_start) as usize);
        self.history.range(a..b).copied().collect()
    }

    /// Keeps only what an utterance may still need: the open utterance, or the pre-roll, plus
    /// recent speech as left context.
    fn trim_history(&mut self) {
        let end = self.history_start + self.history.len() as u64;
        let context = samples(self.cfg.left_context_ms);
        let pre_roll = samples(self.cfg.endpoint.pre_roll_ms) + CHUNK as u64 * 8;
        let keep_from = match (&self.open, self.previous_speech) {
            (Some(open), _) => open.audio_start.saturating_sub(context),
            // Recent speech may still serve as the next utterance's context.
            (None, Some((start, speech_end))) if speech_end + context + pre_roll > end => {
                end.saturating_sub(pre_roll + context).max(start)
            }
            (None, _) => end.saturating_sub(pre_roll),
        };
        // A run of speech that is not over yet is decoded again whole.
        let keep_from = self.runs.keep_from().map_or(keep_from, |run| run.min(keep_from));
        if keep_from > self.history_start {
            let drop = ((keep_from - self.history_start) as usize).min(self.history.len());
            self.history.drain(..drop);
            self.history_start += drop as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asr::Transcript;

    /// Loud chunks are voice: lets tests script exactly where speech is.
    struct EnergyDetector;
    impl VoiceDetector for EnergyDetector {
        fn score(&mut self, chunk: &[f32; CHUNK]) -> f32 {
            if chunk.iter().map(|s| s.abs()).sum::<f32>() / CHUNK as f32 > 0.05 { 1.0 } else { 0.0 }
        }
    }

    /// Finals decoded when the hangover ends (early finals have their own tests below).
    fn recognizer(mut cfg: StreamConfig) -> StreamingRecognizer {
        cfg.endpoint.pause_ms = 0;
        cfg.analyse_voice = false;
        StreamingRecognizer::with_detector(cfg, Language::En, Box::new(EnergyDetector))
    }

    fn early_recognizer(mut cfg: StreamConfig) -> StreamingRecognizer {
        cfg.analyse_voice = false;
        StreamingRecognizer::with_detector(cfg, Language::En, Box::new(EnergyDetector))
    }

    fn attempts(out: &[StreamOutput]) -> Vec<(u64, u32)> {
        out.iter()
            .filter_map(|o| match o {
                StreamOutput::Decode(r) if r.priority != Priority::Partial => Some((r.utterance, r.attempt)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_pause_starts_the_final_early_and_a_complete_sentence_ends_the_turn() {
        let mut rec = early_recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        let mut out = rec.push(&voice(1000));
        out.extend(rec.push(&vec![0.0; samples(300) as usize]));
        assert_eq!(attempts(&out), vec![(0, 1)], "decoded after 48 ms of silence");
        let got = events(rec.on_result(0, Priority::Early, 1, Ok(decoded("Where is my order?"))));
        assert!(
            matches!(&got[..], [AsrEvent::Final { text, end_reason: EndReason::Complete, .. }] if text == "Where is my order?"),
            "{got:?}"
        );
        assert!(attempts(&rec.push(&vec![0.0; samples(600) as usize])).is_empty(), "no second decode");
    }

    #[test]
    fn an_unfinished_sentence_waits_for_the_hangover_and_reuses_the_early_decode() {
        let mut rec = early_recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        rec.push(&voice(1000));
        rec.push(&vec![0.0; samples(300) as usize]);
        assert!(events(rec.on_result(0, Priority::Early, 1, Ok(decoded("I want to")))).is_empty());
        let out = rec.push(&vec![0.0; samples(400) as usize]);
        assert!(attempts(&out).is_empty(), "the early decode was of exactly this audio");
        assert!(matches!(&events(out)[..], [AsrEvent::Final { end_reason: EndReason::Silence, .. }]));
    }

    #[test]
    fn speech_after_a_pause_makes_the_early_decode_stale() {
        let mut rec = early_recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        rec.push(&voice(1000));
        rec.push(&vec![0.0; samples(300) as usize]);
        rec.push(&voice(800));
        assert!(events(rec.on_result(0, Priority::Early, 1, Ok(decoded("Hello.")))).is_empty(), "voice came back");
        let mut out = rec.push(&vec![0.0; samples(300) as usize]);
        assert_eq!(attempts(&out), vec![(0, 2)]);
        out = rec.push(&vec![0.0; samples(400) as usize]);
        assert!(events(out).is_empty(), "waits for the second early decode");
        let got = events(rec.on_result(0, Priority::Early, 2, Ok(decoded("Hello, I need help"))));
        assert!(matches!(&got[..], [AsrEvent::Final { text, .. }] if text == "Hello, I need help"));
    }

    fn abandoned(out: &[StreamOutput]) -> Vec<(Priority, u32)> {
        out.iter()
            .filter_map(|o| match o {
                StreamOutput::Abandon { priority, attempt, .. } => Some((*priority, *attempt)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn speech_after_a_pause_abandons_the_early_decode_still_running() {
        let mut rec = early_recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        rec.push(&voice(1000));
        rec.push(&vec![0.0; samples(150) as usize]);
        let out = rec.push(&voice(500));
        assert_eq!(abandoned(&out), vec![(Priority::Early, 1)]);
        // Its result, should it still come, is ignored: the final is decoded anew.
        assert!(events(rec.on_result(0, Priority::Early, 1, Ok(decoded("Hello.")))).is_empty());
        let out = rec.push(&vec![0.0; samples(700) as usize]);
        assert_eq!(attempts(&out), vec![(0, 2)]);
    }

    #[test]
    fn an_early_decode_refused_after_its_utterance_ended_becomes_the_final() {
        let mut rec = early_recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        rec.push(&voice(1000));
        // The pause and the end of the stream come in one step: the final is the early decode,
        // asked for in that same step, before the pool could refuse it.
        let mut out = rec.push(&vec![0.0; samples(120) as usize]);
        out.extend(rec.finish());
        assert_eq!(attempts(&out), vec![(0, 1)]);
        assert_eq!(rec.early_refused(0, 1), RefusedEarly::NeededAsFinal);
        let got = events(rec.on_result(0, Priority::Final, 1, Ok(decoded("A thin stripe."))));
        assert!(matches!(&got[..], [AsrEvent::Final { text, .. }] if text == "A thin stripe."), "{got:?}");

        // Refused while the utterance is open, it may wait; once the final is decoded anew it
        // is no longer needed.
        let mut rec = early_recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        rec.push(&voice(1000));
        rec.push(&vec![0.0; samples(120) as usize]);
        assert_eq!(rec.early_refused(0, 1), RefusedEarly::Wait);
        assert_eq!(attempts(&rec.push(&vec![0.0; samples(700) as usize])), vec![(0, 0)]);
        assert_eq!(rec.early_refused(0, 1), RefusedEarly::Unneeded);
    }

    #[test]
    fn a_pause_abandons_the_partial_in_flight() {
        let mut rec = early_recognizer(StreamConfig { partial_interval_ms: 500, ..Default::default() });
        let mut out = rec.push(&voice(1000));
        out.extend(rec.push(&vec![0.0; samples(150) as usize]));
        assert_eq!(abandoned(&out), vec![(Priority::Partial, 0)], "the partial gives way to the early decode");
        assert_eq!(attempts(&out), vec![(0, 1)]);
    }

    #[test]
    fn a_complete_early_decode_waits_for_enough_silence() {
        let cfg = StreamConfig { partial_interval_ms: 0, complete_silence_ms: 300, ..Default::default() };
        let mut rec = early_recognizer(cfg);
        rec.push(&voice(1000));
        rec.push(&vec![0.0; samples(150) as usize]);
        // Back after 150 ms of silence: too soon to end the turn.
        assert!(events(rec.on_result(0, Priority::Early, 1, Ok(decoded("Where is my order?")))).is_empty());
        let got = events(rec.push(&vec![0.0; samples(100) as usize]));
        assert!(got.is_empty(), "250 ms of silence: {got:?}");
        let got = events(rec.push(&vec![0.0; samples(100) as usize]));
        assert!(matches!(&got[..], [AsrEvent::Final { end_reason: EndReason::Complete, .. }]), "{got:?}");
    }

    #[test]
    fn an_early_decode_hears_silence_for_the_tail_not_yet_received() {
        let mut rec = early_recognizer(StreamConfig { partial_interval_ms: 0, tail_ms: 200, ..Default::default() });
        rec.push(&voice(1000));
        let out = rec.push(&vec![0.0; samples(120) as usize]);
        let [StreamOutput::Decode(req)] = &out[..] else { panic!("{out:?}") };
        // Voice (chunk-rounded; no pre-roll before the stream's start) + the full 200 ms tail,
        // of which only ~100 ms had been heard.
        assert_eq!(req.pcm.len() as u64, samples(1000).next_multiple_of(CHUNK as u64) + samples(200));
        assert!(req.pcm[req.pcm.len() - samples(90) as usize..].iter().all(|s| *s == 0.0));
    }

    /// A doubtful English final waits for the multilingual model's second opinion.
    fn doubtful_final(rec: &mut StreamingRecognizer) -> DecodeRequest {
        rec.identify_languages();
        rec.push(&voice(1000));
        rec.push(&vec![0.0; samples(700) as usize]);
        let guess = Decoded { avg_logprob: -1.6, ..decoded("Thank you for watching!") };
        let out = rec.on_result(0, Priority::Final, 0, Ok(guess));
        match &out[..] {
            [StreamOutput::Decode(r)] => r.clone(),
            other => panic!("expected a second decode, got {other:?}"),
        }
    }

    #[test]
    fn a_doubtful_final_is_tried_in_the_other_language_and_kept_when_identified() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        let second = doubtful_final(&mut rec);
        assert_eq!((second.attempt, second.priority), (IDENTIFY_ATTEMPT, Priority::Final));
        assert!(second.options.identify && second.options.language == Language::Zh);
        assert!(!second.pcm.is_empty());
        let heard = Decoded { zh_share: Some(0.98), ..decoded("我想查一下订单") };
        let got = events(rec.on_result(0, Priority::Final, IDENTIFY_ATTEMPT, Ok(heard)));
        assert!(matches!(&got[..], [AsrEvent::Final { text, .. }] if text == "我想查一下订单"), "{got:?}");
    }

    #[test]
    fn a_doubtful_final_stays_when_identification_disagrees() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        doubtful_final(&mut rec);
        let heard = Decoded { zh_share: Some(0.4), ..decoded("九零二一零") };
        let got = events(rec.on_result(0, Priority::Final, IDENTIFY_ATTEMPT, Ok(heard)));
        assert!(matches!(&got[..], [AsrEvent::Final { text, .. }] if text == "Thank you for watching!"), "{got:?}");
    }

    #[test]
    fn without_an_identifier_or_doubt_finals_go_straight_out() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        rec.push(&voice(1000));
        rec.push(&vec![0.0; samples(700) as usize]);
        let guess = Decoded { avg_logprob: -1.6, ..decoded("Thank you for watching!") };
        assert!(matches!(&events(rec.on_result(0, Priority::Final, 0, Ok(guess)))[..], [AsrEvent::Final { .. }]));
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        rec.identify_languages();
        rec.push(&voice(1000));
        rec.push(&vec![0.0; samples(700) as usize]);
        assert!(matches!(
            &events(rec.on_result(0, Priority::Final, 0, Ok(decoded("Hi."))))[..],
            [AsrEvent::Final { .. }]
        ));
    }

    fn voice(ms_len: u32) -> Vec<f32> {
        vec![0.3; samples(ms_len) as usize]
    }

    fn decoded(text: &str) -> Decoded {
        Decoded {
            context_prefix: String::new(),
            avg_logprob: -0.2,
            zh_share: None,
            transcript: Transcript { text: text.into(), language: "en".into(), segments: vec![] },
            no_speech_prob: 0.0,
        }
    }

    fn requests(out: &[StreamOutput]) -> Vec<(u64, Priority, usize)> {
        out.iter()
            .filter_map(|o| match o {
                StreamOutput::Decode(r) => Some((r.utterance, r.priority, r.pcm.len())),
                _ => None,
            })
            .collect()
    }

    fn events(out: Vec<StreamOutput>) -> Vec<AsrEvent> {
        out.into_iter().filter_map(|o| if let StreamOutput::Event(e) = o { Some(e) } else { None }).collect()
    }

    #[test]
    fn finals_come_out_in_order_and_stale_partials_are_dropped() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 500, ..Default::default() });
        let mut requested = Vec::new();
        requested.extend(requests(&rec.push(&vec![0.0; 8000])));
        for _ in 0..2 {
            requested.extend(requests(&rec.push(&voice(1500))));
            requested.extend(requests(&rec.push(&vec![0.0; 16000])));
        }
        let finals: Vec<u64> = requested.iter().filter(|r| r.1 == Priority::Final).map(|r| r.0).collect();
        assert_eq!(finals, vec![0, 1]);
        // One partial in flight at a time: the first utterance asked once and waits for its answer.
        let partials: Vec<u64> = requested.iter().filter(|r| r.1 == Priority::Partial).map(|r| r.0).collect();
        assert_eq!(partials, vec![0, 1]);
        // Final audio = pre-roll (320 ms) + voice (1500 ms, chunk-rounded) + tail (200 ms).
        let final_len = requested.iter().find(|r| r.1 == Priority::Final).map(|r| r.2).unwrap_or(0);
        assert!((31_000..33_500).contains(&final_len), "{final_len}");
        // Decode the second utterance first: nothing is emitted until the first is done.
        assert!(rec.on_result(1, Priority::Final, 0, Ok(decoded("second"))).is_empty());
        let got = events(rec.on_result(0, Priority::Final, 0, Ok(decoded("first"))));
        let texts: Vec<(&str, u64, u64)> = got
            .iter()
            .filter_map(|e| match e {
                AsrEvent::Final { text, start_ms, end_ms, .. } => Some((text.as_str(), *start_ms, *end_ms)),
                _ => None,
            })
            .collect();
        assert_eq!(texts.len(), 2);
        assert_eq!(texts[0].0, "first");
        assert_eq!(texts[1].0, "second");
        // Sane timestamps: first voice at 0.5 s for 1.5 s; second 1.5 + 1.0 s later.
        assert!(texts[0].1.abs_diff(500) <= 16 && texts[0].2.abs_diff(2000) <= 32, "{texts:?}");
        assert!(texts[1].1.abs_diff(3000) <= 16 && texts[1].2.abs_diff(4500) <= 32, "{texts:?}");
        // A late partial for a finalised utterance produces nothing.
        assert!(rec.on_result(0, Priority::Partial, 0, Ok(decoded("late"))).is_empty());
    }

    #[test]
    fn an_utterance_after_a_pause_is_decoded_with_the_speech_before_it() {
        let cfg = StreamConfig { partial_interval_ms: 0, left_context_ms: 1000, ..Default::default() };
        let mut rec = recognizer(cfg);
        let mut reqs = Vec::new();
        for out in [rec.push(&vec![0.0; 32000]), rec.push(&voice(1500)), rec.push(&vec![0.0; 16000])] {
            reqs.extend(out.into_iter().filter_map(|o| if let StreamOutput::Decode(r) = o { Some(r) } else { None }));
        }
        for out in [rec.push(&voice(1500)), rec.push(&vec![0.0; 16000])] {
            reqs.extend(out.into_iter().filter_map(|o| if let StreamOutput::Decode(r) = o { Some(r) } else { None }));
        }
        // The first utterance follows silence: no context. The second gets 1 s of what came before.
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].options.context_ms, 0);
        assert_eq!(reqs[1].options.context_ms, 1000);
        assert_eq!(reqs[1].pcm.len(), reqs[0].pcm.len() + 16000);
        // Words decoded again over the context are dropped when they repeat the last final.
        rec.on_result(0, Priority::Final, 0, Ok(decoded("what can I do for you.")));
        let mut second = decoded("You, ask what you can do");
        second.context_prefix = "You,".into();
        let got = events(rec.on_result(1, Priority::Final, 0, Ok(second)));
        assert!(matches!(&got[0], AsrEvent::Final { text, .. } if text == "ask what you can do"), "{got:?}");
    }

    fn kinds(out: &[StreamOutput]) -> Vec<(u64, Priority, u32)> {
        out.iter()
            .filter_map(|o| match o {
                StreamOutput::Decode(r) => Some((r.utterance, r.priority, r.attempt)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn utterances_cut_at_a_short_pause_are_decoded_again_together_for_the_transcript() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        let mut out = Vec::new();
        for pcm in [vec![0.0; 8000], voice(1500), vec![0.0; samples(700) as usize], voice(1000), vec![0.0; 32000]] {
            out.extend(rec.push(&pcm));
        }
        let decodes: Vec<DecodeRequest> =
            out.iter().filter_map(|o| if let StreamOutput::Decode(r) = o { Some(r.clone()) } else { None }).collect();
        // Each utterance's final, then, once no more speech can join them (1 s and the
        // pre-roll after the last words), both again as one clip, for the transcript only.
        assert_eq!(kinds(&out), vec![(0, Priority::Final, 0), (1, Priority::Final, 0), (0, Priority::Revision, 1)]);
        let (first, second, both) = (&decodes[0], &decodes[1], &decodes[2]);
        assert_eq!(both.options.context_ms, first.options.context_ms, "the run's context is the first one's");
        let joined = both.pcm.len() as u64;
        assert!(joined > first.pcm.len() as u64 + samples(1000), "{joined}");
        assert!(joined <= (first.pcm.len() + second.pcm.len()) as u64 + samples(1000), "{joined}");
        // The revision waits for the finals it revises.
        assert!(
            events(rec.on_result(0, Priority::Revision, 1, Ok(decoded("our presence. It's a meeting.")))).is_empty()
        );
        let got = events(rec.on_result(0, Priority::Final, 0, Ok(decoded("Our presence."))));
        assert!(matches!(&got[..], [AsrEvent::Final { .. }]), "{got:?}");
        let got = events(rec.on_result(1, Priority::Final, 0, Ok(decoded("is a meeting."))));
        let [AsrEvent::Final { utterance: 1, .. }, AsrEvent::Revised { first: 0, last: 1, text, start_ms, end_ms }] =
            &got[..]
        else {
            panic!("{got:?}")
        };
        assert_eq!(text, "our presence. It's a meeting.");
        assert!(start_ms.abs_diff(500) <= 16 && end_ms.abs_diff(3700) <= 32, "{start_ms}..{end_ms}");
        // A lone utterance after a long pause is not decoded again, even at the stream's end.
        let mut out = rec.push(&voice(1000));
        out.extend(rec.push(&vec![0.0; 16000]));
        out.extend(rec.finish());
        assert_eq!(kinds(&out), vec![(2, Priority::Final, 0)]);
    }

    #[test]
    fn the_pieces_of_an_utterance_cut_at_the_maximum_length_are_decoded_again_together() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        let mut out = rec.push(&voice(25_000));
        out.extend(rec.push(&vec![0.0; 32000]));
        // Cut without a pause, so the run spans both pieces: one clip of at most one window.
        assert_eq!(kinds(&out), vec![(0, Priority::Final, 0), (1, Priority::Final, 0), (0, Priority::Revision, 1)]);
        let clips: Vec<usize> =
            out.iter().filter_map(|o| if let StreamOutput::Decode(r) = o { Some(r.pcm.len()) } else { None }).collect();
        assert!(clips[2] >= clips[0] + clips[1] - samples(2000) as usize, "{clips:?}");
        assert!(clips[2] as u64 <= samples(WHISPER_WINDOW_MS), "{clips:?}");
    }

    #[test]
    fn a_run_never_outgrows_whisper_s_window() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        let mut out = rec.push(&voice(70_000));
        out.extend(rec.finish());
        let revisions: Vec<usize> = out
            .iter()
            .filter_map(|o| match o {
                StreamOutput::Decode(r) if r.priority == Priority::Revision => Some(r.pcm.len()),
                _ => None,
            })
            .collect();
        assert!(!revisions.is_empty());
        assert!(revisions.iter().all(|n| *n as u64 <= samples(WHISPER_WINDOW_MS)), "{revisions:?}");
    }

    #[test]
    fn a_run_grows_while_the_pauses_are_short_and_is_decoded_again_once() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        let mut out = Vec::new();
        for _ in 0..3 {
            out.extend(rec.push(&voice(800)));
            out.extend(rec.push(&vec![0.0; samples(700) as usize]));
        }
        out.extend(rec.finish());
        let revisions: Vec<(u64, u32)> =
            kinds(&out).into_iter().filter(|k| k.1 == Priority::Revision).map(|k| (k.0, k.2)).collect();
        assert_eq!(revisions, vec![(0, 2)], "one decode of utterances 0-2, at the stream's end");
        for id in 0..3 {
            rec.on_result(id, Priority::Final, 0, Ok(decoded("words")));
        }
        let got = events(rec.on_result(0, Priority::Revision, 2, Ok(decoded("words, words words."))));
        assert!(matches!(&got[..], [AsrEvent::Revised { first: 0, last: 2, .. }]), "{got:?}");
    }

    #[test]
    fn a_revision_the_pool_will_not_run_is_forgotten_and_the_finals_stand() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        for pcm in [voice(800), vec![0.0; samples(700) as usize], voice(800)] {
            rec.push(&pcm);
        }
        assert_eq!(kinds(&rec.finish()).last(), Some(&(0, Priority::Revision, 1)));
        rec.revision_refused(0);
        assert!(rec.revisions.is_empty());
        rec.on_result(0, Priority::Final, 0, Ok(decoded("Our presence.")));
        let got = events(rec.on_result(1, Priority::Final, 0, Ok(decoded("is a meeting."))));
        assert!(matches!(&got[..], [AsrEvent::Final { utterance: 1, .. }]), "{got:?}");
    }

    #[test]
    fn a_revision_that_skips_speech_the_finals_heard_is_refused() {
        for revised in ["1, 2, 3.", "one two three, zero one eight zero three, we are gathered here again today"] {
            let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
            for pcm in [voice(800), vec![0.0; samples(700) as usize], voice(800)] {
                rec.push(&pcm);
            }
            let out = rec.finish();
            assert_eq!(kinds(&out).last(), Some(&(0, Priority::Revision, 1)));
            rec.on_result(0, Priority::Final, 0, Ok(decoded("0 1 8 0 3, 2, 3.")));
            rec.on_result(1, Priority::Final, 0, Ok(decoded("We are.")));
            let got = events(rec.on_result(0, Priority::Revision, 1, Ok(decoded(revised))));
            assert!(got.is_empty(), "{revised:?}: {got:?}");
        }
    }

    #[test]
    fn invented_text_and_failures_become_events_not_finals() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, ..Default::default() });
        rec.push(&voice(400));
        rec.push(&vec![0.0; 16000]);
        rec.push(&voice(2000));
        rec.push(&vec![0.0; 16000]);
        let mut junk = decoded("Thank you.");
        junk.no_speech_prob = 0.9;
        let got = events(rec.on_result(0, Priority::Final, 0, Ok(junk)));
        assert!(matches!(got[0], AsrEvent::Dropped { utterance: 0, .. }), "{got:?}");
        let got = events(rec.on_result(1, Priority::Final, 0, Err(AsrError::Whisper("boom".into()))));
        assert!(matches!(&got[0], AsrEvent::Failed { utterance: 1, error } if error.contains("boom")), "{got:?}");
    }

    #[test]
    fn undecoded_speech_beyond_the_limit_raises_falling_behind() {
        let mut rec = recognizer(StreamConfig { partial_interval_ms: 0, lag_warning_ms: 3500, ..Default::default() });
        let mut all = Vec::new();
        for _ in 0..3 {
            all.extend(events(rec.push(&voice(1500))));
            all.extend(events(rec.push(&vec![0.0; 16000])));
        }
        assert!(all.iter().any(|e| matches!(e, AsrEvent::FallingBehind { pending_finals: 3, .. })), "{all:?}");
        let mut after = Vec::new();
        for id in 0..3 {
            after.extend(events(rec.on_result(id, Priority::Final, 0, Ok(decoded("words")))));
        }
        assert!(after.contains(&AsrEvent::CaughtUp), "{after:?}");
    }

    #[test]
    fn silence_produces_no_requests_and_bounded_memory() {
        let mut rec = recognizer(StreamConfig::default());
        for _ in 0..500 {
            assert!(rec.push(&vec![0.0; 320]).is_empty());
        }
        assert!(rec.history.len() < SAMPLE_RATE as usize);
        assert!(rec.finish().is_empty());
        assert_eq!(rec.position_ms(), 10_000);
    }
}
