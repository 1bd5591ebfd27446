//! BYE from our side: request contents, Timer E/F, response matching, early and crossing cases.

use super::*;

const PROXY: &str = "127.0.0.1:5062";

/// A confirmed call whose INVITE came through two record-routing proxies; the first route is
/// an IP literal, so our BYE goes there.
fn routed_call(u: &mut Uas, now: Instant) -> String {
    let inv = String::from_utf8(request("INVITE", "b1", "z9hG4bK-b1", 5, "INVITE", None, OFFER)).expect("ascii");
    let inv = inv.replace(
        "Contact: <sip:sipp@127.0.0.1:5061>\r\n",
        "Contact: \"UA\" <sip:ua@127.0.0.1:5099;transport=udp>\r\n\
Record-Route: <sip:127.0.0.1:5062;lr;r=1>\r\nRecord-Route: <sip:p2.example.com;lr>\r\n",
    );
    send(u, now, inv.as_bytes());
    let tag = to_tag(&accept(u, now, "b1")[1]);
    send(u, now, &request("ACK", "b1", "z9hG4bK-b1a", 5, "ACK", Some(&tag), ""));
    events(u);
    tag
}

fn bye_of(out: Vec<(Destination, String)>) -> String {
    let [(to, bye)] = &out[..] else { panic!("{out:?}") };
    assert_eq!(*to, Destination::Udp(PROXY.parse().expect("addr")));
    bye.clone()
}

#[test]
fn hangup_sends_an_in_dialog_bye() {
    let (mut u, t0) = (uas(0), Instant::now());
    let tag = routed_call(&mut u, t0);
    u.hangup(t0, "b1").expect("hangup");
    let bye = bye_of(drain_to(&mut u));
    let lines: Vec<&str> = bye.lines().collect();
    assert_eq!(lines[0], "BYE sip:ua@127.0.0.1:5099;transport=udp SIP/2.0", "Request-URI = remote Contact");
    let via = header(&bye, "Via").expect("Via");
    assert!(via.starts_with("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK") && via.len() > 50, "{via}");
    assert_eq!(header(&bye, "Max-Forwards"), Some("70"));
    let routes: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("Route: ")).collect();
    assert_eq!(routes, ["<sip:127.0.0.1:5062;lr;r=1>", "<sip:p2.example.com;lr>"], "record-route order, as-is");
    assert_eq!(header(&bye, "From"), Some(format!("<sip:bot@127.0.0.1:5070>;tag={tag}").as_str()));
    assert_eq!(header(&bye, "To"), Some("<sip:sipp@127.0.0.1:5061>;tag=caller"));
    assert_eq!(header(&bye, "Call-ID"), Some("b1"));
    assert_eq!(header(&bye, "CSeq"), Some("1 BYE"), "our own CSeq space");
    assert_eq!(header(&bye, "User-Agent"), Some("callbot"));
    assert!(events(&mut u).is_empty(), "Ended waits for the BYE's outcome");
    assert_eq!(u.hangup(t0, "b1"), Ok(()), "hanging up twice is harmless");
    assert!(drain_to(&mut u).is_empty());

    // Timer E: T1, doubling to T2.
    let mut resent = Vec::new();
    for _ in 0..6 {
        let at = u.poll_timeout().expect("Timer E");
        u.handle_timeout(at);
        assert_eq!(bye_of(drain_to(&mut u)), bye, "retransmissions are identical");
        resent.push((at - t0).as_millis());
    }
    assert_eq!(resent, [500, 1500, 3500, 7500, 11500, 15500]);

    // The 200 is matched to the transaction and consumed: no answer, no Refused/Dropped.
    let ok = reply_to(&bye, 200);
    u.handle_datagram(t0 + Duration::from_secs(16), PROXY.parse().expect("addr"), &ok);
    assert!(drain_to(&mut u).is_empty());
    assert_eq!(events(&mut u), [UasEvent::Ended { call_id: "b1".into(), reason: reason::HANGUP }]);
    assert_eq!(u.live_calls(), 0);
    u.handle_datagram(t0 + Duration::from_secs(17), PROXY.parse().expect("addr"), &ok);
    assert!(drain_to(&mut u).is_empty());
    assert!(!events(&mut u).iter().any(|e| matches!(e, UasEvent::Ended { .. })), "Ended only once");
    u.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(u.poll_timeout(), None);
}

#[test]
fn timer_f_gives_up_and_late_responses_match_nothing() {
    let (mut u, t0) = (uas(0), Instant::now());
    routed_call(&mut u, t0);
    u.hangup(t0, "b1").expect("hangup");
    let bye = bye_of(drain_to(&mut u));
    while let Some(at) = u.poll_timeout().filter(|&at| at < t0 + GIVE_UP) {
        u.handle_timeout(at);
    }
    assert!(events(&mut u).is_empty());
    u.handle_timeout(t0 + GIVE_UP);
    assert_eq!(events(&mut u), [UasEvent::Ended { call_id: "b1".into(), reason: reason::HANGUP_TIMEOUT }]);
    u.handle_datagram(t0 + GIVE_UP, PROXY.parse().expect("addr"), &reply_to(&bye, 200));
    assert_eq!(events(&mut u), [UasEvent::Dropped { reason: "response matches no transaction" }]);
}

