//! The session as a whole: two sessions reporting to each other over a simulated network, and
//! the edge cases of what goes out when.

use super::wire::{RtcpPacket, parse_compound};
use super::*;

const START: u64 = 0xE8F0_0000_0000_0000;

fn config(send_reports: bool) -> RtcpConfig {
    RtcpConfig { clock_rate: 8000, session_bandwidth_bps: 80_000, ntp_at_start: START, send_reports }
}

fn session(ssrc: u32, seed: u64) -> RtcpSession {
    RtcpSession::new(config(true), ssrc, seed)
}

/// `packets` RTP packets sent by 20 ms from call time 0, the last at `(packets - 1) × 20` ms.
fn sent(packets: u64) -> Sending {
    Sending { packets, octets: 160 * packets, last: packets.checked_sub(1).map(|n| (160 * n as u32, 20 * n)) }
}

/// The next report, at whatever time it falls due.
fn next_report(s: &mut RtcpSession, sending: &Sending) -> (u64, Vec<RtcpPacket>) {
    let at = s.next_report_ms();
    assert_eq!(s.poll_report(at.saturating_sub(1), sending), None, "not before its time");
    let bytes = s.poll_report(at, sending).expect("due");
    (at, parse_compound(&bytes).expect("our own packets parse"))
}

#[test]
fn the_first_report_comes_early_and_the_rest_every_two_and_a_half_to_seven_and_a_half_seconds() {
    for seed in 0..200 {
        let mut s = session(1, seed);
        let first = s.next_report_ms();
        assert!((1250..=3750).contains(&first), "seed {seed}: first at {first}");
        let mut at = first;
        for _ in 0..5 {
            s.poll_report(at, &Sending::default()).expect("due");
            let gap = s.next_report_ms() - at;
            assert!((2500..=7500).contains(&gap), "seed {seed}: gap {gap}");
            at = s.next_report_ms();
        }
    }
}

#[test]
fn a_receiver_sends_rr_and_a_sender_sr_until_two_silent_intervals() {
    let mut s = session(0xAAAA, 3);
    let (_, packets) = next_report(&mut s, &Sending::default());
    assert!(matches!(&packets[0], RtcpPacket::ReceiverReport { ssrc: 0xAAAA, blocks } if blocks.is_empty()));
    assert!(
        matches!(&packets[1], RtcpPacket::SourceDescription { cnames } if cnames[0] == (0xAAAA, s.cname().to_string()))
    );

    let (_, packets) = next_report(&mut s, &sent(100));
    let RtcpPacket::SenderReport { info, .. } = &packets[0] else { panic!("{packets:?}") };
    assert_eq!((info.packets, info.octets), (100, 16_000));
    // Nothing more sent: still a sender for the interval after (§6.4), then a receiver.
    let (_, packets) = next_report(&mut s, &sent(100));
    assert!(matches!(packets[0], RtcpPacket::SenderReport { .. }));
    let (_, packets) = next_report(&mut s, &sent(100));
    assert!(matches!(packets[0], RtcpPacket::ReceiverReport { .. }));
}

#[test]
fn the_sr_carries_now_on_both_clocks() {
    let mut s = session(1, 5);
    let sending = Sending { packets: 10, octets: 1600, last: Some((1000, 100)) };
    let at = s.next_report_ms();
    let packets = parse_compound(&s.poll_report(at, &sending).expect("due")).expect("parses");
    let RtcpPacket::SenderReport { info, .. } = &packets[0] else { panic!("{packets:?}") };
    assert_eq!(info.rtp_timestamp, 1000 + 8 * (at as u32 - 100), "last timestamp + the time since");
    assert_eq!(info.ntp, START + ms_to_ntp(at));
}

#[test]
fn ntp_times_from_the_unix_clock() {
    use std::time::Duration;
    assert_eq!(ntp_from_unix(Duration::ZERO), 2_208_988_800 << 32);
    assert_eq!(ntp_from_unix(Duration::from_millis(1500)), (2_208_988_801 << 32) | 0x8000_0000);
    assert_eq!(ms_to_ntp(250), 0x4000_0000);
    assert_eq!(ms_to_ntp_short(1500), 0x0001_8000);
}

enum Datagram {
    Rtp { ssrc: u32, seq: u16, ts: u32 },
    Rtcp(Vec<u8>),
}

