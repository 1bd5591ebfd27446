//! Blocking driver that binds one [`StreamingRecognizer`] to the shared [`AsrPool`]: submits
//! its decode requests, keeps finals the pool refused until it has room, and feeds results back.
//! Used by the CLI and evaluation (blocking waits) and by live calls (a `notify` hook wakes the
//! call's driver when a result is ready; it then calls [`StreamSession::poll`]).

use std::collections::{HashMap, VecDeque};
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::engine::Decoded;
use super::pool::{AsrPool, Job, JobTiming, Priority};
use super::stream::{AsrEvent, DecodeRequest, RefusedEarly, StreamOutput, StreamingRecognizer};
use super::{AsrError, Language};
use crate::emotion::acoustic::{self, Features};

type Completed = (u64, Priority, u32, Result<Decoded, AsrError>, JobTiming);
type Measured = (u64, Option<Features>);

/// Called from a decoder thread each time a result for this session is ready.
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// `P` is how the session holds the pool: a borrow (`&AsrPool`) or a share (`Arc<AsrPool>`).
pub struct StreamSession<P: Deref<Target = AsrPool>> {
    pool: P,
    /// The multilingual model asked about doubtful finals (see `identify`).
    identifier: Option<P>,
    notify: Option<Notify>,
    recognizer: StreamingRecognizer,
    tx: Sender<Completed>,
    rx: Receiver<Completed>,
    /// Voice measurements (for emotion), each made on a thread of its own.
    voice_tx: Sender<Measured>,
    voice_rx: Receiver<Measured>,
    measuring: usize,
    /// Finals the pool refused; retried before anything else.
    backlog: VecDeque<DecodeRequest>,
    in_flight: usize,
    /// Cancel flags of the decodes submitted and not yet back, by (utterance, priority, attempt).
    cancels: HashMap<(u64, Priority, u32), Arc<AtomicBool>>,
    /// The latest early decode the pool refused (busy): submitted as soon as a worker is
    /// free, unless the caller speaks again or the utterance's final is requested first.
    waiting_early: Option<DecodeRequest>,
    /// The latest revision the pool refused: submitted when a worker is idle (after any early
    /// decode). A newer run's revision refused in turn takes its place (see `revision_refused`).
    waiting_revision: Option<DecodeRequest>,
}

