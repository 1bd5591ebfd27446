//! `callbot say [--lang en|zh] [--rate HZ] TEXT -o out.wav`: speak a text with the TTS engine.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::lang::Lang;
use crate::tts::{EspeakConfig, EspeakTts, Tts, write_wav};

#[derive(Args)]
pub struct SayArgs {
    /// What to say
    text: String,
    #[arg(long, value_enum, default_value_t = Lang::En)]
    lang: Lang,
    /// Output sample rate, Hz
    #[arg(long, default_value_t = 16_000)]
    rate: u32,
    /// WAV file to write (16-bit mono)
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: SayArgs) -> anyhow::Result<ExitCode> {
    let tts = EspeakTts::new(EspeakConfig::default())?;
    let pcm = tts.synthesize_all(&args.text, args.lang, args.rate)?;
    write_wav(&args.output, &pcm, args.rate)?;
    eprintln!(
        "{}: {:.2} s at {} Hz ({})",
        args.output.display(),
        pcm.len() as f64 / args.rate as f64,
        args.rate,
        tts.voice_key(args.lang)
    );
    Ok(ExitCode::SUCCESS)
}
