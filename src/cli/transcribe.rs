//! `callbot transcribe [--model M] [--lang en|zh|auto] [--json] [--streaming] FILE...`
//!
//! One file: the transcript alone on one line. Several: one line per file, `name: transcript`.
//! `--json`: one JSON object per file with segments and timings. A file that fails is reported
//! and the others still run; the exit code is non-zero if any failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use crate::asr::Language;
use crate::asr::engine::{DecodeOptions, Window};
use crate::asr::offline::{self, load_model};
use crate::asr::stream::StreamConfig;
use crate::media;
use crate::models::ModelsDir;

#[derive(Args)]
pub struct TranscribeArgs {
    /// Model name (tiny.en, base, …) or path to a GGML file [default: tiny.en for en, base otherwise]
    #[arg(long)]
    model: Option<String>,
    #[arg(long, value_enum, default_value_t = Language::En)]
    lang: Language,
    /// Segments and timings as JSON, one object per file
    #[arg(long)]
    json: bool,
    /// Use the live streaming engine (VAD + per-utterance decoding) instead of file mode
    #[arg(long)]
    streaming: bool,
    /// Decoder threads in file mode [default: all cores]
    #[arg(long)]
    threads: Option<usize>,
    /// Beam width in file mode (1 = greedy)
    #[arg(long, default_value_t = 1)]
    beam_size: usize,
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: TranscribeArgs, dir: &ModelsDir) -> anyhow::Result<ExitCode> {
    let model = load_model(dir, args.model.as_deref(), args.lang)?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let mut opts = DecodeOptions::new(args.lang, Window::Full);
    opts.threads = args.threads.unwrap_or(cores);
    opts.beam_size = args.beam_size.max(1);
    let pool = if args.streaming { Some(offline::pool_for(model.clone())?) } else { None };
    let mut decoder = if args.streaming { None } else { Some(model.decoder()?) };
    let many = args.files.len() > 1;
    let mut failed = false;
    for file in &args.files {
        let name = file.display().to_string();
        let started = Instant::now();
        let result = (|| -> anyhow::Result<serde_json::Value> {
            let pcm = media::load_for_asr(file)?;
            let duration_ms = pcm.len() as u64 * 1000 / crate::asr::SAMPLE_RATE as u64;
            let (text, language, segments) = match (&pool, decoder.as_mut()) {
                (Some(pool), _) => {
                    let t = offline::transcribe_streaming(pool, &pcm, args.lang, &StreamConfig::default(), false)?;
                    let segments = serde_json::to_value(&t.utterances)?;
                    (t.text, t.language, segments)
                }
                (None, Some(decoder)) => {
                    let t = offline::transcribe_file(decoder, &pcm, &opts)?;
                    let segments = serde_json::to_value(&t.segments)?;
                    (t.text, t.language, segments)
                }
                (None, None) => unreachable!("one of pool and decoder is always set"),
            };
            Ok(json!({
                "file": name,
                "model": model.name,
                "language": language,
                "text": text,
                "duration_ms": duration_ms,
                "processing_ms": started.elapsed().as_millis() as u64,
                "segments": segments,
            }))
        })();
        match result {
            Ok(v) if args.json => println!("{v}"),
            Ok(v) => {
                let text = v["text"].as_str().unwrap_or_default();
                if many { println!("{name}: {text}") } else { println!("{text}") }
            }
            Err(e) => {
                failed = true;
                if args.json {
                    println!("{}", json!({"file": name, "error": format!("{e:#}")}));
                }
                eprintln!("error: {name}: {e:#}");
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
