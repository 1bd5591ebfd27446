//! Live and recent calls, as the API and dashboards see them, built from the call event
//! stream. Every event goes through [`Calls::record`]: it updates the call's view, goes to
//! live subscribers (a lagging subscriber loses events, the call never waits for it) and to
//! the store's writer (which never loses one) and to the metrics.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

use super::event::{CallEvent, CallEventRecord, Channel, Speaker, StopReason, TranscriptLine, UtteranceEmotion};
use crate::dialplan::Action;
use crate::emotion::CurvePoint;
use crate::lang::Lang;
use crate::rtp::rtcp::MediaQuality;

/// Ended calls kept in memory for the API; older ones are only in the store.
const RECENT_ENDED: usize = 500;
const LIVE_BUFFER: usize = 4096;

#[derive(Debug, Clone)]
pub struct CallInfo {
    pub id: String,
    pub channel: Channel,
    pub caller: String,
    pub callee: String,
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    /// Talking with the bot.
    Active,
    /// Transferred, waiting for a human.
    Queued,
    Ended,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallSummary {
    pub id: String,
    pub channel: Channel,
    pub caller: String,
    pub callee: String,
    pub state: CallStatus,
    pub lang: Lang,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub end_reason: Option<String>,
}

/// One bot decision: the intent it heard, what it did, and the rule that said so.
#[derive(Debug, Clone, Serialize)]
pub struct TurnView {
    pub turn: u64,
    pub at_ms: u64,
    pub intent: String,
    pub confidence: f32,
    pub action: Action,
    pub rule: Option<String>,
    pub reason: String,
    pub say: String,
    pub queue: Option<String>,
    pub priority: Option<u8>,
    /// The dialplan tone that shaped the wording (the caller sounded upset or anxious).
    pub tone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallDetail {
    #[serde(flatten)]
    pub summary: CallSummary,
    pub transcript: Vec<TranscriptLine>,
    pub turns: Vec<TurnView>,
    /// Per-utterance emotion scores of the caller, oldest first.
    pub emotion: Vec<UtteranceEmotion>,
    /// The smoothed emotion curve (one point per scored utterance).
    pub emotion_curve: Vec<CurvePoint>,
    pub dtmf: String,
    /// Times the caller spoke over the bot and stopped it.
    pub barge_ins: u32,
    /// The latest media-quality figures; null until the first (a few seconds into the call).
    pub media: Option<MediaQuality>,
    pub events: u64,
}

/// What the store's writer is given.
#[derive(Debug)]
pub enum StoreMsg {
    Event(Arc<CallEventRecord>),
    /// The call ended: its final view, to keep after it leaves memory.
    Ended(Box<CallDetail>),
    /// Commit everything before this and stop (server shutdown).
    Shutdown,
}

struct CallView {
    detail: CallDetail,
    next_seq: u64,
    /// Its transcription is behind real time (for the `callbot_asr_calls_behind` gauge).
    asr_behind: bool,
}

#[derive(Default)]
struct Inner {
    calls: HashMap<String, CallView>,
    ended: VecDeque<String>,
}

pub struct Calls {
    inner: Mutex<Inner>,
    live: broadcast::Sender<Arc<CallEventRecord>>,
    store: Option<std::sync::mpsc::Sender<StoreMsg>>,
}

impl Calls {
    pub fn new(store: Option<std::sync::mpsc::Sender<StoreMsg>>) -> Self {
        Self { inner: Mutex::default(), live: broadcast::channel(LIVE_BUFFER).0, store }
    }

    /// Every call's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CallEventRecord>> {
        self.live.subscribe()
    }

    /// A new call: its view, and its first event (`started`).
    pub fn begin(&self, info: &CallInfo, started_at: DateTime<Utc>) {
        let summary = CallSummary {
            id: info.id.clone(),
            channel: info.channel,
            caller: info.caller.clone(),
            callee: info.callee.clone(),
            state: CallStatus::Active,
            lang: info.lang,
            started_at,
            duration_ms: 0,
            end_reason: None,
        };
        let detail = CallDetail {
            summary,
            transcript: Vec::new(),
            emotion: Vec::new(),
            emotion_curve: Vec::new(),
            turns: Vec::new(),
            dtmf: String::new(),
            barge_ins: 0,
            media: None,
            events: 0,
        };
        self.lock().calls.insert(info.id.clone(), CallView { detail, next_seq: 0, asr_behind: false });
        let started = CallEvent::Started {
            channel: info.channel,
            caller: info.caller.clone(),
            callee: info.callee.clone(),
            lang: info.lang,
            started_at,
        };
        self.record(&info.id, 0, started);
    }

