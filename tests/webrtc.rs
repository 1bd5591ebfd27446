//! WebRTC callers against the real `callbot serve`: aiortc and headless Chromium, each with a
//! real recording as its microphone, inside a loopback-only network namespace.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::server::{Server, caller_text, in_loopback_namespace, word_recall};
use serde_json::Value;

fn peer_script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(name).to_string_lossy().into_owned()
}

/// Checks a finished WebRTC call: words heard, barge-in, an answer, and audio at the caller.
fn check_call(server: &Server, report: &Value) {
    let id = report["call_id"].as_str().expect("call id").to_string();
    let calls = server.wait_calls(Duration::from_secs(30), "the call to end", |c| {
        c.iter().any(|c| c["id"] == id.as_str() && c["state"] == "ended")
    });
    assert!(calls.iter().any(|c| c["channel"] == "webrtc"));
    let call = server.call(&id);
    let heard = caller_text(&call);
    assert!(word_recall(common::JFK, &heard) >= 0.8, "caller's words in the transcript: {heard:?}");
    assert!(call["barge_ins"].as_u64() >= Some(1), "JFK stopped the greeting: {call:#}");
    assert!(call["turns"].as_array().is_some_and(|t| t.len() >= 2), "the bot answered: {call:#}");
    let (secs, rms) = (report["heard_seconds"].as_f64().unwrap_or(0.0), report["heard_rms"].as_f64().unwrap_or(0.0));
    // JFK's pauses are turns: the bot answers in them and JFK talks over each answer (and,
    // not understood three times, he is transferred), so how much the bot gets to say varies
    // from run to run. What must hold: real audio, and what the bot sent arrived (Chromium's
    // page counts only 20 ms windows louder than -40 dBFS, missing the quiet between words).
    assert!(secs > 1.0 && rms > 0.01, "bot audio at the caller: {secs} s, rms {rms}");
    let sent_s = call["media"]["packets_sent"].as_f64().unwrap_or(0.0) * 0.02;
    assert!(secs >= 0.7 * sent_s - 0.2, "the caller heard {secs} s of the {sent_s} s the bot sent: {call:#}");
}

#[test]
fn an_aiortc_caller_talks_to_the_bot() {
    if !in_loopback_namespace("an_aiortc_caller_talks_to_the_bot") {
        return;
    }
    let mut server = Server::start(18080, 15060);
    let out = Command::new("/usr/bin/python3")
        .arg(peer_script("aiortc_caller.py"))
        .args(["--url", &server.http, "--wav", &common::data("en_asr/audio/jfk.wav"), "--seconds", "22"])
        .output()
        .expect("python3 runs (apt install python3-aiortc)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "aiortc caller: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON report");
    check_call(&server, &report);
    assert!(server.stop().success());
}

#[test]
fn a_browser_calls_through_the_call_us_page() {
    if !in_loopback_namespace("a_browser_calls_through_the_call_us_page") {
        return;
    }
    let mut server = Server::start(18080, 15060);
    let out = Command::new("node")
        .arg(peer_script("chromium_caller.mjs"))
        .args(["--url", &server.http, "--wav", &common::data("en_asr/audio/jfk.wav"), "--seconds", "22"])
        .output()
        .expect("node runs (apt install nodejs chromium; npm install in tests/peers)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chromium caller: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON report");
    // The page itself showed the live transcript of both sides.
    let shown = report["transcript"].as_str().unwrap_or("");
    assert!(common::words(shown).contains("your country"), "page transcript: {shown}");
    assert!(shown.contains("Bot:") && shown.contains("You:"), "page transcript: {shown}");
    check_call(&server, &report);
    assert!(server.stop().success());
}

#[test]
fn a_bad_offer_is_a_clear_400_and_the_server_carries_on() {
    if !in_loopback_namespace("a_bad_offer_is_a_clear_400_and_the_server_carries_on") {
        return;
    }
    let server = Server::start(18080, 15060);
    for body in [
        r#"{"sdp": "v=0 nonsense", "type": "offer"}"#,
        r#"{"type": "offer"}"#,
        "not json",
        r#"{"sdp": "", "type": "answer"}"#,
    ] {
        let resp = ureq::post(&format!("{}/api/webrtc/offer", server.http))
            .header("Content-Type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(body)
            .expect("HTTP works");
        assert_eq!(resp.status().as_u16(), 400, "{body}");
        let mut resp = resp;
        let text = resp.body_mut().read_to_string().expect("body");
        let err: Value = serde_json::from_str(&text).expect("JSON error");
        assert!(err["error"].as_str().is_some_and(|e| !e.is_empty()), "{text}");
    }
    assert!(server.calls().is_empty(), "still serving, and no call was started");
}
