//! The audio of one utterance, chunk by chunk, as the engine produces it.
//!
//! A stream is either a buffer already in memory (a cached prompt) or a producer thread that
//! feeds a bounded channel (an engine's child process). Cancelling runs the engine's hook (for
//! espeak: kill and reap the child), drops the channel and joins the thread, so that when
//! [`TtsStream::cancel`] returns nothing of the utterance is left running.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::TtsError;

/// Chunks a producer may run ahead of the consumer. Bounds memory for very long texts (a
/// consumer playing in real time holds the engine back instead of buffering hours of audio),
/// while leaving the engine seconds ahead of playback.
const CHANNEL_CHUNKS: usize = 32;

type Item = Result<Vec<f32>, TtsError>;
type Hook = Box<dyn FnOnce() + Send>;

/// Mono PCM chunks of one utterance at [`sample_rate`](Self::sample_rate). Iterating yields
/// chunks until the end, or one error and then the end. Dropping the stream cancels it.
pub struct TtsStream {
    sample_rate: u32,
    source: Source,
    cancel: Arc<CancelState>,
    tap: Option<Box<dyn Tap>>,
    pid: Option<u32>,
    done: bool,
}

enum Source {
    Buffer { audio: Arc<[f32]>, pos: usize, chunk: usize },
    Worker { rx: Option<Receiver<Item>>, thread: Option<JoinHandle<()>> },
}

/// Sees a stream's chunks as the consumer takes them (the prompt cache fills itself this way).
pub(super) trait Tap: Send {
    fn chunk(&mut self, chunk: &[f32]);
    /// The stream ended complete: not cancelled, no error.
    fn complete(&mut self);
}

/// The sending side given to a producer thread.
pub(super) struct Producer {
    tx: SyncSender<Item>,
    cancel: Arc<CancelState>,
}

impl Producer {
    /// Sends one item, waiting while the consumer is behind; false once nobody will take it.
    /// After a cancel from another thread this may wait until the owner next touches the
    /// stream; the engine itself is stopped by the hook meanwhile.
    pub(super) fn send(&self, item: Item) -> bool {
        !self.is_cancelled() && self.tx.send(item).is_ok()
    }

    pub(super) fn is_cancelled(&self) -> bool {
        self.cancel.cancelled.load(Ordering::SeqCst)
    }
}

/// Cancels a stream from another thread (e.g. on barge-in, while a player thread owns it).
#[derive(Clone)]
pub struct Canceller(Arc<CancelState>);

impl Canceller {
    /// Stops the engine now (espeak: its process is killed and reaped before this returns);
    /// the stream yields nothing more.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }
}

struct CancelState {
    cancelled: AtomicBool,
    hook: Mutex<Option<Hook>>,
}

impl CancelState {
    fn new(hook: Option<Hook>) -> Arc<Self> {
        Arc::new(Self { cancelled: AtomicBool::new(false), hook: Mutex::new(hook) })
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.run_hook();
    }

    fn run_hook(&self) {
        let hook = self.hook.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(hook) = hook {
            hook();
        }
    }

