//! Evaluation manifests: CSV with at least `file`, `language` and `transcript` columns; `file`
//! is relative to the manifest's folder. Rows without a transcript (VAD-only material) are kept
//! but marked so scorers can skip them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestRow {
    pub file: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub transcript: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub speaker: String,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub row: ManifestRow,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: line {line}: {why}")]
    Row { path: PathBuf, line: u64, why: String },
}

pub fn read(path: &Path) -> Result<Vec<Entry>, ManifestError> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => ManifestError::Io { path: path.to_path_buf(), source },
        other => ManifestError::Row { path: path.to_path_buf(), line: 1, why: format!("{other:?}") },
    })?;
    let mut entries = Vec::new();
    for record in reader.deserialize::<ManifestRow>() {
        let row = record.map_err(|e| ManifestError::Row {
            path: path.to_path_buf(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            why: e.to_string(),
        })?;
        entries.push(Entry { path: base.join(&row.file), row });
    }
    Ok(entries)
}
