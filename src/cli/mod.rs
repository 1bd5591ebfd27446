//! Command line: `callbot <command>`. Each subcommand lives in its own file; this one parses
//! arguments and turns errors into a message and a non-zero exit code.

mod chat;
mod dialplan;
mod emotion;
mod eval;
mod models;
mod say;
mod serve;
mod transcribe;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::models::ModelsDir;

#[derive(Parser)]
#[command(
    name = "callbot",
    version,
    about = "Voice contact-center bot: local speech-to-text, dialplans, SIP and WebRTC"
)]
pub struct Cli {
    /// Where Whisper models are stored [default: ~/.local/share/callbot/models]
    #[arg(long, global = true, env = "CALLBOT_MODELS_DIR")]
    models_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: answer SIP and WebRTC calls, serve the call API
    Serve(serve::ServeArgs),
    /// Fetch, convert, list and check Whisper models
    Models(models::ModelsArgs),
    /// Transcribe audio files (WAV or FLAC, any sample rate)
    Transcribe(transcribe::TranscribeArgs),
    /// Measure quality against labelled data
    Eval(eval::EvalArgs),
    /// Validate dialplans
    Dialplan(dialplan::DialplanArgs),
    /// Talk to the bot in text, one utterance per line (how dialplan authors test flows)
    Chat(chat::ChatArgs),
    /// Speak a text into a WAV file with the TTS engine
    Say(say::SayArgs),
    /// Score how the speaker in recordings feels (arousal, valence, label), per utterance
    Emotion(emotion::EmotionArgs),
    /// Train the models callbot trains itself (the voice emotion model)
    Train(emotion::TrainArgs),
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let models_dir = cli.models_dir.map(ModelsDir::new).unwrap_or_else(ModelsDir::from_env);
    let result = match cli.command {
        Command::Serve(args) => serve::run(args, &models_dir),
        Command::Models(args) => models::run(args, &models_dir),
        Command::Transcribe(args) => transcribe::run(args, &models_dir),
        Command::Eval(args) => eval::run(args, &models_dir),
        Command::Dialplan(args) => dialplan::run(args),
        Command::Say(args) => say::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Emotion(args) => emotion::run(args),
        Command::Train(args) => emotion::run_train(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