    /// The engine finished by itself: its hook has nothing left to stop.
    fn disarm(&self) {
        self.hook.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

impl TtsStream {
    /// A stream of audio already in memory, in 20 ms chunks.
    pub fn from_samples(audio: Arc<[f32]>, sample_rate: u32) -> Self {
        let chunk = (sample_rate as usize / 50).max(1);
        Self::new(sample_rate, Source::Buffer { audio, pos: 0, chunk }, CancelState::new(None), None)
    }

    pub fn empty(sample_rate: u32) -> Self {
        Self::from_samples(Arc::from(Vec::new()), sample_rate)
    }

    /// Runs `produce` on a thread named `name`. `stop` must make the producer's engine stop (and
    /// its blocking reads end); it runs once, on cancel, and also here if the thread cannot start.
    pub(super) fn spawn(
        sample_rate: u32,
        name: &str,
        pid: Option<u32>,
        stop: Hook,
        produce: impl FnOnce(Producer) + Send + 'static,
    ) -> Result<Self, TtsError> {
        let cancel = CancelState::new(Some(stop));
        let (tx, rx) = sync_channel(CHANNEL_CHUNKS);
        let producer = Producer { tx, cancel: Arc::clone(&cancel) };
        match std::thread::Builder::new().name(name.to_string()).spawn(move || produce(producer)) {
            Ok(thread) => {
                let source = Source::Worker { rx: Some(rx), thread: Some(thread) };
                Ok(Self::new(sample_rate, source, cancel, pid))
            }
            Err(source) => {
                cancel.cancel();
                Err(TtsError::Io { context: "cannot start the synthesis thread".into(), source })
            }
        }
    }

    fn new(sample_rate: u32, source: Source, cancel: Arc<CancelState>, pid: Option<u32>) -> Self {
        Self { sample_rate, source, cancel, tap: None, pid, done: false }
    }

    /// Lets `tap` see every chunk the consumer takes, and the end if the stream completes.
    pub(super) fn with_tap(mut self, tap: Box<dyn Tap>) -> Self {
        self.tap = Some(tap);
        self
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The id of the engine's process, for engines that run one (for logs and diagnostics).
    pub fn process_id(&self) -> Option<u32> {
        self.pid
    }

    pub fn canceller(&self) -> Canceller {
        Canceller(Arc::clone(&self.cancel))
    }

    /// Stops synthesis at once: the engine is stopped (espeak's process killed and reaped) and
    /// its thread joined before this returns. No chunk follows.
    pub fn cancel(&mut self) {
        self.cancel.cancel();
        self.finish();
    }

    /// The rest of the audio, in one buffer.
    pub fn read_all(mut self) -> Result<Vec<f32>, TtsError> {
        let mut audio = Vec::new();
        for chunk in &mut self {
            audio.extend_from_slice(&chunk?);
        }
        Ok(audio)
    }

    /// Releases what the stream holds: after the channel is dropped a producer's sends fail, so
    /// its thread ends and the join cannot hang. False if the producer panicked.
    fn finish(&mut self) -> bool {
        self.done = true;
        self.tap = None;
        if let Source::Worker { rx, thread } = &mut self.source {
            rx.take();
            if let Some(thread) = thread.take() {
                return thread.join().is_ok();
            }
        }
        true
    }

    fn next_item(&mut self) -> Option<Item> {
        match &mut self.source {
            Source::Buffer { audio, pos, chunk } => {
                let end = audio.len().min(*pos + *chunk);
                let piece = audio[*pos..end].to_vec();
                *pos = end;
                (!piece.is_empty()).then_some(Ok(piece))
            }
            Source::Worker { rx, .. } => rx.as_ref().and_then(|rx| rx.recv().ok()),
        }
    }
}

impl Iterator for TtsStream {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let item = self.next_item();
        // Checked after the wait too: a cancel from another thread may land while blocked.
        if self.cancel.cancelled.load(Ordering::SeqCst) {
            self.finish();
            return None;
        }
        match item {
            Some(Ok(chunk)) => {
                if let Some(tap) = &mut self.tap {
                    tap.chunk(&chunk);
                }
                Some(Ok(chunk))
            }
            Some(Err(e)) => {
                self.cancel.cancel();
                self.finish();
                Some(Err(e))
            }
            None => {
                let tap = self.tap.take();
                if !self.finish() {
                    // Whatever it left running must stop; its audio is cut short.
                    self.cancel.cancel();
                    return Some(Err(TtsError::ProducerPanicked));
                }
                self.cancel.disarm();
                if let Some(mut tap) = tap {
                    tap.complete();
                }
                None
            }
        }
    }
}

impl Drop for TtsStream {
    fn drop(&mut self) {
        if !self.done {
            self.cancel();
        }
    }
}

impl std::fmt::Debug for TtsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source {
            Source::Buffer { .. } => "buffer",
            Source::Worker { .. } => "worker",
        };
        f.debug_struct("TtsStream").field("sample_rate", &self.sample_rate).field("source", &kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn streams_move_between_threads_and_cancellers_are_shared() {
        fn send<T: Send>() {}
        fn share<T: Send + Sync>() {}
        send::<TtsStream>();
        share::<Canceller>();
    }

    #[test]
    fn buffers_come_out_in_20_ms_chunks() {
        let audio: Arc<[f32]> = (0..1000).map(|i| i as f32).collect();
        let chunks: Vec<_> = TtsStream::from_samples(Arc::clone(&audio), 16000).map(|c| c.expect("audio")).collect();
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [320, 320, 320, 40]);
        assert_eq!(chunks.concat(), audio.to_vec());
        assert_eq!(TtsStream::empty(8000).count(), 0);
    }

    #[test]
    fn a_cancelled_buffer_yields_nothing_more() {
        let mut stream = TtsStream::from_samples(vec![0.5; 8000].into(), 8000);
        assert!(stream.next().is_some());
        stream.canceller().cancel();
        assert!(stream.next().is_none());
    }

    #[test]
    fn cancel_stops_a_producer_blocked_on_a_full_channel_and_runs_the_hook_once() {
        let stops = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&stops);
        let stop: Hook = Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let mut stream =
            TtsStream::spawn(8000, "test", None, stop, |producer| while producer.send(Ok(vec![0.0; 160])) {})
                .expect("spawns");
        assert_eq!(stream.next().expect("a chunk").expect("audio").len(), 160);
        stream.cancel();
        assert!(stream.next().is_none());
        drop(stream);
        assert_eq!(stops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_error_ends_the_stream_and_completion_reaches_the_tap() {
        let mut stream = TtsStream::spawn(8000, "test", None, Box::new(|| {}), |producer| {
            producer.send(Ok(vec![0.1; 10]));
            producer.send(Err(TtsError::BadAudio("test".into())));
            producer.send(Ok(vec![0.1; 10]));
        })
        .expect("spawns");
        assert!(stream.next().expect("chunk").is_ok());
        assert!(matches!(stream.next(), Some(Err(TtsError::BadAudio(_)))));
        assert!(stream.next().is_none());

        struct Seen(Arc<Mutex<(usize, bool)>>);
        impl Tap for Seen {
            fn chunk(&mut self, chunk: &[f32]) {
                self.0.lock().expect("lock").0 += chunk.len();
            }
            fn complete(&mut self) {
                self.0.lock().expect("lock").1 = true;
            }
        }
        let seen = Arc::new(Mutex::new((0, false)));
        let stream = TtsStream::from_samples(vec![0.0; 500].into(), 8000).with_tap(Box::new(Seen(Arc::clone(&seen))));
        assert_eq!(stream.read_all().expect("audio").len(), 500);
        assert_eq!(*seen.lock().expect("lock"), (500, true));
    }
}
