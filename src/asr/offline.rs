//! Transcribing whole recordings, in two ways:
//! - file mode: whisper's own 30 s windows over the whole clip, as whisper.cpp transcribes a file;
//! - streaming mode: the live engine (VAD endpointing + per-utterance decoding on the pool) fed
//!   the recording in 20 ms frames, as fast as possible or paced in real time.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::engine::{DecodeOptions, Decoder, WhisperModel, Window};
use super::pool::{AsrPool, PoolConfig};
use super::session::StreamSession;
use super::stream::{AsrEvent, StreamConfig, StreamingRecognizer};
use super::{AsrError, Language, SAMPLE_RATE, Segment, Transcript};
use crate::media::vad;
use crate::models::ModelsDir;

/// Resolves `model` (or the language's default), loads it and checks it can do `language`.
pub fn load_model(dir: &ModelsDir, model: Option<&str>, language: Language) -> Result<WhisperModel, AsrError> {
    let resolved = dir.resolve(model.unwrap_or(language.default_model()))?;
    let model = WhisperModel::load(&resolved)?;
    model.check_language(language)?;
    Ok(model)
}

/// File mode. A clip with no voice at all returns an empty transcript without running Whisper,
/// which would otherwise invent text for silence.
pub fn transcribe_file(decoder: &mut Decoder, pcm: &[f32], opts: &DecodeOptions) -> Result<Transcript, AsrError> {
    let language = if opts.language == Language::Auto { "auto".into() } else { opts.language.code().to_string() };
    if !vad::contains_speech(pcm, 0.5, 4) {
        return Ok(Transcript { text: String::new(), language, segments: Vec::new() });
    }
    let decoded = decoder.decode(pcm, &DecodeOptions { window: Window::Full, ..opts.clone() })?;
    Ok(decoded.transcript)
}

/// One utterance as the streaming engine reported it.
#[derive(Debug, Clone, Serialize)]
pub struct StreamedUtterance {
    pub utterance: u64,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Wall time from the moment the end of speech was fed to the moment its final arrived
    /// (meaningful when paced in real time).
    pub eos_to_final_ms: u64,
    /// The text once decoded again with the utterances around it (`AsrEvent::Revised`); empty
    /// where an earlier utterance's revision took in this one's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revised: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamedTranscript {
    pub text: String,
    pub language: String,
    pub utterances: Vec<StreamedUtterance>,
    pub partials: usize,
    pub falling_behind: usize,
    pub failures: Vec<String>,
}

pub fn pool_for(model: WhisperModel) -> Result<AsrPool, AsrError> {
    AsrPool::new(model, PoolConfig::default())
}

/// Streaming mode over a whole recording. `realtime` paces the 20 ms frames like a live call;
/// otherwise audio is fed as fast as the decoder keeps up: after an utterance ends, feeding
/// waits for its final, as it would in a live call whose decoding is faster than speech.
pub fn transcribe_streaming(
    pool: &AsrPool,
    pcm: &[f32],
    language: Language,
    cfg: &StreamConfig,
    realtime: bool,
) -> Result<StreamedTranscript, AsrError> {
    transcribe_streaming_with(pool, None, pcm, language, cfg, realtime)
}

