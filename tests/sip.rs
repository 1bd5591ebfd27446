//! SIP callers against the real `callbot serve`: SIPp (sip-tester) streaming real recorded
//! speech, pressing keys, and waiting for our BYE at shutdown. Each test runs in its own
//! loopback-only network namespace.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::server::{Server, bot_text, caller_text, in_loopback_namespace, ulaw_8k, word_recall};
use serde_json::Value;

const TIMIT: &str = "She had your dark suit in greasy wash water all year.";

/// A scenario from tests/sipp with `[audio]` replaced (SIPp does not substitute inside rtp_stream).
fn scenario(name: &str, audio: Option<&Path>, dir: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp").join(name);
    let mut text = std::fs::read_to_string(&src).expect("scenario");
    if let Some(a) = audio {
        text = text.replace("[audio]", &a.to_string_lossy());
    }
    let out = dir.join(name);
    std::fs::write(&out, text).expect("write scenario");
    out.to_string_lossy().into_owned()
}

/// Runs SIPp to completion: `calls` calls, `concurrent` at once, each lasting `hold_ms` after
/// the answer. Returns SIPp's exit status and its output.
fn sipp(server: &Server, scenario: &str, calls: u32, concurrent: u32, hold_ms: u32, dir: &Path) -> (bool, String) {
    let out = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", server.sip_port))
        .args(["-sf", scenario, "-s", "shop", "-i", "127.0.0.1", "-p", "25061", "-mi", "127.0.0.1", "-mp", "42000"])
        .args(["-m", &calls.to_string(), "-l", &concurrent.to_string(), "-r", "10"])
        .args(["-d", &hold_ms.to_string(), "-timeout", "120s", "-timeout_error", "-nostdin"])
        .current_dir(dir)
        .output()
        .expect("sipp runs (apt install sip-tester)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn ended(calls: &[Value]) -> usize {
    calls.iter().filter(|c| c["state"] == "ended").count()
}

#[test]
fn ten_concurrent_sipp_callers_are_heard_answered_and_can_interrupt() {
    if !in_loopback_namespace("ten_concurrent_sipp_callers_are_heard_answered_and_can_interrupt") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(18080, 15060);
    let audio = ulaw_8k(Path::new(&common::data("en_asr/audio/timit_LDC93S1.wav")), dir.path());
    let sf = scenario("uac_speech.xml", Some(&audio), dir.path());
    // Each caller speaks over the greeting (3 s of speech), then listens to the answer.
    let (ok, out) = sipp(&server, &sf, 10, 10, 15_000, dir.path());
    assert!(ok, "SIPp calls failed:\n{out}\n{}", server.log());
    let calls = server.wait_calls(Duration::from_secs(30), "10 ended calls", |c| ended(c) == 10);
    for summary in &calls {
        let call = server.call(summary["id"].as_str().expect("id"));
        let heard = caller_text(&call);
        let recall = word_recall(TIMIT, &heard);
        assert!(recall >= 0.8, "caller's words in the transcript ({recall:.2}): {heard:?}");
        assert!(call["barge_ins"].as_u64() >= Some(1), "speaking over the greeting stopped it: {call:#}");
        let turns = call["turns"].as_array().expect("turns");
        assert!(turns.len() >= 2, "the bot answered what it heard: {call:#}");
        assert!(turns[1]["rule"].is_string(), "the answer cites its rule");
        assert!(!bot_text(&call).is_empty());
        assert_eq!(call["channel"], "sip");
    }
    assert!(server.stop().success(), "graceful shutdown");
}

#[test]
fn pressing_0_reaches_an_agent_queue() {
    if !in_loopback_namespace("pressing_0_reaches_an_agent_queue") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(18080, 15060);
    let sf = scenario("uac_dtmf0.xml", None, dir.path());
    let (ok, out) = sipp(&server, &sf, 1, 1, 4_000, dir.path());
    assert!(ok, "SIPp call failed:\n{out}\n{}", server.log());
    let calls = server.wait_calls(Duration::from_secs(10), "the call to end", |c| ended(c) == 1);
    let call = server.call(calls[0]["id"].as_str().expect("id"));
    assert_eq!(call["dtmf"], "0", "{call:#}");
    let transfer = call["turns"].as_array().and_then(|t| t.iter().find(|t| t["action"] == "transfer")).cloned();
    let transfer = transfer.unwrap_or_else(|| panic!("no transfer: {call:#}"));
    assert_eq!(transfer["intent"], "human_agent");
    assert!(transfer["queue"].is_string() && transfer["rule"].is_string(), "{transfer:#}");
}

#[test]
fn shutdown_hangs_up_live_calls_and_keeps_their_records() {
    if !in_loopback_namespace("shutdown_hangs_up_live_calls_and_keeps_their_records") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(18080, 15060);
    let audio = ulaw_8k(Path::new(&common::data("en_asr/audio/jfk.wav")), dir.path());
    let sf = scenario("uac_wait_bye.xml", Some(&audio), dir.path());
    let sipp_dir = dir.path().to_path_buf();
    let port = server.sip_port;
    let caller = std::thread::spawn(move || {
        let out = Command::new("sipp")
            .arg(format!("127.0.0.1:{port}"))
            .args(["-sf", &sf, "-s", "shop", "-i", "127.0.0.1", "-p", "25062", "-mi", "127.0.0.1", "-mp", "43000"])
            .args(["-m", "2", "-l", "2", "-timeout", "120s", "-timeout_error", "-nostdin"])
            .current_dir(&sipp_dir)
            .output()
            .expect("sipp runs");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    });
    // Both callers are talking: their speech is being transcribed.
    server.wait_calls(Duration::from_secs(30), "two calls with speech", |calls| {
        calls.len() == 2 && calls.iter().all(|c| c["state"] == "active" && c["duration_ms"].as_u64() > Some(3000))
    });
    let ids: Vec<String> = server.calls().iter().filter_map(|c| c["id"].as_str().map(String::from)).collect();
    let status = server.stop();
    assert!(status.success(), "graceful shutdown exits 0");
    let (ok, out) = caller.join().expect("sipp thread");
    assert!(ok, "both callers got our BYE and the calls completed:\n{out}");
    // The record survives the server: every call, ended, with its events.
    let store = callbot::store::CallStore::open(&server.data_dir.path().join("calls.db")).expect("opens");
    for id in ids {
        let detail = store.detail(&id).expect("reads").unwrap_or_else(|| panic!("call {id} was saved"));
        assert_eq!(detail["state"], "ended");
        assert_eq!(detail["end_reason"], "the server is shutting down");
        assert!(store.event_count(&id).expect("count") > 3);
    }
}
