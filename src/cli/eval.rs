//! `callbot eval asr MANIFEST.csv [--model M] [--streaming] [--realtime]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::asr::Language;
use crate::asr::stream::StreamConfig;
use crate::eval::asr::{self, AsrEvalOptions};
use crate::eval::manifest;
use crate::models::ModelsDir;

#[derive(Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    command: EvalCommand,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// WER (English) / CER (Mandarin) against a manifest's transcripts
    Asr(AsrArgs),
    /// How many simultaneous live streams one box keeps up with: N real-time replays of FILE
    /// through one shared decoder pool
    AsrLoad {
        file: PathBuf,
        #[arg(long, default_value_t = 4)]
        streams: usize,
        #[arg(long)]
        model: Option<String>,
        #[arg(long, value_enum, default_value_t = Language::En)]
        lang: Language,
        /// Partial hypotheses interval, ms (0 = off)
        #[arg(long, default_value_t = 1000)]
        partial_interval_ms: u32,
    },
    /// Voice emotion on labelled recordings (`file`, `label`, `speaker` columns): accuracy per
    /// label, angry-vs-neutral ROC AUC, arousal ordering, confusion matrix
    Emotion {
        manifest: PathBuf,
        /// A model file from `callbot train emotion` [default: the built-in one]
        #[arg(long, conflicts_with = "leave_speaker_out")]
        model: Option<PathBuf>,
        /// Score each speaker with a model trained on the manifest's other speakers
        #[arg(long)]
        leave_speaker_out: bool,
        /// The whole report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Intent accuracy, per-intent precision/recall and confusions on a JSONL file of
    /// {"text", "lang", "intent"} lines
    Intents {
        file: PathBuf,
        /// Dialplan directory [default: the demo dialplan]
        #[arg(long, env = "CALLBOT_DIALPLAN")]
        dialplan: Option<PathBuf>,
        /// The whole report as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct AsrArgs {
    manifest: PathBuf,
    /// Model name or GGML path [default: tiny.en for English rows, base for Mandarin]
    #[arg(long)]
    model: Option<String>,
    /// Decode every row in this language instead of the manifest's
    #[arg(long, value_enum)]
    lang: Option<Language>,
    /// Run the live streaming engine instead of file mode
    #[arg(long)]
    streaming: bool,
    /// Pace the audio in real time (streaming mode), so end-of-speech latency is real
    #[arg(long, requires = "streaming")]
    realtime: bool,
    /// Silence that ends an utterance in streaming mode, ms
    #[arg(long)]
    hangover_ms: Option<u32>,
    /// Audio kept before detected speech in streaming mode, ms
    #[arg(long)]
    pre_roll_ms: Option<u32>,
    /// Silence after which an utterance is decoded early in streaming mode, ms (0: never)
    #[arg(long)]
    pause_ms: Option<u32>,
    /// Silence after which a complete-sounding early decode ends the turn, ms
    #[arg(long)]
    complete_silence_ms: Option<u32>,
    /// Audio kept after the last voiced chunk in streaming mode, ms
    #[arg(long)]
    tail_ms: Option<u32>,
    /// Encoder context beyond each utterance in streaming mode, in 20 ms frames
    #[arg(long)]
    context_margin: Option<u32>,
    /// Beam width for streaming finals (1 = greedy)
    #[arg(long)]
    final_beam_size: Option<usize>,
    /// Audio before each utterance that Whisper hears as context in streaming mode, ms
    #[arg(long)]
    left_context_ms: Option<u32>,
    /// Utterances split at pauses up to this long are decoded again together for the
    /// transcript, ms (streaming mode; 0: never)
    #[arg(long)]
    revise_gap_ms: Option<u32>,
    /// Prompt each utterance with the previous finals (streaming mode)
    #[arg(long)]
    condition_on_previous_text: bool,
    /// Streaming: try finals the model doubts again in the other language with `base`, which
    /// also identifies the language, as live calls do (e.g. `--lang en --identify` on Mandarin)
    #[arg(long)]
    identify: bool,
    /// One JSON object per file instead of the table
    #[arg(long)]
    json: bool,
    /// Print reference and hypothesis for every file with errors
    #[arg(short, long)]
    verbose: bool,
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.2}%", v * 100.0)).unwrap_or_else(|| "n/a".into())
}

