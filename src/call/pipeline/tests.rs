use super::*;
use crate::rtp::dtmf::TelephoneEvent;
use crate::rtp::packet::RtpHeader;

fn format() -> MediaFormat {
    MediaFormat { codec: Codec::Pcmu, payload_type: 0, dtmf_payload_type: Some(101) }
}

fn packet(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let header = RtpHeader { marker, payload_type: pt, sequence: seq, timestamp: ts, ssrc: 7, ..RtpHeader::default() };
    let mut out = Vec::new();
    header.write(&mut out).expect("valid header");
    out.extend_from_slice(payload);
    out
}

fn tone_frame(i: usize) -> Vec<u8> {
    let pcm: Vec<f32> = (0..160).map(|n| 0.5 * (((i * 160 + n) as f32) * 0.2).sin()).collect();
    let mut out = Vec::new();
    AudioEncoder::new(Codec::Pcmu).expect("encoder").encode(&pcm, &mut out).expect("encodes");
    out
}

#[test]
fn caller_audio_reaches_the_recogniser_at_16k_with_losses_concealed() {
    let mut p = MediaPipeline::new(format(), 1).expect("pipeline");
    let mut samples = 0;
    for i in 0..100usize {
        let now = i as u64 * 20;
        if i != 50 {
            let dgram = packet(0, 1000 + i as u16, 160 * i as u32, i == 0, &tone_frame(i));
            assert_eq!(p.receive(now, &dgram).expect("valid"), Received::Audio);
        }
        samples += p.tick(now).pcm16k.len();
    }
    assert!((31_000..=32_000).contains(&samples), "about 2 s minus buffer depth and resampler delay: {samples}");
    assert_eq!(p.stats().packets_in, 99);
    assert!(p.stats().frames_lost >= 1);
}

#[test]
fn a_silent_caller_still_produces_audio_for_endpointing() {
    let mut p = MediaPipeline::new(format(), 1).expect("pipeline");
    let total: usize = (0..50).map(|i| p.tick(i * 20).pcm16k.len()).sum();
    assert!(total > 15_000, "{total}");
}

#[test]
fn telephone_events_become_one_digit_per_press() {
    let mut p = MediaPipeline::new(format(), 1).expect("pipeline");
    let mut digits = Vec::new();
    for (i, end) in [false, false, true, true, true].into_iter().enumerate() {
        let ev = TelephoneEvent { event: 5, end, volume: 10, duration: 160 * (i as u16 + 1) };
        let dgram = packet(101, i as u16, 8000, i == 0, &ev.to_bytes());
        if let Received::Digit(d) = p.receive(i as u64 * 20, &dgram).expect("valid") {
            digits.push(d);
        }
    }
    assert_eq!(digits, vec!['5']);
}

#[test]
fn bad_packets_are_errors_not_panics() {
    let mut p = MediaPipeline::new(format(), 1).expect("pipeline");
    assert!(p.receive(0, &[0x80, 0, 0]).is_ok(), "too short for RTP: not audio");
    assert!(matches!(p.receive(0, &packet(8, 1, 0, false, &[0; 160])), Err(PipelineError::UnknownPayload(8))));
    assert_eq!(p.receive(0, b"garbage that is not rtp").expect("ignored"), Received::Other);
}

#[test]
fn bot_speech_leaves_as_paced_rtp_with_consecutive_numbers() {
    let mut p = MediaPipeline::new(format(), 9).expect("pipeline");
    p.playout().push(0, &[0.2; 800]);
    p.playout().complete(0);
    let mut packets = Vec::new();
    let mut events = Vec::new();
    for i in 0..8 {
        let t = p.tick(i * 20);
        events.extend(t.playback);
        packets.extend(t.rtp);
    }
    assert_eq!(packets.len(), 5, "800 samples = 5 frames");
    let headers: Vec<_> = packets.iter().map(|d| RtpPacket::parse(d).expect("valid").header).collect();
    assert!(headers[0].marker && !headers[1].marker);
    for w in headers.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(160));
        assert_eq!(w[1].ssrc, w[0].ssrc);
    }
    assert_eq!(events, vec![PlaybackEvent::Started(0), PlaybackEvent::Finished(0)]);
}
