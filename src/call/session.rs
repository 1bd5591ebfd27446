//! The call session: one call's turn-taking, barge-in, keypad and dialog decisions.
//!
//! Sans-IO. Consumes [`Input`]s (speech events from the recogniser, keypad digits, playback
//! progress, hang-ups) with the time in call milliseconds; emits [`Output`]s: commands for the
//! driver (say this, pause/resume/stop playback, switch language, hang up) and [`CallEvent`]s
//! for observers. Timers are deadlines the driver asks about with [`CallSession::next_deadline`].
//!
//! Barge-in: when the caller starts speaking over the bot, playback pauses at once. If what
//! they said turns out to be a backchannel ("uh-huh", "嗯") or no words at all, playback
//! resumes where it paused; anything else stops it and is answered.

use std::sync::Arc;

use chrono::NaiveDate;

use super::event::{CallEvent, Speaker, StopReason, TranscriptLine, UtteranceEmotion};
use crate::asr::stream::AsrEvent;
use crate::dialog::{BotTurn, Brain, Conversation};
use crate::dialplan::{Action, DtmfAction};
use crate::emotion::score::{Feeling, score};
use crate::emotion::{EmotionScore, EmotionTracker, lexical};
use crate::lang::Lang;
use crate::orders::OrderStore;

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// A menu key pressed alone acts after this long without another key.
    pub menu_key_wait_ms: u64,
    /// Digits typed in a row (an order number) end after this pause, or with `#`.
    pub interdigit_ms: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { menu_key_wait_ms: 1200, interdigit_ms: 3000 }
    }
}

