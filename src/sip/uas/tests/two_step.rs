//! Incoming → accept/reject, the per-call RTP address, delayed offer, re-INVITE media changes.

use super::*;
use crate::sip::sdp::Direction;

#[test]
fn incoming_reports_the_call_and_waits_for_the_call_layer() {
    let (mut u, t0) = (uas(0), Instant::now());
    let inv = String::from_utf8(request("INVITE", "w1", "z9hG4bK-w1", 1, "INVITE", None, OFFER)).expect("ascii");
    let inv = inv
        .replace("INVITE sip:bot@", "INVITE sip:%2B4930555@")
        .replace("From: <sip:sipp@", "From: \"Alice, A.\" <sip:alice@");
    assert_eq!(statuses(&send(&mut u, t0, inv.as_bytes())), [100], "no 180 before accept");
    let ev = events(&mut u);
    let [UasEvent::Incoming { call_id, caller, callee, peer, media }] = &ev[..] else { panic!("{ev:?}") };
    assert_eq!(call_id, "w1");
    assert_eq!((caller.display_name.as_deref(), caller.user.as_deref()), (Some("Alice, A."), Some("alice")));
    assert_eq!(callee.as_deref(), Some("+4930555"));
    assert_eq!(*peer, PEER.parse::<SocketAddr>().expect("addr"));
    let media = media.as_ref().expect("offer in INVITE");
    assert_eq!((media.codec, media.remote_rtp), (Codec::Pcma, "127.0.0.1:6000".parse().expect("addr")));
    assert_eq!(u.poll_timeout(), Some(t0 + GIVE_UP), "only the answer deadline runs");
    assert_eq!(statuses(&send(&mut u, t0 + T1, inv.as_bytes())), [100], "retransmitted INVITE: 100 again");
    assert_eq!(u.live_calls(), 1);
}

#[test]
fn answer_names_the_rtp_address_given_to_accept() {
    let (mut u, t0) = (uas(0), Instant::now());
    send(&mut u, t0, &request("INVITE", "w2", "z9hG4bK-w2", 1, "INVITE", None, OFFER));
    u.accept(t0, "w2", "192.0.2.10:41234".parse().expect("addr")).expect("accept");
    let out = drain(&mut u);
    assert_eq!(statuses(&out), [180, 200]);
    assert!(
        out[1].contains("c=IN IP4 192.0.2.10\r\n") && out[1].contains("m=audio 41234 RTP/AVP 8 101\r\n"),
        "{}",
        out[1]
    );
    assert!(out[1].contains("o=callbot ") && out[1].contains(" 1 IN IP4 192.0.2.10\r\n"), "{}", out[1]);
    assert_eq!(header(&out[1], "Contact"), Some("<sip:bot@127.0.0.1:5070>"));
    assert_eq!(header(&out[1], "Server"), Some("callbot"));
    assert_eq!(to_tag(&out[0]), to_tag(&out[1]), "one tag for the whole dialog");
}

#[test]
fn call_layer_mistakes_are_errors_not_traffic() {
    let (mut u, t0) = (uas(0), Instant::now());
    let rtp: SocketAddr = RTP.parse().expect("addr");
    assert_eq!(u.accept(t0, "nope", rtp), Err(CallError::NoSuchCall("nope".into())));
    send(&mut u, t0, &request("INVITE", "w3", "z9hG4bK-w3", 1, "INVITE", None, OFFER));
    let zero_port = "127.0.0.1:0".parse().expect("addr");
    assert_eq!(u.accept(t0, "w3", zero_port), Err(CallError::BadRtpAddress(zero_port)));
    let any = "0.0.0.0:4000".parse().expect("addr");
    assert_eq!(u.accept(t0, "w3", any), Err(CallError::BadRtpAddress(any)));
    assert_eq!(u.reject(t0, "w3", 200, "OK"), Err(CallError::BadStatus(200)));
    assert_eq!(u.reject(t0, "w3", 486, "Busy\r\nX-Evil: 1"), Err(CallError::BadReason));
    assert!(drain(&mut u).is_empty());
    u.accept(t0, "w3", rtp).expect("accept");
    assert_eq!(u.accept(t0, "w3", rtp), Err(CallError::NotPending("w3".into())));
    assert_eq!(u.reject(t0, "w3", 486, "Busy Here"), Err(CallError::NotPending("w3".into())), "already answered");
}

