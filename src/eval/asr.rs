//! `callbot eval asr`: word error rate (English) and character error rate (Mandarin) of the
//! recogniser against a manifest, in file or streaming mode, with real-time factor and (when
//! paced in real time) end-of-speech → final latency.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

use super::manifest::Entry;
use super::metrics::{ErrorCounts, char_errors, percentile, word_errors};
use super::normalize::normalize;
use crate::asr::engine::{DecodeOptions, Decoder, Window};
use crate::asr::offline::{self, load_model};
use crate::asr::pool::AsrPool;
use crate::asr::stream::StreamConfig;
use crate::asr::{AsrError, Language, SAMPLE_RATE};
use crate::media;
use crate::models::ModelsDir;

#[derive(Debug, Clone)]
pub struct AsrEvalOptions {
    pub model: Option<String>,
    /// Overrides each row's language.
    pub language: Option<Language>,
    pub streaming: bool,
    pub realtime: bool,
    pub threads: usize,
    pub stream: StreamConfig,
    /// Streaming: try doubtful finals in the other language with `base`, as calls do.
    pub identify: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub file: String,
    pub language: String,
    pub model: String,
    pub duration_s: f64,
    pub processing_s: f64,
    /// "word" (WER) or "char" (CER).
    pub unit: &'static str,
    pub errors: ErrorCounts,
    /// Streaming mode: the errors of the finals alone, before any revision (what the dialog
    /// acted on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finals_errors: Option<ErrorCounts>,
    pub reference: String,
    pub hypothesis: String,
    pub eos_to_final_ms: Vec<u64>,
    /// Streaming mode: each utterance's final, and its revision if it had one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub utterances: Vec<offline::StreamedUtterance>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub wer: Option<f64>,
    pub cer: Option<f64>,
    /// Streaming mode: the finals alone, before revision.
    pub finals_wer: Option<f64>,
    pub finals_cer: Option<f64>,
    pub files: usize,
    pub rtf: f64,
    pub latency_p50_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
}

enum Engine {
    File(Decoder),
    Streaming(AsrPool),
}

/// The multilingual model that identifies doubtful finals (`--identify`).
const IDENTIFIER_MODEL: &str = "base";

pub fn run(
    entries: &[Entry],
    dir: &ModelsDir,
    opts: &AsrEvalOptions,
    mut on_file: impl FnMut(&Result<FileResult, String>, &Entry),
) -> Result<(Vec<FileResult>, Summary), AsrError> {
    let mut engines: HashMap<String, (String, Engine)> = HashMap::new();
    let identifier = match opts.identify && opts.streaming {
        true => Some(offline::pool_for(load_model(dir, Some(IDENTIFIER_MODEL), Language::Zh)?)?),
        false => None,
    };
    let mut results = Vec::new();
    for entry in entries.iter().filter(|e| !e.row.transcript.trim().is_empty()) {
        let language = match opts.language.map_or_else(|| row_language(&entry.row.language), Ok) {
            Ok(language) => language,
            Err(e) => {
                on_file(&Err(e), entry);
                continue;
            }
        };
        let model_name = opts.model.clone().unwrap_or_else(|| language.default_model().to_string());
        let key = format!("{model_name}/{}", language.code());
        if !engines.contains_key(&key) {
            let model = load_model(dir, Some(&model_name), language)?;
            let engine = if opts.streaming {
                Engine::Streaming(offline::pool_for(model.clone())?)
            } else {
                Engine::File(model.decoder()?)
            };
            engines.insert(key.clone(), (model.name.clone(), engine));
        }
        let (model, engine) = engines.get_mut(&key).expect("inserted above");
        let outcome = score_file(entry, language, model, engine, identifier.as_ref(), opts);
        on_file(&outcome, entry);
        if let Ok(r) = outcome {
            results.push(r);
        }
    }
    let summary = summarise(&results);
    Ok((results, summary))
}

/// The language a row is decoded in: its tag, English when it has none.
fn row_language(tag: &str) -> Result<Language, String> {
    if tag.trim().is_empty() {
        return Ok(Language::En);
    }
    Language::from_tag(tag)
        .ok_or_else(|| format!("language `{tag}` is not one callbot transcribes (en or zh; or pass --lang)"))
}