impl<P: Deref<Target = AsrPool>> StreamSession<P> {
    pub fn new(pool: P, recognizer: StreamingRecognizer) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (voice_tx, voice_rx) = crossbeam_channel::unbounded();
        Self {
            pool,
            identifier: None,
            notify: None,
            recognizer,
            tx,
            rx,
            voice_tx,
            voice_rx,
            measuring: 0,
            backlog: VecDeque::new(),
            in_flight: 0,
            cancels: HashMap::new(),
            waiting_early: None,
            waiting_revision: None,
        }
    }

    /// Calls `notify` (from a decoder thread) whenever a result is ready for [`poll`](Self::poll).
    pub fn with_notify(mut self, notify: Notify) -> Self {
        self.notify = Some(notify);
        self
    }

    /// Tries finals the current model doubts again with `pool` (multilingual) in the other
    /// language, and keeps that text when `pool` identifies the language as the other one.
    pub fn with_identifier(mut self, pool: P) -> Self {
        self.recognizer.identify_languages();
        self.identifier = Some(pool);
        self
    }

    /// Decodes from now on with `pool` in `language` (a call that changed language).
    /// Decodes already running finish on the old pool.
    pub fn switch(&mut self, pool: P, language: Language) {
        self.pool = pool;
        self.recognizer.set_language(language);
    }

    /// Feeds audio and returns whatever events are ready (without waiting).
    pub fn push(&mut self, pcm: &[f32]) -> Vec<AsrEvent> {
        let out = self.recognizer.push(pcm);
        let mut events = self.dispatch(out);
        events.extend(self.poll());
        events
    }

    /// Events from decodes that finished since the last call.
    pub fn poll(&mut self) -> Vec<AsrEvent> {
        let mut events = self.measured();
        while let Ok(done) = self.rx.try_recv() {
            events.extend(self.complete(done));
        }
        self.retry_backlog();
        events
    }

    /// Ends the stream and waits (up to `timeout`) for every outstanding decode.
    pub fn finish(&mut self, timeout: Duration) -> Vec<AsrEvent> {
        let out = self.recognizer.finish();
        let mut events = self.dispatch(out);
        events.extend(self.wait_idle(timeout));
        events
    }

    /// Ends the stream without waiting: the open utterance is finalised with what was heard;
    /// its result arrives through [`poll`](Self::poll) like any other.
    pub fn end_stream(&mut self) -> Vec<AsrEvent> {
        let out = self.recognizer.finish();
        let mut events = self.dispatch(out);
        events.extend(self.poll());
        events
    }

    /// No decode or measurement queued, running or refused: every result is in.
    pub fn is_idle(&self) -> bool {
        self.in_flight == 0 && self.backlog.is_empty() && self.measuring == 0 && self.waiting_revision.is_none()
    }

    /// Finals requested but not yet emitted.
    pub fn pending_finals(&self) -> usize {
        self.recognizer.pending_finals()
    }

    /// Waits (up to `timeout`) until no decode is queued or running.
    pub fn wait_idle(&mut self, timeout: Duration) -> Vec<AsrEvent> {
        let mut events = Vec::new();
        let deadline = Instant::now() + timeout;
        while !self.is_idle() {
            events.extend(self.measured());
            self.retry_backlog();
            let left = deadline.saturating_duration_since(Instant::now());
            // Measurements take milliseconds: look for them again soon.
            let wait = if self.measuring > 0 { Duration::from_millis(5) } else { Duration::from_millis(50) };
            match self.rx.recv_timeout(left.min(wait)) {
                Ok(done) => events.extend(self.complete(done)),
                Err(_) if left.is_zero() => break,
                Err(_) => {}
            }
        }
        events
    }

    /// Hands finished voice measurements to the recogniser.
    fn measured(&mut self) -> Vec<AsrEvent> {
        let mut events = Vec::new();
        while let Ok((utterance, features)) = self.voice_rx.try_recv() {
            self.measuring -= 1;
            let out = self.recognizer.on_voice(utterance, features);
            events.extend(self.dispatch(out));
        }
        events
    }

    /// Measures an utterance's voice on a thread of its own: milliseconds of work that must not
    /// hold up the call's media (a long utterance takes tens of them).
    fn measure(&mut self, utterance: u64, pcm: Vec<f32>) {
        let (tx, notify) = (self.voice_tx.clone(), self.notify.clone());
        let spawned = std::thread::Builder::new().name("voice-features".into()).spawn(move || {
            if tx.send((utterance, acoustic::extract(&pcm))).is_ok()
                && let Some(notify) = notify
            {
                notify();
            }
        });
        self.measuring += 1;
        if let Err(e) = spawned {
            // No thread to spare: the utterance goes on without a voice score.
            tracing::warn!("voice measurement not started: {e}");
            let _ = self.voice_tx.send((utterance, None));
        }
    }

    fn complete(&mut self, (utterance, priority, attempt, result, timing): Completed) -> Vec<AsrEvent> {
        self.in_flight -= 1;
        self.cancels.remove(&(utterance, priority, attempt));
        tracing::debug!(
            utterance,
            ?priority,
            attempt,
            ok = result.is_ok(),
            queued_ms = timing.queued.as_millis() as u64,
            decode_ms = timing.decoding.as_millis() as u64,
            "decode done"
        );
        let out = self.recognizer.on_result(utterance, priority, attempt, result);
        self.dispatch(out)
    }

    fn dispatch(&mut self, outputs: Vec<StreamOutput>) -> Vec<AsrEvent> {
        let mut events = Vec::new();
        for output in outputs {
            match output {
                StreamOutput::Event(e) => events.push(e),
                StreamOutput::Analyse { utterance, pcm } => self.measure(utterance, pcm),
                StreamOutput::Abandon { utterance, priority, attempt } => {
                    tracing::debug!(utterance, ?priority, attempt, "abandon");
                    if let Some(flag) = self.cancels.get(&(utterance, priority, attempt)) {
                        flag.store(true, Ordering::Relaxed);
                    }
                    self.waiting_early
                        .take_if(|w| (w.utterance, w.priority, w.attempt) == (utterance, priority, attempt));
                }
                StreamOutput::Decode(req) if req.priority == Priority::Final && !self.backlog.is_empty() => {
                    self.backlog.push_back(req)
                }
                StreamOutput::Decode(req) => {
                    tracing::debug!(utterance = req.utterance, priority = ?req.priority, attempt = req.attempt, "decode");
                    // A final or a newer early decode supersedes the one waiting.
                    if matches!(req.priority, Priority::Final | Priority::Early) {
                        self.waiting_early = None;
                    }
                    if let Err(mut req) = self.submit(req) {
                        match req.priority {
                            Priority::Final => self.backlog.push_back(req),
                            Priority::Early => match self.recognizer.early_refused(req.utterance, req.attempt) {
                                RefusedEarly::Wait => self.waiting_early = Some(req),
                                RefusedEarly::NeededAsFinal => {
                                    req.priority = Priority::Final;
                                    self.backlog.push_back(req);
                                }
                                RefusedEarly::Unneeded => {}
                            },
                            Priority::Partial => self.recognizer.partial_refused(req.utterance),
                            Priority::Revision => {
                                if let Some(older) = self.waiting_revision.replace(req) {
                                    self.recognizer.revision_refused(older.utterance);
                                }
                            }
                        }
                    }
                }
            }
        }
        events
    }

    fn retry_backlog(&mut self) {
        while let Some(req) = self.backlog.pop_front() {
            if let Err(req) = self.submit(req) {
                self.backlog.push_front(req);
                return;
            }
        }
        if let Some(req) = self.waiting_early.take() {
            let (utterance, attempt) = (req.utterance, req.attempt);
            match self.submit(req) {
                Ok(()) => self.recognizer.early_accepted(utterance, attempt),
                Err(req) => self.waiting_early = Some(req),
            }
        }
        if self.waiting_early.is_none()
            && let Some(req) = self.waiting_revision.take()
            && let Err(req) = self.submit(req)
        {
            self.waiting_revision = Some(req);
        }
    }

    fn submit(&mut self, mut req: DecodeRequest) -> Result<(), DecodeRequest> {
        // An early decode beside this call's own abandoned decodes (which stop only after their
        // encoder) would share the cores with them; it waits the few ms and then runs alone.
        if req.priority == Priority::Early && self.cancels.values().any(|c| c.load(Ordering::Relaxed)) {
            return Err(req);
        }
        let tx = self.tx.clone();
        let notify = self.notify.clone();
        let (utterance, priority, attempt) = (req.utterance, req.priority, req.attempt);
        let cancel = Arc::new(AtomicBool::new(false));
        req.options.cancel = Some(Arc::clone(&cancel));
        let job = Job {
            pcm: req.pcm,
            options: req.options,
            priority,
            reply: Box::new(move |result, timing| {
                if tx.send((utterance, priority, attempt, result, timing)).is_ok()
                    && let Some(notify) = notify
                {
                    notify();
                }
            }),
        };
        let pool = match &self.identifier {
            Some(identifier) if job.options.identify => identifier,
            _ => &self.pool,
        };
        match pool.submit(job) {
            Ok(()) => {
                self.in_flight += 1;
                self.cancels.insert((utterance, priority, attempt), cancel);
                Ok(())
            }
            Err(job) => Err(DecodeRequest { utterance, priority, attempt, pcm: job.pcm, options: job.options }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asr::Transcript;
    use crate::asr::endpoint::CHUNK;
    use crate::asr::engine::{DecodeOptions, Window};
    use crate::asr::pool::PoolConfig;
    use crate::asr::stream::StreamConfig;
    use crate::media::vad::VoiceDetector;

    /// Loud chunks are voice.
    struct Loudness;
    impl VoiceDetector for Loudness {
        fn score(&mut self, chunk: &[f32; CHUNK]) -> f32 {
            if chunk.iter().map(|s| s.abs()).sum::<f32>() / CHUNK as f32 > 0.05 { 1.0 } else { 0.0 }
        }
    }

    /// Decodes "words"; a clip of exactly one sample (the other call's job) waits for `release`.
    struct Words {
        release: Receiver<()>,
    }
    impl crate::asr::Transcriber for Words {
        fn decode(&mut self, pcm: &[f32], _: &DecodeOptions) -> Result<Decoded, AsrError> {
            if pcm.len() == 1 {
                let _ = self.release.recv_timeout(Duration::from_secs(10));
            }
            Ok(Decoded {
                transcript: Transcript { text: "words".into(), language: "en".into(), segments: vec![] },
                no_speech_prob: 0.0,
                context_prefix: String::new(),
                avg_logprob: -0.1,
                zh_share: None,
            })
        }
    }

    #[test]
    fn an_utterance_whose_early_decode_the_busy_pool_refused_as_it_ended_still_gets_its_final() {
        let (release_tx, release) = crossbeam_channel::unbounded();
        let config = PoolConfig { workers: 1, threads_per_job: 1, solo_threads: 1, max_queued_finals: 8 };
        let pool = Arc::new(AsrPool::with_decoders(vec![Box::new(Words { release })], config).unwrap());
        // Another call's decode holds the only worker, so an early decode is refused.
        let other = Job {
            pcm: vec![0.0],
            options: DecodeOptions::new(Language::En, Window::Utterance),
            priority: Priority::Final,
            reply: Box::new(|_, _| {}),
        };
        pool.submit(other).unwrap();
        let cfg = StreamConfig { partial_interval_ms: 0, analyse_voice: false, ..StreamConfig::default() };
        let recognizer = StreamingRecognizer::with_detector(cfg, Language::En, Box::new(Loudness));
        let mut session = StreamSession::new(Arc::clone(&pool), recognizer);
        session.push(&vec![0.3; CHUNK * 64]);
        // Two silent chunks and a bit: the stream's end completes the third, so the pause
        // (48 ms) and the end of the utterance come in the same step.
        session.push(&vec![0.0; CHUNK * 2 + 100]);
        // The other call's decode ends once this call's final is queued behind it.
        let watcher = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(5);
                while pool.stats().queued_finals == 0 && Instant::now() < deadline {
                    std::thread::yield_now();
                }
                let _ = release_tx.send(());
            })
        };
        let events = session.finish(Duration::from_secs(10));
        watcher.join().unwrap();
        assert!(events.iter().any(|e| matches!(e, AsrEvent::Final { text, .. } if text == "words")), "{events:?}");
    }
}