/// [`transcribe_streaming`], trying doubtful finals in the other language with `identifier`
/// (a multilingual model's pool) as a live call does.
pub fn transcribe_streaming_with(
    pool: &AsrPool,
    identifier: Option<&AsrPool>,
    pcm: &[f32],
    language: Language,
    cfg: &StreamConfig,
    realtime: bool,
) -> Result<StreamedTranscript, AsrError> {
    let frame = SAMPLE_RATE as usize / 50;
    let mut session = StreamSession::new(pool, StreamingRecognizer::new(cfg.clone(), language));
    if let Some(identifier) = identifier {
        session = session.with_identifier(identifier);
    }
    let started = Instant::now();
    // Wall time at which each frame was fed, to time finals from the end of speech.
    let mut fed_at: Vec<Instant> = Vec::with_capacity(pcm.len() / frame + 1);
    let mut events: Vec<(AsrEvent, Instant)> = Vec::new();
    for (i, chunk) in pcm.chunks(frame).enumerate() {
        if realtime {
            let due = started + Duration::from_millis(20 * i as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                // Poll while waiting so finals are stamped when they arrive, not at the next frame.
                let mut left = wait;
                while !left.is_zero() {
                    std::thread::sleep(left.min(Duration::from_millis(2)));
                    events.extend(session.poll().into_iter().map(|e| (e, Instant::now())));
                    left = due.saturating_duration_since(Instant::now());
                }
            }
        }
        fed_at.push(Instant::now());
        events.extend(session.push(chunk).into_iter().map(|e| (e, Instant::now())));
        if !realtime && session.pending_finals() > 0 {
            events.extend(session.wait_idle(Duration::from_secs(120)).into_iter().map(|e| (e, Instant::now())));
        }
    }
    let finish_timeout = Duration::from_secs(120);
    events.extend(session.finish(finish_timeout).into_iter().map(|e| (e, Instant::now())));

    let mut out = StreamedTranscript {
        text: String::new(),
        language: language.code().to_string(),
        utterances: Vec::new(),
        partials: 0,
        falling_behind: 0,
        failures: Vec::new(),
    };
    for (event, at) in events {
        match event {
            AsrEvent::Final { utterance, text, language, start_ms, end_ms, .. } => {
                let frame_index = (end_ms / 20) as usize;
                let eos = fed_at.get(frame_index).or(fed_at.last()).copied().unwrap_or(started);
                out.language = language;
                out.utterances.push(StreamedUtterance {
                    utterance,
                    start_ms,
                    end_ms,
                    text,
                    eos_to_final_ms: at.saturating_duration_since(eos).as_millis() as u64,
                    revised: None,
                });
            }
            AsrEvent::Revised { first, last, text, .. } => {
                let mut text = Some(text);
                for u in out.utterances.iter_mut().filter(|u| (first..=last).contains(&u.utterance)) {
                    u.revised = Some(text.take().unwrap_or_default());
                }
            }
            AsrEvent::Partial { .. } => out.partials += 1,
            AsrEvent::FallingBehind { .. } => out.falling_behind += 1,
            AsrEvent::Failed { error, .. } => out.failures.push(error),
            _ => {}
        }
    }
    out.text = out.transcript().join(out.joiner());
    Ok(out)
}

impl StreamedTranscript {
    /// The text of each utterance, revisions applied.
    pub fn transcript(&self) -> Vec<&str> {
        self.utterances.iter().map(|u| u.revised.as_deref().unwrap_or(&u.text)).filter(|t| !t.is_empty()).collect()
    }

    /// The finals alone, joined as `text` is: what the dialog acted on, before any revision.
    pub fn finals_text(&self) -> String {
        let finals: Vec<&str> = self.utterances.iter().map(|u| u.text.as_str()).filter(|t| !t.is_empty()).collect();
        finals.join(self.joiner())
    }

    /// Mandarin is written without spaces between utterances.
    fn joiner(&self) -> &'static str {
        if self.language == "zh" { "" } else { " " }
    }

    /// One segment per utterance, or per run of utterances decoded again together.
    pub fn segments(&self) -> Vec<Segment> {
        let mut segments: Vec<Segment> = Vec::new();
        for u in &self.utterances {
            match (u.revised.as_deref(), segments.last_mut()) {
                (Some(""), Some(run)) => run.end_ms = u.end_ms,
                (revised, _) => segments.push(Segment {
                    start_ms: u.start_ms,
                    end_ms: u.end_ms,
                    text: revised.unwrap_or(&u.text).to_string(),
                }),
            }
        }
        segments
    }
}
