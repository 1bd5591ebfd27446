//! `callbot emotion [--json] FILE...` (score recordings) and `callbot train emotion
//! MANIFEST.csv` (fit the voice model on labelled recordings).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::emotion::{EmotionModel, acoustic, corpus, file, train};
use crate::media;

#[derive(Args)]
pub struct EmotionArgs {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Per-utterance scores, features and the curve, as JSON (one object per file)
    #[arg(long)]
    json: bool,
    /// A model file from `callbot train emotion` [default: the built-in one]
    #[arg(long)]
    model: Option<PathBuf>,
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(subcommand)]
    command: TrainCommand,
}

#[derive(Subcommand)]
enum TrainCommand {
    /// Fit the voice emotion model on a manifest with `file`, `label` and `speaker` columns
    Emotion {
        manifest: PathBuf,
        /// Where to write the model
        #[arg(long, default_value = "models/emotion.json")]
        out: PathBuf,
    },
}

pub fn run(args: EmotionArgs) -> anyhow::Result<ExitCode> {
    let model = Arc::new(EmotionModel::from_file_or_built_in(args.model.as_deref())?);
    let mut failed = false;
    for path in &args.files {
        let scored = media::load_for_asr(path).map(|pcm| file::analyse(Arc::clone(&model), &pcm));
        let name = path.display();
        match scored {
            Err(e) => {
                eprintln!("error: {name}: {e:#}");
                failed = true;
            }
            Ok(f) if args.json => {
                println!("{}", serde_json::json!({ "file": name.to_string(), "emotion": f }))
            }
            Ok(f) => match &f.overall {
                Some(s) => println!(
                    "{name}: {} (confidence {:.2}) arousal {:.2} valence {:+.2}, {} utterance(s)",
                    s.label.as_str(),
                    s.confidence,
                    s.arousal,
                    s.valence,
                    f.utterances.len()
                ),
                None => println!("{name}: no speech to score"),
            },
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub fn run_train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let TrainCommand::Emotion { manifest, out } = args.command;
    let clips = corpus::load(&manifest)?;
    let skipped = clips.iter().filter(|c| c.features.is_none()).count();
    let samples: Vec<train::Sample> = corpus::samples(&clips).into_iter().map(|(_, s)| s).collect();
    let cold: Vec<train::Sample> = corpus::cold_samples(&clips).into_iter().map(|(_, s)| s).collect();
    anyhow::ensure!(
        samples.iter().any(|s| s.label == "angry") && samples.iter().any(|s| s.label != "angry"),
        "{}: need angry and other clips with voiced speech to train",
        manifest.display()
    );
    let trained_on = format!("{} ({} clips)", manifest.display(), samples.len());
    let model = train::train(&acoustic::NAMES, &samples, &cold, trained_on);
    let json = serde_json::to_string_pretty(&model)? + "\n";
    std::fs::write(&out, json).with_context(|| format!("writing {}", out.display()))?;
    let v = &model.validation;
    println!(
        "trained on {} clips from {} speakers ({skipped} without enough voice skipped) -> {}",
        v.clips,
        v.speakers,
        out.display()
    );
    println!(
        "leave-one-speaker-out: angry-vs-neutral AUC {:.3}, arousal (high vs low) AUC {:.3} \
         (each clip on its own, no speaker baseline: {:.3} and {:.3})",
        v.angry_vs_neutral_auc, v.arousal_auc, v.cold_angry_vs_neutral_auc, v.cold_arousal_auc
    );
    println!("{:<20} {:>8} {:>8}", "feature", "arousal", "anger");
    for (i, name) in model.features.iter().enumerate() {
        println!("{name:<20} {:>+8.2} {:>+8.2}", model.arousal.weights[i], model.anger.weights[i]);
    }
    Ok(ExitCode::SUCCESS)
}
