//! TCP: responses and our BYE on the dialog's connection, no retransmission timers, closed
//! connections, and stream-only rules.

use super::*;

const CONN: ConnectionId = ConnectionId(7);

fn invite_tcp(call_id: &str) -> Vec<u8> {
    let inv = String::from_utf8(request("INVITE", call_id, &format!("z9hG4bK-{call_id}"), 1, "INVITE", None, OFFER));
    inv.expect("ascii").replace("SIP/2.0/UDP", "SIP/2.0/TCP").into_bytes()
}

fn recv(u: &mut Uas, now: Instant, conn: ConnectionId, data: &[u8]) -> Vec<String> {
    u.handle_stream_message(now, conn, PEER.parse().expect("addr"), data);
    drain_to(u)
        .into_iter()
        .map(|(to, m)| {
            assert_eq!(to, Destination::Tcp(conn), "{m}");
            m
        })
        .collect()
}

#[test]
fn call_over_tcp_stays_on_its_connection_without_retransmissions() {
    let (mut u, t0) = (uas(0), Instant::now());
    assert_eq!(statuses(&recv(&mut u, t0, CONN, &invite_tcp("t1"))), [100]);
    u.accept(t0, "t1", RTP.parse().expect("addr")).expect("accept");
    let out = drain_to(&mut u);
    assert!(out.iter().all(|(to, _)| *to == Destination::Tcp(CONN)));
    assert_eq!(header(&out[1].1, "Contact"), Some("<sip:bot@127.0.0.1:5070;transport=tcp>"));
    let tag = to_tag(&out[1].1);
    // The 2xx is still retransmitted until ACK (§13.3.1.4 is end-to-end)…
    assert_eq!(u.poll_timeout(), Some(t0 + T1));
    let ack = String::from_utf8(request("ACK", "t1", "z9hG4bK-t1a", 1, "ACK", Some(&tag), "")).expect("ascii");
    recv(&mut u, t0, CONN, ack.replace("/UDP", "/TCP").as_bytes());
    u.hangup(t0, "t1").expect("hangup");
    let bye = recv(&mut u, t0, CONN, b"").pop().expect("BYE on the dialog's connection");
    assert!(bye.contains("Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK"), "{bye}");
    // …but the BYE is not (no Timer E): the next deadline is Timer F.
    assert_eq!(u.poll_timeout(), Some(t0 + GIVE_UP));
    u.handle_timeout(t0 + GIVE_UP);
    assert!(drain_to(&mut u).is_empty());
    assert!(events(&mut u).contains(&UasEvent::Ended { call_id: "t1".into(), reason: reason::HANGUP_TIMEOUT }));
}

#[test]
fn rejections_over_tcp_wait_for_ack_without_timer_g() {
    let (mut u, t0) = (uas(0), Instant::now());
    recv(&mut u, t0, CONN, &invite_tcp("t2"));
    u.reject(t0, "t2", 486, "Busy Here").expect("reject");
    assert_eq!(statuses(&recv(&mut u, t0, CONN, b"")), [486]);
    assert_eq!(u.poll_timeout(), Some(t0 + GIVE_UP), "Timer H only");
    u.handle_timeout(t0 + GIVE_UP);
    assert!(drain_to(&mut u).is_empty());
    u.handle_timeout(t0 + GIVE_UP);
    assert_eq!(u.poll_timeout(), None);
}

#[test]
fn closing_a_connection_ends_only_its_calls() {
    let (mut u, t0) = (uas(0), Instant::now());
    recv(&mut u, t0, CONN, &invite_tcp("t3"));
    recv(&mut u, t0, ConnectionId(8), &invite_tcp("t4"));
    events(&mut u);
    u.connection_closed(CONN);
    assert_eq!(events(&mut u), [UasEvent::Ended { call_id: "t3".into(), reason: reason::CONNECTION_CLOSED }]);
    assert_eq!(u.accept(t0, "t3", RTP.parse().expect("addr")), Err(CallError::NoSuchCall("t3".into())));
    assert!(u.accept(t0, "t4", RTP.parse().expect("addr")).is_ok());
    assert_eq!(u.live_calls(), 1);
}

#[test]
fn stream_rules() {
    let (mut u, t0) = (uas(0), Instant::now());
    let options = String::from_utf8(request("OPTIONS", "t5", "z9hG4bK-t5", 1, "OPTIONS", None, "")).expect("ascii");
    let out = recv(&mut u, t0, CONN, options.as_bytes());
    assert_eq!(header(&out[0], "Contact"), Some("<sip:bot@127.0.0.1:5070;transport=tcp>"));
    assert_eq!(u.poll_timeout(), None, "no Timer J over TCP");
    let no_length = options.replace("Content-Length: 0\r\n", "").replace("t5", "t6");
    let out = recv(&mut u, t0, CONN, no_length.as_bytes());
    assert!(out[0].starts_with("SIP/2.0 400 Missing Content-Length\r\n"), "{out:?}");
}

/// Mutated streams cut into random chunks: the framer and the UAS never panic, a framing error
/// closes the connection (as the driver would), and every timer runs out.
#[test]
fn framer_and_uas_survive_mutated_streams() {
    use crate::sip::framing::{Frame, StreamFramer};
    let (mut u, t0) = (uas(0), Instant::now());
    let seeds = [invite_tcp("f"), request("OPTIONS", "g", "z9hG4bK-g", 1, "OPTIONS", None, ""), b"\r\n\r\n".to_vec()];
    let mut x: u64 = 0x0dd_ba11_cafe_f00d;
    let mut rnd = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    let (mut now, mut conn, mut framer) = (t0, 0u64, StreamFramer::new());
    for _ in 0..5_000 {
        let mut stream: Vec<u8> = (0..1 + rnd(3)).flat_map(|_| seeds[rnd(seeds.len())].clone()).collect();
        for _ in 0..rnd(4) {
            let i = rnd(stream.len() + 1);
            match rnd(3) {
                0 => stream.truncate(i),
                1 if i < stream.len() => stream[i] = rnd(256) as u8,
                _ => stream
                    .splice(
                        i..i,
                        [&b"\r\n"[..], b"l: 9\r\n", b"Content-Length: 99999\r\n", b"\xff"][rnd(4)].iter().copied(),
                    )
                    .for_each(drop),
            }
        }
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(1 + rnd(rest.len()));
            rest = tail;
            framer.push(chunk);
            loop {
                match framer.poll() {
                    Ok(None) => break,
                    Ok(Some(Frame::Message(m))) => {
                        u.handle_stream_message(now, ConnectionId(conn), PEER.parse().expect("addr"), &m)
                    }
                    Ok(Some(Frame::Ping)) => {}
                    Err(_) => {
                        u.connection_closed(ConnectionId(conn));
                        (conn, framer) = (conn + 1, StreamFramer::new());
                        break;
                    }
                }
            }
        }
        now += Duration::from_millis(rnd(100) as u64);
        u.handle_timeout(now);
        for ev in events(&mut u) {
            if let UasEvent::Incoming { call_id, .. } = ev {
                let _ = u.accept(now, &call_id, RTP.parse().expect("addr"));
            }
        }
        while u.poll_transmit().is_some() {}
        if rnd(50) == 0 {
            let _ = u.hangup(now, "f");
        }
    }
    for _ in 0..10_000 {
        let Some(at) = u.poll_timeout() else { break };
        u.handle_timeout(at);
    }
    assert_eq!(u.poll_timeout(), None, "all timers run out");
}
