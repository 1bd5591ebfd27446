//! The one vocabulary of what happens in a call. Every observer (the call store, the API and
//! its live event streams, dashboards, metrics) reads the same `CallEvent`s, in order.

use serde::Serialize;

use crate::dialog::BotTurn;
use crate::emotion::{CurvePoint, EmotionScore};
use crate::lang::Lang;
use crate::rtp::rtcp::MediaQuality;

/// How the caller reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sip,
    Webrtc,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sip => "sip",
            Channel::Webrtc => "webrtc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Caller,
    Bot,
    Agent,
}

/// One line of the transcript. A caller's line is first partial (`final: false`, replaced by
/// later partials of the same utterance) and then final.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TranscriptLine {
    pub speaker: Speaker,
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The caller's utterance number or the bot's turn number.
    pub seq: u64,
}

/// How the caller sounded in one utterance, and where that puts the call's curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UtteranceEmotion {
    pub utterance: u64,
    pub start_ms: u64,
    pub end_ms: u64,
    #[serde(flatten)]
    pub score: EmotionScore,
    /// The call's smoothed curve after this utterance.
    pub curve: CurvePoint,
}

/// Why the bot's playback stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    Finished,
    BargeIn,
    Hangup,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallEvent {
    Started {
        channel: Channel,
        caller: String,
        callee: String,
        lang: Lang,
        started_at: chrono::DateTime<chrono::Utc>,
    },
    SpeechStarted {
        utterance: u64,
    },
    Transcript(TranscriptLine),
    /// The caller's utterances `utterances[0]..=utterances[1]` (one run of speech the turn-taking
    /// cut at short pauses) decoded again together: `line` replaces their final lines. What the
    /// bot decided on them stands.
    TranscriptRevised {
        utterances: [u64; 2],
        line: TranscriptLine,
    },
    /// The caller's emotion in a final utterance (before the bot's decision on it).
    Emotion(UtteranceEmotion),
    /// What the bot decided, with the rule that decided it.
    Decision {
        turn: u64,
        decision: Box<BotTurn>,
    },
    PlaybackStarted {
        turn: u64,
    },
    /// The caller began speaking over the bot: playback holds until we know whether it was
    /// a real interruption or a backchannel.
    PlaybackPaused {
        turn: u64,
    },
    PlaybackResumed {
        turn: u64,
    },
    PlaybackStopped {
        turn: u64,
        reason: StopReason,
    },
    Dtmf {
        digit: char,
    },
    LanguageChanged {
        lang: Lang,
    },
    /// The bot hands the call to a human queue.
    TransferRequested {
        queue: String,
        priority: u8,
        reason: String,
        rule: Option<String>,
    },
    /// Transcription of this call is behind real time (the decoder pool is saturated).
    AsrFallingBehind {
        pending_ms: u64,
    },
    AsrCaughtUp,
    /// The call's media quality (RTP received, loss, jitter, the caller's RTCP reports about
    /// ours), at each RTCP report time and once more at the end.
    MediaStats(MediaQuality),
    /// Something failed inside this call; the call carries on if it can.
    Error {
        what: String,
    },
    Ended {
        reason: String,
    },
}

/// A call event with where and when it happened; `seq` counts from 0 within the call and
/// `at_ms` is milliseconds since the call started.
#[derive(Debug, Clone, Serialize)]
pub struct CallEventRecord {
    pub call_id: String,
    pub seq: u64,
    pub at_ms: u64,
    #[serde(flatten)]
    pub event: CallEvent,
}