#[derive(Debug, Clone)]
pub enum Input {
    Asr(AsrEvent),
    Dtmf(char),
    /// The first audio of this turn went out.
    PlaybackStarted {
        turn: u64,
    },
    /// All audio of this turn went out.
    PlaybackFinished {
        turn: u64,
    },
    /// The other side ended the call (BYE, closed connection, dead media).
    Hangup {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub enum Output {
    Say {
        turn: u64,
        text: String,
        lang: Lang,
    },
    PausePlayback,
    ResumePlayback,
    /// Drop whatever of the current turn is still unplayed.
    StopPlayback,
    /// Recognise and speak this language from now on.
    SetLanguage(Lang),
    /// End the call from our side.
    Hangup {
        reason: String,
    },
    Event(CallEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Talking with the bot.
    Bot,
    /// Transferred: waiting for a human.
    Queued,
    /// Hung up (by either side): what the caller said last is still being transcribed, but
    /// nothing more is answered. [`CallSession::close`] ends it.
    Ending,
    Ended,
}

#[derive(Debug)]
struct Playing {
    turn: u64,
    /// Paused by the caller's speech: the utterance that may be a barge-in.
    paused_by: Option<u64>,
}

/// What to do once the current turn has been played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    Queue,
    Hangup,
}

pub struct CallSession {
    cfg: SessionConfig,
    brain: Arc<Brain>,
    store: Arc<dyn OrderStore>,
    conversation: Conversation,
    /// The caller's voice baseline and emotion curve.
    emotion: EmotionTracker,
    /// The language the recogniser and the voice are set to.
    spoken: Lang,
    state: CallState,
    next_turn: u64,
    playing: Option<Playing>,
    after: After,
    digits: String,
    digits_deadline: Option<u64>,
    end_reason: String,
    out: Vec<Output>,
}

impl CallSession {
    pub fn new(
        cfg: SessionConfig,
        brain: Arc<Brain>,
        store: Arc<dyn OrderStore>,
        lang: Lang,
        today: NaiveDate,
    ) -> Self {
        let conversation = Conversation::new(Arc::clone(&brain), lang, today);
        let emotion = EmotionTracker::new(Arc::clone(&brain.emotion));
        Self {
            cfg,
            brain,
            store,
            conversation,
            emotion,
            spoken: lang,
            state: CallState::Bot,
            next_turn: 0,
            playing: None,
            after: After::Nothing,
            digits: String::new(),
            digits_deadline: None,
            end_reason: String::new(),
            out: Vec::new(),
        }
    }

    pub fn state(&self) -> CallState {
        self.state
    }

    pub fn lang(&self) -> Lang {
        self.conversation.lang()
    }

    /// The call is answered: the bot greets the caller.
    pub fn start(&mut self) -> Vec<Output> {
        let greeting = self.conversation.greeting();
        self.speak(greeting);
        self.drain()
    }

    /// When [`handle_timeout`](Self::handle_timeout) has work to do.
    pub fn next_deadline(&self) -> Option<u64> {
        self.digits_deadline
    }

    pub fn handle_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        if self.digits_deadline.is_some_and(|d| d <= now_ms) {
            self.digits_deadline = None;
            self.submit_digits();
        }
        self.drain()
    }

    pub fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Output> {
        match (self.state, &input) {
            (CallState::Ended, _) => return Vec::new(),
            (CallState::Ending, Input::Asr(_)) => {}
            (CallState::Ending, _) => return Vec::new(),
            _ => {}
        }
        match input {
            Input::Asr(event) => self.on_asr(event),
            Input::Dtmf(digit) => self.on_dtmf(now_ms, digit),
            Input::PlaybackStarted { turn } => self.event(CallEvent::PlaybackStarted { turn }),
            Input::PlaybackFinished { turn } => self.on_played(turn),
            Input::Hangup { reason } => self.end(reason, false),
        }
        self.drain()
    }

    fn on_asr(&mut self, event: AsrEvent) {
        match event {
            AsrEvent::SpeechStarted { utterance, .. } => {
                self.event(CallEvent::SpeechStarted { utterance });
                if let Some(p) = self.playing.as_mut().filter(|p| p.paused_by.is_none()) {
                    p.paused_by = Some(utterance);
                    let turn = p.turn;
                    self.out.push(Output::PausePlayback);
                    self.event(CallEvent::PlaybackPaused { turn });
                }
            }
            AsrEvent::Partial { utterance, text, start_ms, end_ms } => {
                let line = TranscriptLine {
                    speaker: Speaker::Caller,
                    text: text.clone(),
                    start_ms,
                    end_ms,
                    is_final: false,
                    seq: utterance,
                };
                self.event(CallEvent::Transcript(line));
                if self.paused_by(utterance) && !self.brain.plan.is_backchannel(&text) {
                    self.stop_playback(StopReason::BargeIn);
                }
            }
            AsrEvent::Final { utterance, text, start_ms, end_ms, voice, .. } => {
                let line = TranscriptLine {
                    speaker: Speaker::Caller,
                    text: text.clone(),
                    start_ms,
                    end_ms,
                    is_final: true,
                    seq: utterance,
                };
                self.event(CallEvent::Transcript(line));
                let listening = self.playing.is_some() && self.brain.plan.is_backchannel(&text);
                if listening {
                    self.resume_if_paused_by(utterance);
                } else {
                    if self.playing.is_some() {
                        self.stop_playback(StopReason::BargeIn);
                    }
                    let feeling = Feeling::Voice(self.emotion.voice(voice.as_ref()));
                    self.heard(&text, feeling, (utterance, start_ms, end_ms));
                }
            }
            AsrEvent::Revised { first, last, text, start_ms, end_ms } => {
                let line =
                    TranscriptLine { speaker: Speaker::Caller, text, start_ms, end_ms, is_final: true, seq: first };
                self.event(CallEvent::TranscriptRevised { utterances: [first, last], line });
            }
            AsrEvent::Dropped { utterance, .. } => self.resume_if_paused_by(utterance),
            AsrEvent::Failed { utterance, error } => {
                self.event(CallEvent::Error { what: format!("speech recognition failed: {error}") });
                self.resume_if_paused_by(utterance);
            }
            AsrEvent::FallingBehind { pending_ms, .. } => self.event(CallEvent::AsrFallingBehind { pending_ms }),
            AsrEvent::CaughtUp => self.event(CallEvent::AsrCaughtUp),
        }
    }

    fn on_dtmf(&mut self, now_ms: u64, digit: char) {
        self.event(CallEvent::Dtmf { digit });
        if self.playing.is_some() {
            self.stop_playback(StopReason::BargeIn);
        }
        if digit == '#' {
            self.digits_deadline = None;
            return self.submit_digits();
        }
        self.digits.push(digit);
        let alone = self.digits.len() == 1 && self.brain.plan.dtmf.contains_key(&digit);
        let wait = if alone { self.cfg.menu_key_wait_ms } else { self.cfg.interdigit_ms };
        self.digits_deadline = Some(now_ms + wait);
    }

    fn submit_digits(&mut self) {
        let digits = std::mem::take(&mut self.digits);
        let mut keys = digits.chars();
        let menu = match (keys.next(), keys.next()) {
            (Some(key), None) => self.brain.plan.dtmf.get(&key).cloned(),
            _ => None,
        };
        match menu {
            Some(DtmfAction::Lang(lang)) => {
                self.conversation.set_lang(lang);
                self.set_language(lang);
                let greeting = self.conversation.greeting();
                self.speak(greeting);
            }
            Some(DtmfAction::Intent(intent)) if self.state == CallState::Bot => {
                let turn = self.conversation.reply_intent(&intent, self.store.as_ref());
                self.decided(turn);
            }
            _ if !digits.is_empty() => self.answer(&digits),
            _ => {}
        }
    }

    /// The caller said `text` (utterance, start, end), sounding `feeling`: scored, and
    /// answered while the bot still has the call.
    fn heard(&mut self, text: &str, feeling: Feeling, (utterance, start_ms, end_ms): (u64, u64, u64)) {
        if self.state == CallState::Bot && !text.trim().is_empty() {
            let turn = self.conversation.hear(text, feeling, self.store.as_ref());
            if let Some(s) = &turn.emotion {
                self.emotion_event(utterance, start_ms, end_ms, s.clone());
            }
            self.decided(turn);
        } else {
            // Waiting for a human (or hanging up): the curve goes on for the agent to see.
            let s = score(feeling, &lexical::cues(text, self.conversation.lang()), 0);
            self.emotion_event(utterance, start_ms, end_ms, s);
        }
    }

    fn emotion_event(&mut self, utterance: u64, start_ms: u64, end_ms: u64, score: EmotionScore) {
        let curve = self.emotion.record(end_ms, &score);
        self.event(CallEvent::Emotion(UtteranceEmotion { utterance, start_ms, end_ms, score, curve }));
    }

    /// The caller typed or keyed `text`: the dialog decides what the bot does.
    fn answer(&mut self, text: &str) {
        if self.state != CallState::Bot || text.trim().is_empty() {
            return;
        }
        let turn = self.conversation.reply(text, self.store.as_ref());
        self.decided(turn);
    }

    fn decided(&mut self, turn: BotTurn) {
        self.set_language(turn.lang);
        match turn.action {
            Action::Transfer => {
                self.after = After::Queue;
                let (queue, priority) = (turn.queue.clone().unwrap_or_default(), turn.priority.unwrap_or(5));
                let (reason, rule) = (turn.reason.clone(), turn.rule.clone());
                self.event(CallEvent::TransferRequested { queue, priority, reason, rule });
            }
            Action::Hangup => self.after = After::Hangup,
            Action::Answer | Action::Ask => {}
        }
        self.speak(turn);
    }

    /// Tells the driver to recognise and speak `lang`, if it does not already.
    fn set_language(&mut self, lang: Lang) {
        if lang != self.spoken {
            self.spoken = lang;
            self.out.push(Output::SetLanguage(lang));
            self.event(CallEvent::LanguageChanged { lang });
        }
    }

    fn speak(&mut self, turn: BotTurn) {
        let id = self.next_turn;
        self.next_turn += 1;
        let say = turn.say.clone();
        let lang = turn.lang;
        self.event(CallEvent::Decision { turn: id, decision: Box::new(turn) });
        if say.trim().is_empty() {
            return self.on_played(id);
        }
        let line = TranscriptLine {
            speaker: Speaker::Bot,
            text: say.clone(),
            start_ms: 0,
            end_ms: 0,
            is_final: true,
            seq: id,
        };
        self.event(CallEvent::Transcript(line));
        self.playing = Some(Playing { turn: id, paused_by: None });
        self.out.push(Output::Say { turn: id, text: say, lang });
    }

    fn on_played(&mut self, turn: u64) {
        if self.playing.as_ref().is_some_and(|p| p.turn == turn) {
            self.playing = None;
            self.event(CallEvent::PlaybackStopped { turn, reason: StopReason::Finished });
        }
        if self.playing.is_none() {
            self.after_playback();
        }
    }

    fn after_playback(&mut self) {
        match std::mem::replace(&mut self.after, After::Nothing) {
            After::Nothing => {}
            After::Queue => self.state = CallState::Queued,
            After::Hangup => self.end("the bot ended the call".into(), true),
        }
    }

    fn paused_by(&self, utterance: u64) -> bool {
        self.playing.as_ref().is_some_and(|p| p.paused_by == Some(utterance))
    }

    fn resume_if_paused_by(&mut self, utterance: u64) {
        if let Some(p) = self.playing.as_mut().filter(|p| p.paused_by == Some(utterance)) {
            p.paused_by = None;
            let turn = p.turn;
            self.out.push(Output::ResumePlayback);
            self.event(CallEvent::PlaybackResumed { turn });
        }
    }

    fn stop_playback(&mut self, reason: StopReason) {
        if let Some(p) = self.playing.take() {
            self.out.push(Output::StopPlayback);
            self.event(CallEvent::PlaybackStopped { turn: p.turn, reason });
            // An interrupted transfer or goodbye still happens: the caller heard enough.
            self.after_playback();
        }
    }

    fn end(&mut self, reason: String, ours: bool) {
        if matches!(self.state, CallState::Ending | CallState::Ended) {
            return;
        }
        if self.playing.is_some() {
            self.stop_playback(StopReason::Hangup);
        }
        self.state = CallState::Ending;
        self.digits_deadline = None;
        if ours {
            self.out.push(Output::Hangup { reason: reason.clone() });
        }
        self.end_reason = reason;
    }

    /// The call is over and its last words transcribed (or given up on): the `ended` event.
    pub fn close(&mut self) -> Vec<Output> {
        if self.state != CallState::Ended {
            self.end("closed".into(), false);
            self.state = CallState::Ended;
            let reason = std::mem::take(&mut self.end_reason);
            self.event(CallEvent::Ended { reason });
        }
        self.drain()
    }

    fn event(&mut self, event: CallEvent) {
        self.out.push(Output::Event(event));
    }

    fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests;
