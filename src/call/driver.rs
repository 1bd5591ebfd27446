//! The async driver of one call: owns its media link, its recogniser session and its speech
//! synthesis, feeds the sans-IO [`CallSession`] and [`MediaPipeline`], and carries out their
//! commands. Every 20 ms it moves one frame each way. Nothing here decides anything.
//!
//! A failure here ends or degrades this call only: errors become `error` events.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, MissedTickBehavior};

use super::CallEvent;
use super::pipeline::{MediaFormat, MediaPipeline, PlaybackEvent, Received, Tick};
use super::registry::{CallInfo, Calls};
use super::routes::Routes;
use super::session::{CallSession, Input, Output, SessionConfig};
use crate::asr::Language;
use crate::asr::pool::AsrPool;
use crate::asr::session::StreamSession;
use crate::asr::stream::{AsrEvent, StreamConfig, StreamingRecognizer};
use crate::lang::Lang;
use crate::orders::OrderStore;
use crate::tts::Canceller;
use crate::tts::Tts;

/// What every call shares.
pub struct CallServices {
    /// Decoder pools by language: English (tiny.en) and Mandarin (multilingual base).
    pub asr_en: Arc<AsrPool>,
    pub asr_zh: Arc<AsrPool>,
    pub stream: StreamConfig,
    pub tts: Arc<dyn Tts>,
    /// The dialplans, by called number.
    pub routes: Routes,
    pub orders: Arc<dyn OrderStore>,
    pub calls: Arc<Calls>,
    pub session: SessionConfig,
    /// No RTP from the caller for this long ends the call.
    pub media_timeout: Duration,
    /// Try finals the current model doubts again with the multilingual model in the other
    /// language (`asr::identify`): a Mandarin caller on an English hotline is heard, and
    /// answered, in Mandarin.
    pub identify_language: bool,
}

impl CallServices {
    fn asr(&self, lang: Lang) -> (Arc<AsrPool>, Language) {
        match lang {
            Lang::En => (Arc::clone(&self.asr_en), Language::En),
            Lang::Zh => (Arc::clone(&self.asr_zh), Language::Zh),
        }
    }
}

/// The call's media, whatever the transport: RTP datagrams both ways.
pub struct MediaLink {
    pub format: MediaFormat,
    pub inbound: mpsc::Receiver<Vec<u8>>,
    /// Full means the transport is stuck: the packet is dropped, the call goes on. RTCP goes
    /// this way too; the transport tells it from RTP by its packet type (RFC 5761).
    pub outbound: mpsc::Sender<Vec<u8>>,
    /// The transport leaves RTCP to the call (SIP): we send reports and a BYE. WebRTC's stack
    /// runs its own, so there we only keep the figures.
    pub rtcp: bool,
}

/// What the transport or the API asks of a running call.
#[derive(Debug, Clone)]
pub enum CallControl {
    /// The caller hung up (BYE, CANCEL, closed peer connection).
    RemoteHangup { reason: String },
    /// Hang up from our side (API, shutdown).
    Hangup { reason: String },
}

/// How the call ended, for the transport.
#[derive(Debug, Clone)]
pub struct CallEnd {
    /// We ended it: the transport must tell the caller (SIP BYE).
    pub by_us: bool,
    pub reason: String,
}

type TtsChunk = (u64, Option<Vec<f32>>);

/// After a hang-up, how long the caller's last words may take to be transcribed.
const LAST_WORDS: Duration = Duration::from_secs(15);

struct Driver {
    info: CallInfo,
    services: Arc<CallServices>,
    started: Instant,
    session: CallSession,
    pipeline: MediaPipeline,
    asr: StreamSession<Arc<AsrPool>>,
    outbound: mpsc::Sender<Vec<u8>>,
    tts_tx: mpsc::UnboundedSender<TtsChunk>,
    /// Synthesis still running, by turn, so a barge-in can stop it.
    synthesizing: Vec<(u64, Canceller)>,
    /// Set once the call is over, with who ended it and why.
    end: Option<CallEnd>,
}