    /// Adds one event of a call begun with [`begin`](Self::begin).
    pub fn record(&self, call_id: &str, at_ms: u64, event: CallEvent) {
        let mut inner = self.lock();
        let Some(view) = inner.calls.get_mut(call_id) else {
            tracing::warn!(call = call_id, "event for an unknown call dropped");
            return;
        };
        let record = Arc::new(CallEventRecord { call_id: call_id.to_string(), seq: view.next_seq, at_ms, event });
        view.next_seq += 1;
        apply(&mut view.detail, at_ms, &record.event);
        view.asr_behind = crate::metrics::observe(&record.event, view.asr_behind);
        let ended = matches!(record.event, CallEvent::Ended { .. }).then(|| view.detail.clone());
        if let Some(store) = &self.store {
            let _ = store.send(StoreMsg::Event(Arc::clone(&record)));
            if let Some(detail) = &ended {
                let _ = store.send(StoreMsg::Ended(Box::new(detail.clone())));
            }
        }
        let _ = self.live.send(record);
        if ended.is_some() {
            inner.ended.push_back(call_id.to_string());
            while inner.ended.len() > RECENT_ENDED {
                if let Some(old) = inner.ended.pop_front() {
                    inner.calls.remove(&old);
                }
            }
        }
    }

    /// Live calls first, then recent ones; newest first within each.
    pub fn list(&self) -> Vec<CallSummary> {
        let mut all: Vec<CallSummary> = self.lock().calls.values().map(|v| v.detail.summary.clone()).collect();
        all.sort_by_key(|s| (s.state == CallStatus::Ended, std::cmp::Reverse(s.started_at)));
        all
    }

    pub fn get(&self, id: &str) -> Option<CallDetail> {
        self.lock().calls.get(id).map(|v| v.detail.clone())
    }

