//! Blocking driver that binds one [`StreamingRecognizer`] to the shared [`AsrPool`]: submits
//! its decode requests, keeps finals the pool refused until it has room, and feeds results back.
//! Used by the CLI and evaluation; live calls use an async driver with the same shape.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::AsrError;
use super::engine::Decoded;
use super::pool::{AsrPool, Job, JobTiming, Priority};
use super::stream::{AsrEvent, DecodeRequest, StreamOutput, StreamingRecognizer};

type Completed = (u64, Priority, Result<Decoded, AsrError>, JobTiming);

pub struct StreamSession<'p> {
    pool: &'p AsrPool,
    recognizer: StreamingRecognizer,
    tx: Sender<Completed>,
    rx: Receiver<Completed>,
    /// Finals the pool refused; retried before anything else.
    backlog: VecDeque<DecodeRequest>,
    in_flight: usize,
}

impl<'p> StreamSession<'p> {
    pub fn new(pool: &'p AsrPool, recognizer: StreamingRecognizer) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Self { pool, recognizer, tx, rx, backlog: VecDeque::new(), in_flight: 0 }
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
        let mut events = Vec::new();
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

    /// Finals requested but not yet emitted.
    pub fn pending_finals(&self) -> usize {
        self.recognizer.pending_finals()
    }

    /// Waits (up to `timeout`) until no decode is queued or running.
    pub fn wait_idle(&mut self, timeout: Duration) -> Vec<AsrEvent> {
        let mut events = Vec::new();
        let deadline = Instant::now() + timeout;
        while self.in_flight > 0 || !self.backlog.is_empty() {
            self.retry_backlog();
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                Ok(done) => events.extend(self.complete(done)),
                Err(_) if left.is_zero() => break,
                Err(_) => {}
            }
        }
        events
    }

    fn complete(&mut self, (utterance, priority, result, _timing): Completed) -> Vec<AsrEvent> {
        self.in_flight -= 1;
        let out = self.recognizer.on_result(utterance, priority, result);
        self.dispatch(out)
    }

    fn dispatch(&mut self, outputs: Vec<StreamOutput>) -> Vec<AsrEvent> {
        let mut events = Vec::new();
        for output in outputs {
            match output {
                StreamOutput::Event(e) => events.push(e),
                StreamOutput::Decode(req) if req.priority == Priority::Final && !self.backlog.is_empty() => {
                    self.backlog.push_back(req)
                }
                StreamOutput::Decode(req) => {
                    if let Err(req) = self.submit(req) {
                        match req.priority {
                            Priority::Final => self.backlog.push_back(req),
                            Priority::Partial => self.recognizer.partial_refused(req.utterance),
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
                break;
            }
        }
    }

    fn submit(&mut self, req: DecodeRequest) -> Result<(), DecodeRequest> {
        let tx = self.tx.clone();
        let (utterance, priority) = (req.utterance, req.priority);
        let job = Job {
            pcm: req.pcm,
            options: req.options,
            priority,
            reply: Box::new(move |result, timing| {
                let _ = tx.send((utterance, priority, result, timing));
            }),
        };
        match self.pool.submit(job) {
            Ok(()) => {
                self.in_flight += 1;
                Ok(())
            }
            Err(job) => Err(DecodeRequest { utterance, priority, pcm: job.pcm, options: job.options }),
        }
    }
}