/// Us and the caller, each sending 20 ms packets and reporting, over a network with a fixed
/// one-way delay that drops some of the caller's packets.
#[test]
fn two_sessions_learn_loss_jitter_and_round_trip_from_each_other() {
    const DELAY_MS: u64 = 30;
    let (mut us, mut caller) = (session(0x0B07, 1), session(0xCA11, 2));
    let mut sending = [Sending::default(), Sending::default()];
    // (arrival ms, to us?, what) in flight.
    let mut network: Vec<(u64, bool, Datagram)> = Vec::new();
    // 20 s of media, then time for the last packets and reports to land.
    for now in 0..21_000u64 {
        if now % 20 == 0 && now < 20_000 {
            let n = now / 20;
            for (i, side) in sending.iter_mut().enumerate() {
                *side =
                    Sending { packets: side.packets + 1, octets: side.octets + 160, last: Some((160 * n as u32, now)) };
                // Every 25th packet of the caller's is lost on the way: 4 %.
                if i == 1 && n % 25 == 7 {
                    continue;
                }
                // The caller's packets jitter by 0 or 8 ms.
                let delay = DELAY_MS + if i == 1 { 8 * (n % 2) } else { 0 };
                let rtp = Datagram::Rtp { ssrc: [0x0B07, 0xCA11][i], seq: n as u16, ts: 160 * n as u32 };
                network.push((now + delay, i == 1, rtp));
            }
        }
        if let Some(report) = us.poll_report(now, &sending[0]) {
            network.push((now + DELAY_MS, false, Datagram::Rtcp(report)));
        }
        if let Some(report) = caller.poll_report(now, &sending[1]) {
            network.push((now + DELAY_MS, true, Datagram::Rtcp(report)));
        }
        for (_, to_us, datagram) in network.extract_if(.., |(at, ..)| *at == now) {
            let side = if to_us { &mut us } else { &mut caller };
            match datagram {
                Datagram::Rtp { ssrc, seq, ts } => side.on_rtp(now, ssrc, seq, ts),
                Datagram::Rtcp(bytes) => side.on_rtcp(now, &bytes).expect("reports parse"),
            }
        }
    }
    let q = us.quality(&sending[0]);
    let in_flight = network.iter().filter(|(_, to_us, _)| *to_us).count() as u64;
    assert_eq!((q.rtcp_received + in_flight, q.rtcp_malformed), (caller.quality(&sending[1]).rtcp_sent, 0));
    assert_eq!(q.packets_received + q.packets_lost as u64, 999, "1 ..= 999: all but the probation packet");
    assert!((q.packets_lost - 40).abs() <= 1, "{q:?}");
    assert!((q.jitter_ms - 8.0).abs() < 0.5, "A.8 converges on the 8 ms swing: {q:?}");
    assert_eq!(q.caller_cname.as_deref(), Some(caller.cname()));
    // What the caller says about our clean stream, and the round trip from its LSR/DLSR.
    let report = q.caller_report.expect("the caller reported");
    assert_eq!((report.fraction_lost, report.packets_lost, report.jitter_ms), (0.0, 0, 0.0));
    let rtt = report.rtt_ms.expect("the caller echoed our SR");
    assert!((rtt - 2.0 * DELAY_MS as f64).abs() <= 0.1, "RTT {rtt} ms");
    // And the caller learnt of its 4 % loss.
    let theirs = caller.quality(&sending[1]).caller_report.expect("we reported");
    assert!((0.03..=0.05).contains(&theirs.fraction_lost), "{theirs:?}");
    assert!((theirs.jitter_ms - 8.0).abs() < 0.5, "{theirs:?}");
}