fn score_file(
    entry: &Entry,
    language: Language,
    model: &str,
    engine: &mut Engine,
    identifier: Option<&AsrPool>,
    opts: &AsrEvalOptions,
) -> Result<FileResult, String> {
    let pcm = media::load_for_asr(&entry.path).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut utterances: Vec<offline::StreamedUtterance> = Vec::new();
    let mut finals_text = None;
    let (hypothesis, latencies) = match engine {
        Engine::File(decoder) => {
            let mut o = DecodeOptions::new(language, Window::Full);
            o.threads = opts.threads;
            (offline::transcribe_file(decoder, &pcm, &o).map_err(|e| e.to_string())?.text, Vec::new())
        }
        Engine::Streaming(pool) => {
            let t = offline::transcribe_streaming_with(pool, identifier, &pcm, language, &opts.stream, opts.realtime)
                .map_err(|e| e.to_string())?;
            if let Some(f) = t.failures.first() {
                return Err(format!("decode failed: {f}"));
            }
            // Wall-clock latency only means something when the audio arrived in real time.
            let latencies =
                if opts.realtime { t.utterances.iter().map(|u| u.eos_to_final_ms).collect() } else { Vec::new() };
            finals_text = Some(t.finals_text());
            utterances = t.utterances;
            (t.text, latencies)
        }
    };
    let processing_s = started.elapsed().as_secs_f64();
    let tagged_zh = Language::from_tag(&entry.row.language) == Some(Language::Zh);
    let lang = if language == Language::Zh || tagged_zh { "zh" } else { "en" };
    let (reference, hyp_norm) = (normalize(&entry.row.transcript, lang), normalize(&hypothesis, lang));
    let score = |hypothesis: &str| {
        if lang == "zh" { char_errors(&reference, hypothesis) } else { word_errors(&reference, hypothesis) }
    };
    let unit = if lang == "zh" { "char" } else { "word" };
    let errors = score(&hyp_norm);
    let finals_errors = finals_text.map(|t| score(&normalize(&t, lang)));
    Ok(FileResult {
        file: entry.row.file.clone(),
        language: lang.to_string(),
        model: model.to_string(),
        duration_s: pcm.len() as f64 / SAMPLE_RATE as f64,
        processing_s,
        unit,
        errors,
        finals_errors,
        reference: entry.row.transcript.clone(),
        hypothesis,
        eos_to_final_ms: latencies,
        utterances,
    })
}

pub fn summarise(results: &[FileResult]) -> Summary {
    let pooled_by = |unit: &str, errors: &dyn Fn(&FileResult) -> Option<ErrorCounts>| {
        let mut total = ErrorCounts::default();
        let mut any = false;
        for e in results.iter().filter(|r| r.unit == unit).map(errors) {
            total += e?;
            any = true;
        }
        any.then(|| total.rate())
    };
    let pooled = |unit: &str| pooled_by(unit, &|r| Some(r.errors));
    let finals = |unit: &str| pooled_by(unit, &|r| r.finals_errors);
    let audio: f64 = results.iter().map(|r| r.duration_s).sum();
    let processing: f64 = results.iter().map(|r| r.processing_s).sum();
    let mut latencies: Vec<u64> = results.iter().flat_map(|r| r.eos_to_final_ms.iter().copied()).collect();
    latencies.sort_unstable();
    Summary {
        wer: pooled("word"),
        cer: pooled("char"),
        finals_wer: finals("word"),
        finals_cer: finals("char"),
        files: results.len(),
        rtf: if audio > 0.0 { processing / audio } else { 0.0 },
        latency_p50_ms: percentile(&latencies, 0.5),
        latency_p95_ms: percentile(&latencies, 0.95),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_decoded_in_the_language_their_tag_names() {
        for (tag, language) in
            [("", Language::En), ("en", Language::En), ("en-US", Language::En), ("English", Language::En)]
        {
            assert_eq!(row_language(tag), Ok(language), "{tag:?}");
        }
        for tag in ["zh", "zh-CN", "cmn_Hans", "cmn", "Mandarin", " ZH "] {
            assert_eq!(row_language(tag), Ok(Language::Zh), "{tag:?}");
        }
        let err = row_language("fr").unwrap_err();
        assert!(err.contains("`fr`") && err.contains("--lang"), "{err}");
    }
}
