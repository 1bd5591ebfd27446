//! A loaded Whisper model (shared, read-only) and decoders (one whisper state each, owned by
//! one worker thread at a time).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

use super::context::ContextCut;
use super::{AsrError, Language, SAMPLE_RATE, Segment, Transcript, text};
use crate::models::ResolvedModel;

/// Steers Whisper to Simplified characters and full punctuation for Mandarin.
const ZH_PROMPT: &str = "以下是普通话的句子。";

/// Default encoder context beyond an utterance clip, in 20 ms frames (see `DecodeOptions`).
pub const DEFAULT_CONTEXT_MARGIN: u32 = 192;

/// How much audio context the encoder sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// Whisper's standard 30 s windows, exactly as whisper.cpp transcribes a file.
    Full,
    /// `audio_ctx` sized to the clip: an utterance of a few seconds costs a few seconds of
    /// encoder work instead of thirty.
    Utterance,
}

#[derive(Debug, Clone)]
pub struct DecodeOptions {
    pub language: Language,
    pub window: Window,
    pub threads: usize,
    /// Beam width; 1 is greedy.
    pub beam_size: usize,
    /// Whisper's temperature fallback re-decodes doubtful output; off by default because it
    /// makes latency unpredictable.
    pub temperature_fallback: bool,
    /// Utterance mode: encoder frames (20 ms each) of context beyond the clip. Whisper was
    /// trained on 30 s windows; with the context cut right after the speech it tends to loop
    /// ("a thin stripe runs down the middle. a thin stripe runs…"). About 4 s of trailing
    /// context stops that at a fraction of a full window's cost (docs/benchmarks.md).
    pub context_margin: u32,
    /// Text that came before (the caller's previous utterance): Whisper reads it as context,
    /// which keeps names, numbers and style consistent across utterance boundaries.
    pub previous_text: Option<String>,
    /// Leading milliseconds of the audio that are context only (the end of what the caller said
    /// before this utterance): Whisper hears them, which helps it with the first words, but the
    /// words it decodes there are dropped, by token timestamps.
    pub context_ms: u64,
    /// Also ask the (multilingual) model which language the clip is in: one more encoder pass
    /// over the clip, so it is only asked about clips the caller's current model doubts.
    pub identify: bool,
    /// Set while the decode runs, it stops at its next step with [`AsrError::Cancelled`]: a
    /// speculative decode whose audio the caller has since talked past is not worth finishing.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl DecodeOptions {
    pub fn new(language: Language, window: Window) -> Self {
        Self {
            language,
            window,
            threads: 1,
            beam_size: 1,
            temperature_fallback: false,
            context_margin: DEFAULT_CONTEXT_MARGIN,
            previous_text: None,
            context_ms: 0,
            identify: false,
            cancel: None,
        }
    }
}

/// What a decode produced, with the decoder's own doubt about it.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub transcript: Transcript,
    /// Highest no-speech probability among the segments (0 when there were none).
    pub no_speech_prob: f32,
    /// Opening words that may belong to the left context rather than the utterance (see
    /// `context`); empty without context.
    pub context_prefix: String,
    /// Mean log-probability of the text tokens: low when the model was guessing (for
    /// instance an English-only model hearing Mandarin). 0 when there was no text.
    pub avg_logprob: f32,
    /// With `DecodeOptions::identify`: how likely the clip is Mandarin rather than English,
    /// from Whisper's language identification, 0–1.
    pub zh_share: Option<f32>,
}

#[derive(Clone)]
pub struct WhisperModel {
    ctx: Arc<WhisperContext>,
    /// The same weights with word alignment (see `load`), for the decodes that need word times;
    /// `None` when the architecture's alignment heads are unknown.
    aligned: Option<Arc<WhisperContext>>,
    pub name: String,
    pub multilingual: bool,
}