pub fn run(args: EvalArgs, dir: &ModelsDir) -> anyhow::Result<ExitCode> {
    match args.command {
        EvalCommand::AsrLoad { file, streams, model, lang, partial_interval_ms } => {
            let model = crate::asr::offline::load_model(dir, model.as_deref(), lang)?;
            let pool = std::sync::Arc::new(crate::asr::offline::pool_for(model)?);
            let pcm = std::sync::Arc::new(crate::media::load_for_asr(&file)?);
            let cfg = StreamConfig { partial_interval_ms, ..StreamConfig::default() };
            let report = crate::eval::load::run(pool, pcm, streams, lang, cfg)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        EvalCommand::Asr(args) => run_asr(args, dir),
        EvalCommand::Intents { file, dialplan, json } => run_intents(&file, dialplan.as_deref(), json),
        EvalCommand::Emotion { manifest, model, leave_speaker_out, json } => {
            run_emotion(&manifest, model.as_deref(), leave_speaker_out, json)
        }
    }
}

fn run_asr(args: AsrArgs, dir: &ModelsDir) -> anyhow::Result<ExitCode> {
    let AsrArgs {
        manifest,
        model,
        lang,
        streaming,
        realtime,
        hangover_ms,
        pre_roll_ms,
        pause_ms,
        complete_silence_ms,
        tail_ms,
        context_margin,
        final_beam_size,
        left_context_ms,
        revise_gap_ms,
        condition_on_previous_text,
        identify,
        json,
        verbose,
    } = args;
    let entries = manifest::read(&manifest)?;
    let mut stream = StreamConfig::default();
    if let Some(h) = hangover_ms {
        stream.endpoint.hangover_ms = h;
    }
    if let Some(p) = pre_roll_ms {
        stream.endpoint.pre_roll_ms = p;
    }
    if let Some(p) = pause_ms {
        stream.endpoint.pause_ms = p;
    }
    if let Some(c) = complete_silence_ms {
        stream.complete_silence_ms = c;
    }
    if let Some(t) = tail_ms {
        stream.tail_ms = t;
    }
    if let Some(m) = context_margin {
        stream.context_margin = m;
    }
    if let Some(b) = final_beam_size {
        stream.final_beam_size = b;
    }
    if let Some(c) = left_context_ms {
        stream.left_context_ms = c;
    }
    if let Some(g) = revise_gap_ms {
        stream.revise_gap_ms = g;
    }
    stream.condition_on_previous_text = condition_on_previous_text;
    let opts = AsrEvalOptions {
        model,
        language: lang,
        streaming,
        realtime,
        threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        stream,
        identify,
    };
    if !json {
        println!(
            "{:<44} {:>4} {:>6} {:>6} {:>5} {:>8} {:>7}  eos→final ms",
            "file", "lang", "dur_s", "proc_s", "RTF", "err/ref", "rate"
        );
    }
    let mut failures = 0;
    let (_, summary) = asr::run(&entries, dir, &opts, |outcome, entry| match outcome {
        Ok(r) if json => println!("{}", serde_json::to_string(r).unwrap_or_default()),
        Ok(r) => {
            let lat: Vec<String> = r.eos_to_final_ms.iter().map(u64::to_string).collect();
            println!(
                "{:<44} {:>4} {:>6.2} {:>6.2} {:>5.2} {:>8} {:>7}  {}",
                truncate(&r.file, 44),
                r.language,
                r.duration_s,
                r.processing_s,
                r.processing_s / r.duration_s.max(1e-9),
                format!("{}/{}", r.errors.errors(), r.errors.reference_len),
                format!("{:.2}%", r.errors.rate() * 100.0),
                if realtime { lat.join(",") } else { String::new() }
            );
            if verbose && r.errors.errors() > 0 {
                println!("    ref: {}\n    hyp: {}", r.reference, r.hypothesis);
            }
        }
        Err(e) => {
            failures += 1;
            eprintln!("error: {}: {e}", entry.path.display());
        }
    })?;
    println!("RTF {:.3}", summary.rtf);
    if let (Some(p50), Some(p95)) = (summary.latency_p50_ms, summary.latency_p95_ms) {
        println!("end-of-speech→final latency p50 {p50} ms p95 {p95} ms");
    }
    if summary.finals_wer.is_some() || summary.finals_cer.is_some() {
        println!("finals before revision: WER {} CER {}", pct(summary.finals_wer), pct(summary.finals_cer));
    }
    println!("WER {} CER {} files {}", pct(summary.wer), pct(summary.cer), summary.files);
    Ok(if failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("…{}", s.chars().rev().take(n - 1).collect::<Vec<_>>().into_iter().rev().collect::<String>())
    }
}

fn run_intents(file: &std::path::Path, dialplan: Option<&std::path::Path>, json: bool) -> anyhow::Result<ExitCode> {
    let plan = super::dialplan::load(dialplan)?;
    let items = crate::eval::intents::read(file)?;
    let classifier = crate::nlu::IntentClassifier::train(&plan);
    let report = crate::eval::intents::evaluate(&classifier, &items);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<20} {:>9} {:>7} {:>8}", "intent", "precision", "recall", "support");
    for (intent, s) in &report.per_intent {
        println!("{intent:<20} {:>8.1}% {:>6.1}% {:>8}", s.precision * 100.0, s.recall * 100.0, s.support);
    }
    if !report.confusions.is_empty() {
        println!("\nconfusions (expected → got, confidence):");
        for c in &report.confusions {
            println!("  [{}] {} → {} ({:.2})  {}", c.lang, c.expected, c.got, c.confidence, c.text);
        }
    }
    let by_lang: Vec<String> = report.accuracy_by_lang.iter().map(|(l, a)| format!("{l} {:.2}%", a * 100.0)).collect();
    println!("\naccuracy {:.2}% ({}/{}) {}", report.accuracy * 100.0, report.correct, report.total, by_lang.join(" "));
    Ok(ExitCode::SUCCESS)
}

