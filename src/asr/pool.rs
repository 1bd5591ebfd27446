//! Shared pool of Whisper decoder threads.
//!
//! One model in memory, one whisper state per worker, one thread per job: on small boxes
//! ggml's multi-threaded jobs spin against each other, while single-threaded jobs in parallel
//! keep every core usefully busy. Queues are bounded: finals (what a caller actually said) are
//! served first and refused only when the final queue is full; partials are best effort and
//! refused as soon as no worker is idle, because a stale partial is worth nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::engine::{DecodeOptions, Decoded, WhisperModel};
use super::{AsrError, Transcriber};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Final,
    /// A final decoded early, at a pause that may be the end: taken only by an idle worker
    /// (like a partial), but ahead of partials.
    Early,
    Partial,
    /// Utterances decoded again together for the transcript (`stream::AsrEvent::Revised`):
    /// only by an idle worker, after partials, never alone on every core.
    Revision,
}

/// Time a job spent waiting and decoding.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobTiming {
    pub queued: Duration,
    pub decoding: Duration,
}

pub type Reply = Box<dyn FnOnce(Result<Decoded, AsrError>, JobTiming) + Send>;

pub struct Job {
    pub pcm: Vec<f32>,
    pub options: DecodeOptions,
    pub priority: Priority,
    pub reply: Reply,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("samples", &self.pcm.len()).field("priority", &self.priority).finish()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    pub workers: usize,
    pub threads_per_job: usize,
    /// Threads for a final when nothing else is queued or running: it then has the machine to
    /// itself, and nothing starts beside it until it is done (ggml's threads spin-wait, so a
    /// multi-threaded job next to another one slows both badly). Halves a lone caller's wait.
    pub solo_threads: usize,
    /// Finals waiting beyond this are refused (back-pressure to the caller).
    pub max_queued_finals: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self { workers: cores, threads_per_job: 1, solo_threads: cores.min(4), max_queued_finals: 64 }
    }
}

/// Counters for dashboards and benchmarks.
#[derive(Debug, Default, Serialize, Clone, Copy)]
pub struct PoolStats {
    pub finals_done: u64,
    /// Background decodes (partials, early finals, revisions) done and refused for want of an
    /// idle worker.
    pub partials_done: u64,
    pub partials_refused: u64,
    pub finals_refused: u64,
    pub failures: u64,
    /// Speculative decodes stopped because the caller kept talking.
    pub cancelled: u64,
    pub queued_finals: u64,
    pub busy_workers: u64,
    pub decode_ms_total: u64,
}

#[derive(Default)]
struct Counters {
    finals_done: AtomicU64,
    partials_done: AtomicU64,
    partials_refused: AtomicU64,
    finals_refused: AtomicU64,
    failures: AtomicU64,
    cancelled: AtomicU64,
    decode_ms_total: AtomicU64,
}

struct Queues {
    finals: VecDeque<(Job, Instant)>,
    partials: VecDeque<(Job, Instant)>,
    idle_workers: usize,
    /// A solo job is running: no other job starts.
    solo: bool,
    closed: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
    counters: Counters,
    config: PoolConfig,
}

pub struct AsrPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl AsrPool {
    /// `config.workers` Whisper decoders sharing one loaded model.
    pub fn new(model: WhisperModel, config: PoolConfig) -> Result<Self, AsrError> {
        let decoders = (0..config.workers.max(1))
            .map(|_| model.decoder().map(|d| Box::new(d) as Box<dyn Transcriber>))
            .collect::<Result<Vec<_>, _>>()?;
        Self::with_decoders(decoders, config)
    }

