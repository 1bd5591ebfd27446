//! One call's driver with the real models and voice, its media carried over in-memory channels
//! instead of a network: a real recording goes in as paced PCMU RTP, the bot's RTP comes out.
//! (Network transports are tested against real peers in tests/sip.rs and tests/webrtc.rs.)

mod common;

use std::time::Duration;

use callbot::call::driver::CallControl;
use callbot::call::{CallEvent, Speaker};
use callbot::media::codec::{AudioDecoder, Codec};
use callbot::rtp::packet::{PacketKind, RtpPacket, classify};
use callbot::server::{ServerConfig, load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_interrupting_the_greeting_is_heard_and_the_bot_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = ServerConfig { data_dir: dir.path().to_path_buf(), ..ServerConfig::default() };
    let loaded = tokio::task::spawn_blocking(move || load(&cfg)).await.expect("joins").expect("server loads");
    let services = loaded.services;
    let mut events = services.calls.subscribe();

    let common::rtp_caller::TestCall { inbound: in_tx, outbound: mut out_rx, control: ctl_tx, handle: call } =
        common::rtp_caller::start(&services, "t1", true);

    // The caller: 1 s of silence while the greeting starts, then JFK, then silence.
    let mut speech = vec![0.0f32; 8000];
    speech.extend(common::rtp_caller::audio_8k(&common::data("en_asr/audio/jfk.wav")));
    speech.extend(vec![0.0f32; 8000 * 4]);
    let sender = common::rtp_caller::send_paced(speech, in_tx);

    let mut dec = AudioDecoder::new(Codec::Pcmu).expect("decoder");
    let mut bot_audio = Vec::new();
    let (mut barged, mut heard, mut answered, mut rtcp_reports) = (false, None, false, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while !(barged && heard.is_some() && answered) && tokio::time::Instant::now() < deadline {
        tokio::select! {
            Some(pkt) = out_rx.recv() => {
                if matches!(classify(&pkt), PacketKind::Rtcp { .. }) {
                    rtcp_reports += 1;
                } else {
                    let p = RtpPacket::parse(&pkt).expect("bot sends valid RTP");
                    dec.decode(p.payload, &mut bot_audio).expect("decodable PCMU");
                }
            }
            Ok(rec) = events.recv() => match &rec.event {
                CallEvent::PlaybackStopped { reason, .. } if format!("{reason:?}") == "BargeIn" => barged = true,
                CallEvent::Transcript(l) if l.speaker == Speaker::Caller && l.is_final => heard = Some(l.text.clone()),
                CallEvent::Decision { turn, .. } if *turn >= 1 => answered = true,
                _ => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    let heard = heard.expect("the caller's words were transcribed");
    // Recall, not an exact phrase: 8 kHz telephone audio costs whisper the odd word ("asked not").
    assert!(common::server::word_recall(common::JFK, &heard) >= 0.8, "{heard}");
    assert!(barged, "speaking over the greeting stopped it");
    assert!(answered, "the bot answered what it heard");
    let rms = (bot_audio.iter().map(|s| s * s).sum::<f32>() / bot_audio.len().max(1) as f32).sqrt();
    assert!(
        bot_audio.len() > 8000 && rms > 0.01,
        "bot audio reached the caller: {} samples, rms {rms}",
        bot_audio.len()
    );

    ctl_tx.send(CallControl::RemoteHangup { reason: "test over".into() }).await.expect("call still running");
    let end = tokio::time::timeout(Duration::from_secs(5), call).await.expect("call ends").expect("joins");
    assert!(!end.by_us);
    drop(sender);
    let detail = services.calls.get("t1").expect("call recorded");
    assert!(detail.transcript.iter().any(|l| l.speaker == Speaker::Bot), "bot lines in the transcript");
    // RTCP (the link asked for it): reports went out, and the record has the figures.
    assert!(rtcp_reports >= 1, "an RTCP report within the first seconds");
    let media = detail.media.expect("media figures recorded");
    assert!(media.packets_received > 500 && media.packets_lost == 0, "{media:?}");
    assert!(media.rtcp_sent >= 1 && media.packets_sent > 0, "{media:?}");
}