#[test]
fn reject_answers_the_invite_and_ends_the_call_once() {
    let (mut u, t0) = (uas(0), Instant::now());
    send(&mut u, t0, &request("INVITE", "w4", "z9hG4bK-w4", 1, "INVITE", None, OFFER));
    u.reject(t0, "w4", 603, "Decline").expect("reject");
    let out = drain(&mut u);
    assert!(out[0].starts_with("SIP/2.0 603 Decline\r\n"), "{}", out[0]);
    let tag = to_tag(&out[0]);
    u.handle_timeout(t0 + T1);
    assert_eq!(statuses(&drain(&mut u)), [603], "Timer G over UDP");
    send(&mut u, t0 + T1, &request("ACK", "w4", "z9hG4bK-w4", 1, "ACK", Some(&tag), ""));
    u.handle_timeout(t0 + Duration::from_secs(4));
    assert!(drain(&mut u).is_empty(), "ACK stopped Timer G");
    let ev = events(&mut u);
    assert_eq!(
        ev.iter().filter(|e| matches!(e, UasEvent::Ended { reason: reason::REJECTED, .. })).count(),
        1,
        "{ev:?}"
    );
    assert_eq!(u.accept(t0, "w4", RTP.parse().expect("addr")), Err(CallError::NoSuchCall("w4".into())));
    u.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(u.poll_timeout(), None, "forgotten after Timer I");
}

#[test]
fn cancel_and_timeout_before_accept() {
    let (mut u, t0) = (uas(0), Instant::now());
    send(&mut u, t0, &request("INVITE", "w5", "z9hG4bK-w5", 1, "INVITE", None, OFFER));
    let out = send(&mut u, t0, &request("CANCEL", "w5", "z9hG4bK-w5", 1, "CANCEL", None, ""));
    assert_eq!(statuses(&out), [200, 487]);
    assert_eq!(events(&mut u)[1..], [UasEvent::Cancelled { call_id: "w5".into() }]);
    assert!(u.accept(t0, "w5", RTP.parse().expect("addr")).is_err());

    let mut u = uas(0);
    send(&mut u, t0, &request("INVITE", "w6", "z9hG4bK-w6", 1, "INVITE", None, OFFER));
    u.handle_timeout(t0 + GIVE_UP);
    assert_eq!(statuses(&drain(&mut u)), [500], "the call layer never decided");
    let ev = events(&mut u);
    assert!(ev.contains(&UasEvent::Ended { call_id: "w6".into(), reason: reason::NOT_DECIDED }), "{ev:?}");
}

#[test]
fn delayed_offer_gets_our_offer_and_the_ack_answer() {
    let (mut u, t0) = (uas(0), Instant::now());
    send(&mut u, t0, &request("INVITE", "d1", "z9hG4bK-d1", 1, "INVITE", None, ""));
    assert!(matches!(&events(&mut u)[..], [UasEvent::Incoming { media: None, .. }]));
    let out = accept(&mut u, t0, "d1");
    assert!(out[1].contains("m=audio 40000 RTP/AVP 0 8 101\r\n") && out[1].contains("a=sendrecv\r\n"), "{}", out[1]);
    let tag = to_tag(&out[1]);
    let answer = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 8 101");
    send(&mut u, t0, &request("ACK", "d1", "z9hG4bK-d1a", 1, "ACK", Some(&tag), &answer));
    let ev = events(&mut u);
    let Some(UasEvent::Confirmed { media: Some(media), .. }) = ev.last() else { panic!("{ev:?}") };
    assert_eq!((media.codec, media.dtmf_payload_type), (Codec::Pcma, Some(101)));
    assert!(matches!(&ev[1], UasEvent::Answered { media: None, .. }), "{ev:?}");

    // An ACK without the answer leaves no session: BYE (§13.3.1.4).
    send(&mut u, t0, &request("INVITE", "d2", "z9hG4bK-d2", 1, "INVITE", None, ""));
    let tag = to_tag(&accept(&mut u, t0, "d2")[1]);
    let out = send(&mut u, t0, &request("ACK", "d2", "z9hG4bK-d2a", 1, "ACK", Some(&tag), ""));
    assert!(out[0].starts_with("BYE sip:sipp@127.0.0.1:5061 SIP/2.0\r\n"), "{out:?}");
    assert!(events(&mut u).contains(&UasEvent::Ended { call_id: "d2".into(), reason: reason::NO_ANSWER_IN_ACK }));
}

