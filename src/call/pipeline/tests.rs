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
    // 2 s, plus the silence handed out while the jitter buffer primed (two ticks), minus the
    // resampler's delay: every frame is out by the last tick, none still buffered.
    assert!((32_000..=32_640).contains(&samples), "about 2 s: {samples}");
    assert_eq!(p.stats().packets_in, 99);
    assert!(p.stats().frames_lost >= 1);
}

#[test]
fn audio_in_sequence_reaches_the_recogniser_on_arrival_and_a_gap_waits_for_its_turn() {
    let mut p = MediaPipeline::new(format(), 1).expect("pipeline");
    let arrive = |p: &mut MediaPipeline, i: usize| {
        let dgram = packet(0, 1000 + i as u16, 160 * i as u32, i == 0, &tone_frame(i));
        p.receive(i as u64 * 20, &dgram).expect("valid");
    };
    for i in 0..10 {
        arrive(&mut p, i);
        p.tick(i as u64 * 20 + 5);
    }
    // Playing now: a frame in sequence is decoded as it arrives, 320 samples at 16 kHz.
    arrive(&mut p, 10);
    assert_eq!(p.take_heard().len(), 320);
    // Frame 11 is missing: 12 and 13 wait behind it.
    arrive(&mut p, 12);
    arrive(&mut p, 13);
    assert!(p.take_heard().is_empty(), "nothing may overtake a missing frame");
    // Frame 11 turns up before its turn: it and the two behind it go at once.
    arrive(&mut p, 11);
    assert_eq!(p.take_heard().len(), 3 * 320);
    // Their turns come and hand out nothing more.
    let later: usize = (10..14).map(|i| p.tick(i * 20 + 5).pcm16k.len()).sum();
    assert_eq!(later, 0);
    assert_eq!(p.stats().frames_lost, 0);
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

#[test]
fn an_answer_starts_between_ticks_and_goes_on_at_the_tick_pace() {
    let mut p = MediaPipeline::new(format(), 9).expect("pipeline");
    p.tick(0);
    p.playout().push(0, &[0.2; 480]);
    p.playout().complete(0);
    let first = p.start_talkspurt(7);
    assert_eq!(first.playback, vec![PlaybackEvent::Started(0)]);
    let first = RtpPacket::parse(&first.rtp.expect("out at once")).expect("valid").header;
    assert!(first.marker);
    assert!(p.start_talkspurt(8).rtp.is_none(), "once talking, the ticks set the pace");
    let next: Vec<_> = (1..4).filter_map(|i| p.tick(i * 20).rtp).collect();
    assert_eq!(next.len(), 2, "480 samples = 3 frames");
    let second = RtpPacket::parse(&next[0]).expect("valid").header;
    assert_eq!(
        (second.sequence, second.timestamp),
        (first.sequence.wrapping_add(1), first.timestamp.wrapping_add(160))
    );
    assert!(!second.marker);
}

/// Caller packets, with one lost, 6 s of them: the first report time has passed.
fn six_seconds(p: &mut MediaPipeline) -> Vec<Tick> {
    let mut ticks = Vec::new();
    for i in 0..300usize {
        let now = i as u64 * 20;
        if i != 100 {
            p.receive(now, &packet(0, i as u16, 160 * i as u32, i == 0, &tone_frame(i))).expect("valid");
        }
        ticks.push(p.tick(now));
    }
    ticks
}

#[test]
fn reports_carry_the_callers_loss_and_only_sip_sends_them() {
    let mut sip = MediaPipeline::new(format(), 3).expect("pipeline").with_rtcp_reports(0xE8F0_0000_0000_0000);
    sip.playout().push(0, &vec![0.1; 8000 * 6]);
    let ticks = six_seconds(&mut sip);
    let report = ticks.iter().find_map(|t| t.rtcp.clone()).expect("a report within 3.75 s");
    let packets = crate::rtp::rtcp::wire::parse_compound(&report).expect("parses");
    let crate::rtp::rtcp::wire::RtcpPacket::SenderReport { blocks, .. } = &packets[0] else { panic!("{packets:?}") };
    assert_eq!((blocks[0].ssrc, blocks[0].cumulative_lost), (7, 1), "we sent speech: an SR about the caller's SSRC");
    let quality = ticks.iter().find_map(|t| t.quality.clone()).expect("figures with the report");
    assert_eq!((quality.packets_lost, quality.rtcp_sent), (1, 1));

    let closing = sip.close(6000, "hung up");
    assert!(closing.bye.is_some() && closing.quality.packets_received == 298, "{closing:?}");
    assert!(sip.close(6020, "again").bye.is_none(), "one BYE");

    // WebRTC: the same figures, no RTCP of ours.
    let mut webrtc = MediaPipeline::new(format(), 3).expect("pipeline");
    let ticks = six_seconds(&mut webrtc);
    assert!(ticks.iter().all(|t| t.rtcp.is_none()));
    assert!(ticks.iter().any(|t| t.quality.is_some()));
    let closing = webrtc.close(6000, "hung up");
    assert!(closing.bye.is_none() && closing.quality.packets_lost == 1);
}

#[test]
fn the_callers_rtcp_is_read_and_garbage_is_an_error() {
    let mut p = MediaPipeline::new(format(), 3).expect("pipeline").with_rtcp_reports(0);
    let ssrc = p.sender.ssrc();
    let block = crate::rtp::rtcp::wire::ReportBlock {
        ssrc,
        fraction_lost: 64,
        cumulative_lost: 12,
        jitter: 80,
        ..Default::default()
    };
    let rr = crate::rtp::rtcp::wire::build_compound(99, None, &[block], "caller@host", None);
    assert_eq!(p.receive(100, &rr).expect("valid RTCP"), Received::Other);
    let q = p.quality();
    let report = q.caller_report.expect("read");
    assert_eq!((report.fraction_lost, report.packets_lost, report.jitter_ms), (0.25, 12, 10.0));
    assert_eq!(q.caller_cname.as_deref(), Some("caller@host"));
    assert!(matches!(p.receive(200, &[0x80, 201, 0, 9, 0, 0, 0, 0]), Err(PipelineError::Rtcp(_))));
    assert_eq!(p.quality().rtcp_malformed, 1);
}
