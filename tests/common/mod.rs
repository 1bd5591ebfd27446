//! Shared helpers for integration tests: the real `callbot` binary, the shared recordings and
//! the installed models (installed by `scripts/test.sh` before the tests run).
#![allow(dead_code)]

pub mod rtp_caller;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What `en_asr/audio/jfk.wav` says.
pub const JFK: &str =
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";

pub fn callbot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_callbot"))
}

pub fn run(args: &[&str]) -> Output {
    callbot().args(args).output().expect("callbot binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `../shared/data` beside the checkout, or `CALLBOT_TEST_DATA`.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("CALLBOT_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    assert!(dir.join("en_asr/manifest.csv").exists(), "test recordings not found at {}", dir.display());
    dir
}

pub fn data(rel: &str) -> String {
    data_dir().join(rel).to_string_lossy().into_owned()
}

/// Lowercase words without punctuation, for robust "contains" checks.
pub fn words(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() || c.is_whitespace() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes mono 16-bit PCM.
pub fn write_wav(path: &Path, rate: u32, samples: &[f32]) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).expect("write sample");
    }
    w.finalize().expect("finalize wav");
}