    pub fn live_count(&self) -> usize {
        self.lock().calls.values().filter(|v| v.detail.summary.state != CallStatus::Ended).count()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain data behind, still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Updates a call's view with one event.
fn apply(d: &mut CallDetail, at_ms: u64, event: &CallEvent) {
    d.events += 1;
    d.summary.duration_ms = d.summary.duration_ms.max(at_ms);
    match event {
        CallEvent::Transcript(line) if line.speaker == Speaker::Bot => {
            d.transcript.push(TranscriptLine { start_ms: at_ms, end_ms: at_ms, ..line.clone() });
        }
        CallEvent::Transcript(line) => {
            // A caller's partial is replaced by the next partial or the final of its utterance.
            let same = |l: &TranscriptLine| l.speaker == line.speaker && l.seq == line.seq && !l.is_final;
            match d.transcript.iter().rposition(same) {
                Some(i) => d.transcript[i] = line.clone(),
                None => d.transcript.push(line.clone()),
            }
        }
        CallEvent::TranscriptRevised { utterances: [first, last], line } => {
            let revised = |l: &TranscriptLine| l.speaker == Speaker::Caller && (*first..=*last).contains(&l.seq);
            let at = d.transcript.iter().position(revised).unwrap_or(d.transcript.len());
            d.transcript.retain(|l| !revised(l));
            d.transcript.insert(at, line.clone());
        }
        CallEvent::PlaybackStarted { turn } => {
            if let Some(l) = bot_line(d, *turn) {
                l.start_ms = at_ms;
                l.end_ms = at_ms;
            }
        }
        CallEvent::PlaybackStopped { turn, reason } => {
            if let Some(l) = bot_line(d, *turn) {
                l.end_ms = at_ms;
            }
            if *reason == StopReason::BargeIn {
                d.barge_ins += 1;
            }
        }
        CallEvent::Decision { turn, decision } => d.turns.push(TurnView {
            turn: *turn,
            at_ms,
            intent: decision.intent.clone(),
            confidence: decision.confidence,
            action: decision.action,
            rule: decision.rule.clone(),
            reason: decision.reason.clone(),
            say: decision.say.clone(),
            queue: decision.queue.clone(),
            priority: decision.priority,
            tone: decision.tone.clone(),
        }),
        CallEvent::Emotion(e) => {
            d.emotion_curve.push(e.curve);
            d.emotion.push(e.clone());
        }
        CallEvent::Dtmf { digit } => d.dtmf.push(*digit),
        CallEvent::LanguageChanged { lang } => d.summary.lang = *lang,
        CallEvent::MediaStats(quality) => d.media = Some(quality.clone()),
        CallEvent::TransferRequested { .. } => d.summary.state = CallStatus::Queued,
        CallEvent::Ended { reason } => {
            d.summary.state = CallStatus::Ended;
            d.summary.end_reason = Some(reason.clone());
        }
        _ => {}
    }
}

fn bot_line(d: &mut CallDetail, turn: u64) -> Option<&mut TranscriptLine> {
    d.transcript.iter_mut().rev().find(|l| l.speaker == Speaker::Bot && l.seq == turn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> CallInfo {
        CallInfo { id: id.into(), channel: Channel::Sip, caller: "alice".into(), callee: "shop".into(), lang: Lang::En }
    }

    fn caller(text: &str, seq: u64, is_final: bool) -> CallEvent {
        CallEvent::Transcript(TranscriptLine {
            speaker: Speaker::Caller,
            text: text.into(),
            start_ms: 100,
            end_ms: 900,
            is_final,
            seq,
        })
    }

    #[test]
    fn partials_are_replaced_by_their_final_and_events_are_numbered() {
        let calls = Calls::new(None);
        let mut live = calls.subscribe();
        calls.begin(&info("c1"), Utc::now());
        calls.record("c1", 500, caller("where is", 0, false));
        calls.record("c1", 900, caller("where is my", 0, false));
        calls.record("c1", 1200, caller("where is my order", 0, true));
        let d = calls.get("c1").expect("known call");
        assert_eq!(d.transcript.len(), 1);
        assert!(d.transcript[0].is_final && d.transcript[0].text == "where is my order");
        let seqs: Vec<u64> = (0..4).map(|_| live.try_recv().expect("broadcast").seq).collect();
        assert_eq!(seqs, vec![0, 1, 2, 3], "started, then three transcript events");
    }

    #[test]
    fn a_revision_replaces_the_caller_lines_it_covers() {
        let calls = Calls::new(None);
        calls.begin(&info("c1"), Utc::now());
        calls.record("c1", 1200, caller("our presence.", 0, true));
        let bot = TranscriptLine {
            speaker: Speaker::Bot,
            text: "Sorry?".into(),
            start_ms: 0,
            end_ms: 0,
            is_final: true,
            seq: 1,
        };
        calls.record("c1", 1300, CallEvent::Transcript(bot));
        calls.record("c1", 2500, caller("is a meeting.", 1, true));
        calls.record("c1", 4000, caller("where is my order", 2, false));
        let line = text_line("our presence. It's a meeting.");
        calls.record("c1", 4100, CallEvent::TranscriptRevised { utterances: [0, 1], line });
        let d = calls.get("c1").expect("known call");
        let texts: Vec<&str> = d.transcript.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["our presence. It's a meeting.", "Sorry?", "where is my order"]);
    }

    fn text_line(text: &str) -> TranscriptLine {
        let CallEvent::Transcript(line) = caller(text, 0, true) else { unreachable!() };
        line
    }

    #[test]
    fn bot_lines_take_their_times_from_playback() {
        let calls = Calls::new(None);
        calls.begin(&info("c1"), Utc::now());
        let line = TranscriptLine {
            speaker: Speaker::Bot,
            text: "Hello".into(),
            start_ms: 0,
            end_ms: 0,
            is_final: true,
            seq: 0,
        };
        calls.record("c1", 10, CallEvent::Transcript(line));
        calls.record("c1", 30, CallEvent::PlaybackStarted { turn: 0 });
        calls.record("c1", 2400, CallEvent::PlaybackStopped { turn: 0, reason: StopReason::Finished });
        let d = calls.get("c1").expect("known call");
        assert_eq!((d.transcript[0].start_ms, d.transcript[0].end_ms), (30, 2400));
    }

    #[test]
    fn ended_calls_go_to_the_store_with_their_final_view() {
        let (tx, rx) = std::sync::mpsc::channel();
        let calls = Calls::new(Some(tx));
        calls.begin(&info("c1"), Utc::now());
        calls.record("c1", 100, CallEvent::Ended { reason: "BYE".into() });
        let msgs: Vec<StoreMsg> = rx.try_iter().collect();
        assert!(matches!(&msgs[0], StoreMsg::Event(e) if matches!(e.event, CallEvent::Started { .. })));
        assert!(matches!(msgs[1], StoreMsg::Event(_)));
        assert!(matches!(&msgs[2], StoreMsg::Ended(d) if d.summary.state == CallStatus::Ended));
        assert_eq!(calls.live_count(), 0);
        assert_eq!(calls.list().len(), 1, "still listed as a recent call");
    }
}