    /// One worker thread per decoder.
    pub fn with_decoders(decoders: Vec<Box<dyn Transcriber>>, config: PoolConfig) -> Result<Self, AsrError> {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues {
                finals: VecDeque::new(),
                partials: VecDeque::new(),
                idle_workers: 0,
                solo: false,
                closed: false,
            }),
            ready: Condvar::new(),
            counters: Counters::default(),
            config,
        });
        let count = decoders.len();
        let mut handles = Vec::with_capacity(count);
        for (i, decoder) in decoders.into_iter().enumerate() {
            let shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("asr-{i}"))
                .spawn(move || worker_loop(shared, decoder, count))
                .map_err(|e| AsrError::Whisper(format!("cannot start worker thread: {e}")))?;
            handles.push(handle);
        }
        Ok(Self { shared, workers: handles })
    }

    /// Queues a job, or hands it back when the pool cannot take it now.
    pub fn submit(&self, mut job: Job) -> Result<(), Job> {
        job.options.threads = self.shared.config.threads_per_job;
        let mut q = lock(&self.shared.queues);
        if q.closed {
            return Err(job);
        }
        match job.priority {
            Priority::Final => {
                if q.finals.len() >= self.shared.config.max_queued_finals {
                    self.shared.counters.finals_refused.fetch_add(1, Ordering::Relaxed);
                    return Err(job);
                }
                q.finals.push_back((job, Instant::now()));
            }
            Priority::Early | Priority::Partial | Priority::Revision => {
                if q.solo || q.idle_workers <= q.finals.len() + q.partials.len() {
                    self.shared.counters.partials_refused.fetch_add(1, Ordering::Relaxed);
                    return Err(job);
                }
                if job.priority == Priority::Early {
                    q.partials.push_front((job, Instant::now()));
                } else {
                    q.partials.push_back((job, Instant::now()));
                }
            }
        }
        drop(q);
        self.shared.ready.notify_one();
        Ok(())
    }

    pub fn stats(&self) -> PoolStats {
        let q = lock(&self.shared.queues);
        let c = &self.shared.counters;
        PoolStats {
            finals_done: c.finals_done.load(Ordering::Relaxed),
            partials_done: c.partials_done.load(Ordering::Relaxed),
            partials_refused: c.partials_refused.load(Ordering::Relaxed),
            finals_refused: c.finals_refused.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            queued_finals: q.finals.len() as u64,
            busy_workers: (self.workers.len() - q.idle_workers.min(self.workers.len())) as u64,
            decode_ms_total: c.decode_ms_total.load(Ordering::Relaxed),
        }
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }
}

