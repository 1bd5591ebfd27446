//! `callbot train emotion`, `callbot emotion` and `callbot eval emotion` on the shared labelled
//! recordings (EmoDB), with the real binary.

mod common;

use common::{data, run, stderr, stdout};
use serde_json::Value;

fn manifest() -> String {
    data("emotion/manifest.csv")
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            (x - y).abs() <= 1e-3 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

/// The weights we commit are exactly what training on the shared set gives, so anyone can
/// check and reproduce them.
#[test]
fn the_committed_model_is_what_training_on_the_shared_recordings_gives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("emotion.json");
    let o = run(&["train", "emotion", &manifest(), "--out", &out.to_string_lossy()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("leave-one-speaker-out: angry-vs-neutral AUC"), "{}", stdout(&o));
    let mut trained: Value = serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("json");
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/models/emotion.json");
    let mut committed: Value =
        serde_json::from_str(&std::fs::read_to_string(committed).expect("committed model")).expect("json");
    for m in [&mut trained, &mut committed] {
        m.as_object_mut().expect("object").remove("trained_on");
    }
    assert!(close(&trained, &committed), "retrain with `callbot train emotion`: {trained:#} vs {committed:#}");
    let auc = trained["validation"]["angry_vs_neutral_auc"].as_f64().expect("auc");
    assert!(auc > 0.9, "speakers the model never heard are still told apart: {auc}");
}

#[test]
fn an_angry_recording_scores_angrier_than_the_same_speaker_calm() {
    let (angry, calm) = (data("emotion/audio/emodb_03a01Wa.wav"), data("emotion/audio/emodb_03a01Nc.wav"));
    let o = run(&["emotion", "--json", &angry, &calm]);
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(files.len(), 2);
    let voice = |f: &Value, what: &str| f["emotion"]["overall"]["voice"][what].as_f64().expect("voice score");
    assert!(voice(&files[0], "anger") > voice(&files[1], "anger") + 0.2, "{files:#?}");
    assert!(voice(&files[0], "arousal") > voice(&files[1], "arousal"), "{files:#?}");
    let utterance = &files[0]["emotion"]["utterances"][0];
    for key in ["start_ms", "end_ms", "arousal", "valence", "label", "confidence", "features"] {
        assert!(!utterance[key].is_null(), "{key} in {utterance}");
    }
    assert!(files[0]["emotion"]["curve"].as_array().is_some_and(|c| !c.is_empty()));

    // Plain output: one line per file, named.
    let o = run(&["emotion", &angry]);
    assert!(stdout(&o).starts_with(&angry) && stdout(&o).contains("arousal"), "{}", stdout(&o));
}

#[test]
fn a_broken_file_is_reported_and_the_others_still_scored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF\x10\x00\x00\x00WAVEfmt garbage").expect("write");
    let silent = dir.path().join("silent.wav");
    common::write_wav(&silent, 16000, &vec![0.0; 16000]);
    let calm = data("emotion/audio/emodb_03a01Nc.wav");
    let o = run(&["emotion", &broken.to_string_lossy(), &silent.to_string_lossy(), &calm]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("broken.wav"), "{}", stderr(&o));
    assert!(stdout(&o).contains("silent.wav: no speech to score"), "{}", stdout(&o));
    assert!(stdout(&o).contains(&format!("{calm}: ")), "{}", stdout(&o));
}

#[test]
fn eval_emotion_reports_accuracy_auc_confusion_and_arousal_order() {
    let o = run(&["eval", "emotion", &manifest()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in ["confusion:", "arousal order", "built-in model: angry-vs-neutral AUC", "accuracy", "clips 37"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    let o = run(&["eval", "emotion", "--leave-speaker-out", "--json", &manifest()]);
    let report: Value = serde_json::from_str(&stdout(&o)).expect("json report");
    assert_eq!(report["mode"], "leave-one-speaker-out");
    assert!(report["per_label"]["angry"]["clips"].as_u64() == Some(11), "{}", report["per_label"]);
}