#[test]
fn rtt_from_lsr_and_dlsr_by_hand() {
    let mut us = session(0x0B07, 9);
    let at = us.next_report_ms();
    let packets = parse_compound(&us.poll_report(at, &sent(50)).expect("due")).expect("parses");
    let RtcpPacket::SenderReport { info, .. } = &packets[0] else { panic!("{packets:?}") };
    // The caller held our SR for 100 ms; its RR reaches us 150 ms after we sent: RTT 50 ms.
    let block = wire::ReportBlock {
        ssrc: 0x0B07,
        lsr: (info.ntp >> 16) as u32,
        dlsr: ms_to_ntp_short(100),
        ..Default::default()
    };
    let rr = wire::build_compound(0xCA11, None, &[block], "caller", None);
    us.on_rtcp(at + 150, &rr).expect("parses");
    let rtt = us.quality(&sent(50)).caller_report.and_then(|r| r.rtt_ms).expect("rtt");
    assert!((rtt - 50.0).abs() < 0.05, "{rtt}");
    // A block without LSR keeps the last RTT; one about another SSRC is not about us.
    let no_lsr = wire::ReportBlock { ssrc: 0x0B07, fraction_lost: 128, ..Default::default() };
    us.on_rtcp(at + 5000, &wire::build_compound(0xCA11, None, &[no_lsr], "caller", None)).expect("parses");
    let report = us.quality(&sent(50)).caller_report.expect("report");
    assert_eq!((report.fraction_lost, report.rtt_ms.is_some(), report.at_ms), (0.5, true, at + 5000));
    let other = wire::ReportBlock { ssrc: 0x7777, fraction_lost: 255, ..Default::default() };
    us.on_rtcp(at + 6000, &wire::build_compound(0xCA11, None, &[other], "caller", None)).expect("parses");
    assert_eq!(us.quality(&sent(50)).caller_report.map(|r| r.at_ms), Some(at + 5000));
}

#[test]
fn our_report_echoes_the_callers_last_sr() {
    let mut us = session(0x0B07, 4);
    for n in 0..10u16 {
        us.on_rtp(20 * u64::from(n), 0xCA11, n, 160 * u32::from(n));
    }
    let info = SenderInfo { ntp: 0x1234_5678_9ABC_DEF0, ..Default::default() };
    us.on_rtcp(200, &wire::build_compound(0xCA11, Some(info), &[], "caller", None)).expect("parses");
    let at = us.next_report_ms();
    let packets = parse_compound(&us.poll_report(at, &Sending::default()).expect("due")).expect("parses");
    let RtcpPacket::ReceiverReport { blocks, .. } = &packets[0] else { panic!("{packets:?}") };
    assert_eq!((blocks[0].ssrc, blocks[0].extended_highest, blocks[0].lsr), (0xCA11, 9, 0x5678_9ABC));
    assert_eq!(blocks[0].dlsr, ms_to_ntp_short(at - 200));
}

#[test]
fn bye_goes_once_and_only_after_we_took_part() {
    let mut silent = session(1, 1);
    assert_eq!(silent.bye(100, &Sending::default(), "hung up"), None, "§6.3.7: never sent anything, no BYE");

    let mut s = session(1, 1);
    let bytes = s.bye(100, &sent(3), "the caller hung up").expect("we sent RTP");
    let packets = parse_compound(&bytes).expect("parses");
    assert!(matches!(packets[0], RtcpPacket::SenderReport { .. }));
    assert_eq!(packets[2], RtcpPacket::Bye { ssrcs: vec![1], reason: "the caller hung up".into() });
    assert_eq!(s.bye(200, &sent(3), "again"), None);
    assert_eq!(s.poll_report(1_000_000, &sent(3)), None, "nothing after BYE");
    assert_eq!(s.next_report_ms(), u64::MAX, "and nothing due");
}

#[test]
fn without_sending_reports_the_figures_are_kept_all_the_same() {
    let mut s = RtcpSession::new(config(false), 1, 1);
    for n in 0..50u16 {
        s.on_rtp(20 * u64::from(n), 9, n, 160 * u32::from(n));
    }
    let first = s.next_report_ms();
    assert_eq!(s.poll_report(first, &sent(5)), None);
    assert!(s.next_report_ms() > first, "the schedule moves on");
    assert_eq!(s.bye(first, &sent(5), "x"), None);
    let q = s.quality(&sent(5));
    assert_eq!((q.packets_received, q.packets_lost, q.packets_sent, q.rtcp_sent), (49, 0, 5, 0));
}

#[test]
fn malformed_rtcp_is_counted_and_changes_nothing() {
    let mut s = session(1, 1);
    let err = s.on_rtcp(10, &[0x80, 201, 0, 40, 1]).expect_err("garbage");
    assert!(err.to_string().contains("too short for a header") || err.to_string().contains("long"), "{err}");
    assert!(s.on_rtcp(10, &[]).is_err());
    let q = s.quality(&Sending::default());
    assert_eq!((q.rtcp_received, q.rtcp_malformed, q.caller_report), (0, 2, None));
}
