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

use super::AsrError;
use super::engine::{DecodeOptions, Decoded, WhisperModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Final,
    Partial,
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

#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    pub workers: usize,
    pub threads_per_job: usize,
    /// Finals waiting beyond this are refused (back-pressure to the caller).
    pub max_queued_finals: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self { workers: cores, threads_per_job: 1, max_queued_finals: 64 }
    }
}

/// Counters for dashboards and benchmarks.
#[derive(Debug, Default, Serialize, Clone, Copy)]
pub struct PoolStats {
    pub finals_done: u64,
    pub partials_done: u64,
    pub partials_refused: u64,
    pub finals_refused: u64,
    pub failures: u64,
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
    decode_ms_total: AtomicU64,
}

struct Queues {
    finals: VecDeque<(Job, Instant)>,
    partials: VecDeque<(Job, Instant)>,
    idle_workers: usize,
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
    pub model: WhisperModel,
}

impl AsrPool {
    pub fn new(model: WhisperModel, config: PoolConfig) -> Result<Self, AsrError> {
        let workers = config.workers.max(1);
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues {
                finals: VecDeque::new(),
                partials: VecDeque::new(),
                idle_workers: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            counters: Counters::default(),
            config,
        });
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers {
            let decoder = model.decoder()?;
            let shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("asr-{i}"))
                .spawn(move || worker_loop(shared, decoder))
                .map_err(|e| AsrError::Whisper(format!("cannot start worker thread: {e}")))?;
            handles.push(handle);
        }
        Ok(Self { shared, workers: handles, model })
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
            Priority::Partial => {
                if q.idle_workers <= q.finals.len() + q.partials.len() {
                    self.shared.counters.partials_refused.fetch_add(1, Ordering::Relaxed);
                    return Err(job);
                }
                q.partials.push_back((job, Instant::now()));
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

fn worker_loop(shared: Arc<Shared>, mut decoder: super::engine::Decoder) {
    loop {
        let (job, enqueued) = {
            let mut q = lock(&shared.queues);
            q.idle_workers += 1;
            let next = loop {
                if let Some(j) = q.finals.pop_front().or_else(|| q.partials.pop_front()) {
                    break Some(j);
                }
                if q.closed {
                    break None;
                }
                q = shared.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            };
            q.idle_workers -= 1;
            match next {
                Some(j) => j,
                None => return,
            }
        };
        let started = Instant::now();
        let result = decoder.decode(&job.pcm, &job.options);
        let timing = JobTiming { queued: started - enqueued, decoding: started.elapsed() };
        let c = &shared.counters;
        c.decode_ms_total.fetch_add(timing.decoding.as_millis() as u64, Ordering::Relaxed);
        match (&result, job.priority) {
            (Err(_), _) => c.failures.fetch_add(1, Ordering::Relaxed),
            (Ok(_), Priority::Final) => c.finals_done.fetch_add(1, Ordering::Relaxed),
            (Ok(_), Priority::Partial) => c.partials_done.fetch_add(1, Ordering::Relaxed),
        };
        // A panicking reply must not take the worker (and every other call's ASR) down with it.
        let reply = job.reply;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || reply(result, timing))).is_err() {
            tracing::error!("an ASR reply callback panicked; worker continues");
        }
    }
}
