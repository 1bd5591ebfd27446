//! SIP callers against the real `callbot serve`: SIPp (sip-tester) streaming real recorded
//! speech, pressing keys, and waiting for our BYE at shutdown. Each test runs in its own
//! loopback-only network namespace.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::server::{Server, bot_text, caller_text, in_loopback_namespace, pcm_8k, ulaw_8k, word_recall};
use serde_json::Value;

const HARVARD: &str = "At that high level the air is pure.";

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
    sipp_to(server, "shop", scenario, calls, concurrent, hold_ms, dir)
}

/// [`sipp`] dialling `number`.
fn sipp_to(
    server: &Server,
    number: &str,
    scenario: &str,
    calls: u32,
    concurrent: u32,
    hold_ms: u32,
    dir: &Path,
) -> (bool, String) {
    let out = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", server.sip_port))
        .args(["-sf", scenario, "-s", number, "-i", "127.0.0.1", "-p", "25061", "-mi", "127.0.0.1", "-mp", "42000"])
        .args(["-m", &calls.to_string(), "-l", &concurrent.to_string(), "-r", "10"])
        .args(["-d", &hold_ms.to_string(), "-timeout", "120s", "-timeout_error", "-nostdin"])
        .current_dir(dir)
        .output()
        .expect("sipp runs (apt install sip-tester)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Chinese characters in `t`.
fn cjk(t: &str) -> usize {
    t.chars().filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c)).count()
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
    let audio = ulaw_8k(Path::new(&common::data("en_asr/audio/speechbrain_spk1_snt3.wav")), dir.path());
    let sf = scenario("uac_speech.xml", Some(&audio), dir.path());
    // Each caller speaks over the greeting (3 s of speech), then listens to the answer.
    let (ok, out) = sipp(&server, &sf, 10, 10, 15_000, dir.path());
    assert!(ok, "SIPp calls failed:\n{out}\n{}", server.log());
    let calls = server.wait_calls(Duration::from_secs(30), "10 ended calls", |c| ended(c) == 10);
    for summary in &calls {
        let call = server.call(summary["id"].as_str().expect("id"));
        let heard = caller_text(&call);
        let recall = word_recall(HARVARD, &heard);
        assert!(recall >= 0.8, "caller's words in the transcript ({recall:.2}): {heard:?}");
        assert!(call["barge_ins"].as_u64() >= Some(1), "speaking over the greeting stopped it: {call:#}");
        let turns = call["turns"].as_array().expect("turns");
        assert!(turns.len() >= 2, "the bot answered what it heard: {call:#}");
        assert!(turns[1]["rule"].is_string(), "the answer cites its rule");
        assert!(!bot_text(&call).is_empty());
        assert_eq!(call["channel"], "sip");
    }
    assert_eq!(server.metric(r#"callbot_calls_total{channel="sip"}"#), 10.0);
    assert_eq!(server.metric("callbot_calls_active"), 0.0);
    assert_eq!(server.metric("callbot_asr_calls_behind"), 0.0, "no call is still behind once all ended");
    let utterances = server.metric("callbot_caller_utterances_total");
    assert!(utterances >= 10.0, "every caller was transcribed: {utterances}");
    let decodes = server.metric(r#"callbot_asr_decodes_total{lang="en",priority="final"}"#)
        + server.metric(r#"callbot_asr_decodes_total{lang="en",priority="background"}"#);
    assert!(decodes >= utterances, "{decodes} decodes for {utterances} utterances");
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
    let queue = transfer["queue"].as_str().unwrap();
    assert_eq!(server.metric(&format!(r#"callbot_transfers_total{{queue="{queue}"}}"#)), 1.0);
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

/// baresip as a softphone: plays `clip` as its microphone, records what it hears (sndfile).
/// `extra` is more config lines.
fn baresip_config(dir: &Path, clip: &Path, extra: &str) -> std::path::PathBuf {
    let conf = dir.join("baresip");
    std::fs::create_dir_all(conf.join("rec")).expect("mkdir");
    let config = format!(
        "sip_listen 127.0.0.1:25070\nnet_interface 127.0.0.1\ndns_server 127.0.0.1:53\n\
         audio_source aufile,{clip}\naudio_player aufile,/dev/null\naudio_alert aufile,/dev/null\n\
         rtp_ports 41000-41100\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
         module sndfile.so\nsnd_path {rec}\nmodule_app account.so\nmodule_app menu.so\n{extra}",
        clip = clip.display(),
        rec = conf.join("rec").display()
    );
    std::fs::write(conf.join("config"), config).expect("config");
    std::fs::write(conf.join("accounts"), "<sip:caller@127.0.0.1:25070>;regint=0;audio_codecs=PCMU\n")
        .expect("accounts");
    conf
}

#[test]
fn a_baresip_caller_hears_the_bot_and_is_understood() {
    if !in_loopback_namespace("a_baresip_caller_hears_the_bot_and_is_understood") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(18080, 15060);
    // JFK speaks over the greeting, then 15 s of silence while the bot answers (baresip hangs
    // up when its file ends).
    let speech = pcm_8k(Path::new(&common::data("en_asr/audio/jfk.wav")), dir.path());
    let padded = dir.path().join("jfk_padded.wav");
    let status = Command::new("sox").arg(&speech).arg(&padded).args(["pad", "0", "15"]).status().expect("sox");
    assert!(status.success());
    let conf = baresip_config(dir.path(), &padded, "");
    let out = Command::new("baresip")
        .arg("-f")
        .arg(&conf)
        .args(["-t", "24", "-e", &format!("/dial sip:shop@127.0.0.1:{}", server.sip_port)])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("baresip runs (apt install baresip-core)");
    let log = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    assert!(out.status.success(), "baresip: {log}");
    assert!(!log.contains("RTP/RTCP multiplexing enabled"), "no rtcp-mux offered: RTCP on port + 1");
    let calls = server.wait_calls(Duration::from_secs(30), "the call to end", |c| ended(c) == 1);
    let call = server.call(calls[0]["id"].as_str().expect("id"));
    let heard = caller_text(&call);
    assert!(word_recall(common::JFK, &heard) >= 0.8, "caller's words in the transcript: {heard:?}");
    assert!(call["barge_ins"].as_u64() >= Some(1), "JFK stopped the greeting: {call:#}");
    assert!(call["turns"].as_array().is_some_and(|t| t.len() >= 2), "the bot answered: {call:#}");
    // What baresip decoded from our RTP: real audio, seconds of it, not silence.
    let rec = std::fs::read_dir(conf.join("rec"))
        .expect("recordings")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .expect("baresip recorded what it heard");
    let heard_audio = callbot::media::decode::decode_file(&rec).expect("a valid WAV");
    let secs = heard_audio.duration_secs();
    let rms = (heard_audio.samples.iter().map(|s| s * s).sum::<f32>() / heard_audio.samples.len().max(1) as f32).sqrt();
    assert!(secs > 3.0 && rms > 0.02, "bot audio at the caller: {secs:.1} s, rms {rms:.3}");
    // RTCP both ways (baresip sends it on RTP port + 1 by default): our statistics of its
    // stream, and its reports about ours, with a round trip from the LSR/DLSR of our SRs.
    let media = &call["media"];
    eprintln!("media figures of the baresip call: {media:#}");
    assert!(media["packets_received"].as_u64() > Some(500), "about 24 s of 20 ms packets: {media:#}");
    assert!(
        media["packets_lost"].as_i64() == Some(0) && media["jitter_ms"].as_f64() < Some(20.0),
        "loopback: {media:#}"
    );
    assert!(media["rtcp_sent"].as_u64() >= Some(2) && media["rtcp_received"].as_u64() >= Some(2), "{media:#}");
    assert_eq!(media["rtcp_malformed"], 0, "{media:#}");
    assert!(media["caller_cname"].as_str().is_some_and(|c| !c.is_empty()), "baresip's SDES: {media:#}");
    let report = &media["caller_report"];
    assert_eq!((report["packets_lost"].as_i64(), report["fraction_lost"].as_f64()), (Some(0), Some(0.0)), "{media:#}");
    assert!(report["jitter_ms"].as_f64().is_some(), "{media:#}");
    assert!(report["rtt_ms"].as_f64().is_some_and(|rtt| (0.0..100.0).contains(&rtt)), "loopback round trip: {media:#}");
    let data_dir = server.data_dir.path().to_path_buf();
    assert!(server.stop().success());
    // The record has the same figures.
    let store = callbot::store::CallStore::open(&data_dir.join("calls.db")).expect("opens");
    let id = calls[0]["id"].as_str().expect("id");
    let stored = store.detail(id).expect("reads").expect("saved");
    assert_eq!(stored["media"]["caller_report"], *report, "the stored call has the caller's report");
}

#[test]
fn a_baresip_caller_with_rtcp_mux_reports_on_the_rtp_port() {
    if !in_loopback_namespace("a_baresip_caller_with_rtcp_mux_reports_on_the_rtp_port") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(18080, 15060);
    // 12 s of silence: long enough for two report intervals each way.
    let silence = dir.path().join("silence.wav");
    let status = Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&silence)
        .args(["trim", "0", "12"])
        .status()
        .expect("sox");
    assert!(status.success());
    let conf = baresip_config(dir.path(), &silence, "rtcp_mux yes\n");
    let out = Command::new("baresip")
        .arg("-f")
        .arg(&conf)
        .args(["-t", "14", "-e", &format!("/dial sip:shop@127.0.0.1:{}", server.sip_port)])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("baresip runs (apt install baresip-core)");
    let log = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    assert!(out.status.success(), "baresip: {log}");
    assert!(log.contains("RTP/RTCP multiplexing enabled"), "our answer accepted rtcp-mux: {log}");
    let calls = server.wait_calls(Duration::from_secs(30), "the call to end", |c| ended(c) == 1);
    let call = server.call(calls[0]["id"].as_str().expect("id"));
    let media = &call["media"];
    eprintln!("media figures of the muxed baresip call: {media:#}");
    assert!(media["packets_received"].as_u64() > Some(300), "{media:#}");
    assert!(media["rtcp_received"].as_u64() >= Some(1) && media["rtcp_malformed"] == 0, "{media:#}");
    let report = &media["caller_report"];
    assert_eq!(report["packets_lost"].as_i64(), Some(0), "baresip heard our stream whole: {media:#}");
    assert!(report["rtt_ms"].as_f64().is_some_and(|rtt| rtt < 100.0), "our SRs reached it on the RTP port: {media:#}");
    assert!(server.stop().success());
}

/// One SIPp call to `number` speaking Mandarin (8 kHz) by `scenario_name`; returns the call,
/// checked to have been heard as Mandarin and to have gone on in it.
fn mandarin_call(server: &Server, number: &str, scenario_name: &str, dir: &Path) -> Value {
    let audio = ulaw_8k(Path::new(&common::data("zh_asr/audio/modelscope_asr_example_zh.wav")), dir);
    let sf = scenario(scenario_name, Some(&audio), dir);
    let (ok, out) = sipp_to(server, number, &sf, 1, 1, 25_000, dir);
    assert!(ok, "SIPp call failed:\n{out}\n{}", server.log());
    let calls = server.wait_calls(Duration::from_secs(30), "the call to end", |c| ended(c) == 1);
    let call = server.call(calls[0]["id"].as_str().expect("id"));
    let heard = caller_text(&call);
    assert!(cjk(&heard) >= 8, "Mandarin transcribed as Mandarin: {heard:?}");
    assert_eq!(call["lang"], "zh", "the call went on in Mandarin: {call:#}");
    call
}

#[test]
fn a_mandarin_caller_is_answered_in_mandarin() {
    if !in_loopback_namespace("a_mandarin_caller_is_answered_in_mandarin") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(18080, 15060);
    // The greeting offers Chinese on key 2: the caller presses it, then speaks Mandarin.
    let call = mandarin_call(&server, "shop", "uac_dtmf2_speech.xml", dir.path());
    assert_eq!(call["dtmf"], "2", "{call:#}");
    // Turn 1 greets again in Mandarin (the key press); turn 2 answers what was said.
    let turns = call["turns"].as_array().cloned().unwrap_or_default();
    assert!(turns.len() >= 3, "greeting, Mandarin greeting, answer: {call:#}");
    for turn in &turns[1..] {
        assert!(cjk(turn["say"].as_str().unwrap_or("")) >= 4, "the bot spoke Mandarin: {turn:#}");
    }
    assert!(server.stop().success());
}

#[test]
fn a_mandarin_caller_is_followed_into_mandarin_without_a_key() {
    if !in_loopback_namespace("a_mandarin_caller_is_followed_into_mandarin_without_a_key") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(18080, 15060);
    // The English hotline's caller just speaks Mandarin: tiny.en doubts what it heard, the
    // multilingual model hears Mandarin, and the call follows.
    let call = mandarin_call(&server, "shop", "uac_speech.xml", dir.path());
    assert_eq!(call["dtmf"], "", "no key pressed: {call:#}");
    let turns = call["turns"].as_array().cloned().unwrap_or_default();
    assert!(turns.len() >= 2, "greeting, then an answer: {call:#}");
    let answer = turns[1]["say"].as_str().unwrap_or("");
    assert!(cjk(answer) >= 4, "the bot answered in Mandarin: {:#}", turns[1]);
    assert!(server.stop().success());
}

#[test]
fn a_number_mapped_to_a_mandarin_dialplan_answers_in_mandarin() {
    if !in_loopback_namespace("a_number_mapped_to_a_mandarin_dialplan_answers_in_mandarin") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // A second hotline: the demo dialplan with Mandarin as its language, on its own number.
    let plan = dir.path().join("cn-hotline");
    std::fs::create_dir(&plan).expect("mkdir");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/demo");
    for file in std::fs::read_dir(&demo).expect("demo dialplan") {
        let file = file.expect("entry").path();
        std::fs::copy(&file, plan.join(file.file_name().expect("name"))).expect("copy");
    }
    let main = std::fs::read_to_string(plan.join("dialplan.toml")).expect("read");
    std::fs::write(plan.join("dialplan.toml"), main.replace("default_lang = \"en\"", "default_lang = \"zh\""))
        .expect("write");
    let config = dir.path().join("callbot.toml");
    std::fs::write(&config, format!("[numbers]\n\"+86 400-800-1234\" = {:?}\n", plan.to_string_lossy()))
        .expect("config");
    let mut server = Server::start_with(18080, 15060, Some(&config));
    let call = mandarin_call(&server, "+864008001234", "uac_speech.xml", dir.path());
    assert_eq!(call["callee"], "+864008001234");
    let turns = call["turns"].as_array().cloned().unwrap_or_default();
    assert!(cjk(turns[0]["say"].as_str().unwrap_or("")) >= 10, "greeted in Mandarin: {:#}", turns[0]);
    assert!(server.stop().success());
}
