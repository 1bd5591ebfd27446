//! In-memory cache of synthesized audio for fixed prompts ("Welcome to…", "Please hold"), so
//! that they cost no synthesis after the first time.
//!
//! Entries are keyed by language, the engine's voice key (voice and settings), output rate and
//! text, and bounded by their total length in samples: the least recently used go first. Two
//! concurrent misses on one key both synthesize; the second insert replaces the first.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::stream::{Tap, TtsStream};
use super::{Tts, TtsError};
use crate::lang::Lang;

/// Wraps an engine; is a [`Tts`] itself, so it can stand in for the engine anywhere.
pub struct PromptCache<T> {
    engine: T,
    max_samples: usize,
    lru: Arc<Mutex<Lru>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub entries: usize,
    /// Total samples held; at most the bound given to [`PromptCache::new`].
    pub samples: usize,
    pub hits: u64,
    pub misses: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    lang: Lang,
    voice: String,
    rate: u32,
    text: String,
}

impl<T: Tts> PromptCache<T> {
    /// A cache holding at most `max_samples` samples in all (e.g. 60 s at 8 kHz is 480 000,
    /// 1.9 MB). Audio longer than that on its own is passed through uncached.
    pub fn new(engine: T, max_samples: usize) -> Self {
        Self { engine, max_samples, lru: Arc::new(Mutex::new(Lru::new(max_samples))) }
    }

    pub fn engine(&self) -> &T {
        &self.engine
    }

    /// The audio for `text`: from the cache, or synthesized whole and then cached.
    pub fn get_or_synthesize(&self, text: &str, lang: Lang, rate: u32) -> Result<Arc<[f32]>, TtsError> {
        let key = self.key(text, lang, rate);
        if let Some(audio) = self.lock().get(&key) {
            return Ok(audio);
        }
        // Synthesized without the lock held: other prompts stay available meanwhile.
        let audio: Arc<[f32]> = self.engine.synthesize_all(text, lang, rate)?.into();
        self.lock().insert(key, Arc::clone(&audio));
        Ok(audio)
    }

    pub fn stats(&self) -> CacheStats {
        let lru = self.lock();
        CacheStats { entries: lru.entries.len(), samples: lru.samples, hits: lru.hits, misses: lru.misses }
    }

    /// Empties the cache and zeroes its counters.
    pub fn clear(&self) {
        *self.lock() = Lru::new(self.max_samples);
    }

    fn key(&self, text: &str, lang: Lang, rate: u32) -> Key {
        Key { lang, voice: self.engine.voice_key(lang), rate, text: text.to_string() }
    }

    fn lock(&self) -> MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Tts> Tts for PromptCache<T> {
    /// A hit streams the cached audio; a miss streams the engine's audio as it comes and caches
    /// it once the stream has run to its end (not if it was cancelled or failed).
    fn synthesize(&self, text: &str, lang: Lang, rate: u32) -> Result<TtsStream, TtsError> {
        let key = self.key(text, lang, rate);
        if let Some(audio) = self.lock().get(&key) {
            return Ok(TtsStream::from_samples(audio, rate));
        }
        let stream = self.engine.synthesize(text, lang, rate)?;
        let filler = Filler { lru: Arc::clone(&self.lru), key: Some(key), audio: Vec::new(), max: self.max_samples };
        Ok(stream.with_tap(Box::new(filler)))
    }

    fn voice_key(&self, lang: Lang) -> String {
        self.engine.voice_key(lang)
    }

    fn synthesize_all(&self, text: &str, lang: Lang, rate: u32) -> Result<Vec<f32>, TtsError> {
        Ok(self.get_or_synthesize(text, lang, rate)?.to_vec())
    }
}

/// Gathers a streamed miss and caches it when the stream completes.
struct Filler {
    lru: Arc<Mutex<Lru>>,
    /// `None` once the audio outgrew the cache: nothing is gathered then.
    key: Option<Key>,
    audio: Vec<f32>,
    max: usize,
}

impl Tap for Filler {
    fn chunk(&mut self, chunk: &[f32]) {
        if self.key.is_some() && self.audio.len() + chunk.len() <= self.max {
            self.audio.extend_from_slice(chunk);
        } else {
            self.key = None;
            self.audio = Vec::new();
        }
    }

    fn complete(&mut self) {
        if let Some(key) = self.key.take() {
            let audio = std::mem::take(&mut self.audio).into();
            self.lru.lock().unwrap_or_else(PoisonError::into_inner).insert(key, audio);
        }
    }
}

/// Least-recently-used bookkeeping: `order` maps each entry's last use (a counter) to its key.
struct Lru {
    max_samples: usize,
    samples: usize,
    clock: u64,
    entries: HashMap<Key, (Arc<[f32]>, u64)>,
    order: BTreeMap<u64, Key>,
    hits: u64,
    misses: u64,
}

impl Lru {
    fn new(max_samples: usize) -> Self {
        Self { max_samples, samples: 0, clock: 0, entries: HashMap::new(), order: BTreeMap::new(), hits: 0, misses: 0 }
    }

    fn get(&mut self, key: &Key) -> Option<Arc<[f32]>> {
        self.clock += 1;
        let Some((audio, used)) = self.entries.get_mut(key) else {
            self.misses += 1;
            return None;
        };
        self.hits += 1;
        let previous = std::mem::replace(used, self.clock);
        let audio = Arc::clone(audio);
        if let Some(key) = self.order.remove(&previous) {
            self.order.insert(self.clock, key);
        }
        Some(audio)
    }