impl WhisperModel {
    pub fn load(model: &ResolvedModel) -> Result<Self, AsrError> {
        crate::logging::route_whisper_logs();
        let params = || {
            let mut params = WhisperContextParameters::default();
            params.use_gpu(cfg!(feature = "cuda"));
            params
        };
        let path = model.path.to_string_lossy().into_owned();
        let load = |params| {
            WhisperContext::new_with_params(&path, params)
                .map_err(|e| AsrError::Load { path: path.clone(), why: e.to_string() })
        };
        let ctx = load(params())?;
        // Alignment-head timestamps (DTW over cross-attention) place words far better than
        // Whisper's timestamp tokens; streaming needs them to drop the left-context words.
        // Chosen by the architecture, not the file name: a user's `ggml-tiny.en-q8_0.bin` has
        // tiny.en's alignment heads too. whisper.cpp aligns every decode of a context that has
        // them, which made a 3 s clip's decode ~40% slower (144 → 200 ms, tiny.en, 2 threads;
        // docs/benchmarks.md): only decodes with left context get the aligned copy.
        let hp = &model.info.hparams;
        let preset = match (hp.size_name(), hp.multilingual()) {
            ("tiny", false) => Some(whisper_rs::DtwModelPreset::TinyEn),
            ("tiny", true) => Some(whisper_rs::DtwModelPreset::Tiny),
            ("base", false) => Some(whisper_rs::DtwModelPreset::BaseEn),
            ("base", true) => Some(whisper_rs::DtwModelPreset::Base),
            ("small", false) => Some(whisper_rs::DtwModelPreset::SmallEn),
            ("small", true) => Some(whisper_rs::DtwModelPreset::Small),
            ("medium", false) => Some(whisper_rs::DtwModelPreset::MediumEn),
            ("medium", true) => Some(whisper_rs::DtwModelPreset::Medium),
            _ => None,
        };
        let aligned = match preset {
            Some(model_preset) => {
                let mut params = params();
                params.dtw_parameters(whisper_rs::DtwParameters {
                    mode: whisper_rs::DtwMode::ModelPreset { model_preset },
                    ..Default::default()
                });
                // Without it, decodes drop their left context (see `Decoder::decode`): worse at
                // cut points, but working, where failing would lose the model (e.g. no GPU memory
                // for a second copy).
                match load(params) {
                    Ok(ctx) => Some(Arc::new(ctx)),
                    Err(e) => {
                        tracing::warn!("{e}: decoding without left context");
                        None
                    }
                }
            }
            None => None,
        };
        Ok(Self { ctx: Arc::new(ctx), aligned, name: model.name.clone(), multilingual: hp.multilingual() })
    }

    pub fn decoder(&self) -> Result<Decoder, AsrError> {
        let state = |ctx: &WhisperContext| ctx.create_state().map_err(|e| AsrError::Whisper(e.to_string()));
        Ok(Decoder {
            state: state(&self.ctx)?,
            aligned: self.aligned.as_deref().map(state).transpose()?,
            eot: self.ctx.token_eot(),
            multilingual: self.multilingual,
            model: self.name.clone(),
        })
    }

    /// Whether this model can decode `language` at all.
    pub fn check_language(&self, language: Language) -> Result<(), AsrError> {
        match language {
            Language::En => Ok(()),
            Language::Zh | Language::Auto if self.multilingual => Ok(()),
            other => Err(AsrError::EnglishOnlyModel { model: self.name.clone(), lang: other.code() }),
        }
    }
}

pub struct Decoder {
    state: WhisperState,
    /// A state of the aligned context, for decodes with left context. Without word alignment,
    /// left-context words cannot be told apart: context is not used.
    aligned: Option<WhisperState>,
    /// Token ids from here up are special (timestamps, language, task).
    eot: i32,
    multilingual: bool,
    model: String,
}

/// Whisper refuses clips under a second; pad with silence rather than lose short answers ("yes").
const MIN_SAMPLES: usize = SAMPLE_RATE as usize + SAMPLE_RATE as usize / 10;

impl super::Transcriber for Decoder {
    fn decode(&mut self, pcm: &[f32], opts: &DecodeOptions) -> Result<Decoded, AsrError> {
        Decoder::decode(self, pcm, opts)
    }
}

