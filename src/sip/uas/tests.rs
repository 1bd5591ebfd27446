//! Drives the UAS with scripted messages and a fake clock: no sockets, no sleeping.

mod hangup;
mod tcp;
mod two_step;

use super::*;
use crate::sip::sdp::Codec;

const PEER: &str = "127.0.0.1:5061";
const RTP: &str = "127.0.0.1:40000";

fn config(ring_ms: u64) -> UasConfig {
    UasConfig {
        user: "bot".into(),
        advertise: "127.0.0.1:5070".parse().expect("addr"),
        ring_delay: Duration::from_millis(ring_ms),
        answer_timeout: GIVE_UP,
        codecs: vec![Codec::Pcmu, Codec::Pcma],
        max_calls: 2,
    }
}

fn uas(ring_ms: u64) -> Uas {
    Uas::new(config(ring_ms), 7)
}

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";

fn request(
    method: &str,
    call_id: &str,
    branch: &str,
    cseq: u32,
    cseq_method: &str,
    to_tag: Option<&str>,
    body: &str,
) -> Vec<u8> {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let content_type = if body.is_empty() { String::new() } else { "Content-Type: application/sdp\r\n".into() };
    format!(
        "{method} sip:bot@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch={branch}\r\n\
From: <sip:sipp@127.0.0.1:5061>;tag=caller\r\nTo: <sip:bot@127.0.0.1:5070>{to_tag}\r\nCall-ID: {call_id}\r\n\
CSeq: {cseq} {cseq_method}\r\nContact: <sip:sipp@127.0.0.1:5061>\r\nMax-Forwards: 70\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A response from the peer to a request of ours, echoing its Via/From/To/Call-ID/CSeq.
fn reply_to(request: &str, status: u16) -> Vec<u8> {
    let mut out = format!("SIP/2.0 {status} Whatever\r\n");
    for line in
        request.lines().filter(|l| ["Via:", "From:", "To:", "Call-ID:", "CSeq:"].iter().any(|h| l.starts_with(h)))
    {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}

/// Everything queued, with where it goes.
fn drain_to(u: &mut Uas) -> Vec<(Destination, String)> {
    std::iter::from_fn(|| u.poll_transmit())
        .map(|t| (t.to, String::from_utf8(t.data).expect("we write ASCII")))
        .collect()
}

fn drain(u: &mut Uas) -> Vec<String> {
    let peer = Destination::Udp(PEER.parse().expect("addr"));
    drain_to(u)
        .into_iter()
        .map(|(to, m)| {
            assert_eq!(to, peer);
            m
        })
        .collect()
}

fn events(u: &mut Uas) -> Vec<UasEvent> {
    std::iter::from_fn(|| u.poll_event()).collect()
}

fn status(msg: &str) -> u16 {
    msg[8..11].parse().expect("status line")
}

fn statuses(msgs: &[String]) -> Vec<u16> {
    msgs.iter().map(|m| status(m)).collect()
}

fn to_tag(msg: &str) -> String {
    let to = msg.lines().find(|l| l.starts_with("To: ")).expect("To");
    to.split(";tag=").nth(1).expect("tag").to_string()
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
}

fn send(u: &mut Uas, now: Instant, data: &[u8]) -> Vec<String> {
    u.handle_datagram(now, PEER.parse().expect("addr"), data);
    drain(u)
}

fn accept(u: &mut Uas, now: Instant, call_id: &str) -> Vec<String> {
    u.accept(now, call_id, RTP.parse().expect("addr")).expect("call is waiting");
    drain(u)
}

/// INVITE, accept, ACK: a confirmed call; returns our tag. Events are drained.
fn confirmed_call(u: &mut Uas, now: Instant, call_id: &str) -> String {
    send(u, now, &request("INVITE", call_id, &format!("z9hG4bK-{call_id}"), 1, "INVITE", None, OFFER));
    let ok = accept(u, now, call_id);
    let tag = to_tag(ok.last().expect("200"));
    send(u, now, &request("ACK", call_id, &format!("z9hG4bK-a-{call_id}"), 1, "ACK", Some(&tag), ""));
    events(u);
    tag
}

#[test]
fn options_get_200_and_retransmissions_get_the_same_bytes() {
    let (mut u, t0) = (uas(0), Instant::now());
    let opt = request("OPTIONS", "o1", "z9hG4bK-o1", 1, "OPTIONS", None, "");
    let first = send(&mut u, t0, &opt);
    assert_eq!(first.len(), 1);
    assert_eq!(status(&first[0]), 200);
    assert!(first[0].contains("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"));
    assert_eq!(send(&mut u, t0 + T1, &opt), first);
    u.handle_timeout(t0 + GIVE_UP + T1);
    assert_eq!(u.poll_timeout(), None, "Timer J expired: nothing left");
}

#[test]
fn call_rings_answers_pcma_with_dtmf_and_hangs_up() {
    let (mut u, t0) = (uas(1000), Instant::now());
    let inv = request("INVITE", "c1", "z9hG4bK-i1", 1, "INVITE", None, OFFER);
    let out = send(&mut u, t0, &inv);
    assert_eq!(statuses(&out), [100]);
    assert!(out[0].contains("To: <sip:bot@127.0.0.1:5070>\r\n"), "no To tag on 100");
    let out = accept(&mut u, t0, "c1");
    assert_eq!(statuses(&out), [180]);
    let tag = to_tag(&out[0]);
    assert_eq!(u.poll_timeout(), Some(t0 + Duration::from_millis(1000)));
    assert_eq!(
        send(&mut u, t0 + T1, &inv).iter().map(|m| status(m)).collect::<Vec<_>>(),
        [180],
        "INVITE retransmission"
    );
    u.handle_timeout(t0 + Duration::from_millis(1000));
    let ok = drain(&mut u);
    assert_eq!(status(&ok[0]), 200);
    assert_eq!(to_tag(&ok[0]), tag);
    assert!(ok[0].contains("m=audio 40000 RTP/AVP 8 101\r\n"), "{}", ok[0]);
    assert!(ok[0].contains("a=rtpmap:8 PCMA/8000\r\n") && ok[0].contains("a=fmtp:101 0-15\r\n"));
    let ack = request("ACK", "c1", "z9hG4bK-a1", 1, "ACK", Some(&tag), "");
    assert!(send(&mut u, t0 + Duration::from_millis(1100), &ack).is_empty(), "ACK gets no response");
    let bye = request("BYE", "c1", "z9hG4bK-b1", 2, "BYE", Some(&tag), "");
    let out = send(&mut u, t0 + Duration::from_secs(5), &bye);
    assert_eq!(status(&out[0]), 200);
    let ev = events(&mut u);
    assert!(matches!(ev[0], UasEvent::Incoming { .. }));
    assert!(matches!(ev[1], UasEvent::Ringing { .. }));
    let pcma =
        |m: &Option<Negotiated>| m.as_ref().is_some_and(|m| m.codec == Codec::Pcma && m.dtmf_payload_type == Some(101));
    assert!(matches!(&ev[2], UasEvent::Answered { media, .. } if pcma(media)));
    assert!(matches!(ev[3], UasEvent::Confirmed { media: None, .. }));
    assert!(matches!(ev[4], UasEvent::Ended { reason: "BYE", .. }));
    assert_eq!(u.live_calls(), 0);
}

#[test]
fn unacknowledged_2xx_is_retransmitted_with_backoff_then_abandoned() {
    let (mut u, t0) = (uas(0), Instant::now());
    let mut out = send(&mut u, t0, &request("INVITE", "c2", "z9hG4bK-i2", 1, "INVITE", None, OFFER));
    out.extend(accept(&mut u, t0, "c2"));
    assert_eq!(statuses(&out), [100, 180, 200]);
    let mut resent = Vec::new();
    let mut byes = Vec::new();
    while let Some(at) = u.poll_timeout() {
        u.handle_timeout(at);
        let out = drain(&mut u);
        if out.iter().any(|m| m.starts_with("SIP/2.0 200")) {
            resent.push((at - t0).as_millis());
        }
        if out.iter().any(|m| m.starts_with("BYE ")) {
            byes.push((at - t0).as_millis());
        }
    }
    assert_eq!(resent[..6], [500, 1500, 3500, 7500, 11500, 15500]);
    assert_eq!(byes.first(), Some(&32_000), "§13.3.1.4: the dialog is ended with BYE");
    assert!(events(&mut u).contains(&UasEvent::Ended { call_id: "c2".into(), reason: "no ACK" }));
}

#[test]
fn cancel_before_answer_gives_200_then_487_and_never_200_invite() {
    let (mut u, t0) = (uas(2000), Instant::now());
    send(&mut u, t0, &request("INVITE", "c3", "z9hG4bK-i3", 1, "INVITE", None, OFFER));
    let tag = to_tag(&accept(&mut u, t0, "c3")[0]);
    let out = send(&mut u, t0 + T1, &request("CANCEL", "c3", "z9hG4bK-i3", 1, "CANCEL", None, ""));
    assert_eq!(out.len(), 2);
    assert!(out[0].starts_with("SIP/2.0 200") && out[0].contains("CSeq: 1 CANCEL"));
    assert!(out[1].starts_with("SIP/2.0 487") && out[1].contains("CSeq: 1 INVITE"));
    assert_eq!(to_tag(&out[1]), tag);
    u.handle_timeout(t0 + Duration::from_secs(3));
    assert!(drain(&mut u).iter().all(|m| status(m) == 487), "only 487 retransmissions");
    let ack = request("ACK", "c3", "z9hG4bK-i3", 1, "ACK", Some(&tag), "");
    send(&mut u, t0 + Duration::from_secs(3), &ack);
    u.handle_timeout(t0 + Duration::from_secs(20));
    assert!(drain(&mut u).is_empty());
    assert!(events(&mut u).contains(&UasEvent::Cancelled { call_id: "c3".into() }));
    let late = send(&mut u, t0 + Duration::from_secs(21), &request("CANCEL", "c3", "z9hG4bK-x", 1, "CANCEL", None, ""));
    assert_eq!(status(&late[0]), 481);
}

#[test]
fn reinvite_gets_a_new_answer_with_next_version() {
    let (mut u, t0) = (uas(0), Instant::now());
    send(&mut u, t0, &request("INVITE", "c4", "z9hG4bK-i4", 1, "INVITE", None, OFFER));
    let tag = to_tag(&accept(&mut u, t0, "c4")[1]);
    send(&mut u, t0, &request("ACK", "c4", "z9hG4bK-a4", 1, "ACK", Some(&tag), ""));
    let pcmu = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 0 101");
    let out = send(&mut u, t0 + T2, &request("INVITE", "c4", "z9hG4bK-r4", 2, "INVITE", Some(&tag), &pcmu));
    assert_eq!(status(&out[0]), 200);
    assert!(out[0].contains(" 2 IN IP4 127.0.0.1\r\n"), "o= version bumped: {}", out[0]);
    assert!(out[0].contains("m=audio 40000 RTP/AVP 0 101\r\n"));
    send(&mut u, t0 + T2, &request("ACK", "c4", "z9hG4bK-a5", 2, "ACK", Some(&tag), ""));
    u.handle_timeout(t0 + Duration::from_secs(10));
    assert!(drain(&mut u).is_empty(), "ACKed: no retransmission");
    let stray = send(&mut u, t0 + T2, &request("INVITE", "c4", "z9hG4bK-r5", 3, "INVITE", Some("other"), &pcmu));
    assert_eq!(status(&stray[0]), 481);
}

#[test]
fn refusals() {
    let (mut u, t0) = (uas(0), Instant::now());
    let mut check = |data: Vec<u8>, want: Option<u16>| {
        let out = send(&mut u, t0, &data);
        assert_eq!(out.first().map(|m| status(m)), want, "{}", String::from_utf8_lossy(&data));
    };
    let opt = String::from_utf8(request("OPTIONS", "r1", "z9hG4bK-r1", 1, "OPTIONS", None, "")).expect("ascii");
    check(opt.replace("Call-ID: r1\r\n", "").into_bytes(), Some(400));
    check(opt.replace("CSeq: 1 OPTIONS", "CSeq: x OPTIONS").replace("r1", "r2").into_bytes(), Some(400));
    check(opt.replace("Content-Length: 0", "Content-Length: 99").replace("r1", "r3").into_bytes(), Some(400));
    check(opt.replace("Max-Forwards: 70\r\n", "Require: 100rel\r\n").replace("r1", "r4").into_bytes(), Some(420));
    check(request("REGISTER", "r5", "z9hG4bK-r5", 1, "REGISTER", None, ""), Some(405));
    check(request("FROB", "r6", "z9hG4bK-r6", 1, "FROB", None, ""), Some(501));
    check(request("BYE", "r7", "z9hG4bK-r7", 1, "BYE", Some("t"), ""), Some(481));
    let g729 = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 18");
    check(request("INVITE", "r8", "z9hG4bK-r8", 1, "INVITE", None, &g729), Some(488));
    let bad_ct = String::from_utf8(request("INVITE", "r9", "z9hG4bK-r9", 1, "INVITE", None, OFFER)).expect("ascii");
    check(bad_ct.replace("application/sdp", "text/plain").into_bytes(), Some(415));
    check(request("INVITE", "r10", "z9hG4bK-r10", 1, "INVITE", None, "v=0\r\nnonsense"), Some(400));
    check(b"\x00\x01garbage\xff".to_vec(), None);
    check(b"GET / HTTP/1.1\r\n\r\n".to_vec(), None);
    check(b"\r\n\r\n".to_vec(), None);
    let ack_bad = String::from_utf8(request("ACK", "r11", "z9hG4bK-r11", 1, "ACK", None, "")).expect("ascii");
    check(ack_bad.replace("Call-ID: r11\r\n", "").into_bytes(), None);
    // max_calls = 2
    check(request("INVITE", "m1", "z9hG4bK-m1", 1, "INVITE", None, OFFER), Some(100));
    check(request("INVITE", "m2", "z9hG4bK-m2", 1, "INVITE", None, OFFER), Some(100));
    check(request("INVITE", "m3", "z9hG4bK-m3", 1, "INVITE", None, OFFER), Some(503));
}

/// Mutated call flows through the whole machine: it must never panic and must forget
/// everything once the timers run out.
#[test]
fn survives_mutated_traffic() {
    let (mut u, t0) = (uas(300), Instant::now());
    let seeds = [
        request("INVITE", "f", "z9hG4bK-f", 1, "INVITE", None, OFFER),
        request("ACK", "f", "z9hG4bK-g", 1, "ACK", Some("t"), ""),
        request("CANCEL", "f", "z9hG4bK-f", 1, "CANCEL", None, ""),
        request("BYE", "f", "z9hG4bK-h", 2, "BYE", Some("t"), ""),
        request("OPTIONS", "f", "z9hG4bK-o", 1, "OPTIONS", None, ""),
    ];
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut rnd = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    let mut now = t0;
    for _ in 0..60_000 {
        let mut m = seeds[rnd(seeds.len())].clone();
        for _ in 0..rnd(4) {
            match rnd(4) {
                0 => m.truncate(rnd(m.len() + 1)),
                1 if !m.is_empty() => {
                    let i = rnd(m.len());
                    m[i] = rnd(256) as u8;
                }
                2 => {
                    let i = rnd(m.len() + 1);
                    let tok: &[u8] = [&b";tag=t"[..], b"\r\n", b":", b"<", b"9999999999", b"\xff", b" "][rnd(7)];
                    m.splice(i..i, tok.iter().copied());
                }
                _ => {}
            }
        }
        now += Duration::from_millis(rnd(50) as u64);
        u.handle_datagram(now, PEER.parse().expect("addr"), &m);
        if rnd(3) == 0 {
            u.handle_timeout(now);
        }
        while u.poll_transmit().is_some() {}
        // Play the call layer: take every call, hang some up at random moments.
        for ev in events(&mut u) {
            if let UasEvent::Incoming { call_id, .. } = ev {
                let _ = u.accept(now, &call_id, RTP.parse().expect("addr"));
            }
        }
        if rnd(20) == 0 {
            let _ = u.hangup(now, "f");
        }
    }
    for _ in 0..10_000 {
        let Some(at) = u.poll_timeout() else { break };
        u.handle_timeout(at);
        while u.poll_transmit().is_some() {}
    }
    // Confirmed dialogs legitimately outlive the timers (until BYE or a session timer).
    assert_eq!(u.poll_timeout(), None, "all timers run out");
}