/// Runs the call until it ends. `today` is the date the dialog reasons about.
pub async fn run_call(
    info: CallInfo,
    services: Arc<CallServices>,
    link: MediaLink,
    mut control: mpsc::Receiver<CallControl>,
    today: NaiveDate,
    seed: u64,
) -> CallEnd {
    let calls = Arc::clone(&services.calls);
    calls.begin(&info, chrono::Utc::now());
    // The call's clock starts here; RTCP's wall-clock times are counted from this instant.
    let started = Instant::now();
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let pipeline = match MediaPipeline::new(link.format, seed) {
        Ok(p) if link.rtcp => p.with_rtcp_reports(crate::rtp::rtcp::ntp_from_unix(since_epoch)),
        Ok(p) => p,
        Err(e) => {
            let reason = format!("media setup failed: {e}");
            calls.record(&info.id, 0, CallEvent::Error { what: reason.clone() });
            calls.record(&info.id, 0, CallEvent::Ended { reason: reason.clone() });
            return CallEnd { by_us: true, reason };
        }
    };
    let wake = Arc::new(Notify::new());
    let (pool, language) = services.asr(info.lang);
    let recognizer = StreamingRecognizer::new(services.stream.clone(), language);
    let notify = Arc::clone(&wake);
    let mut asr = StreamSession::new(pool, recognizer).with_notify(Arc::new(move || notify.notify_one()));
    if services.identify_language {
        // The dialog follows the script of what it hears, and the call follows the dialog.
        asr = asr.with_identifier(Arc::clone(&services.asr_zh));
    }
    let session = CallSession::new(
        services.session.clone(),
        Arc::clone(services.routes.route(&info.callee)),
        Arc::clone(&services.orders),
        info.lang,
        today,
    );
    let (tts_tx, mut tts_rx) = mpsc::unbounded_channel();
    let mut d = Driver {
        info,
        services,
        started,
        session,
        pipeline,
        asr,
        outbound: link.outbound,
        tts_tx,
        synthesizing: Vec::new(),
        end: None,
    };
    let mut inbound = link.inbound;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let outputs = d.session.start();
    d.apply(outputs);

    while d.end.is_none() {
        let deadline = d.next_deadline();
        tokio::select! {
            _ = ticker.tick() => d.tick(),
            packet = inbound.recv() => match packet {
                Some(datagram) => d.receive(&datagram),
                None => d.remote_hangup("media transport closed".into()),
            },
            _ = wake.notified() => {
                let events = d.asr.poll();
                d.asr_events(events);
            }
            Some((turn, chunk)) = tts_rx.recv() => d.tts_chunk(turn, chunk),
            cmd = control.recv() => match cmd {
                Some(CallControl::RemoteHangup { reason }) => d.remote_hangup(reason),
                Some(CallControl::Hangup { reason }) => {
                    d.remote_hangup(reason.clone());
                    d.end = Some(CallEnd { by_us: true, reason });
                }
                None => d.remote_hangup("the transport went away".into()),
            },
            _ = tokio::time::sleep_until(deadline) => d.timeouts(),
        }
    }
    d.stop_synthesis();
    d.close_media();
    // The caller's last words are still worth having in the record.
    let events = d.asr.end_stream();
    d.asr_events(events);
    let give_up = Instant::now() + LAST_WORDS;
    while !d.asr.is_idle() {
        tokio::select! {
            _ = wake.notified() => {
                let events = d.asr.poll();
                d.asr_events(events);
            }
            _ = tokio::time::sleep_until(give_up) => break,
        }
    }
    let out = d.session.close();
    d.apply(out);
    d.end.unwrap_or(CallEnd { by_us: false, reason: String::new() })
}

impl Driver {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn next_deadline(&self) -> Instant {
        let media = self.pipeline.last_packet_ms().unwrap_or(0) + self.services.media_timeout.as_millis() as u64;
        let at = self.session.next_deadline().map_or(media, |d| d.min(media));
        self.started + Duration::from_millis(at)
    }

    fn timeouts(&mut self) {
        let now = self.now_ms();
        let last = self.pipeline.last_packet_ms().unwrap_or(0);
        if now.saturating_sub(last) >= self.services.media_timeout.as_millis() as u64 {
            let reason = format!("no media from the caller for {} s", self.services.media_timeout.as_secs());
            self.remote_hangup(reason.clone());
            self.end = Some(CallEnd { by_us: true, reason });
            return;
        }
        let out = self.session.handle_timeout(now);
        self.apply(out);
    }

    fn tick(&mut self) {
        let now = self.now_ms();
        let tick = self.pipeline.tick(now);
        self.deliver(now, tick);
    }

    /// Sends what a pipeline step produced and hands on what it heard and played.
    fn deliver(&mut self, now: u64, tick: Tick) {
        for packet in tick.rtp.into_iter().chain(tick.rtcp) {
            let _ = self.outbound.try_send(packet);
        }
        if let Some(quality) = tick.quality {
            self.services.calls.record(&self.info.id, now, CallEvent::MediaStats(quality));
        }
        for event in tick.playback {
            let input = match event {
                PlaybackEvent::Started(turn) => Input::PlaybackStarted { turn },
                PlaybackEvent::Finished(turn) => Input::PlaybackFinished { turn },
            };
            let out = self.session.handle(now, input);
            self.apply(out);
        }
        if !tick.pcm16k.is_empty() {
            let events = self.asr.push(&tick.pcm16k);
            self.asr_events(events);
        }
    }