    fn insert(&mut self, key: Key, audio: Arc<[f32]>) {
        // Empty audio costs nothing to make; oversized audio would evict everything else.
        if audio.is_empty() || audio.len() > self.max_samples {
            return;
        }
        self.clock += 1;
        self.samples += audio.len();
        if let Some((old, used)) = self.entries.insert(key.clone(), (audio, self.clock)) {
            self.samples -= old.len();
            self.order.remove(&used);
        }
        self.order.insert(self.clock, key);
        while self.samples > self.max_samples {
            let Some((_, oldest)) = self.order.pop_first() else { break };
            if let Some((audio, _)) = self.entries.remove(&oldest) {
                self.samples -= audio.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tts::{EspeakConfig, EspeakTts};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(text: &str) -> Key {
        Key { lang: Lang::En, voice: "v".into(), rate: 8000, text: text.into() }
    }

    fn audio(len: usize) -> Arc<[f32]> {
        vec![0.25; len].into()
    }

    #[test]
    fn wraps_a_shared_engine_and_is_one() {
        fn wrap(engine: Arc<dyn Tts>) -> Arc<dyn Tts> {
            Arc::new(PromptCache::new(engine, 1000))
        }
        let _ = wrap;
    }

    #[test]
    fn evicts_the_least_recently_used_first() {
        let mut lru = Lru::new(300);
        lru.insert(key("a"), audio(100));
        lru.insert(key("b"), audio(100));
        lru.insert(key("c"), audio(100));
        assert!(lru.get(&key("a")).is_some()); // now b is the oldest
        lru.insert(key("d"), audio(100));
        assert!(lru.get(&key("b")).is_none());
        for kept in ["a", "c", "d"] {
            assert!(lru.get(&key(kept)).is_some(), "{kept}");
        }
        assert_eq!(lru.samples, 300);
        lru.insert(key("big"), audio(250)); // evicts until it fits
        assert_eq!((lru.entries.len(), lru.samples), (1, 250));
        lru.insert(key("huge"), audio(301)); // larger than the whole cache: not kept
        assert!(lru.get(&key("huge")).is_none());
        lru.insert(key("big"), audio(50)); // replacing an entry accounts for the old one
        assert_eq!((lru.entries.len(), lru.samples, lru.order.len()), (1, 50, 1));
    }

    /// The real engine, counting how often it is asked to synthesize.
    struct Counting {
        engine: EspeakTts,
        calls: AtomicUsize,
    }

    impl Tts for Counting {
        fn synthesize(&self, text: &str, lang: Lang, rate: u32) -> Result<TtsStream, TtsError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.engine.synthesize(text, lang, rate)
        }

        fn voice_key(&self, lang: Lang) -> String {
            self.engine.voice_key(lang)
        }
    }

    fn counting_cache(max_samples: usize) -> PromptCache<Counting> {
        let engine = EspeakTts::new(EspeakConfig::default()).expect("espeak-ng is installed");
        PromptCache::new(Counting { engine, calls: AtomicUsize::new(0) }, max_samples)
    }

    fn calls(cache: &PromptCache<Counting>) -> usize {
        cache.engine().calls.load(Ordering::SeqCst)
    }

    #[test]
    fn second_request_is_served_from_memory() {
        let cache = counting_cache(1_000_000);
        let first = cache.get_or_synthesize("Please hold.", Lang::En, 8000).expect("synthesizes");
        let second = cache.get_or_synthesize("Please hold.", Lang::En, 8000).expect("cached");
        assert!(!first.is_empty());
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(calls(&cache), 1);
        // Another rate or language is other audio.
        let wide = cache.get_or_synthesize("Please hold.", Lang::En, 16000).expect("synthesizes");
        assert!(wide.len() > first.len() * 3 / 2);
        assert_eq!(calls(&cache), 2);
        // Through the Tts interface too, streamed in chunks.
        let chunks: Vec<Vec<f32>> =
            cache.synthesize("Please hold.", Lang::En, 8000).expect("cached").map(|c| c.expect("audio")).collect();
        assert!(chunks.len() > 1);
        assert_eq!(chunks.concat(), first.to_vec());
        assert_eq!(calls(&cache), 2);
        assert_eq!(cache.stats(), CacheStats { entries: 2, samples: first.len() + wide.len(), hits: 2, misses: 2 });
    }

    #[test]
    fn a_streamed_miss_is_cached_only_when_complete() {
        let cache = counting_cache(1_000_000);
        let mut stream = cache.synthesize("您好，欢迎致电", Lang::Zh, 8000).expect("starts");
        assert!(stream.next().is_some());
        stream.cancel();
        assert_eq!(cache.stats().entries, 0, "a cancelled stream is not cached");
        let streamed = cache.synthesize("您好，欢迎致电", Lang::Zh, 8000).expect("starts").read_all().expect("audio");
        assert_eq!(cache.stats().entries, 1);
        let cached = cache.synthesize_all("您好，欢迎致电", Lang::Zh, 8000).expect("cached");
        assert_eq!(cached, streamed);
        assert_eq!(calls(&cache), 2);
    }

    #[test]
    fn evicts_real_prompts_beyond_the_bound() {
        let probe = counting_cache(1_000_000);
        let len = |text| probe.get_or_synthesize(text, Lang::En, 8000).expect("synthesizes").len();
        let (one, two, three) = (len("One."), len("Two."), len("Three."));
        // Room for One and Three, not for Two as well.
        let cache = counting_cache(one + three + two / 2);
        for text in ["One.", "Two.", "One.", "Three.", "One."] {
            cache.get_or_synthesize(text, Lang::En, 8000).expect("synthesizes");
        }
        assert_eq!(cache.stats().samples, one + three);
        assert_eq!(calls(&cache), 3, "One was used last, so Two went instead");
        cache.get_or_synthesize("Two.", Lang::En, 8000).expect("synthesizes");
        assert_eq!(calls(&cache), 4, "Two was evicted");
    }
}