fn run_emotion(
    manifest: &std::path::Path,
    model: Option<&std::path::Path>,
    leave_speaker_out: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let clips = crate::emotion::corpus::load(manifest)?;
    let model =
        if leave_speaker_out { None } else { Some(crate::emotion::EmotionModel::from_file_or_built_in(model)?) };
    let report = crate::eval::emotion::evaluate(&clips, model.as_ref());
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<28} {:>7} {:<9} {:>7} {:>6}  scored", "file", "speaker", "label", "arousal", "anger");
    for c in &report.clips {
        println!(
            "{:<28} {:>7} {:<9} {:>7.2} {:>6.2}  {}",
            truncate(&c.file, 28),
            c.speaker,
            c.label,
            c.arousal,
            c.anger,
            c.predicted.as_str()
        );
    }
    for s in &report.skipped {
        println!("{s}: too little voiced speech, not scored");
    }
    let names: Vec<&str> = crate::emotion::EmotionLabel::ALL.iter().map(|l| l.as_str()).collect();
    println!(
        "\n{:<9} {:>5} {:>8} {:>6} {:>9} {:>8}  confusion: {}",
        "label",
        "clips",
        "arousal",
        "anger",
        "accuracy",
        "arousal✓",
        names.join(" ")
    );
    for (label, s) in &report.per_label {
        let row: Vec<String> =
            names.iter().map(|n| format!("{:>w$}", s.predicted.get(*n).copied().unwrap_or(0), w = n.len())).collect();
        println!(
            "{label:<9} {:>5} {:>8.2} {:>6.2} {:>8.0}% {:>8}  {}",
            s.clips,
            s.mean_arousal,
            s.mean_anger,
            s.accuracy * 100.0,
            s.arousal_accuracy.map(|a| format!("{:.0}%", a * 100.0)).unwrap_or_else(|| "-".into()),
            row.join(" ")
        );
    }
    println!(
        "\narousal order (mean, high to low): {} — {}",
        report.arousal_order.join(" > "),
        if report.arousal_order_holds { "high-arousal labels all rank above low ones" } else { "ORDER VIOLATED" }
    );
    println!(
        "voice features: {:.1} ms of CPU per second of audio ({:.2}% of one core)",
        report.extract_ms_per_s,
        report.extract_ms_per_s / 10.0
    );
    println!(
        "{}: angry-vs-neutral AUC {:.3} arousal AUC {:.3} accuracy {:.1}% clips {}",
        report.mode,
        report.angry_vs_neutral_auc,
        report.arousal_auc,
        report.accuracy * 100.0,
        report.clips.len()
    );
    Ok(ExitCode::SUCCESS)
}
