//! `callbot eval asr-load`: how many simultaneous live streams one box transcribes in time.
//! N streams replay a recording in real time (20 ms frames, staggered starts) through one
//! shared decoder pool; we report end-of-speech → final latency over all utterances, how often
//! a stream fell behind, and how busy the pool was.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::asr::offline::transcribe_streaming;
use crate::asr::pool::AsrPool;
use crate::asr::stream::StreamConfig;
use crate::asr::{AsrError, Language, SAMPLE_RATE};
use crate::eval::metrics::percentile;

#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub streams: usize,
    pub audio_seconds_per_stream: f64,
    pub finals: usize,
    pub latency_p50_ms: u64,
    pub latency_p95_ms: u64,
    pub latency_max_ms: u64,
    pub falling_behind_events: usize,
    pub partials: usize,
    pub failures: usize,
    /// Decode time / (wall time × workers).
    pub pool_utilisation: f64,
}

pub fn run(
    pool: Arc<AsrPool>,
    pcm: Arc<Vec<f32>>,
    streams: usize,
    language: Language,
    cfg: StreamConfig,
) -> Result<LoadReport, AsrError> {
    let before = pool.stats();
    let started = Instant::now();
    let handles: Vec<_> = (0..streams)
        .map(|i| {
            let (pool, pcm, cfg) = (Arc::clone(&pool), Arc::clone(&pcm), cfg.clone());
            // Stagger starts over one second so utterance ends do not all coincide.
            let delay = Duration::from_millis((1000 * i / streams.max(1)) as u64);
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                transcribe_streaming(&pool, &pcm, language, &cfg, true)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let (mut falling_behind, mut partials, mut failures) = (0, 0, 0);
    for h in handles {
        let t = h.join().map_err(|_| AsrError::Whisper("a load stream panicked".into()))??;
        latencies.extend(t.utterances.iter().map(|u| u.eos_to_final_ms));
        falling_behind += t.falling_behind;
        partials += t.partials;
        failures += t.failures.len();
    }
    let wall = started.elapsed().as_secs_f64();
    let after = pool.stats();
    latencies.sort_unstable();
    let pct = |p: f64| percentile(&latencies, p).unwrap_or(0);
    Ok(LoadReport {
        streams,
        audio_seconds_per_stream: pcm.len() as f64 / SAMPLE_RATE as f64,
        finals: latencies.len(),
        latency_p50_ms: pct(0.5),
        latency_p95_ms: pct(0.95),
        latency_max_ms: latencies.last().copied().unwrap_or(0),
        falling_behind_events: falling_behind,
        partials,
        failures,
        pool_utilisation: (after.decode_ms_total - before.decode_ms_total) as f64
            / 1000.0
            / (wall * pool.workers() as f64),
    })
}