#[test]
fn provisional_then_481() {
    let (mut u, t0) = (uas(0), Instant::now());
    routed_call(&mut u, t0);
    u.hangup(t0, "b1").expect("hangup");
    let bye = bye_of(drain_to(&mut u));
    u.handle_datagram(t0 + Duration::from_millis(100), PROXY.parse().expect("addr"), &reply_to(&bye, 100));
    u.handle_timeout(t0 + T1);
    drain_to(&mut u);
    assert_eq!(u.poll_timeout(), Some(t0 + T1 + T2), "proceeding: Timer E at T2");
    // A response with another branch or method is not ours.
    let other = String::from_utf8(reply_to(&bye, 200)).expect("ascii").replace("branch=z9hG4bK", "branch=z9hG4bKx");
    u.handle_datagram(t0 + T1, PROXY.parse().expect("addr"), other.as_bytes());
    let not_bye = String::from_utf8(reply_to(&bye, 200)).expect("ascii").replace("1 BYE", "1 INFO");
    u.handle_datagram(t0 + T1, PROXY.parse().expect("addr"), not_bye.as_bytes());
    assert_eq!(events(&mut u).len(), 2, "both dropped");
    u.handle_datagram(t0 + T1, PROXY.parse().expect("addr"), &reply_to(&bye, 481));
    assert_eq!(events(&mut u), [UasEvent::Ended { call_id: "b1".into(), reason: reason::HANGUP_NO_DIALOG }]);
}

#[test]
fn hangup_before_answer_refuses_the_invite() {
    let (mut u, t0) = (uas(1000), Instant::now());
    send(&mut u, t0, &request("INVITE", "e1", "z9hG4bK-e1", 1, "INVITE", None, OFFER));
    u.hangup(t0, "e1").expect("hangup");
    assert_eq!(statuses(&drain(&mut u)), [486], "not accepted: busy");
    send(&mut u, t0, &request("INVITE", "e2", "z9hG4bK-e2", 1, "INVITE", None, OFFER));
    accept(&mut u, t0, "e2");
    u.hangup(t0, "e2").expect("hangup");
    assert_eq!(statuses(&drain(&mut u)), [480], "ringing: gone away");
    u.handle_timeout(t0 + Duration::from_secs(1));
    assert!(!drain(&mut u).iter().any(|m| status(m) == 200), "no 200 after all");
    let ended: Vec<_> = events(&mut u).into_iter().filter(|e| matches!(e, UasEvent::Ended { .. })).collect();
    assert_eq!(ended.len(), 2);
    assert!(ended.iter().all(|e| matches!(e, UasEvent::Ended { reason: reason::HANGUP_BEFORE_ANSWER, .. })));
    assert_eq!(u.hangup(t0, "e1"), Err(CallError::NoSuchCall("e1".into())));
}

#[test]
fn hangup_before_ack_waits_for_the_ack() {
    let (mut u, t0) = (uas(0), Instant::now());
    send(&mut u, t0, &request("INVITE", "k1", "z9hG4bK-k1", 1, "INVITE", None, OFFER));
    let tag = to_tag(&accept(&mut u, t0, "k1")[1]);
    u.hangup(t0, "k1").expect("hangup");
    assert!(drain(&mut u).is_empty(), "§15: no BYE before the ACK");
    let out = send(&mut u, t0 + T1 / 2, &request("ACK", "k1", "z9hG4bK-k1a", 1, "ACK", Some(&tag), ""));
    assert!(out[0].starts_with("BYE sip:sipp@127.0.0.1:5061 SIP/2.0\r\n"), "{out:?}");
    let ev = events(&mut u);
    assert!(matches!(ev.last(), Some(UasEvent::Confirmed { .. })), "{ev:?}");
}

#[test]
fn crossing_byes_end_the_call_once() {
    let (mut u, t0) = (uas(0), Instant::now());
    let tag = confirmed_call(&mut u, t0, "x1");
    u.hangup(t0, "x1").expect("hangup");
    let ours = drain(&mut u).pop().expect("our BYE");
    let out = send(&mut u, t0, &request("BYE", "x1", "z9hG4bK-x1b", 2, "BYE", Some(&tag), ""));
    assert_eq!(statuses(&out), [200], "their BYE is answered");
    u.handle_datagram(t0, PEER.parse().expect("addr"), &reply_to(&ours, 200));
    assert_eq!(events(&mut u), [UasEvent::Ended { call_id: "x1".into(), reason: reason::BYE }]);
    let reinvite = send(&mut u, t0, &request("INVITE", "x1", "z9hG4bK-x1r", 3, "INVITE", Some(&tag), OFFER));
    assert_eq!(statuses(&reinvite), [481]);
}