impl Decoder {
    pub fn decode(&mut self, pcm: &[f32], opts: &DecodeOptions) -> Result<Decoded, AsrError> {
        let cancelled = || opts.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
        if cancelled() {
            return Err(AsrError::Cancelled);
        }
        if !self.multilingual && opts.language != Language::En {
            return Err(AsrError::EnglishOnlyModel { model: self.model.clone(), lang: opts.language.code() });
        }
        let unaligned_context;
        let (pcm, opts) = if opts.context_ms > 0 && self.aligned.is_none() {
            let skip = ((opts.context_ms * SAMPLE_RATE as u64 / 1000) as usize).min(pcm.len());
            unaligned_context = DecodeOptions { context_ms: 0, ..opts.clone() };
            (&pcm[skip..], &unaligned_context)
        } else {
            (pcm, opts)
        };
        let padded;
        let mut audio = pcm;
        if audio.len() < MIN_SAMPLES {
            let mut p = pcm.to_vec();
            p.resize(MIN_SAMPLES, 0.0);
            padded = p;
            audio = &padded;
        }
        let strategy = if opts.beam_size > 1 {
            SamplingStrategy::BeamSearch { beam_size: opts.beam_size as i32, patience: -1.0 }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(opts.threads.max(1) as i32);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_suppress_nst(true);
        params.set_temperature(0.0);
        if !opts.temperature_fallback {
            params.set_temperature_inc(0.0);
        }
        let language = if self.multilingual { opts.language.code() } else { "en" };
        params.set_language(Some(language));
        let prompt = match (opts.language, opts.previous_text.as_deref()) {
            (Language::Zh, Some(prev)) => format!("{ZH_PROMPT}{prev}"),
            (Language::Zh, None) => ZH_PROMPT.to_string(),
            (_, Some(prev)) => prev.to_string(),
            (_, None) => String::new(),
        };
        if !prompt.is_empty() {
            params.set_initial_prompt(&prompt);
        }
        if opts.window == Window::Utterance {
            let seconds = audio.len() as f64 / SAMPLE_RATE as f64;
            // 50 encoder frames per second, plus a margin of trailing context (see DecodeOptions).
            let ctx = ((seconds * 50.0).ceil() as i32 + opts.context_margin as i32).min(1500);
            params.set_audio_ctx(ctx);
            params.set_no_context(true);
            // Bounds the cost of a decoder loop on a short clip (~4 tokens a second is fast speech).
            params.set_max_tokens((seconds * 8.0).ceil() as i32 + 16);
        }
        if opts.context_ms > 0 {
            params.set_token_timestamps(true);
        }
        if let Some(cancel) = &opts.cancel {
            // whisper-rs's `set_abort_callback_safe` hands whisper.cpp a pointer to a boxed
            // trait object and reads it back as the closure type: it returns garbage. So the
            // flag itself is the callback's data.
            // SAFETY: `cancel` (in `opts`) outlives `full`, the only call that uses the pointer.
            unsafe {
                params.set_abort_callback(Some(abort_when_set));
                params.set_abort_callback_user_data(Arc::as_ptr(cancel) as *mut std::ffi::c_void);
            }
        }
        let state = match self.aligned.as_mut() {
            Some(aligned) if opts.context_ms > 0 => aligned,
            _ => &mut self.state,
        };
        let run = state.full(params, audio);
        if cancelled() {
            return Err(AsrError::Cancelled);
        }
        run.map_err(|e| AsrError::Whisper(e.to_string()))?;
        let detected = if opts.language == Language::Auto {
            whisper_rs::get_lang_str(state.full_lang_id_from_state()).unwrap_or("en").to_string()
        } else {
            language.to_string()
        };
        let mut segments = Vec::new();
        let mut no_speech_prob: f32 = 0.0;
        let audio_ms = ((pcm.len() as u64 * 1000) / SAMPLE_RATE as u64).saturating_sub(opts.context_ms);
        // Timestamps are in 10 ms units from the start of the decoded audio.
        let context_cs = (opts.context_ms / 10) as i64;
        let mut cut = ContextCut::new(opts.context_ms);
        let (mut logprob_sum, mut text_tokens) = (0.0f32, 0u32);
        for seg in state.as_iter() {
            no_speech_prob = no_speech_prob.max(seg.no_speech_probability());
            for token in (0..seg.n_tokens()).filter_map(|i| seg.get_token(i)) {
                let data = token.token_data();
                if data.id < self.eot {
                    logprob_sum += data.plog;
                    text_tokens += 1;
                }
            }
            let (t0, t1) = (seg.start_timestamp() - context_cs, seg.end_timestamp() - context_cs);
            let raw = if context_cs == 0 {
                seg.to_str_lossy().map_err(|e| AsrError::Whisper(e.to_string()))?.into_owned()
            } else {
                kept_words(&seg, &mut cut, self.eot)
            };
            let cleaned = text::clean(&raw, &detected);
            tracing::debug!(t0, t1, no_speech = seg.no_speech_probability(), audio_ms, "segment {raw:?}");
            // With a clip-sized context Whisper sometimes decodes the same words again as a
            // second segment over the trailing silence; a segment that only repeats the start
            // of the one before it is that loop, not speech.
            if cleaned.is_empty()
                || segments.last().is_some_and(|p: &Segment| text::repeats_previous(&p.text, &cleaned))
            {
                continue;
            }
            // Clamp to the real (unpadded) audio.
            let start_ms = (t0.max(0) as u64 * 10).min(audio_ms);
            let end_ms = (t1.max(0) as u64 * 10).min(audio_ms).max(start_ms);
            segments.push(Segment { start_ms, end_ms, text: cleaned });
        }
        let joiner = if detected == "zh" { "" } else { " " };
        // A decoder loop can run across segment boundaries, one copy per segment.
        let text =
            text::collapse_repetitions(&segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(joiner));
        let context_prefix = text::clean(&String::from_utf8_lossy(&cut.uncertain), &detected);
        let avg_logprob = if text_tokens == 0 { 0.0 } else { logprob_sum / text_tokens as f32 };
        // Asked after the decode on purpose: whisper.cpp identifies with the state's audio
        // context, which `full` has just sized to this clip (asked through `full` itself, it
        // would use the previous clip's, or all 30 s).
        let zh_share = if opts.identify && self.multilingual { Some(zh_share(state, opts.threads)?) } else { None };
        tracing::debug!(avg_logprob, ?zh_share, text, "decoded");
        Ok(Decoded {
            transcript: Transcript { text, language: detected, segments },
            no_speech_prob,
            context_prefix,
            avg_logprob,
            zh_share,
        })
    }
}

/// Whisper's language identification over the clip `state` last decoded, between the two
/// languages callbot speaks.
fn zh_share(state: &mut WhisperState, threads: usize) -> Result<f32, AsrError> {
    let (_, probs) = state.lang_detect(0, threads.max(1)).map_err(|e| AsrError::Whisper(e.to_string()))?;
    let p = |code| whisper_rs::get_lang_id(code).and_then(|id| probs.get(id as usize).copied()).unwrap_or(0.0);
    let (zh, en) = (p("zh"), p("en"));
    Ok(if zh + en > 0.0 { zh / (zh + en) } else { 0.5 })
}

/// whisper.cpp's abort callback: its data is the `AtomicBool` of `DecodeOptions::cancel`.
/// whisper.cpp asks after the encoder and after each decoder step.
unsafe extern "C" fn abort_when_set(flag: *mut std::ffi::c_void) -> bool {
    // SAFETY: set in `Decoder::decode` from an `Arc<AtomicBool>` that outlives the decode.
    unsafe { (*(flag as *const AtomicBool)).load(Ordering::Relaxed) }
}

/// The tokens of a segment that `cut` keeps (see `context`).
fn kept_words(seg: &whisper_rs::WhisperSegment<'_>, cut: &mut ContextCut, eot: i32) -> String {
    let mut out = Vec::new();
    for i in 0..seg.n_tokens() {
        let Some(token) = seg.get_token(i) else { continue };
        let data = token.token_data();
        if data.id >= eot {
            continue; // timestamps and other special tokens
        }
        // Bytes, not text: a Mandarin character may be split across tokens.
        let Ok(piece) = token.to_bytes() else { continue };
        let Some(&first) = piece.first() else { continue };
        // A token opens a word when it starts with a space or a character (Mandarin has no
        // spaces: each character is its own unit), not when it continues one.
        let starts_word = first == b' ' || first >= 0xC0 || i == 0;
        if cut.keep(starts_word, data.t_dtw, piece) {
            out.extend_from_slice(piece);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