impl Drop for AsrPool {
    /// Finishes queued finals, drops queued partials, joins the workers.
    fn drop(&mut self) {
        {
            let mut q = lock(&self.shared.queues);
            q.closed = true;
            q.partials.clear();
        }
        self.shared.ready.notify_all();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

/// A poisoned lock only means a reply callback panicked; the queues themselves stay consistent.
fn lock(m: &Mutex<Queues>) -> std::sync::MutexGuard<'_, Queues> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn worker_loop(shared: Arc<Shared>, mut decoder: Box<dyn Transcriber>, workers: usize) {
    loop {
        let (mut job, enqueued, solo) = {
            let mut q = lock(&shared.queues);
            q.idle_workers += 1;
            let next = loop {
                if !q.solo
                    && let Some(j) = q.finals.pop_front().or_else(|| q.partials.pop_front())
                {
                    break Some(j);
                }
                if q.closed {
                    break None;
                }
                q = shared.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            };
            // Alone: every worker idle (this one included) and nothing else waiting.
            let alone = q.idle_workers == workers && q.finals.is_empty() && q.partials.is_empty();
            q.idle_workers -= 1;
            match next {
                Some((job, enqueued)) => {
                    let background = matches!(job.priority, Priority::Partial | Priority::Revision);
                    let solo = alone && !background && shared.config.solo_threads > 1;
                    q.solo = solo;
                    (job, enqueued, solo)
                }
                None => return,
            }
        };
        if solo {
            job.options.threads = shared.config.solo_threads;
        }
        let started = Instant::now();
        let result = decoder.decode(&job.pcm, &job.options);
        if solo {
            lock(&shared.queues).solo = false;
            shared.ready.notify_all();
        }
        let timing = JobTiming { queued: started - enqueued, decoding: started.elapsed() };
        tracing::debug!(priority = ?job.priority, threads = job.options.threads, ms = timing.decoding.as_millis() as u64, "job done");
        let c = &shared.counters;
        c.decode_ms_total.fetch_add(timing.decoding.as_millis() as u64, Ordering::Relaxed);
        match (&result, job.priority) {
            (Err(AsrError::Cancelled), _) => c.cancelled.fetch_add(1, Ordering::Relaxed),
            (Err(_), _) => c.failures.fetch_add(1, Ordering::Relaxed),
            (Ok(_), Priority::Final) => c.finals_done.fetch_add(1, Ordering::Relaxed),
            (Ok(_), Priority::Partial | Priority::Early | Priority::Revision) => {
                c.partials_done.fetch_add(1, Ordering::Relaxed)
            }
        };
        // A panicking reply must not take the worker (and every other call's ASR) down with it.
        let reply = job.reply;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || reply(result, timing))).is_err() {
            tracing::error!("an ASR reply callback panicked; worker continues");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asr::engine::Window;
    use crate::asr::{Language, Transcript};
    use crossbeam_channel::{Receiver, Sender, unbounded};

    /// Decodes only when the test releases it, and says which clip it was given.
    struct GatedDecoder {
        started: Sender<f32>,
        release: Receiver<()>,
    }

    impl Transcriber for GatedDecoder {
        fn decode(&mut self, pcm: &[f32], opts: &DecodeOptions) -> Result<Decoded, AsrError> {
            let tag = pcm.first().copied().unwrap_or(-1.0);
            // A solo job (more than one thread) reports its tag plus 100.
            let _ = self.started.send(if opts.threads > 1 { tag + 100.0 } else { tag });
            let _ = self.release.recv_timeout(Duration::from_secs(10));
            if tag < 0.0 {
                return Err(AsrError::Whisper("bad clip".into()));
            }
            Ok(Decoded {
                context_prefix: String::new(),
                avg_logprob: -0.2,
                zh_share: None,
                transcript: Transcript { text: format!("clip {tag}"), language: "en".into(), segments: vec![] },
                no_speech_prob: 0.0,
            })
        }
    }

    struct Harness {
        pool: AsrPool,
        started: Receiver<f32>,
        release: Sender<()>,
        done: Receiver<(f32, Result<String, String>)>,
        done_tx: Sender<(f32, Result<String, String>)>,
    }

    fn harness(workers: usize, max_queued_finals: usize) -> Harness {
        harness_with(PoolConfig { workers, threads_per_job: 1, solo_threads: 1, max_queued_finals })
    }

    fn harness_with(config: PoolConfig) -> Harness {
        let workers = config.workers;
        let (started_tx, started) = unbounded();
        let (release, release_rx) = unbounded();
        let decoders = (0..workers)
            .map(|_| {
                Box::new(GatedDecoder { started: started_tx.clone(), release: release_rx.clone() })
                    as Box<dyn Transcriber>
            })
            .collect();
        let pool = AsrPool::with_decoders(decoders, config).unwrap();
        let (done_tx, done) = unbounded();
        let h = Harness { pool, started, release, done, done_tx };
        h.wait_until(|s| s.busy_workers == 0);
        h
    }

    impl Harness {
        fn job(&self, tag: f32, priority: Priority) -> Job {
            let tx = self.done_tx.clone();
            Job {
                pcm: vec![tag; 4],
                options: DecodeOptions::new(Language::En, Window::Utterance),
                priority,
                reply: Box::new(move |r, _| {
                    let _ = tx.send((tag, r.map(|d| d.transcript.text).map_err(|e| e.to_string())));
                }),
            }
        }

        /// Waits (bounded) for the pool to reach a state; workers report idleness asynchronously.
        fn wait_until(&self, cond: impl Fn(&PoolStats) -> bool) {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !cond(&self.pool.stats()) {
                assert!(Instant::now() < deadline, "pool never reached the expected state: {:?}", self.pool.stats());
                std::thread::yield_now();
            }
        }

        fn started(&self) -> f32 {
            self.started.recv_timeout(Duration::from_secs(10)).expect("a decode started")
        }

        fn finished(&self) -> (f32, Result<String, String>) {
            self.done.recv_timeout(Duration::from_secs(10)).expect("a decode finished")
        }
    }

    #[test]
    fn finals_jump_ahead_of_partials() {
        let h = harness(1, 8);
        assert!(h.pool.submit(h.job(1.0, Priority::Final)).is_ok());
        assert_eq!(h.started(), 1.0);
        // The only worker is busy: a partial is refused, finals queue.
        assert!(h.pool.submit(h.job(2.0, Priority::Partial)).is_err());
        assert!(h.pool.submit(h.job(3.0, Priority::Final)).is_ok());
        h.release.send(()).unwrap();
        assert_eq!(h.finished().0, 1.0);
        assert_eq!(h.started(), 3.0);
        h.release.send(()).unwrap();
        assert_eq!(h.finished(), (3.0, Ok("clip 3".into())));
        let stats = h.pool.stats();
        assert_eq!((stats.finals_done, stats.partials_refused), (2, 1));
    }

    #[test]
    fn full_final_queue_pushes_back_and_is_counted() {
        let h = harness(1, 2);
        h.pool.submit(h.job(1.0, Priority::Final)).unwrap();
        assert_eq!(h.started(), 1.0);
        h.pool.submit(h.job(2.0, Priority::Final)).unwrap();
        h.pool.submit(h.job(3.0, Priority::Final)).unwrap();
        let refused = h.pool.submit(h.job(4.0, Priority::Final)).expect_err("queue is full");
        assert_eq!(refused.pcm[0], 4.0, "the caller gets its job back to retry");
        assert_eq!(h.pool.stats().finals_refused, 1);
        assert_eq!(h.pool.stats().queued_finals, 2);
        for _ in 0..3 {
            h.release.send(()).unwrap();
        }
        let order: Vec<f32> = (0..3).map(|_| h.finished().0).collect();
        assert_eq!(order, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn failures_and_panicking_callbacks_do_not_stop_the_workers() {
        let h = harness(1, 8);
        h.pool.submit(h.job(-1.0, Priority::Final)).unwrap();
        h.release.send(()).unwrap();
        assert!(h.finished().1.unwrap_err().contains("bad clip"));
        let mut job = h.job(5.0, Priority::Final);
        job.reply = Box::new(|_, _| panic!("a careless caller"));
        h.pool.submit(job).unwrap();
        h.release.send(()).unwrap();
        h.pool.submit(h.job(6.0, Priority::Final)).unwrap();
        h.release.send(()).unwrap();
        assert_eq!(h.finished(), (6.0, Ok("clip 6".into())));
        assert_eq!(h.pool.stats().failures, 1);
    }

    #[test]
    fn dropping_the_pool_finishes_queued_finals() {
        let h = harness(2, 8);
        for tag in [1.0, 2.0, 3.0] {
            h.pool.submit(h.job(tag, Priority::Final)).unwrap();
        }
        for _ in 0..3 {
            h.release.send(()).unwrap();
        }
        let Harness { pool, done, done_tx, .. } = h;
        drop(pool);
        drop(done_tx);
        let mut tags: Vec<f32> = done.iter().map(|(t, _)| t).collect();
        tags.sort_by(f32::total_cmp);
        assert_eq!(tags, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn a_lone_final_gets_every_thread_and_nothing_starts_beside_it() {
        let h = harness_with(PoolConfig { workers: 2, threads_per_job: 1, solo_threads: 2, max_queued_finals: 8 });
        h.pool.submit(h.job(1.0, Priority::Final)).unwrap();
        assert_eq!(h.started.recv_timeout(Duration::from_secs(5)), Ok(101.0), "solo: two threads");
        assert!(h.pool.submit(h.job(2.0, Priority::Partial)).is_err(), "no partial beside a solo job");
        h.pool.submit(h.job(3.0, Priority::Final)).unwrap();
        assert!(h.started.recv_timeout(Duration::from_millis(200)).is_err(), "the next final waits");
        h.release.send(()).unwrap();
        let next = h.started.recv_timeout(Duration::from_secs(5));
        assert!(matches!(next, Ok(3.0) | Ok(103.0)), "then runs: {next:?}");
        h.release.send(()).unwrap();
    }
}