#[test]
fn reinvite_hold_is_reported_and_a_refresh_is_quiet() {
    let (mut u, t0) = (uas(0), Instant::now());
    let tag = confirmed_call(&mut u, t0, "h1");
    let hold = format!("{OFFER}a=sendonly\r\n");
    let out = send(&mut u, t0, &request("INVITE", "h1", "z9hG4bK-h2", 2, "INVITE", Some(&tag), &hold));
    assert!(out[0].starts_with("SIP/2.0 200") && out[0].contains("a=recvonly\r\n"), "{}", out[0]);
    let version = |m: &str| m.lines().find(|l| l.starts_with("o=")).map(str::to_string);
    let held_version = version(&out[0]);
    let ev = events(&mut u);
    let [UasEvent::Reoffered { media, .. }] = &ev[..] else { panic!("{ev:?}") };
    assert_eq!(media.direction, Direction::RecvOnly);
    send(&mut u, t0, &request("ACK", "h1", "z9hG4bK-h2a", 2, "ACK", Some(&tag), ""));
    // Session refresh: same offer again. Same answer, same o= version, no event.
    let out = send(&mut u, t0 + T2, &request("INVITE", "h1", "z9hG4bK-h3", 3, "INVITE", Some(&tag), &hold));
    assert_eq!(version(&out[0]), held_version);
    assert!(events(&mut u).is_empty());
    send(&mut u, t0 + T2, &request("ACK", "h1", "z9hG4bK-h3a", 3, "ACK", Some(&tag), ""));
    // RFC 2543 hold, and a move to another address: both reported.
    let old_hold = OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    send(&mut u, t0 + T2, &request("INVITE", "h1", "z9hG4bK-h4", 4, "INVITE", Some(&tag), &old_hold));
    send(&mut u, t0 + T2, &request("ACK", "h1", "z9hG4bK-h4a", 4, "ACK", Some(&tag), ""));
    let moved = OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 192.0.2.7").replace("m=audio 6000", "m=audio 7000");
    send(&mut u, t0 + T2, &request("INVITE", "h1", "z9hG4bK-h5", 5, "INVITE", Some(&tag), &moved));
    let ev = events(&mut u);
    let [UasEvent::Reoffered { media: held, .. }, UasEvent::Reoffered { media: back, .. }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert!(!held.direction.sends());
    assert_eq!((back.remote_rtp, back.direction), ("192.0.2.7:7000".parse().expect("addr"), Direction::SendRecv));
}

#[test]
fn offerless_reinvite_takes_the_answer_from_the_ack() {
    let (mut u, t0) = (uas(0), Instant::now());
    let tag = confirmed_call(&mut u, t0, "o1");
    let out = send(&mut u, t0, &request("INVITE", "o1", "z9hG4bK-o2", 2, "INVITE", Some(&tag), ""));
    assert!(out[0].contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "our offer: {}", out[0]);
    let answer = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 0");
    send(&mut u, t0, &request("ACK", "o1", "z9hG4bK-o2a", 2, "ACK", Some(&tag), &answer));
    let ev = events(&mut u);
    assert!(matches!(&ev[..], [UasEvent::Reoffered { media, .. }] if media.codec == Codec::Pcmu), "{ev:?}");
}

#[test]
fn overload_gets_503_with_retry_after() {
    let (mut u, t0) = (uas(0), Instant::now());
    for id in ["l1", "l2"] {
        send(&mut u, t0, &request("INVITE", id, &format!("z9hG4bK-{id}"), 1, "INVITE", None, OFFER));
    }
    let out = send(&mut u, t0, &request("INVITE", "l3", "z9hG4bK-l3", 1, "INVITE", None, OFFER));
    assert_eq!(statuses(&out), [503]);
    assert_eq!(header(&out[0], "Retry-After"), Some("5"));
    assert_eq!(header(&out[0], "Server"), Some("callbot"));
}
