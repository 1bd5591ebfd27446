//! The models directory: where fetched models live, how a name or a path becomes a checked
//! model file, and what is installed. Each installed file may carry a `<file>.json` manifest
//! (written by `models fetch`) recording its size, SHA-256 and source.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::catalog::{self, ModelSpec};
use super::ggml::{self, GgmlInfo};
use super::{ModelsError, sha256_file};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub model: String,
    pub file: String,
    pub size: u64,
    pub sha256: String,
    /// `official:<url>` or `pypi:<package>==<version>+…` (converted by callbot).
    pub source: String,
    pub callbot_version: String,
}

#[derive(Debug, Clone)]
pub struct ModelsDir {
    pub root: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// Catalogue name, or the file stem for a model given by path.
    pub name: String,
    pub path: PathBuf,
    pub info: GgmlInfo,
}

/// One row of `callbot models list`.
#[derive(Debug, Serialize)]
pub struct InstalledModel {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub source: String,
    pub status: String,
}

/// `$XDG_DATA_HOME`, else `~/.local/share`, else the current directory: where callbot keeps
/// its data (models, call records) unless told otherwise.
pub fn data_home() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
}

impl ModelsDir {
    /// `CALLBOT_MODELS_DIR`, else `$XDG_DATA_HOME/callbot/models`, else `~/.local/share/callbot/models`.
    pub fn from_env() -> Self {
        if let Some(dir) = std::env::var_os("CALLBOT_MODELS_DIR").filter(|d| !d.is_empty()) {
            return Self { root: dir.into() };
        }
        Self { root: data_home().join("callbot/models") }
    }

    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn path_of(&self, spec: &ModelSpec) -> PathBuf {
        self.root.join(spec.ggml_file)
    }

    pub fn manifest_path(model_path: &Path) -> PathBuf {
        let mut name = model_path.as_os_str().to_owned();
        name.push(".json");
        PathBuf::from(name)
    }

    pub fn read_manifest(model_path: &Path) -> Option<Manifest> {
        let text = std::fs::read_to_string(Self::manifest_path(model_path)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// A catalogue name (`tiny.en`) or a path to a GGML file, checked before use.
    pub fn resolve(&self, name_or_path: &str) -> Result<ResolvedModel, ModelsError> {
        let as_path = Path::new(name_or_path);
        let (name, path) = match catalog::find(name_or_path) {
            Some(spec) => (spec.name.to_string(), self.path_of(spec)),
            None if name_or_path.contains(std::path::MAIN_SEPARATOR) || name_or_path.ends_with(".bin") => {
                let stem = as_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                (stem.strip_prefix("ggml-").unwrap_or(&stem).to_string(), as_path.to_path_buf())
            }
            None => return Err(ModelsError::UnknownModel(name_or_path.to_string())),
        };
        if !path.exists() {
            if catalog::find(name_or_path).is_some() {
                return Err(ModelsError::NotInstalled { name, dir: self.root.clone() });
            }
            return Err(ModelsError::io(&path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        let info = check(&path)?;
        Ok(ResolvedModel { name, path, info })
    }

    /// Catalogue models that are present, plus any other `ggml-*.bin` a user put in the directory.
    pub fn list(&self) -> Vec<InstalledModel> {
        let mut rows = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for spec in catalog::MODELS {
            let path = self.path_of(spec);
            if path.exists() {
                seen.insert(path.clone());
                rows.push(describe(spec.name, &path));
            }
        }
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            let mut extra: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    n.starts_with("ggml-") && n.ends_with(".bin") && !seen.contains(p)
                })
                .collect();
            extra.sort();
            for path in extra {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                rows.push(describe(stem.trim_start_matches("ggml-"), &path));
            }
        }
        rows
    }
}

/// Cheap check done before every load: structure, and the size recorded at install time.
pub fn check(path: &Path) -> Result<GgmlInfo, ModelsError> {
    let info = ggml::inspect(path)?;
    if let Some(m) = ModelsDir::read_manifest(path)
        && m.size != info.file_size
    {
        return Err(ModelsError::CorruptModel {
            path: path.to_path_buf(),
            why: format!("size {} differs from the {} bytes recorded when it was installed", info.file_size, m.size),
        });
    }
    Ok(info)
}

/// Full check: structure plus the SHA-256 recorded at install time (when there is a manifest).
pub fn verify(path: &Path) -> Result<GgmlInfo, ModelsError> {
    let info = check(path)?;
    if let Some(m) = ModelsDir::read_manifest(path) {
        let actual = sha256_file(path, |_| {})?;
        if actual != m.sha256 {
            return Err(ModelsError::CorruptModel {
                path: path.to_path_buf(),
                why: format!("SHA-256 {actual} differs from the {} recorded when it was installed", m.sha256),
            });
        }
    }
    Ok(info)
}

fn describe(name: &str, path: &Path) -> InstalledModel {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let source = ModelsDir::read_manifest(path).map(|m| m.source).unwrap_or_else(|| "added by hand".into());
    let status = match check(path) {
        Ok(info) => format!(
            "ok ({}, {}, {} tensors)",
            info.hparams.size_name(),
            if info.hparams.multilingual() { "multilingual" } else { "English-only" },
            info.n_tensors
        ),
        Err(e) => format!("BROKEN: {e}"),
    };
    InstalledModel { name: name.to_string(), path: path.to_path_buf(), size, source, status }
}