    /// The media session is over: RTCP BYE to the caller, the final figures to the record.
    fn close_media(&mut self) {
        let now = self.now_ms();
        let reason = self.end.as_ref().map_or("", |e| e.reason.as_str());
        let closing = self.pipeline.close(now, reason);
        if let Some(bye) = closing.bye {
            let _ = self.outbound.try_send(bye);
        }
        self.services.calls.record(&self.info.id, now, CallEvent::MediaStats(closing.quality));
    }

    fn receive(&mut self, datagram: &[u8]) {
        let now = self.now_ms();
        match self.pipeline.receive(now, datagram) {
            Ok(Received::Digit(digit)) => {
                let out = self.session.handle(now, Input::Dtmf(digit));
                self.apply(out);
            }
            Ok(Received::Audio) => {
                let heard = self.pipeline.take_heard();
                if !heard.is_empty() {
                    let events = self.asr.push(&heard);
                    self.asr_events(events);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(call = %self.info.id, "bad RTP/RTCP packet: {e}"),
        }
    }

    fn asr_events(&mut self, events: Vec<AsrEvent>) {
        for event in events {
            let now = self.now_ms();
            let out = self.session.handle(now, Input::Asr(event));
            self.apply(out);
        }
    }

    fn remote_hangup(&mut self, reason: String) {
        let now = self.now_ms();
        let out = self.session.handle(now, Input::Hangup { reason: reason.clone() });
        self.apply(out);
        self.end.get_or_insert(CallEnd { by_us: false, reason });
    }

    fn apply(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            self.apply_one(output);
        }
    }

    fn apply_one(&mut self, output: Output) {
        match output {
            Output::Say { turn, text, lang } => self.say(turn, &text, lang),
            Output::PausePlayback => self.pipeline.playout().pause(),
            Output::ResumePlayback => self.pipeline.playout().resume(),
            Output::StopPlayback => {
                self.stop_synthesis();
                self.pipeline.playout().stop();
            }
            Output::SetLanguage(lang) => {
                let (pool, language) = self.services.asr(lang);
                self.asr.switch(pool, language);
            }
            Output::Hangup { reason } => {
                self.end = Some(CallEnd { by_us: true, reason });
            }
            Output::Event(event) => {
                let now = self.now_ms();
                self.services.calls.record(&self.info.id, now, event);
            }
        }
    }

    /// Starts synthesis; its audio reaches the playout as it is made.
    fn say(&mut self, turn: u64, text: &str, lang: Lang) {
        let rate = self.pipeline.format().codec.sample_rate();
        let stream = match self.services.tts.synthesize(text, lang, rate) {
            Ok(s) => s,
            Err(e) => {
                let now = self.now_ms();
                self.services.calls.record(
                    &self.info.id,
                    now,
                    CallEvent::Error { what: format!("speech synthesis: {e}") },
                );
                self.pipeline.playout().complete(turn);
                return;
            }
        };
        self.synthesizing.push((turn, stream.canceller()));
        let tx = self.tts_tx.clone();
        tokio::task::spawn_blocking(move || {
            for chunk in stream {
                match chunk {
                    Ok(pcm) => {
                        if tx.send((turn, Some(pcm))).is_err() {
                            return; // the call is over
                        }
                    }
                    Err(e) => {
                        tracing::warn!("speech synthesis failed mid-turn: {e}");
                        break;
                    }
                }
            }
            let _ = tx.send((turn, None));
        });
    }

    fn tts_chunk(&mut self, turn: u64, chunk: Option<Vec<f32>>) {
        if !self.synthesizing.iter().any(|(t, _)| *t == turn) {
            return; // stopped by a barge-in: late chunks are dropped
        }
        match chunk {
            Some(pcm) => {
                self.pipeline.playout().push(turn, &pcm);
                // The answer's first audio goes out now, not at the next tick.
                let now = self.now_ms();
                let tick = self.pipeline.start_talkspurt(now);
                self.deliver(now, tick);
            }
            None => {
                self.synthesizing.retain(|(t, _)| *t != turn);
                self.pipeline.playout().complete(turn);
            }
        }
    }

    fn stop_synthesis(&mut self) {
        for (_, canceller) in self.synthesizing.drain(..) {
            canceller.cancel();
        }
    }
}
