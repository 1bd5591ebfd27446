//! Routing on the caller's voice in a live call: the real call driver, models and emotion
//! model, a real recorded speaker over paced PCMU RTP (in-memory link, as in call_driver.rs).
//! The speaker talks calmly three times, then angrily twice: the dialplan's "angry for two
//! utterances" rule must transfer with priority 1, and the record must carry every score.

mod common;

use std::time::Duration;

use callbot::call::CallEvent;
use callbot::call::driver::CallControl;
use callbot::server::{ServerConfig, load};

/// The demo dialplan with only two rules: the emotion transfer, and "tell me more" for the
/// rest (the German speech is not a shop question, and must not be routed as one).
const RULES: &str = r#"
[[rules]]
id = "E1"
text = "A caller who has sounded angry for two utterances in a row goes to a person with top priority."
when = { emotion = "angry", emotion_streak_at_least = 2 }
action = "transfer"
queue = "complaints"
priority = 1
say.en = "I'm putting you through to a senior colleague now."

[[rules]]
id = "M1"
text = "Anything else: the bot listens."
action = "ask"
say.en = "I see. Tell me more."
"#;

fn dialplan(dir: &std::path::Path) -> std::path::PathBuf {
    let plan = dir.join("dialplan");
    std::fs::create_dir_all(&plan).expect("mkdir");
    let demo = std::path::Path::new(callbot::dialplan::DEMO_DIR);
    for entry in std::fs::read_dir(demo).expect("demo dialplan") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, plan.join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(plan.join("rules.toml"), RULES).expect("rules");
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_turns_angry_is_transferred_with_priority() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = ServerConfig { data_dir: dir.path().to_path_buf(), dialplan: dialplan(dir.path()), ..Default::default() };
    let loaded = tokio::task::spawn_blocking(move || load(&cfg)).await.expect("joins").expect("server loads");
    let services = loaded.services;
    let mut events = services.calls.subscribe();

    let common::rtp_caller::TestCall { inbound: in_tx, outbound: mut out_rx, control: ctl_tx, handle: call } =
        common::rtp_caller::start(&services, "e1", false);

    // EmoDB speaker 03: calm three times, then angry twice, 2 s apart.
    let clips = [
        "emodb_03a01Nc.wav",
        "emodb_trim_03a02Nc.wav",
        "emodb_trim_03a04Nc.wav",
        "emodb_03a01Wa.wav",
        "emodb_trim_03a02Wb.wav",
    ];
    let mut speech = vec![0.0f32; 8000];
    for clip in clips {
        speech.extend(common::rtp_caller::audio_8k(&common::data(&format!("emotion/audio/{clip}"))));
        speech.extend(vec![0.0f32; 16000]);
    }
    speech.extend(vec![0.0f32; 8000 * 4]);
    let sender = common::rtp_caller::send_paced(speech, in_tx);

    let mut scores = Vec::new();
    let mut transfer = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while transfer.is_none() && tokio::time::Instant::now() < deadline {
        tokio::select! {
            Some(_) = out_rx.recv() => {}
            Ok(rec) = events.recv() => match &rec.event {
                CallEvent::Emotion(e) => scores.push(e.clone()),
                CallEvent::TransferRequested { queue, priority, rule, .. } => {
                    transfer = Some((queue.clone(), *priority, rule.clone()))
                }
                _ => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    let summary: Vec<String> = scores
        .iter()
        .map(|e| {
            let v = e.score.voice.map(|v| format!("arousal {:.2} anger {:.2}", v.arousal, v.anger));
            format!("{} ms: {} ({})", e.end_ms, e.score.label.as_str(), v.unwrap_or_else(|| "no voice".into()))
        })
        .collect();
    println!("emotion per utterance: {summary:#?}");
    assert_eq!(transfer, Some(("complaints".into(), 1, Some("E1".into()))), "{summary:#?}");
    assert_eq!(scores.len(), clips.len(), "every utterance scored: {summary:#?}");
    assert!(scores[..3].iter().all(|e| e.score.label.as_str() != "angry"), "calm is not angry: {summary:#?}");
    let curve: Vec<f32> = scores.iter().map(|e| e.curve.arousal).collect();
    assert!(curve[4] > curve[2], "the curve rises with the anger: {curve:?}");

    ctl_tx.send(CallControl::RemoteHangup { reason: "test over".into() }).await.expect("call still running");
    tokio::time::timeout(Duration::from_secs(20), call).await.expect("call ends").expect("joins");
    drop(sender);
    let detail = services.calls.get("e1").expect("call recorded");
    assert_eq!(detail.emotion.len(), clips.len());
    assert_eq!(detail.emotion_curve.len(), clips.len());
    let turn = detail.turns.iter().find(|t| t.rule.as_deref() == Some("E1")).expect("the transfer turn");
    assert!(turn.reason.contains("sounds angry"), "{}", turn.reason);
}

#[test]
fn a_broken_or_foreign_emotion_model_is_refused_at_startup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("my-emotion.json");
    let start = |path: &std::path::Path| {
        let cfg = ServerConfig {
            data_dir: dir.path().to_path_buf(),
            emotion_model: Some(path.to_path_buf()),
            ..Default::default()
        };
        match load(&cfg) {
            Ok(_) => panic!("the server started with {}", path.display()),
            Err(e) => format!("{e:#}"),
        }
    };
    std::fs::write(&path, "{ not a model").expect("write");
    let err = start(&path);
    assert!(err.contains("my-emotion.json"), "{err}");
    // Trained on other features (an older build): refused, with what to do about it.
    let built_in = concat!(env!("CARGO_MANIFEST_DIR"), "/models/emotion.json");
    let mut model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(built_in).expect("built-in model")).expect("json");
    model["features"][0] = "pitch_mean_hz".into();
    std::fs::write(&path, model.to_string()).expect("write");
    assert!(start(&path).contains("retrain with `callbot train emotion`"), "{}", start(&path));
}
